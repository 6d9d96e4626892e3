from __future__ import annotations

from django.http import JsonResponse
from ninja import Query, Router, Schema, Status

from kehu.access.roles import Perm
from kehu.concurrency.api_hooks import etag_from_version, if_match
from kehu.concurrency.versioning import expected_from_request
from kehu.customers import merge as merge_services
from kehu.customers import selectors, services
from kehu.customers.schemas import (
    CandidateOut,
    CandidatePage,
    ChangePage,
    ConsentIn,
    ConsentOut,
    ConsentPage,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomFieldIn,
    CustomFieldOut,
    MergeIn,
    MergeOut,
    MergePage,
    RevealIn,
    RevealOut,
    ScanOut,
    TagIn,
    TagOut,
    candidate_out,
    customer_out,
    merge_out,
    tag_out,
)
from kehu.errors import NotFound

router = Router(tags=["customers"])


class CustomerFilters(Schema):
    q: str | None = None
    industry: str | None = None
    city: str | None = None
    stage: str | None = None
    status: str | None = None
    kind: str | None = None
    owner: int | None = None
    department: int | None = None
    tag: int | None = None
    mine: bool = False
    grade_policy: str | None = None
    grade: str | None = None
    ordering: str = "-updated_at"
    limit: int | None = None
    cursor: str | None = None


@router.get("/customers", response=CustomerPage, summary="List and search customers in my scope",
            description="q: name, pinyin, initials, mobile, 尾号 (last four digits, e.g. 尾号5678), USCC; "
                        "traditional characters match simplified ones. ordering=name is pinyin order. "
                        "department includes its sub-departments; mine=true: customers I own. "
                        "grade_policy and grade: customers whose current grade is under that grading policy, is "
                        "that grade (under any policy), or both; each item lists its current grades.")
def customer_list(request, filters: Query[CustomerFilters]):
    page, count = selectors.customer_list_counted(actor=request.user, **filters.dict())
    return {"items": [customer_out(c) for c in page.items], "next": page.next, "prev": page.prev,
            "count": count.value, "count_kind": count.kind}


@router.post("/customers", response={201: CustomerOut}, summary="Register a customer",
             description="409 possible_duplicate: customers with the same normalised name exist; `error.candidates` "
                         "lists those in your scope (ids), `error.elsewhere` counts the others; send "
                         "`confirm_duplicate: true` to register anyway. 409 duplicate_id_number: the person is "
                         "registered. 409 uscc_of_deleted_customer: a deleted customer keeps the USCC; "
                         "`error.restorable` is its id when you may restore it (POST /customers/{id}/restore).")
def customer_create(request, payload: CustomerIn):
    try:
        customer = services.customer_create(actor=request.user, data=payload.dict())
    except services.PossibleDuplicate as exc:
        return _conflict(exc, candidates=[c.pk for c in exc.candidates], elsewhere=exc.elsewhere)
    except services.UsccOfDeletedCustomer as exc:
        return _conflict(exc, restorable=exc.restorable.pk if exc.restorable else None)
    out = customer_out(selectors.customer_detail(actor=request.user, customer_id=customer.pk))
    return Status(201, {**out, "warnings": customer.warnings})


def _conflict(exc, **extra) -> JsonResponse:
    """A 409 in the one error format, with the ids the caller may act on."""
    body = exc.as_dict()
    body["error"].update(extra)
    return JsonResponse(body, status=409)


@router.post("/customers/{customer_id}/restore", response=CustomerOut,
             summary="Restore a deleted customer (its USCC stayed reserved for it)")
def customer_restore(request, customer_id: int):
    services.customer_restore(actor=request.user, customer_id=customer_id)
    return customer_out(selectors.customer_detail(actor=request.user, customer_id=customer_id))


@router.get("/customers/{customer_id}", response=CustomerOut,
            description="A merged-away id answers 307 to the surviving customer (see _customer_get_or_redirect). "
                        "ETag: W/\"<version>\" — send it back as If-Match when you change the customer.")
@etag_from_version
def customer_get(request, customer_id: int):
    return _customer_get_or_redirect(request, customer_id)


@router.patch("/customers/{customer_id}", response=CustomerOut,
              description="Requires the version you read: If-Match: W/\"<version>\" (412 when stale) or a "
                          "\"version\" field (409 when stale); neither → 428. Only the fields sent change.")
@if_match
def customer_update(request, customer_id: int, payload: CustomerPatch):
    data = payload.dict(exclude_unset=True)
    expected = expected_from_request(request, data.pop("version", None))
    customer = services.customer_update(actor=request.user, customer_id=customer_id, data=data, expected=expected)
    out = customer_out(selectors.customer_detail(actor=request.user, customer_id=customer_id))
    return {**out, "warnings": getattr(customer, "warnings", [])}


@router.delete("/customers/{customer_id}", response={204: None})
def customer_delete(request, customer_id: int):
    services.customer_delete(actor=request.user, customer_id=customer_id)
    return Status(204, None)


@router.post("/customers/{customer_id}/reveal", response=RevealOut, summary="See one confidential value in clear (audited)")
def customer_reveal(request, customer_id: int, payload: RevealIn):
    value = services.customer_reveal(actor=request.user, customer_id=customer_id, field=payload.field)
    return {"field": payload.field, "value": value}


@router.get("/customers/{customer_id}/export", summary="Data-subject export of a person customer (PIPL)")
def customer_subject_export(request, customer_id: int):
    return services.subject_export(actor=request.user, customer_id=customer_id)


@router.post("/customers/{customer_id}/erase", response={204: None}, summary="Erase a person customer (PIPL)")
def customer_subject_erase(request, customer_id: int):
    services.subject_erase(actor=request.user, customer_id=customer_id)
    return Status(204, None)


@router.get("/customers/{customer_id}/contacts", response=ContactPage)
def contact_list(request, customer_id: int, limit: int | None = None, cursor: str | None = None):
    page = selectors.contact_list(actor=request.user, customer_id=customer_id, limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}


@router.post("/customers/{customer_id}/contacts", response={201: ContactOut})
def contact_create(request, customer_id: int, payload: ContactIn):
    return Status(201, services.contact_create(actor=request.user, customer_id=customer_id, data=payload.dict()))


@router.get("/contacts/{contact_id}", response=ContactOut, description="ETag: W/\"<version>\" (see PATCH).")
@etag_from_version
def contact_get(request, contact_id: int):
    return selectors.contact_get(actor=request.user, contact_id=contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut,
              description="Requires the version you read: If-Match: W/\"<version>\" (412 when stale) or a "
                          "\"version\" field (409 when stale); neither → 428.")
@if_match
def contact_update(request, contact_id: int, payload: ContactPatch):
    data = payload.dict(exclude_unset=True)
    expected = expected_from_request(request, data.pop("version", None))
    return services.contact_update(actor=request.user, contact_id=contact_id, data=data, expected=expected)


@router.delete("/contacts/{contact_id}", response={204: None})
def contact_delete(request, contact_id: int):
    services.contact_delete(actor=request.user, contact_id=contact_id)
    return Status(204, None)


@router.post("/contacts/{contact_id}/reveal", response=RevealOut, summary="See one confidential value in clear (audited)")
def contact_reveal(request, contact_id: int, payload: RevealIn | None = None):
    field = payload.field if payload else "mobile"
    return {"field": field, "value": services.contact_reveal(actor=request.user, contact_id=contact_id, field=field)}


@router.get("/contacts/{contact_id}/export", summary="Data-subject export of a contact (PIPL)")
def contact_subject_export(request, contact_id: int):
    return services.subject_export(actor=request.user, contact_id=contact_id)


@router.post("/contacts/{contact_id}/erase", response={204: None}, summary="Erase a contact's personal data (PIPL)")
def contact_subject_erase(request, contact_id: int):
    services.subject_erase(actor=request.user, contact_id=contact_id)
    return Status(204, None)


@router.get("/customers/{customer_id}/consents", response=ConsentPage)
def consent_list(request, customer_id: int, limit: int | None = None, cursor: str | None = None):
    page = selectors.consent_list(actor=request.user, customer_id=customer_id, limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}


@router.post("/customers/{customer_id}/consents", response={201: ConsentOut})
def consent_create(request, customer_id: int, payload: ConsentIn):
    return Status(201, services.consent_create(actor=request.user, customer_id=customer_id, data=payload.dict()))


@router.post("/consents/{consent_id}/withdraw", response=ConsentOut)
def consent_withdraw(request, consent_id: int):
    return services.consent_withdraw(actor=request.user, consent_id=consent_id)


@router.get("/customers/{customer_id}/history", response=ChangePage)
def history_list(request, customer_id: int, limit: int | None = None, cursor: str | None = None):
    page = selectors.history_list(actor=request.user, customer_id=customer_id, limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}


@router.get("/tags", response=list[TagOut])
def tag_list(request):
    return [tag_out(t) for t in selectors.tag_list(actor=request.user)]


@router.post("/tags", response={201: TagOut})
def tag_create(request, payload: TagIn):
    return Status(201, tag_out(services.tag_create(actor=request.user, category=payload.category, name=payload.name)))


@router.get("/custom-fields", response=list[CustomFieldOut])
def custom_field_list(request):
    return list(selectors.custom_field_list(actor=request.user))


@router.post("/custom-fields", response={201: CustomFieldOut})
def custom_field_create(request, payload: CustomFieldIn):
    return Status(201, services.custom_field_define(actor=request.user, **payload.dict()))


# ---------------------------------------------------------------- duplicates and merges
# A merged-away customer's id keeps resolving: GET /customers/{loser_id} answers 307 Temporary
# Redirect to the survivor (Location header + {"merged_into": id} body). Temporary, because an undo
# within KEHU_MERGE_UNDO_DAYS brings the old record back.



def _customer_get_or_redirect(request, customer_id: int):
    try:
        return customer_out(selectors.customer_detail(actor=request.user, customer_id=customer_id))
    except NotFound:
        try:  # assigned to work on it (inspector, complaint agent …): masked, read-only, audited
            customer = services.customer_open_assigned(actor=request.user, customer_id=customer_id)
        except NotFound:
            pass
        else:
            return {**customer_out(customer), "read_only": True}
        target = selectors.customer_merged_into(actor=request.user, customer_id=customer_id)
        if target is None:
            raise
        response = JsonResponse({"merged_into": target}, status=307)
        response["Location"] = request.path.rsplit("/", 1)[0] + f"/{target}"
        return response


class DuplicateFilters(Schema):
    state: str | None = "open"
    customer: int | None = None
    min_score: int | None = None
    rule: str | None = None
    ordering: str = "-score"
    limit: int | None = None
    cursor: str | None = None


@router.get("/duplicates", response=CandidatePage, summary="Duplicate candidate pairs in my scope")
def duplicate_list(request, filters: Query[DuplicateFilters]):
    page = selectors.duplicate_list(actor=request.user, **filters.dict())
    return {"items": [candidate_out(d) for d in page.items], "next": page.next}


@router.post("/duplicates/scan", response={202: ScanOut}, summary="Start a duplicate scan (background job)")
def duplicate_scan(request):
    from kehu.customers.tasks import duplicate_scan_task

    services._require(request.user, Perm.CUSTOMER_MERGE)
    result = duplicate_scan_task(request.user.pk)
    return Status(202, {"job": str(getattr(result, "id", "")), "state": "queued"})


@router.get("/duplicates/{candidate_id}", response=CandidateOut)
def duplicate_get(request, candidate_id: int):
    return candidate_out(selectors.duplicate_get(actor=request.user, candidate_id=candidate_id))


@router.post("/duplicates/{candidate_id}/dismiss", response=CandidateOut, summary="Not a duplicate (remembered)")
def duplicate_dismiss(request, candidate_id: int):
    merge_services.duplicate_dismiss(actor=request.user, candidate_id=candidate_id)
    return candidate_out(selectors.duplicate_get(actor=request.user, candidate_id=candidate_id))


@router.post("/customers/{customer_id}/duplicates/check", response=list[CandidateOut],
             summary="Look for duplicates of this customer now")
def duplicate_check(request, customer_id: int):
    found = merge_services.duplicate_check(actor=request.user, customer_id=customer_id)
    ids = [d.pk for d in found]
    qs = selectors.duplicate_base(actor=request.user).filter(pk__in=ids).select_related(
        "customer_a__owner", "customer_a__department", "customer_b__owner", "customer_b__department", "decided_by")
    return [candidate_out(d) for d in qs.order_by("-score", "id")]


@router.post("/customers/{customer_id}/merge", response={201: MergeOut},
             summary="Merge another customer (the loser) into this one")
def customer_merge(request, customer_id: int, payload: MergeIn):
    record = merge_services.customer_merge(actor=request.user, survivor_id=customer_id, loser_id=payload.loser,
                                           choices=payload.choices)
    return Status(201, merge_out(selectors.merge_get(actor=request.user, merge_id=record.pk)))


@router.get("/merges", response=MergePage, summary="Merges into customers in my scope, newest first")
def merge_list(request, customer: int | None = None, limit: int | None = None, cursor: str | None = None):
    page = selectors.merge_list(actor=request.user, customer=customer, limit=limit, cursor=cursor)
    return {"items": [merge_out(m) for m in page.items], "next": page.next}


@router.get("/merges/{merge_id}", response=MergeOut)
def merge_get(request, merge_id: int):
    return merge_out(selectors.merge_get(actor=request.user, merge_id=merge_id))


@router.post("/merges/{merge_id}/undo", response=MergeOut, summary="Undo a merge (within KEHU_MERGE_UNDO_DAYS)")
def merge_undo(request, merge_id: int):
    merge_services.customer_merge_undo(actor=request.user, merge_id=merge_id)
    return merge_out(selectors.merge_get(actor=request.user, merge_id=merge_id))

