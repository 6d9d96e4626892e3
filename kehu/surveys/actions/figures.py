"""The survey's figures as pure maths (no ORM), tested against hand-computed examples.

Definitions (shown on the report page, its print and XLSX export):

* **CSAT** of a question, a dimension or a segment is shown two ways:
  - the **top-two-box share** (满意率): the percentage of the ratings that fall in the top box of their scale
    (1–5 and matrix rows: 4 or 5; 1–10: 9 or 10; the visit report's 100-point scales: 100 or 90). This is the
    headline "CSAT" — the dimension bars, the segment table and the comparison with the previous survey;
  - the **mean score normalised to 100** (满意度指数): 1–5 → (x − 1) × 25, 1–10 → (x − 1) × 100 / 9, the
    visit report's scales are already out of 100. Shown beside the share in every table.
* **NPS** = % promoters (9–10) − % detractors (0–6) of the answers to the 0–10 question, with the counts of
  promoters, passives (7–8) and detractors.
* A **low score** is a rating in the bottom box of its scale (1–5 and matrix rows: 1; 1–10: 1 or 2; visit
  quality: 60; visit attitude: 30 or 0); with an NPS of 0–6 it makes a follow-up for the account manager.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

RATING_KINDS = ("rating_5", "rating_10", "matrix", "visit_quality", "visit_attitude")
TOP_BOX: dict[str, tuple[int, ...]] = {
    "rating_5": (4, 5),
    "matrix": (4, 5),
    "rating_10": (9, 10),
    "visit_quality": (100, 90),
    "visit_attitude": (100, 90),
}
BOTTOM_BOX: dict[str, tuple[int, ...]] = {
    "rating_5": (1,),
    "matrix": (1,),
    "rating_10": (1, 2),
    "visit_quality": (60,),
    "visit_attitude": (30, 0),
}
PROMOTER_MIN, DETRACTOR_MAX = 9, 6


def normalised(kind: str, number: int) -> float:
    """A rating on a 0–100 scale (the mean of these is the satisfaction index)."""
    if kind in ("rating_5", "matrix"):
        return (number - 1) * 25.0
    if kind == "rating_10":
        return (number - 1) * 100.0 / 9
    return float(number)  # the visit report's scales are out of 100 already


def is_low(kind: str, number: int | None) -> bool:
    if number is None:
        return False
    if kind == "nps":
        return number <= DETRACTOR_MAX
    return number in BOTTOM_BOX.get(kind, ())


def pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def nps(counts: dict[int, int]) -> dict:
    """NPS from a histogram {score 0–10: answers}: the counts and the score (None without answers)."""
    promoters = sum(n for v, n in counts.items() if v >= PROMOTER_MIN)
    detractors = sum(n for v, n in counts.items() if v <= DETRACTOR_MAX)
    total = sum(counts.values())
    passives = total - promoters - detractors
    score = round(100.0 * (promoters - detractors) / total, 1) if total else None
    return {
        "n": total,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": score,
        "promoters_pct": pct(promoters, total),
        "passives_pct": pct(passives, total),
        "detractors_pct": pct(detractors, total),
    }


class Csat:
    """Additive CSAT counters (so segments and dimensions roll up from grouped rows)."""

    __slots__ = ("n", "top", "low", "norm_sum")

    def __init__(self, n: int = 0, top: int = 0, low: int = 0, norm_sum: float = 0.0):
        self.n, self.top, self.low, self.norm_sum = n, top, low, norm_sum

    def add(self, kind: str, number: int, count: int = 1) -> None:
        self.n += count
        if number in TOP_BOX[kind]:
            self.top += count
        if number in BOTTOM_BOX[kind]:
            self.low += count
        self.norm_sum += normalised(kind, number) * count

    def merge(self, other: Csat) -> None:
        self.n += other.n
        self.top += other.top
        self.low += other.low
        self.norm_sum += other.norm_sum

    def out(self) -> dict:
        return {
            "n": self.n,
            "top_box_pct": pct(self.top, self.n),
            "low_box_pct": pct(self.low, self.n),
            "mean_100": round(self.norm_sum / self.n, 1) if self.n else None,
        }


def csat(kind: str, counts: dict[int, int]) -> dict:
    """CSAT of one rating question (or matrix row) from its histogram {value: answers}."""
    c = Csat()
    for v, n in counts.items():
        c.add(kind, v, n)
    return c.out()


def mean(counts: dict[int, int]) -> float | None:
    total = sum(counts.values())
    return round(sum(v * n for v, n in counts.items()) / total, 2) if total else None


def delta(now, before):
    if now is None or before is None:
        return None
    return round(now - before, 1)


# ---------------------------------------------------------------- verbatims

# Common Chinese function words and survey filler (the words every answer has, which say nothing).
STOP_WORDS = frozenset(
    """
的 了 和 是 在 我 有 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 她们 它们 这个 那个 这些 那些 这样 那样 因为 所以 但是 但 如果
可以 能够 希望 还是 比较 非常 很 太 更 最 还 又 再 不 没 一些 一下 一点 有点 有些 其他 其它 以及 对于 关于 由于 而且 并且 然后 已经 我司
贵司 公司 你们公司 贵公司 我公司 方面 问题 情况 目前 现在 时候 时间 觉得 认为 感觉 需要 进行 能 会 要 让 被 把 给 对 向 从 到 为 以 之
等 等等 什么 怎么 怎样 如何 哪些 谁 吗 呢 吧 啊 哦 嗯 哈 呀 整体 总体 一直 经常 有时 有时候 总是 没什么 暂无 无 没有意见 建议 意见 谢谢
""".split()
)
_WORD = re.compile(r"^[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9]*$")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def terms(text: str) -> list[str]:
    """The keywords of one answer, each once (jieba's words; stop words, single characters, numbers and
    punctuation dropped), in order of first appearance."""
    text = (text or "").strip()
    if not text:
        return []
    seen: dict[str, None] = {}
    for word in _jieba().cut(text[:2000]):
        word = word.strip().lower()
        if len(word) < 2 or len(word) > 40 or word in STOP_WORDS or not _WORD.match(word):
            continue
        seen.setdefault(word, None)
    return list(seen)


def keyword_counts(texts: list[tuple[str, int]], *, top: int = 30) -> list[tuple[str, int]]:
    """Keyword counts over answers given as (text, how many answers gave it): a keyword counts once per
    answer that mentions it."""
    counter: Counter = Counter()
    for text, n in texts:
        for word in terms(text):
            counter[word] += n
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
