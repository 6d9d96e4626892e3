"""Tamper evidence of the audit log: triggers refuse UPDATE/DELETE, and `kehu audit verify` detects an
entry changed or removed behind the application's back (triggers dropped first, as an attacker with
database access would), all on one busy log built once for the module."""

from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_record, audit_seal, audit_verify
from kehu.customers import services
from kehu.customers.tests.factories import (
    MOBILE_LI,
    build_org,
    contact,
    module_data,
    org_customer,
    person_customer,
)


def build_busy_log():
    """A morning of work: registrations, edits, contacts, reveals, an export (about 60 entries), then
    sealed into the chain as the worker would after the commits."""
    org = build_org()
    for i in range(10):
        c = org_customer(org.rep, f"华星石化第{i}分公司", serial=i + 1)
        services.customer_update(actor=org.rep, customer_id=c.pk, data={"stage": "intent"})
        w = contact(org.rep, c, "王强", mobile="13812345678")
        services.contact_reveal(actor=org.manager, contact_id=w.pk)
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI)
    services.subject_export(actor=org.auditor, customer_id=li.pk)
    sealed = audit_seal(checkpoint=False)
    return SimpleNamespace(org=org, entries=AuditEntry.objects.count(), sealed=sealed)


busy = module_data("busy", build_busy_log)


def at_position(seq: int) -> AuditEntry:
    return AuditEntry.objects.get(seq=seq)


def drop_append_only_triggers():
    """What an attacker with direct database access would do first (rolled back with the test)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER audit_auditentry_no_change ON audit_auditentry")
        else:
            cur.execute("DROP TRIGGER audit_auditentry_no_update")
            cur.execute("DROP TRIGGER audit_auditentry_no_delete")


def test_the_seal_links_every_entry_to_the_previous_in_id_order(db, busy):
    """After the seal, positions run 1, 2, 3 … in id order, and each prev_hash is its predecessor's hash."""
    rows = list(AuditEntry.objects.order_by("id").values_list("seq", "prev_hash", "hash"))
    assert busy.sealed == busy.entries > 50
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1] == "0" * 64
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, len(rows)))


def test_chain_is_intact_after_many_writes(db, busy):
    """audit_verify finds nothing wrong after a busy morning; the command says so and names the head."""
    assert audit_verify() == []
    out = StringIO()
    call_command("audit_verify", stdout=out)
    head = at_position(busy.entries)
    assert f"{busy.entries} entries verified up to entry {head.pk} (position {busy.entries})" in out.getvalue()
    assert "0 unsealed entries" in out.getvalue()

# ---------------------------------------------------------------- append-only triggers


def test_database_refuses_update_of_an_audit_entry(db, busy):
    """The append-only trigger refuses UPDATE of a sealed entry, even through the ORM's bulk update."""
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=at_position(3).pk).update(changes={})
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE audit_auditentry SET actor_name = 'nobody'")
    with pytest.raises(DatabaseError), transaction.atomic():  # no second seal either
        AuditEntry.objects.filter(pk=at_position(3).pk).update(seq=10_000, hash="f" * 64)
    assert audit_verify() == []


def test_database_lets_only_the_seal_through_on_an_unsealed_entry(db, busy):
    """An unsealed entry may be sealed once; its content may not change, with or without a seal."""
    e = audit_record(actor=busy.org.rep, action="maintenance.test", object_type="x", object_id=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=e.pk).update(actor_name="admin")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=e.pk).update(actor_name="admin", seq=10_000, prev_hash="0" * 64, hash="f" * 64)
    assert audit_seal() == 1
    assert at_position(busy.entries + 1).pk == e.pk
    assert audit_verify() == []


def test_database_refuses_delete_of_an_audit_entry(db, busy):
    """The append-only trigger refuses DELETE of one entry or of all."""
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=at_position(3).pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == busy.entries


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_database_refuses_truncate_of_the_audit_log(db, busy):
    """On PostgreSQL TRUNCATE is refused as well."""
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("TRUNCATE audit_auditentry")

# ---------------------------------------------------------------- tamper detection


def test_verify_detects_a_changed_entry(db, busy):
    """Rewriting an entry's content behind the app's back (triggers dropped) is detected."""
    drop_append_only_triggers()
    target = AuditEntry.objects.filter(action="contact.reveal").order_by("id").first()
    AuditEntry.objects.filter(pk=target.pk).update(actor_name="admin")
    problems = audit_verify()
    assert problems == [f"entry {target.pk}: content does not match its hash (changed)"]
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=StringIO(), stderr=StringIO())


def test_verify_detects_a_changed_and_rehashed_entry(db, busy):
    """Even with its own hash recomputed, a changed entry breaks the next entry's link."""
    from kehu.audit import chain
    from kehu.audit.services import _canonical_time

    drop_append_only_triggers()
    e = at_position(10)
    new_hash = chain.entry_hash(e.prev_hash, entry_id=e.pk, at=_canonical_time(e.at), actor_id=e.actor_id,
                                actor_name=e.actor_name, ip=e.ip, action=e.action, object_type=e.object_type,
                                object_id=e.object_id, object_repr="（已篡改）", changes=e.changes)
    AuditEntry.objects.filter(pk=e.pk).update(object_repr="（已篡改）", hash=new_hash)
    assert audit_verify() == [f"entry {at_position(11).pk}: previous hash does not match (an entry before it was "
                              "changed or removed)"]


def test_verify_detects_a_deleted_entry(db, busy):
    """Deleting an entry from the middle of the log is detected: a missing position and a broken link."""
    drop_append_only_triggers()
    AuditEntry.objects.filter(seq=20).delete()
    problems = audit_verify()
    assert "chain positions 20..20 are missing (entries removed)" in problems
    assert any(p.startswith(f"entry {at_position(21).pk}: previous hash") for p in problems)


def test_verify_detects_a_deleted_first_entry(db, busy):
    """Deleting the very first entry is detected too (the chain starts from a fixed genesis)."""
    drop_append_only_triggers()
    AuditEntry.objects.filter(seq=1).delete()
    assert audit_verify()


def test_audit_verify_command_fails_with_the_problems(db, busy):
    """`kehu audit verify` exits with an error and lists each problem."""
    drop_append_only_triggers()
    target = at_position(5)
    AuditEntry.objects.filter(pk=target.pk).update(changes={"stage": ["prospect", "customer"]})
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify", stdout=StringIO(), stderr=err)
    assert "NOT intact" in str(exc.value)
    assert f"entry {target.pk}: content does not match" in err.getvalue()


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_audit_api_lists_entries_newest_first_with_filters(db, busy, api_client, role):
    """The auditor and the administrator page through the log newest first and filter it."""
    api = api_client.as_user(busy.org.users[role])
    r = api.get("/audit", {"limit": 5})
    assert r.status_code == 200
    page = r.json()
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 5 and page["next"]
    r2 = api.get("/audit", {"limit": 5, "cursor": page["next"]})
    assert max(e["id"] for e in r2.json()["items"]) < min(ids)
    r = api.get("/audit", {"action": "contact.reveal", "actor": "manager", "limit": 200})
    items = r.json()["items"]
    assert len(items) == 10 and {(e["action"], e["actor"]) for e in items} == {("contact.reveal", "manager")}
    assert all("13812345678" not in str(e) for e in items)
