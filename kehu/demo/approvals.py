"""Demo data of the approval engine: account-opening requests (客户开户审批: 部门经理 → 财务部 → 总经理) by the
reps, in every state — waiting at each step (so the manager's, finance's and the CEO's inboxes have
work), approved, rejected, returned for changes, returned and resubmitted, withdrawn — with the
approvers' comments. Everything goes through the approval services, as the people would."""

from __future__ import annotations

import random

from kehu.approvals import services
from kehu.approvals.models import ApprovalChain, ApprovalRequest, ApprovalTask, RequestStatus, TaskStatus
from kehu.customers.models import Customer

CHAIN = "customer.account_opening"
REASONS = [
    "客户已签订年度框架协议，预计年采购额 300 万元，申请开户并给予 30 天账期。",
    "客户为行业龙头，首单 80 万元，申请开立正式客户账户。",
    "老客户介绍的新客户，资质齐全（营业执照、开户许可证已核验），申请开户。",
    "客户招投标中标，需在合同签订前完成开户，申请加急审批。",
    "客户计划扩建新产线，预计下季度起批量采购，申请开户。",
    "展会获得的意向客户，已完成样品测试，申请开立客户账户。",
    "客户原由其他区域对接，现转入本区域，申请重新开户。",
    "客户申请月结，已提供近两年财务报表，申请开户并核定信用额度。",
]
# (requester, decisions in order: (who, decision, comment); "resubmit" / "cancel" by the requester)
SCRIPTS = [
    ("rep", []),                                                          # waiting for 李明辉 (step 1)
    ("rep2", []),                                                         # waiting for 李明辉 (step 1)
    ("north_rep", []),                                                    # waiting for 赵志强 (step 1)
    ("rep", [("manager", "approve", "")]),                                # waiting for finance (step 2)
    ("rep2", [("manager", "approve", "同意"), ("finance", "approve", "信用评估通过")]),  # waiting for the CEO
    ("rep", [("manager", "approve", "同意开户"), ("finance", "approve", "额度 50 万元"),
             ("ceo", "approve", "同意")]),                                  # approved
    ("north_rep", [("north_manager", "approve", ""), ("finance", "approve", "资料齐全"),
                   ("ceo", "approve", "")]),                               # approved
    ("rep2", [("manager", "approve", ""), ("finance", "reject", "客户近两年连续亏损，征信有逾期记录，不予开户。")]),
    ("north_rep", [("north_manager", "reject", "该客户与现有客户重复登记，请先合并档案。")]),
    ("rep", [("manager", "return", "请补充营业执照复印件和开户许可证。")]),        # returned: the rep's to-do
    ("rep2", [("manager", "return", "账期申请需附财务报表。"), ("rep2", "resubmit", "已补充近两年财务报表。")]),
    ("rep", [("rep", "cancel", "客户暂缓合作，撤回申请。")]),                        # withdrawn
]


def demo_load(*, users: dict, rng: random.Random) -> str:
    chain = ApprovalChain.objects.filter(code=CHAIN, active=True).first()
    if chain is None:
        return f"approvals: no active chain {CHAIN}"
    if ApprovalRequest.objects.filter(chain=chain).exists():
        return "approvals: demo requests already there"
    made = 0
    used: set[int] = set()
    for i, (requester_name, steps) in enumerate(SCRIPTS):
        requester = users[requester_name]
        customer = (Customer.objects.filter(owner=requester, kind="organization", deleted_at__isnull=True)
                    .exclude(pk__in=used).order_by("pk").first())
        if customer is None:
            continue
        used.add(customer.pk)
        req = services.approval_request(
            actor=requester, chain_code=CHAIN, target=customer, title=f"客户开户审批：{customer.name}",
            payload={"reason": REASONS[i % len(REASONS)], "credit_limit": rng.choice([20, 30, 50, 80, 100]) * 10_000})
        for who, decision, comment in steps:
            actor = users[who]
            if decision == "resubmit":
                req = services.approval_resubmit(actor=actor, request_id=req.pk, comment=comment)
            elif decision == "cancel":
                req = services.approval_cancel(actor=actor, request_id=req.pk, comment=comment)
            else:
                req = _decide_as(actor, req, decision, comment)
        made += 1
    counts = {s: ApprovalRequest.objects.filter(chain=chain, status=s).count() for s in RequestStatus.values}
    return "approvals: " + ", ".join(f"{s} {n}" for s, n in counts.items() if n) + f" ({made} requests)"


def _decide_as(actor, req: ApprovalRequest, decision: str, comment: str) -> ApprovalRequest:
    """Decide as ``actor``, or — when the step went to someone else (another manager in the line, a
    delegate) — as whoever holds the pending task, so the script does not depend on routing details."""
    tasks = ApprovalTask.objects.filter(request=req, round=req.round, status=TaskStatus.PENDING,
                                        step_order=req.current_step).select_related("assignee").order_by("id")
    holder = tasks.filter(assignee=actor).first() or tasks.first()
    if holder is None:
        return req
    return services.approval_decide(actor=holder.assignee, request_id=req.pk, decision=decision, comment=comment)
