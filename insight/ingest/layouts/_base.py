"""What every layout shares: the context an import gives it, what a conversion returns, reading a
workbook as a grid of cells, and the small parsers real exports need (dates in file names, Chinese
durations, placeholders, who sent a message)."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from insight.core.errors import ImportFailed
from insight.core.limits import Limits
from insight.core.settings import DEFAULT_ROBOT_NAMES
from insight.ingest.reports import PLACEHOLDERS

__all__ = ["MissingDay", "LayoutContext", "Converted", "Layout", "Probe", "DEFAULT_ROBOT_NAMES", "SUMMARY_LABELS",
           "day_from_name", "seconds_from_text", "is_placeholder", "Sender", "read_grid", "read_json",
           "cell_text", "shop_account", "check_length", "MAX_MESSAGE_CHARS", "decode_text"]

# The names a report's summary rows carry where an agent's name would be (never stored as agents).
SUMMARY_LABELS = ("汇总", "汇总值", "合计", "总计", "平均值", "平均", "均值", "全店汇总值", "全店平均值", "同行同层优秀",
                  "同行同层均值", "同行同层平均", "店铺汇总值", "店铺平均值", "团队汇总", "团队平均")


class MissingDay(ImportFailed):
    """The file's times have no date and nothing says which day it is: it imports once a day is named."""


@dataclass(frozen=True)
class LayoutContext:
    """What the import knows besides the file: the shop and day the user named, today (to infer a
    year), the store's robot names."""

    today: dt.date
    shop: str | None = None
    day: dt.date | None = None
    robot_names: tuple[str, ...] = DEFAULT_ROBOT_NAMES
    limits: Limits | None = None


@dataclass
class Converted:
    """One file in DATA.md form. ``tables``: table → rows (dicts) with ``_line``, the line (or row)
    of the original file each came from. ``excluded``: why rows were left out → how many."""

    layout: str
    label: str
    file: str = ""  # the file's name as the user knows it
    tables: dict[str, list[dict]] = field(default_factory=dict)
    report: str | None = None  # the platform report's key, for report layouts
    read: int = 0  # rows (or messages) read from the file
    unit: str = "行"
    excluded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # columns of the file that feed nothing
    day_used: bool = False  # the day named at import filled a day the file does not carry

    def exclude(self, reason: str, n: int = 1) -> None:
        self.excluded[reason] = self.excluded.get(reason, 0) + n

    def date_range(self) -> str | None:
        """The days the rows cover, as the import report says them (times with an offset: their own day)."""
        column = {"messages": "sent_at", "sessions": "started_at", "evaluations": "invited_at",
                  "platform_reports": "day"}
        days = sorted({str(r[col])[:10] for table, col in column.items() for r in self.tables.get(table, ())
                       if r.get(col) and re.match(r"\d{4}-\d{2}-\d{2}", str(r[col]))})
        if not days:
            return None
        return days[0] if days[0] == days[-1] else f"{days[0]} 至 {days[-1]}"


@dataclass
class Probe:
    """A first look at a file, shared by every layout's ``sniff``: its name as the user knows it, the
    suffix, the first KB of text, and for workbooks the sheet names and first rows of each sheet."""

    path: Path
    name: str
    suffix: str
    text: str | None = None
    sheets: dict = field(default_factory=dict)  # sheet name → first rows (lists of cells)
    json: object = None


class Layout:
    """A file layout shops really hold. ``sniff`` decides by content; ``convert`` reads it whole."""

    key = ""
    label = ""
    table = ""  # the DATA.md table (or platform_reports) it becomes
    source = ""  # the public program that writes or reads it (README, docs)

    def sniff(self, probe: Probe) -> bool:
        raise NotImplementedError

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        raise NotImplementedError

    def converted(self, probe: Probe | None = None) -> Converted:
        return Converted(self.key, self.label, probe.name if probe is not None else "")


# -- dates and values ------------------------------------------------------------------------
_FULL_DATE = re.compile(r"(?<!\d)(20\d{2})[-_.年/]?(\d{1,2})[-_.月/]?(\d{1,2})日?(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日")


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def day_from_name(name: str, today: dt.date) -> tuple[dt.date | None, dt.date | None, str | None]:
    """The day (or first and last day) a file name carries, and a note when the year was inferred.
    ``20261109``, ``2026-11-09``, ``2026年11月9日``; ``11月9日`` takes the latest year not after today."""
    stem = Path(name).stem
    found = [d for d in (_date(int(y), int(m), int(dd)) for y, m, dd in _FULL_DATE.findall(stem)) if d]
    if found:
        return min(found), max(found), None
    match = _MONTH_DAY.search(stem)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        for year in (today.year, today.year - 1):
            candidate = _date(year, month, day)
            if candidate and candidate <= today:
                return candidate, candidate, (f"文件名只写了 {month}月{day}日，年份按不晚于今天推断为 {year} 年"
                                              "（不对时请把文件名中的日期改为 YYYY-MM-DD 后重新导入）")
    return None, None, None


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(?:天|d))?\s*(?:(\d+(?:\.\d+)?)\s*(?:小时|时|h))?\s*"
                       r"(?:(\d+(?:\.\d+)?)\s*(?:分钟|分|min|m))?\s*(?:(\d+(?:\.\d+)?)\s*(?:秒|s))?\s*$", re.I)
_CLOCK = re.compile(r"^\s*(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\s*$")


def seconds_from_text(value) -> float | None:
    """A duration as the platforms write it: ``2分30秒``, ``7小时41分52秒``, ``36秒``, ``00:02:30``;
    a plain number is returned as is (its unit is the column's). None when it is none of these."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    text = str(value).strip()
    try:
        return float(text.replace(",", ""))
    except ValueError:
        pass
    clock = _CLOCK.match(text)
    if clock:
        h, m, s = clock.groups()
        return int(h) * 3600 + int(m) * 60 + float(s or 0)
    match = _DURATION.match(text)
    if match and any(match.groups()):
        d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        return d * 86400 + h * 3600 + m * 60 + s
    return None


def is_placeholder(value) -> bool:
    """A cell the platform left without a figure (``-``, ``延迟统计``, empty): missing, never 0."""
    return value is None or (isinstance(value, str) and value.strip() in PLACEHOLDERS)


def cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


# -- who sent it -----------------------------------------------------------------------------
def shop_account(nick: str) -> bool:
    """``店铺名:子账号`` (either colon): one of the shop's own accounts."""
    return ":" in nick.replace("：", ":") and not nick.replace("：", ":").startswith(":")


@dataclass(frozen=True)
class Sender:
    """The rule for chat logs that name senders by nickname: the shop's accounts (``店铺:子账号``)
    are agents, robots by name; the buyer of the window is the buyer; lines such as 转交/撤回 are system.
    The store's own agent list (agents.kind) overrides this at import."""

    robot_names: tuple[str, ...]

    def is_robot(self, nick: str) -> bool:
        sub = nick.replace("：", ":").split(":", 1)[-1].strip()
        return any(sub == r or nick.strip() == r for r in self.robot_names) or "机器人" in nick

    def role(self, nick: str | None, buyer: str | None) -> str:
        if not nick:
            return "system"
        if buyer is not None and nick == buyer:
            return "buyer"
        if self.is_robot(nick):
            return "robot"
        if shop_account(nick):
            return "agent"
        return "buyer"


_SYSTEM_LINES = (re.compile(r"^由\s*\S+\s*转交给"), re.compile(r"撤回了一条消息$"), re.compile(r"^系统[:：]"),
                 re.compile(r"^(已读|未读|发送中)$"), re.compile(r"^(买家|客户|用户)已(离开|下线)"))


# A chat message longer than this is not a message (a pasted file, a broken export): the file is refused.
MAX_MESSAGE_CHARS = 20_000


def check_length(shown: str, line: int, text: str | None) -> None:
    if text is not None and len(text) > MAX_MESSAGE_CHARS:
        raise ImportFailed(f"{shown} 第 {line} 行: 一条消息长 {len(text):,} 个字符，超过上限 {MAX_MESSAGE_CHARS:,}"
                           "（文件可能损坏或粘贴了别的内容）")


def system_line(text: str) -> bool:
    """A line the page writes itself (transfers, recalls, read receipts): a system message."""
    return any(p.search(text.strip()) for p in _SYSTEM_LINES)


# -- reading files ---------------------------------------------------------------------------
def _check_size(path: Path, shown: str, limits: Limits | None) -> None:
    if limits is None:
        return
    limits.check_file_size(shown, path.stat().st_size)
    if path.suffix.lower() == ".xlsx" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            limits.check_expanded(shown, sum(info.file_size for info in archive.infolist()))


def read_grid(path: Path, shown: str, limits: Limits | None = None, rows: int | None = None) -> dict[str, list[list]]:
    """Every sheet of an .xlsx or .xls as rows of cell values (python-calamine reads both; trailing
    empty cells are kept so that positions line up). ``rows``: at most that many rows per sheet."""
    from python_calamine import CalamineWorkbook

    _check_size(path, shown, limits)
    if path.suffix.lower() == ".csv":
        return {"csv": _csv_grid(path, shown, limits, rows)}
    try:
        book = CalamineWorkbook.from_path(str(path))
        out = {}
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            data = sheet.to_python(skip_empty_area=False, nrows=rows) if rows else sheet.to_python(skip_empty_area=False)
            if limits is not None and len(data) > limits.max_rows:
                raise ImportFailed(f"{shown}（{name}）: 超过单个文件的行数上限 {limits.max_rows:,} 行"
                                   "（可用环境变量 INSIGHT_MAX_ROWS 调整）")
            out[name] = [[None if c == "" else c for c in row] for row in data]
        return out
    except ImportFailed:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise ImportFailed(f"{shown}: 无法读取表格文件（{type(exc).__name__}: {str(exc)[:120]}）") from None


def decode_text(raw: bytes, shown: str, partial: bool = False) -> str:
    """Text as shops' files come: UTF-8 (a BOM or not), else GBK/GB18030. ``partial``: ``raw`` is the start of a
    file, and a character cut at its end is dropped, not an error."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            if partial and encoding == "utf-8-sig" and exc.start > len(raw) - 4:
                return raw[:exc.start].decode(encoding)
    raise ImportFailed(f"{shown}: 无法识别的编码（应为 UTF-8 或 GBK）")


def _csv_grid(path: Path, shown: str, limits: Limits | None, rows: int | None) -> list[list]:
    """A CSV report (UTF-8 or GBK) as rows of text cells, its delimiter taken from the first lines."""
    import csv
    import io

    with open(path, "rb") as fh:  # a first look reads the start only
        raw = fh.read(1 << 20) if rows else fh.read()
    text = decode_text(raw, shown, partial=bool(rows))
    head = text[:4096]
    delim = max((",", "\t", ";", "|"), key=head.count)
    out = []
    try:
        for row in csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")), delimiter=delim):
            out.append([c if c.strip() else None for c in row])
            if rows and len(out) >= rows:
                break
            if limits is not None and len(out) > limits.max_rows:
                raise ImportFailed(f"{shown}: 超过单个文件的行数上限 {limits.max_rows:,} 行（可用环境变量 INSIGHT_MAX_ROWS 调整）")
    except csv.Error as exc:
        raise ImportFailed(f"{shown} 第 {len(out) + 1} 行: CSV 格式错误（{exc}）") from None
    return out


def read_json(path: Path, shown: str, limits: Limits | None = None):
    """A JSON document, or NDJSON (one record per line) as a list."""
    _check_size(path, shown, limits)
    text = decode_text(path.read_bytes(), shown)
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except RecursionError:
                raise ImportFailed(f"{shown} 第 {number} 行: JSON 嵌套过深") from None
            except ValueError as exc:
                if not isinstance(exc, json.JSONDecodeError):
                    raise ImportFailed(f"{shown} 第 {number} 行: JSON 中有无法读取的值（{str(exc)[:80]}）") from None
                raise
            except json.JSONDecodeError as exc:
                if number == 1:
                    raise ImportFailed(f"{shown} 第 {first.lineno} 行第 {first.colno} 列: 不是有效的 JSON"
                                       f"（{first.msg}）") from None
                raise ImportFailed(f"{shown} 第 {number} 行第 {exc.colno} 列: 不是有效的 JSON（{exc.msg}）") from None
        return records
    except RecursionError:
        raise ImportFailed(f"{shown}: JSON 嵌套过深") from None
    except ValueError as exc:  # a number of thousands of digits, a lone surrogate
        raise ImportFailed(f"{shown}: JSON 中有无法读取的值（{str(exc)[:80]}）") from None
