"""Fixture: 生意参谋 服务 › 绩效 › 商品分析 › 商品咨询分析, 日, downloaded as a BIFF .xls.

This report is per ITEM (商品), not per agent.  Layout facts and their sources are in SOURCE.md;
the cited test pins "the real file's shape: 2 banner rows + 3 blank rows + header + data +
平均值/汇总值":
  row 1  下载数据最多5000条，超出部分会被截断！
  row 2  收藏网址：d.alibaba.com，让数据帮您生意参谋！点此进入>>
  rows 3-5 blank
  row 6  12 headers: 商品名称 商品编号 咨询人数 询单人数 当日询单人数 询单转化率 当日询单转化率
         当日付款人数 当日付款金额 最终付款人数 最终付款金额 最终付款件数
  item rows, then 平均值 and 汇总值 (商品名称 column; 商品编号 is "-")
Cells are text: counts "2", rates "0%", money "0.00", and "延迟统计" where the platform has not
finished counting (the T+n "询单/最终付款" figures of a recent day).

Needs xlwt (pip install xlwt); deterministic output.  Run: python make_fixture.py
"""

from __future__ import annotations

import csv
from pathlib import Path

try:
    import xlwt
except ImportError as exc:  # pragma: no cover - message for whoever regenerates the fixture
    raise SystemExit("make_fixture.py needs xlwt to write a real .xls: pip install xlwt") from exc

HERE = Path(__file__).resolve().parent
DAY = "2026-11-09"
# The platform's own download name is not evidenced; this is how the cited collector saves it.
FILE_NAME = "product-inquiry-云朵旗舰店-2026-11-09.xls"
SHEET = "Sheet1"  # not evidenced (the cited readers take the first sheet)

BANNER = ["下载数据最多5000条，超出部分会被截断！", "收藏网址：d.alibaba.com，让数据帮您生意参谋！点此进入>>"]
HEADER = ["商品名称", "商品编号", "咨询人数", "询单人数", "当日询单人数", "询单转化率", "当日询单转化率",
          "当日付款人数", "当日付款金额", "最终付款人数", "最终付款金额", "最终付款件数"]
DELAY = "延迟统计"
ITEMS = [
    ["云朵云感枕头 护颈记忆棉", "680001234567", "12", DELAY, "9", DELAY, "33.33%", "3", "297.00", DELAY, DELAY, DELAY],
    ["云朵天丝四件套 1.8m床", "680001234568", "5", DELAY, "4", DELAY, "25.00%", "1", "459.00", DELAY, DELAY, DELAY],
    ["余款邮费专拍链接", "680001234569", "1", DELAY, "0", DELAY, "0%", "0", "0.00", DELAY, DELAY, DELAY],
]
TAIL = [
    ["平均值", "-", "6", DELAY, "4.33", DELAY, "30.77%", "1.33", "252.00", DELAY, DELAY, DELAY],
    ["汇总值", "-", "18", DELAY, "13", DELAY, "30.77%", "4", "756.00", DELAY, DELAY, DELAY],
]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def build() -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet(SHEET)
    for r, text in enumerate(BANNER):
        sheet.write(r, 0, text)
    # rows 3-5 (index 2-4) stay blank
    for c, text in enumerate(HEADER):
        sheet.write(5, c, text)
    for r, cells in enumerate(ITEMS + TAIL, start=6):
        for c, text in enumerate(cells):
            sheet.write(r, c, text)  # every cell is a text cell, as in the export
    out = HERE / FILE_NAME
    book.save(str(out))

    with open(HERE / "truth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["item", "day", "metric", "value"])  # per item (商品编号), not per agent
        for cells in ITEMS:
            for header, text in zip(HEADER[2:], cells[2:]):
                if text in ("", "-", DELAY):
                    continue
                number = float(text.rstrip("%")) / 100 if text.endswith("%") else float(text.replace(",", ""))
                writer.writerow([cells[1], DAY, header, _fmt(round(number, 10))])
    return out


if __name__ == "__main__":
    print(build())
