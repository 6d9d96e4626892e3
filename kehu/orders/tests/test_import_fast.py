"""The import's fast path for plain text rows gives exactly what the order service's cleaning gives, and
leaves every other row (errors included) to it."""

from __future__ import annotations

import random

from kehu.orders import imports

HEADERS = ["订单号", "客户编号", "订单日期", "发货日期", "产品线", "数量", "单位", "金额", "毛利", "渠道", "业务员"]
MAPPING = imports._mapping(HEADERS, imports.ORDER_COLUMNS)
INDEX = tuple(MAPPING.get(name) for name in imports.FAST_FIELDS)

DATES = ["2026-03-01", "2026-02-30", "2026-3-1", "2026/03/01", "20260301", " 2026-12-31 ", "", "2026年3月1日", "x"]
NUMBERS = ["1", "0", "0.000", "12.5", "12.345", "12.3456", "1,200.5", "-3", "-0.00", " 7 ", "", "abc", "1e3",
           "9999999999999.999", "99999999999999.99", "123456789012345", "0001.10", "NaN", "5.", ".5"]
UNITS = ["", "t", "kg", "piece", "吨", "千克", "公斤", "件", "lb", " t "]
CHANNELS = ["", "直销", "经销商", "代理", "direct", "dealer", "网拍", "其他", "批发", " 直销 "]
LINES = ["聚乙烯 PE", "", "  ", "聚丙烯" * 40, " PP "]


def test_fast_path_agrees_with_the_service_cleaning():
    rng = random.Random(7)
    fast_rows = 0
    for _ in range(6000):
        row = [f"SO{rng.randrange(10**6)}", "1", rng.choice(DATES), rng.choice(DATES + [""] * 6),
               rng.choice(LINES), rng.choice(NUMBERS), rng.choice(UNITS), rng.choice(NUMBERS),
               rng.choice(NUMBERS + [""] * 5), rng.choice(CHANNELS), rng.choice(["", "", "", "zhangwei"])]
        if rng.random() < 0.5:  # mostly plain rows, as an ERP export is
            row[2], row[3] = f"2026-03-{rng.randrange(1, 29):02d}", rng.choice(["", "2026-03-29", "2026-02-01"])
            row[4], row[5], row[7] = "聚乙烯", rng.choice(NUMBERS[:7]), rng.choice(NUMBERS[:7])
            row[10] = ""
        if rng.random() < 0.05:
            row = row[:rng.randrange(3, len(row))]  # a short row
        fast = imports._fast_order(row, INDEX)
        general, errors = imports._clean_order(row, MAPPING, {}, {})
        if fast is not None:
            fast_rows += 1
            assert not errors, (row, errors)
            assert fast == general, row
            assert [type(v) for v in fast.values()] == [type(v) for v in general.values()]
    assert fast_rows > 100


def test_fast_path_leaves_spreadsheet_cells_to_the_service():
    import datetime as dt

    row = ["SO1", "1", dt.datetime(2026, 3, 1), "", "聚乙烯", 12.5, "t", 100, "", "直销", ""]
    assert imports._fast_order(row, INDEX) is None
