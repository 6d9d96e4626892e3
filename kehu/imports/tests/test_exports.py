"""Export of the customer list: scope, masking and audited reveal, formula injection, the row cap."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import MOBILE_LI, contact, make_id_number, org_customer, person_customer

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _xlsx(response) -> list[list]:
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(r) for r in wb.active.iter_rows(values_only=True)]


@pytest.fixture
def data(org):
    rep_a = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    rep_b = person_customer(org.rep, "李雷", mobile=MOBILE_LI, id_number=make_id_number())
    rep2_c = org_customer(org.rep2, "杭州东方贸易有限公司", serial=2)
    north = org_customer(org.north_rep, "北京燕山化工有限公司", serial=3, city="北京市")
    contact(org.rep, rep_a, "王强", mobile="13812345678")
    return {"rep_a": rep_a, "rep_b": rep_b, "rep2_c": rep2_c, "north": north}


def test_rep_exports_only_own_customers(org, api_client, data):
    """A rep's export holds the rep's own customers only (data scope applies to exports)."""
    r = api_client.as_user(org.rep).get("/customers/export", {"format": "csv"})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    rows = _csv(r)
    assert {row[1] for row in rows[1:]} == {"浙江华星石化有限公司", "李雷"}


def test_manager_exports_own_department_subtree_only(org, api_client, data):
    """A manager of 华东区 exports 华东区's customers, not 华北区's."""
    rows = _csv(api_client.as_user(org.manager).get("/customers/export"))
    assert {row[1] for row in rows[1:]} == {"浙江华星石化有限公司", "李雷", "杭州东方贸易有限公司"}


def test_export_applies_the_list_filters(org, api_client, data):
    """The list's filters (city, kind, search …) narrow the export the same way."""
    api = api_client.as_user(org.executive)
    assert [r[1] for r in _csv(api.get("/customers/export", {"city": "北京市"}))[1:]] == ["北京燕山化工有限公司"]
    assert [r[1] for r in _csv(api.get("/customers/export", {"kind": "person"}))[1:]] == ["李雷"]
    assert [r[1] for r in _csv(api.get("/customers/export", {"q": "华星"}))[1:]] == ["浙江华星石化有限公司"]


def test_mobile_and_id_number_stay_masked_and_export_is_audited(org, api_client, data):
    """Without reveal the confidential fields are masked; one audit entry records who, filters, count, format."""
    rows = _csv(api_client.as_user(org.rep).get("/customers/export", {"format": "csv", "kind": "person"}))
    body = "\n".join(",".join(r) for r in rows)
    assert MOBILE_LI not in body and "139****4321" in body
    entry = AuditEntry.objects.filter(action="customer.export").get()
    assert entry.actor == org.rep
    assert entry.changes == {"format": "csv", "filters": {"kind": "person"}, "rows": 1, "reveal": False,
                             "contacts": False}


def test_reveal_shows_clear_values_and_is_audited_as_a_reveal(org, api_client, data):
    """reveal=true by a role that may read confidential fields: clear values, one reveal audit entry."""
    rows = _csv(api_client.as_user(org.rep).get("/customers/export", {"kind": "person", "reveal": "true"}))
    assert MOBILE_LI in rows[1] and make_id_number() in rows[1]
    entry = AuditEntry.objects.filter(action="customer.export_reveal").get()
    assert entry.changes["rows"] == 1 and entry.changes["reveal"] is True
    assert not AuditEntry.objects.filter(action="customer.export").exists()


def test_reveal_refused_to_a_role_that_may_not_read_confidential_fields(org, api_client, data):
    """The analyst may export but sees confidential fields masked only: reveal=true is 403, nothing audited."""
    api = api_client.as_user(org.analyst)
    assert api.get("/customers/export", {"reveal": "true"}).status_code == 403
    assert not AuditEntry.objects.filter(action__startswith="customer.export").exists()
    rows = _csv(api.get("/customers/export"))
    assert len(rows) == 5 and MOBILE_LI not in str(rows)


def test_formula_cells_are_neutralised_in_csv(org, api_client):
    """Cells beginning with = + - @ tab or CR get a leading apostrophe in CSV."""
    org_customer(org.rep, "=HYPERLINK(\"http://evil\")", address="+1+cmd|' /C calc'!A0", industry="@SUM(1)",
                 scale="-2+3", source="\tx")
    row = _csv(api_client.as_user(org.rep).get("/customers/export"))[1]
    assert row[1] == "'=HYPERLINK(\"http://evil\")"
    assert row[9] == "'+1+cmd|' /C calc'!A0"
    assert row[4] == "'@SUM(1)" and row[5] == "'-2+3" and row[10] == "'\tx"


def test_formula_cells_are_neutralised_in_xlsx(org, api_client):
    """In XLSX the same cells are stored as text starting with an apostrophe, never as formulas."""
    org_customer(org.rep, "=1+2", industry="@SUM(A1)", address="-3")
    r = api_client.as_user(org.rep).get("/customers/export", {"format": "xlsx"})
    assert r.status_code == 200 and "spreadsheetml" in r["Content-Type"]
    rows = _xlsx(r)
    assert rows[1][1] == "'=1+2" and rows[1][4] == "'@SUM(A1)" and rows[1][9] == "'-3"
    assert rows[0][1] in ("客户名称", "Customer name")


def test_export_beyond_the_cap_is_refused_with_422(org, api_client, data, settings):
    """More rows than KEHU_EXPORT_MAX_ROWS: 422 asking to narrow the filters; nothing audited."""
    settings.KEHU_EXPORT_MAX_ROWS = 3
    r = api_client.as_user(org.executive).get("/customers/export")
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_rows"
    assert not AuditEntry.objects.filter(action__startswith="customer.export").exists()
    assert api_client.get("/customers/export", {"city": "北京市"}).status_code == 200


def test_contacts_export_has_one_row_per_contact(org, api_client, data):
    """contacts=true: one row per contact with its customer's columns; contact mobiles masked."""
    rows = _csv(api_client.as_user(org.rep).get("/customers/export", {"contacts": "true"}))
    assert len(rows) == 2
    assert rows[1][1] == "浙江华星石化有限公司" and rows[1][21] == "王强" and rows[1][24] == "138****5678"


def test_export_permissions(org, api_client, data):
    """Anonymous 401; a role without customer.export 403; a bad format 422 (API) or 400."""
    assert api_client.as_user(None).get("/customers/export").status_code == 401
    assert api_client.as_user(org.agent).get("/customers/export").status_code == 403
    assert api_client.as_user(org.rep).get("/customers/export", {"format": "pdf"}).status_code == 422


def test_export_page_serves_the_file_with_the_list_filters(org, client, data):
    """/exports/customers/?format=xlsx&city=… is the same export for the list page's menu."""
    client.force_login(org.executive)
    r = client.get("/exports/customers/", {"format": "xlsx", "city": "北京市", "cursor": "x", "ordering": "name"})
    assert r.status_code == 200
    assert [row[1] for row in _xlsx(r)[1:]] == ["北京燕山化工有限公司"]
    client.force_login(org.agent)
    assert client.get("/exports/customers/").status_code == 403


def test_export_page_asks_anonymous_visitors_to_log_in(client):
    """Anonymous visitors of the page are sent to the login page."""
    assert client.get("/exports/customers/").status_code == 302


def test_export_query_count_does_not_grow_with_rows(org, api_client, data, django_assert_max_num_queries):
    """Rows are read in keyset chunks: a handful of queries, not one per customer."""
    api = api_client.as_user(org.executive)
    with django_assert_max_num_queries(14):
        r = api.get("/customers/export", {"contacts": "true"})
        b"".join(r.streaming_content)
    with django_assert_max_num_queries(14):
        r = api.get("/customers/export")
        b"".join(r.streaming_content)


def test_xlsx_keeps_masking_drops_control_characters_and_reveals_when_asked(org, api_client, data):
    """XLSX: masked by default, clear with reveal (audited as a reveal); characters XML cannot hold are dropped."""
    Customer = type(data["rep_b"])
    Customer.objects.filter(pk=data["rep_b"].pk).update(address="西湖区\x01文三路")
    api = api_client.as_user(org.rep)
    rows = _xlsx(api.get("/customers/export", {"format": "xlsx", "kind": "person"}))
    assert rows[1][0] == data["rep_b"].pk and rows[1][15] == "139****4321" and rows[1][9] == "西湖区文三路"
    rows = _xlsx(api.get("/customers/export", {"format": "xlsx", "kind": "person", "reveal": "true"}))
    assert rows[1][15] == MOBILE_LI
    assert AuditEntry.objects.filter(action="customer.export_reveal", changes__format="xlsx").count() == 1


def test_export_button_partial_shows_for_exporters_only(org, rf):
    """The 导出 menu submits the list's filter form to the export page; hidden without customer.export."""
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = org.rep
    html = render_to_string("imports/export_button.html", {"request": request})
    assert 'form="customer-filters"' in html and "/exports/customers/" in html and 'value="xlsx"' in html
    request.user = org.agent
    assert "export-csv" not in render_to_string("imports/export_button.html", {"request": request})


def test_export_page_contacts_option(org, client, data):
    """The menu's 联系人 entry (contacts=1, no format) downloads the contacts CSV."""
    client.force_login(org.rep)
    rows = _csv(client.get("/exports/customers/", {"contacts": "1", "q": ""}))
    assert [r[21] for r in rows[1:]] == ["王强"]


def test_export_has_a_grade_column_and_the_grade_filter(org, api_client, data):
    """客户分级: the current grades ("policy: grade") are a column; grade_policy / grade filter the rows as on
    the list."""
    from kehu.service_desk.tests.grading import grade

    grade(data["rep_a"], "一星", policy_name="聚烯烃月提货量分级")
    grade(data["rep_a"], "重要价值", policy_name="RFM")
    grade(data["rep_b"], "普通", policy_name="聚烯烃月提货量分级")
    api = api_client.as_user(org.rep)
    rows = _csv(api.get("/customers/export", {"format": "csv"}))
    column = rows[0].index("Grade") if "Grade" in rows[0] else rows[0].index("客户等级")
    by_name = {r[1]: r[column] for r in rows[1:]}
    assert by_name == {"浙江华星石化有限公司": "RFM: 重要价值、聚烯烃月提货量分级: 一星", "李雷": "聚烯烃月提货量分级: 普通"}
    rows = _csv(api.get("/customers/export", {"grade_policy": "聚烯烃月提货量分级", "grade": "一星"}))
    assert [r[1] for r in rows[1:]] == ["浙江华星石化有限公司"]
    rows = _xlsx(api.get("/customers/export", {"format": "xlsx", "grade": "普通"}))
    assert [r[1] for r in rows[1:]] == ["李雷"]
    # the grade filter never widens the scope: rep's export holds no other rep's graded customer
    grade(data["north"], "一星", policy_name="聚烯烃月提货量分级")
    rows = _csv(api.get("/customers/export", {"grade": "一星"}))
    assert [r[1] for r in rows[1:]] == ["浙江华星石化有限公司"]
