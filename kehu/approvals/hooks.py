"""How an app reacts to the outcome of an approval it asked for.

An app that asks for approval of its objects registers one handler per model, usually from its
``AppConfig.ready()``::

    from kehu.approvals.hooks import register_outcome_handler

    def on_approval_outcome(request, outcome):   # request: ApprovalRequest, outcome: str
        complaint = Complaint.objects.select_for_update().get(pk=request.object_id)
        ...

    register_outcome_handler("service_desk.complaint", on_approval_outcome)

The label is the model's ``_meta.label_lower`` (``app_label.model``). The engine calls the handler
inside the transaction of the decision, after the request's new status is saved, with ``outcome``
one of ``"approved"``, ``"rejected"``, ``"returned"`` (sent back to the requester for changes; a
resubmission starts the chain again) or ``"cancelled"`` (withdrawn by the requester). Because it is
the same transaction, a handler that raises (e.g. a Conflict: the object moved on meanwhile) undoes
the decision too, and the approver sees the error. ``request.chain.code`` tells which chain decided
and ``request.payload`` carries what the app stored when asking (e.g. the requested days).
Handlers must not send e-mails or call out: use ``transaction.on_commit`` for that.
"""

from __future__ import annotations

from collections.abc import Callable

OUTCOMES = ("approved", "rejected", "returned", "cancelled")

_handlers: dict[str, list[Callable]] = {}


def register_outcome_handler(content_type_label: str, fn: Callable) -> None:
    """Call ``fn(request, outcome)`` for outcomes of requests about objects of this model. Registering
    the same function twice is a no-op."""
    handlers = _handlers.setdefault(content_type_label.lower(), [])
    if fn not in handlers:
        handlers.append(fn)


def unregister_outcome_handler(content_type_label: str, fn: Callable) -> None:
    handlers = _handlers.get(content_type_label.lower(), [])
    if fn in handlers:
        handlers.remove(fn)


def dispatch_outcome(request, outcome: str) -> None:
    """Run the handlers registered for the request's target model (called by the services only)."""
    for fn in list(_handlers.get(request.target_label, ())):
        fn(request, outcome)
