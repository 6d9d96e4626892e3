"""What other apps do when a deal is won (signed): the commission app splits it.

The pipeline's signing service calls ``deal_won`` inside its transaction; handlers run there too, so a
failing handler rolls the signing back rather than leaving a deal without its commission split."""

from __future__ import annotations

from collections.abc import Callable

_won: list[Callable] = []


def on_deal_won(fn: Callable) -> Callable:
    """Register fn(deal, *, actor) to run when a deal reaches the signed stage (idempotent)."""
    if fn not in _won:
        _won.append(fn)
    return fn


def deal_won(deal, *, actor) -> None:
    for fn in list(_won):
        fn(deal, actor=actor)
