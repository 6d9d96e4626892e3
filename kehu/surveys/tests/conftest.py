"""The survey tests' world: 华东区 customers of 张伟 and 刘洋 and a 华北区 customer of 陈静, their contacts
with and without consent to be contacted, an approved questionnaire (through the approval engine) and
helpers to walk a survey through the procedure."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kehu.customers import services as customer_services
from kehu.customers.tests.factories import build_org, contact, module_data, org_customer
from kehu.surveys import services
from kehu.surveys.models import Questionnaire

CONTACT_PURPOSE = {"purpose": "客户回访与满意度调查联系", "channel": "纸质同意书", "evidence": "签字扫描件"}


def consent(actor, customer, person):
    return customer_services.consent_create(actor=actor, customer_id=customer.pk,
                                            data={"contact": person.pk, **CONTACT_PURPOSE})


def approve_all(req):
    """Every pending step of an approval request decided "approve" by its assignees."""
    from kehu.approvals.models import RequestStatus, TaskStatus
    from kehu.approvals.services import approval_decide

    for _ in range(10):
        req.refresh_from_db()
        if req.status != RequestStatus.PENDING:
            return req
        task = req.tasks.filter(round=req.round, step_order=req.current_step, status=TaskStatus.PENDING).first()
        approval_decide(actor=task.assignee, request_id=req.pk, decision="approve", comment="同意")
    return req


def approved_questionnaire(actor) -> Questionnaire:
    q = services.questionnaire_default_create(actor=actor)
    approve_all(services.questionnaire_submit(actor=actor, questionnaire_id=q.pk))
    q.refresh_from_db()
    return q


def walk_to(actor, campaign, stage: str, *, segment=None, channel="link", questionnaire=None):
    """Move a survey step by step up to ``stage`` (each step with its record)."""
    from kehu.surveys.rules import STAGES, next_stage

    while STAGES.index(campaign.stage) < STAGES.index(stage):
        to = next_stage(campaign.stage)
        prepare_step(actor, campaign, to)
        campaign = services.campaign_advance(
            actor=actor, campaign_id=campaign.pk, to=to, note=f"{to} 记录", segment=segment or {}, channel=channel,
            questionnaire_id=questionnaire.pk if questionnaire and to == "drafting" else None,
            closes_on=timezone.localdate() + dt.timedelta(days=20) if to == "fieldwork" else None)
    return campaign


def prepare_step(actor, campaign, to: str) -> None:
    """What the procedure asks before a step (surveys.actions): the report generated before "report", an
    action plan of one item before "reevaluation"."""
    from kehu.surveys.actions import services as action_services
    from kehu.surveys.actions.models import ActionItem, SurveyReport

    if to == "report" and not SurveyReport.objects.filter(campaign_id=campaign.pk).exists():
        action_services.report_generate(actor=actor, campaign_id=campaign.pk)
    if to == "reevaluation" and not ActionItem.objects.filter(campaign_id=campaign.pk).exists():
        action_services.action_item_create(actor=actor, campaign_id=campaign.pk, data={
            "title": "售后响应时限压缩到24小时", "owner": actor.pk,
            "due_date": timezone.localdate() + dt.timedelta(days=60)})


def build_world():
    org = build_org()
    book = {}
    # 华东区: 张伟's two customers (one with a consenting contact, one whose contact is only on contract),
    # 刘洋's customer (consenting, in another industry); 华北区: 陈静's customer (consenting).
    book["huaxing"] = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    book["wang"] = contact(org.rep, book["huaxing"], "王强", email="wangqiang@huaxing.example.cn")
    consent(org.rep, book["huaxing"], book["wang"])
    book["nocons"] = org_customer(org.rep, "杭州未授权化工有限公司", serial=2)
    book["nocons_contact"] = contact(org.rep, book["nocons"], "钱明")  # on contract only: no consent to contact
    book["dongfang"] = org_customer(org.rep2, "上海东方贸易有限公司", serial=3, industry="贸易", province="上海市")
    book["li"] = contact(org.rep2, book["dongfang"], "李娜", email="lina@dongfang.example.cn")
    consent(org.rep2, book["dongfang"], book["li"])
    book["yanshan"] = org_customer(org.north_rep, "北京燕山机械有限公司", serial=4, province="北京市")
    book["zhao"] = contact(org.north_rep, book["yanshan"], "赵磊")
    consent(org.north_rep, book["yanshan"], book["zhao"])
    book["q"] = approved_questionnaire(org.manager)
    return org, book


world = module_data("world", build_world)
