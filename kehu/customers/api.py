from __future__ import annotations

from ninja import Query, Router, Schema, Status

from kehu.customers import selectors, services
from kehu.customers.schemas import (
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
    RevealIn,
    RevealOut,
    TagIn,
    TagOut,
    customer_out,
    tag_out,
)

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
    ordering: str = "-updated_at"
    limit: int | None = None
    cursor: str | None = None


@router.get("/customers", response=CustomerPage, summary="List and search customers in my scope")
def customer_list(request, filters: Query[CustomerFilters]):
    page = selectors.customer_list(actor=request.user, **filters.dict())
    return {"items": [customer_out(c) for c in page.items], "next": page.next}


@router.post("/customers", response={201: CustomerOut}, summary="Register a customer")
def customer_create(request, payload: CustomerIn):
    customer = services.customer_create(actor=request.user, data=payload.dict())
    return Status(201, customer_out(selectors.customer_detail(actor=request.user, customer_id=customer.pk)))


@router.get("/customers/{customer_id}", response=CustomerOut)
def customer_get(request, customer_id: int):
    return customer_out(selectors.customer_detail(actor=request.user, customer_id=customer_id))


@router.patch("/customers/{customer_id}", response=CustomerOut)
def customer_update(request, customer_id: int, payload: CustomerPatch):
    services.customer_update(actor=request.user, customer_id=customer_id, data=payload.dict(exclude_unset=True))
    return customer_out(selectors.customer_detail(actor=request.user, customer_id=customer_id))


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


@router.get("/contacts/{contact_id}", response=ContactOut)
def contact_get(request, contact_id: int):
    return selectors.contact_get(actor=request.user, contact_id=contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut)
def contact_update(request, contact_id: int, payload: ContactPatch):
    return services.contact_update(actor=request.user, contact_id=contact_id, data=payload.dict(exclude_unset=True))


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
