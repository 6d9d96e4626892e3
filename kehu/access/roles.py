"""Roles, their data scope, the sensitivity level they may read in clear, and their permissions.

Pure data, no ORM: the policy in one table. A deployment that needs other defaults changes this table
(or KEHU_ROLE_OVERRIDES later); logic never tests a role name, it asks this table."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from django.utils.translation import gettext_lazy as _


class Scope:
    OWN = "own"
    SUBTREE = "department"
    ALL = "all"


class Level(IntEnum):
    """Field sensitivity (信息分级). A role reads a field in clear when its level ≥ the field's."""

    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    SECRET = 3


LEVEL_LABELS = {
    Level.PUBLIC: _("public"),
    Level.INTERNAL: _("internal"),
    Level.CONFIDENTIAL: _("confidential"),
    Level.SECRET: _("secret"),
}


class Perm:
    CUSTOMER_WRITE = "customer.write"
    CUSTOMER_DELETE = "customer.delete"
    CUSTOMER_ASSIGN = "customer.assign"  # choose another owner than oneself
    PRIVACY = "privacy"  # data-subject export and erasure
    AUDIT_READ = "audit.read"
    USER_MANAGE = "user.manage"
    COMPLAINT_HANDLE = "complaint.handle"  # record and work complaints and service requests
    COMPLAINT_REASSIGN = "complaint.reassign"  # move accountability to someone else (with a reason)
    COMPLAINT_REPORT = "complaint.report"  # read complaint reports (SLA, causes, repeat complainers), in scope
    CATALOG_MANAGE = "catalog.manage"  # tags, tag categories, custom-field definitions
    CALENDAR_MANAGE = "calendar.manage"  # the holiday table: statutory schedule, closures, make-up days
    APPROVAL_MANAGE = "approval.manage"  # define approval chains
    APPROVAL_READ_ALL = "approval.read_all"  # see every approval request and its history
    CUSTOMER_IMPORT = "customer.import"  # upload, dry-run and commit import files (rows land in one's scope)
    CUSTOMER_EXPORT = "customer.export"  # download filtered lists as CSV/XLSX (scope and masking still apply)
    CUSTOMER_MERGE = "customer.merge"  # review duplicate candidates, merge and undo merges
    REVIEW_MANAGE = "review.manage"  # start periodic review runs (定期复核) and reassign a user's customers
    INSPECTION_MANAGE = "inspection.manage"  # define inspection plans and checklists (巡检)
    ORDER_READ = "order.read"  # see orders, payments and payment terms of customers in scope
    ORDER_WRITE = "order.write"  # enter, import or post (ERP) orders for customers in scope
    PAYMENT_WRITE = "payment.write"  # record payments (回款) and set payment terms (付款条件)
    GRADING_MANAGE = "grading.manage"  # define, preview and activate grading policies; run regrading (客户分级)
    ALLOCATION_MANAGE = "allocation.manage"  # enter monthly plans, compute and confirm allocation rounds (资源量分配)
    INTERACTION_WRITE = "interaction.write"  # record follow-ups and visits (跟进记录) for customers in scope
    VISIT_PLAN_MANAGE = "visit.plan_manage"  # generate and approve visit plans for others, authorise return visits
    SYMPOSIUM_MANAGE = "symposium.manage"  # plan customer symposia (客户座谈会) and executive mutual visits
    CARE_MANAGE = "care.manage"  # care rules and new-product notices to key accounts (客户关怀)
    SALES_WRITE = "sales.write"  # prospects, opportunities, registrations (报备), visitor register, pool claims
    SALES_MANAGE = "sales.manage"  # stages, duty roster, verify registrations, decide disputes, commission rules
    DEPOSIT_WRITE = "deposit.write"  # record deposits (小定/大定) and deal payments: finance only, never a rep
    QUALIFICATION_VERIFY = "qualification.verify"  # verify customer documents (资质审查)
    QUALIFICATION_MANAGE = "qualification.manage"  # customer types, suspend / reinstate, reviews (客户考评)
    SURVEY_MANAGE = "survey.manage"  # questionnaires, campaigns, survey reports and action plans (满意度调查)
    SURVEY_ENTER = "survey.enter"  # enter a phone or face-to-face answer for a customer in scope


@dataclass(frozen=True)
class RoleSpec:
    label: str
    scope: str
    level: Level
    perms: frozenset[str] = field(default_factory=frozenset)


ROLES: dict[str, RoleSpec] = {
    "admin": RoleSpec(
        _("Administrator"), Scope.ALL, Level.SECRET,
        frozenset({Perm.CUSTOMER_WRITE, Perm.CUSTOMER_DELETE, Perm.CUSTOMER_ASSIGN, Perm.PRIVACY,
                   Perm.AUDIT_READ, Perm.USER_MANAGE, Perm.CATALOG_MANAGE, Perm.CALENDAR_MANAGE,
                   Perm.COMPLAINT_HANDLE, Perm.COMPLAINT_REASSIGN, Perm.APPROVAL_MANAGE, Perm.APPROVAL_READ_ALL,
                   Perm.COMPLAINT_REPORT, Perm.CUSTOMER_IMPORT, Perm.CUSTOMER_EXPORT, Perm.CUSTOMER_MERGE,
                   Perm.REVIEW_MANAGE, Perm.INSPECTION_MANAGE, Perm.ORDER_READ, Perm.ORDER_WRITE,
                   Perm.PAYMENT_WRITE, Perm.GRADING_MANAGE, Perm.ALLOCATION_MANAGE, Perm.INTERACTION_WRITE,
                   Perm.VISIT_PLAN_MANAGE, Perm.SYMPOSIUM_MANAGE, Perm.CARE_MANAGE, Perm.SALES_WRITE, Perm.SALES_MANAGE, Perm.DEPOSIT_WRITE, Perm.QUALIFICATION_VERIFY, Perm.QUALIFICATION_MANAGE, Perm.SURVEY_MANAGE, Perm.SURVEY_ENTER}),
    ),
    "executive": RoleSpec(
        _("Executive"), Scope.ALL, Level.CONFIDENTIAL,
        frozenset({Perm.CUSTOMER_WRITE, Perm.CUSTOMER_DELETE, Perm.CUSTOMER_ASSIGN, Perm.COMPLAINT_HANDLE,
                   Perm.COMPLAINT_REASSIGN, Perm.APPROVAL_READ_ALL, Perm.COMPLAINT_REPORT, Perm.CUSTOMER_IMPORT,
                   Perm.CUSTOMER_EXPORT, Perm.CUSTOMER_MERGE, Perm.REVIEW_MANAGE, Perm.INSPECTION_MANAGE,
                   Perm.ORDER_READ, Perm.ORDER_WRITE, Perm.GRADING_MANAGE, Perm.ALLOCATION_MANAGE, Perm.INTERACTION_WRITE,
                   Perm.VISIT_PLAN_MANAGE, Perm.SYMPOSIUM_MANAGE, Perm.CARE_MANAGE, Perm.SALES_WRITE, Perm.SALES_MANAGE, Perm.QUALIFICATION_VERIFY, Perm.QUALIFICATION_MANAGE, Perm.SURVEY_MANAGE, Perm.SURVEY_ENTER}),
    ),
    "manager": RoleSpec(
        _("Sales manager"), Scope.SUBTREE, Level.CONFIDENTIAL,
        frozenset({Perm.CUSTOMER_WRITE, Perm.CUSTOMER_DELETE, Perm.CUSTOMER_ASSIGN, Perm.COMPLAINT_HANDLE,
                   Perm.COMPLAINT_REASSIGN, Perm.COMPLAINT_REPORT, Perm.CUSTOMER_IMPORT, Perm.CUSTOMER_EXPORT,
                   Perm.CUSTOMER_MERGE, Perm.REVIEW_MANAGE, Perm.INSPECTION_MANAGE, Perm.ORDER_READ,
                   Perm.ORDER_WRITE, Perm.ALLOCATION_MANAGE, Perm.INTERACTION_WRITE, Perm.VISIT_PLAN_MANAGE,
                   Perm.SYMPOSIUM_MANAGE, Perm.CARE_MANAGE, Perm.SALES_WRITE, Perm.SALES_MANAGE, Perm.QUALIFICATION_VERIFY, Perm.QUALIFICATION_MANAGE, Perm.SURVEY_MANAGE, Perm.SURVEY_ENTER}),
    ),
    "account_manager": RoleSpec(_("Account manager"), Scope.OWN, Level.CONFIDENTIAL,
                                frozenset({Perm.CUSTOMER_WRITE, Perm.COMPLAINT_HANDLE, Perm.COMPLAINT_REPORT,
                                           Perm.CUSTOMER_IMPORT, Perm.CUSTOMER_EXPORT, Perm.ORDER_READ,
                                           Perm.ORDER_WRITE, Perm.INTERACTION_WRITE, Perm.SALES_WRITE, Perm.SURVEY_ENTER})),
    "service_agent": RoleSpec(_("Service agent"), Scope.ALL, Level.INTERNAL,
                              frozenset({Perm.COMPLAINT_HANDLE, Perm.COMPLAINT_REPORT, Perm.INTERACTION_WRITE, Perm.SURVEY_ENTER})),
    "finance": RoleSpec(_("Finance"), Scope.ALL, Level.INTERNAL,
                        frozenset({Perm.ORDER_READ, Perm.PAYMENT_WRITE, Perm.DEPOSIT_WRITE, Perm.QUALIFICATION_VERIFY})),
    "analyst": RoleSpec(_("Analyst"), Scope.ALL, Level.INTERNAL,
                        frozenset({Perm.COMPLAINT_REPORT, Perm.CUSTOMER_EXPORT, Perm.ORDER_READ})),
    # The auditor is also the data-protection officer: reads the log, answers data-subject requests,
    # sees the archive masked.
    "auditor": RoleSpec(_("Auditor / DPO"), Scope.ALL, Level.INTERNAL,
                        frozenset({Perm.AUDIT_READ, Perm.PRIVACY})),
}

ROLE_CHOICES = [(name, spec.label) for name, spec in ROLES.items()]


def spec(role: str) -> RoleSpec:
    return ROLES[role]
