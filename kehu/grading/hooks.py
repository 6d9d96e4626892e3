"""Registers grading's answer to the approval engine: an approved override sets the grade until the next
review (see kehu.approvals.hooks)."""

from __future__ import annotations

from kehu.approvals.hooks import register_outcome_handler
from kehu.grading.models import CustomerGrade


def on_override_outcome(request, outcome: str) -> None:
    if request.chain.code != "grade_override" or outcome != "approved":
        return
    from kehu.grading.services import override_apply

    override_apply(request=request)


register_outcome_handler(CustomerGrade._meta.label_lower, on_override_outcome)
