"""Demo data of the satisfaction survey, through the services: the default questionnaire approved by the
chain (manager → general manager), last year's company-wide survey walked through every step of the
procedure and closed, with about 150 responses (scores that vary by dimension — price and after-sale
below product quality —, NPS from detractors to promoters, Chinese verbatims), and this year's survey in
fieldwork compared with it, with its first responses; plus a phone survey of customers with recent
complaints whose interviews wait on the account managers' workbench."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from kehu.errors import DomainError
from kehu.surveys import rules, services
from kehu.surveys.models import Campaign, CampaignStep, Invitation, Questionnaire, Response

PRAISE = ["交货及时，物流配送很可靠", "产品质量稳定，批次之间差异小", "业务员响应快，沟通顺畅", "技术支持专业，问题解决得快",
          "合作多年，整体很满意", "包装规范，到货无破损", "新牌号试用效果很好"]
COMPLAINTS = ["价格偏高，希望有更多优惠", "售后响应慢，投诉后三天才有人联系", "旺季时交货经常延迟", "发票开具不够及时",
              "技术资料更新不及时", "希望账期能更灵活一些", "客服电话经常占线"]
MIXED = ["产品质量稳定，但价格偏高", "交货及时，售后响应慢一些", "整体满意，希望加强售后回访"]
OFFSET = {"product_quality": 0.35, "product_function": 0.15, "product_price": -0.7, "presale": 0.1, "insale": 0.0,
          "aftersale": -0.45, "image": 0.2, "brand": 0.0, "overall": 0.0, "other": 0.0}


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def answers_for(q: Questionnaire, rng: random.Random, *, mood: float | None = None) -> dict[str, list[str]]:
    """One believable respondent: a latent satisfaction (1–5) shifted per dimension, with noise."""
    s = mood if mood is not None else rng.gauss(3.7, 0.75)
    form: dict[str, list[str]] = {}
    for x in q.questions.order_by("position"):
        name, base = f"q{x.pk}", s + OFFSET.get(x.dimension, 0.0)
        if x.kind == "rating_5":
            form[name] = [str(_clamp(base + rng.gauss(0, 0.5), 1, 5))]
        elif x.kind == "rating_10":
            form[name] = [str(_clamp(2 * base + rng.gauss(0, 0.8), 1, 10))]
        elif x.kind == "nps":
            form[name] = [str(_clamp(2.3 * base - 0.3 + rng.gauss(0, 1.0), 0, 10))]
        elif x.kind in ("visit_quality", "visit_attitude"):
            scale = rules.SCALES[x.kind]
            form[name] = [str(scale[_clamp(5 - base + rng.gauss(0, 0.5), 0, len(scale) - 1)])]
        elif x.kind == "matrix":
            for o in x.options:
                shift = -0.4 if o["value"] == "delivery" and rng.random() < 0.3 else 0.0
                form[f"{name}__{o['value']}"] = [str(_clamp(base + shift + rng.gauss(0, 0.5), 1, 5))]
        elif x.kind == "single":
            values = [o["value"] for o in x.options]
            form[name] = [values[0] if s > 4.2 else values[-1] if s < 2.8 else values[min(1, len(values) - 1)]]
        elif x.kind == "multiple":
            values = [o["value"] for o in x.options]
            weights = [5, 2, 1, 3][:len(values)] + [1] * max(0, len(values) - 4)
            form[name] = list(dict.fromkeys(rng.choices(values, weights=weights, k=rng.choice([1, 1, 2]))))
        elif x.kind == "text" and rng.random() < 0.7:
            pool = PRAISE if s >= 4.1 else COMPLAINTS if s < 3.2 else MIXED + PRAISE[:2] + COMPLAINTS[:2]
            form[name] = ["，".join(rng.sample(pool, k=rng.choice([1, 1, 2])))]
    return form


def _approve(req) -> None:
    from kehu.approvals.models import RequestStatus, TaskStatus
    from kehu.approvals.services import approval_decide

    for _ in range(10):
        req.refresh_from_db()
        if req.status != RequestStatus.PENDING:
            return
        task = req.tasks.filter(round=req.round, step_order=req.current_step, status=TaskStatus.PENDING).first()
        approval_decide(actor=task.assignee, request_id=req.pk, decision="approve", comment="同意，按此问卷开展调查")


def _walk(actor, c: Campaign, to: str, q: Questionnaire, *, segment=None, channel="link", notes=None,
          plan=None) -> Campaign:
    from kehu.surveys.actions import services as action_services

    notes = notes or {}
    while rules.STAGES.index(c.stage) < rules.STAGES.index(to):
        step = rules.next_stage(c.stage)
        if step == "report":
            action_services.report_generate(actor=actor, campaign_id=c.pk, summary=notes.get("analysis", ""))
        if step == "reevaluation":
            for item in plan or []:
                action_services.action_item_create(actor=actor, campaign_id=c.pk, data=item)
        c = services.campaign_advance(
            actor=actor, campaign_id=c.pk, to=step, note=notes.get(step, ""), segment=segment or {}, channel=channel,
            questionnaire_id=q.pk if step in ("drafting", "review") else None,
            closes_on=timezone.localdate() + dt.timedelta(days=30) if step == "fieldwork" else None)
    return c


def _respond(c: Campaign, q: Questionnaire, rng: random.Random, n: int, manager) -> int:
    invitations = list(c.invitations.filter(responded_at__isnull=True).order_by("id").values_list("pk", flat=True))
    rng.shuffle(invitations)
    done = 0
    for pk in invitations[:n]:
        _inv, token = services.invitation_link_issue(actor=manager, invitation_id=pk)
        services.response_submit(token=token, form=answers_for(q, rng))
        done += 1
    return done


LAST_NOTES = {
    "expectations": "通过走访和电话回访了解到：客户最关注交货及时性、产品质量稳定性和售后响应速度，其次是价格。",
    "analysis": "回收问卷约150份。产品质量满意度最高；价格和售后服务满意度偏低，NPS 贬损者多集中在售后响应慢的客户。",
    "report": "形成年度满意度调查报告，行动计划：售后响应时限压缩到24小时；对长期客户实行季度返利；旺季前锁定运力。",
    "reevaluation": "半年后回访重点客户：售后响应时间明显缩短，客户反馈改善。",
    "closed": "年度调查结束，结果纳入下年度服务改进计划。",
}


def _plan(users: dict, now: dt.datetime) -> list[dict]:
    """Last year's action plan (改进行动计划), due over the months after the report."""
    day = (now - dt.timedelta(days=320)).date()
    rep, manager = users.get("rep") or users["manager"], users["manager"]
    return [
        {"title": "售后响应时限压缩到24小时（投诉受理后24小时内联系客户）", "owner": manager.pk, "dimension": "aftersale",
         "due_date": day + dt.timedelta(days=60), "detail": "修订售后服务规范，客服部每周通报响应时长。"},
        {"title": "对合作三年以上的客户实行季度返利", "owner": users["ceo"].pk, "dimension": "product_price",
         "due_date": day + dt.timedelta(days=90), "detail": "财务部测算返利比例，经总经理审批后执行。"},
        {"title": "旺季前与物流商锁定运力，交货期承诺写入合同", "owner": rep.pk, "dimension": "insale",
         "due_date": day + dt.timedelta(days=120)},
        {"title": "对去年的贬损客户逐一上门回访并形成回访记录", "owner": rep.pk, "dimension": "overall",
         "due_date": (now - dt.timedelta(days=20)).date(), "detail": "上门回访，了解不满意原因并跟踪整改。"},
    ]


def _track_plan(users: dict, c: Campaign, now: dt.datetime) -> None:
    """Two items done, one cancelled with its reason, the home visits still in progress and overdue."""
    from kehu.surveys.actions import services as action_services

    items = list(c.action_items.order_by("id"))
    notes = [("done", "已发布新版售后服务规范，平均响应时长由52小时降到19小时。"),
             ("done", "季度返利政策已执行两个季度，涉及客户86家。"),
             ("cancelled", "与物流商谈判未果，改为在合同中约定备货周期，另列入今年计划。")]
    for item, (status, note) in zip(items, notes, strict=False):
        action_services.action_item_update(actor=users["ceo"], item_id=item.pk, data={"status": status,
                                                                                    "closing_note": note})
    if len(items) > 3:
        action_services.action_item_update(actor=users["ceo"], item_id=items[3].pk, data={"status": "in_progress"})


def _close_follow_ups(actor, c: Campaign) -> None:
    """Last year's detractors were called back (this year's wait on the account managers' workbench)."""
    from kehu.surveys.actions import services as action_services
    from kehu.surveys.actions.models import FollowUp

    for pk in FollowUp.objects.filter(campaign=c, status="open").values_list("pk", flat=True):
        action_services.follow_up_close(actor=actor, follow_up_id=pk, note="已电话回访，问题已转相关部门处理并答复客户。")


def demo_load(*, users: dict, rng: random.Random) -> str:
    if Campaign.objects.exists():
        return "surveys: demo surveys already there"
    ceo, manager = users["ceo"], users["manager"]
    now = timezone.now()
    year = timezone.localdate().year
    with transaction.atomic():
        q = services.questionnaire_default_create(actor=manager)
        _approve(services.questionnaire_submit(actor=manager, questionnaire_id=q.pk))
        q.refresh_from_db()
        last = services.campaign_create(actor=ceo, name=f"{year - 1}年度客户满意度调查", plan=(
            f"依据《客户满意度调查制度》，{year - 1}年11月对全体合作客户开展年度满意度调查：问卷由客户服务部设计，"
            "经部门经理和总经理审核后通过个人链接发放，12月底前完成分析报告和改进行动计划。"))
        last = _walk(ceo, last, "fieldwork", q, notes=LAST_NOTES)
        answered_last = _respond(last, q, rng, 150, ceo)
        last = _walk(ceo, last, "closed", q, notes=LAST_NOTES, plan=_plan(users, now))
        _track_plan(users, last, now)
        _close_follow_ups(ceo, last)
        this = services.campaign_create(actor=ceo, name=f"{year}年度客户满意度调查", previous_id=last.pk, plan=(
            f"{year}年度满意度调查：沿用去年问卷，重点跟踪价格和售后服务两项的改进效果，与{year - 1}年结果对比。"))
        this = _walk(ceo, this, "fieldwork", q, notes={
            "expectations": "客户期望：售后响应更快、价格更透明、交货期更稳定。"})
        answered_this = _respond(this, q, rng, 40, ceo)
        phone = services.campaign_create(actor=manager, name="投诉客户电话回访满意度调查", plan=(
            "对近半年有投诉的华东区客户进行电话回访，了解投诉处理后的满意度。"))
        try:
            phone = _walk(manager, phone, "fieldwork", q, segment={"complaint_days": 365}, channel="phone",
                          notes={"expectations": "客户希望投诉处理更快、结果有回音。"})
        except DomainError:
            pass  # no customer of the demo's east region complained lately: the plan stays a plan
    _backdate(last, this, now, rng)
    return (f"surveys: questionnaire “{q.title}” v{q.version} approved; {last.name} closed with {answered_last} "
            f"responses, a report and an action plan of {last.action_items.count()} items; {this.name} in fieldwork with {answered_this} responses; {phone.name} ({phone.get_stage_display()})")


def _backdate(last: Campaign, this: Campaign, now: dt.datetime, rng: random.Random) -> None:
    """Last year's survey ran last November and December; this year's fieldwork started two weeks ago."""
    year_ago = now - dt.timedelta(days=365)
    start = year_ago - dt.timedelta(days=30)
    steps = list(CampaignStep.objects.filter(campaign=last).order_by("id"))
    for i, s in enumerate(steps):
        s.at = start + dt.timedelta(days=i * 6 if s.to_stage != "closed" else 200)
    CampaignStep.objects.bulk_update(steps, ["at"])
    fieldwork = next(s.at for s in steps if s.to_stage == "fieldwork")
    Campaign.objects.filter(pk=last.pk).update(created_at=start, fieldwork_started_at=fieldwork,
                                               opens_on=fieldwork.date(), closes_on=(fieldwork + dt.timedelta(days=30)).date())
    responses = list(Response.objects.filter(campaign=last))
    for r in responses:
        r.submitted_at = fieldwork + dt.timedelta(days=rng.randint(0, 25), minutes=rng.randint(0, 900))
    Response.objects.bulk_update(responses, ["submitted_at"])
    for r in responses:
        Invitation.objects.filter(pk=r.invitation_id).update(responded_at=r.submitted_at, sent_at=fieldwork)
    from kehu.surveys.actions.models import ActionItem, SurveyReport

    report_step = next((s.at for s in steps if s.to_stage == "report"), fieldwork)
    SurveyReport.objects.filter(campaign=last).update(generated_at=report_step)
    ActionItem.objects.filter(campaign=last).update(created_at=report_step)
    two_weeks = now - dt.timedelta(days=14)
    this_steps = list(CampaignStep.objects.filter(campaign=this).order_by("id"))
    for i, s in enumerate(this_steps):
        s.at = two_weeks - dt.timedelta(days=(len(this_steps) - 1 - i) * 5)
    CampaignStep.objects.bulk_update(this_steps, ["at"])
    Campaign.objects.filter(pk=this.pk).update(created_at=this_steps[0].at, fieldwork_started_at=two_weeks,
                                               opens_on=two_weeks.date())
    recent = list(Response.objects.filter(campaign=this))
    for r in recent:
        r.submitted_at = two_weeks + dt.timedelta(days=rng.randint(0, 13), minutes=rng.randint(0, 900))
    Response.objects.bulk_update(recent, ["submitted_at"])
