"""Detection rules against the database, the review queue, and the duplicates/merges API with its
scope (401 anonymous, 403 without customer.merge, 404 outside the scope) on every endpoint."""

from __future__ import annotations

import pytest

from kehu.customers import merge, selectors, services
from kehu.customers.models import CandidateState, Customer, DuplicateCandidate
from kehu.customers.tests.factories import MOBILE_WANG, contact, org_customer, person_customer


def _pair_of(a, b):
    x, y = sorted((a.pk, b.pk))
    return DuplicateCandidate.objects.filter(customer_a_id=x, customer_b_id=y).first()


def _rules(candidate):
    return sorted(r["rule"] for r in candidate.reasons)


@pytest.fixture
def dupes(org):
    a = org_customer(org.rep, "北京华星石化有限公司", serial=11)
    b = org_customer(org.rep2, "华星石化(北京)股份有限公司", serial=12)
    other = org_customer(org.rep, "万华化学集团股份有限公司", serial=13)
    north = org_customer(org.north_rep, "华星石化(天津)有限公司", serial=14)
    return a, b, other, north


# ---------------------------------------------------------------- detection rules

def test_similar_names_after_affixes_are_candidates(org, dupes):
    """北京华星石化有限公司 ~ 华星石化(北京)股份有限公司 on the name rule, score 100; 万华化学 is not."""
    a, b, other, _north = dupes
    merge.duplicate_scan(actor=org.admin)
    c = _pair_of(a, b)
    assert c is not None and _rules(c) == ["name"] and c.score == 100
    assert _pair_of(a, other) is None


def test_same_mobile_of_contact_and_person_is_candidate(org):
    """A person customer's mobile equal to a company contact's mobile pairs them (mobile rule)."""
    company = org_customer(org.rep, "杭州娃哈哈集团有限公司")
    contact(org.rep, company, "王强", mobile=MOBILE_WANG)
    person = person_customer(org.rep, "王强", mobile="138 1234 5678")
    merge.duplicate_scan(actor=org.admin)
    assert _rules(_pair_of(company, person)) == ["mobile"]
    assert _pair_of(company, person).score == 95


def test_same_id_number_pairs_person_customers(org):
    """Two person records with one ID number are the same person."""
    from kehu.customers.tests.factories import make_id_number

    x = person_customer(org.rep, "李娜", id_number=make_id_number())
    y = person_customer(org.rep, "李娜(老客户)", id_number=make_id_number(seq="456"))
    # Entry refuses a second registration of one ID number; legacy records may still hold one twice.
    Customer.objects.filter(pk=y.pk).update(id_number_hash=x.id_number_hash, id_number_enc=x.id_number_enc)
    merge.duplicate_scan(actor=org.admin)
    assert _rules(_pair_of(x, y)) == ["id_number"]


def test_person_names_alone_never_pair(org):
    """Two people called 张伟 are not duplicates by name."""
    x = person_customer(org.rep, "张伟")
    y = person_customer(org.rep, "张伟")
    merge.duplicate_scan(actor=org.admin)
    assert _pair_of(x, y) is None


def test_same_uscc_rule_groups_identical_codes():
    """Same USCC = same company (the live-unique constraint keeps live pairs out; the rule remains)."""
    from kehu.customers import dedupe

    assert dedupe.exact_pairs([(5, "91330106000000001X"), (2, "91330106000000001X"), (3, "")]) == {
        (2, 5): "91330106000000001X"}


def test_threshold_setting_read_at_call_time(org, settings):
    """KEHU_DEDUPE_NAME_THRESHOLD decides how similar names must be."""
    a = org_customer(org.rep, "明远石化贸易有限公司")
    b = org_customer(org.rep, "明达石化商贸有限公司")
    settings.KEHU_DEDUPE_NAME_THRESHOLD = 99
    merge.duplicate_scan(actor=org.admin)
    assert _pair_of(a, b) is None
    settings.KEHU_DEDUPE_NAME_THRESHOLD = 70
    merge.duplicate_scan(actor=org.admin)
    assert _pair_of(a, b) is not None


def test_dismissed_pair_never_reproposed(org, dupes):
    """"Not a duplicate" is remembered: later scans and checks leave the pair dismissed."""
    a, b, _o, _n = dupes
    merge.duplicate_scan(actor=org.admin)
    c = _pair_of(a, b)
    merge.duplicate_dismiss(actor=org.manager, candidate_id=c.pk)
    merge.duplicate_scan(actor=org.admin)
    merge.duplicate_check(actor=org.manager, customer_id=a.pk)
    c.refresh_from_db()
    assert c.state == CandidateState.DISMISSED and c.decided_by == org.manager
    assert DuplicateCandidate.objects.filter(customer_a=c.customer_a, customer_b=c.customer_b).count() == 1
    assert c.pk not in [x.pk for x in selectors.duplicate_list(actor=org.admin).items]


def test_check_one_customer_finds_its_pairs(org, dupes):
    """The on-demand check finds a new duplicate without a full scan."""
    a, _b, _o, _n = dupes
    fresh = org_customer(org.rep, "华星石化（北京）有限责任公司")
    found = merge.duplicate_check(actor=org.manager, customer_id=fresh.pk)
    assert {a.pk} <= {x.customer_a_id for x in found} | {x.customer_b_id for x in found}


def test_stale_open_pair_removed_when_evidence_is_gone(org):
    """A renamed customer's open pair disappears at the next scan."""
    a = org_customer(org.rep, "北京华星石化有限公司")
    b = org_customer(org.rep, "华星石化股份有限公司")
    merge.duplicate_scan(actor=org.admin)
    assert _pair_of(a, b) is not None
    services.customer_update(actor=org.rep, customer_id=b.pk, data={"name": "宁波万华聚氨酯有限公司"})
    merge.duplicate_scan(actor=org.admin)
    assert _pair_of(a, b) is None


def test_candidate_list_is_scoped_to_pairs_fully_in_scope(org, dupes):
    """A manager sees pairs of their department only; a pair with one customer elsewhere is hidden."""
    a, b, _o, north = dupes
    merge.duplicate_scan(actor=org.admin)
    assert _pair_of(a, north) is not None
    east = [(x.customer_a_id, x.customer_b_id) for x in selectors.duplicate_list(actor=org.manager).items]
    assert tuple(sorted((a.pk, b.pk))) in east
    assert all(north.pk not in p for p in east)
    assert selectors.duplicate_list(actor=org.north_manager).items == []


def test_candidate_list_query_count_is_pinned(org, django_assert_max_num_queries):
    """A page of 20 pairs, both customers with owner and department, costs a fixed number of queries."""
    for i in range(20):
        org_customer(org.rep, f"华星石化第{i}号有限公司")
        org_customer(org.rep2, f"华星石化第{i}号股份有限公司")
    merge.duplicate_scan(actor=org.admin)
    from kehu.customers.schemas import candidate_out

    with django_assert_max_num_queries(3):  # the manager's department subtree, the page, nothing per row
        page = selectors.duplicate_list(actor=org.manager, limit=20)
        [candidate_out(d) for d in page.items]
    assert len(page.items) == 20 and page.next


# ---------------------------------------------------------------- API

def test_api_anonymous_gets_401_everywhere(api_client, org, dupes):
    """Every duplicates/merges endpoint needs a login."""
    a, b, _o, _n = dupes
    anon = api_client.as_user(None)
    for method, path in [("get", "/duplicates"), ("post", "/duplicates/scan"), ("post", "/duplicates/1/dismiss"),
                         ("get", "/duplicates/1"), ("post", f"/customers/{a.pk}/duplicates/check"),
                         ("post", f"/customers/{a.pk}/merge"), ("get", "/merges"), ("get", "/merges/1"),
                         ("post", "/merges/1/undo")]:
        assert getattr(anon, method)(path).status_code == 401, path


def test_api_rep_without_merge_permission_gets_403(api_client, org, dupes):
    """An account manager may not review duplicates or merge."""
    a, b, _o, _n = dupes
    merge.duplicate_scan(actor=org.admin)
    cid = _pair_of(a, b).pk
    rep = api_client.as_user(org.rep)
    assert rep.get("/duplicates").status_code == 403
    assert rep.post("/duplicates/scan").status_code == 403
    assert rep.post(f"/duplicates/{cid}/dismiss").status_code == 403
    assert rep.post(f"/customers/{a.pk}/duplicates/check").status_code == 403
    assert rep.post(f"/customers/{a.pk}/merge", {"loser": b.pk}).status_code == 403
    assert rep.get("/merges").status_code == 403
    assert Customer.objects.get(pk=b.pk).deleted_at is None


def test_api_outside_scope_is_404(api_client, org, dupes):
    """Another department's manager: the pair, the customers and the merge do not exist."""
    a, b, _o, _n = dupes
    merge.duplicate_scan(actor=org.admin)
    cid = _pair_of(a, b).pk
    record = merge.customer_merge(actor=org.admin, survivor_id=a.pk, loser_id=b.pk)
    other = org_customer(org.rep, "华星石化东区有限公司")
    north = api_client.as_user(org.north_manager)
    assert north.get(f"/duplicates/{cid}").status_code == 404
    assert north.post(f"/duplicates/{cid}/dismiss").status_code == 404
    assert north.post(f"/customers/{other.pk}/merge", {"loser": a.pk}).status_code == 404
    assert north.post(f"/customers/{other.pk}/duplicates/check").status_code == 404
    assert north.get(f"/merges/{record.pk}").status_code == 404
    assert north.post(f"/merges/{record.pk}/undo").status_code == 404
    assert north.get(f"/customers/{b.pk}").status_code == 404
    assert north.get("/merges").json()["items"] == []


def test_api_review_merge_redirect_and_undo(api_client, org, dupes):
    """Scan → list → merge (201) → the loser's id answers 307 to the survivor → undo → 409 on repeat."""
    a, b, _o, _n = dupes
    mgr = api_client.as_user(org.manager)
    r = mgr.post("/duplicates/scan")
    assert r.status_code == 202
    items = mgr.get("/duplicates").json()["items"]
    pair = next(i for i in items if {i["customer_a"]["id"], i["customer_b"]["id"]} == {a.pk, b.pk})
    assert pair["reasons"] == [{"rule": "name", "score": 100.0}]
    assert pair["id"] in [i["id"] for i in mgr.get("/duplicates", {"rule": "name"}).json()["items"]]
    assert mgr.get("/duplicates", {"rule": "uscc"}).json()["items"] == []
    r = mgr.post(f"/customers/{a.pk}/merge", {"loser": b.pk, "choices": {"name": "loser"}})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["survivor"] == a.pk and body["loser"] == b.pk and body["undo_until"]
    r = mgr.get(f"/customers/{b.pk}")
    assert r.status_code == 307 and r["Location"].endswith(f"/customers/{a.pk}") and r.json() == {"merged_into": a.pk}
    assert mgr.get(f"/customers/{a.pk}").json()["name"] == "华星石化(北京)股份有限公司"
    assert mgr.get("/duplicates", {"state": "merged"}).json()["items"][0]["id"] == pair["id"]
    assert [m["id"] for m in mgr.get("/merges").json()["items"]] == [body["id"]]
    r = mgr.post(f"/merges/{body['id']}/undo")
    assert r.status_code == 200 and r.json()["undone_at"]
    assert mgr.get(f"/customers/{b.pk}").status_code == 200
    assert mgr.post(f"/merges/{body['id']}/undo").status_code == 409


def test_api_merge_errors(api_client, org, dupes):
    """Self-merge 422, into a tombstone 409, unknown field 422; nothing changes."""
    a, b, other, _n = dupes
    admin = api_client.as_user(org.admin)
    assert admin.post(f"/customers/{a.pk}/merge", {"loser": a.pk}).status_code == 422
    assert admin.post(f"/customers/{a.pk}/merge", {"loser": b.pk, "choices": {"x": "loser"}}).status_code == 422
    assert admin.post(f"/customers/{a.pk}/merge", {"loser": b.pk}).status_code == 201
    r = admin.post(f"/customers/{b.pk}/merge", {"loser": other.pk})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_merged"
    assert admin.post("/duplicates/999999/dismiss").status_code == 404


def test_api_dismiss(api_client, org, dupes):
    """Dismiss answers the decided pair; a second dismissal is a 409."""
    a, b, _o, _n = dupes
    merge.duplicate_scan(actor=org.admin)
    cid = _pair_of(a, b).pk
    mgr = api_client.as_user(org.manager)
    r = mgr.post(f"/duplicates/{cid}/dismiss")
    assert r.status_code == 200 and r.json()["state"] == "dismissed" and r.json()["decided_by"]
    assert mgr.post(f"/duplicates/{cid}/dismiss").status_code == 409


def test_api_candidate_list_query_count_is_pinned(org, api_client, django_assert_max_num_queries):
    """Through the API (token check included) a page of 20 pairs stays within a fixed budget."""
    for i in range(25):
        org_customer(org.rep, f"华星石化第{i}号有限公司")
        org_customer(org.rep2, f"华星石化第{i}号股份有限公司")
    merge.duplicate_scan(actor=org.admin)
    mgr = api_client.as_user(org.manager)
    mgr.get("/tags")  # the token's last-used stamp is written once, outside the budget
    with django_assert_max_num_queries(6):
        r = mgr.get("/duplicates", {"limit": 20})
    assert r.status_code == 200 and len(r.json()["items"]) == 20
