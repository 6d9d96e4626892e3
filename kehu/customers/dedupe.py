"""Duplicate detection, ORM-free: name cores, blocking and pair scoring.

A company name is reduced to its core — NFKC, lower case, punctuation dropped, legal forms
(有限公司, 股份有限公司 …) and region affixes ((北京), 浙江省…) removed — so that
北京华星石化有限公司 and 华星石化(北京)股份有限公司 both become 华星石化. Cores are grouped by
blocking keys (their first and their last two characters) and compared only within a block with
``rapidfuzz`` (C loops), so a scan grows with the block sizes, not with n²."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

# Legal forms and generic words, longest first when applied (股份有限公司 before 有限公司).
DEFAULT_LEGAL_FORMS: tuple[str, ...] = (
    "股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团有限公司", "集团公司", "集团", "总公司", "分公司",
    "公司", "总厂", "分厂", "厂", "控股", "实业", "科技", "技术", "发展", "贸易", "商贸", "工贸", "经营部", "门市部",
    "co.,ltd.", "co.,ltd", "co.ltd", "co ltd", "company limited", "limited", "ltd", "inc", "corp",
)
# Province-level regions and the larger cities; with or without their 省/市/自治区 suffix.
DEFAULT_REGIONS: tuple[str, ...] = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古",
    "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
    "杭州", "宁波", "温州", "绍兴", "嘉兴", "湖州", "金华", "台州", "南京", "苏州", "无锡", "常州", "南通", "扬州",
    "广州", "深圳", "东莞", "佛山", "珠海", "厦门", "福州", "泉州", "济南", "青岛", "烟台", "潍坊", "郑州", "洛阳",
    "武汉", "长沙", "成都", "西安", "合肥", "南昌", "昆明", "贵阳", "南宁", "太原", "石家庄", "沈阳", "大连", "长春",
    "哈尔滨", "兰州", "银川", "西宁", "乌鲁木齐", "拉萨", "呼和浩特", "海口", "三亚", "唐山", "保定", "廊坊",
)
_REGION_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市", "")
_BRACKETS = re.compile(r"[(\[（【〔][^)\]）】〕]*[)\]）】〕]")
_DROP = re.compile(r"[\W_]", re.UNICODE)

# Pair scores (0–100) of the exact rules.
SCORE_USCC = 100
SCORE_ID_NUMBER = 100
SCORE_MOBILE = 95
MAX_PAIRS_PER_GROUP = 10  # a group larger than this is linked as a star around its oldest member
# More companies than this sharing one name core (in one area, when areas are known) means the core is
# generic (建筑工程, 石油化工…), not that they are one company: such a core proposes no pairs.
GENERIC_CORE_GROUP = 50


@dataclass(frozen=True)
class Affixes:
    """What name_core strips; built once per scan (see affixes()). Sets by length, so stripping is a
    handful of set look-ups per name, not a loop over hundreds of affixes."""

    legal_forms: dict[int, frozenset[str]]  # length → forms, probed longest first
    regions: dict[int, frozenset[str]]  # each region with every suffix variant


def _by_length(words: set[str]) -> dict[int, frozenset[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for w in words:
        out[len(w)].add(w)
    return {n: frozenset(out[n]) for n in sorted(out, reverse=True)}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _key(text: str) -> str:
    return _DROP.sub("", _fold(text))


def affixes(legal_forms: Iterable[str] = DEFAULT_LEGAL_FORMS, regions: Iterable[str] = DEFAULT_REGIONS) -> Affixes:
    forms = {_key(f) for f in legal_forms if _key(f)}
    variants = {_key(r + s) for r in regions if _key(r) for s in _REGION_SUFFIXES}
    return Affixes(_by_length(forms), _by_length(variants))


DEFAULT_AFFIXES = affixes()


def name_core(name: str, aff: Affixes = DEFAULT_AFFIXES) -> str:
    """The distinctive part of a company name: no brackets, legal forms, or leading region."""
    text = _fold(name or "")
    # A bracketed part is a region or a branch note ((北京), （杭州分公司）): drop it whole.
    text = _BRACKETS.sub("", text)
    text = _DROP.sub("", text)
    # Peel affixes until nothing changes: 浙江省杭州… (region after region), …集团公司杭州分公司
    # (legal form, region, legal form again), 华星石化北京有限公司 (a region before the legal form).
    for _round in range(6):
        before = text
        text = _strip_prefix(text, aff.regions)
        text = _strip_suffix(text, aff.legal_forms)
        text = _strip_suffix(text, aff.regions)
        if text == before:
            break
    return text


def _strip_prefix(text: str, words: dict[int, frozenset[str]]) -> str:
    for n, group in words.items():  # longest first
        if len(text) > n + 1 and text[:n] in group:
            return text[n:]
    return text


def _strip_suffix(text: str, words: dict[int, frozenset[str]]) -> str:
    for n, group in words.items():
        if len(text) > n + 1 and text[-n:] in group:
            return text[:-n]
    return text


MAX_BLOCK = 120  # distinct cores compared with each other at most; a larger block is split further


def _blocks(cores: list[str], depth: int, from_end: bool, max_block: int) -> Iterator[list[str]]:
    """Blocks of cores sharing their first (or last) ``depth`` characters; a block still larger
    than ``max_block`` (a common prefix such as 华星…) is split by one more character."""
    groups: dict[str, list[str]] = defaultdict(list)
    for core in cores:
        groups[core[-depth:] if from_end else core[:depth]].append(core)
    for group in groups.values():
        if len(group) > max_block and depth < 12:
            yield from _blocks(group, depth + 1, from_end, max_block)
        elif len(group) > 1:
            yield group


def pairs_of_group(ids: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Ordered (a < b) pairs linking the members of a group sharing a key: every pair of a small
    group, a star around the lowest id for a large one (a shared switchboard number)."""
    ids = sorted(set(ids))
    if len(ids) < 2:
        return
    if len(ids) <= MAX_PAIRS_PER_GROUP:
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                yield a, b
    else:
        first = ids[0]
        for b in ids[1:]:
            yield first, b


def exact_pairs(rows: Iterable[tuple[int, str]]) -> dict[tuple[int, int], str]:
    """Pairs of ids sharing a non-empty key (USCC, mobile hash…), with the key."""
    groups: dict[str, list[int]] = defaultdict(list)
    for pk, key in rows:
        if key:
            groups[key].append(pk)
    out: dict[tuple[int, int], str] = {}
    for key, ids in groups.items():
        if len(ids) > 1:
            for pair in pairs_of_group(ids):
                out.setdefault(pair, key)
    return out


def name_pairs(cores: Iterable[tuple[int, str]], threshold: float, max_block: int = MAX_BLOCK,
               areas: dict[int, str] | None = None) -> dict[tuple[int, int], float]:
    """Pairs of ids whose cores score ≥ threshold with ``fuzz.ratio``. Identical cores pair at 100
    (a large group only within the same area — ``areas``: id → city — and not at all when the core is
    generic); distinct cores are compared only within blocks (same first two characters, or same last
    two — a typo rarely hits both ends), and a similar core is linked through its lowest id only, so a
    popular core does not multiply the pairs."""
    exact: dict[str, list[int]] = defaultdict(list)
    for pk, core in cores:
        if len(core) >= 2:
            exact[core].append(pk)
    out: dict[tuple[int, int], float] = {}
    rep: dict[str, int] = {}
    generic: set[str] = set()
    for core, ids in exact.items():
        rep[core] = min(ids)
        if len(ids) < 2:
            continue
        groups = [ids]
        if len(ids) > MAX_PAIRS_PER_GROUP and areas is not None:
            by_area: dict[str, list[int]] = defaultdict(list)
            for pk in ids:
                by_area[areas.get(pk, "")].append(pk)
            groups = list(by_area.values())
        for group in groups:
            if len(group) > GENERIC_CORE_GROUP:
                generic.add(core)
                continue
            for pair in pairs_of_group(group):
                out[pair] = 100.0
    distinct = [core for core in exact if core not in generic]
    for from_end in (False, True):
        for block in _blocks(distinct, 2, from_end, max_block):
            for i, query in enumerate(block[:-1]):
                rest = block[i + 1:]
                for _match, score, j in process.extract_iter(query, rest, scorer=fuzz.ratio,
                                                             score_cutoff=threshold):
                    a, b = rep[query], rep[rest[j]]
                    pair = (a, b) if a < b else (b, a)
                    if score > out.get(pair, 0):
                        out[pair] = round(score, 1)
    return out


def name_score(a: str, b: str, aff: Affixes = DEFAULT_AFFIXES) -> float:
    """Similarity (0–100) of two company names by their cores."""
    ca, cb = name_core(a, aff), name_core(b, aff)
    if not ca or not cb:
        return 0.0
    return round(fuzz.ratio(ca, cb), 1)
