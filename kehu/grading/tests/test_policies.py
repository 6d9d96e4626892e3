"""Policies as data: versions, one active version per name (a database constraint), YAML round trip,
validation by the kind, and who may manage them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.grading import policies, services
from kehu.grading.kinds import threshold
from kehu.grading.models import GradingPolicy, PolicyState

POLYOLEFIN = "聚烯烃提货量分级"


def make(org, **kw):
    data = {"name": POLYOLEFIN, "kind": "threshold", "config": threshold.DEFAULT_CONFIG}
    data.update(kw)
    return services.policy_create(actor=org.admin, **data)


def test_new_policy_is_a_draft_version_one_and_audited(org):
    policy = make(org)
    assert (policy.version, policy.state) == (1, PolicyState.DRAFT)
    assert AuditEntry.objects.filter(action="grading.policy.create", object_id=str(policy.pk)).exists()


def test_saving_the_same_name_again_makes_the_next_version(org):
    make(org)
    assert make(org).version == 2


def test_activation_retires_the_previous_active_version(org):
    v1 = make(org)
    services.policy_activate(actor=org.admin, policy_id=v1.pk)
    v2 = make(org)
    services.policy_activate(actor=org.executive, policy_id=v2.pk)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.state, v2.state) == (PolicyState.RETIRED, PolicyState.ACTIVE)
    assert v2.active_from is not None


def test_database_refuses_two_active_versions_of_one_policy(org):
    v1 = make(org)
    v2 = make(org)
    GradingPolicy.objects.filter(pk=v1.pk).update(state=PolicyState.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        GradingPolicy.objects.filter(pk=v2.pk).update(state=PolicyState.ACTIVE)


def test_only_a_draft_can_be_edited_or_activated(org):
    policy = make(org)
    services.policy_activate(actor=org.admin, policy_id=policy.pk)
    with pytest.raises(Conflict):
        services.policy_update(actor=org.admin, policy_id=policy.pk, name=POLYOLEFIN, kind="threshold",
                               config=threshold.DEFAULT_CONFIG)
    with pytest.raises(Conflict):
        services.policy_activate(actor=org.admin, policy_id=policy.pk)


def test_config_is_validated_by_its_kind_with_field_names(org):
    with pytest.raises(Invalid) as exc:
        make(org, config={**threshold.DEFAULT_CONFIG, "tiers": [{"grade": "A", "min": 10}, {"grade": "B", "min": 1}]})
    assert "config.tiers.1.min" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        make(org, kind="astrology")
    assert "kind" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        make(org, name="  ")
    assert "name" in exc.value.fields


@pytest.mark.parametrize("role", ["manager", "rep", "agent", "finance", "analyst", "auditor"])
def test_only_admin_and_executive_manage_grading_policies(org, role):
    with pytest.raises(Forbidden):
        services.policy_create(actor=getattr(org, role), name="x", kind="threshold", config=threshold.DEFAULT_CONFIG)


def test_yaml_export_and_import_round_trip(org):
    policy = make(org, description="化工品客户管理办法 第九条")
    text = policies.policy_to_yaml(policy)
    assert "一星" in text  # unicode kept readable
    copy = services.policy_import_yaml(actor=org.admin, text=text)
    assert (copy.name, copy.kind, copy.config, copy.version, copy.state) == (
        policy.name, policy.kind, policy.config, 2, PolicyState.DRAFT)


@pytest.mark.parametrize(("text", "message_field"), [
    ("name: [unclosed", "yaml"),
    ("- just\n- a list\n", "yaml"),
    ("name: x\nkind: threshold\nconfig: {}\nsurprise: 1\n", "yaml"),
    ("name: x\nkind: threshold\nconfig: {metric: nope}\n", "config.metric"),
    ("!!python/object/apply:os.system ['true']", "yaml"),
])
def test_bad_yaml_is_refused_with_a_clear_message(org, text, message_field):
    with pytest.raises(Invalid) as exc:
        services.policy_import_yaml(actor=org.admin, text=text)
    assert message_field in exc.value.fields
