"""The visit report form (客户走访报告单, 004 附件): the scales exactly as the seed, the score, suggestions routed
to the leader and departments concerned and tracked to an answer; return visits to key accounts need a
leader's authorisation first (004 第1篇 7); a visit recorded as a follow-up ticks the scheduled visit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kehu.access.services import department_ensure_path
from kehu.engagement.hooks import interaction_recorded
from kehu.engagement.models import Interaction
from kehu.engagement.visits import rules, selectors, services
from kehu.engagement.visits.models import ScaleItem, ScheduledVisit, Suggestion, VisitReport, VisitState
from kehu.engagement.visits.tests.conftest import report_data, scale_ids
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db

SEED = {
    "quality": [("非常优良", 100), ("优良", 90), ("良好", 85), ("一般", 80), ("合格", 70), ("不合格", 60)],
    "service": [("非常优良", 100), ("优良", 90), ("良好", 85), ("一般", 80), ("不好", 30), ("恶劣", 0)],
    "reputation": [("非常驰名", 100), ("驰名", 90), ("知名度高", 85), ("知名度较高", 80), ("知名", 70),
                   ("知道", 60), ("不知道", 50)],
}


def test_the_scales_are_exactly_the_seeds_form_in_its_order():
    items = selectors.scale_items()
    assert {k: [(i.label, i.points) for i in v] for k, v in items.items()} == SEED
    assert set(ScaleItem.objects.values_list("version", flat=True)) == {1}


def test_score_is_the_weighted_mean_of_the_three_scales():
    assert rules.report_score({"quality": 90, "service": 85, "reputation": 85}, {}) == Decimal("86.7")
    assert rules.report_score({"quality": 100, "service": 0, "reputation": 50},
                              {"quality": 2, "service": 1, "reputation": 1}) == Decimal("62.5")


def _first_visit(plan, customer):
    return ScheduledVisit.objects.filter(plan=plan, customer=customer).order_by("planned_on").first()


def test_filing_a_report_scores_it_marks_the_visit_done_and_audits(org, book, plan):
    visit = _first_visit(plan, book["huaxing"])
    report = services.report_file(actor=org.rep, visit_id=visit.pk, data=report_data())
    assert report.score == Decimal("86.7")  # (90 + 85 + 85) / 3
    assert (report.quality.label, report.service.label, report.reputation.label) == ("优良", "良好", "知名度高")
    assert report.customer_name == "浙江华星石化有限公司" and report.customer_address == "杭州市滨江区江南大道88号"
    assert report.signed_on == dt.date(2026, 3, 2)
    assert ScheduledVisit.objects.get(pk=visit.pk).state == VisitState.DONE
    with pytest.raises(Conflict):
        services.report_file(actor=org.rep, visit_id=visit.pk, data=report_data())


def test_choices_may_be_given_by_label(org, book, plan):
    visit = _first_visit(plan, book["dongfang"])
    report = services.report_file(actor=org.rep, visit_id=visit.pk, data=report_data(
        quality="不合格", service="恶劣", reputation="不知道"))
    assert report.score == Decimal("36.7")  # (60 + 0 + 50) / 3


@pytest.mark.parametrize("bad", [
    {"quality": "很好"},  # not a choice of the form
    {"service": scale_ids and 0},
    {"reputation": None},
    {"signatory_name": ""},  # the customer's signature is part of the form
    {"visited_on": "2999-01-01"},
    {"visited_on": "2026-03-02", "signed_on": "2026-03-01"},
    {"market_info": "x" * 4001},
    {"suggestions": [{"topic": "nonsense", "text": "加快交货"}]},
])
def test_bad_input_is_refused_and_nothing_written(org, book, plan, bad):
    visit = _first_visit(plan, book["huaxing"])
    data = report_data()
    if "service" in bad and bad["service"] == 0:
        bad = {"service": scale_ids()[("quality", "优良")]}  # a quality choice is not a service choice
    data.update(bad)
    with pytest.raises(Invalid):
        services.report_file(actor=org.rep, visit_id=visit.pk, data=data)
    assert not VisitReport.objects.exists() and not Suggestion.objects.exists()
    assert ScheduledVisit.objects.get(pk=visit.pk).state == VisitState.SCHEDULED


def test_a_report_is_filed_only_in_scope_and_with_the_permission(org, book, plan):
    visit = _first_visit(plan, book["huaxing"])
    with pytest.raises(NotFound):
        services.report_file(actor=org.rep2, visit_id=visit.pk, data=report_data())
    with pytest.raises(Forbidden):
        services.report_file(actor=org.finance, visit_id=visit.pk, data=report_data())
    # the manager may file it for the rep
    assert services.report_file(actor=org.manager, visit_id=visit.pk, data=report_data()).owner == org.rep


def test_suggestions_go_to_the_leader_and_the_departments_by_topic_and_are_answered(org, book, plan,
                                                                                    django_capture_on_commit_callbacks):
    from kehu.notifications.models import Notification

    quality = department_ensure_path(actor=None, path="总部/质量部")
    visit = _first_visit(plan, book["huaxing"])
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_file(actor=org.rep, visit_id=visit.pk, data=report_data(suggestions=[
            {"topic": "quality", "text": "包装袋破损率偏高，建议改用加厚编织袋"},
            {"topic": "delivery", "text": "希望缩短交货期", "departments": [org.depts["service"].pk],
             "addressee": org.executive.pk},
        ]))
    first, second = report.suggestions.order_by("id")
    # routed by the topic → department map, to the rep's leader (李经理, 华东区)
    assert first.addressee == org.manager and list(first.departments.all()) == [quality]
    assert second.addressee == org.executive and list(second.departments.all()) == [org.depts["service"]]
    assert first.due_on == timezone.localdate() + dt.timedelta(days=rules.config()["suggestion_answer_days"])
    assert Notification.objects.filter(user=org.manager).exists()
    # a manager of another department cannot answer; the addressee can
    with pytest.raises(NotFound):
        services.suggestion_answer(actor=org.north_manager, suggestion_id=first.pk, answer="已安排")
    with pytest.raises(Forbidden):  # the rep sees it (own report) but does not answer it
        services.suggestion_answer(actor=org.rep, suggestion_id=first.pk, answer="已安排")
    with pytest.raises(Invalid):
        services.suggestion_answer(actor=org.manager, suggestion_id=first.pk, answer=" ")
    answered = services.suggestion_answer(actor=org.manager, suggestion_id=first.pk,
                                          answer="质量部已通知包装车间改用加厚编织袋，下批起执行")
    assert (answered.state, answered.answered_by) == ("answered", org.manager) and answered.answered_at
    with pytest.raises(Conflict):
        services.suggestion_answer(actor=org.manager, suggestion_id=first.pk, answer="again")
    closed = services.suggestion_close(actor=org.rep, suggestion_id=first.pk)
    assert closed.state == "closed" and closed.closed_by == org.rep
    # the addressee sees the suggestion though the report is outside their scope
    assert selectors.suggestion_get(actor=org.executive, suggestion_id=second.pk) == second


def test_overdue_suggestions_after_the_configured_days(org, book, plan):
    visit = _first_visit(plan, book["huaxing"])
    report = services.report_file(actor=org.rep, visit_id=visit.pk, data=report_data(
        suggestions=[{"topic": "price", "text": "希望账期延长到60天"}]))
    s = report.suggestions.get()
    later = s.due_on + dt.timedelta(days=1)
    assert [x.pk for x in selectors.suggestion_list(actor=org.manager, overdue=True, today=later).items] == [s.pk]
    assert selectors.suggestion_list(actor=org.manager, overdue=True, today=s.due_on).items == []


def test_a_return_visit_to_a_key_account_needs_a_leaders_authorisation_before_its_report(org, book, plan):
    key = services.visit_add(actor=org.rep, plan_id=plan.pk, data={
        "customer": book["huaxing"].pk, "planned_on": "2026-05-11", "purpose": "大客户回访", "is_return_visit": True})
    plain = services.visit_add(actor=org.rep, plan_id=plan.pk, data={
        "customer": book["dongfang"].pk, "planned_on": "2026-05-12", "is_return_visit": True})
    assert key.needs_authorisation and not plain.needs_authorisation  # 上海东方 is not a key account
    with pytest.raises(Conflict) as exc:
        services.report_file(actor=org.rep, visit_id=key.pk, data=report_data())
    assert exc.value.code == "authorisation_required"
    with pytest.raises(Forbidden):  # an account manager does not authorise
        services.visit_authorise(actor=org.rep, visit_id=key.pk)
    with pytest.raises(NotFound):
        services.visit_authorise(actor=org.north_manager, visit_id=key.pk)
    with pytest.raises(Conflict):
        services.visit_authorise(actor=org.manager, visit_id=plain.pk)
    done = services.visit_authorise(actor=org.manager, visit_id=key.pk)
    assert done.authorised_by == org.manager and done.authorised_at
    assert services.report_file(actor=org.rep, visit_id=key.pk, data=report_data()).visit_id == key.pk


def test_return_visit_policy_all_or_none(org, book, plan, settings):
    settings.KEHU_VISITS = {**settings.KEHU_VISITS, "return_visit_authorisation": "all"}
    assert services.needs_authorisation(book["dongfang"].pk, True)
    settings.KEHU_VISITS = {**settings.KEHU_VISITS, "return_visit_authorisation": "none"}
    assert not services.needs_authorisation(book["huaxing"].pk, True)
    assert not services.needs_authorisation(book["huaxing"].pk, False)


def _interaction(org, customer, when, channel="visit", owner=None):
    owner = owner or org.rep
    return Interaction.objects.create(customer=customer, channel=channel, occurred_at=when, summary="上门拜访，沟通二季度订单",
                                      owner=owner, recorded_by=owner)


def test_a_visit_recorded_as_a_follow_up_ticks_the_nearest_scheduled_visit_once(org, book, plan):
    target = _first_visit(plan, book["huaxing"])
    when = dt.datetime.combine(target.planned_on + dt.timedelta(days=2), dt.time(10), tzinfo=timezone.get_default_timezone())
    interaction = _interaction(org, book["huaxing"], when)
    interaction_recorded(interaction, actor=org.rep)
    target.refresh_from_db()
    assert target.state == VisitState.DONE and target.interaction_id == interaction.pk and target.done_at == when
    interaction_recorded(interaction, actor=org.rep)  # idempotent: no second visit ticked
    assert ScheduledVisit.objects.filter(interaction=interaction).count() == 1
    assert ScheduledVisit.objects.filter(plan=plan, customer=book["huaxing"], state="done").count() == 1


def test_the_hook_ignores_other_channels_other_owners_and_days_outside_the_window(org, book, plan, settings):
    target = _first_visit(plan, book["huaxing"])
    tz = timezone.get_default_timezone()
    on_day = dt.datetime.combine(target.planned_on, dt.time(10), tzinfo=tz)
    interaction_recorded(_interaction(org, book["huaxing"], on_day, channel="phone"), actor=org.rep)
    far = dt.datetime.combine(target.planned_on - dt.timedelta(days=rules.config()["match_window_days"] + 1),
                              dt.time(10), tzinfo=tz)
    interaction_recorded(_interaction(org, book["huaxing"], far), actor=org.rep)
    interaction_recorded(_interaction(org, book["huaxing"], on_day, owner=org.manager), actor=org.manager)
    assert not ScheduledVisit.objects.filter(state="done").exists()
