"""The API's one error format, for every status it answers, and no 500 for bad input.

Every error is ``{"error": {"code": str, "message": str, "fields": {field: [str, ...]}}}`` with
400 (bad request: malformed JSON, cursor, page size, ordering, unstorable values), 401 (no or bad
credentials), 403 (the role may not), 404 (absent or outside the scope), 409 (conflict: duplicate
USCC, already withdrawn…), 422 (a field is not valid) or 429 (account locked); an unknown path or
method under /api/ gets the same shape (404, 405)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from kehu.access.services import token_create
from kehu.customers import services
from kehu.customers.tests.factories import (
    build_org,
    contact,
    make_uscc,
    module_data,
    org_customer,
    person_customer,
)

HUGE = 10**30
CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 422: "invalid", 429: "locked"}


def build_world():
    org = build_org()
    hx = org_customer(org.rep, "浙江华星石化有限公司", uscc=make_uscc(1))
    wang = contact(org.rep, hx, "王强", mobile="13812345678")
    li = person_customer(org.rep, "李娜", mobile="13987654321")
    north = org_customer(org.north_rep, "北京燕山机械有限公司", uscc=make_uscc(2))
    withdrawn = services.consent_create(actor=org.rep, customer_id=hx.pk,
                                        data={"purpose": "电话回访", "channel": "电话录音"})
    services.consent_withdraw(actor=org.rep, consent_id=withdrawn.pk)
    services.custom_field_define(actor=org.admin, key="capital", label="注册资本（万元）", field_type="number")
    services.tag_create(actor=org.admin, category="规模", name="大客户")
    tokens = {k: token_create(actor=u, name="errors")[1] for k, u in org.users.items()}
    return SimpleNamespace(org=org, tokens=tokens, hx=hx.pk, wang=wang.pk, li=li.pk, north=north.pk,
                           withdrawn=withdrawn.pk)


world = module_data("world", build_world)


def cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def request(client, world, who, method, path, body=None, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens[who]}"} if who else {}
    path = "/api/v1" + path.format(hx=world.hx, wang=world.wang, li=world.li, north=world.north,
                                   withdrawn=world.withdrawn)
    fn = getattr(client, method.lower())
    if method in ("GET", "DELETE"):
        return fn(path, **headers)
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    return fn(path, data, content_type="application/json", **headers)


def assert_error(r, status, *, fields=None):
    """The response is the error format with this status; ``fields`` (if given) must be reported."""
    assert r.status_code == status, r.content[:400]
    assert r["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"]
    err = body["error"]
    assert set(err) == {"code", "message", "fields"}
    assert isinstance(err["message"], str) and err["message"].strip()
    assert isinstance(err["fields"], dict)
    assert all(isinstance(k, str) and isinstance(v, list) and all(isinstance(m, str) for m in v)
               for k, v in err["fields"].items())
    if status in CODES and status != 409:
        assert err["code"] == CODES[status]
    else:
        assert isinstance(err["code"], str) and err["code"]
    for f in fields or ():
        assert f in err["fields"], (f, err["fields"])
    return err


# ---------------------------------------------------------------- 400

@pytest.mark.parametrize("method,path,body,raw,fields", [
    ("POST", "/customers", None, "{not json", ()),
    ("POST", "/customers", None, '{"name": "华星"', ()),
    ("PATCH", "/customers/{hx}", None, "\x00\x01", ()),
    ("POST", "/contacts/{wang}/reveal", None, "{", ()),
    ("GET", "/customers?limit=201", None, None, ("limit",)),
    ("GET", "/customers?limit=0", None, None, ("limit",)),
    ("GET", "/customers?limit=-1", None, None, ("limit",)),
    ("GET", f"/customers?limit={HUGE}", None, None, ("limit",)),
    ("GET", "/customers/{hx}/history?limit=1000", None, None, ("limit",)),
    ("GET", "/customers?ordering=password", None, None, ("ordering",)),
    ("GET", "/customers?ordering=-owner__password", None, None, ("ordering",)),
    ("GET", "/customers?cursor=%%%", None, None, ("cursor",)),
    ("GET", "/customers?cursor=bm90IGpzb24", None, None, ("cursor",)),
    ("GET", f"/customers?cursor={cursor({'a': 1})}", None, None, ("cursor",)),
    ("GET", f"/customers?cursor={cursor([1, 2, 3])}", None, None, ("cursor",)),
    ("GET", f"/customers?cursor={cursor(['yesterday', 1])}", None, None, ("cursor",)),
    ("GET", f"/customers?cursor={cursor(['2026-01-01T00:00:00', 1])}", None, None, ("cursor",)),
    ("GET", f"/customers?ordering=name&cursor={cursor([5, 1])}", None, None, ("cursor",)),
    ("GET", f"/customers?ordering=id&cursor={cursor([1, 'x'])}", None, None, ("cursor",)),
    ("GET", f"/customers/{{hx}}/history?cursor={cursor([None, None])}", None, None, ("cursor",)),
    # NUL characters: PostgreSQL cannot hold them, so they are refused on every database alike.
    ("GET", "/customers?industry=%00", None, None, ()),
    ("GET", "/customers?q=%E5%8D%8E%00%E6%98%9F", None, None, ()),
    ("GET", f"/customers?ordering=name&cursor={cursor(['华星' + chr(0), 1])}", None, None, ("cursor",)),
    ("POST", "/customers", {"name": "华星\x00石化"}, None, ()),
    ("POST", "/customers", {"name": "华星石化", "custom": {"\x00": 1}}, None, ()),
    ("POST", "/customers/{hx}/contacts", {"name": "陈晓", "wechat": "wx\x00"}, None, ()),
    ("PATCH", "/customers/{hx}", {"address": "杭州\x00"}, None, ()),
])
def test_bad_request_is_400(db, client, world, method, path, body, raw, fields):
    """Malformed JSON, a bad cursor, a page size outside 1–200 and an unknown ordering answer 400."""
    assert_error(request(client, world, "rep", method, path, body, raw), 400, fields=fields)


# ---------------------------------------------------------------- 401

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Bearer kehu_not-a-token", "Basic cmVwOnJlcA==",
                                    "Token abc", "bearer"])
def test_missing_or_bad_credentials_are_401(db, client, world, header):
    """No credentials, a malformed Authorization header or an unknown token answer 401."""
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    assert_error(client.get("/api/v1/customers", **headers), 401)


def test_wrong_password_for_a_token_is_401(db, client, world):
    """POST /auth/token with a wrong password answers 401 without saying which part was wrong."""
    r = client.post("/api/v1/auth/token", {"username": "rep", "password": "nope"}, content_type="application/json")
    err = assert_error(r, 401)
    r2 = client.post("/api/v1/auth/token", {"username": "nobody", "password": "nope"},
                     content_type="application/json")
    assert assert_error(r2, 401)["message"] == err["message"]


def test_locked_account_is_429(db, client, world):
    """After five failures the token endpoint answers 429 in the same error format."""
    for _ in range(5):
        client.post("/api/v1/auth/token", {"username": "rep2", "password": "nope"}, content_type="application/json")
    r = client.post("/api/v1/auth/token", {"username": "rep2", "password": world.org.password},
                    content_type="application/json")
    assert_error(r, 429)


# ---------------------------------------------------------------- 403

@pytest.mark.parametrize("who,method,path,body", [
    ("agent", "POST", "/customers", {"name": "杭州新材料科技有限公司"}),
    ("finance", "PATCH", "/customers/{hx}", {"industry": "化工"}),
    ("rep", "DELETE", "/customers/{hx}", None),
    ("analyst", "POST", "/contacts/{wang}/reveal", {"field": "mobile"}),
    ("rep", "GET", "/audit", None),
    ("rep", "GET", "/customers/{li}/export", None),
    ("manager", "POST", "/tags", {"category": "规模", "name": "中型"}),
    ("executive", "POST", "/users", {"username": "x1", "password": "Kehu#2026-x", "role": "analyst",
                                     "department": "总部"}),
])
def test_forbidden_is_403(db, client, world, who, method, path, body):
    """A role that may never do this answers 403."""
    assert_error(request(client, world, who, method, path, body), 403)


# ---------------------------------------------------------------- 404

@pytest.mark.parametrize("who,method,path", [
    ("rep", "GET", "/customers/{north}"),
    ("rep2", "GET", "/customers/{hx}"),
    ("rep2", "GET", "/contacts/{wang}"),
    ("north_manager", "POST", "/contacts/{wang}/reveal"),
    ("rep", "GET", "/customers/999999"),
    ("rep", "GET", "/customers/0"),
    ("rep", "GET", "/customers/-1"),
    ("rep", "GET", f"/customers/{HUGE}"),
    ("rep", "PATCH", f"/contacts/{HUGE}"),
    ("rep", "DELETE", "/auth/tokens/999999"),
    ("admin", "GET", "/customers/999999/history"),
])
def test_not_found_is_404_and_the_same_outside_scope(db, client, world, who, method, path):
    """An absent record and a record outside the scope give the same 404."""
    err = assert_error(request(client, world, who, method, path, {}), 404)
    assert err["fields"] == {}


def test_unknown_api_path_is_404_in_the_error_format(db, client, world):
    """A path under /api/v1/ that does not exist answers the JSON 404, not an HTML page."""
    r = client.get("/api/v1/customerz", HTTP_AUTHORIZATION=f"Bearer {world.tokens['rep']}")
    assert_error(r, 404)


def test_wrong_method_is_405_in_the_error_format(db, client, world):
    """PUT on a resource that takes PATCH answers 405 in the error format, with Allow."""
    r = client.put(f"/api/v1/customers/{world.hx}", "{}", content_type="application/json",
                   HTTP_AUTHORIZATION=f"Bearer {world.tokens['rep']}")
    err = assert_error(r, 405)
    assert err["code"] == "method_not_allowed"
    assert "PATCH" in r["Allow"]


# ---------------------------------------------------------------- 409

def test_duplicate_uscc_is_409_naming_only_the_owners_department(db, client, world):
    """Registering a USCC already held answers 409 whose message names the owner's department only."""
    r = request(client, world, "north_rep", "POST", "/customers",
                {"name": "华星石化（北京）有限公司", "uscc": make_uscc(1)})
    err = assert_error(r, 409, fields=("uscc",))
    assert err["code"] == "duplicate_uscc"
    assert "华东区" in err["message"]
    text = r.content.decode() + json.dumps(r.json(), ensure_ascii=False)
    for secret in ("浙江华星石化有限公司", "张伟", "李经理", "王强", '"owner"', str(world.hx) + ")"):
        assert secret not in text


@pytest.mark.parametrize("who,method,path,body", [
    ("rep", "POST", "/consents/{withdrawn}/withdraw", None),
    ("admin", "POST", "/tags", {"category": "规模", "name": "大客户"}),
    ("admin", "POST", "/custom-fields", {"key": "capital", "label": "注册资本", "field_type": "number"}),
    ("rep", "PATCH", "/customers/{north}", {"uscc": make_uscc(1)}),
])
def test_conflict_is_409(db, client, world, who, method, path, body):
    """Withdrawing twice, a duplicate tag or custom field key answer 409 (or 404 outside the scope)."""
    r = request(client, world, who, method, path, body)
    assert_error(r, 404 if path == "/customers/{north}" else 409)


# ---------------------------------------------------------------- 422

@pytest.mark.parametrize("method,path,body,fields", [
    ("POST", "/customers", {}, ("name",)),
    ("POST", "/customers", {"name": ""}, ("name",)),
    ("POST", "/customers", {"name": 5}, ("name",)),
    ("POST", "/customers", {"name": "华星", "kind": "alien"}, ("kind",)),
    ("POST", "/customers", {"name": "华星", "stage": "won"}, ("stage",)),
    ("POST", "/customers", {"name": "华星", "tags": "大客户"}, ("tags",)),
    ("POST", "/customers", {"name": "华星", "tags": [999999]}, ("tags",)),
    ("POST", "/customers", {"name": "华星", "owner": "rep2"}, ("owner",)),
    ("POST", "/customers", {"name": "华星", "custom": []}, ("custom",)),
    ("POST", "/customers", {"name": "华星", "custom": {"capital": "五千万"}}, ("custom.capital",)),
    ("POST", "/customers", {"name": "华星", "custom": {"capital": "1e999999999"}}, ("custom.capital",)),
    ("POST", "/customers", {"name": "华星", "custom": {"nope": 1}}, ("custom.nope",)),
    ("POST", "/customers", {"name": "华星", "uscc": "91330106MA2H0K8X30"}, ("uscc",)),
    ("POST", "/customers", {"name": "华星", "uscc": "x" * 31}, ("uscc",)),
    ("POST", "/customers", {"name": "x" * 201}, ("name",)),
    ("POST", "/customers", {"name": "李娜", "kind": "person", "mobile": "12345"}, ("mobile",)),
    ("POST", "/customers", {"name": "李娜", "kind": "person", "mobile": "010-6512 3456"}, ("mobile",)),
    ("POST", "/customers", {"name": "李娜", "kind": "person", "id_number": "110105194912310021"}, ("id_number",)),
    ("POST", "/customers", [], ()),
    ("POST", "/customers", "华星", ()),
    ("PATCH", "/customers/{hx}", {"stage": None, "kind": 3}, ("kind",)),
    ("PATCH", "/customers/{hx}", {"owner": HUGE}, ("owner",)),
    ("POST", "/customers/{hx}/contacts", {"name": "陈晓", "birthday": "1978-02-30"}, ("birthday",)),
    ("POST", "/customers/{hx}/contacts", {"name": "陈晓", "email": "not-an-email"}, ("email",)),
    ("POST", "/customers/{hx}/contacts", {"name": "陈晓", "role": "boss"}, ("role",)),
    ("POST", "/customers/{hx}/contacts", {"name": "陈晓", "reports_to": HUGE}, ("reports_to",)),
    ("PATCH", "/contacts/{wang}", {"reports_to": "{wang}"}, ("reports_to",)),
    ("POST", "/contacts/{wang}/reveal", {"field": "password"}, ("field",)),
    ("POST", "/contacts/{wang}/reveal", {"field": "id_number"}, ("field",)),
    ("POST", "/customers/{li}/reveal", {"field": "birthday"}, ("field",)),
    ("POST", "/customers/{li}/reveal", {"field": "traits"}, ("field",)),
    ("POST", "/customers/{hx}/consents", {"purpose": "回访"}, ("channel",)),
    ("POST", "/customers/{hx}/consents", {"purpose": "回访", "channel": "电话", "contact": HUGE}, ("contact",)),
    ("GET", "/customers?limit=abc", None, ("limit",)),
    ("GET", "/customers?owner=rep", None, ("owner",)),
    ("GET", "/customers/abc", None, ("customer_id",)),
])
def test_invalid_field_is_422_naming_the_field(db, client, world, method, path, body, fields):
    """Wrong types, missing or unknown values answer 422 with a message per field."""
    if isinstance(body, dict) and body.get("reports_to") == "{wang}":
        body = {"reports_to": world.wang}
    assert_error(request(client, world, "rep", method, path, body), 422, fields=fields)


def test_custom_field_declaration_is_type_checked(db, client, world):
    """POST /custom-fields refuses an unknown type, a bad key and a choice field without choices."""
    for body, field in (({"key": "x1", "label": "X", "field_type": "colour"}, "field_type"),
                        ({"key": "Bad Key", "label": "X", "field_type": "text"}, "key"),
                        ({"key": "credit", "label": "信用等级", "field_type": "choice"}, "choices")):
        assert_error(request(client, world, "admin", "POST", "/custom-fields", body), 422, fields=(field,))


# ---------------------------------------------------------------- never a 500 for bad input

@pytest.mark.parametrize("method,path,body", [
    ("GET", f"/customers?owner={HUGE}", None),
    ("GET", f"/customers?tag={HUGE}", None),
    ("GET", f"/customers?department={HUGE}", None),
    ("GET", f"/customers?cursor={cursor(['2026-01-01T00:00:00+00:00', HUGE])}", None),
    ("GET", f"/customers?ordering=id&cursor={cursor([HUGE, HUGE])}", None),
    ("GET", "/customers?q=" + "华" * 3000, None),
    ("GET", "/customers?q=" + "%F0%9F%98%80" * 10, None),
    ("GET", "/customers?q=!!!", None),
    ("POST", "/customers", {"name": "华星石化", "tags": [HUGE]}),
    ("POST", "/customers", {"name": "华星石化", "owner": HUGE}),
    ("POST", "/customers", {"name": "华星石化", "custom": {"capital": 1e308}}),
    ("POST", "/customers", {"name": "😀" * 200}),
    ("POST", "/customers/{hx}/consents", {"purpose": "回访", "channel": "电话", "granted_at": "2026-13-01"}),
    ("PATCH", "/customers/{hx}", {"name": "  "}),
    ("PATCH", "/customers/{hx}", {"custom": {"capital": {"$gt": 1}}}),
    ("POST", "/customers", json.loads("[" * 50 + "]" * 50)),
])
def test_bad_input_never_answers_500(db, client, world, method, path, body):
    """Values the database cannot hold or the schema does not expect answer 2xx or 4xx, never 500."""
    r = request(client, world, "rep", method, path, body)
    assert r.status_code < 500, r.content[:300]
    if r.status_code >= 400:
        assert_error(r, r.status_code)


def test_deeply_nested_json_never_answers_500(db, client, world):
    """A JSON document nested far beyond any schema is refused, not a crash."""
    raw = '{"name": "华星", "custom": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    r = request(client, world, "rep", "POST", "/customers", raw=raw)
    assert 400 <= r.status_code < 500
    assert_error(r, r.status_code)
