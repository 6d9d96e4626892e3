"""The approval pages: inbox with htmx decisions, the request's history, delegations, the nav count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.approvals.models import Delegation, RequestStatus
from kehu.approvals.services import approval_request


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)


@pytest.fixture
def req(org, huaxing):
    return approval_request(actor=org.rep, chain_code="complaint.solution.general", target=huaxing,
                            title="投诉处理方案：换货并补偿运费")


def test_inbox_lists_my_pending_tasks_and_the_nav_shows_the_count(client, org, req):
    login(client, org, org.manager)
    r = client.get(reverse("approvals:inbox"))
    body = r.content.decode()
    assert r.status_code == 200
    assert "投诉处理方案：换货并补偿运费" in body and 'data-testid="approval-task"' in body
    assert reverse("approvals:inbox") in body and "审批" in body  # the nav item, in Chinese
    assert reverse("approvals:badges") in body
    badges = client.get(reverse("approvals:badges")).content.decode()
    assert 'data-testid="nav-approvals-count"' in badges and ">1<" in badges


def test_header_counts_cost_the_page_no_query(client, org, req, django_assert_max_num_queries):
    """The counts come in their own small request, so every page keeps its query budget."""
    login(client, org, org.manager)
    client.get(reverse("approvals:inbox"))
    with django_assert_max_num_queries(7):  # session, user, the two counts, session save (3)
        assert client.get(reverse("approvals:badges")).status_code == 200


def test_approve_from_the_inbox_with_htmx_replaces_the_row(client, org, req):
    login(client, org, org.manager)
    r = client.post(reverse("approvals:decide", args=[req.pk]),
                    {"prefix": f"t{req.tasks.get().pk}", f"t{req.tasks.get().pk}-decision": "approve",
                     f"t{req.tasks.get().pk}-comment": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-testid="task-done"' in r.content.decode()
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED


def test_reject_without_comment_in_the_inbox_shows_the_error_in_the_row(client, org, req):
    login(client, org, org.manager)
    pk = req.tasks.get().pk
    r = client.post(reverse("approvals:decide", args=[req.pk]),
                    {"prefix": f"t{pk}", f"t{pk}-decision": "reject", f"t{pk}-comment": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422
    assert 'id="task-' in r.content.decode() and "驳回" in r.content.decode()
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


def test_request_page_shows_the_history_timeline_and_decide_form(client, org, req):
    login(client, org, org.manager)
    r = client.post(reverse("approvals:decide", args=[req.pk]), {"decision": "return", "comment": "请补充运费单据"})
    assert r.status_code == 302
    login(client, org, org.rep)
    r = client.get(reverse("approvals:request", args=[req.pk]))
    body = r.content.decode()
    assert r.status_code == 200 and 'data-testid="approval-history"' in body
    assert "请补充运费单据" in body and 'data-testid="resubmit-form"' in body
    r = client.post(reverse("approvals:resubmit", args=[req.pk]), {"comment": "已补充"})
    assert r.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and req.round == 2


def test_request_page_of_someone_else_is_404(client, org, req):
    login(client, org, org.north_manager)
    assert client.get(reverse("approvals:request", args=[req.pk])).status_code == 404
    assert client.post(reverse("approvals:decide", args=[req.pk]), {"decision": "approve"}).status_code == 404


def test_anonymous_visitors_are_sent_to_login(client, req):
    r = client.get(reverse("approvals:inbox"))
    assert r.status_code == 302 and reverse("access:login") in r["Location"]


def test_set_and_end_a_delegation_on_the_page(client, org):
    login(client, org, org.manager)
    until = timezone.localtime(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(reverse("approvals:delegations"), {"delegate": org.executive.pk, "ends_at": until,
                                                       "reason": "出差"})
    assert r.status_code == 302
    item = Delegation.objects.get()
    assert item.delegate == org.executive
    assert "出差" in client.get(reverse("approvals:delegations")).content.decode()
    r = client.post(reverse("approvals:delegation_end", args=[item.pk]))
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.ends_at <= timezone.now()


def test_delegation_in_the_past_is_refused_on_the_form(client, org):
    login(client, org, org.manager)
    past = timezone.localtime(timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(reverse("approvals:delegations"), {"delegate": org.executive.pk, "ends_at": past})
    assert r.status_code == 422 and not Delegation.objects.exists()
