"""The approval pages: my inbox (decide with htmx, row by row), one request's history, my
delegations. Parse → call a service/selector → render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.approvals import selectors, services
from kehu.approvals.forms import CommentForm, DecideForm, DelegationForm, MeetingForm
from kehu.approvals.models import Decision, RequestStatus, StepKind
from kehu.errors import DomainError
from kehu.notifications.selectors import notification_unread_count
from kehu.web import form_errors_from, is_htmx, page

DECIDED_MESSAGES = {
    Decision.APPROVE: gettext_lazy("Approved."),
    Decision.REJECT: gettext_lazy("Rejected."),
    Decision.RETURN: gettext_lazy("Returned to the requester."),
}


@page
@require_GET
def inbox(request):
    tasks = selectors.inbox_list(actor=request.user, cursor=request.GET.get("cursor") or None)
    mine = selectors.request_list_mine(actor=request.user, limit=20)
    for task in tasks.items:
        task.form = DecideForm(prefix=f"t{task.pk}")
    return render(request, "approvals/inbox.html", {"tasks": tasks.items, "next": tasks.next, "mine": mine.items})


@page
@require_GET
def badges(request):
    """The header's two counts (approvals waiting for me, unread notifications), as out-of-band swaps."""
    return render(request, "approvals/_badges.html", {"pending": selectors.inbox_count(actor=request.user),
                                                      "unread": notification_unread_count(actor=request.user)})


@page
@require_GET
def request_detail(request, request_id: int):
    return _render_detail(request, request_id)


def _render_detail(request, request_id: int, *, decide_form=None, comment_form=None, meeting_form=None,
                   status: int = 200):
    req = selectors.request_get(actor=request.user, request_id=request_id)
    tasks = list(req.tasks.all())
    steps = list(req.chain.steps.all())
    current = next((s for s in steps if s.order == req.current_step), None)
    in_meeting = current is not None and current.kind == StepKind.MEETING and req.status == RequestStatus.PENDING
    my_task = None if in_meeting else next(
        (t for t in tasks if t.assignee_id == request.user.pk and t.status == "pending" and t.round == req.round
         and t.step_order == req.current_step and req.status == RequestStatus.PENDING), None)
    can_record = in_meeting and services.can_record_meeting(request.user, req, current)
    is_requester = req.requester_id == request.user.pk
    return render(request, "approvals/request.html", {
        "req": req, "tasks": tasks, "events": list(req.events.all()), "steps": steps,
        "meetings": list(req.meetings.all()), "in_meeting": in_meeting, "current_step": current,
        "meeting_form": (meeting_form or MeetingForm(initial={"held_on": timezone.localdate()})) if can_record else None,
        "my_task": my_task, "decide_form": decide_form or (DecideForm() if my_task else None),
        "can_resubmit": is_requester and req.status == RequestStatus.RETURNED,
        "can_cancel": is_requester and req.is_open,
        "comment_form": comment_form or CommentForm(),
    }, status=status)


@page
@require_POST
def request_decide(request, request_id: int):
    """From the inbox (htmx, the row is replaced) or the request page (a full post)."""
    prefix = request.POST.get("prefix") or None
    form = DecideForm(request.POST, prefix=prefix)
    status, error = 400, None
    if form.is_valid():
        try:
            services.approval_decide(actor=request.user, request_id=request_id,
                                     decision=form.cleaned_data["decision"], comment=form.cleaned_data["comment"])
        except DomainError as exc:
            if exc.status == 404:
                raise
            status, error = exc.status, exc
            form_errors_from(form, exc)
        else:
            done = DECIDED_MESSAGES[form.cleaned_data["decision"]]
            if is_htmx(request):
                response = render(request, "approvals/_task_done.html", {"message": done})
                response["HX-Trigger"] = "approvals-changed"
                return response
            messages.success(request, done)
            return redirect("approvals:request", request_id=request_id)
    if is_htmx(request):
        task = selectors.inbox_base(actor=request.user).select_related(
            "request", "request__requester", "request__chain", "delegated_from", "step").filter(
            request_id=request_id).first()
        if task is None:  # nothing left to decide here (e.g. someone else decided first)
            return render(request, "approvals/_task_done.html",
                          {"message": error.message if error else _("Nothing to decide."), "error": True},
                          status=status)
        return render(request, "approvals/_task_row.html", {"t": task, "form": form}, status=status)
    return _render_detail(request, request_id, decide_form=form, status=status)


@page
@require_POST
def request_meeting(request, request_id: int):
    """Record the managers' meeting that decides the current step (its recorder)."""
    form = MeetingForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, request_id, meeting_form=form, status=400)
    data = form.cleaned_data
    try:
        services.approval_meeting_record(actor=request.user, request_id=request_id, held_on=data["held_on"],
                                         participants=[u.pk for u in data["participants"]],
                                         minutes=data["minutes"], decision=data["decision"])
    except DomainError as exc:
        if exc.status == 404:
            raise
        form_errors_from(form, exc)
        return _render_detail(request, request_id, meeting_form=form, status=exc.status)
    messages.success(request, _("The meeting's decision is recorded."))
    return redirect("approvals:request", request_id=request_id)


def _requester_action(request, request_id: int, fn, done: str) -> HttpResponse:
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, request_id, comment_form=form, status=400)
    try:
        fn(actor=request.user, request_id=request_id, comment=form.cleaned_data["comment"])
    except DomainError as exc:
        if exc.status == 404:
            raise
        form_errors_from(form, exc)
        return _render_detail(request, request_id, comment_form=form, status=exc.status)
    messages.success(request, done)
    return redirect("approvals:request", request_id=request_id)


@page
@require_POST
def request_resubmit(request, request_id: int):
    return _requester_action(request, request_id, services.approval_resubmit, _("Resubmitted."))


@page
@require_POST
def request_cancel(request, request_id: int):
    return _requester_action(request, request_id, services.approval_cancel, _("Request cancelled."))


@page
@require_http_methods(["GET", "POST"])
def delegations(request):
    form = DelegationForm(request.POST or None, actor=request.user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.delegation_set(actor=request.user, delegate_id=data["delegate"].pk,
                                        starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"])
            except DomainError as exc:
                status = exc.status
                form_errors_from(form, exc, field_map={"ends_at": "ends_at"})
            else:
                messages.success(request, _("Delegation set: %(who)s approves for you until %(until)s.")
                                 % {"who": data["delegate"],
                                    "until": f"{timezone.localtime(data['ends_at']):%Y-%m-%d %H:%M}"})
                return redirect("approvals:delegations")
    items = list(selectors.delegation_list(actor=request.user)[:100])
    return render(request, "approvals/delegations.html",
                  {"form": form, "items": items, "now": timezone.now()}, status=status)


@page
@require_POST
def delegation_end(request, delegation_id: int):
    services.delegation_end(actor=request.user, delegation_id=delegation_id)
    messages.success(request, _("Delegation ended."))
    return redirect("approvals:delegations")
