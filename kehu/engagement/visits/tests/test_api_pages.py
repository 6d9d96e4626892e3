"""/api/v1/visits/… and the pages: anonymous 401 (pages: to the login), a role without the permission 403,
a record outside the scope 404, in the API and the page alike; the error format; executive mutual visits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.engagement.visits import services
from kehu.engagement.visits.models import ExecutiveVisit, ScheduledVisit
from kehu.engagement.visits.tests.conftest import START, YEAR, report_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org, book, plan):
    visit = ScheduledVisit.objects.filter(plan=plan, customer=book["huaxing"]).order_by("planned_on").first()
    report = services.report_file(actor=org.rep, visit_id=visit.pk, data=report_data(
        suggestions=[{"topic": "delivery", "text": "希望缩短交货期"}]))
    execv = services.executive_create(actor=org.manager, data={
        "customer": book["huaxing"].pk, "purpose": "年度战略合作会谈", "starts_at": "2026-11-20T09:30:00+08:00",
        "place": "杭州总部会议室", "our_participants": [org.executive.pk, org.manager.pk],
        "customer_participants": [book["huaxing_contact"].pk]})
    other = ScheduledVisit.objects.filter(plan=plan).exclude(pk=visit.pk).first()
    return {"plan": plan, "visit": other, "report": report, "suggestion": report.suggestions.get(), "exec": execv}


def _paths(w):
    return {
        "/visits/plans": None, f"/visits/plans/{w['plan'].pk}": "rec", "/visits/scheduled": None,
        f"/visits/scheduled/{w['visit'].pk}": "rec", "/visits/completion": None, "/visits/scales": None,
        "/visits/reports": None, f"/visits/reports/{w['report'].pk}": "rec", "/visits/suggestions": None,
        f"/visits/suggestions/{w['suggestion'].pk}": "rec", "/visits/executive": None,
        f"/visits/executive/{w['exec'].pk}": "rec",
    }


def test_api_reads_anonymous_401_no_permission_403_outside_scope_404(org, world, api_client, client):
    for path, kind in _paths(world).items():
        assert client.get("/api/v1" + path).status_code == 401, path
        assert api_client.as_user(org.finance).get(path).status_code == 403, path
        assert api_client.as_user(org.rep).get(path).status_code == 200, path
        assert api_client.as_user(org.manager).get(path).status_code == 200, path
        if kind == "rec":
            assert api_client.as_user(org.north_rep).get(path).status_code == 404, path
            assert api_client.as_user(org.north_manager).get(path).status_code == 404, path


def test_pages_follow_the_same_permissions(org, world, client):
    w = world
    pages = [reverse("visits:plans"), reverse("visits:plan", args=[w["plan"].pk]),
             reverse("visits:visit", args=[w["visit"].pk]), reverse("visits:report_new", args=[w["visit"].pk]),
             reverse("visits:overdue"), reverse("visits:completion"), reverse("visits:reports"),
             reverse("visits:report", args=[w["report"].pk]), reverse("visits:report_print", args=[w["report"].pk]),
             reverse("visits:suggestions"), reverse("visits:suggestion", args=[w["suggestion"].pk]),
             reverse("visits:executive_list"), reverse("visits:executive", args=[w["exec"].pk])]
    for url in pages:
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r["Location"], url
    client.force_login(org.finance)
    for url in pages:
        assert client.get(url).status_code == 403, url
    client.force_login(org.rep)
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("visits:executive_new")).status_code == 403
    client.force_login(org.north_manager)
    for key, name in (("plan", "visits:plan"), ("visit", "visits:visit"), ("report", "visits:report"),
                      ("report", "visits:report_print"), ("suggestion", "visits:suggestion"),
                      ("exec", "visits:executive")):
        assert client.get(reverse(name, args=[w[key].pk])).status_code == 404, name


def test_api_writes_generate_submit_approve_and_errors(org, book, api_client):
    rep = api_client.as_user(org.rep)
    r = rep.post("/visits/plans/generate", {"year": YEAR, "start": START.isoformat()})
    assert r.status_code == 201, r.json()
    plan = r.json()
    assert plan["state"] == "draft" and [e["action"] for e in plan["events"]] == ["generate", "create"]
    r = rep.post("/visits/plans/generate", {"year": 1900})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid" and "year" in r.json()["error"]["fields"]
    assert rep.post(f"/visits/plans/{plan['id']}/submit").status_code == 200
    assert rep.post(f"/visits/plans/{plan['id']}/approve", {"note": ""}).status_code == 403
    assert api_client.as_user(org.north_manager).post(f"/visits/plans/{plan['id']}/approve", {}).status_code == 404
    r = api_client.as_user(org.manager).post(f"/visits/plans/{plan['id']}/approve", {"note": "同意"})
    assert r.status_code == 200 and r.json()["state"] == "approved" and r.json()["approved_by"] == "李经理"
    r = api_client.as_user(org.manager).post(f"/visits/plans/{plan['id']}/approve", {})
    assert r.status_code == 409
    visits = rep.get("/visits/scheduled", {"plan": plan["id"], "limit": 200}).json()["items"]
    assert len(visits) == 20 and all(v["state"] == "scheduled" for v in visits)
    r = rep.post(f"/visits/scheduled/{visits[0]['id']}/cancel", {"reason": ""})
    assert r.status_code == 422
    r = rep.post(f"/visits/scheduled/{visits[0]['id']}/report", {"quality": "优良", "service": "良好",
                                                                 "reputation": "知名", "signatory_name": "王建国",
                                                                 "visited_on": "2026-01-05"})
    assert r.status_code == 201, r.json()
    # (90 + 85 + 70) / 3
    assert r.json()["score"] == "81.7" and r.json()["quality"] == {"id": r.json()["quality"]["id"], "label": "优良",
                                                                   "points": 90}
    overdue = rep.get("/visits/scheduled", {"overdue": "true", "limit": 200}).json()["items"]
    assert overdue and all(v["overdue"] for v in overdue)
    c = rep.get("/visits/completion", {"year": YEAR}).json()
    assert c["total"]["done"] == 1 and c["rows"][0]["name"] == "张伟"
    assert rep.get("/visits/completion", {"by": "nonsense"}).status_code == 422
    scales = rep.get("/visits/scales").json()
    assert [c["points"] for c in scales["service"]] == [100, 90, 85, 80, 30, 0]


def test_executive_visits_planned_by_leaders_outcome_recorded(org, book, api_client):
    payload = {"customer": book["huaxing"].pk, "purpose": "高层互访：年度合作回顾", "starts_at": "2026-12-18T14:00:00+08:00",
               "place": "浙江华星石化有限公司 会议室", "our_participants": [org.executive.pk],
               "customer_participants": [book["huaxing_contact"].pk], "direction": "outbound"}
    assert api_client.as_user(org.rep).post("/visits/executive", payload).status_code == 403
    assert api_client.as_user(org.north_manager).post("/visits/executive", payload).status_code == 422
    r = api_client.as_user(org.manager).post("/visits/executive", {**payload, "our_participants": []})
    assert r.status_code == 422 and "our_participants" in r.json()["error"]["fields"]
    assert not ExecutiveVisit.objects.exists()
    r = api_client.as_user(org.manager).post("/visits/executive", payload)
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["customer_participants"][0]["name"] == "王建国" and body["our_participants"][0]["name"] == "王总"
    r = api_client.as_user(org.manager).patch(f"/visits/executive/{body['id']}", {"place": "杭州总部"})
    assert r.status_code == 200 and r.json()["place"] == "杭州总部"
    r = api_client.as_user(org.manager).post(f"/visits/executive/{body['id']}/outcome", {"outcome": ""})
    assert r.status_code == 422
    r = api_client.as_user(org.manager).post(f"/visits/executive/{body['id']}/outcome",
                                             {"outcome": "双方确认明年供货量增加20%，建立季度高层沟通机制"})
    assert r.status_code == 200 and r.json()["state"] == "done"
    assert api_client.as_user(org.rep).get(f"/visits/executive/{body['id']}").status_code == 200
    assert api_client.as_user(org.rep2).get(f"/visits/executive/{body['id']}").status_code == 404


def test_report_form_page_files_and_print_page_shows_every_field(org, book, plan, client):
    visit = ScheduledVisit.objects.filter(plan=plan, customer=book["huaxing"]).order_by("planned_on").first()
    client.force_login(org.rep)
    from kehu.engagement.visits.tests.conftest import scale_ids

    ids = scale_ids()
    bad = client.post(reverse("visits:report_new", args=[visit.pk]), {"quality": ids[("quality", "优良")]})
    assert bad.status_code == 422 and b'data-testid="form-errors"' in bad.content
    r = client.post(reverse("visits:report_new", args=[visit.pk]), {
        "customer_name": "浙江华星石化有限公司", "customer_address": "杭州市滨江区江南大道88号", "legal_representative": "王建国",
        "visited_on": "2026-03-02", "signed_on": "2026-03-02", "quality": ids[("quality", "良好")],
        "service": ids[("service", "一般")], "reputation": ids[("reputation", "驰名")],
        "product_info": "PE管材料使用稳定", "market_info": "竞品降价5%", "needs": "缩短交货期", "other_suggestions": "增加技术培训",
        "principal_name": "王建国", "principal_title": "总经理", "principal_phone": "0571-88886666",
        "principal_mobile": "13900001111", "handler_name": "李采购", "handler_title": "采购经理",
        "handler_phone": "0571-88886667", "handler_mobile": "13900002222", "signatory_name": "王建国",
        "s0_topic": "delivery", "s0_text": "希望交货期缩短到7天", "s1_text": "", "s2_text": ""})
    assert r.status_code == 302, r.content.decode()[:2000]
    report = visit.__class__.objects.get(pk=visit.pk).report
    body = client.get(reverse("visits:report_print", args=[report.pk])).content.decode()
    for text in ("浙江华星石化有限公司", "杭州市滨江区江南大道88号", "王建国", "2026-03-02", "☑ 良好", "☑ 一般", "☑ 驰名",
                 "85.0", "PE管材料使用稳定", "竞品降价5%", "缩短交货期", "增加技术培训", "总经理", "0571-88886666",
                 "13900001111", "李采购", "采购经理", "0571-88886667", "13900002222", "希望交货期缩短到7天",
                 "visits/report.css", "不合格", "恶劣", "不知道"):
        assert text in body, text
    assert report.score == 85  # (85 + 80 + 90) / 3
