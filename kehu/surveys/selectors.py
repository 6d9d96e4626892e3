"""Every read of the satisfaction survey, narrowed to the actor: questionnaires (company-wide, for those who
manage surveys), campaigns in the actor's scope (owner / department), their invitations and procedure
records, the segment of customers a target list is drawn from (always within the actor's scope), and the
interviews (phone / face to face) an agent enters for customers in scope. Outside the scope: not found."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.customers.selectors import customer_base
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.surveys.models import Campaign, CampaignStep, Channel, Invitation, Questionnaire, Stage

CAMPAIGN_ORDERINGS = {"id": int, "created_at": dt.datetime}
INVITATION_ORDERINGS = {"id": int}
QUESTIONNAIRE_ORDERINGS = {"id": int, "title": str}


def _signed_in(actor) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.is_active)


def can_manage(actor) -> bool:
    return _signed_in(actor) and actor.has_kehu_perm(Perm.SURVEY_MANAGE)


def can_enter(actor) -> bool:
    return _signed_in(actor) and actor.has_kehu_perm(Perm.SURVEY_ENTER)


def require_manage(actor) -> None:
    if not can_manage(actor):
        raise Forbidden(_("You are not allowed to manage surveys."))


def require_enter(actor) -> None:
    if not can_enter(actor):
        raise Forbidden(_("You are not allowed to enter survey answers."))


# ---------------------------------------------------------------- questionnaires

def questionnaire_list(*, actor, status: str | None = None, title: str | None = None, ordering: str = "-id",
                       limit: int | None = None, cursor: str | None = None) -> Page:
    require_manage(actor)
    qs = Questionnaire.objects.annotate(n_questions=Count("questions"))
    if status:
        qs = qs.filter(status=status)
    if title:
        qs = qs.filter(title__icontains=title)
    return paginate(qs, ordering=ordering, allowed=QUESTIONNAIRE_ORDERINGS, limit=limit, cursor=cursor)


def questionnaire_get(*, actor, questionnaire_id: int, for_update: bool = False) -> Questionnaire:
    require_manage(actor)
    qs = Questionnaire.objects.select_related("created_by", "approved_by", "based_on")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    q = qs.filter(pk=questionnaire_id).first()
    if q is None:
        raise NotFound(_("Questionnaire not found."))
    return q


def approved_questionnaires() -> QuerySet[Questionnaire]:
    return Questionnaire.objects.filter(status="approved").order_by("title", "-version")


# ---------------------------------------------------------------- campaigns

def campaign_base(*, actor) -> QuerySet[Campaign]:
    require_manage(actor)
    return Campaign.objects.filter(scope_q(actor))


def campaign_list(*, actor, stage: str | None = None, ordering: str = "-id", limit: int | None = None,
                  cursor: str | None = None) -> Page:
    """Surveys in scope with their invitation and response counts (two subqueries, no N+1)."""
    def counted(**filters):
        rows = (Invitation.objects.filter(campaign_id=OuterRef("pk"), **filters).order_by().values("campaign_id")
                .annotate(n=Count("id")).values("n"))
        return Coalesce(Subquery(rows, output_field=IntegerField()), 0)

    qs = campaign_base(actor=actor).select_related("owner", "questionnaire").annotate(
        n_invited=counted(), n_responded=counted(responded_at__isnull=False))
    if stage:
        qs = qs.filter(stage=stage)
    return paginate(qs, ordering=ordering, allowed=CAMPAIGN_ORDERINGS, limit=limit, cursor=cursor)


def campaign_get(*, actor, campaign_id: int, for_update: bool = False) -> Campaign:
    qs = campaign_base(actor=actor).select_related("owner", "department", "questionnaire", "previous")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    c = qs.filter(pk=campaign_id).first()
    if c is None:
        raise NotFound(_("Survey not found."))
    return c


def campaign_steps(*, campaign: Campaign) -> list[CampaignStep]:
    return list(campaign.steps.select_related("actor").order_by("at", "id"))


def campaign_rates(*, campaign: Campaign) -> dict:
    """Invitations, responses and the response rate, overall and per channel (one query)."""
    from kehu.surveys.rules import response_rate

    rows = (campaign.invitations.values("channel").order_by("channel")
            .annotate(invited=Count("id"), responded=Count("id", filter=Q(responded_at__isnull=False)),
                      sent=Count("id", filter=Q(sent_at__isnull=False))))
    per = [{**r, "rate": response_rate(r["responded"], r["invited"])} for r in rows]
    invited = sum(r["invited"] for r in per)
    responded = sum(r["responded"] for r in per)
    return {"invited": invited, "responded": responded, "sent": sum(r["sent"] for r in per),
            "rate": response_rate(responded, invited), "channels": per}


def invitation_list(*, actor, campaign_id: int, responded: bool | None = None, limit: int | None = None,
                    cursor: str | None = None) -> Page:
    campaign = campaign_get(actor=actor, campaign_id=campaign_id)
    qs = campaign.invitations.select_related("customer", "contact", "assigned_to")
    if responded is not None:
        qs = qs.filter(responded_at__isnull=not responded)
    return paginate(qs, ordering="id", allowed=INVITATION_ORDERINGS, limit=limit, cursor=cursor)


def invitation_get(*, actor, invitation_id: int, for_update: bool = False) -> Invitation:
    """An invitation of a survey in scope."""
    require_manage(actor)
    qs = Invitation.objects.select_related("campaign", "customer", "contact").filter(
        campaign__in=campaign_base(actor=actor))
    if for_update:
        qs = qs.select_for_update(of=("self",))
    inv = qs.filter(pk=invitation_id).first()
    if inv is None:
        raise NotFound(_("Invitation not found."))
    return inv


# ---------------------------------------------------------------- segments

def segment_customers(*, actor, segment: dict) -> QuerySet:
    """Live customers of the segment within the actor's scope (grade, industry, region, owner, a
    complaint in the last N days); disqualified customers are not surveyed."""
    from kehu.grading.models import CustomerGrade
    from kehu.service_desk.models import Complaint

    qs = customer_base(actor=actor).exclude(status="disqualified")
    if segment.get("grades"):
        qs = qs.filter(Exists(CustomerGrade.objects.filter(customer_id=OuterRef("pk"), grade__in=segment["grades"])))
    if segment.get("industries"):
        qs = qs.filter(industry__in=segment["industries"])
    if segment.get("provinces"):
        qs = qs.filter(province__in=segment["provinces"])
    if segment.get("owners"):
        qs = qs.filter(owner_id__in=segment["owners"])
    if segment.get("complaint_days"):
        since = timezone.now() - dt.timedelta(days=int(segment["complaint_days"]))
        qs = qs.filter(Exists(Complaint.objects.filter(customer_id=OuterRef("pk"), received_at__gte=since)))
    return qs


def segment_options(*, actor) -> dict:
    """What a segment can be made of, in the actor's scope: the grades in use, industries, provinces."""
    from kehu.grading.models import CustomerGrade

    base = customer_base(actor=actor)
    return {
        "grades": sorted(set(CustomerGrade.objects.values_list("grade", flat=True).distinct()[:50])),
        "industries": sorted(set(base.exclude(industry="").values_list("industry", flat=True).distinct()[:100])),
        "provinces": sorted(set(base.exclude(province="").values_list("province", flat=True).distinct()[:50])),
    }


# ---------------------------------------------------------------- interviews (agents)

def _interview_q(actor) -> Q:
    return scope_q(actor, owner_field="customer__owner", department_field="customer__department") & Q(
        customer__deleted_at__isnull=True)


def interview_get(*, actor, campaign_id: int, customer_id: int, for_update: bool = False) -> Invitation:
    """The invitation of a customer in the actor's scope to a survey (for entering an answer)."""
    require_enter(actor)
    qs = Invitation.objects.select_related("campaign", "campaign__questionnaire", "customer").filter(
        _interview_q(actor), campaign_id=campaign_id, customer_id=customer_id)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    inv = qs.first()
    if inv is None:
        raise NotFound(_("This customer is not among the survey's targets in your scope."))
    return inv


def interview_list(*, actor, mine: bool = True, limit: int | None = None, cursor: str | None = None) -> Page:
    """Phone and face-to-face interviews still to do in surveys in fieldwork: those assigned to me (or,
    mine=False, every one of customers in my scope)."""
    require_enter(actor)
    qs = Invitation.objects.select_related("campaign", "customer", "contact").filter(
        _interview_q(actor), campaign__stage=Stage.FIELDWORK, channel__in=[Channel.PHONE, Channel.FACE],
        responded_at__isnull=True)
    if mine:
        qs = qs.filter(assigned_to=actor)
    return paginate(qs, ordering="id", allowed=INVITATION_ORDERINGS, limit=limit, cursor=cursor)


def fieldwork_campaigns_for_entry(*, actor) -> QuerySet[Campaign]:
    """Surveys in fieldwork with a target in the actor's scope (the agent's entry form)."""
    require_enter(actor)
    return Campaign.objects.filter(stage=Stage.FIELDWORK).filter(
        Exists(Invitation.objects.filter(_interview_q(actor), campaign_id=OuterRef("pk")))).order_by("-id")


# ---------------------------------------------------------------- workbench

def my_next_steps(*, actor, limit: int = 10) -> list[Campaign]:
    """My surveys not yet closed (the owner's next step on the procedure)."""
    if not can_manage(actor):
        return []
    return list(Campaign.objects.filter(owner=actor).exclude(stage=Stage.CLOSED).order_by("id")[:limit])
