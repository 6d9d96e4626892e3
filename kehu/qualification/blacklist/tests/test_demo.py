"""The demo loads one blacklisted customer with its evidence and one flagged look-alike, and last quarter's
assessment run, through the real services."""

from __future__ import annotations

import random

import pytest

from kehu.qualification.assessments.models import AssessmentRun
from kehu.qualification.blacklist.models import BlacklistEntry, ScreeningHit

pytestmark = pytest.mark.django_db


def test_demo_blacklists_one_customer_with_evidence_and_runs_last_quarter(org, settings, tmp_path):
    from kehu.qualification.assessments.demo import demo_load as assessments_demo
    from kehu.qualification.blacklist.demo import demo_load as blacklist_demo

    settings.VAR_DIR = tmp_path
    summary = blacklist_demo(users=org.users, rng=random.Random(34))
    entry = BlacklistEntry.objects.get()
    assert entry.customer_name == "杭州鑫源化工有限公司" and entry.phones.count() == 1
    assert entry.disqualification.evidence.count() == 1
    assert ScreeningHit.objects.filter(matched_on="name").count() == 1
    assert "1 blacklisted" in summary
    assessments_demo(users=org.users, rng=random.Random(35))
    run = AssessmentRun.objects.get()
    assert run.state == "final" and run.period_kind == "quarter"
