"""The survey tests' world (kehu/surveys/tests/conftest.py) for the analysis and action tests."""

from kehu.surveys.tests.conftest import world  # noqa: F401
