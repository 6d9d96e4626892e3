"""The idle timeout slides with every request, but the background reads a page fires (badges, charts,
hints) write the session at most once a minute instead of all at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from kehu.access.middleware import SAVED_AT

pytestmark = pytest.mark.django_db


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def _expire_soon():
    soon = timezone.now() + dt.timedelta(minutes=1)
    Session.objects.update(expire_date=soon)
    return soon


def test_background_reads_right_after_a_save_do_not_write_the_session_again(client, org):
    client.force_login(org.rep)
    client.get("/approvals/")  # a page the person opens: saved, the idle clock restarts
    soon = _expire_soon()  # stands in for "the row was not written again"
    client.get("/approvals/", HTTP_HX_REQUEST="true")  # htmx background read
    client.get("/api/v1/workbench", HTTP_SEC_FETCH_DEST="empty")  # fetch() from the page
    assert _expiry(client) == soon


def test_a_background_read_a_minute_after_the_last_save_still_extends_the_idle_timeout(client, org):
    client.force_login(org.rep)
    client.get("/approvals/")
    session = client.session
    session[SAVED_AT] = 0  # last written long ago
    session.save()
    soon = _expire_soon()
    client.get("/approvals/", HTTP_HX_REQUEST="true")
    assert _expiry(client) > soon + dt.timedelta(minutes=20)


def test_opening_a_page_extends_the_idle_timeout(client, org):
    client.force_login(org.rep)
    client.get("/approvals/")
    soon = _expire_soon()
    client.get("/approvals/")
    assert _expiry(client) > soon + dt.timedelta(minutes=20)


def test_an_htmx_post_extends_the_idle_timeout(client, org):
    client.force_login(org.rep)
    client.get("/approvals/")
    soon = _expire_soon()
    client.post("/notifications/read-all/", HTTP_HX_REQUEST="true")
    assert _expiry(client) > soon + dt.timedelta(minutes=20)


def test_an_anonymous_visitor_gets_no_session_row(client):
    client.get("/login/")
    client.get("/login/", HTTP_HX_REQUEST="true")
    assert not Session.objects.exists()
