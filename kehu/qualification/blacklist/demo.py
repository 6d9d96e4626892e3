"""Demo data of the blacklist: 杭州鑫源化工有限公司 (张伟's) disqualified for a forged business licence, with its
evidence (a scanned notice as PDF), approved by the manager and the general manager through the real
approval engine; and a later registration of 鑫源化工（杭州）有限公司 by 刘洋, flagged for review."""

from __future__ import annotations

import random

from kehu.qualification.blacklist.models import BlacklistEntry

EVIDENCE = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"% \xe5\xb8\x82\xe5\x9c\xba\xe7\x9b\x91\xe7\xae\xa1\xe5\xb1\x80\xe7\xab\x8b\xe6\xa1\x88\xe9\x80\x9a\xe7\x9f\xa5\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def make_uscc(serial: int) -> str:
    from stdnum.cn import uscc

    body = f"91330109{serial:09d}"
    return body + uscc.calc_check_digit(body)


def _approve(request) -> None:
    from kehu.approvals.models import ApprovalTask
    from kehu.approvals.services import approval_decide

    for _step in range(5):
        request.refresh_from_db()
        if request.status != "pending":
            return
        task = ApprovalTask.objects.filter(request=request, status="pending").select_related("assignee").first()
        if task is None:
            return
        approval_decide(actor=task.assignee, request_id=request.pk, decision="approve", comment="同意，列入黑名单")


def demo_load(*, users: dict, rng: random.Random) -> str:
    from django.contrib.contenttypes.models import ContentType

    from kehu.approvals.models import ApprovalRequest
    from kehu.customers import services as customer_services
    from kehu.qualification.blacklist import services

    if BlacklistEntry.objects.exists():
        return "blacklist: demo entries already there"
    rep, rep2 = users.get("rep"), users.get("rep2") or users.get("rep")
    if rep is None:
        return "blacklist: no demo rep"
    basis = {"basis": "contract", "purpose": "客户关系管理与合同履行"}
    serial = 880_000 + rng.randrange(1000)
    customer = customer_services.customer_create(actor=rep, data={
        "name": "杭州鑫源化工有限公司", "kind": "organization", "uscc": make_uscc(serial), "industry": "化工",
        "province": "浙江省", "city": "杭州市", "address": "杭州市萧山区经济技术开发区鸿达路118号",
        "confirm_duplicate": True})
    customer_services.contact_create(actor=rep, customer_id=customer.pk, data={
        "name": "孙国强", "title": "总经理", "mobile": f"1395716{rng.randrange(10000):04d}", "basis": basis})
    d = services.disqualification_request(
        actor=rep, customer_id=customer.pk, category="fraud",
        description="开户时提供伪造的营业执照和危险化学品经营许可证（许可证编号经应急管理局核实不存在），"
                    "并以虚假资金证明骗取30万元赊销额度，逾期未付。",
        files=[("应急管理局核查回函.pdf", [EVIDENCE])])
    request = ApprovalRequest.objects.get(content_type=ContentType.objects.get_for_model(d), object_id=str(d.pk))
    _approve(request)
    flagged = 0
    try:
        twin = customer_services.customer_create(actor=rep2, data={
            "name": "鑫源化工（杭州）有限公司", "kind": "organization", "uscc": make_uscc(serial + 1),
            "industry": "化工", "province": "浙江省", "city": "杭州市", "confirm_duplicate": True})
        flagged = len(getattr(twin, "warnings", []))
    except Exception:  # noqa: BLE001 — the demo goes on without the flagged twin
        flagged = 0
    listed = BlacklistEntry.objects.filter(state="active").count()
    return f"blacklist: {listed} blacklisted customer (with evidence), {flagged} flagged registration"
