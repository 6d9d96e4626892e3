"""Allocation pages: plans per month (list + form + import), the round page with each share's explanation
and the chart's hook; scope and permission refusals; the navigation entry."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kehu.grading.allocation import services
from kehu.grading.allocation.models import AllocationRound, SalesPlan
from kehu.grading.allocation.tests.conftest import LINE, MONTH


def computed_round(org, available="2500"):
    rnd = services.round_create(actor=org.admin, data={"month": MONTH, "product_line": LINE,
                                                       "available_t": available})
    return services.round_compute(actor=org.admin, round_id=rnd.pk)


def test_plan_list_shows_the_months_plans_in_scope(client, org, book, django_assert_max_num_queries):
    client.force_login(org.rep)
    with django_assert_max_num_queries(14):
        r = client.get(reverse("allocation:plans"), {"month": MONTH})
    body = r.content.decode()
    assert r.status_code == 200
    assert "浙江华东化工贸易有限公司" in body and "宁波甬兴塑料有限公司" in body
    assert "天津津北石化经销有限公司" not in body and "苏州苏南化工经销有限公司" not in body
    assert 'data-testid="plan-new"' not in body  # an account manager reads, does not plan
    assert 'data-testid="nav-allocation"' in body


def test_a_manager_enters_a_plan_by_customer_name(client, org, book):
    client.force_login(org.manager)
    r = client.get(reverse("allocation:plan_new"), {"month": "2026-12"})
    assert r.status_code == 200 and 'value="2026-12"' in r.content.decode()
    assert "苏州苏南化工经销有限公司" in r.content.decode()  # suggested: a participant with plans
    r = client.post(reverse("allocation:plan_new"), {
        "customer": "苏州苏南化工经销有限公司", "month": "2026-12", "product_line": LINE,
        "participant_type": "dealer", "quantity_t": "520", "pickup_note": "每周三"})
    assert r.status_code == 302 and r["Location"].endswith("?month=2026-12")
    assert SalesPlan.objects.get(month="2026-12-01").quantity_t == 520
    r = client.post(reverse("allocation:plan_new"), {
        "customer": "天津津北石化经销有限公司", "month": "2026-12", "product_line": LINE,
        "participant_type": "dealer", "quantity_t": "520"})
    assert r.status_code == 422 and "customer" in r.context["form"].errors  # another department's


def test_plan_edit_and_withdraw(client, org, book):
    client.force_login(org.admin)
    plan = book["plans"]["苏南经销"]
    r = client.post(reverse("allocation:plan_edit", args=[plan.pk]), {
        "month": MONTH, "product_line": LINE, "participant_type": "dealer", "quantity_t": "640", "capacity_t": "",
        "pickup_note": ""})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.quantity_t == 640
    r = client.post(reverse("allocation:plan_delete", args=[plan.pk]))
    assert r.status_code == 302 and not SalesPlan.objects.filter(pk=plan.pk).exists()
    client.force_login(org.rep)
    other = book["plans"]["甬兴塑料"]
    assert client.get(reverse("allocation:plan_edit", args=[other.pk])).status_code == 403
    client.force_login(org.north_manager)
    assert client.get(reverse("allocation:plan_edit", args=[other.pk])).status_code == 404


def test_plan_import_page_checks_then_imports(client, org, book):
    client.force_login(org.admin)
    content = "客户名称,月份,产品线,客户类型,计划量\n浙江华东化工贸易有限公司,2026-12,聚乙烯 PE,独家代理,1300\n".encode()
    r = client.post(reverse("allocation:plan_import"),
                    {"file": SimpleUploadedFile("p.csv", content), "dry_run": "on"})
    assert r.status_code == 200 and 'data-testid="import-result"' in r.content.decode()
    r = client.post(reverse("allocation:plan_import"), {"file": SimpleUploadedFile("p.csv", content)})
    assert r.status_code == 302 and SalesPlan.objects.filter(month="2026-12-01").count() == 1
    bad = "客户名称,月份\n浙江华东化工贸易有限公司,2026-12\n".encode()
    r = client.post(reverse("allocation:plan_import"), {"file": SimpleUploadedFile("p.csv", bad)})
    assert r.status_code == 422


def test_round_page_explains_each_share(client, org, book, django_assert_max_num_queries):
    rnd = computed_round(org)
    client.force_login(org.manager)
    with django_assert_max_num_queries(14):
        r = client.get(reverse("allocation:round", args=[rnd.pk]))
    body = r.content.decode()
    assert r.status_code == 200
    assert body.count('data-testid="share-row"') == 3  # 华东区's customers
    assert body.count('data-testid="share-explanation"') == 3
    assert 'data-testid="round-totals"' in body and 'data-testid="class-table"' in body
    assert f'data-src="/api/v1/allocation/rounds/{rnd.pk}/chart"' in body
    assert "1,200.000" in body or "1200.000" in body
    assert 'data-testid="round-confirm"' in body


def test_account_manager_sees_own_shares_and_no_totals(client, org, book):
    rnd = computed_round(org)
    client.force_login(org.north_rep)
    body = client.get(reverse("allocation:round", args=[rnd.pk])).content.decode()
    assert body.count('data-testid="share-row"') == 1 and "天津津北石化经销有限公司" in body
    assert 'data-testid="round-totals"' not in body and 'data-testid="round-compute"' not in body
    assert client.post(reverse("allocation:round_confirm", args=[rnd.pk])).status_code == 403


def test_service_agent_has_no_allocation_pages(client, org, book):
    rnd = computed_round(org)
    client.force_login(org.agent)
    assert client.get(reverse("allocation:plans")).status_code == 403
    assert client.get(reverse("allocation:round", args=[rnd.pk])).status_code == 403
    body = client.get(reverse("workbench:home")).content.decode()
    assert 'data-testid="nav-allocation"' not in body


def test_a_manager_creates_computes_and_confirms_through_the_pages(client, org, book):
    client.force_login(org.manager)
    r = client.get(reverse("allocation:rounds"))
    assert r.status_code == 200 and 'data-testid="round-form"' in r.content.decode()
    r = client.post(reverse("allocation:rounds"), {"month": MONTH, "product_line": LINE, "available_t": "3000",
                                                   "weight_review": "0.4", "weight_completion": "0.4",
                                                   "weight_regularity": "0.2", "lookback_months": "3"})
    assert r.status_code == 302
    rnd = AllocationRound.objects.get()
    r = client.post(reverse("allocation:round", args=[rnd.pk]), {
        "available_t": "2800", "weight_review": "0.5", "weight_completion": "0.5", "weight_regularity": "0.5",
        "lookback_months": "3"})
    assert r.status_code == 422 and r.context["edit_form"].errors
    assert client.post(reverse("allocation:round_compute", args=[rnd.pk])).status_code == 302
    assert client.post(reverse("allocation:round_confirm", args=[rnd.pk])).status_code == 302
    rnd.refresh_from_db()
    assert rnd.state == "confirmed"
    assert client.post(reverse("allocation:round_compute", args=[rnd.pk])).status_code == 409
    assert client.post(reverse("allocation:round_delete", args=[rnd.pk])).status_code == 409


def test_the_shares_download_as_csv_in_scope(client, org, book):
    rnd = computed_round(org)
    client.force_login(org.north_rep)
    r = client.get(reverse("allocation:round_export", args=[rnd.pk]))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("天津津北石化经销有限公司,")
    client.force_login(org.agent)
    assert client.get(reverse("allocation:round_export", args=[rnd.pk])).status_code == 403


def test_the_shares_csv_neutralises_a_name_a_spreadsheet_would_run(client, org, book):
    """A customer name is user text: one starting with = leaves as text ('=…), as in every export."""
    from kehu.customers.models import Customer

    rnd = computed_round(org)
    Customer.objects.filter(name="天津津北石化经销有限公司").update(name="=HYPERLINK(\"http://x\")津北")
    client.force_login(org.north_rep)
    import csv

    text = client.get(reverse("allocation:round_export", args=[rnd.pk])).content.decode("utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")津北"
