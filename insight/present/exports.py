"""Downloads: tables as CSV (Excel-friendly UTF-8 with BOM) and XLSX, and a page as one
self-contained HTML report (plotly.js inlined once, so it opens offline and can be mailed)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from insight.present.formatting import format_cell

__all__ = ["table_csv", "table_xlsx", "safe_filename", "neutralise", "neutralise_frame", "neutralise_sql",
           "FORMULA_START", "HtmlReport", "report_json", "json_records", "json_value"]

# OWASP's CSV-injection rule: a cell starting with one of these is read as a formula by Excel,
# LibreOffice or Google Sheets; a leading apostrophe makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula, made plain text; others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_sql(col: str) -> str:
    """The same rule in SQL, for files written by the engine (``col`` is a column we named)."""
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_START)
    return f"CASE WHEN left({col}, 1) IN ({starts}) THEN chr(39) || {col} ELSE {col} END"


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell and column name neutralised; numbers, dates and missing values stay as they are."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            # (built as objects: a map would infer floats again, and 127 would be written 127.0)
            out[col] = pd.Series([neutralise(v) for v in out[col].astype(object)], index=out.index, dtype=object)
    out.columns = [neutralise(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_filename(*parts: str) -> str:
    """A file name from readable parts: 满意度监测_店铺A_2026-10-01~2026-10-31 (no path characters)."""
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r'[\\/:*?"<>|\s]+', "-", text).strip("-_") or "export"


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns that hold only whole numbers (counts, n) as integers: 50, not 50.0."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_float_dtype(values.dtype) and values.notna().any():
            present = values.dropna()
            if (present == present.round()).all() and present.abs().max() < 2 ** 53:
                out[col] = values.astype("Int64")
    return out


def _whole_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Each whole number of a float column written as one (127, not 127.0) — in a column of counts, and in one
    mixing counts and fractions (a long table's 本期: 127 buyers, a 0.4632 rate)."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_float_dtype(values.dtype):
            whole = values.notna() & (values == values.round()) & (values.abs() < 2 ** 53)
            if whole.any():
                out[col] = values.astype(object).where(~whole, values.where(whole).astype("Int64").astype(object))
    return out


def _yes_no(frame: pd.DataFrame) -> pd.DataFrame:
    """Flag columns as 是/否 (a reader of the sheet reads Chinese, not True/False)."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        flags = pd.api.types.is_bool_dtype(values.dtype) or (
            values.dtype == object and values.notna().any()
            and values.dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all())
        if flags:
            out[col] = pd.Series([None if pd.isna(v) else ("是" if v else "否") for v in values.astype(object)],
                                 index=out.index, dtype=object)
    return out


def table_csv(frame: pd.DataFrame) -> bytes:
    # The BOM makes Excel on Chinese Windows read the file as UTF-8 instead of GBK.
    return neutralise_frame(_whole_cells(_yes_no(frame))).to_csv(index=False).encode("utf-8-sig")


# A page's number format (``formatting.format_cell``) as an Excel number format and the unit its
# column name gains: the spreadsheet shows what the page shows, and stays a number.
def _excel_format(fmt: str) -> tuple[str, str]:
    if fmt == "percent":
        return "0.00%", "%"
    if fmt == "percent_change":
        return "+0.00%;-0.00%;0.00%", "%"
    if "个百分点" in fmt:
        return '+0.00" 个百分点";-0.00" 个百分点";0.00" 个百分点"', "百分点"
    if fmt.endswith("%%"):  # relative change already ×100
        return '+0.0"%";-0.0"%";0.0"%"', "%"
    if "秒" in fmt:
        return '#,##0.0" 秒"', "秒"
    if fmt.startswith("¥"):
        return '"¥"#,##0.00', "元"
    if "d" in fmt:
        return "#,##0", ""
    digits = re.search(r"\.(\d)f", fmt)
    return ("0." + "0" * int(digits.group(1))) if digits else "General", ""


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)  # CJK characters take two columns


def table_xlsx(frame: pd.DataFrame, sheet: str = "数据", formats: dict[str, str] | None = None,
               about: list[tuple[str, str]] | None = None) -> bytes:
    """An Excel sheet as a report: a header block (``about``: shop, period, filters; the export time is
    added), the table with a bold frozen header, each column in its page format (``formats``: column →
    page number format; its unit appended to the column name), and widths that fit."""
    from openpyxl.styles import Alignment, Font, PatternFill

    buf = io.BytesIO()
    formats = formats or {}
    out = neutralise_frame(_whole_numbers(_yes_no(frame)))
    for col in out.columns:  # Excel has no time zones
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    names, number_formats = [], {}
    for col in out.columns:
        fmt = formats.get(col)
        name = str(col)
        if fmt:
            number_formats[name], unit = _excel_format(fmt)
            if unit and unit not in name:
                name = neutralise(f"{name}（{unit}）")
                number_formats[name] = number_formats.pop(str(col))
        names.append(name)
    out.columns = names
    block = [*(about or []), ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M")), ("来源", "服务洞察")]
    start = len(block) + 1  # a blank row between the header block and the table
    sheet = re.sub(r"[\[\]:*?/\\]", "-", sheet)[:31] or "数据"
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        out.to_excel(writer, sheet_name=sheet, index=False, startrow=start)
        ws = writer.sheets[sheet]
        for i, (label, value) in enumerate(block, start=1):
            ws.cell(row=i, column=1, value=neutralise(label)).font = Font(bold=True, color="6B7280")
            ws.cell(row=i, column=2, value=neutralise(str(value)))
        header_row = start + 1
        fill = PatternFill("solid", fgColor="F3F4F6")
        for i, name in enumerate(out.columns, start=1):
            cell = ws.cell(row=header_row, column=i)
            cell.font, cell.fill, cell.alignment = Font(bold=True), fill, Alignment(wrap_text=True, vertical="center")
            if name in number_formats:
                for row in range(header_row + 1, header_row + 1 + len(out)):
                    ws.cell(row=row, column=i).number_format = number_formats[name]
            shown = [format_cell(v, formats.get(frame.columns[i - 1])) for v in frame.iloc[:200, i - 1]]
            width = max([_display_width(str(name))] + [_display_width(v) for v in shown]) + 2
            ws.column_dimensions[cell.column_letter].width = min(max(width, 8), 60)
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)  # the header stays while scrolling
    return buf.getvalue()


_CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px auto;max-width:1200px;
color:#1f2937;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;border-left:4px solid #2563eb;padding-left:8px;margin-top:32px}
.meta{color:#6b7280;font-size:13px}table{border-collapse:collapse;font-size:13px;margin:8px 0;width:100%}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right}th{background:#f3f4f6}
td:first-child,th:first-child{text-align:left}td{white-space:nowrap}.note{color:#6b7280;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:8px 0}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px;break-inside:avoid}
.card .name{font-size:13px;color:#374151}.card .value{font-size:24px;font-weight:600;margin:4px 0}
.card .line{font-size:12px;color:#6b7280}.card.bad .value{color:#b91c1c}.card.good .value{color:#15803d}
.chat{border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px;margin:8px 0;break-inside:avoid}
.chat-title{font-weight:600;font-size:13px;margin-bottom:4px}.msg{font-size:12px;margin:2px 0;white-space:pre-wrap}
.msg .who{color:#6b7280;margin-right:8px}
.js-plotly-plot,.plotly-graph-div{break-inside:avoid}table{break-inside:auto}tr{break-inside:avoid}
@page{size:A4;margin:12mm}@media print{body{margin:0;max-width:none}h2{break-after:avoid}.modebar-container{display:none}
table+.note{break-before:avoid}
.cards{grid-template-columns:repeat(3,1fr)}}
"""


@dataclass
class HtmlReport:
    """Collects a page's sections as it renders; ``render()`` gives one self-contained HTML file."""

    title: str
    subtitle: str = ""
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def note(self, text: str) -> None:
        self.blocks.append(("note", text))

    def table(self, frame: pd.DataFrame, formats: dict[str, str] | None = None) -> None:
        """A table as the page shows it: numbers by ``formats`` (column → number format, see
        ``formatting.format_cell``), whole numbers as integers, missing as —."""
        formats = formats or {}
        shown = pd.DataFrame({col: [format_cell(v, formats.get(col)) for v in frame[col]] for col in frame.columns},
                             columns=frame.columns)
        self.blocks.append(("table", shown))

    def figure(self, fig) -> None:
        self.blocks.append(("figure", fig))

    def cards(self, items: list[dict]) -> None:
        """Metric cards: each {"name", "value", "lines": [text…], "tone": "good"|"bad"|""}."""
        self.blocks.append(("cards", [dict(i) for i in items]))

    def chat(self, title: str, lines: list[tuple[str, str, str]]) -> None:
        """An example conversation: (who, when, text) per message, drawn as text."""
        self.blocks.append(("chat", (title, list(lines))))

    def render(self, figure_width: int | None = None) -> str:
        """The HTML file; ``figure_width`` (px) fixes the charts' width — for printing, where a chart
        drawn at the screen's width would be cut at the page's edge."""
        body, plotly_included = [], False
        for kind, item in self.blocks:
            if kind == "h2":
                body.append(f"<h2>{html.escape(item)}</h2>")
            elif kind == "note":
                body.append(f"<p class='note'>{html.escape(item)}</p>")
            elif kind == "table":  # already text as the page shows it (``table``)
                body.append(item.to_html(index=False, border=0, escape=True))
            elif kind == "cards":
                body.append("<div class='cards'>" + "".join(
                    f"<div class='card {html.escape(c.get('tone') or '')}'><div class='name'>{html.escape(c['name'])}</div>"
                    f"<div class='value'>{html.escape(c['value'])}</div>"
                    + "".join(f"<div class='line'>{html.escape(t)}</div>" for t in c.get("lines") or [] if t)
                    + "</div>" for c in item) + "</div>")
            elif kind == "chat":
                title, lines = item
                body.append(f"<div class='chat'><div class='chat-title'>{html.escape(title)}</div>" + "".join(
                    f"<div class='msg'><span class='who'>{html.escape(who)} · {html.escape(when)}</span>"
                    f"<span class='text'>{html.escape(text)}</span></div>" for who, when, text in lines) + "</div>")
            elif kind == "figure":
                body.append(_report_figure(item, figure_width).to_html(
                    full_html=False, include_plotlyjs=not plotly_included,
                    config={"displaylogo": False, "responsive": figure_width is None},
                    default_width=f"{figure_width}px" if figure_width else "100%"))
                plotly_included = True
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1><p class='meta'>{html.escape(self.subtitle)} · 导出于 {stamp}"
                f" · 服务洞察</p>{''.join(body)}</body></html>")


def _report_figure(fig, width: int | None = None):
    """A page's figure laid out for a report: axes make room for their labels (a page's chart grows
    with the browser; a report's must fit its column), at ``width`` px when given."""
    out = go.Figure(fig)
    if width:
        out.update_layout(width=width, autosize=False)
    out.update_xaxes(automargin=True)
    out.update_yaxes(automargin=True)
    margin = out.layout.margin
    out.update_layout(margin={"l": max(margin.l or 0, 60), "r": max(margin.r or 0, 30),
                              "t": max(margin.t or 0, 60), "b": max(margin.b or 0, 50)})
    return out


def json_value(value):
    """One value as JSON has it: missing (None, NaN, NaT, pd.NA) is null — never the invalid bare NaN —,
    numpy booleans and numbers are true/false and numbers (not the text "False"), times are ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def json_records(frame: pd.DataFrame) -> list[dict]:
    """A table's rows for a JSON answer: every value through ``json_value``; a float column holding only
    whole numbers (a count that became float beside a missing value) as integers."""
    whole = _whole_numbers(frame).astype(object)
    return [{str(k): json_value(v) for k, v in row.items()} for row in whole.to_dict(orient="records")]


def report_json(report: dict) -> str:
    """A metrics report (``MetricEngine.report``) as ``metrics --json`` prints it and the API returns it."""
    return json.dumps(report, ensure_ascii=False, default=str)
