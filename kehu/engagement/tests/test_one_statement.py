"""PostgreSQL: the common follow-up create is ONE statement (``services._create_in_one_statement``). It must write
exactly what the Python path writes — the follow-up, the contact summary, the audit entry, the registration's
renewal (kehu.sales.ownership's handler), a visit's match to the plan (kehu.engagement.visits' handler) with
its audit entry — answer the same, and leave every other case (contacts, a refusal, a replay) to the Python
path."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kehu.access.context import current_ip
from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import contact, org_customer
from kehu.engagement import services
from kehu.engagement.api import interaction_out
from kehu.engagement.models import CustomerContactSummary, Interaction
from kehu.engagement.visits.models import ScheduledVisit, VisitPlan
from kehu.errors import NotFound
from kehu.sales.ownership.models import Claim

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the one-statement path is PostgreSQL's")

FIELDS = ("channel", "direction", "occurred_at", "summary", "outcome", "next_step", "next_step_due",
          "next_step_done_at", "next_step_reminded_at", "owner_id", "recorded_by_id", "latitude", "longitude",
          "location_accuracy_m")
SUMMARY = ("last_contact_at", "last_channel", "next_step", "next_step_due", "open_steps", "interactions")


@pytest.fixture
def paths(monkeypatch):
    """The creates that took the Python path (the customer read of ``clean``)."""
    seen = []
    real = services.clean

    def spy(data, **kwargs):
        if kwargs.get("read_customer", True) and kwargs.get("instance") is None:
            seen.append(data.get("customer"))
        return real(data, **kwargs)

    monkeypatch.setattr(services, "clean", spy)
    return seen


def _schedule(org, customer, day: dt.date) -> list[ScheduledVisit]:
    """Open visits around ``day``: 3 days before, twice 2 days after (the nearest: the lower id wins), 20 days
    after (outside the window), and the nearest one's twin owned by a colleague (not the owner's)."""
    plan, _ = VisitPlan.objects.get_or_create(owner=org.rep, year=day.year,
                                              defaults={"department_id": org.rep.department_id, "created_by": org.rep})
    other, _ = VisitPlan.objects.get_or_create(owner=org.rep2, year=day.year,
                                               defaults={"department_id": org.rep2.department_id,
                                                         "created_by": org.rep2})
    return [ScheduledVisit.objects.create(plan=p, customer=customer, owner_id=p.owner_id, department_id=p.department_id,
                                          planned_on=day + dt.timedelta(days=d))
            for p, d in ((plan, -3), (plan, 2), (plan, 2), (plan, 20), (other, 2))]


def _visits(visits: list[ScheduledVisit], it: Interaction) -> list:
    out = []
    for v in visits:
        v.refresh_from_db()
        entry = AuditEntry.objects.filter(action="visit.done_by_followup", object_id=str(v.pk)).first()
        out.append((v.state, v.done_at, v.interaction_id == it.pk if v.interaction_id else None,
                    entry and (entry.actor_id, entry.actor_name, entry.ip, entry.object_type,
                               entry.object_repr == str(v), entry.changes == {"state": ["scheduled", "done"],
                                                                              "interaction": [None, it.pk]})))
    return out


def _written(it: Interaction, customer) -> dict:
    row = Interaction.objects.values(*FIELDS, "client_key", "created_at").get(pk=it.pk)
    summary = CustomerContactSummary.objects.get(customer=customer)
    entry = AuditEntry.objects.get(action="interaction.create", object_id=str(it.pk))
    claim = Claim.objects.get(customer=customer, ended_at__isnull=True)
    return {"row": {k: row[k] for k in FIELDS}, "key": row["client_key"] is not None,
            "created": abs(row["created_at"] - timezone.now()) < dt.timedelta(minutes=1),
            "summary": ({k: getattr(summary, k) for k in SUMMARY}, summary.last_interaction_id == it.pk,
                        summary.next_interaction_id == it.pk),
            "audit": (entry.actor_id, entry.actor_name, entry.ip, entry.object_type, entry.object_repr,
                      entry.changes, entry.seq),
            "claim": (claim.valid_until, claim.renewed_at is not None),
            "answer": {k: v for k, v in interaction_out(it, detail=True).items()
                       if k not in ("id", "customer", "created_at", "client_key")}}


@pytest.mark.parametrize("channel", ["wechat", "visit"])
def test_the_one_statement_writes_and_answers_what_the_python_path_does(org, paths, monkeypatch, channel):
    """Two customers in the same state (a claim about to lapse, one earlier follow-up, open visits around the
    day), the same follow-up recorded on each: once in one statement, once through the Python path — the same
    rows (a visit ticks the same scheduled visit, with the same audit entry)."""
    now = timezone.now().replace(microsecond=0)
    customers = [org_customer(org.rep, f"浙江华星石化有限公司{n}", serial=n + 1) for n in range(2)]
    for c in customers:
        Claim.objects.create(customer=c, rep=org.rep, started_at=now - dt.timedelta(days=20),
                             valid_until=now + dt.timedelta(days=2))
        services.interaction_create(actor=org.rep, data={"customer": c.pk, "channel": "phone", "summary": "初次电话",
                                                          "occurred_at": (now - dt.timedelta(days=3)).isoformat()})
    visits = [_schedule(org, c, timezone.localdate(now - dt.timedelta(hours=1))) for c in customers]
    paths.clear()
    data = {"channel": channel, "summary": "电话沟通下月提货计划", "outcome": "确认", "next_step": "发送报价单",
            "next_step_due": str(timezone.localdate() + dt.timedelta(days=2)), "latitude": "30.274085",
            "longitude": "120.155070", "location_accuracy_m": 25, "occurred_at": (now - dt.timedelta(hours=1)).isoformat()}
    token = current_ip.set("10.8.0.15")
    try:
        with CaptureQueriesContext(connection) as ctx:
            fast, replayed = services.interaction_create(
                actor=org.rep, data={**data, "customer": customers[0].pk, "client_key": str(uuid.uuid4())})
        assert not replayed and paths == []
        statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(statements) == 1 and statements[0].startswith("WITH customer AS")
        monkeypatch.setattr(services, "ONE_STATEMENT", False)
        slow, _ = services.interaction_create(
            actor=org.rep, data={**data, "customer": customers[1].pk, "client_key": str(uuid.uuid4())})
        assert paths == [customers[1].pk]
    finally:
        current_ip.reset(token)
    ticked = _visits(visits[0], fast), _visits(visits[1], slow)
    assert ticked[0] == ticked[1]
    assert [v[0] for v in ticked[0]] == (["scheduled", "done", "scheduled", "scheduled", "scheduled"]
                                         if channel == "visit" else ["scheduled"] * 5)
    a, b = _written(fast, customers[0]), _written(slow, customers[1])
    assert a["audit"][2] == "10.8.0.15" and a["claim"][1] and a["row"]["latitude"] is not None
    assert a["answer"]["customer_name"] == customers[0].name
    a["answer"].pop("customer_name"), b["answer"].pop("customer_name")
    assert a["audit"][5].pop("customer") == customers[0].pk and b["audit"][5].pop("customer") == customers[1].pk
    assert a == b


def test_other_cases_take_the_python_path_and_refusals_and_replays_answer_as_before(org, paths):
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    wang = contact(org.rep, hx, "王经理")
    base = {"customer": hx.pk, "channel": "phone", "summary": "电话沟通"}
    it, _ = services.interaction_create(actor=org.rep, data={**base, "contacts": [wang.pk]})
    assert paths == [hx.pk] and list(it.contacts.values_list("pk", flat=True)) == [wang.pk]
    paths.clear()
    key = str(uuid.uuid4())
    first, replayed1 = services.interaction_create(actor=org.rep, data={**base, "client_key": key})
    again, replayed2 = services.interaction_create(actor=org.rep, data={**base, "client_key": key, "summary": "再"})
    assert paths == [hx.pk]  # the replay: the statement's insert was refused by the key, nothing written
    assert (replayed1, replayed2) == (False, True) and again.pk == first.pk
    assert Interaction.objects.filter(client_key=key).count() == 1
    assert AuditEntry.objects.filter(action="interaction.create").count() == 2
    assert CustomerContactSummary.objects.get(customer=hx).interactions == 2
    other = org_customer(org.north_rep, "宁波东方物流有限公司", serial=2)
    before = Interaction.objects.count(), AuditEntry.objects.count()
    with pytest.raises(NotFound):  # out of scope: the statement found no customer; the Python path refuses
        services.interaction_create(actor=org.rep, data={**base, "customer": other.pk})
    assert (Interaction.objects.count(), AuditEntry.objects.count()) == before
    assert not CustomerContactSummary.objects.filter(customer=other).exists()
