"""The hash chain, ORM-free: what an entry's hash covers and how a sealed sequence is verified.

Entries are chained in the order of their chain position ``seq`` (1, 2, 3 …), given by the sealing
step; an entry's hash covers its content (including its id) and the hash at the previous position.
Checkpoints (the chain head copied outside the database from time to time) let the walk notice that
the newest entries were deleted, which the chain alone cannot show."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

GENESIS = "0" * 64


def entry_hash(prev_hash: str, *, entry_id: int, at: str, actor_id, actor_name: str, ip, action: str,
               object_type: str, object_id: str, object_repr: str, changes) -> str:
    payload = json.dumps(
        [entry_id, at, actor_id, actor_name, ip, action, object_type, object_id, object_repr, changes],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment: position, entry id, hash, when; ``chain`` is the hash of the
    chain's first entry, naming which chain (which database) the checkpoint belongs to."""

    chain: str
    seq: int
    id: int
    hash: str
    at: str

    def to_json(self) -> str:
        return json.dumps({"chain": self.chain, "seq": self.seq, "id": self.id, "hash": self.hash, "at": self.at},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Checkpoint:
        d = json.loads(line)
        return cls(chain=d["chain"], seq=int(d["seq"]), id=int(d["id"]), hash=d["hash"], at=d["at"])


@dataclass
class Walk:
    """What a walk of the sealed chain found."""

    problems: list[str] = field(default_factory=list)
    count: int = 0
    last_seq: int = 0
    last_id: int | None = None
    last_hash: str = GENESIS
    first_hash: str | None = None
    checkpoints_checked: int = 0


def walk(entries: Iterable[dict], checkpoints: Iterable[Checkpoint] = ()) -> Walk:
    """Walk sealed entries in ``seq`` order; compare against the checkpoints along the way."""
    result = Walk()
    problems = result.problems
    by_seq: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        by_seq[cp.seq] = cp  # the newest checkpoint at a position wins (they agree unless rewritten)
    prev = GENESIS
    for e in entries:
        seq = e["seq"]
        if seq != result.last_seq + 1:
            problems.append(f"chain positions {result.last_seq + 1}..{seq - 1} are missing (entries removed)")
        if e["prev_hash"] != prev:
            problems.append(f"entry {e['id']}: previous hash does not match (an entry before it was changed or removed)")
        recomputed = entry_hash(
            e["prev_hash"], entry_id=e["id"], at=e["at"], actor_id=e["actor_id"], actor_name=e["actor_name"],
            ip=e["ip"], action=e["action"], object_type=e["object_type"], object_id=e["object_id"],
            object_repr=e["object_repr"], changes=e["changes"],
        )
        if recomputed != e["hash"]:
            problems.append(f"entry {e['id']}: content does not match its hash (changed)")
        if seq == 1:
            result.first_hash = e["hash"]
        cp = by_seq.get(seq)
        if cp is not None and cp.chain == result.first_hash:
            result.checkpoints_checked += 1
            if cp.hash != e["hash"] or cp.id != e["id"]:
                problems.append(f"entry {e['id']} (position {seq}): does not match the checkpoint of {cp.at} "
                                f"(entry {cp.id}); the chain was rewritten")
        prev = e["hash"]
        result.count += 1
        result.last_seq, result.last_id, result.last_hash = seq, e["id"], e["hash"]
    foreign = [cp for cp in by_seq.values() if result.first_hash is not None and cp.chain != result.first_hash]
    if foreign:
        newest = max(foreign, key=lambda cp: cp.seq)
        problems.append(f"{len(foreign)} checkpoint(s) belong to another chain (the newest, of {newest.at}, at "
                        f"position {newest.seq}): the log was replaced, or the checkpoint file is another database's")
    ours = [cp for cp in by_seq.values() if result.first_hash is None or cp.chain == result.first_hash]
    beyond = [cp for cp in ours if cp.seq > result.last_seq]
    if beyond:
        newest = max(beyond, key=lambda cp: cp.seq)
        result.checkpoints_checked += len(beyond)
        problems.append(
            f"chain positions {result.last_seq + 1}..{newest.seq} are missing: the checkpoint of {newest.at} "
            f"recorded entry {newest.id} at position {newest.seq}, the chain ends at position {result.last_seq} "
            "(the newest entries were deleted)")
    return result


def verify(entries: Iterable[dict], checkpoints: Iterable[Checkpoint] = ()) -> list[str]:
    """Return the problems found walking the sealed chain in position order (empty list: intact)."""
    return walk(entries, checkpoints).problems
