"""Fixture: 抖店 飞鸽 客服数据 › 客服表现 export (.xlsx), one shop, one day.

Layout facts and their sources are in SOURCE.md.  In short:
  * one sheet "Sheet1", header in row 1, 35 columns A..AI, column T has an EMPTY header
    (and empty cells) — a real quirk of the export;
  * identity columns 客服账号 + 客服昵称 (they differ for some agents);
  * two platform rows labelled 店铺汇总值 / 店铺平均值 (label in column B, 客服昵称);
    here they sit right under the header — their position is not proven, see SOURCE.md;
  * no date column: the day comes from outside the file (RPA folder / file name);
  * durations are Chinese text: "18秒", "2分30秒", "8小时12分5秒"; rates "95.50%";
    "-" where the platform has no figure (most listed agents of the cited real file had none).

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
# The platform's own download name is not evidenced; this is the RPA naming the cited importer
# matches on (抖音_<YYYYMMDD>_<店铺>_飞鸽_客服表现.xlsx).
FILE_NAME = "抖音_20261109_云朵旗舰店_飞鸽_客服表现.xlsx"
SHEET = "Sheet1"

HEADER = [
    "客服账号", "客服昵称",
    "客服在线天数", "客服在线总时长", "客服小休总时长",
    "最大接待人数", "接待会话量", "待回复会话量", "已接待人数", "正在接待人数", "转出会话量", "工作饱和度",
    "有效评价数", "有效好评数", "有效差评数",
    "全天不满意率", "工作时间不满意率", "全天满意率", "工作时间满意率",
    "",  # column T: empty header in the real export
    "全天平响时长", "工作时间平响时长", "工作时间首响时长", "全天首响时长",
    "工作时间3分钟回复率", "全天3分钟回复率", "服务问题会话数",
    "询单人数", "下单人数", "支付人数", "退款人数", "客服询单支付额", "退款金额", "退款后销售额", "询单转化率",
]
assert len(HEADER) == 35 and HEADER[19] == ""  # A..AI, T (20th) blank

RATE = {"工作饱和度", "全天不满意率", "工作时间不满意率", "全天满意率", "工作时间满意率",
        "工作时间3分钟回复率", "全天3分钟回复率", "询单转化率"}
DURATION = {"客服在线总时长", "客服小休总时长", "全天平响时长", "工作时间平响时长", "工作时间首响时长", "全天首响时长"}

NA = "-"


def row(account, nick, *values):
    cells = [account, nick, *values[:17], None, *values[17:]]
    assert len(cells) == 35, len(cells)
    return cells


AGENTS = [
    row("小美", "客服-小美", 1, "8小时12分5秒", "35分10秒", 12, 66, 0, 60, 0, 2, "62.35%",
        20, 19, 1, "5.00%", "5.00%", "95.00%", "95.00%",
        "2分30秒", "18秒", "9秒", "12秒", "98.33%", "96.97%", 1,
        40, 16, 15, 1, 2999.5, 120, 2879.5, "40.00%"),
    row("阿杰", "阿杰", 1, "7小时41分52秒", "20分", 10, 48, 1, 45, 0, 0, "55.10%",
        10, 10, 0, "0.00%", "0.00%", "100.00%", "100.00%",
        "1分5秒", "16秒", "7秒", "8秒", "100.00%", "97.92%", 0,
        25, 8, 8, 0, 1588, 0, 1588, "32.00%"),
    row("小雨", "客服-小雨", 1, "4小时3分", "0秒", 8, 20, 0, 18, 0, 1, "30.00%",
        0, 0, 0, NA, NA, NA, NA,
        "45秒", "21秒", "11秒", "15秒", "95.00%", "95.00%", 0,
        6, 1, 1, 0, 199, 0, 199, "16.67%"),
    # listed but without any figure that day — the real export lists such sub-accounts too
    row("小林", "小林", 0, NA, NA, 0, 0, 0, 0, 0, 0, NA,
        0, 0, 0, NA, NA, NA, NA,
        NA, NA, NA, NA, NA, NA, 0,
        0, 0, 0, 0, 0, 0, 0, NA),
]
SUMMARY = [
    row(None, "店铺汇总值", 3, "19小时56分57秒", "55分10秒", 30, 134, 1, 123, 0, 3, "49.15%",
        30, 29, 1, "3.33%", "3.33%", "96.67%", "96.67%",
        "1分44秒", "17秒", "8秒", "11秒", "98.51%", "96.95%", 1,
        71, 25, 24, 1, 4786.5, 120, 4666.5, "35.21%"),
    row(None, "店铺平均值", 0.75, "4小时59分14秒", "13分47秒", 7.5, 33.5, 0.25, 30.75, 0, 0.75, "49.15%",
        7.5, 7.25, 0.25, "3.33%", "3.33%", "96.67%", "96.67%",
        "1分26秒", "18秒", "9秒", "11秒", "97.78%", "96.63%", 0.25,
        17.75, 6.25, 6, 0.25, 1196.63, 30, 1166.63, "35.21%"),
]

FIXED = dt.datetime(2026, 11, 10, 9, 0, 0)


def canonical(header: str, cell) -> float | None:
    if cell in (None, "", NA):
        return None
    if header in RATE:
        return round(float(str(cell).rstrip("%")) / 100, 10)
    if header in DURATION:
        return seconds(str(cell))
    return float(cell)


def build() -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([h if h else None for h in HEADER])
    for cells in SUMMARY + AGENTS:
        sheet.append(cells)
    book.properties.created = FIXED
    book.properties.modified = FIXED
    book.properties.creator = None
    out = HERE / FILE_NAME
    book.save(out)
    _normalise_zip(out)

    with open(HERE / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["agent", "day", "metric", "value"])
        for cells in AGENTS:  # keyed by 客服账号; 客服昵称 is a display name, not a metric
            for header, cell in zip(HEADER[2:], cells[2:]):
                if not header:
                    continue
                value = canonical(header, cell)
                if value is not None:
                    writer.writerow([cells[0], DAY, header, _fmt(value)])
    return out


if __name__ == "__main__":
    print(build())
