"""The policy pages: the administrator's form validates the configuration through the kind; others are
refused; anonymous visitors go to the login page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.grading.forms import config_to_yaml
from kehu.grading.kinds import threshold
from kehu.grading.models import GradingPolicy, PolicyState


def form_data(**kw):
    data = {"name": "聚烯烃提货量分级", "kind": "threshold", "description": "", "active_from": "",
            "config_yaml": config_to_yaml(threshold.DEFAULT_CONFIG)}
    data.update(kw)
    return data


def test_admin_defines_a_policy_in_the_form(client, org):
    client.force_login(org.admin)
    page = client.get(reverse("grading:policy_new"))
    assert page.status_code == 200 and "一星" in page.content.decode()
    response = client.post(reverse("grading:policy_new"), form_data())
    policy = GradingPolicy.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("grading:policy_detail", args=[policy.pk])
    assert policy.state == PolicyState.DRAFT and policy.config["tiers"][1]["grade"] == "一星"


def test_policy_form_shows_the_kinds_message_under_the_configuration(client, org):
    client.force_login(org.admin)
    bad = config_to_yaml({**threshold.DEFAULT_CONFIG, "tiers": [{"grade": "A", "min": 10}, {"grade": "B", "min": 1}]})
    response = client.post(reverse("grading:policy_new"), form_data(config_yaml=bad))
    assert response.status_code == 422
    assert "tiers.1.min" in response.content.decode()
    assert not GradingPolicy.objects.exists()
    response = client.post(reverse("grading:policy_new"), form_data(config_yaml="tiers: [oops"))
    assert response.status_code == 400


def test_policy_export_and_import_pages(client, org):
    client.force_login(org.admin)
    client.post(reverse("grading:policy_new"), form_data())
    policy = GradingPolicy.objects.get()
    exported = client.get(reverse("grading:policy_export", args=[policy.pk]))
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    response = client.post(reverse("grading:policy_import"), {"yaml_text": exported.content.decode()})
    assert response.status_code == 302
    assert GradingPolicy.objects.filter(name=policy.name, version=2).exists()


def test_draft_edit_page_keeps_the_version(client, org):
    client.force_login(org.admin)
    client.post(reverse("grading:policy_new"), form_data())
    policy = GradingPolicy.objects.get()
    response = client.post(reverse("grading:policy_edit", args=[policy.pk]), form_data(description="第九条"))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.version, policy.description) == (1, "第九条")


@pytest.mark.parametrize("role", ["rep", "manager", "agent", "analyst"])
def test_policy_pages_refuse_users_without_the_grading_permission(client, org, role):
    client.force_login(getattr(org, role))
    assert client.get(reverse("grading:policies")).status_code == 403
    assert client.get(reverse("grading:policy_new")).status_code == 403
    assert client.post(reverse("grading:policy_new"), form_data()).status_code == 403


def test_policy_pages_send_anonymous_visitors_to_login(client, db):
    response = client.get(reverse("grading:policies"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_customer_page_badge_shows_the_grade(org, rf):
    from django.template import Context, Template

    from kehu.customers.models import Customer
    from kehu.grading.models import CustomerGrade, GradingPolicy

    c = Customer.objects.create(name="苏州包装", owner=org.rep, department=org.rep.department, stage="customer")
    html = Template("{% load grading_tags %}{% customer_grade_badges c %}").render(Context({"c": c}))
    assert "customer-grades" in html
    policy = GradingPolicy.objects.create(name="p", kind="threshold", config={})
    from django.utils import timezone
    CustomerGrade.objects.create(customer=c, policy_name="p", policy=policy, grade="三星", graded_at=timezone.now())
    html = Template("{% load grading_tags %}{% customer_grade_badges c %}").render(Context({"c": c}))
    assert "三星" in html
