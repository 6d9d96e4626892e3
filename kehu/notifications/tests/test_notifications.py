"""In-app notifications: written only when the write that causes them commits; each user reads and
marks only their own."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.approvals.services import approval_decide, approval_request
from kehu.notifications.models import Notification
from kehu.notifications.services import notify


@pytest.fixture
def huaxing(org):
    from kehu.customers import services

    return services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})


def test_assignee_is_notified_when_the_request_commits(org, huaxing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        req = approval_request(actor=org.rep, chain_code="complaint.solution.general", target=huaxing,
                               title="投诉处理方案")
    note = Notification.objects.get(user=org.manager)
    assert "投诉处理方案" in note.title and note.link == reverse("approvals:request", args=[req.pk])


def test_requester_is_notified_of_the_decision(org, huaxing, django_capture_on_commit_callbacks):
    req = approval_request(actor=org.rep, chain_code="complaint.solution.general", target=huaxing, title="投诉处理方案")
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(actor=org.manager, request_id=req.pk, decision="reject", comment="赔偿过高")
    assert Notification.objects.filter(user=org.rep).count() == 1


def test_nothing_is_notified_before_commit_or_when_rolled_back(org, huaxing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approval_request(actor=org.rep, chain_code="complaint.solution.general", target=huaxing, title="投诉处理方案")
    assert callbacks and not Notification.objects.exists()


def test_notifications_api_lists_my_unread_and_marks_read(api_client, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=org.rep, title="审批通过：开户", link="/approvals/")
        notify(user=org.rep2, title="别人的通知")
    r = api_client.as_user(org.rep).get("/notifications")
    assert r.status_code == 200 and r.json()["unread"] == 1
    [item] = r.json()["items"]
    assert item["title"] == "审批通过：开户"
    assert api_client.as_user(org.rep2).post(f"/notifications/{item['id']}/read").status_code == 404
    r = api_client.as_user(org.rep).post(f"/notifications/{item['id']}/read")
    assert r.status_code == 200 and r.json()["read_at"]
    assert api_client.get("/notifications").json()["unread"] == 0
    assert len(api_client.get("/notifications", {"unread": "false"}).json()["items"]) == 1


def test_notifications_api_refuses_anonymous_with_401(api_client, org):
    assert api_client.as_user(None).get("/notifications").status_code == 401
    assert api_client.post("/notifications/1/read").status_code == 401


def test_the_bell_shows_the_unread_count(client, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=org.rep, title="审批通过：开户", link="/approvals/")
    assert client.login(username="rep", password=org.password)
    assert 'data-testid="notification-bell"' in client.get(reverse("customers:list")).content.decode()
    badges = client.get(reverse("approvals:badges")).content.decode()
    assert 'data-testid="notification-count">1<' in badges
    page = client.get(reverse("notifications:list")).content.decode()
    assert "审批通过：开户" in page
    note = Notification.objects.get()
    r = client.post(reverse("notifications:read", args=[note.pk]), {"follow": "1"})
    assert r.status_code == 302 and r["Location"] == "/approvals/"
    note.refresh_from_db()
    assert note.read_at is not None
