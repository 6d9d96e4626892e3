"""Writing the audit log (who, from where, what changed; in the writer's transaction) and who may read it."""

import pytest
from django.db import transaction

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_record, audit_verify
from kehu.customers.tests.factories import org_customer

pytestmark = pytest.mark.django_db


def test_entry_records_actor_ip_and_changes(org, client):
    """An entry names the actor, the client IP of the request, the object and the changes."""
    from kehu.access.services import token_create

    _t, key = token_create(actor=org.rep, name="t")
    r = client.post("/api/v1/customers", {"name": "浙江华星石化有限公司"}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR="198.51.100.23")
    assert r.status_code == 201
    e = AuditEntry.objects.get(action="customer.create")
    assert (e.actor_id, e.actor_name, e.ip, e.object_type, e.object_id) == (
        org.rep.pk, "rep", "198.51.100.23", "customers.customer", str(r.json()["id"]))
    assert e.changes["name"] == [None, "浙江华星石化有限公司"]


def test_system_entries_have_no_actor(db):
    """Writes from the command line are attributed to "system"."""
    e = audit_record(actor=None, action="maintenance.test", object_type="x", object_id=1)
    assert (e.actor_id, e.actor_name) == (None, "system")
    assert audit_verify() == []


def test_a_rolled_back_write_leaves_no_entry_and_the_chain_intact(org):
    """An entry commits or rolls back with the write it describes."""
    org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        org_customer(org.rep, "上海东方贸易有限公司", serial=2)
        raise RuntimeError("the write failed after auditing")
    assert AuditEntry.objects.count() == before
    org_customer(org.rep, "北京燕山机械有限公司", serial=3)
    assert audit_verify() == []


# ---------------------------------------------------------------- the audit API

@pytest.mark.parametrize("role", ["executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent",
                                  "finance", "analyst"])
def test_audit_api_is_forbidden_to_everyone_but_auditor_and_admin(org, api_client, role):
    """GET /audit answers 403 for every role except the auditor and the administrator."""
    r = api_client.as_user(getattr(org, role)).get("/audit")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_audit_api_anonymous_is_401(db, client):
    """Without credentials the audit log answers 401."""
    r = client.get("/api/v1/audit")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
