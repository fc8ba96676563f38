"""The platforms' report downloads as they are: the header may sit below banner rows, summary rows
(汇总值, 店铺平均值, 同行同层…) and blank rows are left out and counted, durations come as
``2分30秒``, placeholders (``-``, ``延迟统计``) mean no figure, the day is often only in the file
name, and a shop may be named by its display name. Which report it is comes from
``platform_reports.yaml`` (or a definition edited in the store)."""

from __future__ import annotations

from insight.core.errors import ImportFailed
from insight.core.schema import SHOP_LEVEL_AGENT
from insight.ingest._headers import header_key
from insight.ingest.layouts._base import (
    SUMMARY_LABELS,
    Converted,
    Layout,
    LayoutContext,
    MissingDay,
    Probe,
    cell_text,
    day_from_name,
    is_placeholder,
    read_grid,
    seconds_from_text,
)

__all__ = ["PlatformReport", "SHOP_LEVEL_AGENT", "find_report"]

HEADER_SEARCH_ROWS = 15
_DURATION_UNIT = {"seconds": 1, "minutes": 60, "hours": 3600}


def _plain_number(text: str) -> bool:
    """A number as written in the column's own unit (``1.5`` in a 分钟 column stays 1.5 minutes)."""
    try:
        float(text.replace(",", "").strip())
        return True
    except ValueError:
        return False


def _headers(row) -> list[str]:
    return [str(c).strip() if c is not None else "" for c in (row or [])]


def find_report(grid: list[list], defs) -> tuple[int, object] | None:
    """(row index of the header, the report) for the best-matching definition in the first rows."""
    best, best_n = None, 2
    for i, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        have = {header_key(h) for h in _headers(row) if h}
        if len(have) < 3:
            continue
        for defn in defs:
            if defn.level != "shop" and not any(header_key(a) in have for a in defn.agent):
                continue
            n = sum(1 for m in defn.metrics if header_key(m.header) in have)
            if n > best_n:
                best, best_n = (i, defn), n
    return best


def _index(headers: list[str], names) -> int | None:
    keys = [header_key(h) for h in headers]
    for name in names:
        if header_key(name) in keys:
            return keys.index(header_key(name))
    return None


class PlatformReport(Layout):
    key = "platform_report"
    label = "平台客服报表"
    source = "platform_reports.yaml（每种报表注明来源）"
    table = "platform_reports"

    def __init__(self, defs=None):
        self._defs = defs

    def defs(self, con=None):
        from insight.ingest.reports import report_defs

        return self._defs if self._defs is not None else report_defs(con)

    def sniff(self, probe: Probe) -> bool:
        return any(find_report(rows, self.defs()) for rows in probe.sheets.values())

    def convert(self, probe: Probe, ctx: LayoutContext, defs=None) -> Converted:
        defs = defs or self.defs()
        grids = read_grid(probe.path, probe.name, ctx.limits)
        found = next(((name, hit) for name, rows in grids.items() if (hit := find_report(rows, defs))), None)
        if found is None:
            raise ImportFailed(f"{probe.name}: 不是已知的平台客服报表（见 platform_reports.yaml；可在数据管理中定义新报表）")
        sheet, (at, defn) = found
        grid = grids[sheet]
        out = Converted(self.key, defn.name, report=defn.key)
        headers = _headers(grid[at])
        agent_col = _index(headers, defn.agent)
        nick_col = _index(headers, defn.nickname) if defn.nickname else None
        day_col = _index(headers, defn.day)
        shop_col = _index(headers, defn.shop)
        figures = [(i, m, _index(headers, [m.header])) for i, m in enumerate(defn.metrics)]
        figures = [(i, m, c) for i, m, c in figures if c is not None]
        used = {c for c in (agent_col, nick_col, day_col, shop_col) if c is not None} | {c for _, _, c in figures}
        out.ignored = [h for c, h in enumerate(headers) if h and c not in used]
        if at:
            out.notes.append(f"表头在第 {at + 1} 行（其上 {at} 行为说明或空行，已跳过）")
        day = self._file_day(probe, ctx, out, defn, day_col)
        label_cols = [c for c in (agent_col, nick_col, shop_col, 0) if c is not None]
        shop = self._named_shop(probe, ctx, out, defn) if shop_col is None else None
        rows, summaries = [], []
        for number, row in enumerate(grid[at + 1:], start=at + 2):
            cells = list(row) + [None] * (len(headers) - len(row))
            if all(is_placeholder(c) for c in cells):
                out.exclude("空行")
                continue
            if _headers(cells) == headers:
                out.exclude("重复的表头行")
                continue
            labels = {str(cells[c]).strip() for c in label_cols if cells[c] is not None}
            if labels & set(SUMMARY_LABELS):
                out.exclude("汇总/平均/同行行")
                summaries.extend(sorted(labels & set(SUMMARY_LABELS)))
                continue
            out.read += 1
            agent = SHOP_LEVEL_AGENT if defn.level == "shop" else (
                cell_text(cells[agent_col]) or (cell_text(cells[nick_col]) if nick_col is not None else None))
            record = {"_line": number, "agent": agent.strip() if agent else None,
                      "day": cell_text(cells[day_col]) if day_col is not None else day,
                      "shop_id": self._shop(cells[shop_col], ctx) if shop_col is not None else shop}
            for i, m, c in figures:
                record[f"m{i}"] = self._value(cells[c], m.kind)
            rows.append(record)
        if summaries:
            out.notes.append("未作为客服导入的汇总行: " + "、".join(dict.fromkeys(summaries)))
        if not rows:
            out.notes.append("报表中没有客服（或店铺）数据行")
        out.tables["platform_reports"] = rows
        return out

    @staticmethod
    def _value(value, kind: str) -> str | None:
        """A cell as the report import reads it: durations in the column's own unit, placeholders None."""
        if is_placeholder(value):
            return None
        if kind in _DURATION_UNIT and isinstance(value, str) and not _plain_number(value):
            seconds = seconds_from_text(value)
            if seconds is not None:
                return repr(seconds / _DURATION_UNIT[kind])
        if isinstance(value, float):
            return repr(value)
        return cell_text(value)

    @staticmethod
    def _shop(value, ctx: LayoutContext) -> str | None:
        """A shop column holds the id or the display name (抖音 接待量: 店铺名称); the import resolves it."""
        text = cell_text(value)
        return text.strip() if text else ctx.shop

    @staticmethod
    def _named_shop(probe: Probe, ctx: LayoutContext, out: Converted, defn) -> str | None:
        """The shop of a report without a shop column: --shop; else the import finds it once the shops are
        in (the registered shop whose display name the file name holds, else the store's only shop)."""
        if ctx.shop:
            return ctx.shop
        out.notes.append("报表没有店铺列：店铺按文件名中的店铺名称认定（数据库只有一个店铺时即为该店铺）")
        return None

    @staticmethod
    def _file_day(probe: Probe, ctx: LayoutContext, out: Converted, defn, day_col) -> str | None:
        """The report's day when it has no day column: the file name's (one day), else the day named at
        import (--day), which never overrides the file's own, so that daily files keep their days."""
        if day_col is not None:
            return None
        first, last, note = day_from_name(probe.name, ctx.today)
        if first is not None and first == last:
            out.notes.append(note or f"报表日期取自文件名: {first}")
            return first.isoformat()
        if first is not None and ctx.day is None:
            raise ImportFailed(f"{probe.name}: {defn.name}覆盖 {first} 至 {last} 多天，报表只给出合计、不能拆到每一天："
                               "请按天下载（每天一个文件），或用 --day 指明记在哪一天")
        if ctx.day is not None:
            out.day_used = True
            out.notes.append(f"报表覆盖 {first} 至 {last}，按指定的 {ctx.day} 记录" if first is not None
                             else f"报表日期按指定的 {ctx.day} 记录")
            return ctx.day.isoformat()
        raise MissingDay(f"{probe.name}: {defn.name}没有日期列，文件名里也没有日期：缺少报表日期，"
                         "请用 --day YYYY-MM-DD 指明（数据管理中选择报表日期）")
