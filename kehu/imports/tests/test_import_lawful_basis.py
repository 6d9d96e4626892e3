"""Import takes the legal basis of personal information as a column or a whole-file choice (PIPL 13); an ID
number also needs the separate-consent column (PIPL 29). Checked by the dry run's row validator."""

import pytest
from django.utils import translation

from kehu.customers.tests.factories import ID_LI, MOBILE_LI
from kehu.imports.rows import RowValidator

pytestmark = pytest.mark.django_db
COLUMNS = ["name", "kind", "contact_mobile", "id_number", "legal_basis", "basis_purpose", "id_number_consent"]


def check(org, cells, basis=None):
    with translation.override("en"):  # the messages are asserted in the source language
        row, errors = RowValidator(actor=org.rep, columns=COLUMNS, basis=basis).check_row(2, cells)
    return row, [str(e) for e in errors]


def test_import_row_with_personal_information_and_no_basis_is_refused(org):
    """A person's mobile with neither a basis column nor a whole-file basis is a row error."""
    _row, errors = check(org, ["李娜", "个人", MOBILE_LI, "", "", "", ""])
    assert any("legal basis" in e for e in errors)


def test_import_basis_column_is_recorded_on_the_row(org):
    """The row's own legal basis and purpose go with it to the bulk registration."""
    row, errors = check(org, ["李娜", "个人", MOBILE_LI, "", "同意", "理财产品推荐", ""])
    assert errors == [] and row["basis"]["basis"] == "consent" and row["basis"]["purpose"] == "理财产品推荐"


def test_import_whole_file_basis_covers_rows_without_their_own(org):
    row, errors = check(org, ["李娜", "个人", MOBILE_LI, "", "", "", ""], basis={"basis": "contract", "purpose": "合同履行"})
    assert errors == [] and row["basis"]["basis"] == "contract"


def test_import_unknown_basis_value_is_refused(org):
    _row, errors = check(org, ["李娜", "个人", MOBILE_LI, "", "随便", "推广", ""])
    assert any("随便" in e for e in errors)


def test_import_id_number_needs_the_separate_consent_column(org):
    """An ID number with a contract basis but without the separate consent marked is refused."""
    _row, errors = check(org, ["李娜", "个人", MOBILE_LI, ID_LI, "合同", "开户", ""])
    assert any("separate consent" in e for e in errors)
    row, errors = check(org, ["李娜", "个人", MOBILE_LI, ID_LI, "合同", "开户", "是"])
    assert errors == [] and row["id_number_consent"]["purpose"] == "开户"


def test_organisation_row_without_personal_information_needs_no_basis(org):
    row, errors = check(org, ["浙江华星石化有限公司", "企业", "", "", "", "", ""])
    assert errors == [] and "basis" not in row
