"""Realistic import sheets (Chinese headers, one customer and its first contact per row) for the demo,
the tests and the benchmark; ORM-free."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from kehu.demo.generators import customer_rows

HEADERS = ["客户名称", "客户类型", "统一社会信用代码", "行业", "规模", "省份", "城市", "区县", "地址", "客户来源",
           "负责人", "联系人", "职务", "手机", "邮箱", "微信", "法律依据", "处理目的", "生日"]
# The sample's people are contacts of customers under contract (PIPL 13 (2)).
BASIS, PURPOSE = "合同", "客户关系管理与合同履行"


def sheet_rows(count: int, *, seed: int = 2026, start: int = 0, owner: str = "") -> Iterator[list[str]]:
    """``count`` data rows matching HEADERS; birthdays in the several forms Chinese sheets use."""
    for i, row in enumerate(customer_rows(count, seed=seed, start=start, contacts_per_customer=1,
                                          people_share=0.05), start=start):
        person = row["kind"] == "person"
        c = row["contacts"][0] if row["contacts"] else {}
        birthday = c.get("birthday", "")
        if birthday and i % 3 == 1:
            y, m, d = birthday.split("-")
            birthday = f"{y}/{int(m)}/{int(d)}"
        elif birthday and i % 3 == 2:
            y, m, d = birthday.split("-")
            birthday = f"{y}年{int(m)}月{int(d)}日"
        yield [row["name"], "个人" if person else "企业", row["uscc"], row["industry"], row["scale"], row["province"],
               row["city"], row["district"], row["address"], row["source"], owner, c.get("name", ""),
               c.get("title", ""), row.get("mobile") if person else c.get("mobile", ""), c.get("email", ""),
               c.get("wechat", ""), BASIS, PURPOSE, birthday]


def csv_bytes(rows, *, headers=HEADERS, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
