"""Human labels (translated) for the audit log's action codes, e.g. ``review_item.resolve`` → 复核事项处理.

Every code an app passes to ``audit_record`` has a label here; ``tests`` in this app scan the source
for codes and fail on one without a label, so a new action is named where it is added. Other apps
(timelines, the workbench) show an action with ``action_label(code)``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    # access
    "user.create": _("User created"),
    "user.locked": _("Account locked after failed logins"),
    "user.password_change": _("Password changed"),
    "user.password_reset": _("Password reset by an administrator"),
    "user.deactivate": _("User deactivated (sessions and API tokens ended)"),
    "user.reactivate": _("User reactivated"),
    "department.create": _("Department created"),
    "token.create": _("API token created"),
    "token.revoke": _("API token revoked"),
    "keys.rotate": _("Encryption keys rotated"),
    "maintenance.test": _("Maintenance test entry"),
    # customers
    "customer.create": _("Customer created"),
    "customer.update": _("Customer updated"),
    "customer.delete": _("Customer deleted"),
    "customer.reveal": _("Customer's sensitive fields revealed"),
    "customer.reassign": _("Customer reassigned"),
    "customer.merge": _("Customers merged"),
    "customer.merge_undo": _("Customer merge undone"),
    "customer.erase": _("Customer's personal data erased"),
    "customer.subject_export": _("Customer's personal data exported (data-subject request)"),
    "customer.export": _("Customer list exported"),
    "customer.export_reveal": _("Customer list exported with sensitive fields"),
    "customer.restore": _("Deleted customer restored"),
    "customer.assigned_access": _("Customer opened by an assigned worker (outside their scope)"),
    "contact.create": _("Contact created"),
    "contact.update": _("Contact updated"),
    "contact.delete": _("Contact deleted"),
    "contact.reveal": _("Contact's sensitive fields revealed"),
    "contact.erase": _("Contact's personal data erased"),
    "contact.subject_export": _("Contact's personal data exported (data-subject request)"),
    "consent.create": _("Consent recorded"),
    "consent.withdraw": _("Consent withdrawn"),
    "tag.create": _("Tag created"),
    "customfield.create": _("Custom field created"),
    "duplicate.check": _("Duplicate check"),
    "duplicate.scan": _("Duplicate scan"),
    "duplicate.dismiss": _("Possible duplicate dismissed"),
    "review_run.start": _("Periodic review started"),
    "review_item.resolve": _("Review item resolved"),
    # imports
    "import.upload": _("Import file uploaded"),
    "import.validate": _("Import checked (dry run)"),
    "import.commit": _("Import started"),
    "import.resume": _("Import resumed"),
    "import.done": _("Import finished"),
    "import.failed": _("Import failed"),
    "import.cancel": _("Import cancelled"),
    "import.cancel_request": _("Import cancellation requested"),
    "import.interrupted": _("Import interrupted"),
    "import.rollback": _("Import rolled back"),
    "import.errors_reveal": _("Import error report downloaded in clear"),
    "import.file_deleted": _("Import file deleted"),
    "import_mapping.save": _("Import column mapping saved"),
    "import_mapping.delete": _("Import column mapping deleted"),
    # approvals
    "approval.request": _("Approval requested"),
    "approval.approve": _("Approved"),
    "approval.reject": _("Rejected"),
    "approval.return": _("Returned for changes"),
    "approval.resubmit": _("Approval resubmitted"),
    "approval.cancel": _("Approval request cancelled"),
    "approval.remind": _("Approval reminder sent"),
    "approval.meeting_record": _("Managers' meeting decision recorded"),
    "approval_chain.create": _("Approval chain created"),
    "approval_chain.update": _("Approval chain changed"),
    "delegation.set": _("Approval delegation set"),
    "delegation.end": _("Approval delegation ended"),
    # complaints
    "complaint.record": _("Complaint recorded"),
    "complaint.judge": _("Complaint judged"),
    "complaint.investigate": _("Complaint investigation started"),
    "complaint.assign": _("Complaint assigned for handling"),
    "complaint.propose": _("Complaint solution proposed"),
    "complaint.answer": _("Complaint answered to the customer"),
    "complaint.return_visit": _("Complaint return visit"),
    "complaint.evaluate": _("Complaint evaluated"),
    "complaint.close": _("Complaint closed"),
    "complaint.reassign": _("Complaint reassigned"),
    "complaint.escalate": _("Complaint escalated (deadline passed)"),
    "complaint.extension_request": _("Complaint deadline extension requested"),
    "complaint.followup_remind": _("Complaint return visit reminded"),
    "complaint.link_customer": _("Complaint linked to a customer"),
    # service requests and emergencies
    "ticket.record": _("Service request recorded"),
    "ticket.assign": _("Service request assigned"),
    "ticket.accept": _("Service request accepted"),
    "ticket.start": _("Service request work started"),
    "ticket.resolve": _("Service request resolved"),
    "ticket.reopen": _("Service request reopened"),
    "ticket.inform": _("Customer informed of the result"),
    "ticket.close": _("Service request closed"),
    "ticket.cancel": _("Service request cancelled"),
    "ticket.escalate": _("Service request escalated (deadline passed)"),
    "ticket.emergency_alert": _("Emergency alert sent"),
    "ticket.duty_create": _("Duty roster entry created"),
    "ticket.duty_delete": _("Duty roster entry deleted"),
    # inspections
    "inspection.checklist_create": _("Inspection checklist created"),
    "inspection.checklist_update": _("Inspection checklist changed"),
    "inspection.plan_create": _("Inspection plan created"),
    "inspection.plan_update": _("Inspection plan changed"),
    "inspection.plan_deactivate": _("Inspection plan deactivated"),
    "inspection.visit_generate": _("Inspections scheduled"),
    "inspection.visit_report": _("Inspection report filed"),
    "inspection.visit_overdue": _("Inspection overdue"),
    "inspection.visit_missed": _("Inspection missed"),
    "inspection.visit_cancelled": _("Inspection cancelled"),
    # working days
    "workdays.seed": _("Statutory holiday schedule loaded"),
    "workdays.day_create": _("Calendar day added"),
    "workdays.day_update": _("Calendar day changed"),
    "workdays.day_delete": _("Calendar day removed"),
    # orders
    "order.create": _("Order entered"),
    "order.hold": _("Order held for a payment-terms exception"),
    "order.hold_rejected": _("Held order rejected"),
    "order.hold_cancelled": _("Held order cancelled"),
    "order.import": _("Orders imported"),
    "payment.record": _("Payment recorded"),
    "payment.paid": _("Payment marked as received"),
    "payment.import": _("Payments imported"),
    "order_import.upload": _("Order / payment import file uploaded"),
    "order_import.commit": _("Order / payment import started"),
    "payment_terms.set": _("Payment terms set"),
    # grading
    "grading.policy.create": _("Grading policy created"),
    "grading.policy.update": _("Grading policy updated"),
    "grading.policy.activate": _("Grading policy activated"),
    "grading.policy.retire": _("Grading policy retired"),
    "grading.policy.schedule": _("Grading policy scheduled to take effect"),
    "grading.policy.unschedule": _("Grading policy schedule cancelled"),
    "grading.run.start": _("Grading run started"),
    "grading.run.finish": _("Grading run finished"),
    "grading.service_policy.set": _("Service policy of a grade set"),
    "grading.service_policy.delete": _("Service policy of a grade deleted"),
    "grading.override.apply": _("Grade override applied"),
    "grading.override.renew": _("Grade override renewed through the next review"),
    "grading.hand_score.set": _("Hand score of a customer set"),
    # resource allocation
    "allocation.plan.create": _("Monthly plan entered"),
    "allocation.plan.update": _("Monthly plan changed"),
    "allocation.plan.delete": _("Monthly plan withdrawn"),
    "allocation.plan.import": _("Monthly plans imported"),
    "allocation.round.create": _("Allocation round created"),
    "allocation.round.update": _("Allocation round changed"),
    "allocation.round.delete": _("Allocation round deleted"),
    "allocation.round.compute": _("Allocation computed (preview)"),
    "allocation.round.confirm": _("Allocation confirmed"),
    # customer symposia (客户座谈会)
    "symposium.create": _("Symposium planned"),
    "symposium.update": _("Symposium plan changed"),
    "symposium.invite": _("Symposium invitations sent"),
    "symposium.invitation.answer": _("Symposium invitation answered"),
    "symposium.hold": _("Symposium attendance recorded"),
    "symposium.minutes": _("Symposium minutes written"),
    "symposium.close": _("Symposium closed"),
    "symposium.cancel": _("Symposium cancelled"),
    "symposium.item.create": _("Symposium follow-up item added"),
    "symposium.item.close": _("Symposium follow-up item closed"),
    # customer care (客户关怀) and the calendar feed
    "care.reminders.generate": _("Care reminders made"),
    "care.notice.create": _("New-product notice sent"),
    "care.reminder.done": _("Care reminder done"),
    "care.reminder.skip": _("Care reminder skipped"),
    "care.profile.set": _("Care profile changed"),
    "care.calendar_token.rotate": _("Calendar feed address created"),
    "care.calendar_token.revoke": _("Calendar feed address revoked"),
    # visit plans and reports (客户走访)
    "visit_plan.generate": _("Annual visit plan generated"),
    "visit_plan.submit": _("Annual visit plan submitted"),
    "visit_plan.approve": _("Annual visit plan approved"),
    "visit_plan.return": _("Annual visit plan returned to draft"),
    "visit.add": _("Visit added to a plan"),
    "visit.move": _("Visit moved"),
    "visit.cancel": _("Visit cancelled"),
    "visit.authorise": _("Return visit authorised"),
    "visit.done_by_followup": _("Visit done (recorded as a follow-up)"),
    "visit_report.file": _("Visit report filed"),
    "suggestion.answer": _("Customer suggestion answered"),
    "suggestion.close": _("Customer suggestion closed"),
    "executive_visit.create": _("Executive visit planned"),
    "executive_visit.update": _("Executive visit changed"),
    "executive_visit.outcome": _("Executive visit outcome recorded"),
    "executive_visit.cancel": _("Executive visit cancelled"),
    # the skeleton's one status-change service (kehu/qualification/status.py; the admission branch may add the
    # same label: keep one on merge)
    "customer.status_changed": _("Customer status changed"),
    # disqualification and the blacklist (取消客户资格 / 黑名单)
    "disqualification.request": _("Disqualification requested"),
    "disqualification.evidence_add": _("Disqualification evidence added"),
    "disqualification.approved": _("Disqualification approved"),
    "disqualification.rejected": _("Disqualification rejected"),
    "disqualification.cancelled": _("Disqualification withdrawn"),
    "blacklist.add": _("Customer blacklisted"),
    "blacklist.lift_request": _("Lifting of a blacklisting requested"),
    "blacklist.lift": _("Blacklisting lifted"),
    "blacklist.flag": _("Registration flagged as resembling a blacklisted customer"),
    "blacklist.hit_review": _("Blacklist match reviewed"),
    # customer assessments (客户考评)
    "assessment.run": _("Customer assessment computed"),
    "assessment.cooperation": _("Cooperation scored"),
    "assessment.finalize": _("Customer assessment finalised"),
    "assessment.terms_propose": _("Payment terms change proposed"),
    "assessment.terms_applied": _("Payment terms change applied"),
    # follow-ups (跟进记录)
    "interaction.create": _("Follow-up recorded"),
    "interaction.update": _("Follow-up corrected"),
    "interaction.next_step_done": _("Follow-up next step done"),
    "interaction.next_step_reopen": _("Follow-up next step reopened"),
    "interaction.attach": _("Follow-up attachment added"),
}


# The keys of an entry's recorded changes, for people ("state: a → b" reads 状态：a → b).
CHANGE_LABELS = {
    "state": _("State"),
    "status": _("Status"),
    "accountable": _("Accountable person"),
    "assignee": _("Assignee"),
    "user": _("User"),
    "delegate": _("Delegate"),
    "to": _("Notified"),
    "level": _("Escalation level"),
    "channel": _("Channel"),
    "reason": _("Reason"),
    "days": _("Working days"),
    "followup_due_at": _("Return visit due"),
    "rows": _("Rows"),
    "source": _("Source"),
    "request": _("Approval request"),
    "department": _("Department"),
    "dates": _("Dates"),
    "on_duty": _("On duty"),
}
# The keys whose values are login names: the viewer shows the person's name instead.
PERSON_KEYS = frozenset({"accountable", "assignee", "user", "delegate", "to", "owner"})


def change_label(key: str) -> str:
    """The translated label of a recorded change's key; an unknown key is shown as it is."""
    label = CHANGE_LABELS.get(key)
    return str(label) if label is not None else key


def action_label(code: str) -> str:
    """The translated label of an audit action code; an unknown code is shown as it is."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def action_choices() -> list[tuple[str, str]]:
    """(code, label) for a select of the known actions, grouped by what they act on (sorted by code)."""
    return [(code, str(ACTION_LABELS[code])) for code in sorted(ACTION_LABELS)]
