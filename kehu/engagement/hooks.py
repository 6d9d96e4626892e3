"""What other apps do when an interaction is recorded (e.g. the visit plans tick off a scheduled visit).

The follow-up service calls `interaction_recorded` inside its transaction; handlers run there too, so
a failing handler rolls the interaction back rather than leaving half the work done."""

from __future__ import annotations

from collections.abc import Callable

_handlers: list[Callable] = []


def on_interaction_recorded(fn: Callable) -> Callable:
    """Register fn(interaction, *, actor) to run after an interaction is created (idempotent)."""
    if fn not in _handlers:
        _handlers.append(fn)
    return fn


def interaction_recorded(interaction, *, actor) -> None:
    for fn in list(_handlers):
        fn(interaction, actor=actor)
