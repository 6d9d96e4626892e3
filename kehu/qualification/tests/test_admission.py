"""Admission (准入): account opening (开户审批), documents (证照), the expiry sweep and suspension (暂停业务往来)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from kehu.approvals.models import ApprovalRequest
from kehu.approvals.services import approval_decide
from kehu.customers.services import customer_create, customer_update
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.qualification import services
from kehu.qualification.models import AccountOpening, CustomerQualification, Document
from kehu.qualification.status import customer_status_change
from kehu.qualification.testing import admit

PDF = b"%PDF-1.4\n% scan of a licence\n" + b"x" * 200
USCC = "91330106MA27XH0T1X"


@pytest.fixture
def var(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path


def company(org, name="杭州恒源化工有限公司", owner=None, uscc=""):
    return customer_create(actor=owner or org.rep, data={"name": name, "kind": "organization", "uscc": uscc})


def file_papers(actor, customer, *, licence_to=dt.date(2030, 12, 31), verify_by=None):
    """The papers a direct customer needs: a USCC business licence (三证合一) and the invoicing data."""
    docs = [services.document_add(actor=actor, customer_id=customer.pk, data={
        "kind": "business_licence", "number": USCC, "issuer": "杭州市市场监督管理局",
        "valid_from": "2020-01-01", "valid_to": licence_to.isoformat()}, file_name="licence.pdf", chunks=[PDF]),
        services.document_add(actor=actor, customer_id=customer.pk, data={
            "kind": "invoicing", "bank": "中国工商银行杭州分行", "account_number": "1202021109900012345",
            "invoice_address": "杭州市西湖区文三路 90 号", "invoice_phone": "0571-88886666"})]
    if verify_by is not None:
        for d in docs:
            services.document_verify(actor=verify_by, document_id=d.pk, decision="verified")
    return docs


def apply(org, customer):
    return services.application_submit(actor=org.rep, customer_id=customer.pk,
                                       data={"customer_type": "direct", "legal_representative": "王建国"})


def decide(org, app, who, decision="approve", comment=""):
    approval_decide(actor=who, request_id=app.request_id, decision=decision, comment=comment)


# ---------------------------------------------------------------- pending on registration

def test_new_company_customer_starts_pending_admission_and_a_person_active(org):
    assert company(org).status == "pending"
    person = customer_create(actor=org.rep, data={"name": "李小明", "kind": "person"})
    assert person.status == "active"


def test_account_opening_rule_off_registers_companies_active(org, settings):
    settings.KEHU_ACCOUNT_OPENING_REQUIRED = False
    assert company(org).status == "active"


def test_ordinary_edit_cannot_set_status(org, api_client):
    c = company(org)
    customer_update(actor=org.manager, customer_id=c.pk, data={"status": "active", "industry": "化工"})
    c.refresh_from_db()
    assert (c.status, c.industry) == ("pending", "化工")
    r = api_client.as_user(org.rep).patch_current(f"/customers/{c.pk}", {"status": "active"})
    assert r.status_code in (200, 422)
    c.refresh_from_db()
    assert c.status == "pending"


def test_existing_customers_are_admitted_model_default_is_active(org):
    """Rows that existed before the rule (and any written without the service) are active: no migration
    changes their status."""
    from kehu.customers.models import Customer

    assert Customer._meta.get_field("status").get_default() == "active"


def test_pending_customer_refused_for_orders_but_open_to_follow_ups(org):
    from kehu.engagement.services import interaction_create
    from kehu.orders.services import order_create

    c = company(org)
    with pytest.raises(Conflict) as exc:
        order_create(actor=org.rep, customer_id=c.pk, data={"order_date": "2026-11-02", "product_line": "聚丙烯",
                                                            "quantity": "10", "unit": "t", "amount": "80000"})
    assert exc.value.code == "customer_pending"
    it, _ = interaction_create(actor=org.rep, data={"customer": c.pk, "channel": "phone", "summary": "介绍产品"})
    assert it.pk


# ---------------------------------------------------------------- account opening

def test_application_needs_the_papers_the_policy_lists(org, var):
    c = company(org)
    with pytest.raises(Invalid) as exc:
        apply(org, c)
    assert "documents" in exc.value.fields
    file_papers(org.rep, c)
    app = apply(org, c)
    assert app.status == "submitted" and app.request_id


def test_three_step_approval_activates_and_sends_the_record_to_finance(org, var):
    c = company(org)
    file_papers(org.rep, c)
    app = apply(org, c)
    decide(org, app, org.manager)
    decide(org, app, org.finance)
    c.refresh_from_db()
    assert c.status == "pending"  # not before the general manager approves
    decide(org, app, org.executive)
    c.refresh_from_db()
    app.refresh_from_db()
    assert (c.status, app.status) == ("active", "approved")
    assert ApprovalRequest.objects.get(pk=app.request_id).status == "approved"


@pytest.mark.django_db(transaction=False)
def test_admitted_customer_data_notifies_finance_and_the_department_manager(org, var, django_capture_on_commit_callbacks):
    from kehu.notifications.models import Notification

    c = company(org)
    file_papers(org.rep, c)
    app = apply(org, c)
    with django_capture_on_commit_callbacks(execute=True):
        decide(org, app, org.manager)
        decide(org, app, org.finance)
        decide(org, app, org.executive)
    told = set(Notification.objects.filter(link=f"/qualification/applications/{app.pk}/").values_list("user_id", flat=True))
    assert {org.finance.pk, org.manager.pk, org.rep.pk} <= told


@pytest.mark.parametrize("step", [1, 2, 3])
def test_rejection_at_each_step_keeps_the_customer_pending_with_the_reasons(org, var, step):
    c = company(org)
    file_papers(org.rep, c)
    app = apply(org, c)
    approvers = [org.manager, org.finance, org.executive]
    for who in approvers[:step - 1]:
        decide(org, app, who)
    decide(org, app, approvers[step - 1], "reject", f"第{step}步：资料不全")
    app.refresh_from_db()
    c.refresh_from_db()
    assert (app.status, c.status) == ("rejected", "pending")
    assert app.reasons == f"第{step}步：资料不全"
    # re-apply after correcting
    again = apply(org, c)
    assert again.pk != app.pk and again.status == "submitted"


def test_returned_application_is_sent_again(org, var):
    c = company(org)
    file_papers(org.rep, c)
    app = apply(org, c)
    decide(org, app, org.manager, "return", "补充法人信息")
    app.refresh_from_db()
    assert (app.status, app.reasons) == ("returned", "补充法人信息")
    services.application_resubmit(actor=org.rep, application_id=app.pk, comment="已补充")
    app.refresh_from_db()
    assert app.status == "submitted"


def test_only_a_pending_customer_applies(org, var):
    c = admit(company(org))
    with pytest.raises(Conflict):
        apply(org, c)


# ---------------------------------------------------------------- documents

def test_scan_type_checked_by_content_not_name(org, var):
    c = company(org)
    with pytest.raises(Invalid) as exc:
        services.document_add(actor=org.rep, customer_id=c.pk, data={"kind": "business_licence", "number": "1"},
                              file_name="licence.pdf", chunks=[b"MZ\x90\x00 not a pdf"])
    assert exc.value.code == "file_type"
    assert not Document.objects.filter(customer=c).exists()


def test_scan_too_large_refused(org, var, settings):
    settings.KEHU_QUALIFICATION = {"file_max_bytes": 100}
    c = company(org)
    with pytest.raises(Invalid) as exc:
        services.document_add(actor=org.rep, customer_id=c.pk, data={"kind": "business_licence", "number": "1"},
                              file_name="a.pdf", chunks=[PDF])
    assert exc.value.code == "too_large"


def test_scan_served_only_in_scope(org, var, client):
    c = company(org)
    doc, _inv = file_papers(org.rep, c)
    for user, expected in ((org.rep, 200), (org.manager, 200), (org.finance, 200), (org.north_rep, 404),
                           (org.rep2, 404)):
        client.force_login(user)
        r = client.get(f"/api/v1/qualification/documents/{doc.pk}/file")
        assert r.status_code == expected, user
        r = client.get(f"/qualification/documents/{doc.pk}/file")
        assert r.status_code == expected, user
        if expected == 200:
            assert b"".join(r.streaming_content) == PDF
            assert r["X-Content-Type-Options"] == "nosniff"


def test_renewal_is_a_new_version_in_force_once_verified(org, var):
    c = company(org)
    old, _inv = file_papers(org.rep, c, verify_by=org.finance)
    new = services.document_add(actor=org.rep, customer_id=c.pk, data={
        "kind": "business_licence", "number": USCC, "valid_to": "2035-12-31"}, file_name="n.pdf", chunks=[PDF])
    assert new.version == 2 and not new.current
    services.document_verify(actor=org.finance, document_id=new.pk, decision="verified")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.current, new.current, new.verified_by_id) == (False, True, org.finance.pk)


def test_a_rep_cannot_verify_documents(org, var):
    c = company(org)
    doc, _inv = file_papers(org.rep, c)
    with pytest.raises(Forbidden):
        services.document_verify(actor=org.rep, document_id=doc.pk, decision="verified")


# ---------------------------------------------------------------- expiry and suspension

def test_licence_valid_to_day_d_suspends_from_midnight_shanghai_after_d(org, var):
    c = admit(company(org))
    file_papers(org.rep, c, licence_to=dt.date(2026, 11, 30), verify_by=org.finance)
    assert services.expiry_sweep(today=dt.date(2026, 11, 30), remind=False)["suspended"] == 0
    c.refresh_from_db()
    assert c.status == "active"
    assert services.expiry_sweep(today=dt.date(2026, 12, 1), remind=False)["suspended"] == 1
    c.refresh_from_db()
    assert c.status == "suspended"
    assert CustomerQualification.objects.get(customer=c).suspended_by_documents


def test_suspended_customer_order_refused_naming_the_expired_licence_then_reinstated_on_renewal(org, var):
    from kehu.orders.services import order_create

    c = admit(company(org))
    file_papers(org.rep, c, licence_to=dt.date(2026, 11, 30), verify_by=org.finance)
    services.expiry_sweep(today=dt.date(2026, 12, 1), remind=False)
    order = {"order_date": "2026-12-02", "product_line": "聚丙烯", "quantity": "10", "unit": "t", "amount": "80000"}
    with pytest.raises(Conflict) as exc:
        order_create(actor=org.rep, customer_id=c.pk, data=order)
    assert exc.value.code == "customer_suspended"
    assert USCC in exc.value.message and "2026-11-30" in exc.value.message
    renewal = services.document_add(actor=org.rep, customer_id=c.pk, data={
        "kind": "business_licence", "number": USCC, "valid_to": "2031-11-30"}, file_name="r.pdf", chunks=[PDF])
    c.refresh_from_db()
    assert c.status == "suspended"  # filed is not enough: verified
    services.document_verify(actor=org.finance, document_id=renewal.pk, decision="verified",
                             today=dt.date(2026, 12, 2))
    c.refresh_from_db()
    assert c.status == "active"
    assert order_create(actor=org.rep, customer_id=c.pk, data=order).order.pk


def test_sweep_suspends_set_based_and_reinstates_renewed(org, var):
    cs = [admit(company(org, name=f"宁波{n}号石化贸易有限公司")) for n in range(3)]
    for c in cs:
        file_papers(org.rep, c, licence_to=dt.date(2026, 6, 30), verify_by=org.finance)
    out = services.expiry_sweep(today=dt.date(2026, 7, 1), remind=False)
    assert out["suspended"] == 3
    # the renewal of one is verified elsewhere without reinstating (e.g. imported): the sweep lifts it
    d = Document.objects.get(customer=cs[0], kind="business_licence", current=True)
    Document.objects.filter(pk=d.pk).update(valid_to=dt.date(2030, 1, 1))
    out = services.expiry_sweep(today=dt.date(2026, 7, 2), remind=False)
    assert (out["suspended"], out["reinstated"]) == (0, 1)
    assert [c.status for c in (type(cs[0]).objects.filter(pk__in=[c.pk for c in cs]).order_by("pk"))] == [
        "active", "suspended", "suspended"]


def test_manual_suspension_is_not_lifted_by_papers(org, var):
    c = admit(company(org))
    file_papers(org.rep, c, verify_by=org.finance)
    services.customer_suspend(actor=org.manager, customer_id=c.pk, reason="拖欠货款，暂停往来")
    services.expiry_sweep(today=dt.date(2026, 7, 2), remind=False)
    c.refresh_from_db()
    assert c.status == "suspended"


def test_a_rep_cannot_clear_a_suspension_api_and_page(org, var, api_client, client):
    c = admit(company(org))
    services.customer_suspend(actor=org.manager, customer_id=c.pk, reason="资质存疑")
    r = api_client.as_user(org.rep).post(f"/qualification/customers/{c.pk}/reinstate", {"reason": "已处理"})
    assert r.status_code == 403
    client.force_login(org.rep)
    assert client.post(f"/qualification/customers/{c.pk}/reinstate", {"reason": "已处理"}).status_code == 403
    c.refresh_from_db()
    assert c.status == "suspended"
    r = api_client.as_user(org.manager).post(f"/qualification/customers/{c.pk}/reinstate", {"reason": "已核实"})
    assert r.status_code == 200 and r.json()["status"] == "active"


def test_status_change_needs_a_reason_and_writes_an_audit_entry(org):
    from kehu.audit.models import AuditEntry

    c = admit(company(org))
    with pytest.raises(Invalid):
        customer_status_change(actor=org.manager, customer_id=c.pk, to="suspended", reason=" ")
    customer_status_change(actor=org.manager, customer_id=c.pk, to="suspended", reason="违约")
    e = AuditEntry.objects.filter(action="customer.status_changed", object_id=str(c.pk)).latest("id")
    assert e.changes["status"] == ["active", "suspended"] and e.changes["reason"] == "违约"


def test_complaints_and_follow_ups_stay_open_to_a_suspended_customer(org, var):
    from kehu.engagement.services import interaction_create

    c = admit(company(org))
    services.customer_suspend(actor=org.manager, customer_id=c.pk, reason="资质过期")
    it, _ = interaction_create(actor=org.rep, data={"customer": c.pk, "channel": "phone", "summary": "催促换证"})
    assert it.pk
    from kehu.service_desk.services import complaint_record
    from kehu.service_desk.tickets.services import ticket_record

    complaint = complaint_record(actor=org.rep, data={"complainant_name": "李先生", "subject": "送货延误",
                                                     "description": "货物晚到三天", "channel": "letter",
                                                     "customer": c.pk})
    ticket = ticket_record(actor=org.rep, data={"customer": c.pk, "kind": "repair", "channel": "phone",
                                                "subject": "设备报修", "description": "压缩机异响"})
    assert complaint.pk and ticket.pk


def test_expiry_reminder_to_owner_and_consenting_contact_once(org, var, django_capture_on_commit_callbacks, settings):
    from kehu.customers.services import consent_create, contact_create
    from kehu.notifications.models import Notification

    settings.KEHU_NOTIFY_EMAIL = True
    c = admit(company(org))
    file_papers(org.rep, c, licence_to=dt.date(2026, 12, 20), verify_by=org.finance)
    contact = contact_create(actor=org.rep, customer_id=c.pk, data={"name": "王经理", "email": "wang@hengyuan.cn"})
    consent_create(actor=org.rep, customer_id=c.pk, data={"contact": contact.pk, "purpose": "资质到期通知",
                                                           "channel": "email", "basis": "consent"})
    with django_capture_on_commit_callbacks(execute=True):
        out = services.expiry_sweep(today=dt.date(2026, 12, 1))
    assert out["reminded"] == 1
    assert Notification.objects.filter(user=org.rep, link__contains="expiring").exists()
    assert any("wang@hengyuan.cn" in m.to for m in mail.outbox)
    assert services.expiry_sweep(today=dt.date(2026, 12, 2))["reminded"] == 0


# ---------------------------------------------------------------- other write paths call the gate

def test_order_import_rows_of_blocked_customers_are_row_errors(org, var, tmp_path):
    from kehu.orders.imports import order_import

    ok = admit(company(org, name="上海浦江塑料制品有限公司"))
    pending = company(org, name="苏州吴中包装材料有限公司")
    path = tmp_path / "orders.csv"
    path.write_text("客户编号,订单日期,产品线,数量,金额\n"
                    f"{ok.pk},2026-11-02,聚丙烯,10,80000\n{pending.pk},2026-11-02,聚丙烯,5,40000\n", encoding="utf-8")
    report = order_import(actor=org.rep, path=path, file_name="orders.csv", dry_run=False)
    assert (report.written, report.error_count) == (1, 1)
    assert report.errors[0]["row"] == 3 and report.errors[0]["code"] == "customer_pending"


def test_allocation_plan_refused_for_a_suspended_customer(org):
    from kehu.grading.allocation.services import plan_create

    c = admit(company(org))
    services.customer_suspend(actor=org.manager, customer_id=c.pk, reason="暂停")
    with pytest.raises(Invalid) as exc:
        plan_create(actor=org.manager, data={"customer": c.pk, "month": "2026-12", "product_line": "聚丙烯",
                                             "participant_type": "direct", "quantity_t": "100"})
    assert "customer" in exc.value.fields
    assert AccountOpening.objects.count() == 0
