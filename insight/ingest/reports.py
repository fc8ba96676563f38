"""The platforms' per-agent report exports (淘宝客服绩效, 飞鸽客服数据, …): a second tier of figures.

A report file is recognised by its header (platform_reports.yaml), read under generated column names
like every file, turned into one row per (shop, agent, day, metric) and merged into
``platform_reports``. Its figures stay the platform's own (平台口径): they are never added to our parts.
Bad values reject their line with the file, line, column and why; a repeated import changes nothing;
a revised export replaces the figures it revises.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from insight.core.access import outside_scope_sql
from insight.core.errors import ImportFailed, UsageError
from insight.core.schema import REPORT_TABLE
from insight.ingest._headers import header_key

__all__ = ["ReportMetric", "ReportDef", "PLACEHOLDERS", "report_defs", "builtin_report_defs", "save_report_def", "detect_report", "USES", "editor_rows",
           "report_def_from_rows", "editor_frame",
           "rows_from_editor", "EDITOR_COLUMNS", "report_mapping", "REPORT_TABLE",
           "KINDS"]

KINDS = ("count", "amount", "rate", "seconds", "minutes", "hours", "number")
# What one row of a report is about: an agent (客服绩效), the whole shop (快手 考核数据), or an item (商品咨询).
LEVELS = ("agent", "shop", "item")
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
    level: str = "agent"
    nickname: tuple[str, ...] = ()  # a second name column (客服昵称 beside 客服账号): summary rows may say it there

    def metric(self, header: str) -> ReportMetric | None:
        """The figure a file column is, its header compared as headers are matched."""
        return next((m for m in self.metrics if header_key(m.header) == header_key(header)), None)

    def to_dict(self) -> dict:
        """The YAML entry's shape (what the store keeps for an edited report)."""
        return {"key": self.key, "name": self.name, "platform": self.platform, "agent": list(self.agent),
                "day": list(self.day), "shop": list(self.shop), "level": self.level, "nickname": list(self.nickname),
                "metrics": {m.header: {k: v for k, v in (("kind", m.kind), ("weight", m.weight),
                                                           ("matches", m.matches), ("definition", m.definition))
                                       if v is not None} for m in self.metrics}}

    @classmethod
    def from_dict(cls, r: dict) -> "ReportDef":
        """A definition from its YAML/stored shape, checked: kinds known, matched metrics in the
        registry, weights among the figures."""
        from insight.metrics.registry import registry

        known = {m.key for m in registry()}
        metrics = tuple(ReportMetric(str(h), **spec) for h, spec in r["metrics"].items())
        headers = {m.header for m in metrics}
        for m in metrics:
            if m.kind not in KINDS:
                raise UsageError(f"{r['name']}: “{m.header}”的类型 {m.kind!r} 不是 {', '.join(KINDS)} 之一")
            if m.matches is not None and m.matches not in known:
                raise UsageError(f"{r['name']}: “{m.header}”对应的指标 {m.matches!r} 不存在")
            if m.weight is not None and m.weight not in headers:
                raise UsageError(f"{r['name']}: “{m.header}”的分母列“{m.weight}”不在报表的指标列中")
        level = str(r.get("level") or "agent")
        if level not in LEVELS:
            raise UsageError(f"{r['name']}: level 应为 {', '.join(LEVELS)} 之一")
        if not r.get("agent") and level != "shop":
            raise UsageError(f"{r['name']}: 需要客服列")
        return cls(str(r["key"]), str(r["name"]), str(r["platform"]), tuple(r.get("agent") or ()),
                   tuple(r.get("day") or ()), tuple(r.get("shop") or ()), metrics, level,
                   tuple(r.get("nickname") or ()))


@functools.cache
def builtin_report_defs() -> tuple[ReportDef, ...]:
    raw = yaml.safe_load((Path(__file__).with_name("platform_reports.yaml")).read_text(encoding="utf-8"))
    return tuple(ReportDef.from_dict(r) for r in raw["reports"])


def report_defs(con=None) -> tuple[ReportDef, ...]:
    """The report definitions: edited ones saved in the store (``con``) win over the built-in ones
    with the same key; new ones follow."""
    stored = {}
    if con is not None:
        for (blob,) in con.execute("SELECT mapping FROM mapping_presets WHERE table_name = ? ORDER BY saved_at",
                                   [REPORT_TABLE]).fetchall():
            defn = ReportDef.from_dict(json.loads(blob))
            stored[defn.key] = defn
    out = [stored.pop(d.key, d) for d in builtin_report_defs()]
    return tuple(out + list(stored.values()))


def save_report_def(con, defn: ReportDef) -> None:
    """Keep an edited (or new) report definition in the store, under its name."""
    ReportDef.from_dict(defn.to_dict())  # checked as any definition
    con.execute("DELETE FROM mapping_presets WHERE table_name = ? AND json_extract_string(mapping, '$.key') = ?",
                [REPORT_TABLE, defn.key])
    con.execute("INSERT OR REPLACE INTO mapping_presets VALUES (?, ?, ?, ?)",
                [defn.name, REPORT_TABLE, json.dumps(defn.to_dict(), ensure_ascii=False), dt.datetime.now()])


# What a report column is, as the data page's editor names it.
USES = {"": "（不导入）", "agent": "客服", "day": "日期", "shop": "店铺", "count": "人数/次数", "amount": "金额（元）",
        "rate": "比率", "seconds": "时长（秒）", "minutes": "时长（分钟）", "hours": "时长（小时）", "number": "数值"}


def editor_rows(defn: ReportDef, headers: list[str]) -> list[dict]:
    """One row per file column — header, use (a USES key), the registry metric it matches, its weight
    column — as ``defn`` reads the file: where the editor starts."""
    rows = []
    for h in headers:
        use, matches, weight = "", None, None
        if _find([h], defn.agent):
            use = "agent"
        elif _find([h], defn.day):
            use = "day"
        elif _find([h], defn.shop):
            use = "shop"
        else:
            m = defn.metric(h)
            if m is not None:
                use, matches, weight = m.kind, m.matches, m.weight and _find(headers, [m.weight])
        rows.append({"header": h, "use": use, "matches": matches, "weight": weight})
    return rows


def report_def_from_rows(base: ReportDef, rows: list[dict]) -> ReportDef:
    """``base`` with its columns as the editor's ``rows`` say (checked like any definition); the names
    it knew for the agent, day and shop stay known."""
    picked = {use: [r["header"] for r in rows if r.get("use") == use] for use in ("agent", "day", "shop")}
    metrics = {}
    for r in rows:
        if r.get("use") in KINDS:
            spec = {"kind": r["use"]}
            if r.get("matches"):
                spec["matches"] = r["matches"]
            if r.get("weight"):
                spec["weight"] = r["weight"]
            old = base.metric(r["header"])
            if old is not None and old.definition:
                spec["definition"] = old.definition
            metrics[r["header"]] = spec
    if len(picked["agent"]) != 1:
        raise UsageError("请指定且只指定一列为“客服”")
    data = base.to_dict()
    data.update(agent=picked["agent"] + [a for a in base.agent if a not in picked["agent"]],
                day=picked["day"] + [d for d in base.day if d not in picked["day"]],
                shop=picked["shop"] + [x for x in base.shop if x not in picked["shop"]], metrics=metrics)
    return ReportDef.from_dict(data)


EDITOR_COLUMNS = {"header": "列", "use": "用途", "matches": "对应指标", "weight": "分母列"}


def editor_frame(defn: ReportDef, headers: list[str]):
    """``editor_rows`` as the data page's table shows them: Chinese uses and metric names."""
    import pandas as pd

    from insight.metrics.registry import registry

    names = {m.key: m.name for m in registry()}
    rows = [{"header": r["header"], "use": USES[r["use"]], "matches": names.get(r["matches"]), "weight": r["weight"]}
            for r in editor_rows(defn, headers)]
    return pd.DataFrame(rows, columns=list(EDITOR_COLUMNS)).rename(columns=EDITOR_COLUMNS)


def rows_from_editor(frame) -> list[dict]:
    """The data page's edited table back to ``report_def_from_rows``'s rows."""
    from insight.metrics.registry import registry

    keys = {m.name: m.key for m in registry()}
    uses = {label: use for use, label in USES.items()}
    back = {v: k for k, v in EDITOR_COLUMNS.items()}
    out = []
    for r in frame.rename(columns=back).to_dict("records"):
        out.append({"header": r["header"], "use": uses.get(r["use"] or "", ""),
                    "matches": keys.get(r["matches"]) if isinstance(r["matches"], str) else None,
                    "weight": r["weight"] if isinstance(r["weight"], str) and r["weight"] else None})
    return out


def _find(headers: list[str], names) -> str | None:
    free = {header_key(h): h for h in headers}
    return next((free[header_key(n)] for n in names if header_key(n) in free), None)


def detect_report(headers: list[str], con=None) -> ReportDef | None:
    """The report a header belongs to: its agent column and at least three of its figures (the best
    match wins; definitions edited in the store ``con`` count)."""
    best, best_n = None, 2
    for defn in report_defs(con):
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
    return (f"CASE WHEN {_is_blank(raw)} THEN NULL "
            f"WHEN kind = 'rate' THEN CASE WHEN ends_with({raw}, '%') OR {num} > 1 THEN {num} / 100 ELSE {num} END "
            f"WHEN kind = 'minutes' THEN coalesce({num}, {clock} / 60) * 60 "
            f"WHEN kind = 'hours' THEN coalesce({num}, {clock} / 3600) * 3600 "
            f"WHEN kind = 'seconds' THEN coalesce({num}, {clock}) "
            f"WHEN ends_with({raw}, '%') THEN {num} / 100 ELSE {num} END")


# What a report cell holds where the platform gave no figure: missing, never 0 (the layouts read cells by it too).
PLACEHOLDERS = ("", "-", "--", "—", "——", "/", "N/A", "n/a", "null", "NULL", "延迟统计", "暂无", "暂无数据", "无")


def _is_blank(raw: str) -> str:
    """A figure the platform did not give: empty or a placeholder (the constants above, quoted)."""
    words = ", ".join("'" + p.replace("'", "''") + "'" for p in PLACEHOLDERS if p)
    return f"({raw} IS NULL OR {raw} IN ({words}))"


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

    def _resolve_shops(self) -> None:
        """A report's shop as written — the id, or the display name (抖音 接待量: 店铺名称) — becomes the id;
        a report without a shop column takes the registered shop whose display name its file name holds,
        else the store's only shop. A name two shops share resolves to none (the line is rejected)."""
        self.imp._sql("""UPDATE _rp_raw r SET r_shop = coalesce(
                (SELECT shop_id FROM shops s WHERE s.shop_id = r.r_shop),
                (SELECT CASE WHEN count(*) = 1 THEN any_value(shop_id) END FROM shops s WHERE s.shop_name = r.r_shop),
                CASE WHEN r.r_shop IS NULL THEN coalesce(
                    (SELECT CASE WHEN count(*) = 1 THEN any_value(s.shop_id) END FROM shops s, _files f
                     WHERE f.idx = r._file_idx AND length(s.shop_name) > 0 AND strpos(f.path, s.shop_name) > 0
                       AND NOT EXISTS (SELECT 1 FROM shops o WHERE o.shop_id <> s.shop_id
                                       AND strpos(o.shop_name, s.shop_name) > 0 AND strpos(f.path, o.shop_name) > 0)),
                    (SELECT CASE WHEN count(*) = 1 THEN any_value(shop_id) END FROM shops)) END,
                r.r_shop)""")

    def merge(self, import_id: int, rep) -> None:
        """Validate, reject and merge every report file; counts (by line) go to ``rep``."""
        if not self.files:
            return
        imp, con = self.imp, self.con
        con.execute("""CREATE OR REPLACE TEMP TABLE _rp_defs (_file_idx INTEGER, k INTEGER, metric VARCHAR,
            kind VARCHAR, weight VARCHAR, matches VARCHAR, definition VARCHAR, report VARCHAR, platform VARCHAR,
            level VARCHAR)""")
        con.executemany("INSERT INTO _rp_defs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [idx, i, m.header, m.kind, m.weight, m.matches, m.definition, d.key, d.platform, d.level]
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
        self._resolve_shops()
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
                UNION ALL SELECT _file_idx, _line, 1, 'shop_id',
                    '缺少店铺：报表没有店铺列，文件名中也没有已登记店铺的名称（请用 --shop 指明，数据管理中选择店铺）'
                    FROM _rp WHERE r_shop IS NULL
                UNION ALL SELECT _file_idx, _line, 2, 'shop_id', '未知的店铺 ''' || r_shop || '''（先导入 shops 表）'
                    FROM _rp WHERE r_shop IS NOT NULL AND known_shop IS NULL
                UNION ALL SELECT _file_idx, _line, 3, 'day', '日期为空' FROM _rp WHERE r_day IS NULL
                UNION ALL SELECT _file_idx, _line, 4, 'day', '无法识别的日期 ''' || left(r_day, 60) || '''（应为 YYYY-MM-DD）'
                    FROM _rp WHERE r_day IS NOT NULL AND day IS NULL
                UNION ALL SELECT _file_idx, _line, 5, 'day', '日期 ' || CAST(day AS VARCHAR) || ' 超出可接受的范围 ' || $window
                    FROM _rp WHERE CAST(day AS TIMESTAMP) NOT BETWEEN (SELECT lo FROM _window) AND (SELECT hi FROM _window)
                UNION ALL SELECT _file_idx, _line, 10 + k, metric,
                    '无法识别的数值 ''' || left(r_value, 60) || '''（' || metric || '）'
                    FROM _rp WHERE NOT {_is_blank('r_value')} AND value IS NULL)
            GROUP BY ALL""", {"window": imp.store.limits.window_text()})
        if imp.allowed_shops is not None:
            # A supervisor's import: other shops' lines are rejected with this reason alone, whether the
            # shop exists or not (未知店铺 would tell).
            imp._sql("""CREATE OR REPLACE TEMP TABLE _rp_out AS SELECT DISTINCT _file_idx, _line, r_shop AS shop_id
                FROM _rp WHERE r_shop IS NOT NULL AND r_shop NOT IN (SELECT unnest(?::VARCHAR[]))""",
                     [imp.allowed_shops])
            imp._sql("DELETE FROM _rp_bad WHERE (_file_idx, _line) IN (SELECT _file_idx, _line FROM _rp_out)")
            imp._sql(f"INSERT INTO _rp_bad SELECT _file_idx, _line, 'shop_id', {outside_scope_sql('r_shop')} FROM _rp_out")
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
                p.weight, p.matches, p.definition, f.path AS source_file, p._file_idx, p._line, p.level
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
        imp._sql(f"""INSERT INTO {REPORT_TABLE} (shop_id, agent, day, report, platform, metric, value, kind, weight,
                   matches, definition, source_file, _import_id, level)
            SELECT o.shop_id, o.agent, o.day, o.report, o.platform, o.metric, o.value, o.kind, o.weight, o.matches,
                   o.definition, o.source_file, ?, o.level
            FROM _rp_ok o JOIN _rp_status st USING (_file_idx, _line, metric)
            WHERE st.status <> 'same'""", [import_id])
        rep.read = int(con.execute("SELECT count(DISTINCT (_file_idx, _line)) FROM _rp_raw").fetchone()[0])
        rep.inserted += int(lines[1])
        rep.updated += int(lines[2])
        rep.unchanged += int(lines[0] - lines[1] - lines[2])
        for name in ("_rp_defs", "_rp_day", "_rp_raw", "_rp", "_rp_bad", "_rp_ok", "_rp_status"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
