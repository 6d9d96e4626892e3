"""Complaints flagged breached although the customer was answered in time: the old sweep kept the SLA
clock running until "closed", so a complaint waiting for its return visit was marked breached and
escalated. The clock stops at the answer (kehu.service_desk.sla); these flags are cleared, each
correction recorded as a complaint event and an audit entry (the audit log is append-only: we add).
Answered complaints also get their follow-up deadline (return visit and summary)."""

from django.db import migrations

FOLLOWUP_STATES = ["answered", "return_visited", "evaluated"]


def correct_breached_answered_in_time(apps, schema_editor):
    from django.db.models import F
    from django.utils import timezone

    from kehu.audit.services import audit_record

    Complaint = apps.get_model("service_desk", "Complaint")
    ComplaintEvent = apps.get_model("service_desk", "ComplaintEvent")
    now = timezone.now()
    rows = (Complaint.objects.filter(breached_at__isnull=False, answered_at__isnull=False,
                                     answered_at__lte=F("due_at")).order_by("id"))
    for c in rows.iterator():
        before = {"breached_at": c.breached_at.isoformat(), "escalation_level": c.escalation_level}
        Complaint.objects.filter(pk=c.pk).update(breached_at=None, escalation_level=0)
        ComplaintEvent.objects.create(complaint_id=c.pk, at=now, actor=None, actor_name="system",
                                      action="breach_corrected", from_state=c.state, to_state=c.state,
                                      note="answered in time; the SLA clock stops at the answer")
        audit_record(actor=None, action="complaint.breach_corrected", object_type="service_desk.complaint",
                     object_id=str(c.pk), object_repr=f"{c.tracking_no} {c.subject}"[:200],
                     changes={"breached_at": [before["breached_at"], None],
                              "escalation_level": [before["escalation_level"], 0],
                              "reason": "answered in time (answered_at <= due_at)"})
    pending = Complaint.objects.filter(state__in=FOLLOWUP_STATES, answered_at__isnull=False,
                                       followup_due_at__isnull=True)
    if pending.exists():
        from kehu.service_desk.sla import followup_due_for

        for c in pending.iterator():
            Complaint.objects.filter(pk=c.pk).update(followup_due_at=followup_due_for(c.answered_at))


class Migration(migrations.Migration):

    dependencies = [
        ("service_desk", "0003_complaint_followup_deadline"),
        ("audit", "0002_append_only"),
        ("workdays", "0002_seed_statutory_schedule"),
    ]

    operations = [
        migrations.RunPython(correct_breached_answered_in_time, migrations.RunPython.noop),
    ]
