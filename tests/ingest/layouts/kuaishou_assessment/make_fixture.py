"""Fixture: 快手 客服 › 考核数据 export (.xlsx) — SHOP-level, one shop, one day.

Layout facts and their sources are in SOURCE.md.  In short (one public importer only):
  * first sheet; the header is the FIRST row and the shop's figures are the second row
    (the cited importer: header := rows[0]; data := rows[1] // 店铺数据) — no rows above the header;
  * there is no agent column: this report is per shop, not per agent;
  * headers use full-width brackets: 三分钟回复率（人维度）, 好评率（会话）, IM不满意率（人维度）…;
  * 人工平均回复时长 is a Chinese duration ("36秒" / "1分5秒"); rates carry "%".
  * no date column: the day comes from the RPA folder / file name.
The column ORDER is the order the importer reads them in, not proven to be the file's order.

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
# Only "contains 客服_考核数据 and ends .xlsx" is evidenced; the rest follows the same importer's
# RPA naming of its other files (<平台>_<YYYYMMDD>_<店铺>_<报表>.xlsx).
FILE_NAME = "快手_20261109_云朵旗舰店_客服_考核数据.xlsx"
SHEET = "Sheet1"

HEADER = ["三分钟回复率（人维度）", "三分钟回复率（会话）", "不服务率", "咨询人数", "咨询人次", "人工会话量",
          "人工平均回复时长", "好评率（人维度）", "好评率（会话）", "差评率（人维度）", "差评率（会话）",
          "IM不满意率（人维度）", "询单人数", "下单人数", "支付人数", "询单转化率", "询单客单价", "客服销售额"]
SHOP_ROW = ["96.30%", "95.80%", "0.50%", 135, 162, 150, "36秒", "92.00%", "91.50%", "1.20%", "1.10%", "2.00%",
            71, 25, 24, "33.80%", 199.44, 4786.5]
RATE = {h for h in HEADER if "率" in h}
DURATION = {"人工平均回复时长"}

FIXED = dt.datetime(2026, 11, 10, 9, 0, 0)


def build() -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADER)
    sheet.append(SHOP_ROW)
    book.properties.created = FIXED
    book.properties.modified = FIXED
    book.properties.creator = None
    out = HERE / FILE_NAME
    book.save(out)
    _normalise_zip(out)

    with open(HERE / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["shop", "day", "metric", "value"])  # shop-level report: no agents
        for header, cell in zip(HEADER, SHOP_ROW):
            if header in RATE:
                value = round(float(str(cell).rstrip("%")) / 100, 10)
            elif header in DURATION:
                value = seconds(str(cell))
            else:
                value = float(cell)
            writer.writerow([SHOP, DAY, header, _fmt(value)])
    return out


if __name__ == "__main__":
    print(build())
