"""The follow-up API and pages: 401 / 403 / 404 for every endpoint, replay answers 200 with the first row,
filters and cursor pagination, bounded queries, private attachments, the 360 thread and summary card, the
PWA files and the demo."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import pytest
from django.utils import timezone

from kehu.customers.tests.factories import contact, org_customer
from kehu.engagement import services
from kehu.engagement.models import Interaction, InteractionAttachment

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64


@pytest.fixture
def var(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def world(org):
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    yanshan = org_customer(org.north_rep, "北京燕山机械有限公司", serial=3)
    it, _ = services.interaction_create(actor=org.rep, data={
        "customer": hx.pk, "channel": "phone", "summary": "电话沟通提货计划", "next_step": "发送排期表",
        "next_step_due": str(timezone.localdate() - dt.timedelta(days=2))})
    return hx, yanshan, it


def body(customer, **extra):
    return {"customer": customer.pk, "channel": "wechat", "summary": "微信发送最新报价单", **extra}


# ---------------------------------------------------------------- API permissions

def test_api_anonymous_gets_401_everywhere(api_client, world):
    hx, _, it = world
    api_client.as_user(None)
    for method, path in (("get", "/engagement/interactions"), ("get", f"/engagement/interactions/{it.pk}"),
                         ("post", "/engagement/interactions"), ("patch", f"/engagement/interactions/{it.pk}"),
                         ("post", f"/engagement/interactions/{it.pk}/next-step/done")):
        r = getattr(api_client, method)(path, body(hx)) if method != "get" else api_client.get(path)
        assert r.status_code == 401, (method, path)
    assert Interaction.objects.count() == 1


def test_api_outside_scope_is_404_and_without_permission_403(api_client, org, world):
    hx, yanshan, it = world
    api_client.as_user(org.north_rep)
    assert api_client.get(f"/engagement/interactions/{it.pk}").status_code == 404
    assert api_client.patch(f"/engagement/interactions/{it.pk}", {"summary": "x"}).status_code == 404
    assert api_client.post(f"/engagement/interactions/{it.pk}/next-step/done", {}).status_code == 404
    assert api_client.post("/engagement/interactions", body(hx)).status_code == 404
    api_client.as_user(org.finance)  # reads in scope, may not write
    assert api_client.get(f"/engagement/interactions/{it.pk}").status_code == 200
    r = api_client.post("/engagement/interactions", body(hx))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert api_client.patch(f"/engagement/interactions/{it.pk}", {"summary": "x"}).status_code == 403
    assert api_client.post(f"/engagement/interactions/{it.pk}/next-step/done", {}).status_code == 403
    assert Interaction.objects.count() == 1


def test_api_create_then_replay_answers_200_with_the_same_row(api_client, org, world):
    hx, _, _ = world
    api_client.as_user(org.rep)
    key = str(uuid.uuid4())
    first = api_client.post("/engagement/interactions", body(hx, client_key=key))
    assert first.status_code == 201 and first.json()["replayed"] is False
    again = api_client.post("/engagement/interactions", body(hx, client_key=key))
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["id"] == first.json()["id"]
    assert Interaction.objects.filter(client_key=key).count() == 1


def test_api_bad_input_is_422_and_nothing_written(api_client, org, world):
    hx, _, _ = world
    api_client.as_user(org.rep)
    for bad in ({"channel": "pigeon"}, {"summary": "  "}, {"occurred_at": "2099-01-01T00:00:00+08:00"},
                {"next_step_due": "2026-13-45", "next_step": "x"}, {"latitude": "91", "longitude": "10"},
                {"latitude": "30.1"}, {"client_key": "not-a-uuid"}):
        r = api_client.post("/engagement/interactions", body(hx, **bad))
        assert r.status_code in (400, 422), (bad, r.status_code, r.content)
        assert set(r.json()["error"]) == {"code", "message", "fields"}
    assert Interaction.objects.count() == 1


def test_api_list_filters_overdue_and_paginates(api_client, org, world):
    hx, _, it = world
    for i in range(4):
        services.interaction_create(actor=org.rep, data=body(hx, occurred_at=(timezone.now() - dt.timedelta(days=i + 1))
                                                            .isoformat()))
    api_client.as_user(org.rep)
    r = api_client.get("/engagement/interactions", {"overdue": "true"})
    assert [row["id"] for row in r.json()["items"]] == [it.pk] and r.json()["items"][0]["overdue"]
    r = api_client.get("/engagement/interactions", {"channel": "wechat", "limit": 3})
    page1 = r.json()
    assert len(page1["items"]) == 3 and page1["next"]
    page2 = api_client.get("/engagement/interactions", {"channel": "wechat", "limit": 3, "cursor": page1["next"]}).json()
    ids = [row["id"] for row in page1["items"] + page2["items"]]
    assert len(ids) == len(set(ids)) == 4
    api_client.as_user(org.rep2)
    assert api_client.get("/engagement/interactions").json()["items"] == []
    api_client.as_user(org.manager)
    assert len(api_client.get("/engagement/interactions", {"customer": hx.pk}).json()["items"]) == 5


def test_api_list_query_count_is_bounded(api_client, org, world, django_assert_max_num_queries):
    hx, _, _ = world
    for _i in range(15):
        services.interaction_create(actor=org.rep, data=body(hx))
    api_client.as_user(org.manager)
    with django_assert_max_num_queries(6):
        r = api_client.get("/engagement/interactions", {"limit": 50})
    assert len(r.json()["items"]) == 16


def test_api_patch_and_next_step_done(api_client, org, world):
    _, _, it = world
    api_client.as_user(org.rep)
    r = api_client.patch(f"/engagement/interactions/{it.pk}", {"outcome": "客户同意按周提货"})
    assert r.status_code == 200 and r.json()["outcome"] == "客户同意按周提货"
    r = api_client.post(f"/engagement/interactions/{it.pk}/next-step/done", {})
    assert r.status_code == 200 and r.json()["next_step_done_at"]
    assert api_client.post(f"/engagement/interactions/{it.pk}/next-step/done", {}).status_code == 409


def test_api_attachment_upload_and_private_download(client, api_client, org, world, var):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kehu.access.services import token_create

    _, _, it = world
    token = token_create(actor=org.rep, name="t")[1]
    url = f"/api/v1/engagement/interactions/{it.pk}/attachments"
    r = client.post(url, {"file": SimpleUploadedFile("现场.jpg", JPEG)}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 201, r.content
    att = r.json()
    r = client.post(url, {"file": SimpleUploadedFile("evil.jpg", b"<svg onload=alert(1)>")},
                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "file_type"
    r = client.get(att["url"], HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg" and r["X-Content-Type-Options"] == "nosniff"
    assert b"".join(r.streaming_content) == JPEG
    other = token_create(actor=org.north_rep, name="t")[1]
    assert client.get(att["url"], HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    assert client.get(att["url"]).status_code == 401
    finance = token_create(actor=org.finance, name="t")[1]
    r = client.post(url, {"file": SimpleUploadedFile("a.jpg", JPEG)}, HTTP_AUTHORIZATION=f"Bearer {finance}")
    assert r.status_code == 403
    assert InteractionAttachment.objects.count() == 1
    # never under the static files
    assert "static" not in str(services.attachment_path(InteractionAttachment.objects.get()))


# ---------------------------------------------------------------- pages

def test_pages_anonymous_redirected_to_login(client, world):
    _, _, it = world
    for url in ("/followups/", "/followups/new/", f"/followups/{it.pk}/", "/followups/team-overdue/"):
        r = client.get(url)
        assert r.status_code == 302 and "/login/" in r["Location"], url


def test_pages_scope_and_permission(client, org, world):
    hx, _, it = world
    client.force_login(org.north_rep)
    assert client.get(f"/followups/{it.pk}/").status_code == 404
    assert client.get(f"/followups/{it.pk}/edit/").status_code == 404
    assert client.post(f"/followups/{it.pk}/next-step/done/").status_code == 404
    assert client.post("/followups/new/", {"customer": hx.pk, "channel": "phone", "summary": "x"}).status_code == 400
    client.force_login(org.finance)
    assert client.get(f"/followups/{it.pk}/").status_code == 200
    assert client.get("/followups/new/").status_code == 403
    assert client.post(f"/followups/{it.pk}/next-step/done/").status_code == 403
    client.force_login(org.rep)
    assert client.get("/followups/team-overdue/").status_code == 403
    assert Interaction.objects.count() == 1


def test_page_quick_entry_with_photo_and_location(client, org, world, var):
    from django.core.files.uploadedfile import SimpleUploadedFile

    hx, _, _ = world
    wang = contact(org.rep, hx, "王经理", title="采购部经理")
    client.force_login(org.rep)
    assert client.get(f"/followups/new/?customer={hx.pk}").status_code == 200
    r = client.post("/followups/new/", {"customer": hx.pk, "channel": "visit", "summary": "拜访采购部王经理",
                                         "direction": "outbound", "contacts": [str(wang.pk)],
                                         "latitude": "30.274084", "longitude": "120.155070",
                                         "location_accuracy_m": "12.5", "client_key": str(uuid.uuid4()),
                                         "photo": SimpleUploadedFile("p.jpg", JPEG)})
    assert r.status_code == 302, r.content.decode()[:2000]
    it = Interaction.objects.get(channel="visit")
    assert it.attachments.count() == 1 and it.location_accuracy_m == 12 and str(it.latitude) == "30.274084"
    assert list(it.contacts.all()) == [wang]
    assert client.get(r["Location"]).status_code == 200


def test_page_list_views_and_team_overdue(client, org, world, django_assert_max_num_queries):
    _, _, it = world
    client.force_login(org.manager)
    with django_assert_max_num_queries(16):
        r = client.get("/followups/?overdue=on")
    assert r.status_code == 200 and "发送排期表" in r.content.decode()
    r = client.get("/followups/team-overdue/")
    assert r.status_code == 200 and f"/followups/{it.pk}/" in r.content.decode()
    client.force_login(org.north_manager)
    assert f"/followups/{it.pk}/" not in client.get("/followups/team-overdue/").content.decode()


def test_customer_search_returns_customers_in_scope_only(client, org, world):
    client.force_login(org.rep)
    text = client.get("/followups/customer-search/", {"q": "燕山"}).content.decode()
    assert "北京燕山机械" not in text
    assert "浙江华星石化" in client.get("/followups/customer-search/", {"q": "华星"}).content.decode()


def test_customer_360_shows_summary_and_the_whole_thread_newest_first(client, org, world):
    from kehu.service_desk.services import complaint_record

    hx, _, it = world
    complaint_record(actor=org.agent, data={"complainant_name": "李先生", "subject": "送货延误",
                                            "description": "货物晚到三天", "channel": "letter", "customer": hx.pk})
    client.force_login(org.manager)
    card = client.get(f"/followups/customers/{hx.pk}/card/").content.decode()
    assert "发送排期表" in card and f"/followups/{it.pk}/" in card
    text = client.get(f"/customers/{hx.pk}/thread/").content.decode()
    assert text.index("送货延误") < text.index("电话沟通提货计划")  # the complaint is newer
    client.force_login(org.north_rep)
    assert client.get(f"/customers/{hx.pk}/thread/").status_code == 404
    assert client.get(f"/followups/customers/{hx.pk}/card/").status_code == 404


def test_thread_pages_with_a_cursor_without_repeats(client, org, world):
    from kehu.customers import views

    hx, _, _ = world
    base = timezone.now() - dt.timedelta(days=30)
    at = base.isoformat()
    for _i in range(25):  # same instant: the tie-break by kind and id keeps pages apart
        services.interaction_create(actor=org.rep, data=body(hx, occurred_at=at))
    from kehu.customers.profile import customer_thread

    seen, cursor = [], None
    while True:
        items, cursor = customer_thread(actor=org.rep, customer_id=hx.pk, before=cursor, limit=views.THREAD_PAGE_SIZE)
        seen += [(i.kind, i.id) for i in items]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 26


def test_manifest_and_service_worker_from_the_site_root(client):
    r = client.get("/manifest.webmanifest")
    data = json.loads(r.content)
    assert r.status_code == 200 and r["Content-Type"] == "application/manifest+json"
    assert data["start_url"] == "/" and {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
    r = client.get("/sw.js")
    assert r.status_code == 200 and r["Service-Worker-Allowed"] == "/"
    assert r["Content-Type"].startswith("application/javascript") and b"/followups/new/" in r.content


def test_workbench_todos_and_figures(org, world):
    from kehu.engagement import workbench

    today, now = timezone.localdate(), timezone.now()
    todos = workbench.followup_todos(org.rep, today=today, now=now, limit=10)
    assert [t.state for t in todos] == ["overdue"]
    assert workbench.followup_todos(org.finance, today=today, now=now, limit=10) == []
    assert workbench.followups_this_month(org.rep, today=today, now=now).value >= 0
    assert workbench.team_overdue(org.manager, today=today, now=now).value == 1
    assert workbench.team_overdue(org.north_manager, today=today, now=now).value == 0
    assert workbench.team_overdue(org.rep, today=today, now=now) is None


def test_calendar_lists_my_open_next_steps(org, world):
    from kehu.engagement.calendar_events import followup_events

    _, _, it = world
    today = timezone.localdate()
    events = followup_events(org.rep, start=today - dt.timedelta(days=7), end=today + dt.timedelta(days=7))
    assert [e.uid for e in events] == [f"interaction-next-{it.pk}@kehu"]
    assert followup_events(org.north_rep, start=today - dt.timedelta(days=7), end=today) == []


def test_demo_writes_a_year_of_follow_ups_with_open_and_overdue_steps(org):
    from kehu.engagement.demo import demo_load
    from kehu.engagement.models import CustomerContactSummary

    for i in range(12):
        org_customer(org.rep if i % 2 else org.north_rep, f"演示客户{i}有限公司", serial=10 + i)
    out = demo_load(users={"admin": org.admin}, rng=random.Random(1))
    assert Interaction.objects.count() > 0 and "overdue" in out
    assert CustomerContactSummary.objects.count() == Interaction.objects.values("customer").distinct().count()
    assert Interaction.objects.filter(next_step_done_at__isnull=True).exclude(next_step="").exists()
    assert demo_load(users={"admin": org.admin}, rng=random.Random(1)).endswith("already there")
