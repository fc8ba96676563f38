"""Fixture: 生意参谋 服务 › 自制报表 › 报表查看 › 客服绩效, downloaded as .xlsx ("…_全部.xlsx").

Layout facts and where they come from are in SOURCE.md.  In short:
  * one sheet; row 1 is the header (10 columns in the cited shop's self-made report);
  * one row per 旺旺昵称 (bare sub-account names in the cited real file), then exactly
    6 tail rows whose 旺旺昵称 cell holds 汇总值 / 平均值 / 全店汇总值 / 全店平均值 /
    同行同层优秀 / 同行同层均值;
  * no date column: the day is only in the file name  …_YYYYMMDD_YYYYMMDD_全部.xlsx;
  * the response-time headers mix a full-width "（" with a half-width ")": 首次响应时长（秒).

Deterministic: fixed workbook properties and fixed zip timestamps, so re-running gives
byte-identical output.  Run:  python make_fixture.py   (needs openpyxl)
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
FILE_NAME = "自制报表-报表查看-客服绩效_20261109_20261109_全部.xlsx"
SHEET = "Sheet1"  # not evidenced by the source (it reads SheetNames[0]); see SOURCE.md

HEADER = ["旺旺昵称", "询单最终付款人数", "询单人数", "询单最终付款转化率", "首次响应时长（秒)",
          "平均响应时长（秒)", "客户满意率", "旺旺回复率", "询单最终付款金额", "成功退款金额"]
RATES = {"询单最终付款转化率", "客户满意率", "旺旺回复率"}

# One row per agent: numbers as the platform shows them.  Rates are written as text "37.50%";
# "-" means "not given" (no truth row).  Agent names are bare sub-account nicknames, as in
# the cited real file (旺旺昵称 "孙春莲", "魏文艳").
AGENTS = [
    ["小美", 30, 80, "37.50%", 12.5, 25.33, "95.50%", "100.00%", 8800.5, 120],
    ["阿杰", 12, 40, "30.00%", 8.67, 20.1, "100.00%", "98.00%", 3560, 0],
    ["小雨", 0, 5, "0.00%", 15.2, 32.67, "-", "100.00%", 0, 0],
]
SUMMARY = [
    ["汇总值", 42, 125, "33.60%", 11.45, 24.21, "97.00%", "99.33%", 12360.5, 120],
    ["平均值", 14, 41.67, "33.60%", 11.45, 24.21, "97.00%", "99.33%", 4120.17, 40],
    ["全店汇总值", 42, 125, "33.60%", 11.45, 24.21, "97.00%", "99.33%", 12360.5, 120],
    ["全店平均值", 14, 41.67, "33.60%", 11.45, 24.21, "97.00%", "99.33%", 4120.17, 40],
    ["同行同层优秀", "-", "-", "45.20%", 6.3, 15.8, "99.10%", "-", "-", "-"],
    ["同行同层均值", "-", "-", "31.80%", 14.9, 28.4, "95.70%", "-", "-", "-"],
]

FIXED = dt.datetime(2026, 11, 10, 9, 0, 0)


def _canonical(header: str, cell) -> float | None:
    if cell in (None, "", "-"):
        return None
    if header in RATES:
        text = str(cell).strip()
        return round(float(text.rstrip("%")) / 100, 10) if text.endswith("%") else float(text)
    return float(cell)


def build() -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADER)
    for row in AGENTS + SUMMARY:
        sheet.append(row)
    book.properties.created = FIXED
    book.properties.modified = FIXED
    book.properties.creator = None
    out = HERE / FILE_NAME
    book.save(out)
    _normalise_zip(out)

    with open(HERE / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["agent", "day", "metric", "value"])
        for row in AGENTS:
            for header, cell in zip(HEADER[1:], row[1:]):
                value = _canonical(header, cell)
                if value is not None:
                    writer.writerow([row[0], DAY, header, _fmt(value)])
    return out


if __name__ == "__main__":
    print(build())
