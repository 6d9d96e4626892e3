"""Merge and undo: every linked record moves to the survivor and back, the loser stays a tombstone,
one audit entry each way, the undo window, scope on every endpoint."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid

import pytest
from django.db import models
from django.utils import timezone

from kehu.access.models import Department, User
from kehu.audit.models import AuditEntry
from kehu.customers import merge, search_index, selectors, services
from kehu.customers.models import (
    CandidateState,
    ChangeRecord,
    Contact,
    Customer,
    CustomerMerge,
    DuplicateCandidate,
)
from kehu.customers.tests.factories import MOBILE_WANG, contact, make_uscc, org_customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

_seq = itertools.count(1)


# ---------------------------------------------------------------- a row for any model linking to a customer

def _value(field: models.Field):
    n = next(_seq)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return dt.date(2026, 3, 1)
    if isinstance(field, models.DurationField):
        return dt.timedelta(days=1)
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1")
    if isinstance(field, models.FloatField):
        return 1.0
    if isinstance(field, models.IntegerField):
        return 1
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.EmailField):
        return f"m{n}@example.cn"
    if isinstance(field, models.CharField | models.TextField):
        text = f"测试{n}"
        return text[: field.max_length] if field.max_length else text
    raise TypeError(f"no test value for {field!r}")


def _allowed_values(model) -> dict:
    """Values the model's check constraints name for a field (``field__in=[…]`` / ``field=…``)."""
    out = {}

    def walk(q):
        for child in q.children:
            if isinstance(child, models.Q):
                walk(child)
            elif isinstance(child, tuple) and isinstance(child[0], str):
                key, value = child
                if key.endswith("__in") and value:
                    out.setdefault(key[:-4], list(value)[0])
                elif "__" not in key and isinstance(value, str | int) and value != "":
                    out.setdefault(key, value)

    for c in model._meta.constraints:
        if isinstance(c, models.CheckConstraint) and not c.condition.negated:
            walk(c.condition)
    return out


def make_linked_row(model, fk_name: str | None, customer: Customer, org):
    """A row of ``model`` pointing at ``customer`` through ``fk_name``, every required field filled.
    A model this cannot build fails the test: give it a factory in FACTORIES below."""
    values = {}
    allowed = _allowed_values(model)
    for f in model._meta.concrete_fields:
        if f.primary_key and isinstance(f, models.AutoField | models.BigAutoField):
            continue
        if f.name == fk_name or (f.is_relation and f.related_model is Customer and not f.null):
            values[f.name] = customer
            continue
        if f.has_default() or f.null or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue
        if f.is_relation:
            related = f.related_model
            if related is User:
                values[f.name] = org.admin
            elif related is Department:
                values[f.name] = org.depts["east"]
            else:
                values[f.name] = make_linked_row(related, None, customer, org)
            continue
        values[f.name] = allowed[f.name] if f.name in allowed else _value(f)
    obj = model(**values)
    obj.save()
    return obj


def _tombstone_of(customer, org):
    t = org_customer(org.rep, "华星石化(老档案)")
    now = timezone.now()
    Customer.objects.filter(pk=t.pk).update(deleted_at=now, merged_into=customer, merged_at=now)
    return Customer.objects.get(pk=t.pk)


FACTORIES = {
    ("customers.customer", "merged_into"): _tombstone_of,
    ("customers.contact", "customer"): lambda c, org: contact(c.owner, c, "王强", mobile=MOBILE_WANG),
    ("customers.consent", "customer"): lambda c, org: services.consent_create(
        actor=c.owner, customer_id=c.pk, data={"purpose": "电话回访", "channel": "电话录音"}),
}


def _links():
    """Every (model, field) pointing at a customer, straight from Django's registry (not from merge)."""
    out = []
    for rel in Customer._meta.related_objects:
        if rel.many_to_many:
            out += [(rel.through, f.name) for f in rel.through._meta.concrete_fields
                    if f.is_relation and f.related_model is Customer]
        else:
            out.append((rel.related_model, rel.field.name))
    out += [(f.remote_field.through, f.m2m_field_name()) for f in Customer._meta.many_to_many]
    return list(dict.fromkeys(out))


def _snapshot(customer_ids):
    snap = {}
    for model, field in _links():
        if (model._meta.label_lower, field) in merge.NOT_MOVED:
            continue
        qs = model._base_manager.filter(**{f"{field}__in": customer_ids})
        if model is ChangeRecord:  # the merge's and the undo's own timeline rows
            qs = qs.exclude(action__in=["merge", "merge_undo"])
        rows = qs.values_list("pk", f"{field}_id")
        snap[(model._meta.label_lower, field)] = sorted((str(pk), cid) for pk, cid in rows)
    return snap


@pytest.fixture
def pair(org):
    survivor = org_customer(org.rep, "北京华星石化有限公司", serial=1, address="")
    loser = org_customer(org.rep2, "华星石化(北京)股份有限公司", serial=2, address="北京市朝阳区建国路88号",
                         industry="化工")
    return survivor, loser


def _fill_links(customer, org):
    """One row on ``customer`` for every relation any app defines (the generic discovery's test)."""
    from kehu.customers.models import Tag

    made = {}
    for model, field in _links():
        key = (model._meta.label_lower, field)
        if key in merge.NOT_MOVED or key in merge.REBUILT:
            continue
        if key == ("customers.customer_tags", "customer"):
            tag = services.tag_create(actor=org.admin, category="来源", name=f"展会{next(_seq)}")
            customer.tags.add(tag)
            made[key] = Tag
            continue
        factory = FACTORIES.get(key)
        made[key] = factory(customer, org) if factory else make_linked_row(model, field, customer, org)
    return made


# ---------------------------------------------------------------- merge moves everything, undo restores it

def test_merge_moves_every_linked_record_of_every_app(org, pair):
    """Each relation to Customer (any app, any time) gets a row on the loser; all end on the survivor."""
    survivor, loser = pair
    _fill_links(loser, org)
    unsupported = [k for k in ((m._meta.label_lower, f) for m, f in _links())
                   if k not in merge.NOT_MOVED and k not in merge.REBUILT
                   and k not in {(m._meta.label_lower, f) for m, f in merge.merge_links()}]
    assert unsupported == []
    before = _snapshot([survivor.pk, loser.pk])
    merge.customer_merge(actor=org.manager, survivor_id=survivor.pk, loser_id=loser.pk)
    after = _snapshot([survivor.pk, loser.pk])
    # What the merge itself adds: the loser's own tombstone pointer and the survivor's "merged" history row.
    after[("customers.customer", "merged_into")].remove((str(loser.pk), survivor.pk))
    for key, rows in before.items():
        if key in merge.NOT_MOVED or key in merge.REBUILT:
            continue
        assert rows, f"no test row for {key}"
        assert any(cid == loser.pk for _pk, cid in rows), f"no loser row for {key}"
        assert all(cid == survivor.pk for _pk, cid in after[key]), f"{key} not moved"
        assert sorted(pk for pk, _c in after[key]) == sorted(pk for pk, _c in rows), key


def test_undo_restores_every_link_and_field_exactly(org, pair):
    """After an undo every row points where it did before, the survivor's fields and both records'
    search tokens are back, and the loser is live again."""
    survivor, loser = pair
    _fill_links(loser, org)
    _fill_links(survivor, org)
    before = _snapshot([survivor.pk, loser.pk])
    fields_before = merge._columns(Customer.objects.get(pk=survivor.pk))
    tokens_before = (search_index.terms_of(survivor.pk), search_index.terms_of(loser.pk))
    record = merge.customer_merge(actor=org.manager, survivor_id=survivor.pk, loser_id=loser.pk,
                                  choices={"name": "loser", "uscc": "loser"})
    merged = Customer.objects.get(pk=survivor.pk)
    assert merged.name == "华星石化(北京)股份有限公司" and merged.uscc == make_uscc(2)
    assert merged.address == "北京市朝阳区建国路88号"  # blank on the survivor: filled from the loser
    assert merged.industry == "石化"  # both set: the survivor's by default
    assert not search_index.terms_of(loser.pk)
    merge.customer_merge_undo(actor=org.manager, merge_id=record.pk)
    # Rows derived per customer (REBUILT) are recomputed from what each record holds again, not restored.
    derived = set(merge.REBUILT) - {("customers.searchdocument", "customer")}
    assert {k: v for k, v in _snapshot([survivor.pk, loser.pk]).items() if k not in derived} == \
        {k: v for k, v in before.items() if k not in derived}
    assert merge._columns(Customer.objects.get(pk=survivor.pk)) == fields_before
    revived = Customer.objects.get(pk=loser.pk)
    assert revived.deleted_at is None and revived.merged_into_id is None and revived.merged_at is None
    assert revived.uscc == make_uscc(2)
    tokens_after = (search_index.terms_of(survivor.pk), search_index.terms_of(loser.pk))
    assert tokens_after == tokens_before


def test_tag_on_both_records_stays_on_tombstone_and_undo_is_exact(org, pair):
    """A tag both have cannot be linked twice: the survivor keeps its own, the loser's stays put."""
    survivor, loser = pair
    tag = services.tag_create(actor=org.admin, category="规模", name="大客户")
    survivor.tags.add(tag)
    loser.tags.add(tag)
    record = merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk)
    assert list(survivor.tags.all()) == [tag]
    assert record.moved["kept"] == {"customers.customer_tags": {"customer": [
        loser.tags.through.objects.get(customer=loser).pk]}}
    merge.customer_merge_undo(actor=org.admin, merge_id=record.pk)
    assert list(loser.tags.all()) == [tag] and list(survivor.tags.all()) == [tag]


def test_merge_keeps_loser_as_tombstone_out_of_lists_and_search(org, pair):
    """The loser leaves lists and search, its USCC is freed, and it points to the survivor."""
    survivor, loser = pair
    merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk)
    loser.refresh_from_db()
    assert loser.merged_into_id == survivor.pk and loser.deleted_at and loser.merged_at
    ids = [c.pk for c in selectors.customer_list(actor=org.admin, limit=100).items]
    assert loser.pk not in ids and survivor.pk in ids
    assert [c.pk for c in selectors.customer_list(actor=org.admin, q="华星石化", limit=100).items] == [survivor.pk]
    assert selectors.customer_merged_into(actor=org.admin, customer_id=loser.pk) == survivor.pk


def test_merge_and_undo_write_one_audit_entry_each_with_before_state(org, pair):
    """customer.merge carries both records' prior state; customer.merge_undo follows it."""
    survivor, loser = pair
    start = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    record = merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk,
                                  choices={"name": "loser"})
    entries = list(AuditEntry.objects.filter(id__gt=start).order_by("id"))
    assert [e.action for e in entries] == ["customer.merge"]
    ch = entries[0].changes
    assert ch["survivor_before"]["name"] == "北京华星石化有限公司" and ch["loser_before"]["name"] == loser.name
    assert ch["loser"] == loser.pk and ch["merge"] == record.pk
    merge.customer_merge_undo(actor=org.admin, merge_id=record.pk)
    assert [e.action for e in AuditEntry.objects.filter(id__gt=start).order_by("id")] == ["customer.merge", "customer.merge_undo"]


def test_merge_into_itself_or_a_tombstone_refused(org, pair):
    """Self-merge is invalid (422); a tombstone can neither absorb nor be absorbed again (409)."""
    survivor, loser = pair
    third = org_customer(org.rep, "华星石化销售有限公司")
    with pytest.raises(Invalid):
        merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=survivor.pk)
    merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk)
    with pytest.raises(Conflict):
        merge.customer_merge(actor=org.admin, survivor_id=loser.pk, loser_id=third.pk)
    with pytest.raises(Conflict):
        merge.customer_merge(actor=org.admin, survivor_id=third.pk, loser_id=loser.pk)
    assert Customer.objects.get(pk=third.pk).deleted_at is None


def test_unknown_choice_refused_and_nothing_changes(org, pair):
    """A choice for an unknown field or with a bad side is a 422 and nothing moves."""
    survivor, loser = pair
    with pytest.raises(Invalid):
        merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk, choices={"nope": "loser"})
    with pytest.raises(Invalid):
        merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk, choices={"name": "both"})
    assert Customer.objects.get(pk=loser.pk).deleted_at is None and not CustomerMerge.objects.exists()


def test_merge_needs_permission_and_both_in_scope(org, pair):
    """A rep may not merge (403); a manager of another department cannot see the pair (404)."""
    survivor, loser = pair
    with pytest.raises(Forbidden):
        merge.customer_merge(actor=org.rep, survivor_id=survivor.pk, loser_id=loser.pk)
    with pytest.raises(NotFound):
        merge.customer_merge(actor=org.north_manager, survivor_id=survivor.pk, loser_id=loser.pk)
    north = org_customer(org.north_rep, "华星石化华北有限公司")
    with pytest.raises(NotFound):
        merge.customer_merge(actor=org.manager, survivor_id=survivor.pk, loser_id=north.pk)


def test_undo_after_window_refused(org, pair, settings):
    """An undo after KEHU_MERGE_UNDO_DAYS (30) is refused with 409 and changes nothing."""
    survivor, loser = pair
    record = merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk)
    CustomerMerge.objects.filter(pk=record.pk).update(at=timezone.now() - dt.timedelta(days=31))
    with pytest.raises(Conflict) as exc:
        merge.customer_merge_undo(actor=org.admin, merge_id=record.pk)
    assert exc.value.code == "merge_undo_expired"
    settings.KEHU_MERGE_UNDO_DAYS = 40
    merge.customer_merge_undo(actor=org.admin, merge_id=record.pk)
    with pytest.raises(Conflict):
        merge.customer_merge_undo(actor=org.admin, merge_id=record.pk)


def test_undo_keeps_later_edits_of_the_survivor(org, pair):
    """A field edited after the merge keeps its new value on undo (the later edit stands)."""
    survivor, loser = pair
    record = merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk,
                                  choices={"name": "loser"})
    services.customer_update(actor=org.admin, customer_id=survivor.pk, data={"address": "杭州市西湖区"})
    merge.customer_merge_undo(actor=org.admin, merge_id=record.pk)
    s = Customer.objects.get(pk=survivor.pk)
    assert s.name == "北京华星石化有限公司" and s.address == "杭州市西湖区"


def test_merge_marks_candidate_and_history(org, pair):
    """The pair's candidate becomes merged; the survivor's timeline says what was merged in."""
    survivor, loser = pair
    merge.duplicate_scan(actor=org.admin)
    a, b = sorted((survivor.pk, loser.pk))
    assert DuplicateCandidate.objects.get(customer_a=a, customer_b=b).state == CandidateState.OPEN
    merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk)
    assert DuplicateCandidate.objects.get(customer_a=a, customer_b=b).state == CandidateState.MERGED
    assert ChangeRecord.objects.filter(customer=survivor, action="merge").exists()
    # A later scan neither re-opens the merged pair nor proposes the tombstone.
    merge.duplicate_scan(actor=org.admin)
    assert DuplicateCandidate.objects.get(customer_a=a, customer_b=b).state == CandidateState.MERGED


def test_merging_a_survivor_away_redirects_old_tombstones(org, pair):
    """A → B then B → C: A's id resolves to C; undoing A → B first needs B → C undone."""
    survivor, loser = pair
    third = org_customer(org.rep, "华星石化集团")
    first = merge.customer_merge(actor=org.admin, survivor_id=survivor.pk, loser_id=loser.pk)
    merge.customer_merge(actor=org.admin, survivor_id=third.pk, loser_id=survivor.pk)
    assert selectors.customer_merged_into(actor=org.admin, customer_id=loser.pk) == third.pk
    with pytest.raises(Conflict):
        merge.customer_merge_undo(actor=org.admin, merge_id=first.pk)


def test_person_customers_merge_mobile_choice(org):
    """Person customers: the chosen mobile (encrypted, hashed, masked) travels as one value."""
    from kehu.customers.tests.factories import person_customer

    a = person_customer(org.rep, "王强", mobile="13812345678")
    b = person_customer(org.rep, "王强", mobile="13900001111")
    merge.customer_merge(actor=org.admin, survivor_id=a.pk, loser_id=b.pk, choices={"mobile": "loser"})
    a.refresh_from_db()
    assert a.mobile_masked == Customer.objects.get(pk=b.pk).mobile_masked
    assert a.mobile_hash == Customer.objects.get(pk=b.pk).mobile_hash
    assert Contact.objects.count() == 0
