"""Empty pages say what to do next, not just 无 (issue 9): a manager gets the action, a user who cannot
act is told who can; a filtered empty list offers to clear the filters."""

from __future__ import annotations

import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db


def _page(client, user, url, **params):
    client.force_login(user)
    with translation.override("zh-hans"):
        r = client.get(url, params, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200, (url, r.status_code)
    return r.content.decode()


def _next(html):
    """The what-to-do-next part of an empty state."""
    assert 'data-testid="empty-next"' in html
    return html.split('data-testid="empty-next"', 1)[1][:600]


def test_empty_inspection_list_offers_a_new_plan_to_a_manager(client, org):
    html = _page(client, org.manager, "/inspections/")
    assert 'href="/inspections/plans/new/"' in _next(html)


def test_empty_inspection_list_tells_a_rep_who_plans(client, org):
    html = _page(client, org.rep, "/inspections/")
    assert "href=" not in _next(html).split("</p>")[0]


def test_filtered_empty_inspection_list_offers_to_clear_the_filters(client, org):
    html = _page(client, org.rep, "/inspections/", show="done", mine="on")
    assert 'href="/inspections/"' in _next(html)


def test_empty_plan_and_checklist_pages_say_what_next(client, org):
    html = _page(client, org.manager, "/inspections/plans/")
    assert 'href="/inspections/plans/new/"' in _next(html)
    assert 'data-testid="empty-next"' in _page(client, org.manager, "/inspections/checklists/")
    assert 'data-testid="empty-next"' in _page(client, org.rep, "/inspections/plans/")


def test_empty_notifications_offer_the_earlier_ones(client, org):
    html = _page(client, org.rep, "/notifications/")
    assert 'data-testid="notifications-empty"' in html and "?all=1" in html.split('data-testid="notifications-empty"')[1]


def test_empty_review_pages_say_what_next(client, org):
    assert 'data-testid="empty-next"' in _page(client, org.rep, "/review/mine/")


def test_calendar_year_without_special_days_tells_an_admin_how_to_add_one(client, org):
    html = _page(client, org.admin, "/settings/calendar/", year=2199)
    assert 'data-testid="calendar-empty"' in html and 'data-testid="empty-next"' in html
    html = _page(client, org.rep, "/settings/calendar/", year=2199)
    assert 'data-testid="calendar-empty"' in html and 'data-testid="empty-next"' not in html
