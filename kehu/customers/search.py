"""Search keys for customer names, ORM-free.

CJK names have no spaces, and the common query is two characters (华星), which trigram indexes
cannot serve. So each customer has one search document (SearchDocument.terms, space-separated
terms; SQLite indexes it with FTS5, PostgreSQL with GIN over a tsvector, see search_index.py):
  n:<bigram>        every pair of adjacent characters of the normalised name, and the last
                    character followed by "$" (so a one-character query is the prefix n:华);
  i:<3 initials>    pinyin initials from every syllable (hxsh → i:hxs finds 华星石化…);
  f:<4 letters>     full pinyin from every syllable start (huaxing → f:huax).
Terms found in the legal forms (有限公司, 股份有限公司 …, STOP_TERMS) are left out: nearly every
name has them, so they select nothing and only fatten the index. A query is the set of terms it
needs (all of them), then verified by a substring test on the stored name / pinyin, so results
are exact; a query that needs only stop terms matches nearly everything anyway and is answered by
the substring test alone, read in list order.

Traditional characters are folded to simplified ones (OpenCC's t2s tables) in both the stored keys
and the query, so 華星 finds 华星 and the other way round."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.seg.simpleseg import seg as _pinyin_seg

_DROP = re.compile(r"[\W_]", re.UNICODE)  # everything but letters/digits/CJK
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ASCII_WORD = re.compile(r"^[a-z]+$")
USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
PHONE_SHAPE = re.compile(r"^\+?[\d\- ]{7,20}$")
# 尾号 search: "尾号5678", "尾号 5678" or just four digits (the list shows 138****5678 anyway).
LAST4_SHAPE = re.compile(r"^(?:尾号|尾號)\s*[:：]?\s*(\d{4})$|^(\d{4})$")

INITIALS_N = 3
PINYIN_N = 4


@lru_cache(maxsize=1)
def _t2s() -> tuple[opencc.OpenCC, frozenset[str]]:
    converter = opencc.OpenCC("t2s")
    # Most names are already simplified: a set test skips the converter (~15 µs a name) for them.
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    traditional = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _sep, values = line.partition("\t")
        if key and values.split(" ")[0] != key:
            traditional.add(key)
    return converter, frozenset(traditional)


def to_simplified(text: str) -> str:
    """Traditional Chinese characters and phrases as simplified ones (華星 → 华星)."""
    converter, traditional = _t2s()
    if not text or traditional.isdisjoint(text):
        return text
    return converter.convert(text)


def normalize(text: str) -> str:
    """NFKC, lower case, simplified characters, letters/digits/CJK only (全角 → 半角, spaces and
    punctuation dropped)."""
    return _DROP.sub("", to_simplified(unicodedata.normalize("NFKC", text or "")).lower())


SORT_SYLLABLE = 6  # the longest pinyin syllable (zhuang, shuang) is 6 letters
SORT_KEY_LENGTH = 120


def sort_key(name: str) -> str:
    """A collation key that orders names by their pinyin (拼音排序), syllable by syllable: each
    syllable right-padded with "0" to 6 characters, so 华(hua) < 怀(huai) < 黄(huang). Only [0-9a-z],
    so the key sorts the same under the C collation (SQLite) and a linguistic one (PostgreSQL)."""
    return name_keys(name).sort


def _sort_key(sy: list[str]) -> str:
    out = []
    for s in sy:
        s = "".join(c for c in s if c.isascii() and c.isalnum())
        if s:
            out.append(s.ljust(SORT_SYLLABLE, "0"))
    return "".join(out)[:SORT_KEY_LENGTH]


def syllables(name: str) -> list[str]:
    """Pinyin syllables of a normalised name; runs of Latin letters/digits count as one syllable."""
    # pypinyin converts word by word after its own segmentation (phrase dictionary, so polyphones
    # such as 重庆/银行 read right); the conversion of a word does not depend on its neighbours, so it
    # is cached per word: ~20 µs a name instead of ~400 µs.
    out: list[str] = []
    for word in _pinyin_seg(name):
        out.extend(_word_syllables(word))
    return out


def _keep_chars(chars: str) -> list[str]:
    return [chars]


@lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[str, ...]:
    return tuple(p for p in (part.lower() for part in lazy_pinyin(word, style=Style.NORMAL, errors=_keep_chars))
                 if p)


@dataclass(frozen=True)
class NameKeys:
    normalized: str
    pinyin: str
    initials: str
    tokens: frozenset[str]  # the search document's terms (stop terms left out)
    sort: str  # see sort_key


# Legal forms that end nearly every company name: their terms select nothing (see STOP_TERMS).
LEGAL_FORMS = ("有限公司", "股份有限公司", "有限责任公司", "集团有限公司")


def _terms(n: str, sy: list[str]) -> set[str]:
    full = "".join(sy)
    initials = "".join(s[0] for s in sy)
    terms: set[str] = {"n:" + n[i:i + 2] for i in range(len(n) - 1)}
    if n:
        terms.add("n:" + n[-1] + "$")
    for k in range(len(initials)):
        terms.add("i:" + initials[k:k + INITIALS_N])
    pos = 0
    for s in sy:
        chunk = full[pos:pos + PINYIN_N]
        if len(chunk) >= 2:
            terms.add("f:" + chunk)
        pos += len(s)
    return terms


@lru_cache(maxsize=1)
def stop_terms() -> frozenset[str]:
    """The terms of the legal forms on their own: left out of every document, never asked for."""
    out: set[str] = set()
    for form in LEGAL_FORMS:
        n = normalize(form)
        out |= _terms(n, syllables(n))
    return frozenset(out)


def name_keys(name: str) -> NameKeys:
    n = normalize(name)
    sy = syllables(n)
    full = "".join(sy)
    initials = "".join(s[0] for s in sy)
    return NameKeys(n, full, initials, frozenset(_terms(n, sy) - stop_terms()), _sort_key(sy))


def document(tokens) -> str:
    """The stored search document: the terms, sorted, space-separated."""
    return " ".join(sorted(tokens))


@dataclass(frozen=True)
class Probe:
    """One way a query may match: the stored field must contain ``needle``, and the document must
    hold every term of ``terms`` and a term starting with ``prefix`` (when given). A probe with
    neither (``indexed`` false) can only be answered by the substring test."""

    terms: tuple[str, ...]
    prefix: str | None
    field: str  # the stored field that must contain `needle`
    needle: str

    @property
    def indexed(self) -> bool:
        return bool(self.terms or self.prefix)


@dataclass(frozen=True)
class Plan:
    kind: str  # "uscc" | "mobile" | "last4" | "name" | "empty"
    value: str = ""
    probes: tuple[Probe, ...] = ()  # any of them (for last4: besides the mobile's last four digits)


def _exact(terms, field: str, needle: str) -> Probe:
    """All of ``terms`` but the stop terms (a stop term is in no document)."""
    stop = stop_terms()
    return Probe(tuple(t for t in dict.fromkeys(terms) if t not in stop), None, field, needle)


def _prefix(prefix: str, field: str, needle: str) -> Probe:
    """A term starting with ``prefix``; unusable when a stop term starts with it (left out of the
    documents, it would hide matches)."""
    if any(t.startswith(prefix) for t in stop_terms()):
        return Probe((), None, field, needle)
    return Probe((), prefix, field, needle)


def _substring(n: str) -> Probe:
    """``n`` inside the normalised name: all its bigrams, or for one character the prefix n:<c>."""
    if len(n) == 1:
        return _prefix("n:" + n, "name_normalized", n)
    return _exact(("n:" + n[i:i + 2] for i in range(len(n) - 1)), "name_normalized", n)


def plan(query: str) -> Plan:
    """Decide how to search for ``query`` (pure; the selector executes it)."""
    raw = (query or "").strip()
    if not raw:
        return Plan("empty")
    compact = raw.replace(" ", "").replace("-", "").upper()
    if USCC_SHAPE.match(compact):
        return Plan("uscc", compact)
    if PHONE_SHAPE.match(raw) and sum(c.isdigit() for c in raw) >= 7:
        return Plan("mobile", raw)
    last4 = LAST4_SHAPE.match(unicodedata.normalize("NFKC", raw))
    if last4:
        if last4.group(1):  # said 尾号: the mobile's last four digits only
            return Plan("last4", last4.group(1))
        # Four bare digits: a mobile's last four, or a name containing them (e.g. 1688).
        digits = last4.group(2)
        return Plan("last4", digits, probes=(_substring(digits),))
    n = normalize(raw)
    if not n:
        return Plan("empty")
    if _ASCII_WORD.match(n):
        if len(n) >= INITIALS_N:  # every run of three initials in the query: hxsh needs i:hxs and i:xsh
            probes = [_exact(("i:" + n[k:k + INITIALS_N] for k in range(len(n) - INITIALS_N + 1)),
                             "name_initials", n)]
        else:
            probes = [_prefix("i:" + n, "name_initials", n)]
        if len(n) >= PINYIN_N:
            probes.append(_exact(("f:" + n[:PINYIN_N],), "name_pinyin", n))
        elif len(n) >= 2:
            probes.append(_prefix("f:" + n, "name_pinyin", n))
        return Plan("name", n, probes=tuple(probes))
    # Chinese, or digits and letters mixed (e.g. "3m", "58同城"): a substring of the normalised name.
    return Plan("name", n, probes=(_substring(n),))
