"""/api/v1/allocation: plans and rounds, the error format, scope (a plan of another department's customer is
404), totals only for allocation managers, a confirmed round answering 409."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from kehu.grading.allocation.tests.conftest import LINE, MONTH


def create_round(api_client, org, available="2500"):
    r = api_client.as_user(org.manager).post("/allocation/rounds", {"month": MONTH, "product_line": LINE,
                                                                    "available_t": available})
    assert r.status_code == 201, r.json()
    return r.json()


def test_a_manager_creates_computes_and_confirms_a_round(api_client, org, book):
    body = create_round(api_client, org)
    assert body["state"] == "draft" and body["shares"] == [] and body["totals"]["available_t"] == "2500.000"
    assert body["weights"] == {"review": "0.400", "completion": "0.350", "regularity": "0.250"}
    r = api_client.post(f"/allocation/rounds/{body['id']}/compute")
    assert r.status_code == 200
    computed = r.json()
    # 李经理 (华东区) sees the shares of 华东区's customers, and the round's totals
    names = {s["customer_name"] for s in computed["shares"]}
    assert names == {"浙江华东化工贸易有限公司", "宁波甬兴塑料有限公司", "苏州苏南化工经销有限公司"}
    assert computed["totals"]["total_allocated_t"] == "2500.000"
    share = next(s for s in computed["shares"] if s["customer_name"] == "宁波甬兴塑料有限公司")
    assert share["allocated_t"] == "900.000" and share["explanation"]["need_t"] == "900.000"
    assert share["explanation"]["inputs"]["capacity"] == "900.000"
    r = api_client.post(f"/allocation/rounds/{body['id']}/confirm")
    assert r.status_code == 200 and r.json()["state"] == "confirmed" and r.json()["confirmed_by"] == "李经理"
    r = api_client.post(f"/allocation/rounds/{body['id']}/compute")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = api_client.patch(f"/allocation/rounds/{body['id']}", {"available_t": "1"})
    assert r.status_code == 409


def test_account_managers_read_their_customers_shares_without_totals(api_client, org, book):
    body = create_round(api_client, org)
    api_client.post(f"/allocation/rounds/{body['id']}/compute")
    r = api_client.as_user(org.north_rep).get(f"/allocation/rounds/{body['id']}")
    assert r.status_code == 200
    assert r.json()["totals"] is None
    assert [s["customer_name"] for s in r.json()["shares"]] == ["天津津北石化经销有限公司"]
    chart = api_client.get(f"/allocation/rounds/{body['id']}/chart").json()
    assert chart["categories"] == ["天津津北石化经销有限公司"] and len(chart["allocated_t"]) == 1
    assert api_client.as_user(org.rep).post(f"/allocation/rounds/{body['id']}/confirm").status_code == 403
    assert api_client.as_user(org.agent).get(f"/allocation/rounds/{body['id']}").status_code == 403


def test_plans_are_scoped_by_customer(api_client, org, book):
    north_plan = book["plans"]["津北经销"].pk
    assert api_client.as_user(org.manager).get(f"/allocation/plans/{north_plan}").status_code == 404
    assert api_client.as_user(org.north_manager).get(f"/allocation/plans/{north_plan}").status_code == 200
    r = api_client.as_user(org.rep).get("/allocation/plans", {"month": MONTH})
    assert {p["customer_name"] for p in r.json()["items"]} == {"浙江华东化工贸易有限公司", "宁波甬兴塑料有限公司"}
    r = api_client.as_user(org.manager).patch(f"/allocation/plans/{north_plan}", {"quantity_t": "1"})
    assert r.status_code == 404
    r = api_client.as_user(org.manager).get("/allocation/plans", {"month": "11/2026"})
    assert r.status_code == 422


def test_plan_create_update_delete_and_errors(api_client, org, book):
    customer = book["customers"]["苏南经销"].pk
    r = api_client.as_user(org.manager).post("/allocation/plans", {
        "customer": customer, "month": "2026-12", "product_line": LINE, "participant_type": "dealer",
        "quantity_t": "650.5", "pickup_note": "月中一次"})
    assert r.status_code == 201 and r.json()["month"] == "2026-12" and r.json()["submitted_by"] == "李经理"
    plan_id = r.json()["id"]
    r = api_client.patch(f"/allocation/plans/{plan_id}", {"quantity_t": "700", "capacity_t": "600"})
    assert r.status_code == 200 and (r.json()["quantity_t"], r.json()["capacity_t"]) == ("700.000", "600.000")
    r = api_client.post("/allocation/plans", {"customer": customer, "month": "2026-12", "product_line": LINE,
                                              "participant_type": "wholesaler", "quantity_t": "0"})
    assert r.status_code == 422
    assert set(r.json()["error"]["fields"]) == {"participant_type", "quantity_t"}
    assert api_client.delete(f"/allocation/plans/{plan_id}").status_code == 204
    assert api_client.get(f"/allocation/plans/{plan_id}").status_code == 404
    r = api_client.as_user(org.rep).post("/allocation/plans", {"customer": customer, "month": "2026-12",
                                                               "product_line": LINE, "participant_type": "dealer",
                                                               "quantity_t": "1"})
    assert r.status_code == 403


def test_plan_import_over_the_api(client, org, book):
    from kehu.access.services import token_create

    token = token_create(actor=org.admin, name="t")[1]
    content = "客户名称,月份,产品线,客户类型,计划量\n浙江华东化工贸易有限公司,2026-12,聚乙烯 PE,独家代理,1300\n"
    upload = SimpleUploadedFile("plans.csv", content.encode("utf-8"), content_type="text/csv")
    r = client.post("/api/v1/allocation/plans/import", {"file": upload, "dry_run": "true"},
                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and r.json() == {"rows": 1, "created": 1, "updated": 0, "dry_run": True}


def test_round_validation_and_customer_shares(api_client, org, book):
    r = api_client.as_user(org.admin).post("/allocation/rounds", {"month": MONTH, "product_line": LINE,
                                                                  "available_t": "-1", "weight_review": "0.9"})
    assert r.status_code == 422 and {"available_t", "weight_review"} <= set(r.json()["error"]["fields"])
    body = create_round(api_client, org)
    api_client.as_user(org.admin).post(f"/allocation/rounds/{body['id']}/compute")
    api_client.post(f"/allocation/rounds/{body['id']}/confirm")
    customer = book["customers"]["华东化工"].pk
    r = api_client.as_user(org.rep).get(f"/allocation/customers/{customer}/shares")
    assert r.status_code == 200 and [s["allocated_t"] for s in r.json()] == ["1200.000"]
    assert api_client.as_user(org.north_rep).get(f"/allocation/customers/{customer}/shares").status_code == 404
    r = api_client.as_user(org.analyst).get("/allocation/rounds", {"month": MONTH})
    assert r.status_code == 200 and r.json()["items"][0]["totals"] is None
