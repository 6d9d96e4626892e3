"""Several workers sweeping at once (PostgreSQL: rows locked, others skipped): every overdue request
is breached and escalated exactly once, with one event and one audit entry each, and the audit chain
stays intact."""

import os
import threading

import pytest
from django.db import connection

from kehu.audit.models import AuditEntry
from kehu.service_desk.tickets import services
from kehu.service_desk.tickets.models import ServiceTicket, TicketEvent
from kehu.service_desk.tickets.tests.helpers import at, customers, record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("KEHU_TEST_DATABASE_URL"),
                       reason="concurrent sweeps need PostgreSQL (KEHU_TEST_DATABASE_URL); SQLite serialises them"),
]


def test_three_workers_sweeping_at_once_escalate_each_request_once(org, monkeypatch,
                                                                   audit_triggers_lifted_at_teardown):
    monkeypatch.setattr(services, "SWEEP_BATCH", 4)
    huaxing = customers(org)["huaxing"]
    for _i in range(30):
        record(org.agent, huaxing, kind="consultation", received_at=at(2025, 9, 30, 10, 0))
    results, errors, start = [], [], threading.Barrier(3)

    def sweep():
        try:
            start.wait()
            results.append(services.ticket_sla_sweep(now=at(2025, 10, 12, 1, 0)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(r["breached"] for r in results) == 30
    assert sum(r["escalated"] for r in results) == 30
    assert ServiceTicket.objects.filter(escalation_level=2).count() == 30
    assert TicketEvent.objects.filter(action="escalated_1").count() == 30
    assert TicketEvent.objects.filter(action="escalated_2").count() == 30
    assert AuditEntry.objects.filter(action="ticket.escalate").count() == 60
    from kehu.audit.services import audit_verify

    assert audit_verify() == []
