"""The SLA sweep at scale: set-based batches (one lock, one UPDATE, bulk events, one audit chain segment
and bulk notifications per batch), escalation recipients resolved once per department, and the partial
indexes over open complaints that the board and the sweep read."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_verify
from kehu.notifications.models import Notification
from kehu.service_desk import selectors, services, workflow
from kehu.service_desk.models import Complaint, ComplaintEvent, open_q

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
RECEIVED = dt.datetime(2025, 9, 30, 10, 0, tzinfo=SH)  # general: due 2025-10-10 00:00
AFTER_DUE = dt.datetime(2025, 10, 10, 9, 0, tzinfo=SH)
LEVEL_2 = dt.datetime(2025, 10, 12, 1, 0, tzinfo=SH)  # one more working day (the make-up Saturday) later


def record(actor, n: int = 1) -> list[Complaint]:
    return [services.complaint_record(actor=actor, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": f"发货延迟 {i}", "description": "订单已延迟五天未发货。", "received_at": RECEIVED})
        for i in range(n)]


def test_sweep_escalates_many_complaints_in_batches_with_one_event_and_audit_entry_each(org, monkeypatch):
    """Batches of 4: every overdue complaint gets its breach, its event and its audit entry, and the
    audit chain stays intact across the batches' segments."""
    monkeypatch.setattr(services, "SWEEP_BATCH", 4)
    east, service = record(org.rep, 6), record(org.agent, 5)
    assert services.complaint_sla_sweep(now=AFTER_DUE) == {"breached": 11, "escalated": 0, "followup_reminded": 0}
    assert Complaint.objects.filter(escalation_level=1, breached_at=AFTER_DUE).count() == 11
    events = ComplaintEvent.objects.filter(action="escalated_1")
    assert events.count() == 11
    # the department line's manager for the east, the executive where the line has no manager
    assert {e.note for e in events.filter(complaint__in=east)} == {org.manager.display_name}
    assert {e.note for e in events.filter(complaint__in=service)} == {org.executive.display_name}
    assert all(e.actor_id is None and e.actor_name == "system" and e.to_state == workflow.RECORDED for e in events)
    escalations = AuditEntry.objects.filter(action="complaint.escalate")
    assert escalations.count() == 11
    assert set(escalations.values_list("object_id", flat=True)) == {str(c.pk) for c in east + service}
    assert escalations.get(object_id=str(east[0].pk)).changes == {"level": [0, 1], "to": [org.manager.username]}
    assert audit_verify() == []
    assert services.complaint_sla_sweep(now=AFTER_DUE) == {"breached": 0, "escalated": 0, "followup_reminded": 0}

    assert services.complaint_sla_sweep(now=LEVEL_2) == {"breached": 0, "escalated": 11, "followup_reminded": 0}
    level2 = ComplaintEvent.objects.filter(action="escalated_2")
    assert {e.note for e in level2} == {org.executive.display_name}  # nobody above the east's manager but the top
    assert AuditEntry.objects.filter(action="complaint.escalate").count() == 22
    assert audit_verify() == []
    assert services.complaint_sla_sweep(now=LEVEL_2) == {"breached": 0, "escalated": 0, "followup_reminded": 0}


def _sweep_queries(now: dt.datetime) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as ctx:
        result = services.complaint_sla_sweep(now=now)
    return result, len(ctx.captured_queries)


def test_sweep_query_count_does_not_grow_with_the_number_of_complaints(org):
    """A batch costs the same few queries for 2 or 40 complaints: recipients are resolved once per
    department, users and paths once per sweep."""
    record(org.rep), record(org.agent)
    small = [_sweep_queries(AFTER_DUE), _sweep_queries(LEVEL_2)]
    Complaint.objects.all().delete()
    record(org.rep, 20), record(org.agent, 20)
    large = [_sweep_queries(AFTER_DUE), _sweep_queries(LEVEL_2)]
    assert [r for r, _n in small] == [{"breached": 2, "escalated": 0, "followup_reminded": 0}, {"breached": 0, "escalated": 2, "followup_reminded": 0}]
    assert [r for r, _n in large] == [{"breached": 40, "escalated": 0, "followup_reminded": 0}, {"breached": 0, "escalated": 40, "followup_reminded": 0}]
    assert [n for _r, n in large] == [n for _r, n in small]
    assert all(n <= 20 for _r, n in large)


def test_long_overdue_complaint_goes_through_both_levels_in_one_sweep(org):
    [c] = record(org.rep)
    assert services.complaint_sla_sweep(now=dt.datetime(2025, 11, 1, tzinfo=SH)) == {"breached": 1, "escalated": 1, "followup_reminded": 0}
    assert sorted(c.events.filter(action__startswith="escalated").values_list("action", flat=True)) == [
        "escalated_1", "escalated_2"]


def test_sweep_notifies_the_managers_and_the_accountable_person_in_app_and_by_mail_after_commit(
        org, settings, django_capture_on_commit_callbacks):
    settings.KEHU_NOTIFY_CHANNELS = ["inapp", "email"]
    settings.KEHU_NOTIFY_EMAIL = True
    settings.KEHU_SITE_URL = "https://crm.example.cn"
    for user in (org.rep, org.manager):
        user.email = f"{user.username}@example.cn"
        user.save(update_fields=["email"])
    [c, d] = record(org.rep, 2)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_sla_sweep(now=AFTER_DUE)
    notes = Notification.objects.filter(link=f"/complaints/{c.pk}/")
    assert sorted(n.user.username for n in notes) == ["manager", "rep"]
    assert all(c.tracking_no in n.title and n.body == c.subject for n in notes)
    assert sorted(m.to[0] for m in mail.outbox) == ["manager@example.cn"] * 2 + ["rep@example.cn"] * 2
    mine = [m for m in mail.outbox if c.tracking_no in m.subject]
    assert len(mine) == 2 and f"https://crm.example.cn/complaints/{c.pk}/" in mine[0].body
    # level 2 goes to the level above only, not to the accountable person again
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_sla_sweep(now=LEVEL_2)
    assert Notification.objects.filter(user=org.executive, link=f"/complaints/{d.pk}/").count() == 1
    assert Notification.objects.filter(user=org.rep).count() == 2
    assert mail.outbox == []  # the executive has no address


def test_a_rolled_back_sweep_batch_notifies_nobody(org, django_capture_on_commit_callbacks, monkeypatch):
    record(org.rep, 2)

    def fail(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(services, "audit_record_many", fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        services.complaint_sla_sweep(now=AFTER_DUE)
    assert Notification.objects.count() == 0
    assert Complaint.objects.filter(escalation_level=0, breached_at__isnull=True).count() == 2
    assert not ComplaintEvent.objects.filter(action="escalated_1").exists()


def test_a_batch_takes_only_rows_still_at_the_level_below(org):
    """Two workers that selected the same complaints: the second finds them already moved (under the
    row lock) and writes nothing."""
    cs = record(org.rep, 3)
    ids = [c.pk for c in cs]
    first, second = services._Sweep(AFTER_DUE), services._Sweep(AFTER_DUE)
    assert first.escalate(ids, level=1) == 3
    assert second.escalate(ids, level=1) == 0
    assert ComplaintEvent.objects.filter(action="escalated_1").count() == 3
    assert AuditEntry.objects.filter(action="complaint.escalate").count() == 3


def test_closed_and_not_yet_due_complaints_are_left_alone(org):
    closed, open_ = record(org.rep, 2)
    Complaint.objects.filter(pk=closed.pk).update(state=workflow.CLOSED)
    assert services.complaint_sla_sweep(now=dt.datetime(2025, 10, 9, 23, 0, tzinfo=SH))["breached"] == 0
    assert services.complaint_sla_sweep(now=AFTER_DUE)["breached"] == 1
    assert Complaint.objects.get(pk=closed.pk).escalation_level == 0


def test_escalation_directory_matches_the_single_complaint_rule(org):
    """Level 1: the nearest managers up the line; level 2: the next managers above, else the executives;
    a line without managers goes to the executives at both levels."""
    [c] = record(org.rep)
    c = Complaint.objects.select_related("department").get(pk=c.pk)
    directory = selectors.EscalationDirectory()
    assert directory.recipients(c.department.path, level=1) == [org.manager]
    assert selectors.escalation_recipients(c, level=1) == [org.manager]
    assert directory.recipients(c.department.path, level=2) == [org.executive]
    assert directory.recipients(org.depts["service"].path, level=1) == [org.executive]
    assert directory.recipients("", level=2) == [org.executive]
    # a manager higher up the line (销售部) takes level 2
    from kehu.access.services import user_create

    head = user_create(actor=None, username="sales_head", password="Kehu#Test2026", role="manager",
                       department=org.depts["sales"], display_name="钱总监")
    assert selectors.EscalationDirectory().recipients(c.department.path, level=2) == [head]
    assert selectors.escalation_recipients(c, level=2) == [head]


# ---------------------------------------------------------------- partial indexes

def _uses(index: str, queryset) -> bool:
    """Whether the database can answer ``queryset`` from ``index``. SQLite is asked to use that index
    (INDEXED BY fails unless the query repeats the partial index's condition); PostgreSQL shows its
    plan with sequential and bitmap scans and sorts off (test tables are too small for the planner to
    prefer an index; an index the predicate does not imply could not be chosen at all)."""
    sql, params = queryset.query.sql_with_params()
    table = f'FROM "{Complaint._meta.db_table}"'
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + sql.replace(table, f"{table} INDEXED BY {index}", 1), params)
            return any(index in str(r[-1]) for r in cur.fetchall())
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cur.execute(f"SET LOCAL {setting} = off")
        cur.execute("EXPLAIN " + sql, params)
        return any(index in r[0] for r in cur.fetchall())


def test_the_open_list_and_the_sweep_read_the_partial_indexes_over_open_complaints(org):
    record(org.rep, 3)
    for actor in (org.rep, org.manager, org.executive):
        board = (selectors.complaint_base(actor=actor).filter(open_q()).select_related("accountable", "customer")
                 .order_by("due_at", "id")[:51])
        assert _uses("complaint_open_by_due", board)
    sweep = (Complaint.objects.filter(open_q(), escalation_level=0, due_at__lt=AFTER_DUE)
             .order_by("due_at", "id").values_list("id", flat=True))
    assert _uses("complaint_open_escalation", sweep)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="bound parameters are a SQLite planner matter")
def test_a_bound_open_states_filter_could_not_use_the_partial_index(org):
    """Why open_q() writes its states into the SQL: the same filter with bound parameters cannot use
    the partial index on SQLite."""
    from django.db import OperationalError

    record(org.rep)
    with pytest.raises(OperationalError):
        _uses("complaint_open_by_due", Complaint.objects.filter(state__in=workflow.OPEN_STATES).order_by("due_at"))


def test_open_q_selects_exactly_the_open_states(org):
    cs = record(org.rep, len(workflow.STATES))
    for c, state in zip(cs, workflow.STATES, strict=True):
        Complaint.objects.filter(pk=c.pk).update(state=state)
    assert set(Complaint.objects.filter(open_q()).values_list("state", flat=True)) == set(workflow.OPEN_STATES)
    with pytest.raises(ValueError):
        list(Complaint.objects.filter(state__in_literal=["closed'); DROP TABLE x; --"]))


def test_a_full_board_column_shows_the_soonest_due_and_links_to_the_rest(org, client):
    """Each column shows the 20 soonest due; a fuller one links to the list filtered by its state."""
    from kehu.service_desk.views import BOARD_CARDS

    cs = record(org.agent, BOARD_CARDS + 1)
    Complaint.objects.filter(pk=cs[0].pk).update(state=workflow.JUDGED)
    client.force_login(org.agent)
    html = client.get("/complaints/").content.decode()
    assert html.count('data-testid="complaint-card"') == BOARD_CARDS + 1  # 20 recorded + 1 judged
    assert html.count('data-testid="column-more"') == 0
    record(org.agent)
    html = client.get("/complaints/").content.decode()
    assert html.count('data-testid="complaint-card"') == BOARD_CARDS + 1
    assert html.count('data-testid="column-more"') == 1 and 'href="/complaints/list/?state=recorded"' in html
