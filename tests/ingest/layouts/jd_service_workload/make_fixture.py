"""Fixture: 京东(自营) 客服 › 服务工作量 export (.xlsx) — SHOP-level, one shop, one day.

Layout facts and their sources are in SOURCE.md.  What the one public reader proves:
  * first sheet; at least 4 rows; when the 4th row's first cell holds a dashed date
    ("2026-11-09") that row is the shop's figures — so THREE rows precede the data row
    (otherwise the reader falls back to the 2nd row);
  * the data row is read by POSITION: [0] 日期, [1] 在岗客服数 … [23] 解决率 (24 columns);
  * one row per shop per day — no agent column.
NOT proven, and marked as such: what the three rows above the data hold (here: two header
rows left blank + one header row), and the header TEXT — the labels below are the reader's
own database-column comments, not verified platform wording.

Deterministic (fixed properties and zip timestamps).  Run: python make_fixture.py (needs openpyxl)
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import openpyxl

# Shared helpers (durations, number text, a reproducible zip) live in ../report_fixture.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report_fixture import fmt as _fmt  # noqa: E402
from report_fixture import normalise_zip as _normalise_zip  # noqa: E402
from report_fixture import seconds  # noqa: E402,F401

HERE = Path(__file__).resolve().parent
DAY = "2026-11-09"
SHOP = "云朵京东自营旗舰店"
FILE_NAME = "京东自营_20261109_云朵京东自营旗舰店_客服_服务工作量.xlsx"
SHEET = "Sheet1"

# (label from the reader's DB comments, unit, value).  Units: the reader stores 登录时长/店铺服务时长
# in hours, 平均会话时长 in minutes, the response times in seconds; rates keep their "%".
COLUMNS = [
    ("日期", "date", DAY),
    ("在岗客服数", "count", 3),
    ("登录时长(小时)", "hours", 24.5),
    ("店铺服务时长(小时)", "hours", 14),
    ("咨询独立访客数", "count", 180),
    ("咨询次数", "count", 210),
    ("接待次数", "count", 205),
    ("接通率", "rate", "97.62%"),
    ("回复率", "rate", "99.51%"),
    ("30秒响应率", "rate", "95.12%"),
    ("满意度", "rate", "96.00%"),
    ("邀评率", "rate", "45.37%"),
    ("平均回复消息数", "number", 6.8),
    ("超时回复次数", "count", 4),
    ("平均会话时长(分钟)", "minutes", 5.5),
    ("首次平均响应时间(秒)", "seconds", 12.3),
    ("新平均响应时间(秒)", "seconds", 25.6),
    ("留言咨询数", "count", 12),
    ("留言分配数", "count", 12),
    ("留言接收数", "count", 11),
    ("留言回复率", "rate", "91.67%"),
    ("留言响应率", "rate", "83.33%"),
    ("商家留言率", "rate", "5.85%"),
    ("解决率", "rate", "88.00%"),
]
assert len(COLUMNS) == 24

FIXED = dt.datetime(2026, 11, 10, 9, 0, 0)


def build() -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    # Rows 1-2: content unknown (two header rows above the field names is our assumption);
    # they are left empty ("" cells, so the rows exist) so that nothing invented looks like
    # platform text.
    sheet.cell(1, 1).value = ""
    sheet.cell(2, 1).value = ""
    for col, (label, _, value) in enumerate(COLUMNS, start=1):
        sheet.cell(3, col).value = label
        sheet.cell(4, col).value = value
    book.properties.created = FIXED
    book.properties.modified = FIXED
    book.properties.creator = None
    out = HERE / FILE_NAME
    book.save(out)
    _normalise_zip(out)

    scale = {"hours": 3600, "minutes": 60}
    with open(HERE / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["shop", "day", "metric", "value"])  # shop-level report: no agents
        for label, unit, value in COLUMNS[1:]:
            if unit == "rate":
                number = round(float(value.rstrip("%")) / 100, 10)
            else:
                number = round(float(value) * scale.get(unit, 1), 10)
            writer.writerow([SHOP, DAY, label, _fmt(number)])
    return out


if __name__ == "__main__":
    print(build())
