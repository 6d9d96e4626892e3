"""The idle timeout counts what the person does, not what an open page polls by itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_background_badge_poll_does_not_extend_the_idle_timeout(client, org):
    client.force_login(org.rep)
    client.get("/approvals/")  # a page the person opens: saved, the idle clock restarts
    before = _expiry(client)
    client.get("/approvals/", HTTP_HX_REQUEST="true")  # htmx background read
    client.get("/api/v1/workbench", HTTP_SEC_FETCH_DEST="empty")  # fetch() from the page
    assert _expiry(client) == before


def test_opening_a_page_extends_the_idle_timeout(client, org):
    client.force_login(org.rep)
    soon = timezone.now() + dt.timedelta(minutes=1)
    Session.objects.update(expire_date=soon)
    client.get("/approvals/")
    assert _expiry(client) > soon + dt.timedelta(minutes=20)


def test_an_htmx_post_still_counts_as_activity(client, org):
    client.force_login(org.rep)
    soon = timezone.now() + dt.timedelta(minutes=1)
    Session.objects.update(expire_date=soon)
    client.post("/notifications/read-all/", HTTP_HX_REQUEST="true")
    assert _expiry(client) > soon + dt.timedelta(minutes=20)
