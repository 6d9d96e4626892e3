"""The audit viewer speaks to people (issue 9): a translated label for every action code, a select of
known actions instead of typed codes, the actor found by name, a date range, people's names shown."""

from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from kehu.audit.labels import ACTION_LABELS, action_choices, action_label
from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import BASIS

KEHU = pathlib.Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"""action\s*=\s*["']([a-z_]+(?:\.[a-z_]+)+)["']|["']([a-z_]+(?:\.[a-z_]+)+)["']\s+if\s""")
MAPPED = re.compile(r"""JobState\.[A-Z_]+:\s*["']([a-z_]+\.[a-z_]+)["']""")


def _codes_in_source() -> set[str]:
    from kehu.approvals.models import Decision
    from kehu.service_desk import workflow
    from kehu.service_desk.inspections.models import VisitState
    from kehu.service_desk.tickets import workflow as ticket_workflow

    codes: set[str] = set()
    for path in KEHU.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "audit_record(" not in text:
            continue
        for match in LITERAL.finditer(text):
            codes.add(match.group(1) or match.group(2))
        codes.update(MAPPED.findall(text))
    # The codes built from a workflow's actions (f"complaint.{action}", …).
    codes.update(f"complaint.{a}" for a in workflow.USER_ACTIONS)
    codes.update(f"ticket.{a}" for a in ticket_workflow.ACTIONS)
    codes.update(f"inspection.visit_{s}" for s in (VisitState.CANCELLED, VisitState.MISSED))
    codes.update(f"approval.{d}" for d in Decision.values)
    return {c for c in codes if not c.startswith(("customers.", "access.", "approvals."))}  # object types


def test_every_audit_action_in_the_code_has_a_human_label():
    missing = sorted(_codes_in_source() - set(ACTION_LABELS))
    assert not missing, f"give these audit actions a label in kehu/audit/labels.py: {missing}"


def test_an_action_label_is_the_human_name_and_an_unknown_code_shows_as_it_is():
    with translation.override("en"):
        assert action_label("review_item.resolve") == "Review item resolved"
        assert action_label("approval.meeting_record") == "Managers' meeting decision recorded"
    assert action_label("someapp.something_new") == "someapp.something_new"
    assert ("contact.reveal", str(ACTION_LABELS["contact.reveal"])) in action_choices()


def test_action_labels_are_chinese_in_the_chinese_ui():
    with translation.override("zh-hans"):
        assert action_label("review_item.resolve") == "复核事项处理"


@pytest.fixture
def revealed(org):
    from kehu.customers import services

    customer = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司", "city": "杭州市"})
    contact = services.contact_create(actor=org.rep, customer_id=customer.pk,
                                      data={"name": "王强", "mobile": "13812345678", "basis": BASIS})
    services.contact_reveal(actor=org.manager, contact_id=contact.pk)
    return contact


def test_the_viewer_shows_labels_and_peoples_names_not_codes_or_login_names(client, org, revealed,
                                                                            django_assert_max_num_queries):
    client.force_login(org.auditor)
    with django_assert_max_num_queries(7):  # 7th: the count of unsealed entries (partial index)
        r = client.get(reverse("audit:list"))
    body = r.content.decode()
    table = body[body.index('data-testid="audit-table"'):]
    with translation.override("zh-hans"):
        label = escape(action_label("contact.reveal"))
    assert label in table and "李经理" in table and "张伟" in table
    assert ">manager<" not in table and ">rep<" not in table
    assert '<select name="action"' in body and 'value="contact.reveal"' in body


def test_the_viewer_filters_by_a_chosen_action_a_persons_name_and_a_date_range(client, org, revealed):
    client.force_login(org.auditor)
    r = client.get(reverse("audit:list"), {"action": "contact.reveal"})
    assert [row["entry"].action for row in r.context["entries"]] == ["contact.reveal"]
    r = client.get(reverse("audit:list"), {"action": "not.a_known_code"})
    assert r.context["form"].errors.get("action")  # a select: only known actions
    r = client.get(reverse("audit:list"), {"actor": "张伟"})
    assert {row["entry"].action for row in r.context["entries"]} == {"customer.create", "contact.create", "consent.create"}  # the basis is a consent record
    today = timezone.localdate()
    r = client.get(reverse("audit:list"), {"actor": "李经理", "date_from": today.isoformat(),
                                           "date_to": today.isoformat()})
    assert [row["entry"].action for row in r.context["entries"]] == ["contact.reveal"]
    r = client.get(reverse("audit:list"), {"date_to": (today - dt.timedelta(days=1)).isoformat()})
    assert r.context["entries"] == []
    r = client.get(reverse("audit:list"), {"date_from": today.isoformat(),
                                           "date_to": (today - dt.timedelta(days=1)).isoformat()})
    assert r.context["form"].errors.get("date_to")


def test_the_audit_api_gives_labels_names_and_a_date_range(api_client, org, revealed):
    r = api_client.as_user(org.auditor).get("/audit", {"actor_name": "李经理"})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["action"], i["actor_display"]) for i in items] == [("contact.reveal", "李经理")]
    assert items[0]["action_label"] == action_label("contact.reveal")
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert api_client.as_user(org.auditor).get("/audit", {"date_from": tomorrow}).json()["items"] == []
    assert api_client.as_user(org.rep).get("/audit").status_code == 403
    assert AuditEntry.objects.filter(action="contact.reveal").count() == 1


def test_the_viewer_shows_recorded_changes_with_labels_and_peoples_names(client, org):
    """Changes read 状态 / 首问责任人 with people's names, and sweeps are done by 系统, not "system" (issue 8/9)."""
    from kehu.audit.services import audit_record

    audit_record(actor=None, action="complaint.escalate", obj=org.rep,
                 changes={"level": [0, 1], "to": [org.manager.username]})
    audit_record(actor=org.manager, action="complaint.reassign", obj=org.rep,
                 changes={"accountable": [org.rep.username, org.rep2.username], "reason": "休假", "on_duty": True,
                          "role": ["account_manager", "manager"]})
    client.force_login(org.auditor)
    with translation.override("zh-hans"):
        body = client.get(reverse("audit:list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    table = body[body.index('data-testid="audit-table"'):]
    assert "李经理" in table and "张伟" in table
    assert f">{org.rep.username}<" not in table and f"{org.rep.username} →" not in table
    assert ">accountable:<" not in table and ">level:<" not in table and ">to:<" not in table
    assert ">system<" not in table and "True" not in table
    assert "account_manager" not in table  # a coded field's value by its label (the model's choices)
