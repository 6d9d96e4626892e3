import random

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.service_desk.inspections.demo import demo_load
from kehu.service_desk.inspections.models import InspectionPlan, InspectionReport, InspectionVisit

pytestmark = pytest.mark.django_db


def test_demo_load_plans_reports_and_overdue_visits(org):
    for i in range(24):
        org_customer(org.rep if i % 2 else org.north_rep, f"示范客户{i}号制造有限公司")
    summary = demo_load(users=org.users, rng=random.Random(7))
    assert InspectionPlan.objects.count() == 24
    assert InspectionReport.objects.count() >= 10
    assert InspectionVisit.objects.filter(state="scheduled", overdue_at__isnull=False).exists()
    assert any("振动" in r.findings or "正常" in r.findings for r in InspectionReport.objects.all())
    assert summary.startswith("inspections:") and "overdue" in summary
    assert demo_load(users=org.users, rng=random.Random(7)) == "inspections: already loaded"
