"""Two phones (or one phone retrying) sending the same offline follow-up at the same moment on PostgreSQL: the
unique client key decides — one row, one audit entry, both answered with that row, and the customer's summary
counts it once."""

import os
import threading
import uuid

import pytest
from django.db import connection

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import org_customer
from kehu.engagement import services
from kehu.engagement.models import CustomerContactSummary, Interaction

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("KEHU_TEST_DATABASE_URL"),
                       reason="racing requests need PostgreSQL (KEHU_TEST_DATABASE_URL); SQLite serialises them"),
]


def test_two_racing_replays_of_one_client_key_make_one_row(org, audit_triggers_lifted_at_teardown):
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    key = str(uuid.uuid4())
    results, errors, start = [], [], threading.Barrier(4)

    def send():
        try:
            start.wait()
            results.append(services.interaction_create(actor=org.rep, data={
                "customer": hx.pk, "channel": "phone", "summary": "仓库无信号时记录的电话沟通", "client_key": key}))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert Interaction.objects.count() == 1
    assert {it.pk for it, _ in results} == {Interaction.objects.get().pk}
    assert sorted(replayed for _, replayed in results) == [False, True, True, True]
    assert AuditEntry.objects.filter(action="interaction.create").count() == 1
    assert CustomerContactSummary.objects.get(customer=hx).interactions == 1


def test_follow_ups_recorded_at_once_for_one_customer_all_count_in_its_summary(org, audit_triggers_lifted_at_teardown):
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    errors, start = [], threading.Barrier(4)

    def send(i):
        try:
            start.wait()
            services.interaction_create(actor=org.rep, data={"customer": hx.pk, "channel": "wechat",
                                                              "summary": f"微信沟通报价 {i}"})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert CustomerContactSummary.objects.get(customer=hx).interactions == 4
