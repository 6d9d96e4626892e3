"""/api/v1/surveys/…: questionnaires with versions and approval, the survey procedure (plan → … → re-evaluation), campaigns, personal links, responses. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema, Status
from pydantic import Field

from kehu.surveys import selectors, services
from kehu.surveys.models import Campaign, Invitation, Questionnaire

router = Router(tags=["surveys"])


# ---------------------------------------------------------------- shapes

class QuestionOut(Schema):
    id: int
    position: int
    dimension: str
    kind: str
    text: str
    options: list
    required: bool


class QuestionnaireOut(Schema):
    id: int
    title: str
    version: int
    status: str
    based_on: int | None
    introduction: str
    approved_by: str | None
    approved_at: dt.datetime | None
    created_at: dt.datetime
    questions: list[QuestionOut] | None = None
    n_questions: int | None = None


class QuestionnairePage(Schema):
    items: list[QuestionnaireOut]
    next: str | None


class StepOut(Schema):
    from_stage: str
    to_stage: str
    actor: str | None
    at: dt.datetime
    note: str
    data: dict


class ChannelRate(Schema):
    channel: str
    invited: int
    responded: int
    sent: int
    rate: float | None


class RatesOut(Schema):
    invited: int
    responded: int
    sent: int
    rate: float | None
    channels: list[ChannelRate]


class CampaignOut(Schema):
    id: int
    name: str
    stage: str
    owner: int
    owner_name: str
    questionnaire: int | None
    previous: int | None
    channel: str
    segment: dict
    opens_on: dt.date | None
    closes_on: dt.date | None
    created_at: dt.datetime
    invited: int | None = None
    responded: int | None = None
    next_stages: list[str]


class CampaignDetail(CampaignOut):
    plan: str
    link_days: int
    rates: RatesOut
    steps: list[StepOut]


class CampaignPage(Schema):
    items: list[CampaignOut]
    next: str | None


class InvitationOut(Schema):
    id: int
    campaign: int
    customer: int
    customer_name: str
    contact_name: str | None
    channel: str
    assigned_to: int | None
    sent_at: dt.datetime | None
    expires_at: dt.datetime | None
    reminders: int
    responded_at: dt.datetime | None


class InvitationPage(Schema):
    items: list[InvitationOut]
    next: str | None


class LinkOut(Schema):
    invitation: int
    url: str
    expires_at: dt.datetime


class ResponseOut(Schema):
    id: int
    campaign: int
    customer: int
    channel: str
    submitted_at: dt.datetime
    answers: int


def questionnaire_out(q: Questionnaire, *, questions: bool = False) -> dict:
    out = {"id": q.pk, "title": q.title, "version": q.version, "status": q.status, "based_on": q.based_on_id,
           "introduction": q.introduction, "approved_by": str(q.approved_by) if q.approved_by_id else None,
           "approved_at": q.approved_at, "created_at": q.created_at, "n_questions": getattr(q, "n_questions", None)}
    if questions:
        out["questions"] = [{"id": x.pk, "position": x.position, "dimension": x.dimension, "kind": x.kind,
                             "text": x.text, "options": x.options, "required": x.required}
                            for x in q.questions.order_by("position")]
    return out


def campaign_out(c: Campaign) -> dict:
    from kehu.surveys.rules import allowed_moves

    return {"id": c.pk, "name": c.name, "stage": c.stage, "owner": c.owner_id, "owner_name": str(c.owner),
            "questionnaire": c.questionnaire_id, "previous": c.previous_id, "channel": c.channel,
            "segment": c.segment, "opens_on": c.opens_on, "closes_on": c.closes_on, "created_at": c.created_at,
            "invited": getattr(c, "n_invited", None), "responded": getattr(c, "n_responded", None),
            "next_stages": allowed_moves(c.stage) if c.stage != "closed" else []}


def campaign_detail(c: Campaign) -> dict:
    out = campaign_out(c)
    rates = selectors.campaign_rates(campaign=c)
    out.update(plan=c.plan, link_days=c.link_days, rates=rates, invited=rates["invited"], responded=rates["responded"],
               steps=[{"from_stage": s.from_stage, "to_stage": s.to_stage, "actor": str(s.actor) if s.actor_id else None,
                       "at": s.at, "note": s.note, "data": s.data} for s in selectors.campaign_steps(campaign=c)])
    return out


def invitation_out(i: Invitation) -> dict:
    return {"id": i.pk, "campaign": i.campaign_id, "customer": i.customer_id, "customer_name": i.customer.name,
            "contact_name": i.contact.name if i.contact_id else None, "channel": i.channel,
            "assigned_to": i.assigned_to_id, "sent_at": i.sent_at, "expires_at": i.expires_at,
            "reminders": i.reminders, "responded_at": i.responded_at}


def _form(answers: dict) -> dict[str, list[str]]:
    out = {}
    for key, value in (answers or {}).items():
        values = value if isinstance(value, list) else [value]
        out[str(key)] = [str(v) for v in values if v is not None]
    return out


# ---------------------------------------------------------------- questionnaires

class QuestionnaireFilters(Schema):
    status: str | None = None
    title: str | None = None
    ordering: str = "-id"
    limit: int | None = None
    cursor: str | None = None


class QuestionIn(Schema):
    dimension: str = "other"
    kind: str
    text: str = Field(max_length=500)
    options: list[dict] = []
    required: bool = True


class QuestionnaireIn(Schema):
    title: str = Field(max_length=200)
    introduction: str = Field("", max_length=5000)
    questions: list[QuestionIn] = Field([], max_length=200)


@router.get("/surveys/questionnaires", response=QuestionnairePage, summary="Questionnaires (every version)")
def questionnaire_list(request, filters: Query[QuestionnaireFilters]):
    page = selectors.questionnaire_list(actor=request.user, **filters.dict())
    return {"items": [questionnaire_out(q) for q in page.items], "next": page.next}


@router.post("/surveys/questionnaires", response={201: QuestionnaireOut}, summary="Create a questionnaire (draft)")
def questionnaire_create(request, payload: QuestionnaireIn):
    q = services.questionnaire_create(actor=request.user, title=payload.title, introduction=payload.introduction,
                                      questions=[x.dict() for x in payload.questions])
    return Status(201, questionnaire_out(q, questions=True))


@router.get("/surveys/questionnaires/{questionnaire_id}", response=QuestionnaireOut)
def questionnaire_get(request, questionnaire_id: int):
    return questionnaire_out(selectors.questionnaire_get(actor=request.user, questionnaire_id=questionnaire_id),
                             questions=True)


@router.post("/surveys/questionnaires/{questionnaire_id}/questions", response={201: QuestionnaireOut},
             summary="Add a question (to the next version when the questionnaire is approved)")
def question_add(request, questionnaire_id: int, payload: QuestionIn):
    question = services.question_add(actor=request.user, questionnaire_id=questionnaire_id, data=payload.dict())
    return Status(201, questionnaire_out(question.questionnaire, questions=True))


@router.delete("/surveys/questionnaires/{questionnaire_id}/questions/{question_id}", response=QuestionnaireOut,
               summary="Remove a question (from the next version when the questionnaire is approved)")
def question_remove(request, questionnaire_id: int, question_id: int):
    q = services.question_remove(actor=request.user, questionnaire_id=questionnaire_id, question_id=question_id)
    return questionnaire_out(q, questions=True)


@router.post("/surveys/questionnaires/{questionnaire_id}/versions", response={201: QuestionnaireOut},
             summary="Make the next draft version of an approved questionnaire")
def questionnaire_version(request, questionnaire_id: int):
    q = services.questionnaire_new_version(actor=request.user, questionnaire_id=questionnaire_id)
    return Status(201, questionnaire_out(q, questions=True))


@router.post("/surveys/questionnaires/{questionnaire_id}/submit", response=QuestionnaireOut,
             summary="Send a draft for review and approval (manager → general manager)")
def questionnaire_submit(request, questionnaire_id: int):
    services.questionnaire_submit(actor=request.user, questionnaire_id=questionnaire_id)
    return questionnaire_get(request, questionnaire_id)


# ---------------------------------------------------------------- campaigns

class CampaignFilters(Schema):
    stage: str | None = None
    ordering: str = "-id"
    limit: int | None = None
    cursor: str | None = None


class CampaignIn(Schema):
    name: str = Field(max_length=200)
    plan: str = Field(max_length=10000)
    previous: int | None = None


class SegmentIn(Schema):
    grades: list[str] = Field([], max_length=50)
    industries: list[str] = Field([], max_length=200)
    provinces: list[str] = Field([], max_length=50)
    owners: list[int] = Field([], max_length=500)
    complaint_days: int | None = None


class AdvanceIn(Schema):
    to: str = Field(max_length=20)
    note: str = Field("", max_length=10000)
    segment: SegmentIn | None = None
    channel: str | None = Field(None, max_length=8)
    questionnaire: int | None = None
    closes_on: dt.date | None = None


@router.get("/surveys/campaigns", response=CampaignPage, summary="Satisfaction surveys in my scope")
def campaign_list(request, filters: Query[CampaignFilters]):
    page = selectors.campaign_list(actor=request.user, **filters.dict())
    return {"items": [campaign_out(c) for c in page.items], "next": page.next}


@router.post("/surveys/campaigns", response={201: CampaignDetail}, summary="Plan a satisfaction survey")
def campaign_create(request, payload: CampaignIn):
    c = services.campaign_create(actor=request.user, name=payload.name, plan=payload.plan,
                                 previous_id=payload.previous)
    return Status(201, campaign_detail(c))


@router.get("/surveys/campaigns/{campaign_id}", response=CampaignDetail,
            summary="A survey with its procedure records and response rate")
def campaign_get(request, campaign_id: int):
    return campaign_detail(selectors.campaign_get(actor=request.user, campaign_id=campaign_id))


@router.post("/surveys/campaigns/{campaign_id}/advance", response=CampaignDetail,
             summary="Move the survey to the next step of the procedure, with the step's record")
def campaign_advance(request, campaign_id: int, payload: AdvanceIn):
    c = services.campaign_advance(actor=request.user, campaign_id=campaign_id, to=payload.to, note=payload.note,
                                  segment=payload.segment.dict() if payload.segment else None,
                                  channel=payload.channel, questionnaire_id=payload.questionnaire,
                                  closes_on=payload.closes_on)
    return campaign_detail(c)


class InvitationFilters(Schema):
    responded: bool | None = None
    limit: int | None = None
    cursor: str | None = None


@router.get("/surveys/campaigns/{campaign_id}/invitations", response=InvitationPage,
            summary="The survey's target list")
def invitation_list(request, campaign_id: int, filters: Query[InvitationFilters]):
    page = selectors.invitation_list(actor=request.user, campaign_id=campaign_id, **filters.dict())
    return {"items": [invitation_out(i) for i in page.items], "next": page.next}


@router.post("/surveys/invitations/{invitation_id}/link", response={201: LinkOut},
             summary="Issue the customer's personal link (shown once; an earlier link stops working)")
def invitation_link(request, invitation_id: int):
    inv, token = services.invitation_link_issue(actor=request.user, invitation_id=invitation_id)
    return Status(201, {"invitation": inv.pk, "url": request.build_absolute_uri(services.response_path(token)),
                        "expires_at": inv.expires_at})


# ---------------------------------------------------------------- interviews

class InterviewFilters(Schema):
    mine: bool = True
    limit: int | None = None
    cursor: str | None = None


class EntryIn(Schema):
    customer: int
    channel: str = Field(max_length=8)
    answers: dict[str, list[str] | str | int | None] = Field(default_factory=dict, max_length=500)


@router.get("/surveys/interviews", response=InvitationPage,
            summary="Phone and face-to-face interviews still to do (assigned to me, or in my scope)")
def interview_list(request, filters: Query[InterviewFilters]):
    page = selectors.interview_list(actor=request.user, **filters.dict())
    return {"items": [invitation_out(i) for i in page.items], "next": page.next}


@router.post("/surveys/campaigns/{campaign_id}/responses", response={201: ResponseOut},
             summary="Enter a customer's phone or face-to-face answers")
def response_enter(request, campaign_id: int, payload: EntryIn):
    r = services.response_enter(actor=request.user, campaign_id=campaign_id, customer_id=payload.customer,
                                channel=payload.channel, form=_form(payload.answers))
    return Status(201, {"id": r.pk, "campaign": r.campaign_id, "customer": r.customer_id, "channel": r.channel,
                        "submitted_at": r.submitted_at, "answers": r.answers.count()})
