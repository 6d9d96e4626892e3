from __future__ import annotations

from ninja import Query, Router, Status

from kehu.access.client_ip import client_ip
from kehu.concurrency.api_hooks import etag_from_version, idempotent, if_match_optional
from kehu.concurrency.versioning import expected_from_request
from kehu.service_desk import reports, selectors, services
from kehu.service_desk.schemas import (
    ActionIn,
    CandidateOut,
    CategoryTrendOut,
    CategoryTrendQuery,
    CauseReportOut,
    ComplaintIn,
    ComplaintOut,
    ComplaintPage,
    EventOut,
    ExtensionIn,
    HandlingReportOut,
    LinkCustomerIn,
    PublicComplaintIn,
    ReassignIn,
    RepeatReportOut,
    RepeatReportQuery,
    ReportRange,
    SlaReportOut,
    SlaReportQuery,
    TrackIn,
    TrackOut,
    complaint_out,
)

router = Router(tags=["complaints"])


@router.get("/complaints", response=ComplaintPage, summary="Complaints in my scope")
def complaint_list(request, state: str | None = None, severity: str | None = None, open_only: bool = False,
                   breached: bool | None = None, customer: int | None = None, ordering: str = "due_at",
                   limit: int | None = None, cursor: str | None = None):
    page = selectors.complaint_list(actor=request.user, state=state, severity=severity, open_only=open_only,
                                    breached=breached, customer=customer, ordering=ordering, limit=limit,
                                    cursor=cursor)
    return {"items": [complaint_out(c) for c in page.items], "next": page.next}


@router.post("/complaints", response={201: ComplaintOut}, summary="Record a complaint (I become accountable)")
def complaint_record(request, payload: ComplaintIn):
    c = services.complaint_record(actor=request.user, data=payload.dict())
    return Status(201, complaint_out(selectors.complaint_get(actor=request.user, complaint_id=c.pk)))


# The reports come before /complaints/{complaint_id} so that their paths are never read as an id.
@router.get("/complaints/reports/sla", response=SlaReportOut, summary="SLA compliance of complaints")
def complaint_report_sla(request, query: Query[SlaReportQuery]):
    return reports.complaint_report_sla(actor=request.user, date_from=query.date_from, date_to=query.date_to,
                                        group_by=query.group_by)


@router.get("/complaints/reports/causes", response=CauseReportOut, summary="Complaints per category (Pareto)")
def complaint_report_causes(request, query: Query[ReportRange]):
    return reports.complaint_report_causes(actor=request.user, date_from=query.date_from, date_to=query.date_to)


@router.get("/complaints/reports/categories", response=CategoryTrendOut,
            summary="Complaints per category or cause per month")
def complaint_report_categories(request, query: Query[CategoryTrendQuery]):
    return reports.complaint_report_categories(actor=request.user, date_from=query.date_from,
                                               date_to=query.date_to, by=query.by)


@router.get("/complaints/reports/repeat", response=RepeatReportOut, summary="Repeat complainers")
def complaint_report_repeat(request, query: Query[RepeatReportQuery]):
    return reports.complaint_report_repeat(actor=request.user, date_from=query.date_from, date_to=query.date_to,
                                           min_count=query.min_count)


@router.get("/complaints/reports/handling-time", response=HandlingReportOut,
            summary="Working days from receipt to answer, per severity")
def complaint_report_handling_time(request, query: Query[ReportRange]):
    return reports.complaint_report_handling_time(actor=request.user, date_from=query.date_from,
                                                  date_to=query.date_to)


@router.get("/complaints/{complaint_id}", response=ComplaintOut, description="ETag: W/\"<version>\".")
@etag_from_version
def complaint_get(request, complaint_id: int):
    return complaint_out(selectors.complaint_get(actor=request.user, complaint_id=complaint_id))


@router.get("/complaints/{complaint_id}/events", response=list[EventOut])
def complaint_events(request, complaint_id: int):
    return [{"at": e.at, "actor": e.actor_name, "action": e.action, "from_state": e.from_state,
             "to_state": e.to_state, "note": e.note}
            for e in selectors.complaint_events(actor=request.user, complaint_id=complaint_id)]


@router.post("/complaints/{complaint_id}/actions", response=ComplaintOut, summary="Take the next step")
@if_match_optional
def complaint_act(request, complaint_id: int, payload: ActionIn):
    data = payload.dict(exclude={"action", "expected_version"})
    c = services.complaint_act(actor=request.user, complaint_id=complaint_id, action=payload.action, data=data,
                               expected_version=expected_from_request(request, payload.expected_version,
                                                                      required=False))
    return complaint_out(selectors.complaint_get(actor=request.user, complaint_id=c.pk))


@router.get("/complaints/{complaint_id}/customer-candidates", response=list[CandidateOut],
            summary="Customers this complaint is probably about (USCC, mobile, name)")
def complaint_customer_candidates(request, complaint_id: int, q: str | None = None):
    return [{"customer_id": m["customer"].pk, "name": m["customer"].name, "owner": str(m["customer"].owner),
             "reason": m["reason"], "score": m["score"]}
            for m in selectors.complaint_customer_candidates(actor=request.user, complaint_id=complaint_id,
                                                             query=(q or "")[:100])]


@router.post("/complaints/{complaint_id}/customer", response=ComplaintOut,
             summary="Link (or re-link) the complaint to a customer; the customer's owner is told")
@if_match_optional
def complaint_link_customer(request, complaint_id: int, payload: LinkCustomerIn):
    expected = expected_from_request(request, payload.expected_version, required=False)
    c = services.complaint_link_customer(actor=request.user, complaint_id=complaint_id,
                                         customer_id=payload.customer_id, expected_version=expected)
    return complaint_out(selectors.complaint_get(actor=request.user, complaint_id=c.pk))


@router.post("/complaints/{complaint_id}/reassign", response=ComplaintOut)
def complaint_reassign(request, complaint_id: int, payload: ReassignIn):
    c = services.complaint_reassign(actor=request.user, complaint_id=complaint_id, user_id=payload.user,
                                    reason=payload.reason)
    return complaint_out(selectors.complaint_get(actor=request.user, complaint_id=c.pk))


@router.post("/complaints/{complaint_id}/extension", response={202: ComplaintOut},
             summary="Ask for a longer deadline (approval)")
@idempotent
def complaint_extension(request, complaint_id: int, payload: ExtensionIn):
    c = services.complaint_request_extension(actor=request.user, complaint_id=complaint_id, days=payload.days,
                                             reason=payload.reason)
    return Status(202, complaint_out(selectors.complaint_get(actor=request.user, complaint_id=c.pk)))


@router.post("/public/complaints", auth=None, response={201: TrackOut}, summary="File a complaint (no account)")
def public_complaint(request, payload: PublicComplaintIn):
    c = services.complaint_public_submit(data=payload.dict(), ip=client_ip(request))
    return Status(201, _track_out(c))


@router.post("/public/complaints/track", auth=None, response=TrackOut, summary="Follow a complaint",
             description="The tracking number and the complainant's phone number go in the body, never in "
                         "the URL (which lands in access logs). 404 when they do not match.")
def public_track(request, payload: TrackIn):
    return _track_out(selectors.complaint_track_or_404(tracking_no=payload.tracking_no, phone=payload.phone))


def _track_out(c) -> dict:
    return {"tracking_no": c.tracking_no, "state": c.state, "state_label": str(c.get_state_display()),
            "received_at": c.received_at, "due_at": c.due_at, "answered": c.answered_at is not None,
            "reply": c.reply if c.answered_at else ""}
