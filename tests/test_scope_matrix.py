"""Security matrix: every API endpoint × every role (and anonymous).

The rules, from the policy:
- data scope: an account manager sees their own customers, a manager their department subtree, the
  executive, administrator and back office everything; a record outside the scope answers 404;
- writes are refused (403) for the read-only roles (service agent, finance, analyst, auditor);
- confidential fields (mobile, ID number, birthday, traits) are masked in every list and detail
  response, for every role; only the reveal endpoints (roles with the confidential level, record in
  scope) and the data-subject export (privacy permission) give clear values, and both are audited;
- the audit log is for the auditor and the administrator; users and catalogues for the administrator;
- anonymous requests answer 401 everywhere;
- a refused request changes nothing and leaves no audit entry; an accepted write is audited.

The expectations below are written out from the policy, not derived from kehu.access.roles, so a
wrong entry in the role table fails here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from django.db.models import Max

from kehu.access.services import token_create
from kehu.audit.models import AuditEntry
from kehu.customers import services
from kehu.customers.models import ChangeRecord, Consent, Contact, Customer
from kehu.customers.tests.factories import (
    BIRTHDAY_WANG,
    ID_LI,
    MOBILE_CHEN,
    MOBILE_LI,
    MOBILE_WANG,
    TRAITS_WANG,
    build_org,
    contact,
    module_data,
    org_customer,
    person_customer,
)

MOBILE_ZHAO = "18611112222"
CLEAR_VALUES = [MOBILE_WANG, MOBILE_LI, MOBILE_CHEN, MOBILE_ZHAO, ID_LI, BIRTHDAY_WANG, TRAITS_WANG,
                # other spellings of the same values
                "138-1234-5678", "+8613812345678", "1978-5-12", "高尔夫"]

ALL = ["admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent", "finance",
       "analyst", "auditor"]
WRITERS = {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep"}
CAN = {
    "any": set(ALL),
    "read": set(ALL),
    "write": WRITERS,
    "delete": {"admin", "executive", "manager", "north_manager"},
    "reveal": WRITERS,  # the roles holding the confidential level
    "privacy": {"admin", "auditor"},
    "catalog": {"admin"},
    "audit": {"admin", "auditor"},
    "users": {"admin"},
    "grading": {"admin", "executive"},
    "symposia": {"admin", "executive", "manager", "north_manager"},
    "care": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent"},
    # visit plans and reports: whoever records follow-ups (interaction.write) or manages visit plans
    "visits": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent"},
    # satisfaction surveys: managing them (survey.manage), entering phone / face-to-face answers (survey.enter)
    "surveys": {"admin", "executive", "manager", "north_manager"},
    "survey_enter": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent"},
    # commissions: the sales roles and finance (who settles them); rules and rates edited by sales managers
    "commissions": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "finance"},
    "commission_manage": {"admin", "executive", "manager", "north_manager"},
    # the sales pipeline, registration and ownership: sales.write / sales.manage; deals and their money also
    # finance (deposit.write)
    "sales": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep"},
    "deals": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "finance"},
    "sales_manage": {"admin", "executive", "manager", "north_manager"},
    # reception: sales reps register walk-ins and calls; managers set the duty roster (sales.manage)
    "reception": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep"},
    "reception_manage": {"admin", "executive", "manager", "north_manager"},
    # admission: documents are verified by finance and the managers (资质审查); only managers suspend or
    # reinstate (a rep never clears a suspension)
    "verify": {"admin", "executive", "manager", "north_manager", "finance"},
    "suspend": {"admin", "executive", "manager", "north_manager"},
    # the blacklist and assessments are read by sales (sales.write) and qualification (qualification.verify)
    "qualification_read": {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "finance"},
    # assessments are run by qualification.manage (销售部 managers and above)
    "assess": {"admin", "executive", "manager", "north_manager"},
}
# Who has the records of rep (张伟, 华东区) in scope.
SEES_REPS_RECORDS = {"admin", "executive", "manager", "rep", "agent", "finance", "analyst", "auditor"}


def build_world():
    org = build_org()
    tag = services.tag_create(actor=org.admin, category="规模", name="大客户")
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1, tags=[tag.pk])
    wang = contact(org.rep, hx, "王强", title="总经理", role="decision_maker", mobile="+86 138-1234-5678",
                   birthday=BIRTHDAY_WANG, traits=TRAITS_WANG)
    consent = services.consent_create(actor=org.rep, customer_id=hx.pk, data={
        "contact": wang.pk, "purpose": "产品推广短信", "channel": "纸质同意书", "evidence": "签字扫描件"})
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI, id_number=ID_LI)
    dongfang = org_customer(org.rep2, "上海东方贸易有限公司", serial=2)
    yanshan = org_customer(org.north_rep, "北京燕山机械有限公司", serial=3)
    contact(org.north_rep, yanshan, "赵磊", mobile=MOBILE_ZHAO)
    spare = token_create(actor=org.rep, name="spare")[0]
    tokens = {key: token_create(actor=user, name="matrix")[1] for key, user in org.users.items()}
    ids = {"hx": hx.pk, "li": li.pk, "wang": wang.pk, "consent": consent.pk, "spare_token": spare.pk}
    from kehu.engagement.services import interaction_create

    ids["followup"] = interaction_create(actor=org.rep, data={
        "customer": hx.pk, "channel": "visit", "summary": "拜访采购部王经理", "next_step": "发送报价",
        "next_step_due": "2026-12-20"})[0].pk
    ids["dongfang"] = dongfang.pk
    from kehu.customers.tests.factories import make_uscc
    from kehu.qualification.services import document_add

    pending = org_customer(org.rep, "嘉兴华信化工贸易有限公司", serial=4, admitted=False)
    for data in ({"kind": "business_licence", "number": make_uscc(4), "valid_to": "2031-12-31"},
                 {"kind": "invoicing", "bank": "中国工商银行嘉兴分行", "account_number": "1204060109200001234",
                  "invoice_address": "嘉兴港区中山路 8 号", "invoice_phone": "0573-85551234"}):
        ids.setdefault("doc", document_add(actor=org.rep, customer_id=pending.pk, data=data).pk)
    ids["pending"] = pending.pk
    from kehu.qualification.services import customer_suspend

    held = org_customer(org.rep, "湖州南浔永兴化工有限公司", serial=5)
    customer_suspend(actor=org.manager, customer_id=held.pk, reason="资质存疑，暂停业务往来")
    ids["held"] = held.pk
    customers = {"hx": hx.pk, "li": li.pk, "dongfang": dongfang.pk, "yanshan": yanshan.pk, "pending": pending.pk,
                 "held": held.pk}
    return org, tokens, ids, customers


world = module_data("world", build_world)


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: dict | None = None
    need: str = "read"
    scoped: bool = False  # acts on a record of rep's
    ok: int = 200
    clear: bool = False  # a success legitimately returns clear confidential values
    multipart: bool = False  # the body is a form (an upload), not JSON

    def url(self, ids) -> str:
        return "/api/v1" + self.path.format(**ids)


E = Endpoint
ENDPOINTS = [
    E("customer_list", "GET", "/customers", need="any"),
    E("customer_create", "POST", "/customers", {"name": "杭州新材料科技有限公司"}, "write", ok=201),
    E("customer_get", "GET", "/customers/{hx}", scoped=True),
    E("customer_update", "PATCH", "/customers/{hx}", {"industry": "化工", "version": 1}, "write", True),
    E("customer_delete", "DELETE", "/customers/{hx}", None, "delete", True, 204),
    E("customer_reveal", "POST", "/customers/{li}/reveal", {"field": "mobile"}, "reveal", True, clear=True),
    E("customer_reveal_id", "POST", "/customers/{li}/reveal", {"field": "id_number"}, "reveal", True, clear=True),
    E("customer_export", "GET", "/customers/{li}/export", None, "privacy", True, clear=True),
    E("customer_erase", "POST", "/customers/{li}/erase", None, "privacy", True, 204),
    E("contact_list", "GET", "/customers/{hx}/contacts", scoped=True),
    E("contact_create", "POST", "/customers/{hx}/contacts", {"name": "陈晓", "mobile": MOBILE_CHEN,
      "basis": {"basis": "contract", "purpose": "合同履行"}}, "write", True,
      201),
    E("contact_get", "GET", "/contacts/{wang}", scoped=True),
    E("contact_update", "PATCH", "/contacts/{wang}", {"title": "董事长", "version": 1}, "write", True),
    E("contact_delete", "DELETE", "/contacts/{wang}", None, "write", True, 204),
    E("contact_reveal", "POST", "/contacts/{wang}/reveal", {"field": "mobile"}, "reveal", True, clear=True),
    E("contact_reveal_birthday", "POST", "/contacts/{wang}/reveal", {"field": "birthday"}, "reveal", True,
      clear=True),
    E("contact_export", "GET", "/contacts/{wang}/export", None, "privacy", True, clear=True),
    E("contact_erase", "POST", "/contacts/{wang}/erase", None, "privacy", True, 204),
    E("consent_list", "GET", "/customers/{hx}/consents", scoped=True),
    E("consent_create", "POST", "/customers/{hx}/consents", {"purpose": "电话回访", "channel": "电话录音"}, "write",
      True, 201),
    E("consent_withdraw", "POST", "/consents/{consent}/withdraw", None, "write", True),
    E("history_list", "GET", "/customers/{hx}/history", scoped=True),
    E("tag_list", "GET", "/tags", need="any"),
    E("tag_create", "POST", "/tags", {"category": "行业", "name": "新能源"}, "catalog", ok=201),
    E("custom_field_list", "GET", "/custom-fields", need="any"),
    E("custom_field_create", "POST", "/custom-fields",
      {"key": "credit_limit", "label": "信用额度", "field_type": "number"}, "catalog", ok=201),
    E("audit_list", "GET", "/audit", need="audit"),
    E("user_list", "GET", "/users", need="users"),
    E("user_create", "POST", "/users", {"username": "newbie", "password": "Kehu#2026-gz", "role": "account_manager",
                                        "department": "总部/销售部/华南区"}, "users", ok=201),
    E("token_list", "GET", "/auth/tokens", need="any"),
    E("token_revoke_others", "DELETE", "/auth/tokens/{spare_token}", need="own_token", ok=204),
    E("grading_policy_list", "GET", "/grading/policies", need="grading"),
    E("grading_customer", "GET", "/grading/customers/{hx}", scoped=True),
    E("grading_service_policy_list", "GET", "/grading/service-policies", need="grading"),
    E("grading_service_policy_set", "POST", "/grading/service-policies", {"policy_name": "聚烯烃提货量分级",
                                                                         "grade": "三星"}, "grading"),
    E("grading_movements", "GET", "/grading/movements", need="any"),
]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ENDPOINTS += [E("visit_plan_list", "GET", "/visits/plans", need="visits"),
              E("visit_plan_generate", "POST", "/visits/plans/generate", {"year": 2026, "start": "2026-01-01"},
                "visits", ok=201),
              E("visit_scheduled_list", "GET", "/visits/scheduled", need="visits"),
              E("visit_completion", "GET", "/visits/completion", need="visits"),
              E("visit_scales", "GET", "/visits/scales", need="visits"),
              E("visit_report_list", "GET", "/visits/reports", need="visits"),
              E("visit_suggestion_list", "GET", "/visits/suggestions", need="visits"),
              E("visit_executive_list", "GET", "/visits/executive", need="visits")]
ENDPOINTS += [
    E("interaction_list", "GET", "/engagement/interactions", need="any"),
    E("interaction_get", "GET", "/engagement/interactions/{followup}", scoped=True),
    # correcting a follow-up and closing its next step: its recorder / account manager or a manager (the
    # service agent records follow-ups but does not correct the account managers')
    E("interaction_update", "PATCH", "/engagement/interactions/{followup}", {"outcome": "客户同意"}, "write", True),
    E("interaction_next_step_done", "POST", "/engagement/interactions/{followup}/next-step/done", None, "write",
      True),
]
ENDPOINTS += [E("reception_source_list", "GET", "/reception/sources", need="reception"),
              E("reception_roster_get", "GET", "/reception/roster?day=2026-12-01", need="reception"),
              E("reception_source_create", "POST", "/reception/sources", {"code": "roadshow", "name": "路演"},
                "reception_manage", ok=201),
              E("reception_my_duty", "GET", "/reception/my-duty", need="reception"),
              E("reception_entry_list", "GET", "/reception/entries", need="reception"),
              E("reception_statistics", "GET", "/reception/statistics?period=month&on=2026-12-01",
                need="reception")]
ENDPOINTS += [
    E("qualification_customer_types", "GET", "/qualification/customer-types", need="any"),
    E("qualification_document_list", "GET", "/qualification/documents", need="any"),
    E("qualification_document_get", "GET", "/qualification/documents/{doc}", scoped=True),
    E("qualification_document_add", "POST", "/qualification/customers/{hx}/documents",
      {"kind": "invoicing", "bank": "中国银行杭州分行", "account_number": "3566 5821 0001", "invoice_address": "杭州市滨江区",
       "invoice_phone": "0571-87651234"}, "write", True, 201, multipart=True),
    E("qualification_document_verify", "POST", "/qualification/documents/{doc}/verify", {"decision": "verified"},
      "verify", True),
    E("qualification_type_set", "PUT", "/qualification/customers/{pending}/type", {"customer_type": "dealer"},
      "write", True),
    E("qualification_application_list", "GET", "/qualification/applications", need="any"),
    E("qualification_application_submit", "POST", "/qualification/customers/{pending}/applications",
      {"customer_type": "direct", "legal_representative": "沈国华"}, "write", True, 201),
    E("qualification_pending_customers", "GET", "/qualification/pending-customers", need="any"),
    E("qualification_suspend", "POST", "/qualification/customers/{hx}/suspend", {"reason": "资质存疑"}, "suspend",
      True),
    E("qualification_reinstate", "POST", "/qualification/customers/{held}/reinstate", {"reason": "已核实"}, "suspend",
      True),
]
ENDPOINTS += [E("blacklist_entry_list", "GET", "/blacklist/entries", need="qualification_read"),
              E("blacklist_disqualification_list", "GET", "/blacklist/disqualifications", need="qualification_read"),
              E("blacklist_hit_list", "GET", "/blacklist/hits", need="qualification_read"),
              E("assessment_run_list", "GET", "/assessments/runs", need="qualification_read"),
              E("assessment_terms_list", "GET", "/assessments/terms", need="qualification_read"),
              E("assessment_run_create", "POST", "/assessments/runs", {"period_kind": "quarter", "year": 2026,
                                                                       "number": 3}, "assess", ok=201)]
ENDPOINTS += [E("workbench", "GET", "/workbench", need="any"),
              E("workbench_charts", "GET", "/workbench/charts", need="any")]
ENDPOINTS += [E("symposium_list", "GET", "/symposia", need="any"),
              E("symposium_check", "GET", "/symposia/check", need="symposia"),
              E("symposium_create", "POST", "/symposia", {"title": "客户座谈会", "starts_at": "2027-03-20T09:30",
                                                          "place": "杭州", "topics": ["market"]}, "symposia", ok=201),
              E("care_reminder_list", "GET", "/care/reminders", need="care"),
              E("care_profile_get", "GET", "/care/profiles/{wang}", scoped=True),
              E("calendar_events", "GET", "/calendar/events?start=2026-12-01&end=2027-01-01", need="any")]
ENDPOINTS += [E("survey_list", "GET", "/surveys/campaigns", need="surveys"),
              E("survey_create", "POST", "/surveys/campaigns", {"name": "年度客户满意度调查", "plan": "第四季度全体客户"},
                "surveys", ok=201),
              E("questionnaire_list", "GET", "/surveys/questionnaires", need="surveys"),
              E("questionnaire_create", "POST", "/surveys/questionnaires", {"title": "客户满意度调查问卷（矩阵）"},
                "surveys", ok=201),
              E("survey_interviews", "GET", "/surveys/interviews", need="survey_enter"),
              # survey analysis and action: my action items (everyone's own), follow-ups of detractors for
              # customers in scope (those who manage or enter surveys); the per-survey reports are scoped by
              # the survey (kehu/surveys/actions/tests) and declared in the permission matrix
              E("survey_action_items", "GET", "/survey-reports/actions?mine=true", need="any"),
              E("survey_follow_ups", "GET", "/survey-reports/follow-ups", need="survey_enter")]

ENDPOINTS += [E("commission_rules", "GET", "/commissions/rules", need="commissions"),
              E("commission_rule_update", "PATCH", "/commissions/rules/referral", {"share_percent": "65"},
                "commission_manage"),
              E("commission_rates", "GET", "/commissions/rates", need="commissions"),
              E("commission_rate_set", "POST", "/commissions/rates", {"prefix": "SP-", "name": "商铺",
                                                                      "rate_percent": "0.8"}, "commission_manage"),
              E("commission_splits", "GET", "/commissions/splits", need="commissions"),
              E("commission_adjustments", "GET", "/commissions/adjustments", need="commissions"),
              E("commission_statement", "GET", "/commissions/statements?month=2026-11", need="commissions"),
              E("commission_summary", "GET", "/commissions/summary?month=2026-11", need="commissions")]

ENDPOINTS += [E("sales_prospect_list", "GET", "/sales/prospects", need="sales"),
              E("sales_plan_list", "GET", "/sales/plans", need="sales"),
              E("sales_plan_create", "POST", "/sales/plans", {"title": "一季度客户开发计划", "starts_on": "2027-01-01",
                                                               "deadline": "2027-03-31", "target_prospects": 20,
                                                               "budget": "50000"}, "sales", ok=201),
              E("sales_opportunity_list", "GET", "/sales/opportunities", need="sales"),
              E("sales_forecast", "GET", "/sales/forecast", need="sales"),
              E("sales_lost_analysis", "GET", "/sales/lost-analysis", need="sales"),
              E("sales_competitor_save", "POST", "/sales/competitors", {"name": "中石化华东销售"}, "sales_manage",
                ok=201),
              E("sales_deal_list", "GET", "/sales/deals", need="deals"),
              E("sales_objects", "GET", "/sales/objects", need="deals"),
              E("sales_overdue", "GET", "/sales/instalments/overdue", need="deals"),
              E("sales_dunning_list", "GET", "/sales/dunning", need="deals"),
              E("sales_breach_list", "GET", "/sales/breach-cases", need="deals"),
              E("sales_stats", "GET", "/sales/stats", need="deals"),
              E("sales_policy_update", "PATCH", "/sales/policy", {"dunning_repeat_days": 5}, "sales_manage")]
ENDPOINTS += [E("registration_list", "GET", "/ownership/registrations", need="sales"),
              # first registration wins: 东方 (rep2's) has no registration yet, so any sales role may register it
              E("registration_create", "POST", "/ownership/registrations", {"customer": "{dongfang}", "channel": "call"},
                "sales", ok=201),
              E("pool_list", "GET", "/ownership/pool", need="sales"),
              E("pool_move_list", "GET", "/ownership/pool-moves", need="sales"),
              # releasing 华星 to the pool: its owner or a manager over it (others: not found)
              E("pool_release", "POST", "/ownership/customers/{hx}/release", {"reason": "客户无意向"}, "sales", True,
                201),
              E("referral_list", "GET", "/ownership/referrals", need="sales"),
              E("dispute_list", "GET", "/ownership/disputes", need="sales")]


def expected_status(ep: Endpoint, who: str) -> int:
    if ep.need == "own_token":  # rep's spare token: its owner or an administrator may revoke it
        return ep.ok if who in {"rep", "admin"} else 404
    if who not in CAN[ep.need]:
        return 403
    if ep.scoped and who not in SEES_REPS_RECORDS:
        return 404
    return ep.ok


def call(client, ep: Endpoint, ids, token: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    fn = getattr(client, ep.method.lower())
    if ep.method == "GET":
        return fn(ep.url(ids), **headers)
    if ep.method == "DELETE":
        return fn(ep.url(ids), **headers)
    # a body value "{name}" is the id of that record of the world
    body = {k: ids[v[1:-1]] if isinstance(v, str) and v[:1] == "{" and v[-1:] == "}" and v[1:-1] in ids else v
            for k, v in (ep.body or {}).items()}
    if ep.multipart:
        return fn(ep.url(ids), body, **headers)
    return fn(ep.url(ids), json.dumps(body), content_type="application/json", **headers)


def snapshot():
    """What a refused request must leave untouched."""
    return (AuditEntry.objects.count(), ChangeRecord.objects.count(), Contact.objects.count(),
            Consent.objects.filter(status="granted").count(),
            Customer.objects.filter(deleted_at__isnull=True).count(),
            Customer.objects.aggregate(m=Max("updated_at"))["m"])


def assert_error_format(r, status):
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["code"] == {401: "not_authenticated", 403: "forbidden", 404: "not_found"}[status]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def assert_no_clear_values(r):
    text = r.content.decode()
    decoded = json.dumps(r.json(), ensure_ascii=False) if r.content else ""
    for clear in CLEAR_VALUES:
        assert clear not in text and clear not in decoded, clear


# ---------------------------------------------------------------- every endpoint × every role

@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep.name)
def test_endpoint_answers_each_role_by_scope_and_permission(db, client, world, ep, who):
    """403 when the role may never do this, 404 when the record is outside the role's scope, the
    success status otherwise; refusals change nothing; accepted writes are audited; confidential
    values stay masked except in a reveal or export."""
    org, tokens, ids, _customers = world
    before = snapshot()
    r = call(client, ep, ids, tokens[who])
    want = expected_status(ep, who)
    assert r.status_code == want, (ep.name, who, r.status_code, r.content[:300])
    if want >= 400:
        assert_error_format(r, want)
        assert snapshot() == before
        return
    if ep.method in WRITE_METHODS or ep.clear:
        assert AuditEntry.objects.count() > before[0], "an accepted write, reveal or export is audited"
    else:
        assert AuditEntry.objects.count() == before[0]
    if not ep.clear:
        assert_no_clear_values(r)
    elif ep.name.endswith("reveal"):
        assert r.json()["value"] in (MOBILE_WANG, MOBILE_LI)
        entry = AuditEntry.objects.order_by("-id").first()
        assert entry.action.endswith(".reveal") and entry.actor_name == who
        assert entry.changes == {"field": ep.body["field"]}


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep.name)
def test_anonymous_gets_401_on_every_endpoint(db, client, world, ep):
    """Without a token or session every endpoint answers 401 and changes nothing."""
    _org, _tokens, ids, _customers = world
    before = snapshot()
    r = call(client, ep, ids, None)
    assert r.status_code == 401, (ep.name, r.content[:200])
    assert_error_format(r, 401)
    assert snapshot() == before


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep.name)
def test_unknown_token_gets_401_on_every_endpoint(db, client, world, ep):
    """A token that was never issued is the same as none."""
    _org, _tokens, ids, _customers = world
    r = call(client, ep, ids, "kehu_" + "x" * 43)
    assert r.status_code == 401
    assert_error_format(r, 401)


# ---------------------------------------------------------------- what each role sees

VISIBLE = {
    "rep": {"hx", "li", "pending", "held"}, "rep2": {"dongfang"}, "north_rep": {"yanshan"},
    "manager": {"hx", "li", "dongfang", "pending", "held"}, "north_manager": {"yanshan"},
    **{k: {"hx", "li", "dongfang", "yanshan", "pending", "held"} for k in ("admin", "executive", "agent", "finance",
                                                                            "analyst", "auditor")},
}


@pytest.mark.parametrize("who", ALL)
def test_customer_list_shows_exactly_the_roles_scope(db, client, world, who):
    """Own customers for reps, 华东区 (not 华北区) for the 华东区 manager, everything for the executive,
    administrator and back office; search never widens it."""
    _org, tokens, _ids, customers = world
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[who]}"}
    r = client.get("/api/v1/customers", {"limit": 200}, **auth)
    assert {c["id"] for c in r.json()["items"]} == {customers[k] for k in VISIBLE[who]}
    for q in ("有限公司", "hxsh", MOBILE_WANG, MOBILE_ZHAO):
        r = client.get("/api/v1/customers", {"q": q, "limit": 200}, **auth)
        assert {c["id"] for c in r.json()["items"]} <= {customers[k] for k in VISIBLE[who]}
    for key, cid in customers.items():
        r = client.get(f"/api/v1/customers/{cid}", **auth)
        assert r.status_code == (200 if key in VISIBLE[who] else 404), (who, key)


@pytest.mark.parametrize("who", ALL)
def test_workbench_figures_count_exactly_the_roles_scope(db, client, world, who):
    """The workbench's headline figures (issue 9): a manager counts the department subtree only, a rep
    their own customers, the executive and back office the company."""
    _org, tokens, _ids, _customers = world
    r = client.get("/api/v1/workbench", HTTP_AUTHORIZATION=f"Bearer {tokens[who]}")
    figures = {f["key"]: f["value"] for f in r.json()["figures"]}
    assert figures["customers"] == len(VISIBLE[who]), who
    r = client.get("/api/v1/workbench/charts", HTTP_AUTHORIZATION=f"Bearer {tokens[who]}")
    new = next(c for c in r.json()["charts"] if c["key"] == "new_customers_by_month")
    assert sum(new["series"][0]["data"]) <= len(VISIBLE[who])


MASKED = {
    "mobile": re.compile(r"^(|\d{3}\*{4}\d{4})$"),
    "id_number": re.compile(r"^(|\d{3}\*{11}[\dX]{4})$"),
    "birthday": re.compile(r"^(|\*{4}-\*{2}-\*{2})$"),
    "traits": re.compile(r"^(|\*{6})$"),
}


def assert_masked(obj):
    for field, pattern in MASKED.items():
        if field in obj:
            assert pattern.match(obj[field]), (field, obj[field])


@pytest.mark.parametrize("who", ALL)
def test_confidential_fields_are_masked_in_every_list_and_detail_for_every_role(db, client, world, who):
    """Mobile, ID number, birthday and traits come masked from every list and detail, whatever the role
    (the executive and the administrator included)."""
    _org, tokens, _ids, customers = world
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[who]}"}
    responses = [client.get("/api/v1/customers", {"limit": 200}, **auth)]
    seen_masks = set()
    for key in VISIBLE[who]:
        cid = customers[key]
        detail = client.get(f"/api/v1/customers/{cid}", **auth)
        contacts = client.get(f"/api/v1/customers/{cid}/contacts", **auth)
        responses += [detail, contacts, client.get(f"/api/v1/customers/{cid}/history", **auth),
                      client.get(f"/api/v1/customers/{cid}/consents", **auth)]
        assert_masked(detail.json())
        seen_masks.add(detail.json()["mobile"])
        for c in contacts.json()["items"]:
            assert_masked(c)
            seen_masks.add(c["mobile"])
            one = client.get(f"/api/v1/contacts/{c['id']}", **auth)
            assert_masked(one.json())
            responses.append(one)
    for item in responses[0].json()["items"]:
        assert_masked(item)
    for r in responses:
        assert r.status_code == 200
        assert_no_clear_values(r)
    if "hx" in VISIBLE[who]:
        assert {"138****5678", "139****4321"} <= seen_masks
    if who in CAN["audit"]:
        r = client.get("/api/v1/audit", {"limit": 200}, **auth)
        assert r.status_code == 200
        assert_no_clear_values(r)


@pytest.mark.parametrize("who,status", [("rep", 200), ("manager", 200), ("executive", 200), ("admin", 200),
                                        ("agent", 403), ("analyst", 403), ("finance", 403), ("auditor", 403),
                                        ("rep2", 404), ("north_rep", 404), ("north_manager", 404)])
def test_reveal_answers_by_level_and_scope(db, client, world, who, status):
    """Reveal: 200 for the owning rep, the manager in scope, the executive and the administrator;
    403 for agent, analyst, finance and auditor; 404 for anyone the record is out of scope for."""
    _org, tokens, ids, _customers = world
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens[who]}"}
    before = AuditEntry.objects.filter(action__endswith=".reveal").count()
    r1 = client.post(f"/api/v1/contacts/{ids['wang']}/reveal", "{}", content_type="application/json", **auth)
    r2 = client.post(f"/api/v1/customers/{ids['li']}/reveal", {"field": "id_number"},
                     content_type="application/json", **auth)
    r3 = client.post(f"/api/v1/contacts/{ids['wang']}/reveal", {"field": "traits"},
                     content_type="application/json", **auth)
    assert (r1.status_code, r2.status_code, r3.status_code) == (status, status, status)
    after = AuditEntry.objects.filter(action__endswith=".reveal").count()
    if status == 200:
        assert (r1.json(), r2.json(), r3.json()) == (
            {"field": "mobile", "value": MOBILE_WANG}, {"field": "id_number", "value": ID_LI},
            {"field": "traits", "value": TRAITS_WANG})
        assert after == before + 3
    else:
        assert after == before
        for r in (r1, r2, r3):
            assert_no_clear_values(r)
