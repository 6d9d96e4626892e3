"""The hash chain, ORM-free: what an entry's hash covers and how a sequence is verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

GENESIS = "0" * 64


def entry_hash(prev_hash: str, *, entry_id: int, at: str, actor_id, actor_name: str, ip, action: str,
               object_type: str, object_id: str, object_repr: str, changes) -> str:
    payload = json.dumps(
        [entry_id, at, actor_id, actor_name, ip, action, object_type, object_id, object_repr, changes],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def verify(entries: Iterable[dict]) -> list[str]:
    """Return the problems found walking the chain in id order (empty list: intact)."""
    problems: list[str] = []
    prev = GENESIS
    expected_id = None
    for e in entries:
        if expected_id is not None and e["id"] != expected_id:
            problems.append(f"entries {expected_id}..{e['id'] - 1} are missing")
        if e["prev_hash"] != prev:
            problems.append(f"entry {e['id']}: previous hash does not match (an entry before it was changed or removed)")
        recomputed = entry_hash(
            e["prev_hash"], entry_id=e["id"], at=e["at"], actor_id=e["actor_id"], actor_name=e["actor_name"],
            ip=e["ip"], action=e["action"], object_type=e["object_type"], object_id=e["object_id"],
            object_repr=e["object_repr"], changes=e["changes"],
        )
        if recomputed != e["hash"]:
            problems.append(f"entry {e['id']}: content does not match its hash (changed)")
        prev = e["hash"]
        expected_id = e["id"] + 1
    return problems
