"""Every duplicates/merges endpoint × every role (and anonymous): 401 without a login, 403 without
customer.merge, 404 outside the data scope, the success status otherwise; refusals change nothing,
accepted writes are audited. Written out from the policy (merge: administrator, executive, managers)."""

from __future__ import annotations

import json

import pytest

from kehu.access.services import token_create
from kehu.audit.models import AuditEntry
from kehu.customers import merge
from kehu.customers.models import Customer, CustomerMerge, DuplicateCandidate
from kehu.customers.tests.factories import build_org, module_data, org_customer

ALL = ["admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent", "finance",
       "analyst", "auditor"]
MERGERS = {"admin", "executive", "manager", "north_manager"}
# Who has the records of rep (张伟, 华东区) in scope, among those who may merge.
SEES_REPS_RECORDS = {"admin", "executive", "manager"}


def build_world():
    org = build_org()
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    twin = org_customer(org.rep, "华星石化(浙江)股份有限公司", serial=2)
    third = org_customer(org.rep, "华星石化浙江有限责任公司", serial=3)
    fourth = org_customer(org.rep, "浙江华星石化集团有限公司", serial=4)
    org_customer(org.north_rep, "北京燕山机械有限公司", serial=5)
    merge.duplicate_scan(actor=org.admin)
    candidate = DuplicateCandidate.objects.get(customer_a=hx, customer_b=twin)
    done = merge.customer_merge(actor=org.admin, survivor_id=third.pk, loser_id=fourth.pk)
    tokens = {key: token_create(actor=user, name="matrix")[1] for key, user in org.users.items()}
    ids = {"hx": hx.pk, "twin": twin.pk, "candidate": candidate.pk, "merge": done.pk}
    return org, tokens, ids


world = module_data("world", build_world)

ENDPOINTS = [  # name, method, path, body, scoped, ok
    ("duplicate_list", "GET", "/duplicates", None, False, 200),
    ("duplicate_scan", "POST", "/duplicates/scan", None, False, 202),
    ("duplicate_get", "GET", "/duplicates/{candidate}", None, True, 200),
    ("duplicate_dismiss", "POST", "/duplicates/{candidate}/dismiss", None, True, 200),
    ("duplicate_check", "POST", "/customers/{hx}/duplicates/check", None, True, 200),
    ("customer_merge", "POST", "/customers/{hx}/merge", {"loser": "{twin}"}, True, 201),
    ("merge_list", "GET", "/merges", None, False, 200),
    ("merge_get", "GET", "/merges/{merge}", None, True, 200),
    ("merge_undo", "POST", "/merges/{merge}/undo", None, True, 200),
]


def _call(client, ep, ids, token):
    _name, method, path, body, _scoped, _ok = ep
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    url = "/api/v1" + path.format(**ids)
    if method == "GET":
        return client.get(url, **headers)
    payload = {k: int(v.format(**ids)) for k, v in (body or {}).items()}
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def _snapshot():
    return (AuditEntry.objects.count(), Customer.objects.filter(deleted_at__isnull=True).count(),
            list(DuplicateCandidate.objects.order_by("id").values_list("state", "score")),
            list(CustomerMerge.objects.order_by("id").values_list("undone_at", flat=True)))


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep[0])
def test_merge_endpoint_answers_each_role_by_scope_and_permission(db, client, world, ep, who):
    """403 without customer.merge, 404 outside the scope, success otherwise; refusals change nothing."""
    _org, tokens, ids = world
    name, method, _path, _body, scoped, ok = ep
    want = 403 if who not in MERGERS else 404 if scoped and who not in SEES_REPS_RECORDS else ok
    before = _snapshot()
    r = _call(client, ep, ids, tokens[who])
    assert r.status_code == want, (name, who, r.content[:300])
    if want >= 400:
        assert set(r.json()["error"]) == {"code", "message", "fields"}
        assert _snapshot() == before
    elif method == "POST":
        assert AuditEntry.objects.count() > before[0], "an accepted write is audited"
    else:
        assert AuditEntry.objects.count() == before[0]


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep[0])
def test_merge_endpoint_anonymous_gets_401(db, client, world, ep):
    """Without a token every endpoint answers 401 and changes nothing."""
    _org, _tokens, ids = world
    before = _snapshot()
    r = _call(client, ep, ids, None)
    assert r.status_code == 401 and _snapshot() == before


def test_tombstone_id_resolves_by_scope(db, client, world):
    """The merged-away id answers 307 to the survivor for those who see it, 404 for the others."""
    _org, tokens, ids = world
    loser = CustomerMerge.objects.get(pk=ids["merge"]).loser_id
    survivor = CustomerMerge.objects.get(pk=ids["merge"]).survivor_id
    for who in ALL:
        r = client.get(f"/api/v1/customers/{loser}", HTTP_AUTHORIZATION=f"Bearer {tokens[who]}")
        sees = who in {"admin", "executive", "manager", "rep", "agent", "finance", "analyst", "auditor"}
        assert r.status_code == (307 if sees else 404), who
        if sees:
            assert r.json() == {"merged_into": survivor}
