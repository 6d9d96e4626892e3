"""The review pages: runs and progress, my items as cards with htmx resolve buttons, reassignment with
preview then confirm; permission and scope on every page; the demo loader."""

from __future__ import annotations

import random
import re

import pytest

from kehu.customers.models import Customer
from kehu.customers.review import services
from kehu.customers.review.demo import demo_load
from kehu.customers.review.models import ItemState, ReviewItem, ReviewRun
from kehu.customers.tests.factories import org_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(org):
    org_customer(org.rep, "杭州东方贸易有限公司", industry="")
    org_customer(org.rep2, "宁波海天塑机有限公司", industry="")
    org_customer(org.north_rep, "北京燕山化工有限公司", industry="")
    r = services.review_run_start(actor=org.admin)
    services.review_run_build(run_id=r.pk)
    return r


def test_runs_page_lists_runs_and_starts_one(org, client, run, django_capture_on_commit_callbacks):
    """/review/ lists runs; posting the form starts a run and shows its progress page."""
    client.force_login(org.manager)
    r = client.get("/review/")
    assert r.status_code == 200 and f"#{run.pk}" in r.content.decode()
    for item in ReviewItem.objects.filter(run=run):  # the earlier run's open items would keep them
        services.review_item_resolve(actor=org.admin, item_id=item.pk, state="not_applicable")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/review/", {"stale_months": "6", "due_days": "5", "note": "二季度复核"})
    assert r.status_code == 302
    new = ReviewRun.objects.latest("pk")
    assert (new.started_by, new.stale_months, new.due_days) == (org.manager, 6, 5)
    page = client.get(r["Location"]).content.decode()
    assert "华东区" in page and "华北区" not in page


def test_runs_page_refused_to_reps_and_run_outside_scope_is_404(org, client, run):
    """A rep gets 403 on /review/; the north manager sees the admin's run over 华北区 only; anonymous → login."""
    assert client.get("/review/").status_code == 302
    client.force_login(org.rep)
    assert client.get("/review/").status_code == 403
    assert client.get(f"/review/runs/{run.pk}/").status_code == 403
    client.force_login(org.north_manager)
    page = client.get(f"/review/runs/{run.pk}/").content.decode()
    assert "华北区" in page and "华东区" not in page
    mine = services.review_run_start(actor=org.manager)
    assert client.get(f"/review/runs/{mine.pk}/").status_code == 404


def test_my_items_are_cards_and_htmx_buttons_resolve_them(org, client, run):
    """/review/mine/ shows my open items as cards; 确认无误 via htmx swaps the card with its resolved state."""
    client.force_login(org.rep)
    page = client.get("/review/mine/").content.decode()
    assert page.count('data-testid="review-item"') == 1 and "杭州东方贸易有限公司" in page
    item = ReviewItem.objects.get(run=run, assignee=org.rep)
    r = client.post(f"/review/items/{item.pk}/resolve/", {"state": "not_applicable", "note": "已停业"},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-state="not_applicable"' in r.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).state == ItemState.NOT_APPLICABLE
    assert 'data-testid="review-empty"' in client.get("/review/mine/").content.decode()


def test_fixed_button_shows_what_is_still_missing(org, client, run):
    """已修正 on a record still missing its industry answers the card with the message; nothing changes."""
    client.force_login(org.rep)
    item = ReviewItem.objects.get(run=run, assignee=org.rep)
    r = client.post(f"/review/items/{item.pk}/resolve/", {"state": "fixed"}, HTTP_HX_REQUEST="true")
    assert "行业" in r.content.decode() or "Industry" in r.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).state == ItemState.OPEN


def test_resolving_someone_elses_item_is_404(org, client, run):
    """Another rep's item does not exist for me."""
    client.force_login(org.rep2)
    item = ReviewItem.objects.get(run=run, assignee=org.rep)
    assert client.post(f"/review/items/{item.pk}/resolve/", {"state": "confirmed"}).status_code == 404


def test_reassign_page_previews_then_moves(org, client, run):
    """/review/reassign/: preview shows counts without moving; confirm moves; a rep is refused."""
    client.force_login(org.manager)
    assert client.get("/review/reassign/").status_code == 200
    data = {"source": org.rep.pk, "targets": [org.rep2.pk], "strategy": "random"}
    r = client.post("/review/reassign/", data)
    assert r.status_code == 200 and 'data-testid="reassign-plan"' in r.content.decode()
    assert Customer.objects.filter(owner=org.rep).count() == 1
    plan = re.search(r'name="plan" value="([0-9a-f]+)"', r.content.decode()).group(1)
    seed = re.search(r'name="seed" value="(\d+)"', r.content.decode()).group(1)
    r = client.post("/review/reassign/", {**data, "confirm": "1", "seed": seed, "plan": plan})
    assert r.status_code == 302 and Customer.objects.filter(owner=org.rep).count() == 0
    r = client.post("/review/reassign/", {"source": org.rep2.pk, "targets": [org.north_rep.pk]})
    assert r.status_code == 422
    client.force_login(org.rep)
    assert client.get("/review/reassign/").status_code == 403


def test_demo_load_creates_a_finished_run_with_some_items_resolved(org):
    """The demo loader leaves one finished run with items over the reps, some of them resolved."""
    for i in range(12):
        org_customer([org.rep, org.rep2, org.north_rep][i % 3], f"演示客户{i}有限公司", industry="" if i % 2 else "化工")
    users = {u.username: u for u in org.users.values()}
    summary = demo_load(users=users, rng=random.Random(3))
    run = ReviewRun.objects.get()
    assert run.state == "done" and summary
    items = ReviewItem.objects.filter(run=run)
    assert items.values("assignee").distinct().count() == 3
    assert items.exclude(state=ItemState.OPEN).exists() and items.filter(state=ItemState.OPEN).exists()


def test_reassign_confirm_after_changing_the_choices_shows_a_new_preview_and_moves_nothing(org, client, run):
    """Only the previewed plan can be confirmed: changing the strategy after the preview moves nothing."""
    client.force_login(org.manager)
    data = {"source": org.rep.pk, "targets": [org.rep2.pk], "strategy": "even"}
    r = client.post("/review/reassign/", data)
    plan = re.search(r'name="plan" value="([0-9a-f]+)"', r.content.decode()).group(1)
    before = Customer.objects.filter(owner=org.rep).count()
    r = client.post("/review/reassign/", {**data, "strategy": "random", "confirm": "1", "plan": plan})
    assert r.status_code == 200 and 'data-testid="reassign-plan"' in r.content.decode()
    assert Customer.objects.filter(owner=org.rep).count() == before
