"""The review queue, the merge page and undo in the browser's terms (server-rendered pages)."""

import pytest
from django.urls import reverse

from kehu.customers import merge
from kehu.customers.models import CandidateState, Customer, CustomerMerge, DuplicateCandidate
from kehu.customers.tests.factories import org_customer


@pytest.fixture
def pair(org):
    a = org_customer(org.rep, "北京华星石化有限公司", serial=21)
    b = org_customer(org.rep2, "华星石化(北京)股份有限公司", serial=22, address="北京市朝阳区")
    merge.duplicate_scan(actor=org.admin)
    return a, b


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)


def test_queue_lists_pairs_with_evidence_and_actions(client, org, pair):
    """A manager sees the pair, its score and evidence, merge and dismiss buttons."""
    login(client, org, org.manager)
    r = client.get(reverse("customers:duplicates"))
    body = r.content.decode()
    assert r.status_code == 200 and "北京华星石化有限公司" in body and "华星石化(北京)股份有限公司" in body
    assert 'data-testid="merge-pair"' in body and 'data-testid="dismiss-pair"' in body


def test_queue_empty_state_and_rep_forbidden(client, org):
    """An empty queue says what to do; a rep gets 403."""
    login(client, org, org.manager)
    assert 'data-testid="duplicates-empty"' in client.get(reverse("customers:duplicates")).content.decode()
    client.logout()
    login(client, org, org.rep)
    assert client.get(reverse("customers:duplicates")).status_code == 403


def test_dismiss_button_via_htmx_removes_row(client, org, pair):
    """Dismissing through htmx answers an empty fragment and remembers the decision."""
    login(client, org, org.manager)
    c = DuplicateCandidate.objects.get()
    r = client.post(reverse("customers:duplicate_dismiss", args=[c.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r.content == b""
    c.refresh_from_db()
    assert c.state == CandidateState.DISMISSED


def test_merge_page_then_redirect_to_survivor_with_undo(client, org, pair):
    """The merge page shows both records; posting merges; the 360° page offers the undo; the old
    record's URL redirects to the survivor."""
    a, b = pair
    login(client, org, org.manager)
    url = reverse("customers:merge", args=[a.pk, b.pk])
    page = client.get(url).content.decode()
    assert 'name="pick_name"' in page and "北京市朝阳区" in page
    r = client.post(url, {"pick_name": "loser"})
    assert r.status_code == 302 and r["Location"] == reverse("customers:detail", args=[a.pk])
    assert Customer.objects.get(pk=a.pk).name == "华星石化(北京)股份有限公司"
    detail = client.get(reverse("customers:detail", args=[a.pk]))
    assert detail.status_code == 200
    assert [m["merge"].loser_id for m in detail.context["merges"]] == [b.pk] and detail.context["merges"][0]["undoable"]
    r = client.get(reverse("customers:detail", args=[b.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("customers:detail", args=[a.pk])
    record = CustomerMerge.objects.get()
    r = client.post(reverse("customers:merge_undo", args=[record.pk]))
    assert r.status_code == 302
    assert client.get(reverse("customers:detail", args=[b.pk])).status_code == 200


def test_merge_page_outside_scope_is_404(client, org, pair):
    """Another department's manager cannot open the merge page of these customers."""
    a, b = pair
    login(client, org, org.north_manager)
    assert client.get(reverse("customers:merge", args=[a.pk, b.pk])).status_code == 404
    assert client.post(reverse("customers:merge", args=[a.pk, b.pk])).status_code == 404
    assert Customer.objects.get(pk=b.pk).deleted_at is None


def test_merge_page_into_itself_shows_error(client, org, pair):
    """Merging a record into itself is refused on the page (422), nothing changes."""
    a, _b = pair
    login(client, org, org.manager)
    r = client.post(reverse("customers:merge", args=[a.pk, a.pk]))
    assert r.status_code == 422 and not CustomerMerge.objects.exists()


def test_check_button_finds_duplicates(client, org, pair):
    """"Check for duplicates" on one customer leads to the queue when something is found."""
    a, _b = pair
    login(client, org, org.manager)
    r = client.post(reverse("customers:duplicate_check", args=[a.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("customers:duplicates")


def test_demo_loads_pairs_and_a_merge(org):
    """The demo registers twin companies, scans, and merges one pair (undoable)."""
    import random

    from kehu.customers.demo_dupes import PAIRS, demo_load

    summary = demo_load(users=org.users, rng=random.Random(1))
    assert "twin registrations" in summary
    assert DuplicateCandidate.objects.filter(state="open").count() >= len(PAIRS) - 1
    assert CustomerMerge.objects.count() == 1


def test_merged_from_banner_offers_undo_within_window(client, org, pair):
    """The 360° page's "merged from" card (customers/merge_banner.html) lists the merge with an undo
    button while the window is open, and none once it has been undone."""
    from django.template.loader import render_to_string

    a, b = pair
    login(client, org, org.manager)
    client.post(reverse("customers:merge", args=[a.pk, b.pk]))
    context = client.get(reverse("customers:detail", args=[a.pk])).context
    html = render_to_string("customers/merge_banner.html", {"merges": context["merges"]})
    assert b.name in html and 'data-testid="merge-undo"' in html
    client.post(reverse("customers:merge_undo", args=[CustomerMerge.objects.get().pk]))
    context = client.get(reverse("customers:detail", args=[a.pk])).context
    html = render_to_string("customers/merge_banner.html", {"merges": context["merges"]})
    assert b.name in html and 'data-testid="merge-undo"' not in html
