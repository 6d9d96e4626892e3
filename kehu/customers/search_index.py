"""The search documents on the database: written with the customer, queried by the search box.

One row per customer in customers_searchdocument (terms from search.name_keys, space-separated).
  SQLite:      an FTS5 index over it (customers_searchfts, external content, rowid = customer id,
               ascii tokenizer with ':' and '$' as token characters, detail=none), kept in step by
               triggers on the document table.
  PostgreSQL:  a GIN index (fastupdate) on terms_vector, a stored generated column
               array_to_tsvector(string_to_array(terms, ' ')): the terms verbatim as lexemes (no parser,
               no dictionary), queried with a tsquery cast.
Both answer the same question: the documents holding every term of a probe (and a term starting with
its prefix), so both databases return the same customers; the probe's substring test then makes the
result exact. Created by migration 0009."""

from __future__ import annotations

import json
from typing import NamedTuple

from django.db import connection
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.lookups import In

from kehu.access import protection
from kehu.customers import search
from kehu.customers.models import Contact, Customer, SearchDocument
from kehu.customers.validation import InvalidValue, normalize_mobile

FTS_TABLE = "customers_searchfts"
DOC_TABLE = SearchDocument._meta.db_table

SQLITE_SQL = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(terms, content='{DOC_TABLE}', content_rowid='customer_id', "
    "tokenize=\"ascii tokenchars ':$'\", detail=none, columnsize=0)",
    f"CREATE TRIGGER customers_searchdoc_ai AFTER INSERT ON {DOC_TABLE} BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (new.customer_id, new.terms); END",
    f"CREATE TRIGGER customers_searchdoc_ad AFTER DELETE ON {DOC_TABLE} BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', old.customer_id, old.terms); END",
    f"CREATE TRIGGER customers_searchdoc_au AFTER UPDATE ON {DOC_TABLE} BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, terms) VALUES ('delete', old.customer_id, old.terms); "
    f"INSERT INTO {FTS_TABLE}(rowid, terms) VALUES (new.customer_id, new.terms); END",
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS customers_searchdoc_{t}" for t in ("ai", "ad", "au")] + [
    f"DROP TABLE IF EXISTS {FTS_TABLE}"]
# A stored generated column, not an expression index: a plan that reads rows (a common term, a LIMIT)
# would otherwise rebuild every row's tsvector (193 ms for 2,000 rows at 100k).
PG_VECTOR = "terms_vector"
POSTGRES_SQL = [f"ALTER TABLE {DOC_TABLE} ADD COLUMN terms_vector tsvector "
                "GENERATED ALWAYS AS (array_to_tsvector(string_to_array(terms, ' '))) STORED",
                f"CREATE INDEX customers_searchdoc_terms ON {DOC_TABLE} USING gin (terms_vector) WITH (fastupdate = on)"]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS customers_searchdoc_terms",
                    f"ALTER TABLE {DOC_TABLE} DROP COLUMN IF EXISTS terms_vector"]

INSERT_SQL = f"INSERT INTO {DOC_TABLE} (customer_id, terms) VALUES (%s, %s)"


# ---------------------------------------------------------------- writing

def write(customer_id: int, tokens, *, replace: bool) -> None:
    """Store a customer's document (in the caller's transaction); ``replace`` when it may exist."""
    terms = search.document(tokens)
    if replace and SearchDocument.objects.filter(customer_id=customer_id).update(terms=terms):
        return
    SearchDocument.objects.create(customer_id=customer_id, terms=terms)


def drop(customer_id: int) -> None:
    SearchDocument.objects.filter(customer_id=customer_id).delete()


def terms_of(customer_id: int) -> set[str]:
    """A customer's stored terms (empty when it has no document)."""
    terms = SearchDocument.objects.filter(customer_id=customer_id).values_list("terms", flat=True).first()
    return set(terms.split()) if terms else set()


def bulk_rows(customer_id: int, tokens) -> tuple[int, str]:
    """A row of INSERT_SQL, for the bulk path's one executemany per chunk."""
    return customer_id, search.document(tokens)


# ---------------------------------------------------------------- querying

_NOTHING = Q(pk__in=[])


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _ts_lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def matching_ids(terms: tuple[str, ...], prefix: str | None = None) -> RawSQL:
    """The ids of the customers whose document holds every term (and a term starting with prefix)."""
    if connection.vendor == "sqlite":
        parts = [_fts_phrase(t) for t in terms] + ([_fts_phrase(prefix) + "*"] if prefix else [])
        return RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [" AND ".join(parts)])
    parts = [_ts_lexeme(t) for t in terms] + ([_ts_lexeme(prefix) + ":*"] if prefix else [])
    return RawSQL(f"SELECT customer_id FROM {DOC_TABLE} WHERE {PG_VECTOR} @@ %s::tsquery", [" & ".join(parts)])


def any_of(terms: list[str]):
    """The customers whose document holds at least one of the terms (duplicate blocking)."""
    if connection.vendor == "sqlite":
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
        return Customer.objects.filter(id__in=RawSQL(sql, [" OR ".join(_fts_phrase(t) for t in terms)]))
    sql = f"SELECT customer_id FROM {DOC_TABLE} WHERE {PG_VECTOR} @@ %s::tsquery"
    return Customer.objects.filter(id__in=RawSQL(sql, [" | ".join(_ts_lexeme(t) for t in terms)]))


# A probe whose terms hold at least this many customers is "dense" (华星 at 100k: 2,616): reading the list
# in its order and testing the substring fills a page after ~DENSE/density rows (1.7 ms at 100k) where
# fetching every posting and sorting them costs 49 ms. Only for the name and initials: there the
# substring test alone is exactly the probe; the pinyin's needs its terms (a syllable start), so there
# they are tested per row read.
DENSE_POSTINGS = 2000
# The planner's posting estimate is trusted as "dense" from this multiple of DENSE_POSTINGS (see postings).
ESTIMATE_TRUSTED = 4


def postings(p: search.Probe, cap: int) -> int:
    """How many customers the probe's terms select, counted up to ``cap``.

    On PostgreSQL the planner's estimate comes first (EXPLAIN, no execution): its statistics of the
    tsvector's most common elements make it close for a common term (n:华星 at 1M: 28,603 estimated, 28,000
    held), and when it says "many" the counting statement would be a sequential scan of the documents (a
    LIMIT over an estimated 3 % of the table: 18–68 ms at 1M) instead of the index. So an estimate of at
    least ``cap`` × ESTIMATE_TRUSTED is taken as "at least cap"; below it the count runs (and is then
    answered from the GIN index, which is also what proves a term nobody holds)."""
    inner = matching_ids(p.terms, p.prefix)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"EXPLAIN (FORMAT JSON) {inner.sql}", inner.params)
            plan = cur.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            if plan[0]["Plan"]["Plan Rows"] >= cap * ESTIMATE_TRUSTED:
                return cap
        cur.execute(f"SELECT count(*) FROM ({inner.sql} LIMIT {int(cap)}) s", inner.params)
        return cur.fetchone()[0]


class Conditions(NamedTuple):
    """A search as two conditions selecting the same customers: ``ordered`` for reading a page in list order,
    ``driving`` for counting from the index. ``dense``: a probe's terms hold at least DENSE_POSTINGS customers,
    so counting its matches means fetching every posting (the GIN bitmap of n:华星's 28,000 postings alone is
    17 ms at 1M customers) and a document and a customer row per match: the list does not count it (the page
    says how many it found, see selectors.customer_list_counted)."""

    ordered: Q
    driving: Q
    dense: bool = False


def _probe(p: search.Probe) -> Conditions | None:
    """The probe's conditions for reading in order and for counting; None when no customer holds its
    terms (it cannot match: left out rather than ORed, so the other probe keeps its index)."""
    needle = Q(**{f"{p.field}__contains": p.needle})
    if not p.indexed:  # only stop terms: nearly every name matches, the substring test alone decides
        return Conditions(needle, needle)
    driving = needle & Q(id__in=matching_ids(p.terms, p.prefix))
    n = postings(p, DENSE_POSTINGS)
    if n == 0:
        return None
    if n < DENSE_POSTINGS:
        return Conditions(driving, driving)
    if p.field != "name_pinyin":
        return Conditions(needle, driving, dense=True)
    # The pinyin needs its terms: tested per row against the materialised id list. "id + 0" keeps the
    # planner from driving from that list (fetch every posting, then sort) instead of reading in order.
    return Conditions(needle & Q(In(F("id") + 0, matching_ids(p.terms, p.prefix))), driving, dense=True)


def conditions(query: str) -> Conditions | None:
    """The search as two conditions, for reading a page in order and for counting (driven by the
    index), or None when the query asks for nothing. Both select the same customers."""
    p = search.plan(query)
    if p.kind == "empty":
        return None
    if p.kind == "uscc":
        return _same(Q(uscc=p.value))
    if p.kind == "mobile":
        try:
            digest = protection.lookup_hash(normalize_mobile(p.value))
        except InvalidValue:
            return _same(_NOTHING)
        return _same(Q(id__in=_owners(mobile_hash=digest)))
    ordered = driving = Q(id__in=_owners(mobile_last4=p.value)) if p.kind == "last4" else None
    dense = False
    for probe in p.probes:
        conds = _probe(probe)
        if conds is None:
            continue
        ordered = conds.ordered if ordered is None else ordered | conds.ordered
        driving = conds.driving if driving is None else driving | conds.driving
        dense = dense or conds.dense
    return Conditions(ordered, driving, dense) if ordered is not None else _same(_NOTHING)


def _owners(**lookup):
    """The customers having this value themselves or on a contact, as one UNION ALL of two indexed
    lookups: an OR of the two across the join is something PostgreSQL cannot answer from the indexes."""
    return Customer.objects.filter(**lookup).values("id").union(
        Contact.objects.filter(**lookup).values("customer_id"), all=True)


def _same(cond: Q) -> Conditions:
    return Conditions(cond, cond)
