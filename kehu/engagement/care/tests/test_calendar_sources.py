"""The calendar's service-desk sources: the user's own scheduled inspection visits, and the due dates of
the complaints the user is accountable for — through those apps' scoped selectors."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kehu.customers.tests.factories import org_customer
from kehu.engagement.care import agenda
from kehu.service_desk.inspections import services as inspections
from kehu.service_desk.services import complaint_record


def _window():
    today = timezone.localdate()
    return today - dt.timedelta(days=1), today + dt.timedelta(days=40)


def test_inspections_and_deadlines_appear_on_their_owners_calendar_only(org):
    customer = org_customer(org.rep, "杭州华星化工有限公司")
    checklist = inspections.checklist_create(actor=org.admin, data={"name": "设备巡检", "items": ["设备运行状态"]})
    inspections.plan_create(actor=org.manager, data={
        "customer": customer.pk, "checklist": checklist.pk, "importance": "key", "inspector": org.rep.pk,
        "next_due": timezone.localdate() + dt.timedelta(days=5)})
    inspections.visits_generate()
    complaint = complaint_record(actor=org.rep, data={
        "complainant_name": "李先生", "subject": "送货延误", "description": "货物晚到三天", "channel": "letter",
        "customer": customer.pk})
    start, end = _window()
    mine = agenda.events_for(org.rep, start=start, end=end)
    kinds = {e.kind for e in mine}
    assert {"inspection", "deadline"} <= kinds
    assert f"complaint-due-{complaint.pk}@kehu" in {e.uid for e in mine}
    inspection = next(e for e in mine if e.kind == "inspection")
    assert type(inspection.start) is dt.date
    for other in (org.rep2, org.north_rep, org.finance, org.auditor):
        assert not {e.kind for e in agenda.events_for(other, start=start, end=end)} & {"inspection", "deadline"}
