"""API shapes of the customer archive. Confidential fields only ever leave masked here; the clear
value comes from a reveal endpoint, one value per audited call."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel

from kehu.access import protection

Kind = Literal["organization", "person"]
StageT = Literal["prospect", "intent", "customer", "lost"]
StatusT = Literal["pending", "active", "suspended", "disqualified"]
RoleT = Literal["decision_maker", "influencer", "purchaser", "user", "finance", "other"]


class TagOut(BaseModel):
    id: int
    name: str
    category: str


class TagIn(Schema):
    category: str = Field(..., max_length=50)
    name: str = Field(..., max_length=50)


# The hot read shapes are plain pydantic models filled by the presenters below: Ninja's Schema wraps
# every ORM object in a getter proxy, which cost ~0.4 ms a row on the customer list.
class WarningOut(BaseModel):
    code: str
    field: str
    message: str


class GradeOut(BaseModel):
    policy_name: str = Field(description="the grading policy's name")
    grade: str


class CustomerOut(BaseModel):
    id: int
    name: str
    kind: Kind
    uscc: str
    industry: str
    scale: str
    province: str
    city: str
    district: str
    province_code: str
    city_code: str
    district_code: str
    address: str
    source: str
    stage: StageT
    status: StatusT
    owner: int
    owner_name: str
    department: int | None
    department_name: str | None
    tags: list[TagOut]
    grades: list[GradeOut] = Field([], description="current grades, one per grading policy (客户分级)")
    custom: dict
    mobile: str = Field("", description="masked; reveal to see it in clear")
    id_number: str = Field("", description="masked; reveal to see it in clear")
    needs: str
    preferences: str
    pain_points: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = Field(1, description="record version (optimistic concurrency): the ETag is W/\"<version>\"; "
                                        "a PATCH sends it back as If-Match or as \"version\"")
    warnings: list[WarningOut] = Field([], description="after a write: what to check (e.g. same_mobile), not refused")
    read_only: bool = Field(False, description="opened through an assignment (inspection, complaint …) outside "
                                               "your scope: masked, no writes")


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next: str | None
    prev: str | None = Field(None, description="Cursor of the page before this one (None on the first page).")
    count: int = Field(description="Customers matching the filters: exact up to KEHU_LIST_EXACT_COUNT_MAX "
                                   "(1,000; with q, KEHU_SEARCH_EXACT_COUNT_MAX: 200), beyond it see count_kind.")
    count_kind: Literal["exact", "estimate", "at_least"] = Field(
        description="exact; estimate (PostgreSQL's planner estimate for a list without q, shown as 约 N); "
                    "at_least (more than `count` match: counting stopped there, shown as 超过 N).")


def tag_out(t) -> dict:
    return {"id": t.id, "name": t.name, "category": t.category.name}


def customer_out(c) -> dict:
    """The API shape of a customer (confidential values masked). Tags come from the list selector's
    prefetch (``tag_list``) when present."""
    tags = getattr(c, "tag_list", None)
    if tags is None:
        tags = c.tags.all()
    grades = getattr(c, "grade_list", None)  # the list selector's prefetch; one query for a single customer
    if grades is None:
        grades = c.grades.order_by("policy_name").only("policy_name", "grade")
    return {
        "id": c.id, "name": c.name, "kind": c.kind, "uscc": c.uscc, "industry": c.industry, "scale": c.scale,
        "province": c.province, "city": c.city, "district": c.district, "province_code": c.province_code,
        "city_code": c.city_code, "district_code": c.district_code, "address": c.address,
        "source": c.source, "stage": c.stage, "status": c.status, "owner": c.owner_id,
        "owner_name": str(c.owner), "department": c.department_id,
        "department_name": c.department.name if c.department_id else None,
        "tags": [tag_out(t) for t in tags], "custom": c.custom, "mobile": c.mobile_masked,
        "grades": [{"policy_name": g.policy_name, "grade": g.grade} for g in grades],
        "id_number": c.id_number_masked, "needs": c.needs, "preferences": c.preferences,
        "pain_points": c.pain_points, "created_at": c.created_at, "updated_at": c.updated_at, "version": c.version,
    }


BasisT = Literal["consent", "contract", "legal_duty"]


class BasisIn(Schema):
    """The legal basis of personal information recorded with a write (PIPL 13)."""

    basis: BasisT = Field(..., description="consent, contract (performance of a contract with the person) or legal_duty")
    purpose: str = Field(..., min_length=1, max_length=200)
    channel: str = Field("", max_length=50)
    evidence: str = Field("", max_length=300)


class SensitiveConsentIn(Schema):
    """The person's separate, explicit consent to an ID number being recorded (PIPL 29)."""

    purpose: str = Field(..., min_length=1, max_length=200)
    channel: str = Field("", max_length=50)
    evidence: str = Field("", max_length=300)


BASIS_HELP = ("Required the first time a personal field (mobile, ID number, birthday, traits) is filled for a "
              "person who has no recorded basis yet; answered 422 lawful_basis_required otherwise.")
ID_CONSENT_HELP = "Required the first time an ID number is recorded for a person without a separate consent on record."


class CustomerIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    kind: Kind = "organization"
    uscc: str = Field("", max_length=30)
    industry: str = Field("", max_length=50)
    scale: str = Field("", max_length=50)
    province: str = Field("", max_length=50)
    city: str = Field("", max_length=50)
    district: str = Field("", max_length=50)
    province_code: str | None = Field(None, max_length=6, description=(
        "GB/T 2260 code (e.g. 330000); with city_code / district_code it names the place and wins over "
        "the names. Without codes the names are matched to codes where they can be."))
    city_code: str | None = Field(None, max_length=6, description="GB/T 2260 city code (a municipality's is its own code).")
    district_code: str | None = Field(None, max_length=6, description="GB/T 2260 district / county code.")
    address: str = Field("", max_length=300)
    source: str = Field("", max_length=50)
    stage: StageT = "prospect"
    owner: int | None = None
    tags: list[int] = []
    custom: dict = {}
    mobile: str | None = Field(None, max_length=30)
    id_number: str | None = Field(None, max_length=30)
    needs: str = Field("", max_length=5000)
    preferences: str = Field("", max_length=5000)
    pain_points: str = Field("", max_length=5000)
    basis: BasisIn | None = Field(None, description=BASIS_HELP)
    id_number_consent: SensitiveConsentIn | None = Field(None, description=ID_CONSENT_HELP)
    confirm_duplicate: bool = Field(False, description="register although customers with the same normalised name "
                                                       "exist (otherwise 409 possible_duplicate with their ids)")


class CustomerPatch(Schema):
    version: int | None = Field(None, ge=1, description="the version you read, when not sent as If-Match "
                                                     "(one of the two is required; stale → 409)")
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: Kind | None = None
    uscc: str | None = Field(None, max_length=30)
    industry: str | None = Field(None, max_length=50)
    scale: str | None = Field(None, max_length=50)
    province: str | None = Field(None, max_length=50)
    city: str | None = Field(None, max_length=50)
    district: str | None = Field(None, max_length=50)
    province_code: str | None = Field(None, max_length=6, description=(
        "GB/T 2260 code (e.g. 330000); with city_code / district_code it names the place and wins over "
        "the names. Without codes the names are matched to codes where they can be."))
    city_code: str | None = Field(None, max_length=6, description="GB/T 2260 city code (a municipality's is its own code).")
    district_code: str | None = Field(None, max_length=6, description="GB/T 2260 district / county code.")
    address: str | None = Field(None, max_length=300)
    source: str | None = Field(None, max_length=50)
    stage: StageT | None = None
    owner: int | None = None
    tags: list[int] | None = None
    custom: dict | None = None
    mobile: str | None = Field(None, max_length=30)
    id_number: str | None = Field(None, max_length=30)
    needs: str | None = Field(None, max_length=5000)
    preferences: str | None = Field(None, max_length=5000)
    pain_points: str | None = Field(None, max_length=5000)
    basis: BasisIn | None = Field(None, description=BASIS_HELP)
    id_number_consent: SensitiveConsentIn | None = Field(None, description=ID_CONSENT_HELP)


class ContactOut(Schema):
    id: int
    customer: int = Field(..., alias="customer_id")
    name: str
    title: str
    role: RoleT
    reports_to: int | None = Field(None, alias="reports_to_id")
    mobile: str = Field("", alias="mobile_masked", description="masked; POST …/reveal to see it in clear")
    email: str
    wechat: str
    birthday: str
    traits: str
    preferences: str
    version: int = Field(1, description="record version (optimistic concurrency): the ETag is W/\"<version>\"; "
                                        "a PATCH sends it back as If-Match or as \"version\"")
    warnings: list[WarningOut] = []

    @staticmethod
    def resolve_warnings(obj):
        return getattr(obj, "warnings", [])

    @staticmethod
    def resolve_birthday(obj):
        return protection.mask_date(obj.birthday)

    @staticmethod
    def resolve_traits(obj):
        return protection.mask_text(obj.traits)


class ContactPage(Schema):
    items: list[ContactOut]
    next: str | None


class ContactIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    title: str = Field("", max_length=100)
    role: RoleT = "other"
    reports_to: int | None = None
    mobile: str | None = Field(None, max_length=30)
    email: str = Field("", max_length=254)
    wechat: str = Field("", max_length=64)
    birthday: dt.date | None = None
    traits: str = Field("", max_length=2000)
    preferences: str = Field("", max_length=2000)
    basis: BasisIn | None = Field(None, description=BASIS_HELP)


class ContactPatch(Schema):
    version: int | None = Field(None, ge=1, description="the version you read, when not sent as If-Match "
                                                     "(one of the two is required; stale → 409)")
    name: str | None = Field(None, min_length=1, max_length=100)
    title: str | None = Field(None, max_length=100)
    role: RoleT | None = None
    reports_to: int | None = None
    mobile: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=254)
    wechat: str | None = Field(None, max_length=64)
    birthday: dt.date | None = None
    traits: str | None = Field(None, max_length=2000)
    preferences: str | None = Field(None, max_length=2000)
    basis: BasisIn | None = Field(None, description=BASIS_HELP)


class RevealIn(Schema):
    field: Literal["mobile", "id_number", "birthday", "traits"] = "mobile"


class RevealOut(Schema):
    field: str
    value: str


class ConsentOut(Schema):
    id: int
    customer: int = Field(..., alias="customer_id")
    contact: int | None = Field(None, alias="contact_id")
    purpose: str
    scope: str
    channel: str
    evidence: str
    status: Literal["granted", "withdrawn"]
    basis: BasisT
    sensitive: bool
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None


class ConsentPage(Schema):
    items: list[ConsentOut]
    next: str | None


class ConsentIn(Schema):
    contact: int | None = None
    purpose: str = Field(..., min_length=1, max_length=200)
    scope: str = Field("", max_length=200)
    channel: str = Field(..., min_length=1, max_length=50)
    evidence: str = Field("", max_length=300)
    granted_at: dt.datetime | None = None
    basis: BasisT = "consent"
    sensitive: bool = Field(False, description="the separate consent sensitive information (the ID number) needs")


class ChangeOut(Schema):
    id: int
    at: dt.datetime
    actor: str = Field(..., alias="actor_name")
    object_type: str
    object_id: int
    action: str
    changes: dict


class ChangePage(Schema):
    items: list[ChangeOut]
    next: str | None


class CustomFieldIn(Schema):
    key: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,49}$")
    label: str = Field(..., min_length=1, max_length=100)
    field_type: Literal["text", "number", "date", "choice", "boolean"]
    choices: list[str] = []
    required: bool = False


class CustomFieldOut(Schema):
    id: int
    key: str
    label: str
    field_type: str
    choices: list
    required: bool


# ---------------------------------------------------------------- duplicates and merges

class CandidateCustomerOut(BaseModel):
    id: int
    name: str
    kind: Kind
    uscc: str
    mobile: str = Field("", description="masked")
    city: str
    owner: int
    owner_name: str
    department_name: str | None
    updated_at: dt.datetime


class CandidateOut(BaseModel):
    id: int
    score: int
    state: Literal["open", "merged", "dismissed"]
    reasons: list[dict]
    customer_a: CandidateCustomerOut
    customer_b: CandidateCustomerOut
    detected_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None


class CandidatePage(BaseModel):
    items: list[CandidateOut]
    next: str | None


class ScanOut(BaseModel):
    job: str
    state: str


def _candidate_customer_out(c) -> dict:
    return {"id": c.id, "name": c.name, "kind": c.kind, "uscc": c.uscc, "mobile": c.mobile_masked, "city": c.city,
            "owner": c.owner_id, "owner_name": str(c.owner), "updated_at": c.updated_at,
            "department_name": c.department.name if c.department_id else None}


def candidate_out(d) -> dict:
    return {"id": d.id, "score": d.score, "state": d.state, "reasons": d.reasons,
            "customer_a": _candidate_customer_out(d.customer_a), "customer_b": _candidate_customer_out(d.customer_b),
            "detected_at": d.detected_at, "decided_at": d.decided_at,
            "decided_by": str(d.decided_by) if d.decided_by_id else None}


MergeSide = Literal["survivor", "loser"]


class MergeIn(Schema):
    loser: int
    choices: dict[str, MergeSide] = Field(default_factory=dict,
                                          description="field → which record's value survives (default: the survivor's, "
                                                      "its blanks filled from the loser)")


class MergeOut(BaseModel):
    id: int
    survivor: int
    survivor_name: str
    loser: int
    loser_name: str
    at: dt.datetime
    by: str | None
    moved: dict[str, int] = Field(description="model label → rows moved to the survivor")
    kept: dict[str, int] = Field(description="model label → rows left on the tombstone (already on the survivor)")
    undone_at: dt.datetime | None
    undo_until: dt.datetime | None


class MergePage(BaseModel):
    items: list[MergeOut]
    next: str | None


def merge_out(m) -> dict:
    from kehu.customers.merge import undo_days

    def counts(key):
        return {label: sum(len(p) for p in fields.values()) for label, fields in m.moved.get(key, {}).items()}

    return {"id": m.id, "survivor": m.survivor_id, "survivor_name": m.survivor.name, "loser": m.loser_id,
            "loser_name": m.loser.name, "at": m.at, "by": str(m.actor) if m.actor_id else None,
            "moved": counts("moved"), "kept": counts("kept"), "undone_at": m.undone_at,
            "undo_until": None if m.undone_at else m.at + dt.timedelta(days=undo_days())}
