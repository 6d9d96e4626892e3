"""Tests here that need committed data seen by several threads run in a transactional database; they
request the root conftest's audit_triggers_lifted_at_teardown so its flush is allowed and the seeded
rows are put back (see conftest.py at the project root)."""
