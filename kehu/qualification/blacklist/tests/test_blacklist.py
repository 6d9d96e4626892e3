"""Disqualification and the blacklist (seed 004 第13篇 第十七条): asked with reason and evidence, approved by the
manager then the general manager; the customer is disqualified and listed by USCC, name core and phone
hashes; registering it again is refused (USCC, ID number) or flagged (name variant, phone) on every path —
also after the record was deleted; lifting needs an approval and a reason."""

from __future__ import annotations

import pytest

from kehu.approvals.models import ApprovalRequest
from kehu.approvals.services import approval_decide
from kehu.customers import services as customer_services
from kehu.customers.gates import Action, ensure_business_allowed
from kehu.customers.models import Customer
from kehu.customers.tests.factories import contact, make_uscc, org_customer, person_customer
from kehu.errors import Conflict, Invalid, NotFound
from kehu.qualification.blacklist import screening, selectors, services
from kehu.qualification.blacklist.models import (
    BlacklistEntry,
    BlacklistPhone,
    Disqualification,
    Evidence,
    ScreeningHit,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
MOBILE = "13957112345"


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def _request_for(req_target, chain):
    from django.contrib.contenttypes.models import ContentType

    return ApprovalRequest.objects.get(content_type=ContentType.objects.get_for_model(req_target),
                                       object_id=str(req_target.pk), chain__code=chain)


def _approve_all(req):
    """Every step approves, by whoever the engine asked (manager, then the general manager)."""
    from kehu.approvals.models import ApprovalTask

    for _step in range(5):
        req.refresh_from_db()
        if req.status != "pending":
            return
        task = ApprovalTask.objects.filter(request=req, status="pending").select_related("assignee").first()
        approval_decide(actor=task.assignee, request_id=req.pk, decision="approve", comment="同意")


@pytest.fixture
def huaxing(org):
    c = org_customer(org.rep, "杭州华星化工有限公司", serial=41)
    contact(org.rep, c, "钱多多", title="总经理", mobile=MOBILE)
    return c


@pytest.fixture
def listed(org, huaxing, var_dir):
    d = services.disqualification_request(actor=org.rep, customer_id=huaxing.pk, category="fraud",
                                          description="提供虚假营业执照，骗取赊销额度30万元",
                                          files=[("营业执照.pdf", [PDF])])
    req = _request_for(d, services.DISQUALIFICATION_CHAIN)
    assert [t.assignee for t in req.tasks.all()] == [org.manager]  # the rep's manager first
    _approve_all(req)
    d.refresh_from_db()
    return d


def test_disqualification_approved_by_manager_then_general_manager_lists_the_customer(org, listed, huaxing):
    huaxing.refresh_from_db()
    assert listed.state == "approved"
    assert huaxing.status == "disqualified"
    entry = BlacklistEntry.objects.get(customer=huaxing)
    assert (entry.uscc, entry.name_core, entry.category, entry.state) == (make_uscc(41), "华星化工", "fraud", "active")
    assert entry.disqualification_id == listed.pk
    with pytest.raises(Conflict) as exc:
        ensure_business_allowed(huaxing, Action.ORDER)
    assert exc.value.code == "customer_disqualified"


def test_blacklist_keeps_phone_hashes_never_the_number(org, listed):
    hashes = list(BlacklistPhone.objects.values_list("phone_hash", flat=True))
    assert hashes == [screening.phone_hash(MOBILE)]
    assert MOBILE not in hashes[0]
    for row in BlacklistEntry.objects.values():
        assert MOBILE not in str(row)


def test_rejection_leaves_the_customer_active_and_unlisted(org, huaxing, var_dir):
    d = services.disqualification_request(actor=org.rep, customer_id=huaxing.pk, category="loss",
                                          description="拖欠货款造成损失")
    req = _request_for(d, services.DISQUALIFICATION_CHAIN)
    approval_decide(actor=org.manager, request_id=req.pk, decision="reject", comment="证据不足")
    d.refresh_from_db()
    huaxing.refresh_from_db()
    assert d.state == "rejected" and huaxing.status == "active"
    assert not BlacklistEntry.objects.exists()


def test_request_needs_a_policy_reason_and_a_description(org, huaxing):
    with pytest.raises(Invalid) as exc:
        services.disqualification_request(actor=org.rep, customer_id=huaxing.pk, category="bad_mood",
                                          description="")
    assert set(exc.value.fields) == {"category", "description"}


def test_a_customer_outside_scope_cannot_be_disqualified(org, huaxing):
    with pytest.raises(NotFound):
        services.disqualification_request(actor=org.north_rep, customer_id=huaxing.pk, category="fraud",
                                          description="虚假信息")


def test_evidence_type_is_checked_by_content_not_name(org, huaxing, var_dir):
    with pytest.raises(Invalid) as exc:
        services.disqualification_request(actor=org.rep, customer_id=huaxing.pk, category="fraud",
                                          description="虚假信息", files=[("证据.pdf", [b"MZ\x90\x00 not a pdf"])])
    assert exc.value.code == "file_type"
    d = services.disqualification_request(actor=org.rep, customer_id=huaxing.pk, category="fraud",
                                          description="虚假信息", files=[("照片.jpg", [PNG])])
    ev = Evidence.objects.get(disqualification=d)
    assert ev.content_type == "image/png"
    assert (var_dir / "blacklist" / "evidence" / ev.stored_name).read_bytes() == PNG


def test_evidence_size_is_limited(org, huaxing, var_dir, settings):
    settings.KEHU_BLACKLIST = {"evidence_max_bytes": 100}
    with pytest.raises(Invalid) as exc:
        services.disqualification_request(actor=org.rep, customer_id=huaxing.pk, category="fraud",
                                          description="虚假信息", files=[("大文件.pdf", [PDF + b"x" * 200])])
    assert exc.value.code == "too_large"


def test_evidence_is_served_only_in_scope(org, listed, api_client):
    ev = listed.evidence.get()
    path = f"/blacklist/disqualifications/{listed.pk}/evidence/{ev.pk}"
    ok = api_client.as_user(org.manager).get(path)
    assert ok.status_code == 200 and b"".join(ok.streaming_content) == PDF
    assert ok["X-Content-Type-Options"] == "nosniff"
    assert api_client.as_user(org.north_manager).get(path).status_code == 404
    assert api_client.as_user(org.north_rep).get(f"/blacklist/entries/{listed.entry.pk}").status_code == 404


def test_same_uscc_is_refused_even_after_the_record_was_deleted(org, listed, huaxing):
    customer_services.customer_delete(actor=org.manager, customer_id=huaxing.pk)
    with pytest.raises(Conflict) as exc:
        org_customer(org.rep2, "华星化工新公司", serial=41)
    assert exc.value.code == "blacklisted"
    # The entry does not depend on the customer row: a hard delete leaves it listed.
    Customer.objects.filter(pk=huaxing.pk).delete()
    assert BlacklistEntry.objects.get().state == "active"
    with pytest.raises(Conflict) as exc:
        org_customer(org.north_rep, "北京华星", serial=41)
    assert exc.value.code == "blacklisted"


def test_name_variant_is_flagged_for_review_and_let_through(org, listed):
    c = org_customer(org.rep2, "华星化工（杭州）有限公司", serial=42)
    assert [w["code"] for w in c.warnings] == ["blacklist_match"]
    hit = ScreeningHit.objects.get(customer=c)
    assert (hit.matched_on, hit.source, hit.state, hit.entry.customer_name) == ("name", "create", "open",
                                                                                 "杭州华星化工有限公司")


def test_known_phone_is_flagged(org, listed):
    p = person_customer(org.rep, "钱多多", mobile=MOBILE)
    assert ScreeningHit.objects.get(customer=p).matched_on == "phone"


def test_api_create_refuses_blacklisted_uscc_with_409_and_code(org, listed, api_client):
    r = api_client.as_user(org.rep2).post("/customers", {"name": "华星化工", "kind": "organization",
                                                          "uscc": make_uscc(41), "confirm_duplicate": True})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "blacklisted"


def test_bulk_registration_refuses_the_uscc_and_flags_the_name(org, listed):
    with pytest.raises(Conflict) as exc:
        customer_services.customer_bulk_create(actor=org.manager, rows=[
            {"name": "宁波甬兴塑料有限公司", "kind": "organization", "uscc": make_uscc(50)},
            {"name": "别名华星", "kind": "organization", "uscc": make_uscc(41)}])
    assert exc.value.code == "blacklisted" and "2" in exc.value.message
    n = customer_services.customer_bulk_create(actor=org.manager, rows=[
        {"name": "宁波甬兴塑料有限公司", "kind": "organization", "uscc": make_uscc(50)},
        {"name": "浙江华星化工有限公司", "kind": "organization", "uscc": make_uscc(51),
         "contacts": [{"name": "钱多多", "mobile": MOBILE, "basis": {"basis": "contract", "purpose": "合同履行"}}]}])
    assert n == 2
    hits = ScreeningHit.objects.filter(source="bulk")
    assert sorted(hits.values_list("matched_on", flat=True)) == ["name"]
    assert hits.get().customer.name == "浙江华星化工有限公司"


def test_import_rows_with_a_blacklisted_uscc_are_errors(org, listed):
    from kehu.imports.rows import RowValidator

    v = RowValidator(actor=org.manager, columns=["name", "uscc"])
    out = list(v.check_chunk([(2, ["华星化工", make_uscc(41)]), (3, ["宁波甬兴塑料有限公司", make_uscc(52)])]))
    assert out[0][1] is None and out[0][2]
    assert out[1][1] is not None and not out[1][2]


def test_public_complaint_form_is_accepted_and_flagged(org, listed, client):
    r = client.post("/complaints/public/", {"complainant_name": "钱多多", "complainant_phone": MOBILE,
                                             "company": "华星化工", "subject": "质量问题",
                                             "description": "上批聚乙烯有杂质"})
    assert r.status_code == 200
    hit = ScreeningHit.objects.get(source="public_form")
    assert hit.object_type == "service_desk.complaint" and hit.matched_on in ("name", "phone")


def test_claim_screening_refuses_a_record_matching_a_deleted_blacklisted_customer(org, listed, huaxing):
    customer_services.customer_delete(actor=org.manager, customer_id=huaxing.pk)
    twin = Customer.objects.create(name="华星化工", kind="organization", uscc=make_uscc(41), owner=org.rep2,
                                   department=org.rep2.department)  # an older duplicate sitting in the pool
    with pytest.raises(Conflict) as exc:
        screening.screen_existing_customer(actor=org.rep2, customer=twin)
    assert exc.value.code == "blacklisted"


def test_lifting_needs_a_reason_and_approval_then_the_customer_is_active(org, listed, huaxing):
    entry = listed.entry
    with pytest.raises(Invalid):
        services.lift_request(actor=org.manager, entry_id=entry.pk, reason=" ")
    lift = services.lift_request(actor=org.manager, entry_id=entry.pk, reason="法院判决撤销，客户已赔偿全部损失")
    entry.refresh_from_db()
    assert entry.state == "active"
    _approve_all(_request_for(lift, services.LIFT_CHAIN))
    entry.refresh_from_db()
    huaxing.refresh_from_db()
    assert entry.state == "lifted" and entry.lift_reason.startswith("法院")
    assert huaxing.status == "active"
    assert screening.screen_new_customer(name="华星化工", uscc=make_uscc(41)).refuse is None


def test_a_rep_cannot_lift_or_review(org, listed):
    from kehu.errors import Forbidden

    with pytest.raises(Forbidden):
        services.lift_request(actor=org.rep, entry_id=listed.entry.pk, reason="理由")


def test_hit_review_clears_a_false_match(org, listed):
    c = org_customer(org.rep2, "华星化工（杭州）有限公司", serial=42)
    hit = ScreeningHit.objects.get(customer=c)
    services.hit_review(actor=org.manager, hit_id=hit.pk, state="cleared", note="另一家公司，营业执照不同")
    hit.refresh_from_db()
    assert hit.state == "cleared" and hit.reviewed_by == org.manager
    with pytest.raises(Conflict):
        services.hit_review(actor=org.manager, hit_id=hit.pk, state="confirmed")


def test_lists_are_scoped(org, listed):
    assert [e.pk for e in selectors.entry_list(actor=org.manager).items] == [listed.entry.pk]
    assert selectors.entry_list(actor=org.north_manager).items == []
    assert [d.pk for d in selectors.disqualification_list(actor=org.rep).items] == [listed.pk]
    assert selectors.disqualification_list(actor=org.rep2).items == []


def test_screening_is_a_few_indexed_queries(org, listed, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        screening.screen_new_customer(name="华星化工", uscc=make_uscc(60), phones=[MOBILE])
    subjects = [screening.Subject(key=i, name=f"公司{i}号", uscc=make_uscc(100 + i)) for i in range(2000)]
    with django_assert_max_num_queries(12):
        assert screening.screen_many(subjects) == {}


def test_pages_render_and_follow_scope(org, listed, client):
    client.force_login(org.manager)
    for url in ("/blacklist/", f"/blacklist/{listed.entry.pk}/", "/blacklist/disqualifications/",
                f"/blacklist/disqualifications/{listed.pk}/", "/blacklist/hits/",
                f"/blacklist/disqualifications/new/?customer={listed.customer_id}"):
        assert client.get(url).status_code == 200, url
    client.force_login(org.north_manager)
    assert client.get(f"/blacklist/{listed.entry.pk}/").status_code == 404
    assert client.get(f"/blacklist/disqualifications/{listed.pk}/").status_code == 404


def test_disqualification_page_form_sends_for_approval(org, huaxing, client, var_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(org.rep)
    r = client.post("/blacklist/disqualifications/new/", {
        "customer": huaxing.pk, "category": "legal", "description": "被市场监管局立案查处",
        "evidence": SimpleUploadedFile("立案通知书.pdf", PDF, content_type="application/pdf")})
    assert r.status_code == 302
    d = Disqualification.objects.get()
    assert (d.category, d.evidence.count(), d.state) == ("legal", 1, "pending")


def test_customer_thread_shows_the_disqualification(org, listed):
    from kehu.customers.profile import customer_thread

    items, _next = customer_thread(actor=org.manager, customer_id=listed.customer_id)
    assert [(i.kind, i.id) for i in items if i.kind == "disqualification"] == [("disqualification", listed.pk)]
    items, _next = customer_thread(actor=org.agent, customer_id=listed.customer_id)
    assert not [i for i in items if i.kind == "disqualification"]


def test_listed_phone_and_id_number_still_match_after_the_keys_are_rotated(org, listed, huaxing):
    """`kehu keys_rotate` with a new field key and a new lookup key recomputes the blacklist's hashes from
    the ciphertext kept beside them: the known phone is still flagged, and nothing is left hash-only."""
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.test import override_settings

    from kehu.access import protection
    from kehu.customers.services import field_keys_rotate

    person = person_customer(org.rep, "钱小多", mobile="13957100001", id_number="110101199003074477")
    entry = services.entry_create(actor=org.manager, customer=person, category="fraud", reason="冒用身份")
    old = set(BlacklistPhone.objects.values_list("phone_hash", flat=True))
    with override_settings(FIELD_KEYS=[Fernet.generate_key().decode(), *settings.FIELD_KEYS],
                           LOOKUP_KEY="a-new-lookup-key"):
        counts = field_keys_rotate(actor=None)
        assert counts["blacklistphone"] == 2 and counts["blacklistentry"] == 1
        assert not [k for k in counts if k.endswith("_hash_only")]
        assert old.isdisjoint(BlacklistPhone.objects.values_list("phone_hash", flat=True))
        p = person_customer(org.rep2, "钱多多", mobile=MOBILE)
        assert ScreeningHit.objects.get(customer=p).matched_on == "phone"
        entry.refresh_from_db()
        assert entry.id_number_hash == protection.lookup_hash("110101199003074477")


def test_an_edit_cannot_give_a_customer_a_blacklisted_uscc(org, listed, huaxing):
    """Registered without its USCC, then edited to carry the blacklisted one: refused as on create, nothing
    changes; an edit of the name to a variant is flagged for review."""
    Customer.objects.filter(pk=huaxing.pk).delete()  # gone from the archive, still on the blacklist
    c = org_customer(org.rep2, "钱塘新材料有限公司", serial=43)
    with pytest.raises(Conflict) as exc:
        customer_services.customer_update(actor=org.rep2, customer_id=c.pk, data={"uscc": make_uscc(41)})
    assert exc.value.code == "blacklisted"
    c.refresh_from_db()
    assert c.uscc == make_uscc(43)
    c = customer_services.customer_update(actor=org.rep2, customer_id=c.pk, data={"name": "华星化工（钱塘）有限公司"})
    assert [w["code"] for w in c.warnings] == ["blacklist_match"]
    hit = ScreeningHit.objects.get(customer=c)
    assert (hit.matched_on, hit.source) == ("name", "update")
    # An unrelated edit screens nothing again.
    customer_services.customer_update(actor=org.rep2, customer_id=c.pk, data={"address": "钱塘区1号"})
    assert ScreeningHit.objects.filter(customer=c).count() == 1


def test_the_disqualified_customer_itself_can_still_be_edited(org, listed, huaxing):
    customer_services.customer_update(actor=org.manager, customer_id=huaxing.pk, data={"name": "杭州华星化工集团有限公司"})
    assert not ScreeningHit.objects.filter(customer=huaxing).exists()
