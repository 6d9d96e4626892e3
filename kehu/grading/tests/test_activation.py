"""A policy version activated at a date (issue 11: "versioned, activated at a date"): a draft scheduled for a
later day leaves the version in force in force until then; on that day the worker's step makes it the active
version (the previous one retires) and starts its first run. Dates, states and permissions are checked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.grading import activation, services
from kehu.grading.kinds import threshold
from kehu.grading.models import GradingPolicy, GradingRun, PolicyState, RunTrigger

pytestmark = pytest.mark.django_db
POLYOLEFIN = "聚烯烃提货量分级"


def make(org):
    return services.policy_create(actor=org.admin, name=POLYOLEFIN, kind="threshold",
                                  config=threshold.DEFAULT_CONFIG)


@pytest.fixture
def in_force(org):
    v1 = make(org)
    return services.policy_activate(actor=org.admin, policy_id=v1.pk)


def _state(policy) -> str:
    policy.refresh_from_db()
    return policy.state


def test_a_scheduled_version_takes_effect_on_its_date_and_not_before(org, in_force):
    today = timezone.localdate()
    v2 = make(org)
    day = today + dt.timedelta(days=10)
    activation.policy_schedule(actor=org.admin, policy_id=v2.pk, active_from=day)
    assert (_state(v2), v2.active_from, _state(in_force)) == (PolicyState.SCHEDULED, day, PolicyState.ACTIVE)
    assert AuditEntry.objects.filter(action="grading.policy.schedule", object_id=str(v2.pk)).exists()

    assert activation.activate_due(today=day - dt.timedelta(days=1)) == []  # the day before: v1 stays in force
    assert (_state(v2), _state(in_force)) == (PolicyState.SCHEDULED, PolicyState.ACTIVE)

    [run] = activation.activate_due(today=day)
    assert (_state(v2), _state(in_force)) == (PolicyState.ACTIVE, PolicyState.RETIRED)
    assert v2.active_from == day  # the date it was scheduled for, not the day the worker ran
    assert (run.policy_id, run.trigger, run.status) == (v2.pk, RunTrigger.ACTIVATION, "running")
    assert run.as_of == services.default_as_of(day)
    assert AuditEntry.objects.filter(action="grading.policy.activate", object_id=str(v2.pk)).exists()
    assert activation.activate_due(today=day + dt.timedelta(days=1)) == []  # once


def test_a_missed_day_is_caught_up(org, in_force):
    v2 = make(org)
    day = timezone.localdate() + dt.timedelta(days=3)
    activation.policy_schedule(actor=org.admin, policy_id=v2.pk, active_from=day)
    assert len(activation.activate_due(today=day + dt.timedelta(days=2))) == 1  # the worker was down that day
    assert _state(v2) == PolicyState.ACTIVE


def test_the_date_must_be_after_today(org):
    draft = make(org)
    today = timezone.localdate()
    for bad in (today, today - dt.timedelta(days=1), "2026-13-01", "明天", None):
        with pytest.raises(Invalid) as exc:
            activation.policy_schedule(actor=org.admin, policy_id=draft.pk, active_from=bad)
        assert "active_from" in exc.value.fields
    assert _state(draft) == PolicyState.DRAFT and not AuditEntry.objects.filter(
        action="grading.policy.schedule").exists()


def test_only_a_draft_is_scheduled_and_one_version_per_name(org, in_force):
    day = timezone.localdate() + dt.timedelta(days=5)
    with pytest.raises(Conflict):
        activation.policy_schedule(actor=org.admin, policy_id=in_force.pk, active_from=day)
    v2, v3 = make(org), make(org)
    activation.policy_schedule(actor=org.admin, policy_id=v2.pk, active_from=day)
    with pytest.raises(Conflict) as exc:
        activation.policy_schedule(actor=org.admin, policy_id=v3.pk, active_from=day)
    assert exc.value.code == "already_scheduled" and _state(v3) == PolicyState.DRAFT
    # a scheduled version is not edited nor activated by hand: cancel the schedule first
    with pytest.raises(Conflict):
        services.policy_update(actor=org.admin, policy_id=v2.pk, name=POLYOLEFIN, kind="threshold",
                               config=threshold.DEFAULT_CONFIG)
    with pytest.raises(Conflict):
        services.policy_activate(actor=org.admin, policy_id=v2.pk)


def test_the_database_refuses_two_scheduled_versions_and_a_schedule_without_a_date(org):
    v1, v2 = make(org), make(org)
    GradingPolicy.objects.filter(pk=v1.pk).update(state=PolicyState.SCHEDULED, active_from=dt.date(2030, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        GradingPolicy.objects.filter(pk=v2.pk).update(state=PolicyState.SCHEDULED, active_from=dt.date(2030, 2, 1))
    GradingPolicy.objects.filter(pk=v1.pk).update(state=PolicyState.DRAFT)
    with pytest.raises(IntegrityError), transaction.atomic():
        GradingPolicy.objects.filter(pk=v2.pk).update(state=PolicyState.SCHEDULED, active_from=None)


def test_cancelling_a_schedule_makes_a_draft_again_and_nothing_happens_on_the_day(org, in_force):
    v2 = make(org)
    day = timezone.localdate() + dt.timedelta(days=2)
    activation.policy_schedule(actor=org.admin, policy_id=v2.pk, active_from=day)
    activation.policy_unschedule(actor=org.executive, policy_id=v2.pk)
    assert _state(v2) == PolicyState.DRAFT
    assert AuditEntry.objects.filter(action="grading.policy.unschedule", object_id=str(v2.pk)).exists()
    assert activation.activate_due(today=day) == [] and _state(in_force) == PolicyState.ACTIVE
    with pytest.raises(Conflict):
        activation.policy_unschedule(actor=org.admin, policy_id=v2.pk)


def test_a_retired_schedule_never_takes_effect(org, in_force):
    v2 = make(org)
    day = timezone.localdate() + dt.timedelta(days=2)
    activation.policy_schedule(actor=org.admin, policy_id=v2.pk, active_from=day)
    services.policy_retire(actor=org.admin, policy_id=v2.pk)
    assert activation.activate_due(today=day) == [] and _state(in_force) == PolicyState.ACTIVE


def test_only_grading_managers_schedule(org):
    draft = make(org)
    day = timezone.localdate() + dt.timedelta(days=2)
    for user in (org.manager, org.rep, org.agent, org.finance, org.analyst, org.auditor):
        with pytest.raises(Forbidden):
            activation.policy_schedule(actor=user, policy_id=draft.pk, active_from=day)
    assert _state(draft) == PolicyState.DRAFT


def test_api_schedule_and_unschedule(org, api_client):
    draft = make(org)
    day = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    url = f"/grading/policies/{draft.pk}/schedule"
    assert api_client.as_user(org.manager).post(url, {"active_from": day}).status_code == 403
    assert api_client.as_user(org.admin).post("/grading/policies/999999/schedule",
                                              {"active_from": day}).status_code == 404
    bad = api_client.as_user(org.admin).post(url, {"active_from": timezone.localdate().isoformat()})
    assert bad.status_code == 422 and "active_from" in bad.json()["error"]["fields"]
    assert _state(draft) == PolicyState.DRAFT
    r = api_client.as_user(org.admin).post(url, {"active_from": day})
    assert r.status_code == 200 and r.json()["state"] == "scheduled" and r.json()["active_from"] == day
    assert api_client.as_user(org.admin).post(url, {"active_from": day}).status_code == 409
    r = api_client.as_user(org.executive).post(f"/grading/policies/{draft.pk}/unschedule", {})
    assert r.status_code == 200 and r.json()["state"] == "draft"


def test_policy_page_schedules_shows_and_cancels(org, client):
    draft = make(org)
    client.force_login(org.admin)
    page = client.get(f"/grading/policies/{draft.pk}/").content.decode()
    assert 'data-testid="policy-schedule-form"' in page
    bad = client.post(f"/grading/policies/{draft.pk}/schedule/", {"active_from": timezone.localdate().isoformat()})
    assert bad.status_code == 422 and 'data-testid="policy-schedule-form"' in bad.content.decode()
    day = timezone.localdate() + dt.timedelta(days=3)
    r = client.post(f"/grading/policies/{draft.pk}/schedule/", {"active_from": day.isoformat()})
    assert r.status_code == 302 and _state(draft) == PolicyState.SCHEDULED
    page = client.get(f"/grading/policies/{draft.pk}/").content.decode()
    assert 'data-testid="policy-scheduled"' in page and day.isoformat() in page
    assert client.post(f"/grading/policies/{draft.pk}/unschedule/").status_code == 302
    assert _state(draft) == PolicyState.DRAFT
    client.force_login(org.manager)
    assert client.post(f"/grading/policies/{draft.pk}/schedule/", {"active_from": day.isoformat()}).status_code == 403
    client.logout()
    assert client.post(f"/grading/policies/{draft.pk}/schedule/", {"active_from": day.isoformat()}).status_code == 302
    assert _state(draft) == PolicyState.DRAFT


def test_the_worker_task_activates_and_runs_what_is_due(org, in_force, monkeypatch):
    from kehu.grading import tasks

    v2 = make(org)
    activation.policy_schedule(actor=org.admin, policy_id=v2.pk, active_from=timezone.localdate() + dt.timedelta(days=1))
    GradingPolicy.objects.filter(pk=v2.pk).update(active_from=timezone.localdate())  # the day has come
    started = []
    monkeypatch.setattr(tasks, "grading_run_task", lambda run_id: started.append(run_id))
    ran = tasks.grading_activate_scheduled.call_local()
    assert ran == started == list(GradingRun.objects.filter(policy=v2).values_list("pk", flat=True))
    assert _state(v2) == PolicyState.ACTIVE
