"""The hash chain itself, without a database."""

from kehu.audit import chain


def entries(n):
    out, prev = [], chain.GENESIS
    for i in range(1, n + 1):
        e = {"id": i, "at": f"2026-03-01T08:00:0{i % 10}.000000Z", "actor_id": 3, "actor_name": "rep",
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
    """A gap in the ids and the broken link both show a removed entry."""
    es = entries(5)
    del es[2]
    problems = chain.verify(es)
    assert "entries 3..3 are missing" in problems
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
