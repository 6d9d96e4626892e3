"""PostgreSQL only: ``ownership_register``, the common registration in one round trip (see
``services._register_in_one_call``). It writes only when the look-up it starts with finds the plain case — a live
customer owned by a rep (not the pool), no live claim, no open review item, no referral expected today for a visit
— and the claim insert is not refused (the partial unique index ``ownership_one_live_claim`` still decides who
wins); otherwise it returns no registration and writes nothing, and the service takes its Python path, which
applies every rule. The rows it writes are the ones the Python path writes: the register row, the claim, the
owner move (owner, department, ``updated_at``, version), its history row, the previous owner's in-app
notification and the ``registration.create`` audit entry with the owner change in its changes. The texts (the
notification's title around the customer's name, the link, the audit's changes) come from the service, which
also translates them. SQLite keeps the Python path (no round trips to save: it runs in-process)."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION ownership_register(
    p_customer bigint, p_rep bigint, p_dept bigint, p_channel text, p_now timestamptz, p_until timestamptz,
    p_note text, p_stamp timestamptz, p_pool text, p_today date, p_item_open text, p_referral_pending text,
    p_visit text, p_actor_name text, p_ip inet, p_changes jsonb, p_title_head text, p_title_tail text,
    p_link_head text,
    OUT o_reg bigint, OUT o_name text, OUT o_owner bigint, OUT o_dept bigint, OUT o_active boolean,
    OUT o_email text, OUT o_username text, OUT o_display text)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_moved jsonb := '{}';
BEGIN
    SELECT c.name, c.owner_id, c.department_id, u.is_active, u.email, u.username, u.display_name
      INTO o_name, o_owner, o_dept, o_active, o_email, o_username, o_display
      FROM customers_customer c JOIN access_user u ON u.id = c.owner_id
     WHERE c.id = p_customer AND c.deleted_at IS NULL;
    IF NOT FOUND OR o_username = p_pool
       OR EXISTS (SELECT 1 FROM ownership_claim k WHERE k.customer_id = p_customer AND k.ended_at IS NULL)
       OR EXISTS (SELECT 1 FROM customer_review_reviewitem i WHERE i.customer_id = p_customer
                  AND i.state = p_item_open)
       OR (p_channel = p_visit AND EXISTS (SELECT 1 FROM ownership_referral r WHERE r.customer_id = p_customer
                                           AND r.state = p_referral_pending AND r.expected_visit_on = p_today))
    THEN
        o_reg := NULL;  -- not the plain case: the service's Python path decides
        RETURN;
    END IF;
    INSERT INTO ownership_registration (customer_id, rep_id, department_id, channel, registered_at, valid_until,
                                        referral_id, corrects_id, note, created_by_id, created_at)
    VALUES (p_customer, p_rep, p_dept, p_channel, p_now, p_until, NULL, NULL, p_note, p_rep, p_stamp)
    RETURNING id INTO o_reg;
    INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until, renewed_at,
                                 ended_at, end_reason)
    VALUES (p_customer, p_rep, o_reg, p_now, p_until, NULL, NULL, '')
    ON CONFLICT (customer_id) WHERE ended_at IS NULL DO NOTHING;
    IF NOT FOUND THEN  -- a claim appeared since the look-up: nothing written, the Python path answers
        DELETE FROM ownership_registration WHERE id = o_reg;
        o_reg := NULL;
        RETURN;
    END IF;
    IF o_owner <> p_rep THEN
        v_moved := jsonb_build_object('owner', jsonb_build_array(o_owner, p_rep));
        IF o_dept IS DISTINCT FROM p_dept THEN
            v_moved := v_moved || jsonb_build_object('department', jsonb_build_array(o_dept, p_dept));
        END IF;
        UPDATE customers_customer SET owner_id = p_rep, department_id = p_dept, updated_at = p_now,
               version = version + 1 WHERE id = p_customer;
        INSERT INTO customers_changerecord (customer_id, at, actor_id, actor_name, object_type, object_id, action,
                                            changes)
        VALUES (p_customer, p_now, p_rep, p_actor_name, 'customer', p_customer, 'update', v_moved);
        IF o_active AND p_title_head IS NOT NULL THEN
            INSERT INTO notifications_notification (user_id, title, body, link, created_at, read_at)
            VALUES (o_owner, left(p_title_head || o_name || p_title_tail, 200), '',
                    left(p_link_head || o_reg || '/', 500), p_stamp, NULL);
        END IF;
    END IF;
    INSERT INTO audit_auditentry (at, actor_id, actor_name, ip, action, object_type, object_id, object_repr,
                                  changes)
    VALUES (p_stamp, p_rep, p_actor_name, p_ip, 'registration.create', 'ownership.registration', o_reg::text,
            left(o_name, 200), p_changes || v_moved);
END
$fn$
"""

DROP = ("DROP FUNCTION IF EXISTS ownership_register(bigint, bigint, bigint, text, timestamptz, timestamptz, text,"
        " timestamptz, text, date, text, text, text, text, inet, jsonb, text, text, text)")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("ownership", "0002_pool_sweep_indexes"),
        ("customers", "0011_customer_status_pending"),
        ("customer_review", "0001_review_runs_items"),
        ("audit", "0003_sealed_chain"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
