"""The platforms' per-agent report exports (淘宝客服绩效, 飞鸽客服数据, …): a second tier of figures.

A report file is recognised by its header (platform_reports.yaml), read under generated column names
like every file, turned into one row per (shop, agent, day, metric) and merged into
``platform_reports``. Its figures stay the platform's own (平台口径): they are never added to our parts.
Bad values reject their line with the file, line, column and why; a repeated import changes nothing;
a revised export replaces the figures it revises.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from insight.core.errors import ImportFailed
from insight.core.schema import REPORT_TABLE

__all__ = ["ReportMetric", "ReportDef", "report_defs", "detect_report", "report_mapping", "REPORT_TABLE",
           "KINDS"]

KINDS = ("count", "amount", "rate", "seconds", "minutes", "number")
# Figures that add up over days without a weight.
ADDITIVE_KINDS = ("count", "amount")


@dataclass(frozen=True)
class ReportMetric:
    header: str
    kind: str
    weight: str | None = None  # the header this figure is per (a rate's denominator)
    matches: str | None = None  # the registry metric it corresponds to
    definition: str | None = None


@dataclass(frozen=True)
class ReportDef:
    key: str
    name: str
    platform: str
    agent: tuple[str, ...]
    day: tuple[str, ...]
    shop: tuple[str, ...]
    metrics: tuple[ReportMetric, ...]

    def metric(self, header: str) -> ReportMetric:
        return next(m for m in self.metrics if m.header == header)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-（）():：]+", "", str(text).strip().lstrip("\ufeff").lower())


@functools.cache
def report_defs() -> tuple[ReportDef, ...]:
    from insight.metrics.registry import registry

    raw = yaml.safe_load((Path(__file__).with_name("platform_reports.yaml")).read_text(encoding="utf-8"))
    known = {m.key for m in registry()}
    out = []
    for r in raw["reports"]:
        metrics = tuple(ReportMetric(str(h), **spec) for h, spec in r["metrics"].items())
        for m in metrics:
            assert m.kind in KINDS, (r["key"], m.header, m.kind)
            assert m.matches is None or m.matches in known, (r["key"], m.header, m.matches)
            assert m.weight is None or any(w.header == m.weight for w in metrics), (r["key"], m.header)
        out.append(ReportDef(r["key"], r["name"], r["platform"], tuple(r["agent"]), tuple(r.get("day", ())),
                             tuple(r.get("shop", ())), metrics))
    return tuple(out)


def _find(headers: list[str], names) -> str | None:
    free = {_norm(h): h for h in headers}
    return next((free[_norm(n)] for n in names if _norm(n) in free), None)


def detect_report(headers: list[str]) -> ReportDef | None:
    """The report a header belongs to: its agent column and at least three of its figures (the best
    match wins)."""
    best, best_n = None, 2
    for defn in report_defs():
        if _find(headers, defn.agent) is None:
            continue
        n = sum(1 for m in defn.metrics if _find(headers, [m.header]) is not None)
        if n > best_n:
            best, best_n = defn, n
    return best


def report_mapping(defn: ReportDef, headers: list[str]) -> tuple[tuple[str, str], ...]:
    """(file header, staged name): ``agent``, ``day``, ``shop_id`` and ``m<i>`` for the i-th figure."""
    pairs = []
    for target, names in (("agent", defn.agent), ("day", defn.day), ("shop_id", defn.shop)):
        hit = _find(headers, names)
        if hit is not None:
            pairs.append((hit, target))
    for i, m in enumerate(defn.metrics):
        hit = _find(headers, [m.header])
        if hit is not None:
            pairs.append((hit, f"m{i}"))
    return tuple(pairs)


def _value_sql(raw: str) -> str:
    """A figure as written (95.2%, 0.952, 1,234.50, ¥12, 00:01:23, -) → a number; the kind decides
    the unit: rates as shares, minutes as seconds. '-' and empty mean "not given" (NULL)."""
    num = (f"try_cast(replace(replace(replace(replace(rtrim({raw}, '%'), ',', ''), '¥', ''), '￥', ''), '元', '') "
           "AS DOUBLE)")
    clock = f"epoch(try_cast({raw} AS INTERVAL))"
    return (f"CASE WHEN {raw} IS NULL OR {raw} IN ('-', '--', '—', '/', 'N/A', 'n/a') THEN NULL "
            f"WHEN kind = 'rate' THEN CASE WHEN ends_with({raw}, '%') OR {num} > 1 THEN {num} / 100 ELSE {num} END "
            f"WHEN kind = 'minutes' THEN coalesce({num}, {clock} / 60) * 60 "
            f"WHEN kind = 'seconds' THEN coalesce({num}, {clock}) "
            f"WHEN ends_with({raw}, '%') THEN {num} / 100 ELSE {num} END")


def _is_blank(raw: str) -> str:
    return f"({raw} IS NULL OR {raw} IN ('-', '--', '—', '/', 'N/A', 'n/a'))"


class ReportImport:
    """The report files of one import, inside the importer's transaction (its ``_sql`` guard,
    ``_rej`` table, ``_files`` and ``_import_shop``)."""

    def __init__(self, importer):
        self.imp = importer
        self.con = importer.con
        self.files: list[tuple[int, object, object, ReportDef]] = []

    def add(self, idx: int, src, staged, defn: ReportDef) -> None:
        if "agent" not in staged.columns:
            raise ImportFailed(f"{src.shown} 第 1 行: 没有客服列（{'、'.join(defn.agent)}）")
        if "day" not in staged.columns and self.imp.report_day is None:
            raise ImportFailed(f"{src.shown}: {defn.name}没有日期列，请用 --day YYYY-MM-DD 指明报表日期"
                               "（数据管理中选择报表日期）")
        if "shop_id" not in staged.columns and not self.imp.shop:
            raise ImportFailed(f"{src.shown}: {defn.name}没有店铺列，请用 --shop 店铺ID 指明店铺（数据管理中选择店铺）")
        self.files.append((idx, src, staged, defn))

    def merge(self, import_id: int, rep) -> None:
        """Validate, reject and merge every report file; counts (by line) go to ``rep``."""
        if not self.files:
            return
        imp, con = self.imp, self.con
        con.execute("""CREATE OR REPLACE TEMP TABLE _rp_defs (_file_idx INTEGER, k INTEGER, metric VARCHAR,
            kind VARCHAR, weight VARCHAR, matches VARCHAR, definition VARCHAR, report VARCHAR, platform VARCHAR)""")
        con.executemany("INSERT INTO _rp_defs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [idx, i, m.header, m.kind, m.weight, m.matches, m.definition, d.key, d.platform]
            for idx, _, staged, d in self.files for i, m in enumerate(d.metrics) if f"m{i}" in staged.columns])
        con.execute("CREATE OR REPLACE TEMP TABLE _rp_day AS SELECT CAST(? AS DATE) AS day", [self.imp.report_day])
        parts = []
        for idx, _, staged, defn in self.files:
            col = {name: gen for name, (gen, _) in staged.columns.items()}
            ks = [i for i in range(len(defn.metrics)) if f"m{i}" in col]
            text = lambda g: f"nullif(trim(CAST({g} AS VARCHAR)), '')"  # noqa: E731
            shop = text(col["shop_id"]) if "shop_id" in col else "(SELECT shop_id FROM _import_shop)"
            day = text(col["day"]) if "day" in col else "CAST((SELECT day FROM _rp_day) AS VARCHAR)"
            values = ", ".join(text(col[f"m{i}"]) for i in ks)
            parts.append(f"""SELECT {int(idx)} AS _file_idx, _line, {shop} AS r_shop, {text(col['agent'])} AS r_agent,
                {day} AS r_day, unnest({[*ks]}) AS k, unnest([{values}]) AS r_value FROM {staged.relation}""")
        imp._sql("CREATE OR REPLACE TEMP TABLE _rp_raw AS " + " UNION ALL ".join(parts))
        day_sql = ("coalesce(try_cast(replace(r.r_day, '/', '-') AS DATE), "
                   "CAST(try_strptime(r.r_day, '%Y%m%d') AS DATE), CAST(try_strptime(r.r_day, '%Y年%m月%d日') AS DATE))")
        imp._sql(f"""CREATE OR REPLACE TEMP TABLE _rp AS
            SELECT r._file_idx, r._line, r.r_shop, r.r_agent, r.r_day, r.r_value, d.*, sh.shop_id AS known_shop,
                {day_sql} AS day, {_value_sql('r.r_value')} AS value
            FROM _rp_raw r JOIN _rp_defs d USING (_file_idx, k) LEFT JOIN shops sh ON sh.shop_id = r.r_shop""")
        # One reason per line, the first broken rule in column order.
        imp._sql(f"""CREATE OR REPLACE TEMP TABLE _rp_bad AS
            SELECT _file_idx, _line, arg_min(col, ord) AS col, arg_min(reason, ord) AS reason FROM (
                SELECT _file_idx, _line, 0 AS ord, 'agent' AS col, '客服为空' AS reason FROM _rp WHERE r_agent IS NULL
                UNION ALL SELECT _file_idx, _line, 1, 'shop_id', '店铺为空' FROM _rp WHERE r_shop IS NULL
                UNION ALL SELECT _file_idx, _line, 2, 'shop_id', '未知的店铺 ''' || r_shop || '''（先导入 shops 表）'
                    FROM _rp WHERE r_shop IS NOT NULL AND known_shop IS NULL
                UNION ALL SELECT _file_idx, _line, 3, 'day', '日期为空' FROM _rp WHERE r_day IS NULL
                UNION ALL SELECT _file_idx, _line, 4, 'day', '无法识别的日期 ''' || left(r_day, 60) || '''（应为 YYYY-MM-DD）'
                    FROM _rp WHERE r_day IS NOT NULL AND day IS NULL
                UNION ALL SELECT _file_idx, _line, 10 + k, metric,
                    '无法识别的数值 ''' || left(r_value, 60) || '''（' || metric || '）'
                    FROM _rp WHERE NOT {_is_blank('r_value')} AND value IS NULL)
            GROUP BY ALL""")
        # Two lines with the same (shop, agent, day, figure) and different values: both are rejected.
        imp._sql("""INSERT INTO _rp_bad
            SELECT DISTINCT p._file_idx, p._line, 'agent', '同一店铺、客服、日期在本次导入中出现多次且数值不同'
            FROM _rp p JOIN (SELECT known_shop, r_agent, day, report, metric FROM _rp WHERE value IS NOT NULL
                             GROUP BY ALL HAVING count(DISTINCT value) > 1) d
              USING (known_shop, r_agent, day, report, metric)
            WHERE NOT EXISTS (SELECT 1 FROM _rp_bad b WHERE b._file_idx = p._file_idx AND b._line = p._line)""")
        imp._sql("""INSERT INTO _rej SELECT ?, 'platform_reports', f.path, b._line, b.col, b.reason,
                to_json(struct_pack(shop := any_value(p.r_shop), agent := any_value(p.r_agent), day := any_value(p.r_day)))
            FROM _rp_bad b JOIN _files f ON f.idx = b._file_idx
            JOIN _rp p ON p._file_idx = b._file_idx AND p._line = b._line
            GROUP BY b._file_idx, b._line, f.path, b.col, b.reason""", [import_id])
        imp._sql("""CREATE OR REPLACE TEMP TABLE _rp_ok AS
            SELECT DISTINCT ON (known_shop, r_agent, day, report, metric)
                p.known_shop AS shop_id, p.r_agent AS agent, p.day, p.report, p.platform, p.metric, p.value, p.kind,
                p.weight, p.matches, p.definition, f.path AS source_file, p._file_idx, p._line
            FROM _rp p JOIN _files f ON f.idx = p._file_idx
            WHERE p.value IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM _rp_bad b WHERE b._file_idx = p._file_idx AND b._line = p._line)""")
        key = "s.shop_id = o.shop_id AND s.agent = o.agent AND s.day = o.day AND s.report = o.report AND s.metric = o.metric"
        imp._sql(f"""CREATE OR REPLACE TEMP TABLE _rp_status AS
            SELECT o._file_idx, o._line, o.shop_id, o.agent, o.day, o.report, o.metric,
                CASE WHEN s.value IS NULL THEN 'new' WHEN s.value = o.value THEN 'same' ELSE 'update' END AS status
            FROM _rp_ok o LEFT JOIN {REPORT_TABLE} s ON {key}""")
        lines = con.execute("""SELECT count(*), count(*) FILTER (WHERE st = 'new'), count(*) FILTER (WHERE st = 'update')
            FROM (SELECT _file_idx, _line, CASE WHEN bool_or(status = 'update') THEN 'update'
                         WHEN bool_or(status = 'new') THEN 'new' ELSE 'same' END AS st
                  FROM _rp_status GROUP BY ALL)""").fetchone()
        imp._sql(f"""DELETE FROM {REPORT_TABLE} s WHERE EXISTS (
            SELECT 1 FROM _rp_status o WHERE o.status = 'update' AND {key})""")
        imp._sql(f"""INSERT INTO {REPORT_TABLE}
            SELECT o.shop_id, o.agent, o.day, o.report, o.platform, o.metric, o.value, o.kind, o.weight, o.matches,
                   o.definition, o.source_file, ?
            FROM _rp_ok o JOIN _rp_status st USING (_file_idx, _line, metric)
            WHERE st.status <> 'same'""", [import_id])
        rep.read = int(con.execute("SELECT count(DISTINCT (_file_idx, _line)) FROM _rp_raw").fetchone()[0])
        rep.inserted += int(lines[1])
        rep.updated += int(lines[2])
        rep.unchanged += int(lines[0] - lines[1] - lines[2])
        for name in ("_rp_defs", "_rp_day", "_rp_raw", "_rp", "_rp_bad", "_rp_ok", "_rp_status"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
