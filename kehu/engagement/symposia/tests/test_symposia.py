"""Symposia (客户座谈会, 004 第十三条): plan with the policy's topics, invite by segment in the planner's
scope, answers, attendance, minutes, follow-up items to closure; the yearly at-least-one rule on the
workbench; permissions and scope in the API and the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import contact, org_customer
from kehu.engagement.symposia import selectors, services
from kehu.engagement.symposia.models import FollowUpItem, Invitation, Symposium
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.workbench.registry import todo_providers

PLAN = {"title": "2026年度重点客户座谈会", "starts_at": "2027-03-20T09:30", "ends_at": "2027-03-20T16:00",
        "place": "杭州总部三楼会议室", "topics": ["market", "quality", "service", "needs"]}


@pytest.fixture
def book(org):
    hz = org_customer(org.rep, "浙江华星石化有限公司", serial=1, industry="石化", province="浙江省")
    contact(org.rep, hz, "王强", role="decision_maker")
    sh = org_customer(org.rep2, "上海东方塑料有限公司", serial=2, industry="塑料", province="上海市")
    bj = org_customer(org.north_rep, "北京燕山机械有限公司", serial=3, industry="机械", province="北京市")
    return {"hz": hz, "sh": sh, "bj": bj}


def _past(symposium, days=3):
    Symposium.objects.filter(pk=symposium.pk).update(starts_at=timezone.now() - dt.timedelta(days=days), ends_at=None)


def test_symposium_flow_plan_invite_answer_attend_minutes_items_close(org, book):
    """第十三条: plan, invitations, attendance, minutes (归档), follow-up items with owners to closure."""
    s = services.symposium_create(actor=org.manager, data=PLAN)
    assert s.topics == ["market", "quality", "service", "needs"] and s.department_id == org.manager.department_id
    added = services.symposium_invite(actor=org.manager, symposium_id=s.pk, segment={"provinces": ["浙江省", "上海市", "北京市"]})
    # the manager's scope is 华东区: the Beijing customer of 华北区 is not invited
    assert added == 2
    assert set(s.invitations.values_list("customer_id", flat=True)) == {book["hz"].pk, book["sh"].pk}
    inv = s.invitations.get(customer=book["hz"])
    assert inv.contact.name == "王强"  # the decision maker is the invitee
    # the rep records the customer's answer for their own customer
    services.invitation_answer(actor=org.rep, invitation_id=inv.pk, state="accepted")
    with pytest.raises(NotFound):
        services.invitation_answer(actor=org.rep, invitation_id=s.invitations.get(customer=book["sh"]).pk, state="accepted")
    with pytest.raises(Conflict):
        services.symposium_hold(actor=org.manager, symposium_id=s.pk, attended=[inv.pk])  # not started yet
    _past(s)
    services.symposium_hold(actor=org.manager, symposium_id=s.pk, attended=[inv.pk])
    assert set(Invitation.objects.filter(symposium=s).values_list("attended", flat=True)) == {True, False}
    with pytest.raises(Conflict):
        services.symposium_close(actor=org.manager, symposium_id=s.pk)  # minutes first
    services.symposium_minutes(actor=org.manager, symposium_id=s.pk, minutes="客户反映交货周期偏长，希望增加华东仓储。")
    item = services.item_create(actor=org.manager, symposium_id=s.pk, data={
        "title": "研究华东前置仓方案", "owner": org.rep.pk, "due_date": "2027-04-30", "customer": book["hz"].pk})
    services.symposium_close(actor=org.manager, symposium_id=s.pk)
    s.refresh_from_db()
    assert s.state == "closed"
    # the owner sees it among their to-dos and closes it with what was done
    assert [i.pk for i in selectors.my_open_items(actor=org.rep)] == [item.pk]
    with pytest.raises(Invalid):
        services.item_close(actor=org.rep, item_id=item.pk, state="done", resolution="")
    services.item_close(actor=org.rep, item_id=item.pk, state="done", resolution="已在嘉兴租用前置仓")
    assert FollowUpItem.objects.get(pk=item.pk).state == "done"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"symposium.create", "symposium.invite", "symposium.hold", "symposium.minutes", "symposium.close",
            "symposium.item.create", "symposium.item.close", "symposium.invitation.answer"} <= actions


def test_plan_needs_topics_from_the_policy_and_nothing_is_written_on_bad_input(org):
    before = (Symposium.objects.count(), AuditEntry.objects.count())
    for bad in ({**PLAN, "topics": []}, {**PLAN, "topics": ["gossip"]}, {**PLAN, "starts_at": "明天"},
                {**PLAN, "title": ""}, {**PLAN, "ends_at": "2027-03-19T09:00"}):
        with pytest.raises(Invalid):
            services.symposium_create(actor=org.admin, data=bad)
    assert (Symposium.objects.count(), AuditEntry.objects.count()) == before


def test_only_planners_plan_symposia(org):
    for user in (org.rep, org.agent, org.finance, org.analyst, org.auditor):
        with pytest.raises(Forbidden):
            services.symposium_create(actor=user, data=PLAN)


def _warning(user):
    provider = next(p for p in todo_providers() if p.key == "symposium_yearly")
    return provider.fn(user, today=timezone.localdate(), now=timezone.now(), limit=10)


def test_yearly_rule_warns_when_no_symposium_with_minutes_was_held_in_12_months(org, book):
    """一般每年进行至少一次客户座谈会: a planned one or one without minutes does not count."""
    assert _warning(org.manager) and _warning(org.admin)
    assert _warning(org.rep) == []  # not a planner: no warning
    s = services.symposium_create(actor=org.manager, data=PLAN)
    services.symposium_invite(actor=org.manager, symposium_id=s.pk, customers=[book["hz"].pk])
    _past(s)
    services.symposium_hold(actor=org.manager, symposium_id=s.pk, attended=[])
    assert _warning(org.manager), "held without minutes does not count"
    services.symposium_minutes(actor=org.manager, symposium_id=s.pk, minutes="纪要")
    assert _warning(org.manager) == [] and _warning(org.admin) == []
    assert _warning(org.north_manager), "华北区 held none"
    # more than a year ago: it no longer counts
    Symposium.objects.filter(pk=s.pk).update(starts_at=timezone.now() - dt.timedelta(days=400))
    assert _warning(org.manager)


def test_yearly_rule_is_configurable(org, book, settings):
    settings.KEHU_SYMPOSIA = {"min_held": 0}
    assert _warning(org.manager) == []
    settings.KEHU_SYMPOSIA = {"min_held": 1, "require_minutes": False, "period_days": 30}
    s = services.symposium_create(actor=org.manager, data=PLAN)
    _past(s, days=10)
    services.symposium_hold(actor=org.manager, symposium_id=s.pk, attended=[])
    assert _warning(org.manager) == []


def test_api_permissions_and_scope(org, book, api_client):
    r = api_client.as_user(None).get("/symposia")
    assert r.status_code == 401
    r = api_client.as_user(org.rep).post("/symposia", PLAN)
    assert r.status_code == 403
    r = api_client.as_user(org.manager).post("/symposia", PLAN)
    assert r.status_code == 201, r.content
    sid = r.json()["id"]
    assert api_client.as_user(org.manager).post(f"/symposia/{sid}/invitations", {"customers": [book["bj"].pk]}).status_code == 422
    assert api_client.as_user(org.manager).post(f"/symposia/{sid}/invitations",
                                                {"segment": {"industries": ["石化"]}}).json() == {"added": 1}
    # the rep whose customer is invited sees the symposium and only their own invitation; 华北区 sees nothing
    assert api_client.as_user(org.rep).get(f"/symposia/{sid}").status_code == 200
    assert [i["customer"] for i in api_client.as_user(org.rep).get(f"/symposia/{sid}/invitations").json()] == [book["hz"].pk]
    assert api_client.as_user(org.rep2).get(f"/symposia/{sid}").status_code == 404
    assert api_client.as_user(org.north_manager).get(f"/symposia/{sid}").status_code == 404
    assert api_client.as_user(org.north_manager).patch(f"/symposia/{sid}", {"place": "北京"}).status_code == 404
    assert api_client.as_user(org.rep).patch(f"/symposia/{sid}", {"place": "北京"}).status_code == 403
    assert api_client.as_user(org.manager).get("/symposia/check").json()["ok"] is False
    assert api_client.as_user(org.rep).get("/symposia/check").status_code == 403
    assert api_client.as_user(org.manager).get("/symposia/segment-preview", {"industries": "石化"}).json()["count"] == 1
    assert api_client.as_user(org.rep).get("/symposia/segment-preview").status_code == 403


def test_pages_permissions_scope_csv_and_print(org, book, client, django_assert_max_num_queries):
    s = services.symposium_create(actor=org.manager, data=PLAN)
    services.symposium_invite(actor=org.manager, symposium_id=s.pk, customers=[book["hz"].pk, book["sh"].pk])
    assert client.get(reverse("symposia:list")).status_code == 302  # anonymous → login
    client.force_login(org.rep)
    assert client.get(reverse("symposia:new")).status_code == 403
    r = client.get(reverse("symposia:detail", args=[s.pk]))
    assert r.status_code == 200 and "上海东方塑料有限公司" not in r.content.decode()
    client.force_login(org.north_rep)
    assert client.get(reverse("symposia:detail", args=[s.pk])).status_code == 404
    assert client.get(reverse("symposia:invitees_csv", args=[s.pk])).status_code == 404
    client.force_login(org.manager)
    with django_assert_max_num_queries(30):
        r = client.get(reverse("symposia:detail", args=[s.pk]))
    assert r.status_code == 200 and 'data-testid="invite-form"' in r.content.decode()
    csv = client.get(reverse("symposia:invitees_csv", args=[s.pk]))
    assert csv["Content-Type"].startswith("text/csv") and "浙江华星石化有限公司" in csv.content.decode("utf-8-sig")
    assert "上海东方塑料有限公司" in client.get(reverse("symposia:print", args=[s.pk])).content.decode()
    r = client.post(reverse("symposia:new"), {**PLAN, "topics": ["market", "needs"]})
    assert r.status_code == 302
    r = client.post(reverse("symposia:new"), {**PLAN, "topics": []})
    assert r.status_code == 422 and Symposium.objects.count() == 2
    with django_assert_max_num_queries(20):
        assert client.get(reverse("symposia:list")).status_code == 200
