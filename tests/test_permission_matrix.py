"""Permission matrix (issue 8, "permissions enforced where the data is read"): every GET operation of
the OpenAPI document × every role of the role table (kehu/access/roles.py) × {the caller's own record,
another owner's record in the same department, another department's record} answers exactly what
the role table allows:

- 403 when the role lacks the operation's permission (whatever the record: the permission is checked
  where the data is read, so the API and the pages cannot disagree);
- 404 when the record is outside the role's data scope (own / department subtree / all), or absent;
- 200 otherwise.

The expectation of each operation is declared in ``OPERATIONS`` below (its permission and how its
records are scoped); the statuses are computed from the role table. An operation of the OpenAPI
document without an entry fails ``test_every_get_operation_is_declared``: a new endpoint must say
who may read it. Cases that fail because of a known bug in another app are listed in ``KNOWN_BUGS``
(strict xfail: they fail the suite once fixed, so the mark is removed then).

The owner's view: the records are 张伟's (rep, 华东区) — "own" for the account manager —, 刘洋's (rep2,
华东区: another owner, same department) and 陈静's (north_rep, 华北区: another department). The caller
of each role is conftest's user of that role (the manager is 华东区's)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import pytest

from kehu.access.roles import ROLES, Perm, Scope
from kehu.access.services import token_create
from kehu.api import api
from kehu.customers.tests.factories import (
    build_org,
    contact,
    make_id_number,
    module_data,
    org_customer,
    person_customer,
)

VARIANTS = ("own", "other_owner", "other_department")
OWNER_OF = {"own": "rep", "other_owner": "rep2", "other_department": "north_rep"}
# The caller of each role (conftest's org); a role added to the table must be given one here.
CALLER = {"admin": "admin", "executive": "executive", "manager": "manager", "account_manager": "rep",
          "service_agent": "agent", "finance": "finance", "analyst": "analyst", "auditor": "auditor"}
ABSENT_ID = "2147480000"


@dataclass(frozen=True)
class Op:
    """How an operation is guarded. ``perm``: the permission(s) needed (any of them; None: every
    signed-in user). ``records``: None for a collection (no record in the path); "scoped" for a record
    owned like a customer (owner / department, scope_q); "approval" for an approval request (its
    requester, its approvers, managers over the requester's department, approval.read_all); "absent"
    for records this matrix does not build (an unknown id: 404 to whoever may read such records)."""

    perm: str | tuple[str, ...] | None = None
    records: str | None = None
    world: str = ""  # which record family fills the path parameter
    params: dict = field(default_factory=dict)
    public: bool = False

    def perms(self) -> tuple[str, ...]:
        return () if self.perm is None else ((self.perm,) if isinstance(self.perm, str) else self.perm)


HANDLE, REPORT = Perm.COMPLAINT_HANDLE, Perm.COMPLAINT_REPORT
INSPECTIONS = (Perm.COMPLAINT_HANDLE, Perm.INSPECTION_MANAGE)
VISITS = (Perm.INTERACTION_WRITE, Perm.VISIT_PLAN_MANAGE)
# commissions: the sales roles (own / department subtree) and finance, who settles them
COMMISSIONS = (Perm.SALES_WRITE, Perm.SALES_MANAGE, Perm.DEPOSIT_WRITE)
SALES = (Perm.SALES_WRITE, Perm.SALES_MANAGE)
SALES_DEALS = (Perm.SALES_WRITE, Perm.SALES_MANAGE, Perm.DEPOSIT_WRITE)
RECEPTION = (Perm.SALES_WRITE, Perm.SALES_MANAGE)
OPERATIONS: dict[str, Op] = {
    # access
    "/auth/tokens": Op(),
    "/users": Op(Perm.USER_MANAGE),
    "/users/{user_id}/tokens": Op(Perm.USER_MANAGE, records="absent"),
    # customers
    "/customers": Op(),
    "/customers/export": Op(Perm.CUSTOMER_EXPORT),
    "/customers/{customer_id}": Op(records="scoped", world="customer"),
    "/customers/{customer_id}/export": Op(Perm.PRIVACY, records="scoped", world="person"),
    "/customers/{customer_id}/contacts": Op(records="scoped", world="customer"),
    "/customers/{customer_id}/consents": Op(records="scoped", world="customer"),
    "/customers/{customer_id}/history": Op(records="scoped", world="customer"),
    "/contacts/{contact_id}": Op(records="scoped", world="contact"),
    "/contacts/{contact_id}/export": Op(Perm.PRIVACY, records="scoped", world="contact"),
    "/tags": Op(),
    "/custom-fields": Op(),
    "/duplicates": Op(Perm.CUSTOMER_MERGE),
    "/duplicates/{candidate_id}": Op(Perm.CUSTOMER_MERGE, records="absent"),
    "/merges": Op(Perm.CUSTOMER_MERGE),
    "/merges/{merge_id}": Op(Perm.CUSTOMER_MERGE, records="absent"),
    "/review-runs": Op(Perm.REVIEW_MANAGE),
    "/review-runs/{run_id}": Op(Perm.REVIEW_MANAGE, records="absent"),
    "/review-items": Op(),
    "/review-items/{item_id}": Op(records="absent"),
    # audit
    "/audit": Op(Perm.AUDIT_READ),
    # working days
    "/workdays": Op(),
    "/workdays/add": Op(params={"date": "2026-09-30", "days": 3}),
    "/workdays/due": Op(params={"received_at": "2026-09-30T10:00:00+08:00", "days": 3}),
    "/workdays/between": Op(params={"start": "2026-09-30T10:00:00+08:00", "end": "2026-10-10T10:00:00+08:00"}),
    # complaints
    "/complaints": Op(HANDLE),
    "/complaints/{complaint_id}": Op(HANDLE, records="scoped", world="complaint"),
    "/complaints/{complaint_id}/events": Op(HANDLE, records="scoped", world="complaint"),
    "/complaints/{complaint_id}/customer-candidates": Op(HANDLE, records="scoped", world="complaint"),
    "/complaints/reports/sla": Op(REPORT),
    "/complaints/reports/causes": Op(REPORT),
    "/complaints/reports/categories": Op(REPORT),
    "/complaints/reports/repeat": Op(REPORT),
    "/complaints/reports/handling-time": Op(REPORT),
    "/public/complaints/{tracking_no}": Op(records="absent", params={"phone": "13800000000"}, public=True),
    # service requests, emergencies, duty roster, inspections
    "/service-requests": Op(HANDLE),
    "/service-requests/{ticket_id}": Op(HANDLE, records="scoped", world="ticket"),
    "/on-duty": Op(HANDLE),
    "/inspection-checklists": Op(INSPECTIONS),
    "/inspection-checklists/{checklist_id}": Op(INSPECTIONS, records="absent"),
    "/inspection-plans": Op(INSPECTIONS),
    "/inspection-plans/{plan_id}": Op(INSPECTIONS, records="absent"),
    "/inspection-visits": Op(INSPECTIONS),
    "/inspection-visits/{visit_id}": Op(INSPECTIONS, records="absent"),
    # approvals
    "/approvals/inbox": Op(),
    "/approvals/requests": Op(),
    "/approvals/requests/{request_id}": Op(records="approval", world="approval"),
    "/approvals/delegations": Op(),
    "/approvals/chains": Op(),
    # notifications
    "/notifications": Op(),
    # orders (read through the customer's scope; order.read)
    "/orders": Op(Perm.ORDER_READ),
    "/orders/{order_id}": Op(Perm.ORDER_READ, records="scoped", world="order"),
    # order / payment imports: the uploader's own jobs (an unknown id is 404 to whoever may import)
    "/order-imports": Op((Perm.ORDER_WRITE, Perm.PAYMENT_WRITE)),
    "/order-imports/{job_id}": Op((Perm.ORDER_WRITE, Perm.PAYMENT_WRITE), records="absent"),
    "/payments": Op(Perm.ORDER_READ),
    "/payments/{payment_id}": Op(Perm.ORDER_READ, records="scoped", world="payment"),
    "/customers/{customer_id}/payment-terms": Op(Perm.ORDER_READ, records="scoped", world="customer"),
    # grading: policies and runs are the administrators' and executives'; a customer's grades follow its scope
    "/grading/policies": Op(Perm.GRADING_MANAGE),
    "/grading/policies/{policy_id}": Op(Perm.GRADING_MANAGE, records="absent"),
    "/grading/policies/{policy_id}/runs": Op(Perm.GRADING_MANAGE, records="absent"),
    "/grading/customers/{customer_id}": Op(records="scoped", world="customer"),
    "/grading/customers/{customer_id}/scores": Op(records="scoped", world="customer"),
    "/grading/movements": Op(),
    "/grading/service-policies": Op(Perm.GRADING_MANAGE),
    # resource allocation: plans and shares follow their customer's scope (order.read); rounds are the
    # company's (their totals only for allocation.manage)
    "/allocation/plans": Op(Perm.ORDER_READ),
    "/allocation/plans/{plan_id}": Op(Perm.ORDER_READ, records="scoped", world="plan"),
    "/allocation/rounds": Op(Perm.ORDER_READ),
    "/allocation/rounds/{round_id}": Op(Perm.ORDER_READ, records="absent"),
    "/allocation/rounds/{round_id}/chart": Op(Perm.ORDER_READ, records="absent"),
    "/allocation/customers/{customer_id}/shares": Op(Perm.ORDER_READ, records="scoped", world="customer"),
    # follow-ups (跟进记录): reading follows the customer's scope, for every signed-in role
    "/engagement/interactions": Op(),
    "/engagement/interactions/{interaction_id}": Op(records="scoped", world="interaction"),
    "/engagement/interactions/{interaction_id}/attachments/{attachment_id}": Op(records="absent"),
    # workbench: everyone's own to-dos and figures of their scope (the scope matrix checks the figures)
    "/workbench": Op(),
    "/workbench/charts": Op(),
    # visit plans and reports (客户走访): account managers and leaders, rows in the rep's scope (the visits'
    # own scope tests build the records: kehu/engagement/visits/tests/test_api_pages.py)
    "/visits/plans": Op(VISITS),
    "/visits/plans/{plan_id}": Op(VISITS, records="absent"),
    "/visits/scheduled": Op(VISITS),
    "/visits/scheduled/{visit_id}": Op(VISITS, records="absent"),
    "/visits/completion": Op(VISITS),
    "/visits/scales": Op(VISITS),
    "/visits/reports": Op(VISITS),
    "/visits/reports/{report_id}": Op(VISITS, records="absent"),
    "/visits/suggestions": Op(VISITS),
    "/visits/suggestions/{suggestion_id}": Op(VISITS, records="absent"),
    "/visits/executive": Op(VISITS),
    "/visits/executive/{visit_id}": Op(VISITS, records="absent"),
    # sales pipeline (kehu/sales): prospects, plans and opportunities for sales; deals and their money also for
    # finance (deposit.write); rows in the rep's scope (the pipeline's own scope tests build the records)
    "/sales/catalogue": Op(SALES_DEALS),
    "/sales/prospects": Op(SALES),
    "/sales/plans": Op(SALES),
    "/sales/plans/{plan_id}": Op(SALES, records="absent"),
    "/sales/plans/{plan_id}/progress": Op(SALES, records="absent"),
    "/sales/opportunities": Op(SALES),
    "/sales/opportunities/{opportunity_id}": Op(SALES, records="absent"),
    "/sales/forecast": Op(SALES),
    "/sales/lost-analysis": Op(SALES),
    "/sales/objects": Op(SALES_DEALS),
    "/sales/deals": Op(SALES_DEALS),
    "/sales/deals/{deal_id}": Op(SALES_DEALS, records="absent"),
    "/sales/instalments/overdue": Op(SALES_DEALS),
    "/sales/dunning": Op(SALES_DEALS),
    "/sales/dunning/{notice_id}": Op(SALES_DEALS, records="absent"),
    "/sales/breach-cases": Op(SALES_DEALS),
    "/sales/stats": Op(SALES_DEALS),
    "/sales/policy": Op(SALES_DEALS),
    # imports
    "/imports": Op(Perm.CUSTOMER_IMPORT),
    "/imports/fields": Op(Perm.CUSTOMER_IMPORT),
    "/imports/{job_id}": Op(Perm.CUSTOMER_IMPORT, records="absent"),
    "/imports/{job_id}/errors": Op(Perm.CUSTOMER_IMPORT, records="absent"),
    "/import-mappings": Op(Perm.CUSTOMER_IMPORT),
    "/import-mappings/{mapping_id}": Op(Perm.CUSTOMER_IMPORT, records="absent"),
    # symposia: seen by their planners' scope and by the owners of invited customers (an unknown id: 404)
    "/symposia": Op(),
    "/symposia/check": Op(Perm.SYMPOSIUM_MANAGE),
    "/symposia/segment-preview": Op(Perm.SYMPOSIUM_MANAGE),
    "/symposia/{symposium_id}": Op(records="absent"),
    "/symposia/{symposium_id}/invitations": Op(records="absent"),
    "/symposia/{symposium_id}/items": Op(records="absent"),
    # care: those who look after customers (follow-ups or care management), in the customers' scope
    "/care/reminders": Op((Perm.INTERACTION_WRITE, Perm.CARE_MANAGE)),
    "/care/reminders/{reminder_id}": Op((Perm.INTERACTION_WRITE, Perm.CARE_MANAGE), records="absent"),
    "/care/product-notices": Op((Perm.INTERACTION_WRITE, Perm.CARE_MANAGE)),
    "/care/profiles/{contact_id}": Op(records="scoped", world="contact"),
    # admission (准入): documents and applications of the customers in scope
    "/qualification/customer-types": Op(),
    "/qualification/documents": Op(),
    "/qualification/documents/{document_id}": Op(records="scoped", world="document"),
    "/qualification/documents/{document_id}/file": Op(records="absent"),
    "/qualification/applications": Op(),
    "/qualification/applications/{application_id}": Op(records="absent"),
    "/qualification/pending-customers": Op(),
    # the personal calendar: everyone's own
    "/calendar/events": Op(params={"start": "2026-12-01", "end": "2027-01-01"}),
    "/calendar/token": Op(),
    # satisfaction surveys (满意度调查): questionnaires and surveys for those who manage surveys, surveys in their
    # scope (the survey app's own scope tests build the records: kehu/surveys/tests/test_surveys.py); the
    # interviews of those who enter phone / face-to-face answers
    "/surveys/questionnaires": Op(Perm.SURVEY_MANAGE),
    "/surveys/questionnaires/{questionnaire_id}": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/surveys/campaigns": Op(Perm.SURVEY_MANAGE),
    "/surveys/campaigns/{campaign_id}": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/surveys/campaigns/{campaign_id}/invitations": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/surveys/interviews": Op(Perm.SURVEY_ENTER),
    # survey analysis and action (调查分析、报告与改进行动): a survey's figures, report, export, charts and action plan
    # for those who manage surveys (surveys in scope; records built in kehu/surveys/actions/tests); action items
    # for everyone (their own, or of the surveys they see); follow-ups of detractors for those who manage or enter
    # surveys, customers in scope
    "/survey-reports/campaigns/{campaign_id}/analysis": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/survey-reports/campaigns/{campaign_id}/report": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/survey-reports/campaigns/{campaign_id}/report/export": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/survey-reports/campaigns/{campaign_id}/charts": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/survey-reports/campaigns/{campaign_id}/actions": Op(Perm.SURVEY_MANAGE, records="absent"),
    "/survey-reports/actions": Op(),
    "/survey-reports/actions/{item_id}": Op(records="absent"),
    "/survey-reports/follow-ups": Op((Perm.SURVEY_MANAGE, Perm.SURVEY_ENTER)),
    "/survey-reports/follow-ups/{follow_up_id}": Op((Perm.SURVEY_MANAGE, Perm.SURVEY_ENTER), records="absent"),
    # commissions (佣金): rules and rates, splits of won deals, adjustments, monthly statements (the caller's
    # own by default; another rep's outside the scope is 404: kehu/sales/commissions/tests)
    "/commissions/rules": Op(COMMISSIONS),
    "/commissions/rates": Op(COMMISSIONS),
    "/commissions/splits": Op(COMMISSIONS),
    "/commissions/deals/{deal_id}": Op(COMMISSIONS, records="absent"),
    "/commissions/adjustments": Op(COMMISSIONS),
    "/commissions/statements": Op(COMMISSIONS, params={"month": "2026-11"}),
    "/commissions/summary": Op(COMMISSIONS, params={"month": "2026-11"}),
    # reception rotation and the visitor and call register (排班轮流接待 / 来人来电登记): sales reps and managers;
    # entries scoped by their receiving rep (the reception tests build them: kehu/sales/reception/tests)
    "/reception/sources": Op(RECEPTION),
    "/reception/roster": Op(RECEPTION),
    "/reception/my-duty": Op(RECEPTION),
    "/reception/entries": Op(RECEPTION),
    "/reception/entries/{entry_id}": Op(RECEPTION, records="absent"),
    "/reception/statistics": Op(RECEPTION),
    # registration and ownership (客户登记 / 报备, 公海): sales roles; registrations by the rep's scope, the pool
    # to every sales role (records built in kehu/sales/ownership/tests/test_api_pages.py)
    "/ownership/registrations": Op(SALES),
    "/ownership/registrations/{registration_id}": Op(SALES, records="absent"),
    "/ownership/pool": Op(SALES),
    "/ownership/pool-moves": Op(SALES),
    "/ownership/referrals": Op(SALES),
    "/ownership/referrals/{referral_id}": Op(SALES, records="absent"),
    "/ownership/disputes": Op(SALES),
    "/ownership/disputes/{dispute_id}": Op(SALES, records="absent"),
    # disqualification and the blacklist (取消客户资格 / 黑名单): sales and qualification, rows in the scope of the
    # customer's owner when listed (records built by kehu/qualification/blacklist/tests)
    "/blacklist/disqualifications": Op((Perm.SALES_WRITE, Perm.QUALIFICATION_VERIFY)),
    "/blacklist/disqualifications/{disqualification_id}": Op((Perm.SALES_WRITE, Perm.QUALIFICATION_VERIFY),
                                                             records="absent"),
    "/blacklist/disqualifications/{disqualification_id}/evidence/{evidence_id}": Op(
        (Perm.SALES_WRITE, Perm.QUALIFICATION_VERIFY), records="absent"),
    "/blacklist/entries": Op((Perm.SALES_WRITE, Perm.QUALIFICATION_VERIFY)),
    "/blacklist/entries/{entry_id}": Op((Perm.SALES_WRITE, Perm.QUALIFICATION_VERIFY), records="absent"),
    "/blacklist/hits": Op((Perm.SALES_WRITE, Perm.QUALIFICATION_VERIFY)),
    # customer assessments (客户考评): runs company-wide, rows in the scope of the customer's owner
    "/assessments/runs": Op((Perm.QUALIFICATION_VERIFY, Perm.SALES_WRITE)),
    "/assessments/runs/{run_id}": Op((Perm.QUALIFICATION_VERIFY, Perm.SALES_WRITE), records="absent"),
    "/assessments/runs/{run_id}/rows": Op((Perm.QUALIFICATION_VERIFY, Perm.SALES_WRITE), records="absent"),
    "/assessments/runs/{run_id}/export": Op((Perm.QUALIFICATION_VERIFY, Perm.SALES_WRITE), records="absent"),
    "/assessments/rows/{assessment_id}": Op((Perm.QUALIFICATION_VERIFY, Perm.SALES_WRITE), records="absent"),
    "/assessments/terms": Op((Perm.QUALIFICATION_VERIFY, Perm.SALES_WRITE)),
}

# (operation, role) → why it fails today. Strict: once fixed, the case passes and the mark must go.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@functools.cache
def _api_get_operations() -> dict[str, dict]:
    prefix = "/api/v1"
    return {path[len(prefix):]: methods["get"] for path, methods in api.get_openapi_schema()["paths"].items()
            if "get" in methods}


def build_world():
    """The three owners' records of each family (a company customer, a person customer, a contact, a
    complaint, a service request, an approval request, an order, a payment, a monthly plan), and a token
    per caller."""
    from kehu.approvals.services import approval_request
    from kehu.engagement.services import interaction_create
    from kehu.grading.allocation.services import plan_create
    from kehu.orders.services import order_create, payment_record
    from kehu.qualification.services import document_add
    from kehu.service_desk.services import complaint_record
    from kehu.service_desk.tickets.services import ticket_record

    org = build_org()
    records: dict[str, dict[str, int]] = {k: {} for k in ("customer", "person", "contact", "complaint", "ticket",
                                                          "approval", "order", "payment", "plan")}
    for serial, (variant, owner_key) in enumerate(OWNER_OF.items(), start=1):
        owner = org.users[owner_key]
        customer = org_customer(owner, f"矩阵测试{owner_key}科技有限公司", serial=serial)
        records["customer"][variant] = customer.pk
        records["contact"][variant] = contact(owner, customer, f"联系人{serial}").pk
        records["person"][variant] = person_customer(owner, f"个人客户{serial}", mobile=f"1391234567{serial}",
                                                     id_number=make_id_number(seq=f"40{serial}")).pk
        records["complaint"][variant] = complaint_record(actor=owner, data={
            "complainant_name": "李先生", "subject": "送货延误", "description": "货物晚到三天", "channel": "letter",
            "customer": customer.pk}).pk
        records["ticket"][variant] = ticket_record(actor=owner, data={
            "customer": customer.pk, "kind": "repair", "channel": "phone", "subject": "设备报修",
            "description": "压缩机异响"}).pk
        records["approval"][variant] = approval_request(actor=owner, chain_code="complaint.solution.general",
                                                        target=customer, title=f"处理方案 {serial}").pk
        records["order"][variant] = order_create(actor=owner, customer_id=customer.pk, data={
            "order_date": "2026-11-02", "product_line": "聚乙烯 PE", "quantity": "12.5", "unit": "t",
            "amount": "98000.00", "channel": "direct"}).order.pk
        records["plan"][variant] = plan_create(actor=org.admin, data={
            "customer": customer.pk, "month": "2026-12", "product_line": "聚乙烯 PE",
            "participant_type": "exclusive_agent", "quantity_t": "800"}).pk
        records["payment"][variant] = payment_record(actor=org.admin, customer_id=customer.pk, data={
            "due_date": "2026-12-02", "amount": "98000.00"}).payment.pk
        records.setdefault("document", {})[variant] = document_add(actor=owner, customer_id=customer.pk, data={
            "kind": "business_licence", "number": f"浙工商{serial:06d}", "valid_to": "2030-12-31"}).pk
        records.setdefault("interaction", {})[variant] = interaction_create(actor=owner, data={
            "customer": customer.pk, "channel": "phone", "summary": "电话沟通提货计划"})[0].pk
    tokens = {role: token_create(actor=org.users[key], name="matrix")[1] for role, key in CALLER.items()}
    return org, records, tokens


world = module_data("world", build_world)


def _in_scope(caller, owner) -> bool:
    scope = ROLES[caller.role].scope
    if scope == Scope.ALL:
        return True
    if scope == Scope.SUBTREE:
        return owner.department.path.startswith(caller.department.path)
    return owner.pk == caller.pk


def _sees_approval(caller, owner) -> bool:
    """Requester, approvers (the requester's line manager), managers over the requester's department,
    approval.read_all."""
    spec = ROLES[caller.role]
    if Perm.APPROVAL_READ_ALL in spec.perms or caller.pk == owner.pk:
        return True
    return spec.scope == Scope.SUBTREE and owner.department.path.startswith(caller.department.path)


def expected(op: Op, role: str, variant: str | None, org) -> int:
    if op.perms() and not any(p in ROLES[role].perms for p in op.perms()):
        return 403
    if op.records is None:
        return 200
    if op.records == "absent":
        return 404
    caller, owner = org.users[CALLER[role]], org.users[OWNER_OF[variant]]
    visible = _sees_approval(caller, owner) if op.records == "approval" else _in_scope(caller, owner)
    return 200 if visible else 404


def _url(path: str, op: Op, records, variant: str | None) -> str:
    value = ABSENT_ID if op.records == "absent" else (str(records[op.world][variant]) if op.world else "")
    return "/api/v1" + re.sub(r"\{[^}]+\}", value, path)


def test_every_role_has_a_caller():
    assert set(CALLER) == set(ROLES), "give each role of kehu/access/roles.py a caller in this matrix"


def test_every_get_operation_is_declared():
    """A new GET endpoint fails here until OPERATIONS says who may read it."""
    missing = sorted(set(_api_get_operations()) - set(OPERATIONS))
    assert not missing, f"declare these GET operations in tests/test_permission_matrix.py OPERATIONS: {missing}"


def test_declared_public_operations_are_the_unsecured_ones():
    ops = _api_get_operations()
    for path, op in OPERATIONS.items():
        if path in ops:
            assert bool(ops[path].get("security")) != op.public, path


def _cases():
    for path in OPERATIONS:
        for role in ROLES:
            marks = []
            if (path, role) in KNOWN_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(path, role)]))
            yield pytest.param(path, role, id=f"GET {path} as {role}", marks=marks)


@pytest.mark.parametrize(("path", "role"), list(_cases()))
def test_get_operation_answers_each_role_what_the_role_table_allows(db, client, world, path, role):
    """200 / 403 / 404 for the caller's own record, another owner's and another department's, as
    computed from the role table."""
    if path not in _api_get_operations():
        pytest.skip("not in this build's API")
    org, records, tokens = world
    op = OPERATIONS[path]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[role]}"}
    variants = VARIANTS if op.records in ("scoped", "approval") else (None,)
    got, want = {}, {}
    for variant in variants:
        r = client.get(_url(path, op, records, variant), op.params, **auth)
        got[variant], want[variant] = r.status_code, expected(op, role, variant, org)
    assert got == want, (path, role)
