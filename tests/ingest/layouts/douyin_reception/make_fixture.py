"""Fixture: 抖音(抖店/飞鸽) 客服「接待量」 sheet with a 店铺名称 first column.

Layout facts and their sources are in SOURCE.md.  In short:
  * first sheet, header in row 1; column A 店铺名称 (the shop's display name, on every row),
    B 客服昵称, C 账号名称, then the figures;
  * rates are real numbers (fractions, shown with a % number format), durations are seconds,
    "-" where there is no figure;
  * the block ends with a row whose column A is 汇总 (the cited reader stops there);
  * no date column: start/end day come from the file name  <name>_<start>_<end>.xlsx.
Column list = the 22 headers of the cited ODS table 抖音-接待量 (one more response-time column
than the 21 positions the cited Node importer reads; see SOURCE.md).

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
SHOP = "云朵旗舰店"
FILE_NAME = "抖音接待量_2026-11-09_2026-11-09.xlsx"  # only "<x>_<start>_<end>" is evidenced
SHEET = "Sheet1"

HEADER = ["店铺名称", "客服昵称", "账号名称", "人工已接待人数", "人工已接待会话量", "CPD", "不满意率",
          "3分钟人工回复率 (会话)", "3分钟人工回复率", "首次响应时长（秒）", "平均响应时长（秒）",
          "新平均响应时长（秒）", "满意率", "客服销售额（元）", "询单人数", "下单人数", "支付人数", "询单转化率",
          "预警会话量", "PC在线时长（时）", "PC小休时长（时）", "PC离线时长（时）"]
RATE = {"不满意率", "3分钟人工回复率 (会话)", "3分钟人工回复率", "满意率", "询单转化率"}
HOURS = {"PC在线时长（时）", "PC小休时长（时）", "PC离线时长（时）"}
NA = "-"

AGENTS = [
    [SHOP, "客服-小美", "云朵旗舰店:小美", 50, 60, 1.2, 0.02, 0.85, 0.9, 12.5, 35, 30.5, 0.96, 2999.5, 40, 16, 15, 0.375,
     0, 8.5, 0.5, 0.2],
    [SHOP, "阿杰", "云朵旗舰店:阿杰", 42, 45, 1.07, 0, 0.9333, 0.95, 8, 22.4, 20.1, 1, 1588, 25, 8, 8, 0.32,
     1, 7.75, 0.25, 0],
    [SHOP, "客服-小雨", "云朵旗舰店:小雨", 18, 20, 1.11, NA, 0.8, 0.8, 15, 41, 38.6, NA, 199, 6, 1, 1, 0.1667,
     0, 4.05, 0, 3.9],
]
TOTAL = ["汇总", None, None, 110, 125, 1.14, 0.0108, 0.88, 0.9091, 11.3, 31.2, 28.1, 0.9778, 4786.5, 71, 25, 24, 0.338,
         1, 20.3, 0.75, 4.1]

FIXED = dt.datetime(2026, 11, 10, 9, 0, 0)


def build() -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADER)
    for cells in AGENTS + [TOTAL]:
        sheet.append(cells)
    for col, header in enumerate(HEADER, start=1):
        if header in RATE:
            for r in range(2, sheet.max_row + 1):
                if isinstance(sheet.cell(r, col).value, (int, float)):
                    sheet.cell(r, col).number_format = "0.00%"
    book.properties.created = FIXED
    book.properties.modified = FIXED
    book.properties.creator = None
    out = HERE / FILE_NAME
    book.save(out)
    _normalise_zip(out)

    with open(HERE / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["agent", "day", "metric", "value"])
        for cells in AGENTS:  # keyed by 账号名称; 店铺名称 and 客服昵称 are labels, not figures
            for header, cell in zip(HEADER[3:], cells[3:]):
                if cell in (None, "", NA):
                    continue
                value = float(cell) * 3600 if header in HOURS else float(cell)
                writer.writerow([cells[2], DAY, header, _fmt(round(value, 10))])
    return out


if __name__ == "__main__":
    print(build())
