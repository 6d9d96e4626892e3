"""The organisation (one user per role) built once per test module (users cost a password hash each); each test
runs in its own savepoint inside the module's transaction."""

from __future__ import annotations

import pytest

from kehu.customers.tests.factories import build_org, module_data

shared_org = module_data("shared_org", build_org)


@pytest.fixture
def org(shared_org, db):
    return shared_org
