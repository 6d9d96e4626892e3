"""The e-mail channel: a notification also goes by mail — enqueued to the worker only once the write
commits, only to users with an address, and not at all when e-mail is switched off. (Tests run Huey
in immediate mode and Django's locmem mail backend, so an enqueued mail lands in mail.outbox.)"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.checks import Error
from django.db import transaction
from django.urls import reverse

from kehu.approvals.services import approval_request
from kehu.notifications.apps import check_channels
from kehu.notifications.models import Notification
from kehu.notifications.services import notify


@pytest.fixture
def rep(org):
    org.rep.email = "zhangwei@example.com"
    org.rep.save(update_fields=["email"])
    return org.rep


def test_mail_is_sent_only_after_commit(rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(user=rep, title="审批通过：开户\n", body="华星石化", link="/approvals/7/")
    assert callbacks and mail.outbox == []
    for callback in callbacks:
        callback()
    [message] = mail.outbox
    assert message.to == ["zhangwei@example.com"] and message.subject == "审批通过：开户"
    assert "华星石化" in message.body and "/approvals/7/" in message.body
    assert Notification.objects.filter(user=rep).count() == 1  # the in-app row is still written


def test_a_rolled_back_write_sends_nothing(rep, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(user=rep, title="不该发出")
            raise RuntimeError("rolled back")
    assert mail.outbox == [] and not Notification.objects.exists()


def test_users_without_an_address_get_no_mail(org, django_capture_on_commit_callbacks):
    assert org.rep2.email == ""
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=org.rep2, title="只有站内通知")
    assert mail.outbox == [] and Notification.objects.filter(user=org.rep2).count() == 1


def test_email_can_be_switched_off(rep, settings, django_capture_on_commit_callbacks):
    settings.KEHU_NOTIFY_EMAIL = False
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=rep, title="关闭邮件")
    settings.KEHU_NOTIFY_EMAIL = True
    settings.KEHU_NOTIFY_CHANNELS = ["inapp"]
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=rep, title="只用站内通知")
    assert mail.outbox == [] and Notification.objects.filter(user=rep).count() == 2


def test_links_are_absolute_with_a_site_url(rep, settings, django_capture_on_commit_callbacks):
    settings.KEHU_SITE_URL = "https://crm.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=rep, title="投诉超时", link="/complaints/3/")
    assert "https://crm.example.com/complaints/3/" in mail.outbox[0].body


def test_a_failing_mail_server_does_not_break_the_write(rep, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "kehu.notifications.tests.test_email.BrokenBackend"
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=rep, title="邮件服务器故障")
    assert Notification.objects.filter(user=rep).count() == 1


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("connection refused")


def test_an_approval_assignee_with_an_address_is_mailed(org, django_capture_on_commit_callbacks):
    from kehu.customers import services

    org.manager.email = "li@example.com"
    org.manager.save(update_fields=["email"])
    huaxing = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})
    with django_capture_on_commit_callbacks(execute=True):
        req = approval_request(actor=org.rep, chain_code="complaint.solution.general", target=huaxing,
                               title="投诉处理方案")
    [message] = mail.outbox
    assert message.to == ["li@example.com"] and "投诉处理方案" in message.subject
    assert reverse("approvals:request", args=[req.pk]) in message.body


def test_unknown_channels_fail_the_system_check(settings):
    settings.KEHU_NOTIFY_CHANNELS = ["inapp", "sms"]
    [error] = check_channels()
    assert isinstance(error, Error) and "sms" in error.msg
    settings.KEHU_NOTIFY_CHANNELS = ["inapp", "email"]
    assert check_channels() == []
