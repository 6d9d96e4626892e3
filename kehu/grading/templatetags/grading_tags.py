"""``{% load grading_tags %}{% customer_grade_badges customer %}``: the customer's current grades and its
service level, for the customer page (one query each; the page has already checked the customer's scope)."""

from __future__ import annotations

from django import template

from kehu.grading.models import CustomerGrade
from kehu.grading.selectors import service_policy_for

register = template.Library()


@register.inclusion_tag("grading/_customer_badges.html")
def customer_grade_badges(customer):
    grades = list(CustomerGrade.objects.filter(customer_id=customer.pk).order_by("policy_name")
                  .values("policy_name", "grade", "override_reason"))
    return {"customer": customer, "grades": grades, "service": service_policy_for(customer.pk) if grades else None}
