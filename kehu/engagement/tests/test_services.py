"""The follow-up services (跟进记录): scope, idempotent replay, edit window, next steps, the contact summary,
attachments (type from the content, size limit, private) and the once-only reminder."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import contact, org_customer
from kehu.engagement import services
from kehu.engagement.models import CustomerContactSummary, Interaction, InteractionAttachment
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def hx(org):
    return org_customer(org.rep, "浙江华星石化有限公司", serial=1)


@pytest.fixture
def var(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path


def record(actor, customer, **extra):
    data = {"customer": customer.pk, "channel": "phone", "summary": "电话沟通下月提货计划", **extra}
    return services.interaction_create(actor=actor, data=data)


def test_follow_up_recorded_for_customer_in_scope_audited_and_summarised(org, hx):
    wang = contact(org.rep, hx, "王经理")
    it, replayed = record(org.rep, hx, contacts=[wang.pk], next_step="发送报价单",
                          next_step_due=str(timezone.localdate() + dt.timedelta(days=2)))
    assert not replayed and it.owner == org.rep and it.recorded_by == org.rep
    assert list(it.contacts.values_list("pk", flat=True)) == [wang.pk]
    assert AuditEntry.objects.filter(action="interaction.create", object_id=str(it.pk)).exists()
    summary = CustomerContactSummary.objects.get(customer=hx)
    assert summary.last_interaction_id == it.pk and summary.next_step == "发送报价单"
    assert summary.open_steps == 1 and summary.interactions == 1


def test_customer_outside_scope_is_not_found_and_nothing_written(org, hx):
    for user in (org.north_rep, org.rep2, org.north_manager):
        with pytest.raises(NotFound):
            record(user, hx)
    assert not Interaction.objects.exists() and not AuditEntry.objects.filter(action__startswith="interaction").exists()


def test_roles_without_interaction_write_are_refused(org, hx):
    for user in (org.finance, org.analyst, org.auditor):
        with pytest.raises(Forbidden):
            record(user, hx)
    assert not Interaction.objects.exists()


def test_contacts_must_belong_to_the_customer(org, hx):
    other = org_customer(org.rep, "上海东方贸易有限公司", serial=2)
    stranger = contact(org.rep, other, "李四")
    with pytest.raises(Invalid) as exc:
        record(org.rep, hx, contacts=[stranger.pk])
    assert "contacts" in exc.value.fields and not Interaction.objects.exists()


def test_occurred_at_in_the_future_beyond_the_skew_is_refused(org, hx):
    later = timezone.now() + dt.timedelta(hours=2)
    with pytest.raises(Invalid) as exc:
        record(org.rep, hx, occurred_at=later.isoformat())
    assert "occurred_at" in exc.value.fields
    # a phone clock a few minutes ahead is accepted
    it, _ = record(org.rep, hx, occurred_at=(timezone.now() + dt.timedelta(minutes=3)).isoformat())
    assert it.pk


def test_due_date_without_next_step_is_refused(org, hx):
    with pytest.raises(Invalid) as exc:
        record(org.rep, hx, next_step_due="2027-01-05")
    assert "next_step" in exc.value.fields


def test_replay_with_same_client_key_returns_the_first_row_never_a_second(org, hx):
    key = str(uuid.uuid4())
    first, replayed1 = record(org.rep, hx, client_key=key)
    again, replayed2 = record(org.rep, hx, client_key=key, summary="再次发送")
    assert (replayed1, replayed2) == (False, True) and again.pk == first.pk
    assert Interaction.objects.count() == 1
    assert AuditEntry.objects.filter(action="interaction.create").count() == 1


def test_replay_decided_by_the_unique_key_a_fresh_key_costs_no_look_up(org, hx, monkeypatch):
    """The key is not looked up before the insert (two racing requests would both miss it anyway): a fresh key
    inserts without a look-up; a replay's insert is refused by the database's unique key and only then is the
    first row looked up and answered."""
    real = services._replayed
    calls = []

    def counted(actor, k):
        calls.append(k)
        return real(actor, k)

    monkeypatch.setattr(services, "_replayed", counted)
    key = str(uuid.uuid4())
    first, replayed1 = record(org.rep, hx, client_key=key)
    assert not replayed1 and calls == []
    again, replayed2 = record(org.rep, hx, client_key=key)
    assert replayed2 and again.pk == first.pk and Interaction.objects.count() == 1
    assert calls == [uuid.UUID(key)]
    assert AuditEntry.objects.filter(action="interaction.create").count() == 1


def test_a_replay_answers_the_first_row_even_when_its_payload_would_now_be_refused(org, hx):
    key = str(uuid.uuid4())
    first, _ = record(org.rep, hx, client_key=key)
    again, replayed = record(org.rep, hx, client_key=key, summary="", channel="fax")
    assert replayed and again.pk == first.pk
    with pytest.raises(Invalid):  # without the key the same payload is refused
        record(org.rep, hx, summary="", channel="fax")


def test_a_replay_with_its_photo_answers_the_first_row_and_stores_nothing_again(org, hx, var):
    key = str(uuid.uuid4())
    first, _ = services.interaction_create(
        actor=org.rep, data={"customer": hx.pk, "channel": "visit", "summary": "拜访", "client_key": key},
        files=[("a.jpg", [JPEG])])
    stored = sorted(p.name for p in services.attachment_dir().iterdir())
    again, replayed = services.interaction_create(
        actor=org.rep, data={"customer": hx.pk, "channel": "visit", "summary": "拜访", "client_key": key},
        files=[("b.jpg", [JPEG + b"another photo"])])
    assert replayed and again.pk == first.pk
    assert sorted(p.name for p in services.attachment_dir().iterdir()) == stored
    assert InteractionAttachment.objects.count() == 1


def test_another_users_client_key_is_a_conflict_not_a_read(org, hx):
    key = str(uuid.uuid4())
    record(org.rep, hx, client_key=key)
    with pytest.raises(Conflict):
        record(org.manager, hx, client_key=key)


def test_recorder_corrects_within_the_edit_window_then_only_a_manager(org, hx, settings):
    it, _ = record(org.rep, hx)
    services.interaction_update(actor=org.rep, interaction_id=it.pk, data={"summary": "改：电话沟通提货"})
    assert AuditEntry.objects.filter(action="interaction.update", object_id=str(it.pk)).exists()
    Interaction.objects.filter(pk=it.pk).update(created_at=timezone.now() - dt.timedelta(hours=73))
    with pytest.raises(Conflict) as exc:
        services.interaction_update(actor=org.rep, interaction_id=it.pk, data={"summary": "再改"})
    assert exc.value.code == "edit_window_passed"
    services.interaction_update(actor=org.manager, interaction_id=it.pk, data={"outcome": "经理更正"})
    it.refresh_from_db()
    assert it.summary == "改：电话沟通提货" and it.outcome == "经理更正"
    settings.KEHU_ENGAGEMENT = {**settings.KEHU_ENGAGEMENT, "edit_window_hours": 100}
    services.interaction_update(actor=org.rep, interaction_id=it.pk, data={"summary": "窗口放宽后可改"})


def test_a_colleague_who_is_neither_recorder_nor_owner_cannot_correct(org, hx):
    it, _ = record(org.rep, hx)
    with pytest.raises(NotFound):  # rep2 does not see rep's customer at all
        services.interaction_update(actor=org.rep2, interaction_id=it.pk, data={"summary": "x"})
    with pytest.raises(Forbidden):  # the service agent sees it (company scope) but may not correct it
        services.interaction_update(actor=org.agent, interaction_id=it.pk, data={"summary": "x"})


def test_next_step_done_and_reopen_update_the_summary(org, hx):
    due = timezone.localdate() + dt.timedelta(days=1)
    it, _ = record(org.rep, hx, next_step="上门拜访采购部王经理", next_step_due=str(due))
    services.interaction_next_step_done(actor=org.rep, interaction_id=it.pk)
    assert CustomerContactSummary.objects.get(customer=hx).next_step == ""
    with pytest.raises(Conflict):
        services.interaction_next_step_done(actor=org.rep, interaction_id=it.pk)
    services.interaction_next_step_reopen(actor=org.rep, interaction_id=it.pk)
    assert CustomerContactSummary.objects.get(customer=hx).next_step_due == due


def test_summary_keeps_the_latest_contact_and_the_earliest_open_step(org, hx):
    today = timezone.localdate()
    old, _ = record(org.rep, hx, occurred_at=(timezone.now() - dt.timedelta(days=10)).isoformat(),
                    next_step="寄样品", next_step_due=str(today + dt.timedelta(days=1)))
    new, _ = record(org.rep, hx, channel="wechat", next_step="确认报价", next_step_due=str(today + dt.timedelta(days=5)))
    summary = CustomerContactSummary.objects.get(customer=hx)
    assert summary.last_interaction_id == new.pk and summary.last_channel == "wechat"
    assert summary.next_interaction_id == old.pk and summary.open_steps == 2


SUMMARY_FIELDS = ("last_contact_at", "last_interaction_id", "last_channel", "next_step", "next_step_due",
                  "next_interaction_id", "open_steps", "interactions")


def test_the_create_upsert_keeps_the_same_summary_a_recount_would(org, hx):
    """The create counts its row into the summary with one upsert (no lock, no recount): after every create,
    in any order of back-dated contacts, equal moments, earlier/later/equal/missing due dates and follow-ups
    without a step, the row equals what summary_refresh recomputes from the thread."""
    now = timezone.now().replace(microsecond=0)
    today = timezone.localdate()
    plan = [  # (days ago, channel, next step, due in days)
        (5, "phone", "寄样品", 3), (9, "visit", "", None), (5, "wechat", "确认报价", 3), (1, "email", "报价", None),
        (0, "phone", "", None), (20, "visit", "回访", 1), (0, "wechat", "签合同", None), (3, "phone", "送货", 1),
        (30, "email", "催款", 0)]
    for ago, channel, step, due in plan:
        record(org.rep, hx, occurred_at=(now - dt.timedelta(days=ago)).isoformat(), channel=channel,
               next_step=step, next_step_due=str(today + dt.timedelta(days=due)) if due is not None else None)
        kept = CustomerContactSummary.objects.values(*SUMMARY_FIELDS).get(customer=hx)
        services.summary_refresh(hx.pk)
        assert kept == CustomerContactSummary.objects.values(*SUMMARY_FIELDS).get(customer=hx)
    assert kept["interactions"] == len(plan) and kept["open_steps"] == 7


def test_photo_attached_type_sniffed_from_content_and_kept_once(org, hx, var):
    it, _ = record(org.rep, hx, channel="visit")
    att, replayed = services.attachment_add(actor=org.rep, interaction_id=it.pk, file_name="现场.png",
                                            chunks=[JPEG])
    assert att.content_type == "image/jpeg" and not replayed  # the name said PNG, the bytes are JPEG
    assert services.attachment_path(att).exists() and str(var) in str(services.attachment_path(att))
    again, replayed = services.attachment_add(actor=org.rep, interaction_id=it.pk, file_name="x.jpg", chunks=[JPEG])
    assert replayed and again.pk == att.pk and InteractionAttachment.objects.count() == 1


def test_attachment_of_a_refused_type_or_too_large_is_refused_and_nothing_written(org, hx, var, settings):
    it, _ = record(org.rep, hx)
    with pytest.raises(Invalid) as exc:
        services.attachment_add(actor=org.rep, interaction_id=it.pk, file_name="photo.jpg",
                                chunks=[b"<html><script>alert(1)</script>"])
    assert exc.value.code == "file_type"
    settings.KEHU_ENGAGEMENT = {**settings.KEHU_ENGAGEMENT, "attachment_max_bytes": 50}
    with pytest.raises(Invalid) as exc:
        services.attachment_add(actor=org.rep, interaction_id=it.pk, file_name="big.pdf", chunks=[PDF, PDF])
    assert exc.value.code == "too_large"
    with pytest.raises(Invalid) as exc:
        services.attachment_add(actor=org.rep, interaction_id=it.pk, file_name="empty.pdf", chunks=[b""])
    assert exc.value.code == "empty"
    assert not InteractionAttachment.objects.exists()
    assert not [p for p in (var / "engagement" / "attachments").iterdir()]


def test_attachment_to_a_follow_up_outside_scope_is_not_found(org, hx, var):
    it, _ = record(org.rep, hx)
    with pytest.raises(NotFound):
        services.attachment_add(actor=org.north_rep, interaction_id=it.pk, file_name="a.pdf", chunks=[PDF])


def test_next_step_due_tomorrow_reminds_the_owner_once(org, hx, django_capture_on_commit_callbacks):
    from kehu.notifications.models import Notification

    today = timezone.localdate()
    record(org.rep, hx, next_step="送样", next_step_due=str(today + dt.timedelta(days=1)))
    record(org.rep, hx, next_step="回访", next_step_due=str(today + dt.timedelta(days=3)))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.next_step_reminders(today=today) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.next_step_reminders(today=today) == 0
    assert Notification.objects.filter(user=org.rep).count() == 1
