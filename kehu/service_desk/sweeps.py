"""The SLA sweeps by name: what the worker's periodic tasks run and what `kehu sweep complaints|service`
runs on demand for operators — the same code, so a manual sweep is exactly a worker's sweep."""

from __future__ import annotations

import datetime as dt


def _complaints(now: dt.datetime | None = None) -> dict[str, int]:
    from kehu.service_desk.services import complaint_sla_sweep

    return complaint_sla_sweep(now=now)


def _service(now: dt.datetime | None = None) -> dict[str, int]:
    from kehu.service_desk.tickets.services import ticket_sla_sweep

    return ticket_sla_sweep(now=now)


SWEEPS = {"complaints": _complaints, "service": _service}


def run_sweep(name: str, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Run the sweep called ``name`` ("complaints" or "service"); returns its counts."""
    return SWEEPS[name](now)
