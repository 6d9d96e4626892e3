"""The search box against a brute-force reference, on whichever database the suite runs.

A corpus of a few thousand realistic customers (kehu.demo.generators, through the bulk path, plus a
few single registrations and renames) and a few hundred generated queries: Chinese substrings of 1–6
characters (legal forms included), traditional characters, full pinyin, initials, mixed, USCC,
mobiles, 尾号 and misses. Each query's result set must equal the set computed in Python over the
corpus from the rules of the search box alone (substring of the normalised name; pinyin initials
containing the letters; full pinyin containing them with their first four letters at a syllable
start; exact USCC / mobile; a mobile's last four). The same test on SQLite (FTS5) and PostgreSQL
(GIN) therefore proves both return identical results."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache

import opencc
import pytest
from django.db import connection

from kehu.customers import search, search_index, selectors, services
from kehu.customers.models import Customer
from kehu.customers.tests.factories import build_org, module_data
from kehu.customers.validation import normalize_mobile
from kehu.demo.generators import customer_rows

CORPUS = 3000
QUERIES_PER_KIND = 40


@dataclass
class Doc:
    pk: int
    name: str
    uscc: str = ""
    mobiles: list[str] = field(default_factory=list)  # the customer's own and its contacts'

    @property
    def keys(self) -> search.NameKeys:
        return _keys(self.name)


@cache
def _keys(name: str) -> search.NameKeys:
    return search.name_keys(name)


@cache
def _starts(name: str) -> tuple[int, ...]:
    """Where each pinyin syllable of the name starts."""
    out, pos = [], 0
    for s in search.syllables(_keys(name).normalized):
        out.append(pos)
        pos += len(s)
    return tuple(out)


def build_corpus():
    org = build_org()
    rows = list(customer_rows(CORPUS, seed=11))
    for row in rows:
        row["owner"] = org.rep
    first = (Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    services.customer_bulk_create(actor=org.admin, rows=rows, basis={"basis": "contract", "purpose": "客户关系管理"})
    made = list(Customer.objects.filter(pk__gt=first).order_by("pk").values_list("pk", "name"))
    assert [n for _pk, n in made] == [r["name"] for r in rows]
    docs = [Doc(pk, r["name"], r.get("uscc") or "",
                [m for m in [r.get("mobile")] + [c["mobile"] for c in r["contacts"]] if m])
            for (pk, _n), r in zip(made, rows, strict=True)]
    # Single registrations (the create path): traditional characters, Latin letters and digits, one character.
    for name in ("香港東方貿易有限公司", "TCL科技集团", "3M中国有限公司", "58同城信息技术有限公司", "华", "1688商贸有限公司"):
        c = services.customer_create(actor=org.rep, data={"name": name, "kind": "organization", "city": "杭州市",
                                                          "confirm_duplicate": True})
        docs.append(Doc(c.pk, name))
    # Renames (the update path): the old name's terms must be gone, the new ones found.
    for d, new in zip(docs[:5], ("宁波东海化工有限公司", "杭州西湖龙井茶业有限公司", "重庆长安银行股份有限公司",
                                 "深圳华星光电有限公司", "北京燕山石化集团有限公司"), strict=True):
        services.customer_update(actor=org.rep, customer_id=d.pk, data={"name": new, "confirm_duplicate": True})
        d.name = new
    return org, docs


corpus = module_data("corpus", build_corpus)


# ---------------------------------------------------------------- the reference

def reference(kind: str, q: str, docs: list[Doc]) -> set[int]:
    """The customers a query must find, by brute force over the corpus."""
    if kind == "uscc":
        code = q.replace(" ", "").replace("-", "").upper()
        return {d.pk for d in docs if d.uscc == code}
    if kind == "mobile":
        wanted = normalize_mobile(q)
        return {d.pk for d in docs if any(normalize_mobile(m) == wanted for m in d.mobiles)}
    if kind in ("last4", "digits4"):
        digits = q[-4:]
        hit = {d.pk for d in docs if any(m[-4:] == digits for m in d.mobiles)}
        if kind == "digits4":
            hit |= {d.pk for d in docs if digits in d.keys.normalized}
        return hit
    n = search.normalize(q)
    out = set()
    for d in docs:
        k = d.keys
        if n.isascii() and n.isalpha():
            if n in k.initials or (len(n) >= 2 and n in k.pinyin
                                   and any(k.pinyin.startswith(n[:4], p) for p in _starts(d.name))):
                out.add(d.pk)
        elif n in k.normalized:
            out.add(d.pk)
    return out


# ---------------------------------------------------------------- the queries

def queries(docs: list[Doc]) -> list[tuple[str, str]]:
    rng = random.Random(2026)
    s2t = opencc.OpenCC("s2t")
    out: list[tuple[str, str]] = []
    orgs = [d for d in docs if d.uscc]
    for _ in range(QUERIES_PER_KIND * 3):  # Chinese substrings of 1–6 characters, anywhere (legal forms too)
        name = rng.choice(docs).name
        size = rng.randint(1, min(6, len(name)))
        i = rng.randint(0, len(name) - size)
        out.append(("name", name[i:i + size]))
    out += [("name", q) for q in ("有限公司", "公司", "股份", "集团", "有限责任", "公", "司", "华星", "石化", "东方贸易")]
    for _ in range(QUERIES_PER_KIND // 2):  # traditional characters
        name = rng.choice(docs).name
        i = rng.randint(0, len(name) - 2)
        out.append(("name", s2t.convert(name[i:i + rng.randint(2, 4)])))
    for _ in range(QUERIES_PER_KIND):  # full pinyin: syllables from a syllable start, sometimes cut short
        k = rng.choice(docs).keys
        sy = search.syllables(k.normalized)
        i = rng.randrange(len(sy))
        q = "".join(sy[i:i + rng.randint(1, 3)])
        out.append(("name", q[:rng.randint(2, len(q))] if rng.random() < 0.3 and len(q) > 2 else q))
    out += [("name", q) for q in ("huaxing", "HuaXing", "dongfang", "youxian", "gongsi", "xian", "si", "hua xing")]
    for _ in range(QUERIES_PER_KIND):  # initials, 1–5 letters from anywhere
        k = rng.choice(docs).keys
        i = rng.randrange(len(k.initials))
        out.append(("name", k.initials[i:i + rng.randint(1, 5)]))
    out += [("name", q) for q in ("hxsh", "hx", "zjhx", "yxgs", "gs", "s", "x", "tcl", "3m", "58同城", "tcl科技",
                                  "华xing", "不存在的公司", "qqqq", "16", "商贸1688")]
    for d in rng.sample(orgs, 10):  # USCC: as stored, lower case with a space
        out.append(("uscc", d.uscc))
        out.append(("uscc", d.uscc.lower()[:8] + " " + d.uscc.lower()[8:]))
    with_mobile = [d for d in docs if d.mobiles]
    for d in rng.sample(with_mobile, 15):  # mobiles, in the common formats, and their last four digits
        m = rng.choice(d.mobiles)
        out.append(("mobile", rng.choice([m, f"+86 {m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}"])))
        out.append(("last4", rng.choice(["尾号", "尾号 ", "尾號"]) + m[-4:]))
        out.append(("digits4", m[-4:]))
    out += [("mobile", "13800000000"), ("last4", "尾号0000"), ("digits4", "1688")]
    return out


def test_the_corpus_has_a_few_hundred_queries_of_every_kind(db, corpus):
    _org, docs = corpus
    qs = queries(docs)
    assert len(qs) >= 300
    assert {kind for kind, _q in qs} == {"name", "uscc", "mobile", "last4", "digits4"}
    for kind, q in qs:  # the box reads each query as the kind it was made as
        want = {"digits4": "last4"}.get(kind, kind)
        assert search.plan(q).kind == want, q


@pytest.mark.parametrize("dense", [search_index.DENSE_POSTINGS, 1])
def test_every_query_finds_exactly_the_reference_set(db, corpus, monkeypatch, dense):
    """Each query's result set equals the brute-force reference (and most queries find something);
    also when every probe counts as dense (read in list order, tested by the substring alone)."""
    monkeypatch.setattr(search_index, "DENSE_POSTINGS", dense)
    _org, docs = corpus
    wrong, found_any = [], 0
    for kind, q in queries(docs):
        got = set(selectors.customer_search_filter(Customer.objects.all(), q).values_list("pk", flat=True))
        want = reference(kind, q, docs)
        found_any += bool(want)
        if got != want:
            wrong.append((kind, q, sorted(got - want)[:5], sorted(want - got)[:5]))
    assert wrong == []
    assert found_any > 250


def test_the_list_pages_through_the_same_set_in_order(db, corpus):
    """Through the paged list (scope, ordering, cursor), 华星 and one character find the same set."""
    org, docs = corpus
    for q in ("华星", "华", "hx", "有限公司"):
        want = reference("name", q, docs)
        seen, cursor = [], None
        while True:
            page = selectors.customer_list(actor=org.manager, q=q, limit=200, cursor=cursor, ordering="name_sort")
            seen += [c.pk for c in page.items]
            if not page.next:
                break
            cursor = page.next
        assert len(seen) == len(set(seen)) and set(seen) == want, q


def test_renamed_customers_lose_the_old_names_terms(db, corpus):
    """After a rename only the new name is found (the update path rewrote the document)."""
    _org, docs = corpus
    got = set(selectors.customer_search_filter(Customer.objects.all(), "西湖龙井").values_list("pk", flat=True))
    assert got == {docs[1].pk}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
@pytest.mark.parametrize("q,index", [("华星", "customers_searchdoc_terms"), ("hxsh", "customers_searchdoc_terms"),
                                     ("13812345678", "mobile_hash"), ("尾号5678", "mobile_last4")])
def test_postgres_answers_search_from_an_index(db, corpus, q, index):
    """Name terms are read from the GIN index and mobiles from the mobile_hash indexes (the old OR
    across the contact join could not use them): with sequential scans priced out, the plan reads
    the index (a plan that could not use it would still scan). bench/README.md shows the plans at
    100,000 customers."""
    with connection.cursor() as cur:
        cur.execute("ANALYZE customers_customer, customers_contact, customers_searchdocument")
        # At a few thousand rows walking a primary key beats any lookup: price that out too, so the
        # only way left to narrow the rows by the query is the index under test.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_indexscan = off")
    plan = selectors.customer_search_filter(Customer.objects.all(), q).explain()
    assert index in plan, plan


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_postgres_uscc_lookup_uses_an_index(db, corpus):
    _org, docs = corpus
    code = next(d.uscc for d in docs if d.uscc)
    with connection.cursor() as cur:
        cur.execute("ANALYZE customers_customer, customers_contact, customers_searchdocument")
        cur.execute("SET LOCAL enable_seqscan = off")
    plan = selectors.customer_search_filter(Customer.objects.all(), code).explain()
    assert "Index" in plan and "Seq Scan" not in plan, plan
