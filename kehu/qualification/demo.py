"""Demo admission data: papers on file for a share of the established customers (some expiring within 30 days),
one customer suspended by an expired 危险化学品经营许可证, and new companies pending admission — one with its
application awaiting the sales manager, one rejected by finance with the reasons. Through the services."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Customer
from kehu.qualification import expiry, services
from kehu.qualification.models import CustomerQualification, Document

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SHARE = 40
BANKS = ["中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行", "招商银行"]
NEW = [("嘉兴港区华信化工贸易有限公司", "浙江省", "嘉兴市"), ("常州新北区恒泰塑胶有限公司", "江苏省", "常州市"),
       ("绍兴柯桥宏达纺织助剂有限公司", "浙江省", "绍兴市")]


def _papers(actor, finance, c: Customer, rng: random.Random, today: dt.date, *, licence_to: dt.date | None = None):
    number = c.uscc or f"91{rng.randrange(10**15, 10**16)}"
    docs = [services.document_add(actor=actor, customer_id=c.pk, data={
        "kind": "business_licence", "number": number, "issuer": f"{c.city or '杭州市'}市场监督管理局",
        "valid_from": "2019-03-01", "valid_to": ""}, file_name="营业执照.pdf", chunks=[PDF])]
    docs.append(services.document_add(actor=actor, customer_id=c.pk, data={
        "kind": "invoicing", "bank": f"{rng.choice(BANKS)}{c.city or ''}支行",
        "account_number": str(rng.randrange(10**18, 10**19)), "invoice_address": c.address or f"{c.city}经济开发区",
        "invoice_phone": f"0571-{rng.randrange(10**7, 10**8)}"}))
    valid_to = licence_to or today + dt.timedelta(days=rng.randrange(5, 700))
    docs.append(services.document_add(actor=actor, customer_id=c.pk, data={
        "kind": "product_licence", "title": "危险化学品经营许可证", "number": f"浙杭安经字〔{valid_to.year - 3}〕"
        f"{rng.randrange(1000, 9999)}", "issuer": "应急管理局", "valid_from": (valid_to - dt.timedelta(days=3 * 365)).isoformat(),
        "valid_to": valid_to.isoformat()}))
    for d in docs:
        services.document_verify(actor=finance, document_id=d.pk, decision="verified", today=today)
    return docs


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if Document.objects.exists():
        return "qualification: already loaded"
    today = today or expiry.local_today(timezone.now())
    finance, manager = users["finance"], users["manager"]
    established = list(Customer.objects.filter(deleted_at__isnull=True, kind="organization", status="active",
                                                owner__in=[users["rep"], users["rep2"]]).order_by("id")[:SHARE])
    for c in established:
        services.qualification_type_set(actor=c.owner, customer_id=c.pk,
                                        customer_type=rng.choice(["direct", "direct", "dealer", "exclusive_agent"]))
        _papers(c.owner, finance, c, rng, today)
    suspended = 0
    if established:
        c = established[0]
        services.document_add(actor=c.owner, customer_id=c.pk, data={
            "kind": "product_licence", "title": "危险化学品经营许可证", "number": "浙杭安经字〔2023〕0815",
            "issuer": "杭州市应急管理局", "valid_from": (today - dt.timedelta(days=3 * 365)).isoformat(),
            "valid_to": (today - dt.timedelta(days=3)).isoformat()})
        d = Document.objects.filter(customer=c, kind="product_licence").order_by("-version").first()
        services.document_verify(actor=finance, document_id=d.pk, decision="verified", today=today)
        suspended = services.expiry_sweep(today=today, remind=False)["suspended"]
    pending = []
    for (name, province, city), owner in zip(NEW, ["rep", "rep2", "rep"], strict=True):
        from kehu.customers.services import customer_create

        c = customer_create(actor=users[owner], data={"name": name, "kind": "organization", "province": province,
                                                      "city": city, "industry": "化工", "stage": "intent"})
        pending.append(c)
    first, second, _third = pending
    for c in (first, second):
        _papers(c.owner, finance, c, rng, today, licence_to=today + dt.timedelta(days=900))
    services.application_submit(actor=first.owner, customer_id=first.pk, today=today, data={
        "customer_type": "direct", "legal_representative": "沈国华", "registered_capital": "2000万元",
        "main_products": "聚丙烯、聚乙烯", "yearly_quantity": "3000吨", "pickup_location": "嘉兴港区库"})
    app = services.application_submit(actor=second.owner, customer_id=second.pk, today=today, data={
        "customer_type": "dealer", "legal_representative": "钱志强", "registered_capital": "500万元",
        "main_products": "聚乙烯", "yearly_quantity": "800吨"})
    from kehu.approvals.services import approval_decide

    approval_decide(actor=manager, request_id=app.request_id, decision="approve")
    approval_decide(actor=finance, request_id=app.request_id, decision="reject",
                    comment="开票资料中的开户行与税务登记信息不一致，请客户核实后重新提交。")
    expiring = Document.objects.filter(current=True, valid_to__gte=today,
                                       valid_to__lte=today + dt.timedelta(days=30)).count()
    return (f"qualification: papers for {len(established)} customers ({expiring} expiring within 30 days), "
            f"{suspended} suspended by an expired licence, {len(pending)} pending admission, "
            f"{CustomerQualification.objects.count()} typed")
