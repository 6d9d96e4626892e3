"""Test builders: a customer's grade under a policy name and the service policy that grade earns, written
directly (the grading app's runs are tested there; here only what the service desk reads matters)."""

from __future__ import annotations

from django.utils import timezone

from kehu.grading.models import CustomerGrade, GradingPolicy, ServicePolicy

POLICY = "客户综合评分"


def policy(name: str = POLICY, *, levels=("普通", "重点", "核心")) -> GradingPolicy:
    found = GradingPolicy.objects.filter(name=name, state="active").first()
    if found:
        return found
    from kehu.grading.kinds import threshold

    config = {**threshold.DEFAULT_CONFIG}
    return GradingPolicy.objects.create(name=name, kind="threshold", config=config, state="active")


def grade(customer, grade_name: str, *, policy_name: str = POLICY) -> CustomerGrade:
    row, _ = CustomerGrade.objects.update_or_create(
        customer=customer, policy_name=policy_name,
        defaults={"policy": policy(policy_name), "grade": grade_name, "graded_at": timezone.now()})
    return row


def service(grade_name: str, *, policy_name: str = POLICY, **figures) -> ServicePolicy:
    row, _ = ServicePolicy.objects.update_or_create(policy_name=policy_name, grade=grade_name, defaults=figures)
    return row
