"""Merging duplicate customers moves their follow-ups; the contact summaries are rebuilt, not moved."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kehu.customers import merge
from kehu.customers.tests.factories import org_customer
from kehu.engagement import services
from kehu.engagement.models import CustomerContactSummary


def _record(actor, customer, summary, days_ago, **extra):
    data = {"customer": customer.pk, "channel": "phone", "summary": summary,
            "occurred_at": (timezone.now() - dt.timedelta(days=days_ago)).isoformat(), **extra}
    return services.interaction_create(actor=actor, data=data)[0]


def test_merge_rebuilds_the_survivors_summary_from_both_threads_and_undo_splits_them_again(org):
    """After a merge the survivor's last contact and open steps count the duplicate's follow-ups too; the
    duplicate has no summary; undoing the merge gives each its own again."""
    survivor = org_customer(org.rep, "北京华星石化有限公司", serial=1)
    loser = org_customer(org.rep, "华星石化(北京)股份有限公司", serial=2)
    _record(org.rep, survivor, "电话沟通提货计划", 10)
    latest = _record(org.rep, loser, "拜访采购部王经理", 1, next_step="发送报价单",
                     next_step_due=str(timezone.localdate() + dt.timedelta(days=3)))
    record = merge.customer_merge(actor=org.manager, survivor_id=survivor.pk, loser_id=loser.pk)
    s = CustomerContactSummary.objects.get(pk=survivor.pk)
    assert (s.interactions, s.open_steps, s.last_interaction_id, s.next_step) == (2, 1, latest.pk, "发送报价单")
    assert not CustomerContactSummary.objects.filter(pk=loser.pk).exists()
    merge.customer_merge_undo(actor=org.manager, merge_id=record.pk)
    s, lo = CustomerContactSummary.objects.get(pk=survivor.pk), CustomerContactSummary.objects.get(pk=loser.pk)
    assert (s.interactions, s.open_steps) == (1, 0)
    assert (lo.interactions, lo.open_steps, lo.last_interaction_id) == (1, 1, latest.pk)
