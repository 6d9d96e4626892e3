"""Runs on demand and in the worker (issue 11: "runs quarterly / half-yearly (configurable) in the worker and
on demand; every run is recorded"): "Regrade now" through the API and the page (GRADING_MANAGE only, 202 and a
recorded run that the worker executes), and the worker's periodic task starting the due runs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.grading.models import CustomerGrade, GradingRun, RunStatus
from kehu.grading.tests.test_runs import AS_OF, active_policy, book  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_regrade_now_through_the_api_is_recorded_and_executed(org, book, api_client,  # noqa: F811
                                                               django_capture_on_commit_callbacks):
    policy = active_policy(org, one_level_per_review=False)
    url = f"/grading/policies/{policy.pk}/runs"
    assert api_client.as_user(org.manager).post(url, {"as_of": AS_OF.isoformat()}).status_code == 403
    assert api_client.as_user(org.admin).post(url, {"as_of": "1999-12-31"}).status_code == 422
    assert not GradingRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.as_user(org.executive).post(url, {"as_of": AS_OF.isoformat()})
    assert r.status_code == 202 and r.json()["trigger"] == "manual"
    run = GradingRun.objects.get()
    assert (run.status, run.customers, run.actor_id) == (RunStatus.DONE, 3, org.executive.pk)
    assert CustomerGrade.objects.filter(run=run).count() == 3


def test_regrade_now_on_the_policy_page(org, book, client, django_capture_on_commit_callbacks):  # noqa: F811
    policy = active_policy(org, one_level_per_review=False)
    client.force_login(org.manager)
    assert client.post(reverse("grading:policy_run", args=[policy.pk]), {"as_of": AS_OF.isoformat()}).status_code \
        == 403
    client.force_login(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("grading:policy_run", args=[policy.pk]), {"as_of": AS_OF.isoformat()})
    assert r.status_code == 302 and GradingRun.objects.get().status == RunStatus.DONE
    page = client.get(reverse("grading:policy_detail", args=[policy.pk])).content.decode()
    assert 'data-testid="run-changed">3<' in page


def test_the_worker_starts_the_due_review_and_queues_it(org, book, monkeypatch):  # noqa: F811
    import datetime as dt

    from kehu.grading import services, tasks

    active_policy(org)
    queued = []
    monkeypatch.setattr(tasks, "grading_run_task", lambda run_id: queued.append(run_id))
    monkeypatch.setattr(services.timezone, "localdate", lambda: dt.date(2026, 7, 1))
    started = tasks.grading_schedule.call_local()
    assert started == queued == list(GradingRun.objects.values_list("pk", flat=True))
    assert GradingRun.objects.get().trigger == "schedule"
