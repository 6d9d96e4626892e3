"""`kehu sweep complaints|service`: an SLA sweep on demand for operators, the same code the worker's
periodic tasks run (kehu.service_desk.sweeps.run_sweep); prints the counts."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kehu.service_desk import services, sweeps
from kehu.service_desk.models import Complaint

pytestmark = pytest.mark.django_db


def test_sweep_command_marks_overdue_complaints_and_prints_counts(org):
    c = services.complaint_record(actor=org.agent, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。",
        "received_at": dt.datetime(2025, 9, 30, 10, 0, tzinfo=dt.UTC)})
    out = io.StringIO()
    call_command("sweep", "complaints", stdout=out)
    assert out.getvalue().strip() == "complaints: breached=1, escalated=1, followup_reminded=0"
    assert Complaint.objects.get(pk=c.pk).breached_at is not None
    out = io.StringIO()
    call_command("sweep", stdout=out)  # both, idempotent
    assert out.getvalue().splitlines() == ["complaints: breached=0, escalated=0, followup_reminded=0",
                                           "service: breached=0, escalated=0"]


def test_sweep_command_refuses_an_unknown_sweep():
    with pytest.raises(CommandError):
        call_command("sweep", "invoices")


def test_worker_tasks_run_the_same_sweeps_as_the_command(monkeypatch):
    from kehu.service_desk import tasks
    from kehu.service_desk.tickets import tasks as ticket_tasks

    called = []
    monkeypatch.setattr(sweeps, "SWEEPS", {"complaints": lambda now: called.append("complaints") or {},
                                           "service": lambda now: called.append("service") or {}})
    tasks.sla_sweep.call_local()
    ticket_tasks.service_ticket_sla_sweep.call_local()
    assert called == ["complaints", "service"]
