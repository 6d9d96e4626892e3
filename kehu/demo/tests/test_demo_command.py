"""`kehu demo` writes data that reads true (issue 9): a company is in the city its name says, nothing
was updated before it was created, and approvals exist in every state so the inbox and the history of
each approver have content."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import F

from kehu.approvals.models import ApprovalRequest, ApprovalTask
from kehu.customers.models import Customer
from kehu.demo.generators import PLACES, name_matches_place, place_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """A small demo company, loaded inside the test's transaction (rolled back after)."""
    out = io.StringIO()
    call_command("demo", customers=60, stdout=out)
    return out.getvalue()


def test_place_of_a_name_is_its_city_or_province():
    assert place_of("宁波鑫源包装材料有限公司")[1] == "宁波市"
    assert place_of("华星石化(北京)股份有限公司")[1] == "北京市"
    assert place_of("江苏永盛塑业集团有限公司")[0] == "江苏省"
    assert place_of("华星石化有限公司") is None
    assert name_matches_place("苏州华星化工有限公司", "江苏省", "苏州市")
    assert not name_matches_place("苏州华星化工有限公司", "浙江省", "杭州市")
    assert not name_matches_place("北京华星石化有限公司", "广东省", "广州市")
    assert all(place_of(city) for _p, city, _d, _c in PLACES)


def test_demo_company_reads_true(demo):
    """One load, every check: names and cities, updated ≥ created, approvals, review, inspections."""
    _every_company_is_in_the_city_its_name_says()
    _no_record_was_updated_before_it_was_created()
    _approvals_are_in_every_state_and_fill_each_approvers_inbox(demo)
    _review_and_inspections_have_content()
    _reps_look_after_their_regions_companies()
    _a_second_run_only_prints_the_logins_at_the_served_address()


def _a_second_run_only_prints_the_logins_at_the_served_address():
    """`make run PORT=8123` passes the address: the banner names the port the server will answer on."""
    before = Customer.objects.count()
    out = io.StringIO()
    call_command("demo", if_empty=True, url="http://127.0.0.1:8123/", stdout=out)
    assert "demo data already loaded" in out.getvalue()
    assert "Demo logins (http://127.0.0.1:8123/login/):" in out.getvalue()
    assert Customer.objects.count() == before


def _reps_look_after_their_regions_companies():
    from kehu.demo.management.commands.demo import REGION_OWNERS

    checked = 0
    for c in Customer.objects.filter(province__in=list(REGION_OWNERS), created_by__username="admin").select_related(
            "owner")[:500]:
        assert c.owner.username in REGION_OWNERS[c.province], (c.name, c.province, c.owner.username)
        checked += 1
    assert checked > 20


def _every_company_is_in_the_city_its_name_says():
    wrong = [(c.name, c.province, c.city) for c in Customer.objects.filter(kind="organization")
             if not name_matches_place(c.name, c.province, c.city)]
    assert Customer.objects.filter(kind="organization").count() > 50 and wrong == []


def _no_record_was_updated_before_it_was_created():
    checked = 0
    for model in apps.get_models():
        fields = {f.name for f in model._meta.get_fields()}
        if {"created_at", "updated_at"} <= fields:
            checked += model.objects.count()
            bad = model.objects.filter(updated_at__lt=F("created_at")).values_list("pk", flat=True)[:5]
            assert list(bad) == [], model._meta.label
    assert checked > 100


def _approvals_are_in_every_state_and_fill_each_approvers_inbox(demo):
    statuses = set(ApprovalRequest.objects.values_list("status", flat=True))
    assert {"pending", "approved", "rejected", "returned", "cancelled"} <= statuses
    waiting_for = set(ApprovalTask.objects.filter(status="pending").values_list("assignee__username", flat=True))
    assert {"manager", "north_manager", "finance", "ceo"} <= waiting_for
    decided_by = set(ApprovalTask.objects.exclude(status__in=["pending", "skipped"])
                     .values_list("assignee__username", flat=True))
    assert {"manager", "finance", "ceo"} <= decided_by
    assert ApprovalRequest.objects.filter(round=2, status="pending").exists()  # returned, then resubmitted
    assert "approvals: pending" in demo


def _review_and_inspections_have_content():
    from kehu.customers.review.models import ReviewItem
    from kehu.service_desk.inspections.models import InspectionReport, InspectionVisit

    assert ReviewItem.objects.exclude(state="open").exists() and ReviewItem.objects.filter(state="open").exists()
    assert InspectionReport.objects.exists()
    assert InspectionVisit.objects.filter(state="scheduled", overdue_at__isnull=False).exists()
