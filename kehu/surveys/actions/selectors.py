"""Every read of the survey's analysis and action, narrowed to the actor.

A survey's figures are computed set-based in the database (GROUP BY over the answers, never a Python loop
over responses): a histogram of every rated question (CSAT per dimension, NPS, distributions), the choices
as stored combinations (few) exploded here, the keyword rows of the free-text answers, and one grouped pass
by customer segment (grade, industry, region, the customer's department). The figures are always over the
customers in the actor's data scope; a stored report records whose scope it was generated over, and is
shown to a reader whose scope covers it (else the reader sees the live figures of their own scope).

Action items are seen by whoever sees their survey, and by their owner; follow-ups by those who manage or
enter surveys, for customers in their scope."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.access.scopes import scope_q
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.surveys import selectors as survey_selectors
from kehu.surveys.actions import figures as fx
from kehu.surveys.actions.models import (
    ActionItem,
    AnswerTerm,
    FollowUp,
    FollowUpStatus,
    ItemStatus,
    ResponseScore,
    SurveyReport,
)
from kehu.surveys.models import Answer, Campaign, Invitation, Question, Response, Stage

SEGMENTS = ("grade", "industry", "province", "department")
REPORT_STAGES = (Stage.ANALYSIS, Stage.REPORT)  # a report is generated (and regenerated) at these steps
AFTER_FIELDWORK = (Stage.ANALYSIS, Stage.REPORT, Stage.REEVALUATION, Stage.CLOSED)
VERBATIMS = 30
KEYWORDS = 30
ITEM_ORDERINGS = {"due_date": dt.date, "id": int}
FOLLOWUP_ORDERINGS = {"id": int, "created_at": dt.datetime}


def _signed_in(actor) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.is_active)


def can_follow_up(actor) -> bool:
    return _signed_in(actor) and (
        actor.has_kehu_perm(Perm.SURVEY_MANAGE) or actor.has_kehu_perm(Perm.SURVEY_ENTER)
    )


# ---------------------------------------------------------------- scope of the figures


def customer_q(actor, prefix: str = "customer") -> Q:
    """Rows whose customer (at ``prefix``) is in the actor's data scope."""
    return scope_q(actor, owner_field=f"{prefix}__owner", department_field=f"{prefix}__department")


def any_of(*qs: Q) -> Q:
    """Rows matching any of ``qs``, where an empty Q means every row (Django drops an empty Q from an OR,
    which would turn "everything, or mine" into "mine")."""
    if any(not q for q in qs):
        return Q()
    out = qs[0]
    for q in qs[1:]:
        out |= q
    return out


def scope_key(actor) -> str:
    """Which customers the actor's figures are over: "all", "subtree:<department ids>" or "own:<user id>"."""
    scope = actor.role_spec.scope
    if scope == Scope.ALL:
        return "all"
    if scope == Scope.SUBTREE:
        return "subtree:" + ",".join(str(i) for i in sorted(actor.department_subtree_ids()))
    return f"own:{actor.pk}"


def covers(actor, key: str) -> bool:
    """Whether figures over ``key``'s customers are within the actor's own scope."""
    mine = scope_key(actor)
    if mine == "all" or mine == key:
        return True
    if mine.startswith("subtree:") and key.startswith("subtree:"):
        return set(key[8:].split(",")) <= set(mine[8:].split(","))
    return False


# ---------------------------------------------------------------- analysis


def _questions(campaign: Campaign) -> list[Question]:
    if campaign.questionnaire_id is None:
        return []
    return list(Question.objects.filter(questionnaire_id=campaign.questionnaire_id).order_by("position"))


def _ids(questions, kinds) -> list[int]:
    return [q.pk for q in questions if q.kind in kinds]


def _norm_case(questions) -> Case:
    whens = []
    for kind in fx.RATING_KINDS:
        ids = _ids(questions, (kind,))
        if not ids:
            continue
        if kind in ("rating_5", "matrix"):
            expr = (F("number") - Value(1)) * Value(25.0)
        elif kind == "rating_10":
            expr = (F("number") - Value(1)) * Value(100.0) / Value(9.0)
        else:
            expr = F("number") * Value(1.0)
        whens.append(When(question_id__in=ids, then=expr))
    return Case(*whens, default=None, output_field=FloatField())


def _box_q(questions, boxes: dict) -> Q:
    q = Q(pk__in=[])
    for kind in fx.RATING_KINDS:
        ids = _ids(questions, (kind,))
        if ids:
            q |= Q(question_id__in=ids, number__in=list(boxes[kind]))
    return q


def _histogram(campaign_id: int, scope: Q) -> dict[tuple[int, str], dict[int, int]]:
    """{(question, matrix row): {value: answers}} of every numeric answer (one GROUP BY)."""
    rows = (
        Answer.objects.filter(scope, campaign_id=campaign_id, number__isnull=False)
        .values_list("question_id", "row", "number")
        .annotate(n=Count("*"))
        .order_by()
    )
    out: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    for qid, row, number, n in rows:
        out[(qid, row)][number] = n
    return out


def _headline(questions, hist) -> dict:
    """NPS, CSAT per dimension and overall, from the histogram."""
    kinds = {q.pk: q for q in questions}
    dims: dict[str, fx.Csat] = {}
    overall = fx.Csat()
    nps_counts: dict[int, int] = defaultdict(int)
    for (qid, _row), counts in hist.items():
        q = kinds.get(qid)
        if q is None:
            continue
        if q.kind == "nps":
            for v, n in counts.items():
                nps_counts[v] += n
        elif q.kind in fx.RATING_KINDS:
            c = dims.setdefault(q.dimension, fx.Csat())
            for v, n in counts.items():
                c.add(q.kind, v, n)
            overall.merge(_one(q.kind, counts))
    order = list(dict.fromkeys(q.dimension for q in questions))
    return {
        "nps": fx.nps(dict(nps_counts)) if any(q.kind == "nps" for q in questions) else None,
        "overall": overall.out(),
        "dimensions": [{"dimension": d, **dims[d].out()} for d in order if d in dims],
    }


def _one(kind, counts) -> fx.Csat:
    c = fx.Csat()
    for v, n in counts.items():
        c.add(kind, v, n)
    return c


def _distributions(questions, hist, choice_rows) -> list[dict]:
    from kehu.surveys import rules

    choices: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    answered: dict[int, int] = defaultdict(int)
    for qid, picked, n in choice_rows:
        answered[qid] += n
        for value in picked or []:
            choices[qid][str(value)] += n
    out = []
    for q in questions:
        item = {"id": q.pk, "position": q.position, "text": q.text, "kind": q.kind, "dimension": q.dimension}
        if q.kind in rules.SCALES and q.kind != "matrix":
            counts = hist.get((q.pk, ""), {})
            scale = sorted(rules.SCALES[q.kind])
            item.update(
                n=sum(counts.values()),
                mean=fx.mean(counts),
                distribution=[{"value": v, "n": counts.get(v, 0)} for v in scale],
            )
            item.update(fx.nps(counts) if q.kind == "nps" else fx.csat(q.kind, counts))
        elif q.kind == "matrix":
            rows = []
            for o in q.options:
                counts = hist.get((q.pk, str(o.get("value"))), {})
                rows.append(
                    {
                        "row": str(o.get("value")),
                        "label": o.get("label") or o.get("value"),
                        "n": sum(counts.values()),
                        "mean": fx.mean(counts),
                        **fx.csat("matrix", counts),
                        "distribution": [{"value": v, "n": counts.get(v, 0)} for v in rules.SCALES["matrix"]],
                    }
                )
            item.update(rows=rows, n=max([r["n"] for r in rows] or [0]))
        elif q.kind in rules.CHOICE_KINDS:
            n = answered.get(q.pk, 0)
            item.update(
                n=n,
                distribution=[
                    {
                        "value": str(o.get("value")),
                        "label": o.get("label") or o.get("value"),
                        "n": choices[q.pk].get(str(o.get("value")), 0),
                        "pct": fx.pct(choices[q.pk].get(str(o.get("value")), 0), n),
                    }
                    for o in q.options
                ],
            )
        else:
            item.update(n=None)
        out.append(item)
    return out


def _grade_policy() -> str | None:
    from kehu.grading.models import GradingPolicy

    return GradingPolicy.objects.filter(state="active").order_by("id").values_list("name", flat=True).first()


def _segments(campaign_id: int, scope: Q, policy: str | None) -> dict[str, list[dict]]:
    """NPS and CSAT by grade, industry, region and the customer's department: one grouped pass over the
    responses' score rows (additive counters), rolled up per segment kind here."""
    from kehu.access.models import Department

    qs = ResponseScore.objects.filter(scope, campaign_id=campaign_id)
    if policy:
        qs = qs.annotate(
            g=FilteredRelation("customer__grades", condition=Q(customer__grades__policy_name=policy))
        )
        grade = F("g__grade")
    else:
        grade = Value("")
    rows = (
        qs.values_list(grade, "customer__industry", "customer__province", "customer__department_id")
        .annotate(
            responses=Count("pk"),
            rating_n=Sum("ratings"),
            top=Sum("top"),
            low=Sum("low"),
            norm=Sum("norm_sum"),
            nps_n=Count("nps"),
            prom=Count("pk", filter=Q(nps__gte=fx.PROMOTER_MIN)),
            detr=Count("pk", filter=Q(nps__lte=fx.DETRACTOR_MAX)),
        )
        .order_by()
    )
    acc: dict[str, dict] = {k: {} for k in SEGMENTS}
    for g, ind, prov, dept, responses, rating_n, top, low, norm, nps_n, prom, detr in rows:
        for kind, key in (
            ("grade", g or ""),
            ("industry", ind or ""),
            ("province", prov or ""),
            ("department", dept),
        ):
            a = acc[kind].setdefault(key, [fx.Csat(), 0, 0, 0, 0])
            a[0].merge(fx.Csat(rating_n or 0, top or 0, low or 0, float(norm or 0)))
            a[1] += nps_n
            a[2] += prom
            a[3] += detr
            a[4] += responses
    names = dict(
        Department.objects.filter(pk__in=[k for k in acc["department"] if k]).values_list("pk", "name")
    )
    out = {}
    for kind in SEGMENTS:
        items = []
        for key, (c, nps_n, prom, detr, responses) in acc[kind].items():
            label = names.get(key, "") if kind == "department" else key
            items.append(
                {
                    "key": "" if key is None else str(key),
                    "label": label,
                    "responses": responses,
                    **c.out(),
                    "nps_n": nps_n,
                    "nps": round(100.0 * (prom - detr) / nps_n, 1) if nps_n else None,
                }
            )
        items.sort(key=lambda r: (-r["responses"], r["label"]))
        out[kind] = items[:30]
    return out


def _responses(campaign_id: int, scope_inv: Q) -> dict:
    row = Invitation.objects.filter(scope_inv, campaign_id=campaign_id).aggregate(
        invited=Count("id"), responded=Count("id", filter=Q(responded_at__isnull=False))
    )
    from kehu.surveys.rules import response_rate

    return {
        "invited": row["invited"],
        "responded": row["responded"],
        "rate": response_rate(row["responded"], row["invited"]),
    }


def _keywords(campaign_id: int, scope: Q) -> list[dict]:
    rows = (
        AnswerTerm.objects.filter(scope, campaign_id=campaign_id)
        .values_list("term")
        .annotate(n=Count("*"))
        .order_by("-n", "term")[:KEYWORDS]
    )
    return [{"term": t, "n": n} for t, n in rows]


def _verbatims(campaign_id: int, questions, scope: Q) -> list[dict]:
    """The latest comments (answers are numbered in the order they were recorded): their 30 ids first, then
    what is shown of those 30 (so the customers are read for 30 rows, not for every comment)."""
    text_ids, nps_ids = _ids(questions, ("text",)), _ids(questions, ("nps",))
    if not text_ids:
        return []
    ids = list(
        Answer.objects.filter(scope, campaign_id=campaign_id, question_id__in=text_ids)
        .exclude(text="")
        .order_by("-id")
        .values_list("id", flat=True)[:VERBATIMS]
    )
    nps_sub = (
        Subquery(
            Answer.objects.filter(response_id=OuterRef("response_id"), question_id__in=nps_ids).values(
                "number"
            )[:1]
        )
        if nps_ids
        else Value(None)
    )
    rows = (
        Answer.objects.filter(pk__in=ids)
        .annotate(nps=nps_sub)
        .order_by("-id")
        .values_list(
            "text",
            "response__submitted_at",
            "response__customer__industry",
            "response__customer__province",
            "nps",
        )
    )
    return [
        {
            "text": t,
            "at": timezone.localtime(at).strftime("%Y-%m-%d"),
            "industry": ind,
            "province": prov,
            "nps": nps,
        }
        for t, at, ind, prov, nps in rows
    ]


def analyse(
    *, actor, campaign: Campaign, previous_figures: dict | None = None, with_previous: bool = True
) -> dict:
    """The figures of a survey over the customers in the actor's scope: responses, NPS, CSAT per dimension
    and overall, every question's distribution, segments, keywords and verbatims, and the comparison with
    the previous survey. JSON-ready (labels are resolved when shown)."""
    questions = _questions(campaign)
    answers_scope = customer_q(actor, "response__customer")
    hist = _histogram(campaign.pk, answers_scope)
    choice_ids = _ids(questions, ("single", "multiple"))
    choice_rows = (
        list(
            Answer.objects.filter(answers_scope, campaign_id=campaign.pk, question_id__in=choice_ids)
            .values_list("question_id", "choices")
            .annotate(n=Count("id"))
            .order_by()
        )
        if choice_ids
        else []
    )
    out = {
        "campaign": campaign.pk,
        "name": campaign.name,
        "scope": scope_key(actor),
        "computed_at": timezone.now().isoformat(),
        **_responses(campaign.pk, customer_q(actor)),
        **_headline(questions, hist),
        "questions": _distributions(questions, hist, choice_rows),
    }
    out["segments"] = _segments(campaign.pk, customer_q(actor), _grade_policy())
    out["keywords"] = _keywords(campaign.pk, customer_q(actor, "answer__response__customer"))
    out["verbatims"] = _verbatims(campaign.pk, questions, answers_scope)
    out["previous"] = None
    if with_previous and campaign.previous_id:
        prev = previous_figures or _previous_figures(actor, campaign)
        out["previous"] = compare(out, prev) if prev else None
    return out


def _previous_figures(actor, campaign: Campaign) -> dict | None:
    """The previous survey's headline figures over the same customers' scope: its stored report when
    generated over the same scope, else computed now (histogram only)."""
    prev = Campaign.objects.filter(pk=campaign.previous_id).select_related("report").first()
    if prev is None:
        return None
    report = getattr(prev, "report", None) if hasattr(prev, "report") else None
    key = scope_key(actor)
    if report is not None and report.scope_key == key:
        return {
            "campaign": prev.pk,
            "name": prev.name,
            **{k: report.figures.get(k) for k in ("nps", "overall", "dimensions", "responded")},
        }
    questions = _questions(prev)
    hist = _histogram(prev.pk, customer_q(actor, "response__customer"))
    responded = Response.objects.filter(customer_q(actor), campaign_id=prev.pk).count()
    return {"campaign": prev.pk, "name": prev.name, "responded": responded, **_headline(questions, hist)}


def compare(now: dict, before: dict) -> dict:
    """This survey against the previous one: NPS, overall and per-dimension CSAT, with the changes."""
    prev_dims = {d["dimension"]: d for d in before.get("dimensions") or []}
    dims = []
    for d in now.get("dimensions") or []:
        p = prev_dims.get(d["dimension"]) or {}
        dims.append(
            {
                "dimension": d["dimension"],
                "top_box_pct": d["top_box_pct"],
                "previous_top_box_pct": p.get("top_box_pct"),
                "change": fx.delta(d["top_box_pct"], p.get("top_box_pct")),
                "mean_100": d["mean_100"],
                "previous_mean_100": p.get("mean_100"),
                "mean_change": fx.delta(d["mean_100"], p.get("mean_100")),
            }
        )
    nps_now = (now.get("nps") or {}).get("nps")
    nps_before = (before.get("nps") or {}).get("nps")
    overall_now, overall_before = now.get("overall") or {}, before.get("overall") or {}
    return {
        "campaign": before.get("campaign"),
        "name": before.get("name"),
        "responded": before.get("responded"),
        "nps": nps_before,
        "nps_change": fx.delta(nps_now, nps_before),
        "overall_top_box_pct": overall_before.get("top_box_pct"),
        "overall_change": fx.delta(overall_now.get("top_box_pct"), overall_before.get("top_box_pct")),
        "nps_counts": before.get("nps"),
        "dimensions": dims,
    }


def analysis_get(*, actor, campaign_id: int) -> tuple[Campaign, dict]:
    """The live figures of a survey in scope, over the customers in the actor's scope."""
    c = survey_selectors.campaign_get(actor=actor, campaign_id=campaign_id)
    return c, analyse(actor=actor, campaign=c)


# ---------------------------------------------------------------- the report


def report_get(*, actor, campaign_id: int) -> tuple[Campaign, SurveyReport | None]:
    """A survey in scope and its stored report (None before one is generated). A report generated over a
    scope wider than the actor's is not shown to the actor (404: its figures reach outside their scope)."""
    c = survey_selectors.campaign_get(actor=actor, campaign_id=campaign_id)
    report = SurveyReport.objects.filter(campaign=c).select_related("generated_by").first()
    if report is not None and not covers(actor, report.scope_key):
        raise NotFound(
            _("This survey's report covers customers outside your scope."), code="report_out_of_scope"
        )
    return c, report


def report_list(*, actor, limit: int | None = None, cursor: str | None = None) -> Page:
    qs = SurveyReport.objects.filter(campaign__in=survey_selectors.campaign_base(actor=actor)).select_related(
        "campaign", "generated_by"
    )
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


# ---------------------------------------------------------------- action items


def _item_q(actor) -> Q:
    if survey_selectors.can_manage(actor):
        return any_of(Q(owner_id=actor.pk), Q(campaign__in=Campaign.objects.filter(scope_q(actor))))
    return Q(owner_id=actor.pk)


def action_item_list(
    *,
    actor,
    campaign_id: int | None = None,
    mine: bool = False,
    status: str | None = None,
    ordering: str = "due_date",
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """Action items of a survey in scope (or every item I own, mine=True), filtered by status
    ("open" = open or in progress)."""
    if not _signed_in(actor):
        raise Forbidden(_("Sign in first."))
    if campaign_id is not None:
        c = survey_selectors.campaign_get(actor=actor, campaign_id=campaign_id)
        qs = ActionItem.objects.filter(campaign=c)
    elif mine:
        qs = ActionItem.objects.filter(owner=actor)
    else:
        qs = ActionItem.objects.filter(_item_q(actor))
    if status == "open":
        qs = qs.filter(status__in=[ItemStatus.OPEN, ItemStatus.IN_PROGRESS])
    elif status:
        qs = qs.filter(status=status)
    return paginate(
        qs.select_related("owner", "campaign"),
        ordering=ordering,
        allowed=ITEM_ORDERINGS,
        limit=limit,
        cursor=cursor,
    )


def action_items_of(*, campaign: Campaign, limit: int = 1000) -> list[ActionItem]:
    """The whole action plan of a survey already fetched in scope (the report page, print and export)."""
    return list(
        ActionItem.objects.filter(campaign=campaign)
        .select_related("owner")
        .order_by("due_date", "id")[:limit]
    )


def action_item_get(*, actor, item_id: int, for_update: bool = False) -> ActionItem:
    if not _signed_in(actor):
        raise NotFound(_("Action item not found."))
    qs = ActionItem.objects.select_related("campaign", "owner").filter(_item_q(actor))
    if for_update:
        qs = qs.select_for_update(of=("self",))
    item = qs.filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("Action item not found."))
    return item


def my_open_items(*, actor, limit: int = 10, within_days: int = 7) -> list[ActionItem]:
    """My open action items due within a week or overdue, soonest first (one query)."""
    if not _signed_in(actor):
        return []
    until = timezone.localdate() + dt.timedelta(days=within_days)
    return list(
        ActionItem.objects.filter(
            owner=actor, status__in=[ItemStatus.OPEN, ItemStatus.IN_PROGRESS], due_date__lte=until
        )
        .select_related("campaign")
        .order_by("due_date", "id")[:limit]
    )


# ---------------------------------------------------------------- follow-ups


def follow_up_base(*, actor):
    if not can_follow_up(actor):
        raise Forbidden(_("You are not allowed to follow up survey answers."))
    return FollowUp.objects.filter(any_of(customer_q(actor), Q(assigned_to_id=actor.pk)))


def follow_up_list(
    *,
    actor,
    campaign_id: int | None = None,
    mine: bool = False,
    status: str | None = None,
    ordering: str = "-id",
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    qs = follow_up_base(actor=actor).select_related("customer", "assigned_to", "campaign")
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    if mine:
        qs = qs.filter(assigned_to=actor)
    if status:
        qs = qs.filter(status=status)
    return paginate(qs, ordering=ordering, allowed=FOLLOWUP_ORDERINGS, limit=limit, cursor=cursor)


def follow_up_get(*, actor, follow_up_id: int, for_update: bool = False) -> FollowUp:
    qs = follow_up_base(actor=actor).select_related("customer", "campaign", "assigned_to")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    f = qs.filter(pk=follow_up_id).first()
    if f is None:
        raise NotFound(_("Follow-up not found."))
    return f


def follow_up_counts(*, actor, campaign_id: int) -> dict:
    """Open and closed follow-ups of a survey for customers in scope (the re-evaluation looks at them)."""
    if not can_follow_up(actor):
        return {"open": 0, "closed": 0}
    row = FollowUp.objects.filter(customer_q(actor), campaign_id=campaign_id).aggregate(
        open=Count("id", filter=Q(status=FollowUpStatus.OPEN)), closed=Count("id", filter=Q(status="closed"))
    )
    return row


def my_open_follow_ups(*, actor, limit: int = 10) -> list[FollowUp]:
    if not _signed_in(actor):
        return []
    return list(
        FollowUp.objects.filter(assigned_to=actor, status=FollowUpStatus.OPEN)
        .select_related("customer", "campaign")
        .order_by("created_at", "id")[:limit]
    )


# ---------------------------------------------------------------- yearly compliance


def yearly_check(*, actor, now: dt.datetime | None = None, days: int = 365) -> dict:
    """The yearly rule (每年至少开展一次客户满意度调查) for the actor's customers: a survey counts when its
    fieldwork started in the last ``days`` days and it is in fieldwork or later, and it is in the actor's scope
    or surveyed customers in it. One query."""
    from django.db.models import Exists, Max

    survey_selectors.require_manage(actor)
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    ran = Q(stage__in=[Stage.FIELDWORK, *AFTER_FIELDWORK], fieldwork_started_at__isnull=False)
    mine = any_of(
        scope_q(actor), Q(Exists(Invitation.objects.filter(customer_q(actor), campaign_id=OuterRef("pk"))))
    )
    row = (
        Campaign.objects.filter(ran)
        .filter(mine)
        .aggregate(
            recent=Count("id", filter=Q(fieldwork_started_at__gte=since)), last=Max("fieldwork_started_at")
        )
    )
    return {
        "ok": row["recent"] > 0,
        "recent": row["recent"],
        "last_started_at": row["last"],
        "period_days": days,
    }
