"""PostgreSQL: the plain registration runs as one call of ``ownership_register`` (migration 0003). It must write
exactly what the Python path writes — the register row, the claim, the owner move, the history row, the previous
owner's notifications and the audit entry — and leave every other case to the Python path."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection

from kehu.audit.models import AuditEntry
from kehu.customers.models import ChangeRecord, Customer
from kehu.errors import Conflict
from kehu.notifications.models import Notification
from kehu.sales.ownership import services
from kehu.sales.ownership.models import Channel, Claim, Registration
from kehu.sales.ownership.tests.conftest import at

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the one-call path is PostgreSQL's")


@pytest.fixture
def paths(monkeypatch):
    """Counts the registrations that went through the Python path (``_register``)."""
    seen = []
    python_path = services._register

    def spy(**kwargs):
        seen.append(kwargs["customer_id"])
        return python_path(**kwargs)

    monkeypatch.setattr(services, "_register", spy)
    return seen


def _rows(reg: Registration) -> dict:
    customer = Customer.objects.get(pk=reg.customer_id)
    name = customer.name
    stored = Registration.objects.get(pk=reg.pk)
    claim = Claim.objects.get(customer_id=reg.customer_id, ended_at__isnull=True)
    history = ChangeRecord.objects.filter(customer_id=reg.customer_id).order_by("-id").first()
    entry = AuditEntry.objects.get(action="registration.create", object_id=str(reg.pk))
    notes = list(Notification.objects.filter(link=f"/ownership/registrations/{reg.pk}/")
                 .values_list("user_id", "title", "body", "read_at"))
    return {
        "registration": (stored.rep_id, stored.department_id, stored.channel, stored.registered_at,
                         stored.valid_until, stored.referral_id, stored.corrects_id, stored.note,
                         stored.created_by_id),
        "claim": (claim.rep_id, claim.registration_id == reg.pk, claim.started_at, claim.valid_until,
                  claim.renewed_at, claim.end_reason),
        "customer": (customer.owner_id, customer.department_id, customer.updated_at, customer.version),
        "history": (history.at, history.actor_id, history.actor_name, history.object_type,
                    history.object_id == reg.customer_id, history.action, history.changes),
        "audit": (entry.actor_id, entry.actor_name, entry.ip, entry.object_type, entry.object_repr == name,
                  {**entry.changes, "customer": entry.changes["customer"] == reg.customer_id}),
        "notifications": [(u, t.replace(name, "<name>"), b, r) for u, t, b, r in notes],
        "returned": (reg.pk == stored.pk, reg.customer.name == name, reg.customer_id == stored.customer_id,
                     reg.rep_id, reg.channel, reg.valid_until == stored.valid_until),
    }


def test_the_one_call_writes_what_the_python_path_writes(org, book, policy, paths, monkeypatch, settings,
                                                         django_capture_on_commit_callbacks):
    settings.KEHU_NOTIFY_CHANNELS = ["inapp", "email"]
    org.rep.email = "zhangwei@example.com"
    org.rep.save(update_fields=["email"])
    from kehu.access.context import current_ip

    token = current_ip.set("10.8.0.15")  # the request's address, in both audit entries
    now = at(2026, 3, 15)
    versions = {c: Customer.objects.get(pk=book[c].pk).version for c in ("huaxing", "dongfang")}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        fast = services.registration_create(actor=org.north_rep, customer_id=book["huaxing"].pk,
                                            channel=Channel.CALL, note="电话联系", now=now)
    assert paths == []  # one call, no Python path
    fast_mail = [(m.to, m.subject.replace(book["huaxing"].name, "<name>")) for m in mail.outbox]
    mail.outbox.clear()
    monkeypatch.setattr(services, "_register_in_one_call", lambda **kw: None)
    with django_capture_on_commit_callbacks(execute=True):
        slow = services.registration_create(actor=org.north_rep, customer_id=book["dongfang"].pk,
                                            channel=Channel.CALL, note="电话联系", now=now)
    assert paths == [book["dongfang"].pk]
    slow_mail = [(m.to, m.subject.replace(book["dongfang"].name, "<name>")) for m in mail.outbox]
    current_ip.reset(token)
    a, b = _rows(fast), _rows(slow)
    assert a["customer"][3] == versions["huaxing"] + 1 and b["customer"][3] == versions["dongfang"] + 1
    a["customer"], b["customer"] = a["customer"][:3], b["customer"][:3]
    assert a == b
    assert a["history"][6] == {"owner": [org.rep.pk, org.north_rep.pk],
                               "department": [org.rep.department_id, org.north_rep.department_id]}
    assert a["audit"][2] == "10.8.0.15"
    assert a["audit"][5]["owner"] == [org.rep.pk, org.north_rep.pk] and a["audit"][5]["from_pool"] is False
    assert len(a["notifications"]) == 1 and a["notifications"][0][0] == org.rep.pk
    assert fast_mail == slow_mail and len(fast_mail) == 1


def test_the_cases_the_one_call_leaves_to_the_python_path(org, book, policy, paths):
    """A valid claim of another rep (409), a lapsed one (ended by the Python path), a pool customer, a
    registration of one's own customer: the Python path decides; the one call wrote nothing."""
    now = at(2026, 3, 15)
    services.registration_create(actor=org.rep, customer_id=book["huaxing"].pk, now=now)  # own customer: one call
    assert paths == []
    before = Registration.objects.count()
    with pytest.raises(Conflict) as err:
        services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 3, 20))
    assert err.value.code == "already_registered" and paths == [book["huaxing"].pk]
    assert Registration.objects.count() == before
    services.registration_create(actor=org.rep2, customer_id=book["huaxing"].pk, now=at(2026, 4, 16))
    assert paths == [book["huaxing"].pk] * 2
    assert Customer.objects.get(pk=book["huaxing"].pk).owner_id == org.rep2.pk
    assert connection.vendor == "postgresql"
