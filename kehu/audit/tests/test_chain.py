"""The hash chain itself, without a database."""

from kehu.audit import chain


def entries(n):
    out, prev = [], chain.GENESIS
    for i in range(1, n + 1):
        e = {"id": i, "seq": i, "at": f"2026-03-01T08:00:0{i % 10}.000000Z", "actor_id": 3, "actor_name": "rep",
             "ip": "10.0.0.8", "action": "customer.update", "object_type": "customers.customer",
             "object_id": str(i), "object_repr": "浙江华星石化有限公司", "changes": {"stage": ["prospect", "intent"]},
             "prev_hash": prev}
        e["hash"] = prev = chain.entry_hash(prev, entry_id=i, **{k: e[k] for k in (
            "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "changes")})
        out.append(e)
    return out


def test_intact_chain_verifies():
    """A chain written in order has no problems."""
    assert chain.verify(entries(5)) == []
    assert chain.verify([]) == []


def test_changed_content_is_detected_at_that_entry():
    """Changing any covered field of an entry breaks its own hash."""
    for field, value in (("changes", {"stage": ["prospect", "customer"]}), ("actor_name", "admin"),
                         ("at", "2026-03-02T08:00:00.000000Z"), ("object_repr", "别的公司"), ("ip", None)):
        es = entries(5)
        es[2][field] = value
        problems = chain.verify(es)
        assert problems and problems[0].startswith("entry 3: content"), field


def test_rehashed_entry_is_detected_at_the_next_entry():
    """Recomputing a changed entry's hash still breaks the link from the next entry."""
    es = entries(5)
    es[2]["changes"] = {}
    es[2]["hash"] = chain.entry_hash(es[2]["prev_hash"], entry_id=3, **{k: es[2][k] for k in (
        "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "changes")})
    assert chain.verify(es) == ["entry 4: previous hash does not match (an entry before it was changed or removed)"]


def test_removed_entry_is_detected():
    """A gap in the positions and the broken link both show a removed entry."""
    es = entries(5)
    del es[2]
    problems = chain.verify(es)
    assert "chain positions 3..3 are missing (entries removed)" in problems
    assert any(p.startswith("entry 4: previous hash") for p in problems)


def test_removed_first_entry_is_detected():
    """Removing the first entry breaks the link to the genesis hash."""
    es = entries(3)[1:]
    assert chain.verify(es)


def test_hash_covers_the_previous_hash():
    """The same content after a different predecessor hashes differently."""
    kw = dict(entry_id=1, at="t", actor_id=None, actor_name="system", ip=None, action="a", object_type="",
              object_id="", object_repr="", changes={})
    assert chain.entry_hash(chain.GENESIS, **kw) != chain.entry_hash("1" * 64, **kw)


def test_the_chain_follows_positions_not_ids():
    """A late-committed entry (lower id, sealed later) sits at the position the sealer gave it."""
    es = entries(4)
    late = dict(es[3], id=0)  # id 0 < every other id, but sealed fourth
    late["hash"] = chain.entry_hash(late["prev_hash"], entry_id=0, **{k: late[k] for k in (
        "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "changes")})
    assert chain.verify([*es[:3], late]) == []


def checkpoint(e, chain_id, at="2026-03-01T08:00:00.000000Z"):
    return chain.Checkpoint(chain=chain_id, seq=e["seq"], id=e["id"], hash=e["hash"], at=at)


def test_checkpoints_detect_deleted_newest_entries():
    """Without a checkpoint a cut tail looks intact; the checkpoint of the head names the missing positions."""
    es = entries(6)
    first = es[0]["hash"]
    assert chain.verify(es[:4]) == []
    problems = chain.verify(es[:4], [checkpoint(es[2], first), checkpoint(es[5], first)])
    assert problems == ["chain positions 5..6 are missing: the checkpoint of 2026-03-01T08:00:00.000000Z recorded "
                        "entry 6 at position 6, the chain ends at position 4 (the newest entries were deleted)"]
    walked = chain.walk(es, [checkpoint(es[2], first), checkpoint(es[5], first)])
    assert (walked.problems, walked.checkpoints_checked, walked.last_seq) == ([], 2, 6)


def test_checkpoints_detect_a_rewritten_chain():
    """Recomputing every hash after a change passes the links, not the checkpoint."""
    es = entries(5)
    cp = checkpoint(es[4], es[0]["hash"])
    es[1]["object_repr"] = "别的公司"
    prev = es[0]["hash"]
    for e in es[1:]:
        e["prev_hash"] = prev
        e["hash"] = prev = chain.entry_hash(prev, entry_id=e["id"], **{k: e[k] for k in (
            "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "changes")})
    assert chain.verify(es) == []
    assert chain.verify(es, [cp]) == ["entry 5 (position 5): does not match the checkpoint of "
                                      "2026-03-01T08:00:00.000000Z (entry 5); the chain was rewritten"]


def test_checkpoints_of_another_chain_are_reported():
    """A checkpoint file of another database (or a replaced log) is not silently accepted."""
    es = entries(3)
    problems = chain.verify(es, [checkpoint(es[2], "f" * 64)])
    assert len(problems) == 1 and "belong to another chain" in problems[0]


def test_checkpoint_round_trips_through_a_json_line():
    cp = chain.Checkpoint(chain="a" * 64, seq=7, id=9, hash="b" * 64, at="2026-03-01T08:00:00.000000Z")
    assert chain.Checkpoint.from_json(cp.to_json()) == cp
