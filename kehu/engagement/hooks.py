"""What other apps do when an interaction is recorded (e.g. the visit plans tick off a scheduled visit).

The follow-up service calls `interaction_recorded` inside its transaction; handlers run there too, so
a failing handler rolls the interaction back rather than leaving half the work done.

A handler may also give its write as SQL (``sql=``), so that on PostgreSQL the common create is one statement
(``services._create_in_one_statement``): ``sql(values, actor=...)`` gets the cleaned follow-up (``values``:
customer_id, channel, occurred_at, next_step, …; the owner is known only to the database) and returns
``(ctes, params)`` — one or more CTE definitions ``name AS (…), …`` (names of its own, prefixed with its app's
label) whose data-modifying statements read the recorded row from the CTE ``recorded`` (columns id,
customer_id, owner_id, channel, occurred_at) and write exactly what ``fn`` would write for it —,
``()`` when ``fn`` would write nothing for it, or None when it cannot say (then the create takes the Python path
and ``fn`` runs). A handler without a SQL form always sends the create to the Python path."""

from __future__ import annotations

from collections.abc import Callable

_handlers: list[Callable] = []
_sql_forms: dict[Callable, Callable] = {}


def on_interaction_recorded(fn: Callable, *, sql: Callable | None = None) -> Callable:
    """Register fn(interaction, *, actor) to run after an interaction is created (idempotent); ``sql`` its
    form as one statement (see the module's docstring)."""
    if fn not in _handlers:
        _handlers.append(fn)
    if sql is not None:
        _sql_forms[fn] = sql
    return fn


def interaction_recorded(interaction, *, actor) -> None:
    for fn in list(_handlers):
        fn(interaction, actor=actor)


def interaction_recorded_sql(values: dict, *, actor) -> list[tuple[str, list]] | None:
    """Every handler's write for the follow-up ``values`` as CTEs over the CTE ``recorded``, in the
    handlers' order; None when one of them has no SQL form for it (the Python path then runs them all)."""
    out = []
    for fn in list(_handlers):
        form = _sql_forms.get(fn)
        written = form(values, actor=actor) if form is not None else None
        if written is None:
            return None
        if written:
            out.append(written)
    return out
