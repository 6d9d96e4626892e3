"""Search keys for customer names, ORM-free.

CJK names have no spaces, and the common query is two characters (华星), which trigram indexes
cannot serve. So a name is indexed as tokens in one table:
  n:<bigram>        every pair of adjacent characters of the normalised name;
  i:<3 initials>    pinyin initials from every syllable (hxsh → i:hxs finds 华星石化…);
  f:<4 letters>     full pinyin from every syllable start (huaxing → f:huax).
A query is answered by one token (or a prefix range of tokens) as the driver, then verified by a
substring test on the stored name / pinyin, so results are exact.

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
    tokens: frozenset[str]
    sort: str  # see sort_key


def name_keys(name: str) -> NameKeys:
    n = normalize(name)
    sy = syllables(n)
    full = "".join(sy)
    initials = "".join(s[0] for s in sy)
    tokens: set[str] = {"n:" + n[i:i + 2] for i in range(len(n) - 1)}
    for k in range(len(initials) - 1):
        tokens.add("i:" + initials[k:k + INITIALS_N])
    pos = 0
    for s in sy:
        chunk = full[pos:pos + PINYIN_N]
        if len(chunk) >= 2:
            tokens.add("f:" + chunk)
        pos += len(s)
    return NameKeys(n, full, initials, frozenset(tokens), _sort_key(sy))


@dataclass(frozen=True)
class Probe:
    """One way a query may match: driver token (exact) or token prefix, plus the verifying substring."""

    token: str | None  # exact token to look up
    prefix: str | None  # or: a range of tokens sharing this prefix
    field: str  # the stored field that must contain `needle`
    needle: str


@dataclass(frozen=True)
class Plan:
    kind: str  # "uscc" | "mobile" | "last4" | "name" | "empty"
    value: str = ""
    probes: tuple[Probe, ...] = ()
    bigrams: tuple[str, ...] = ()  # CJK bigram tokens; the selector picks the rarest as driver


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
        return Plan("last4", digits, bigrams=tuple(dict.fromkeys("n:" + digits[i:i + 2] for i in range(3))))
    n = normalize(raw)
    if not n:
        return Plan("empty")
    if _CJK.search(n):
        if len(n) == 1:
            return Plan("name", n, probes=(Probe(None, None, "name_normalized", n),))
        grams = tuple(dict.fromkeys("n:" + n[i:i + 2] for i in range(len(n) - 1)))
        return Plan("name", n, bigrams=grams)
    if _ASCII_WORD.match(n):
        probes = []
        if len(n) >= INITIALS_N:
            probes.append(Probe("i:" + n[:INITIALS_N], None, "name_initials", n))
        else:
            probes.append(Probe(None, "i:" + n, "name_initials", n))
        if len(n) >= PINYIN_N:
            probes.append(Probe("f:" + n[:PINYIN_N], None, "name_pinyin", n))
        elif len(n) >= 2:
            probes.append(Probe(None, "f:" + n, "name_pinyin", n))
        return Plan("name", n, probes=tuple(probes))
    # Digits and letters mixed (e.g. "3m", "58同城" handled above): substring of the normalised name.
    if len(n) >= 2:
        grams = tuple(dict.fromkeys("n:" + n[i:i + 2] for i in range(len(n) - 1)))
        return Plan("name", n, bigrams=grams)
    return Plan("name", n, probes=(Probe(None, None, "name_normalized", n),))


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
