"""Report charts (ECharts) read the same scoped report API as the tables beside them, which stay; the
board shows staff the public complaint form's address."""

import pytest

from kehu.service_desk import services

pytestmark = pytest.mark.django_db


def test_report_charts_are_fed_by_the_scoped_report_api_and_the_tables_stay(org, client, api_client):
    services.complaint_record(actor=org.agent, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"})
    client.force_login(org.agent)
    html = client.get("/complaints/reports/?date_from=2026-01-01&date_to=2026-12-31&group_by=month").content.decode()
    assert 'data-src="/api/v1/complaints/reports/sla?from=2026-01-01&amp;to=2026-12-31&amp;group_by=month"' in html
    assert 'id="causes-chart"' in html and "vendor/echarts/echarts.min.js" in html
    assert 'data-testid="sla-row"' in html  # the table beside the chart
    r = client.get("/api/v1/complaints/reports/sla", {"from": "2026-01-01", "to": "2026-12-31", "group_by": "month"})
    assert r.status_code == 200 and len(r.json()["rows"]) == 12  # the page's session reads the JSON
    client.force_login(org.finance)
    assert client.get("/api/v1/complaints/reports/sla").status_code == 403


def test_board_shows_the_public_complaint_form_address(org, client, settings):
    client.force_login(org.agent)
    assert "http://testserver/complaints/public/" in client.get("/complaints/").content.decode()
    settings.KEHU_SITE_URL = "https://crm.example.cn"
    assert "https://crm.example.cn/complaints/public/" in client.get("/complaints/").content.decode()
