"""Reading import files: encodings real Chinese sheets have, delimiters, dates, damaged XLSX."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from kehu.errors import Invalid
from kehu.imports import parsing
from kehu.imports.samples import HEADERS, csv_bytes


def _write(tmp_path, name, content: bytes):
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_gbk_csv_with_chinese_headers_is_detected_as_gb18030(tmp_path):
    p = _write(tmp_path, "a.csv", csv_bytes([["华星石化有限公司", "企业"]], encoding="gbk"))
    info = parsing.inspect(p, "a.csv")
    assert info.encoding == "gb18030"
    assert info.headers[:3] == HEADERS[:3]
    assert info.preview[0][0] == "华星石化有限公司"


def test_utf8_with_bom_drops_the_bom_from_the_first_header(tmp_path):
    p = _write(tmp_path, "a.csv", b"\xef\xbb\xbf" + csv_bytes([["华星石化有限公司"]]))
    info = parsing.inspect(p, "a.csv")
    assert info.encoding == "utf-8-sig"
    assert info.headers[0] == "客户名称"
    assert parsing.auto_mapping(info.headers)[0] == "name"


def test_utf8_without_bom(tmp_path):
    info = parsing.inspect(_write(tmp_path, "a.csv", csv_bytes([["甲公司"]])), "a.csv")
    assert info.encoding == "utf-8-sig" and info.preview[0][0] == "甲公司"


def test_undecodable_bytes_are_refused_not_guessed(tmp_path):
    p = _write(tmp_path, "a.csv", "客户名称\n".encode() + b"\xff\xfe\x80\x80\n")
    with pytest.raises(Invalid) as exc:
        parsing.inspect(p, "a.csv")
    assert exc.value.code == "bad_encoding"


@pytest.mark.parametrize(("delimiter", "sep"), [(",", ","), ("\t", "\t"), (";", ";")])
def test_delimiter_is_sniffed(tmp_path, delimiter, sep):
    p = _write(tmp_path, "a.csv", csv_bytes([["甲公司", "企业", ""]], delimiter=delimiter))
    info = parsing.inspect(p, "a.csv")
    assert info.delimiter == sep
    assert info.headers[:2] == ["客户名称", "客户类型"]


def test_a_damaged_xlsx_is_a_clear_422(tmp_path):
    p = _write(tmp_path, "a.xlsx", b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(Invalid) as exc:
        parsing.inspect(p, "a.xlsx")
    assert exc.value.status == 422 and exc.value.code == "bad_xlsx"


def test_xlsx_rows_are_streamed_with_numbers_and_dates_as_typed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["客户名称", "手机", "生日"])
    ws.append(["甲公司", 13812345678, dt.datetime(1980, 5, 4)])
    wb.save(tmp_path / "a.xlsx")
    info = parsing.inspect(tmp_path / "a.xlsx", "a.xlsx")
    assert info.format == "xlsx"
    assert info.preview == [["甲公司", "13812345678", "1980-05-04"]]


@pytest.mark.parametrize("text", ["2025-03-01", "2025/3/1", "2025年3月1日", "2025.3.1", "20250301", "45717",
                                  "2025-03-01 08:30"])
def test_dates_in_the_forms_chinese_sheets_use(text):
    assert parsing.parse_date(text) == dt.date(2025, 3, 1)


def test_excel_serial_numbers_and_date_cells():
    assert parsing.parse_date(45717) == dt.date(2025, 3, 1)
    assert parsing.parse_date(45717.5) == dt.date(2025, 3, 1)
    assert parsing.parse_date(dt.datetime(2025, 3, 1, 9)) == dt.date(2025, 3, 1)


@pytest.mark.parametrize("text", ["2025-13-01", "三月一日", "2025/02/30", "abc", "0"])
def test_impossible_dates_are_refused(text):
    with pytest.raises(ValueError):
        parsing.parse_date(text)


def test_chinese_and_english_headers_are_mapped_and_each_field_once():
    headers = ["公司名称", "信用代码", "客户经理", "联系人", "联系电话", "E-mail", "备注", "名称"]
    assert parsing.auto_mapping(headers) == ["name", "uscc", "owner", "contact_name", "contact_mobile",
                                             "contact_email", "", ""]
    assert parsing.auto_mapping(["Customer Name", "USCC", "Mobile *", "手机号（必填）"]) == [
        "name", "uscc", "contact_mobile", ""]


def test_a_saved_mapping_wins_over_the_aliases():
    assert parsing.auto_mapping(["单位", "名称"], {"单位": "name", "名称": ""}) == ["name", ""]


def test_a_mapping_needs_the_name_and_no_field_twice():
    with pytest.raises(Invalid):
        parsing.check_mapping(["uscc", ""], 2)
    with pytest.raises(Invalid):
        parsing.check_mapping(["name", "name"], 2)
    with pytest.raises(Invalid):
        parsing.check_mapping(["name", "nonsense"], 2)
    assert parsing.check_mapping(["name", ""], 2) == ["name", ""]
