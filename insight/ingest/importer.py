"""Import a dataset (DATA.md) into the store: validate, reject with reasons, merge, derive.

The whole import is one transaction: if anything fails, or the process is killed,
the store is as it was. Importing the same rows again changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path

import duckdb

from insight import derive
from insight.accounts import audit
from insight.core.access import OUTSIDE_SCOPE, outside_scope_sql
from insight.core.errors import ImportFailed, InsightError
from insight.core.schema import (
    DERIVABLE_KEYS,
    IMPORT_ORDER,
    PLATFORM_LABELS,
    REPORT_TABLE,
    REQUIRED_TABLES,
    TABLES,
    Column,
    Table,
    required_columns,
)
from insight.ingest.readers import SourceFile, Staged, discover, load_staging, read_preview
from insight.ingest.reports import ReportImport
from insight.ingest.roles import ROLE_WORDS, RULE_PARAMS_DDL, RoleRule, nicknames_sql, role_wrap_sql
from insight.present.exports import neutralise_sql
from insight.store import transaction

__all__ = ["import_paths", "import_sources", "ImportReport", "TableReport", "RejectedRow", "layout_context",
           "layout_preview"]

MAX_REASONS = 20
# Batches of messages up to this size are inserted in time order (see validate_and_merge).
SORTED_INSERT_ROWS = 3_000_000

# Values users meet in Chinese platform exports, mapped to the contract's codes.
_ENUM_SYNONYMS: dict[tuple[str, str], dict[str, str]] = {
    ("messages", "sender_role"): ROLE_WORDS,
    ("agents", "kind"): {"人工": "human", "客服": "human", "机器人": "robot"},
    ("evaluations", "invited_by"): {"客服": "agent", "买家": "buyer", "系统": "system", "客服邀评": "agent",
                                    "买家自主": "buyer", "系统邀评": "system"},
    ("shops", "platform"): {label: code for code, label in PLATFORM_LABELS.items()},
    ("refunds", "status"): {"成功": "success", "退款成功": "success", "关闭": "closed", "退款关闭": "closed",
                            "进行中": "open", "处理中": "open"},
    ("refunds", "kind"): {"仅退款": "refund_only", "退货退款": "return_refund", "换货": "exchange"},
    ("escalations", "kind"): {"平台咨询": "platform_consult", "纠纷": "dispute", "投诉": "complaint",
                              "投诉介入": "complaint"},
}
for _key in list(_ENUM_SYNONYMS):
    if _key[0] == "shops":
        _ENUM_SYNONYMS[("peers", _key[1])] = _ENUM_SYNONYMS[_key]


@dataclass
class RejectedRow:
    file: str
    line: int
    column: str
    reason: str


@dataclass
class TableReport:
    table: str
    files: list[str] = field(default_factory=list)
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # identical to a stored row or to another row of this import
    superseded: int = 0  # evaluations: an older version than the one stored
    removed: int = 0  # messages: stored messages of a replaced session that the new export no longer has
    rejected: int = 0
    reasons: list[RejectedRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.read - self.rejected


@dataclass
class ImportReport:
    import_id: int | None
    tables: dict[str, TableReport]
    notes: list[str]
    affected_shops: list[str]
    rejected_dir: str | None = None
    # Per file: the name shown, table, format, and the columns kept aside (generated name → header).
    files: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    # With ``all_reasons``: every rejected line, {table, file, line, column, reason}.
    all_rejects: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(t.inserted or t.updated or t.removed for t in self.tables.values())

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values())

    def to_dict(self) -> dict:
        out = asdict(self)
        for name, t in self.tables.items():
            out["tables"][name]["accepted"] = t.accepted
        return out

    def summary(self) -> str:
        lines = []
        for t in self.tables.values():
            lines.append(
                f"{t.table}: 读取 {t.read}，接受 {t.accepted}（新增 {t.inserted}，更新 {t.updated}，"
                f"未变 {t.unchanged}{f'，旧版本 {t.superseded}' if t.superseded else ''}），拒绝 {t.rejected}"
                + (f"，删除被替换会话中的旧消息 {t.removed}" if t.removed else ""))
            for r in t.reasons[:5]:
                lines.append(f"  - {r.file} 第 {r.line} 行，列 {r.column}: {r.reason}")
            if t.rejected > 5:
                lines.append(f"  … 共 {t.rejected} 行被拒绝")
            if t.ignored_columns:
                lines.append(f"  已忽略未知列: {', '.join(t.ignored_columns)}")
        lines.extend(self.notes)
        if self.rejected_dir and self.rejected:
            lines.append(f"被拒绝的行已保存到 {self.rejected_dir}")
        if not self.changed:
            lines.append("数据库没有变化（所有行都已导入过或被拒绝）")
        return "\n".join(lines)


# -- SQL expression builders -----------------------------------------------------

def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raw(col: str) -> str:
    return f"r_{col}"


def _timestamp_expr(raw: str) -> str:
    """Shop-local wall clock as is; ISO-8601 with an offset converted to the shop's zone."""
    has_offset = (f"(right({raw}, 1) IN ('Z', 'z') OR strpos(substr({raw}, 11), '+') > 0 "
                  f"OR (length({raw}) > 19 AND regexp_matches(substr({raw}, 11), '-\\d{{2}}(:?\\d{{2}})?$')))")
    return (f"CASE WHEN {raw} IS NULL THEN NULL "
            f"WHEN {has_offset} THEN timezone(_tz, try_cast({raw} AS TIMESTAMPTZ)) "
            f"WHEN strpos({raw}, ':') > 0 THEN try_cast(replace({raw}, '/', '-') AS TIMESTAMP) END")


def _rating_expr(raw: str) -> str:
    # Three-level sources (失望/一般/满意) map 满意 to 5; five-level ones map it to 4.
    return (f"CASE {raw} WHEN '非常不满意' THEN 1 WHEN '失望' THEN 1 WHEN '不满意' THEN 2 "
            f"WHEN '一般' THEN 3 WHEN '满意' THEN (CASE WHEN _three_level THEN 5 ELSE 4 END) "
            f"WHEN '非常满意' THEN 5 ELSE "
            f"(CASE WHEN try_cast({raw} AS DOUBLE) BETWEEN 1 AND 5 "
            f"AND try_cast({raw} AS DOUBLE) = floor(try_cast({raw} AS DOUBLE)) "
            f"THEN CAST(try_cast({raw} AS DOUBLE) AS TINYINT) END) END")


def _enum_expr(table: str, col: Column, raw: str) -> str:
    synonyms = _ENUM_SYNONYMS.get((table, col.name), {})
    if not synonyms:
        return f"lower({raw})"
    whens = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in synonyms.items())
    return f"CASE {raw} {whens} ELSE lower({raw}) END"


def _typed_expr(table: str, col: Column) -> str:
    raw = _raw(col.name)
    if col.default is not None:
        raw = f"coalesce({raw}, {_q(col.default)})"
    return {
        "text": raw,
        "enum": _enum_expr(table, col, raw),
        "int": f"try_cast(try_cast({raw} AS DOUBLE) AS INTEGER)",
        "decimal": f"try_cast(replace(replace(replace({raw}, ',', ''), '¥', ''), '￥', '') AS DECIMAL(18,2))",
        "timestamp": f"CASE WHEN n_{col.name} IS NOT NULL THEN n_{col.name} ELSE {_timestamp_expr(raw)} END",
        "date": f"try_cast(replace({raw}, '/', '-') AS DATE)",
        "float": f"try_cast({raw} AS DOUBLE)",
        "rating": _rating_expr(raw),
    }[col.type]


_TYPE_HINT = {
    "int": "整数", "decimal": "金额（数字）", "timestamp": "时间 YYYY-MM-DD HH:MM:SS 或带时区的 ISO-8601",
    "date": "日期 YYYY-MM-DD", "float": "数字", "rating": "1–5 的整数（或 非常不满意/不满意/一般/满意/非常满意/失望）",
}


# Evaluation lists without session ids (生意参谋 邀评明细) have theirs found from the chats (_match_sessions_sql).
_DERIVABLE = {**DERIVABLE_KEYS, "evaluations": ("session_id",)}
# Where in a workbook a converted row came from: shown in the preview, not imported.
_WHERE = {"sheet": "工作表", "sheet_row": "工作表行"}
# How far after a session's last message an invitation may still belong to it.
MATCH_AFTER_HOURS = 24


def _match_sessions_sql(part: str) -> str:
    """Evaluation rows without a session id (``part``, with r_agent_hint and r_served_at) get the chat
    session of that agent — and of that buyer when the buyer is not masked — that contains the reception
    (else the invitation) time, else the latest one before it (within MATCH_AFTER_HOURS). Candidates are
    in ``_eval_sessions``; a row without one keeps a null session and is rejected with the reason."""
    sub = "regexp_replace({x}, '^.*[:：]', '')"
    agent_ok = (f"(p.r_agent_hint IS NULL OR c.agent_id = p.r_agent_hint "
                f"OR {sub.format(x='c.agent_id')} = {sub.format(x='p.r_agent_hint')})")
    buyer_ok = "(p.r_buyer_id IS NULL OR strpos(p.r_buyer_id, '*') > 0 OR c.buyer_id = p.r_buyer_id)"
    at = "coalesce(try_cast(p.r_served_at AS TIMESTAMP), try_cast(p.r_invited_at AS TIMESTAMP))"
    return f"""SELECT * FROM (WITH p AS ({part}),
        m AS (SELECT p._file_idx AS mf, p._line AS ml, c.session_id AS m_session, c.buyer_id AS m_buyer
              FROM p JOIN _eval_sessions c ON c.shop_id = p.r_shop_id AND {agent_ok} AND {buyer_ok}
               AND c.started_at <= {at} + INTERVAL 1 MINUTE
               AND {at} - c.ended_at <= INTERVAL {int(MATCH_AFTER_HOURS)} HOUR
              WHERE p.r_session_id IS NULL
              QUALIFY row_number() OVER (PARTITION BY p._file_idx, p._line ORDER BY
                  CASE WHEN {at} BETWEEN c.started_at - INTERVAL 1 MINUTE AND c.ended_at THEN 0 ELSE 1 END,
                  c.started_at DESC, c.session_id) = 1)
        SELECT p.* EXCLUDE (r_agent_hint, r_served_at) REPLACE (
            coalesce(p.r_session_id, m.m_session) AS r_session_id,
            CASE WHEN p.r_session_id IS NULL AND m.m_buyer IS NOT NULL THEN m.m_buyer ELSE p.r_buyer_id END AS r_buyer_id)
        FROM p LEFT JOIN m ON m.mf = p._file_idx AND m.ml = p._line)"""

# The day from which a row changes derived facts (the derivation widens it by each rule's reach).
# Shops are derived whole when they change; agents change no derived fact (names are joined at query).
_ANCHOR_DAY = {
    "shops": "CAST(NULL AS DATE)",
    "messages": "CAST(sent_at AS DATE)",
    "sessions": "CAST(started_at AS DATE)",
    "evaluations": "CAST(invited_at AS DATE)",
    "orders": "CAST(least(created_at, paid_at) AS DATE)",
    "refunds": "CAST(least(created_at, finished_at) AS DATE)",
    "escalations": "CAST(created_at AS DATE)",
}


def _shown(raw: str) -> str:
    """A cell as quoted in a reason: at most 60 characters."""
    return f"(CASE WHEN length({raw}) > 60 THEN left({raw}, 60) || '…' ELSE {raw} END)"


def _column_checks(table: Table, window: str) -> list[tuple[str, str, str]]:
    """(condition, column, reason SQL) for every per-column rule, in column order. ``window``: the
    accepted times as the reason says them (the bounds themselves are in ``_window``)."""
    # NUL first: such a cell is damaged whatever else it says (and would cut the reason short).
    checks = [(f"strpos({_raw(col.name)}, chr(0)) > 0", col.name,
               _q(f"包含不可见的 NUL 字符（{col.label or col.name}），该行可能已损坏")) for col in table.columns]
    for col in table.columns:
        raw, typed = _raw(col.name), col.name
        if col.required and col.default is None:
            # A file without the column at all has it derived (message ids, sessions by the gap rule).
            derived = f" AND NOT _derive_{col.name}" if col.name in _DERIVABLE.get(table.name, ()) else ""
            checks.append((f"{raw} IS NULL{derived}", col.name, _q(f"必填值为空（{col.label}）")))
        if col.type in _TYPE_HINT:
            checks.append((f"{raw} IS NOT NULL AND {typed} IS NULL", col.name,
                           f"'无法解析 ''' || {_shown(raw)} || '''，应为' || {_q(_TYPE_HINT[col.type])}"))
        if col.type in ("timestamp", "date"):
            # A time far outside any shop's data (year 10000, year 1) would take every page down.
            checks.append((f"CAST({typed} AS TIMESTAMP) NOT BETWEEN (SELECT lo FROM _window) AND (SELECT hi FROM _window)",
                           col.name, f"'时间 ' || CAST({typed} AS VARCHAR) || ' 超出可接受的范围 ' || {_q(window)}"))
        if col.type == "enum":
            allowed = ", ".join(col.choices)
            checks.append((f"{typed} IS NOT NULL AND {typed} NOT IN ({', '.join(_q(c) for c in col.choices)})",
                           col.name, f"'取值 ''' || {_shown(raw)} || ''' 无效，应为 ' || {_q(allowed)}"))
    return checks


def _table_checks(table: Table) -> list[tuple[str, str, str]]:
    """Cross-column and cross-table rules. They see the typed row as ``v`` and joined context."""
    name = table.name
    checks: list[tuple[str, str, str]] = []
    if table.shop_scoped:
        checks.append(("_known_shop IS NULL", "shop_id",
                       f"'未知店铺 ''' || {_shown('shop_id')} || '''（请先导入或一并导入 shops 表）'"))
    if name == "shops":
        checks.append(("_tz_ok IS NULL", "timezone", f"'未知时区 ''' || {_shown('timezone')} || '''，应为 IANA 名称如 Asia/Shanghai'"))
        checks.append(("tier IS NOT NULL AND tier < 0", "tier", _q("层级不能为负数")))
    if name == "messages":
        checks.append(("sender_role IN ('agent', 'robot') AND agent_id IS NULL", "agent_id",
                       _q("人工或机器人消息必须填写 agent_id")))
        checks.append(("_s_buyer IS NOT NULL AND _s_buyer <> buyer_id", "buyer_id",
                       "'与会话的买家 ''' || _s_buyer || ''' 不一致'"))
        checks.append(("_s_start IS NOT NULL AND sent_at < _s_start", "sent_at",
                       "'消息时间早于会话开始时间 ' || CAST(_s_start AS VARCHAR)"))
    if name == "sessions":
        checks.append(("ended_at < started_at", "ended_at", _q("结束时间早于开始时间")))
        checks.append(("transferred_at < started_at", "transferred_at", _q("转人工时间早于会话开始时间")))
    if name == "orders":
        checks.append(("paid_at < created_at", "paid_at", _q("付款时间早于下单时间")))
        checks.append(("amount < 0", "amount", _q("金额不能为负数")))
    if name == "refunds":
        checks.append(("finished_at < created_at", "finished_at", _q("完结时间早于申请时间")))
    if name == "evaluations":
        checks.append(("rated_at < invited_at", "rated_at", _q("评价时间早于邀评时间")))
        checks.append(("session_id IS NULL AND _derive_session_id", "session_id",
                       _q(f"没有找到该客服在接待/邀评时间前后（{MATCH_AFTER_HOURS} 小时内）的聊天会话："
                          "请先导入或一并导入这一天的聊天记录")))
    if name == "peers":
        checks.append(("period_end < period_start", "period_end", _q("周期结束早于周期开始")))
    return checks


def _case(checks: list[tuple[str, str, str]], pick: int) -> str:
    if not checks:
        return "NULL"
    value = (lambda c: _q(c[1])) if pick == 1 else (lambda c: c[2])
    return "CASE " + " ".join(f"WHEN {c[0]} THEN {value(c)}" for c in checks) + " END"


def _key_expr(table: Table, prefix: str = "") -> str:
    cols = [f"{prefix}{k}" for k in table.key]
    return cols[0] if len(cols) == 1 else "(" + ", ".join(cols) + ")"


def _row_expr(table: Table) -> str:
    return "struct_pack(" + ", ".join(f"{c} := {c}" for c in table.column_names) + ")"


def _key_text(table: Table, prefix: str = "") -> str:
    return " || '/' || ".join(f"CAST({prefix}{k} AS VARCHAR)" for k in table.key)


# A message without an id gets one from what it says and when: the same row in a repeated or overlapping
# export gets the same id (identical rows in one export are told apart by their occurrence).
_MESSAGE_FIELDS = "r_shop_id, r_buyer_id, coalesce(CAST(n_sent_at AS VARCHAR), r_sent_at), r_sender_role, r_content"
_GENERATED_MESSAGE_ID = (
    f"'m-' || left(md5(concat_ws(chr(31), {_MESSAGE_FIELDS}, CAST(row_number() OVER "
    f"(PARTITION BY {_MESSAGE_FIELDS} ORDER BY _line) AS VARCHAR))), 20)")


# -- the import ------------------------------------------------------------------

class _Importer:
    def __init__(self, store, files: list[SourceFile], notes: list[str], *, replace: bool, progress,
                 classify: bool = True, demo: bool = False, shop: str | None = None, report_day=None,
                 allowed_shops=None, all_reasons: bool = False, defer_derive: bool = False):
        self.store = store
        self.defer_derive = defer_derive
        # A supervisor's import: rows of other shops, and tables of no shop (peers), are rejected.
        self.allowed_shops = None if allowed_shops is None else sorted(allowed_shops)
        self.all_reasons = all_reasons
        self.demo = demo
        self.shop = shop
        self.classify = classify
        self.con = store.con
        self.files = files
        self.replace = replace
        self.progress = progress
        self.report = ImportReport(import_id=None, tables={}, notes=list(notes), affected_shops=[])
        self.staged: dict[str, list[tuple[int, SourceFile, Staged]]] = {}
        self._seq_base: int | None = None
        self.import_id: int | None = None
        self._nickname_files: dict[int, bool] = {}
        self.report_day = report_day
        self.reports = ReportImport(self)
        self.work = store.scratch_dir("import-")

    def _tick(self, label: str, n: int = 1) -> None:
        if self.progress is not None:
            self.progress.set_description_str(label)
            self.progress.update(n)

    def _touch(self, table: str, rows: str, params=None) -> None:
        """Record, per shop, the first day that ``rows`` (a FROM … clause over rows of ``table``,
        added or removed) change; the derivation starts there."""
        anchor = _ANCHOR_DAY.get(table)
        if anchor is None or "shop_id" not in TABLES[table].column_names:
            return
        self._sql(f"INSERT INTO _touched SELECT shop_id, min({anchor}) {rows} GROUP BY shop_id", params)

    def _touched_since(self) -> dict:
        """{shop: first touched day, or None for its whole history}, after the sessions whose
        messages or rows changed add their own first day and their evaluations' days."""
        self._sql("""INSERT INTO _touched
            WITH ts AS (SELECT session_id FROM messages WHERE _import_id = ?
                        UNION SELECT session_id FROM sessions WHERE _import_id = ?
                        UNION SELECT session_id FROM _replaced)
            SELECT shop_id, day FROM f_sessions WHERE session_id IN (SELECT session_id FROM ts)
            UNION ALL
            SELECT shop_id, CAST(invited_at AS DATE) FROM evaluations WHERE session_id IN (SELECT session_id FROM ts)""",
                  [self.import_id, self.import_id])
        rows = self.con.execute("""SELECT shop_id, CASE WHEN bool_or(day IS NULL) THEN NULL ELSE min(day) END
            FROM _touched GROUP BY shop_id ORDER BY shop_id""").fetchall()
        return dict(rows)

    def _sql(self, sql: str, params=None):
        """Run one statement built by this module. Input text never reaches SQL (generated column
        names, parameters), and a built statement is never run with multi-statement semantics."""
        if len(duckdb.extract_statements(sql)) != 1:
            raise ImportFailed("内部错误：导入语句应为一条 SQL，已拒绝执行")
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def _nicknames(self, idx: int, src: SourceFile, staged: Staged) -> bool:
        """Whether a chat file names its senders by nickname (its sender column holds shop accounts)."""
        if idx not in self._nickname_files:
            marker = (src.roles or RoleRule()).account_marker
            gen = staged.columns["sender_role"][0]
            self._nickname_files[idx] = bool(self._sql(nicknames_sql(staged.relation, gen), [marker]).fetchone()[0])
        return self._nickname_files[idx]

    def _layout_context(self):
        return layout_context(self.store, self.shop, self.report_day)

    def _stage_layout(self, idx: int, src: SourceFile) -> None:
        """A file in a real-world layout (layouts/): converted to DATA.md rows (or a report's rows) with the
        line each came from, staged under generated names like any file, and validated like any file."""
        import pyarrow as pa

        if not src.path.is_file():
            raise ImportFailed(f"{src.shown}: 文件不存在")
        found = _layout_of(self.con, src)
        conv = found.convert(_probe(src), self._layout_context())
        rows = conv.tables.get(found.table, [])
        if len(rows) > self.store.limits.max_rows:
            raise ImportFailed(f"{src.shown}: 有 {len(rows):,} 行，超过单个文件的行数上限 {self.store.limits.max_rows:,} 行"
                               "（可用环境变量 INSIGHT_MAX_ROWS 调整）")
        names = list(dict.fromkeys(k for r in rows for k in r if not k.startswith("_") and k not in _WHERE))
        if found.table == REPORT_TABLE:
            names = list(dict.fromkeys(["agent", "day", "shop_id"] + names))
        elif found.table in TABLES:
            names = list(dict.fromkeys(names + [c for c in required_columns(found.table, True) if c not in names]))
        staging = f"_stg_{idx}"
        arrays = {f"c{i}": pa.array([None if r.get(c) is None else str(r[c]) for r in rows], type=pa.string())
                  for i, c in enumerate(names)}
        arrays["_line"] = pa.array([int(r["_line"]) for r in rows], type=pa.int64())
        self.con.execute(f"CREATE TEMP TABLE {staging} ({', '.join(f'c{i} VARCHAR' for i in range(len(names)))}"
                         f"{', ' if names else ''}_line BIGINT)")
        if rows:
            self._sql("SELECT 1").fetchall()  # an unfinished result would block the Arrow read
            self.con.from_arrow(pa.table(arrays)).insert_into(staging)
        staged = Staged(staging, False, {c: (f"c{i}", "VARCHAR") for i, c in enumerate(names)},
                        {f"x{i}": h for i, h in enumerate(conv.ignored)}, found.key, names)
        span = conv.date_range()
        about = {"layout": conv.label, "read": conv.read, "unit": conv.unit, "excluded": dict(conv.excluded),
                 "assumptions": list(conv.notes), "dates": span}
        name = Path(src.shown).name
        excluded = "；".join(f"{why} {n:,}" for why, n in conv.excluded.items())
        what = f"平台客服报表（{conv.label}）" if found.table == REPORT_TABLE else conv.label
        self.report.notes.append(f"{name}: {what}，读取 {conv.read:,} {conv.unit}"
                                 + (f"（{span}）" if span else "") + (f"；未导入: {excluded}" if excluded else ""))
        self.report.notes.extend(f"{name}: {note}" for note in conv.notes)
        if found.table == REPORT_TABLE:
            defn = next(d for d in found.defs() if d.key == conv.report)
            self.reports.add(idx, src, staged, defn)
            self._record_staged(src, REPORT_TABLE, staged, report=defn.name, **about)
            return
        self.staged.setdefault(found.table, []).append((idx, src, staged))
        self._record_staged(src, found.table, staged, **about)

    def _record_staged(self, src: SourceFile, table: str, staged: Staged, **about) -> None:
        """A staged file within the row bound, in the report: its table's files and columns kept aside."""
        rows = int(self._sql(f"SELECT count(*) FROM {staged.relation}").fetchone()[0])
        limits = self.store.limits
        if rows > limits.max_rows:
            raise ImportFailed(f"{src.shown}: 有 {rows:,} 行，超过单个文件的行数上限 {limits.max_rows:,} 行"
                               "（可用环境变量 INSIGHT_MAX_ROWS 调整）")
        rep = self.report.tables.setdefault(table, TableReport(table))
        rep.files.append(src.shown)
        rep.ignored_columns.extend(h for h in staged.extras.values() if h not in rep.ignored_columns)
        self.report.files.append({"file": src.shown, "table": table, **about, "format": staged.fmt, "rows": rows,
                                  "kept_aside": staged.extras})
        if staged.fmt == "gb18030":
            self.report.notes.append(f"{Path(src.shown).name}: 按 GBK/GB18030 编码读取")

    def _with_preset(self, src: SourceFile) -> SourceFile:
        """A file without a hand-made mapping whose header is a known export's (a built-in or saved
        preset) is read with that preset, its sender rule included."""
        from insight.ingest.mapping import preset_for_headers, preset_pairs, preset_roles

        if src.mapping or src.roles is not None:
            return src
        try:
            headers = read_preview(src.path, rows=1, label=src.shown)[0]
        except InsightError:  # reading the file says what is wrong with it, with its bounds
            return src
        name = preset_for_headers(self.con, src.table, headers)
        if name is None:
            return src
        self.report.notes.append(f"{Path(src.shown).name}: 按映射方案“{name}”读取")
        self.files[self.files.index(src)] = src = dc_replace(
            src, mapping=preset_pairs(self.con, name, src.table, headers), roles=preset_roles(self.con, name, src.table))
        return src

    def stage_files(self) -> None:
        for idx, src in enumerate(self.files):
            name = Path(src.shown).name
            self._tick(f"读取 {name}", 0)
            if src.layout or src.table == REPORT_TABLE:
                self._stage_layout(idx, src if src.layout else dc_replace(src, layout="platform_report"))
            else:
                self._stage_table(idx, src)
            self._tick(f"读取 {name}")

    def _stage_table(self, idx: int, src: SourceFile) -> None:
        """A DATA.md table's file (platform headers mapped, a known export's preset applied)."""
        src = self._with_preset(src)
        staged = load_staging(self.con, src, f"_stg_{idx}", self.store.limits, self.work)
        # Registered at once, so that a failure below still drops it.
        self.staged.setdefault(src.table, []).append((idx, src, staged))
        table = TABLES[src.table]
        missing = [c for c in required_columns(table.name, bool(self.shop), "receiver" in staged.columns)
                   if c not in staged.columns]
        if missing:
            hint = "；文件属于一个店铺时可用 --shop 店铺ID（数据管理中选择店铺）" if "shop_id" in missing else ""
            raise ImportFailed(
                f"{src.shown} 第 1 行: 缺少必需的列 {', '.join(missing)}（{table.name} 表需要: "
                f"{', '.join(c.name for c in table.columns if c.required)}）{hint}")
        self._record_staged(src, src.table, staged)

    def _union_sql(self, table: Table, for_rejects: bool = False) -> str:
        """All staged files of ``table`` as raw text columns ``r_*`` plus ``_file_idx``, ``_line``, ``_extra``.

        Timestamp columns that a Parquet file already types as TIMESTAMP pass through as ``n_*``
        without a round trip through text (``for_rejects`` spells them out for the reject file).
        """
        parts = []
        for idx, src, staged in self.staged[table.name]:
            select = []
            for c in table.columns:
                # Only generated names (c0, c1, …) and DATA.md's own names appear in the SQL.
                gen, sql_type = staged.columns.get(c.name, (None, ""))
                native = (c.type == "timestamp" and gen is not None
                          and sql_type.startswith("TIMESTAMP") and "TIME ZONE" not in sql_type)
                if c.type == "timestamp":
                    select.append(f"CAST({gen} AS TIMESTAMP) AS n_{c.name}" if native
                                  else f"CAST(NULL AS TIMESTAMP) AS n_{c.name}")
                if gen is None and c.name == "shop_id" and self.shop and table.shop_scoped:
                    # --shop, from a one-row table filled with a parameter (never spliced in)
                    select.append(f"(SELECT shop_id FROM _import_shop) AS {_raw(c.name)}")
                elif gen is None:
                    select.append(f"CAST(NULL AS VARCHAR) AS {_raw(c.name)}")
                elif native and not for_rejects:
                    select.append(f"CASE WHEN {gen} IS NOT NULL THEN 'native' END AS {_raw(c.name)}")
                elif c.name == "content":  # free text: kept as written, only '' means missing
                    select.append(f"nullif(CAST({gen} AS VARCHAR), '') AS {_raw(c.name)}")
                else:
                    select.append(f"nullif(trim(CAST({gen} AS VARCHAR)), '') AS {_raw(c.name)}")
            # Columns kept aside, keyed by their generated names (the report has their headers).
            extra_sql = ("to_json(struct_pack(" + ", ".join(f"{g} := {g}" for g in staged.extras) + "))"
                         if staged.extras else "CAST(NULL AS VARCHAR)")
            if table.name == "messages" and "receiver" in staged.columns and not for_rejects:
                select.append(f"nullif(trim(CAST({staged.columns['receiver'][0]} AS VARCHAR)), '') AS r_receiver")
            matched = table.name == "evaluations" and "agent_hint" in staged.columns
            if matched and not for_rejects:
                for aux in ("agent_hint", "served_at"):
                    gen = staged.columns.get(aux, (None,))[0]
                    select.append(f"nullif(trim(CAST({gen} AS VARCHAR)), '') AS r_{aux}" if gen
                                  else f"CAST(NULL AS VARCHAR) AS r_{aux}")
            for col in _DERIVABLE.get(table.name, ()):
                # A layout may know a message's id or session for some rows only: the others get theirs.
                derive_it = matched if table.name == "evaluations" else (col not in staged.columns or bool(src.layout))
                select.append(f"{'true' if derive_it else 'false'} AS _derive_{col}")
            part = (f"SELECT {', '.join(select)}, {idx} AS _file_idx, _line, {extra_sql} AS _extra "
                    f"FROM {staged.relation}")
            if table.name == "messages" and "message_id" not in staged.columns:
                # From the sender as written, so that another role rule does not make new ids.
                part = f"SELECT * REPLACE ({_GENERATED_MESSAGE_ID} AS r_message_id) FROM ({part})"
            elif table.name == "messages" and src.layout:
                part = f"SELECT * REPLACE (coalesce(r_message_id, {_GENERATED_MESSAGE_ID}) AS r_message_id) FROM ({part})"
            if table.name == "messages" and not for_rejects:
                part = role_wrap_sql(part, idx, "_role_rules", "receiver" in staged.columns, self._nicknames(idx, src, staged))
            if matched and not for_rejects:
                part = _match_sessions_sql(part)
            parts.append(part)
        return " UNION ALL ".join(parts)

    def _validated_sql(self, table: Table) -> str:
        """One query: raw → context → typed → checks; the only full materialisation of the batch."""
        name = table.name
        ctx_cols, ctx_join = ["CAST(NULL AS VARCHAR) AS _tz", "CAST(NULL AS VARCHAR) AS _known_shop"], ""
        if table.shop_scoped:
            ctx_cols = ["coalesce(sh.timezone, 'Asia/Shanghai') AS _tz", "sh.shop_id AS _known_shop"]
            ctx_join = "LEFT JOIN shops sh ON sh.shop_id = u.r_shop_id"
        if name == "shops":
            ctx_cols[0] = "'UTC' AS _tz"
        if name == "evaluations":
            ctx_cols.append("bool_or(u.r_rating = '失望') OVER (PARTITION BY u._file_idx) AS _three_level")
        typed = [f"{_typed_expr(name, c)} AS {c.name}" for c in table.columns]
        extra_ctx, extra_join = "", ""
        if name == "shops":
            extra_ctx = ", tz.name AS _tz_ok"
            extra_join = "LEFT JOIN (SELECT DISTINCT name FROM pg_timezone_names()) tz ON tz.name = ty.timezone"
        kind_join = ""
        if name == "messages" and self.store.has_rows("agents"):
            # The shop's agent list says who is a robot (店小蜜 listed as robot): it wins over the export.
            kind_join = "LEFT JOIN agents ag ON ag.agent_id = ty.agent_id AND ag.shop_id = ty.shop_id"
            extra_ctx = (", CASE WHEN ty.sender_role IN ('agent', 'robot') AND ag.kind = 'robot' THEN 'robot' "
                         "WHEN ty.sender_role IN ('agent', 'robot') AND ag.kind = 'human' THEN 'agent' "
                         "ELSE ty.sender_role END AS _kind_role")
        if name == "messages" and self.store.has_rows("sessions"):
            # The session of the same shop only: another shop's session is refused by _guard_sessions,
            # which names nothing of it.
            extra_ctx += ", s.buyer_id AS _s_buyer, s.started_at AS _s_start"
            extra_join = "LEFT JOIN sessions s ON s.session_id = ty.session_id AND s.shop_id = ty.shop_id"
        elif name == "messages":
            extra_ctx += ", CAST(NULL AS VARCHAR) AS _s_buyer, CAST(NULL AS TIMESTAMP) AS _s_start"
        extra_join = f"{kind_join} {extra_join}"
        checks = _column_checks(table, self.store.limits.window_text()) + _table_checks(table)
        cols = ", ".join(table.column_names)
        union = self._union_sql(table)
        if table.shop_scoped:
            # A shop column may hold the shop's display name (店铺名称 in many exports): one shop's name
            # that is no shop's id stands for that shop.
            union = f"""SELECT u0.* REPLACE (coalesce(sn.shop_id, u0.r_shop_id) AS r_shop_id) FROM ({union}) u0
                LEFT JOIN (SELECT shop_name AS name, any_value(shop_id) AS shop_id FROM shops
                           WHERE shop_name NOT IN (SELECT shop_id FROM shops) GROUP BY shop_name HAVING count(*) = 1) sn
                  ON sn.name = u0.r_shop_id"""
        return f"""WITH u AS ({union}),
            t AS (SELECT u.*, {', '.join(ctx_cols)} FROM u {ctx_join}),
            ty AS (SELECT t.*, {', '.join(typed)} FROM t),
            w0 AS (SELECT ty.* {extra_ctx} FROM ty {extra_join}),
            w AS (SELECT * {"REPLACE (_kind_role AS sender_role)" if kind_join else ""} FROM w0)
            SELECT {cols}, {_case(checks, 2)} AS _reason, {_case(checks, 1)} AS _column,
                   _file_idx, _line, _extra
            FROM w"""

    def validate_and_merge(self, table: Table, import_id: int) -> None:
        con, name = self.con, table.name
        rep = self.report.tables[name]
        if name == "evaluations" and any("agent_hint" in st.columns for _, _, st in self.staged[name]):
            self._eval_sessions()
        self._sql(f"CREATE OR REPLACE TEMP TABLE _v AS {self._validated_sql(table)}")
        rep.read = int(con.execute("SELECT count(*) FROM _v").fetchone()[0])
        # Scope first: nothing below (cutting sessions moves stored messages) may act on another shop's rows.
        if self.allowed_shops is not None:
            self._outside_scope(table)
            self._guard_stored_keys(table)
        if name == "messages" and any("session_id" not in st.columns or src.layout for _, src, st in self.staged[name]):
            self._cut_sessions(rep)
        self._guard_sessions(table)
        self._guard_agents(table)
        self._reject(table, import_id, "FROM _v WHERE _reason IS NOT NULL", "_reason", "_column")

        key = _key_expr(table)
        # Distinct hashes are cheaper than distinct strings; a collision only sends the batch down
        # the exact path below, which finds nothing to resolve.
        n_valid, n_keys = con.execute(
            f"SELECT count(*), count(DISTINCT hash({', '.join(table.key)})) FROM _v WHERE _reason IS NULL").fetchone()
        batch_dupes = 0
        if n_valid == n_keys:  # the common case: every key once, nothing to resolve
            con.execute("CREATE OR REPLACE TEMP VIEW _cand AS SELECT * FROM _v WHERE _reason IS NULL")
        elif name == "evaluations":
            # A buyer may change a rating: the latest rated_at (else invited_at) wins; later rows win ties.
            self._sql(f"""CREATE OR REPLACE TEMP TABLE _cand_t AS
                SELECT * FROM _v WHERE _reason IS NULL QUALIFY row_number() OVER (
                    PARTITION BY {key} ORDER BY coalesce(rated_at, invited_at) DESC, _file_idx DESC, _line DESC) = 1""")
            con.execute("CREATE OR REPLACE TEMP VIEW _cand AS SELECT * FROM _cand_t")
            batch_dupes = n_valid - int(con.execute("SELECT count(*) FROM _cand_t").fetchone()[0])
        else:
            self._sql(f"""CREATE OR REPLACE TEMP TABLE _dup AS
                SELECT {key} AS _k, count(DISTINCT {_row_expr(table)}) > 1 AS _conflict
                FROM _v WHERE _reason IS NULL GROUP BY {key} HAVING count(*) > 1""")
            self._sql(f"""CREATE OR REPLACE TEMP TABLE _cand_t AS
                SELECT _v.*, coalesce(_dup._conflict, false) AS _dup_conflict
                FROM _v LEFT JOIN _dup ON _dup._k = {_key_expr(table, '_v.')} WHERE _v._reason IS NULL""")
            self._reject(table, import_id, "FROM _cand_t WHERE _dup_conflict",
                         f"'主键 ''' || {_key_text(table)} || ''' 在本次导入中出现多次且内容不同'",
                         _q(", ".join(table.key)))
            self._sql(f"""CREATE OR REPLACE TEMP VIEW _cand AS SELECT * FROM _cand_t WHERE NOT _dup_conflict
                QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _file_idx, _line) = 1""")
            conflicted = int(con.execute("SELECT count(*) FROM _cand_t WHERE _dup_conflict").fetchone()[0])
            batch_dupes = n_valid - conflicted - int(con.execute("SELECT count(*) FROM _cand").fetchone()[0])

        # Compare with what is stored, column by column, only for keys that are stored already.
        join_on = " AND ".join(f"c.{k} = s.{k}" for k in table.key)
        same = " AND ".join(f"c.{col} IS NOT DISTINCT FROM s.{col}" for col in table.column_names)
        if name == "evaluations":
            status = (f"CASE WHEN {same} THEN 'same' "
                      "WHEN coalesce(c.rated_at, c.invited_at) >= coalesce(s.rated_at, s.invited_at) THEN 'update' "
                      "ELSE 'older' END")
        else:
            status = f"CASE WHEN {same} THEN 'same' ELSE {_q('update' if self.replace else 'conflict')} END"
        keys = ", ".join(f"c.{k}" for k in table.key)
        stored = self.store.has_rows(name)
        if stored:
            self._sql(f"CREATE OR REPLACE TEMP TABLE _st AS SELECT {keys}, {status} AS _status "
                        f"FROM _cand c JOIN {name} s ON {join_on}")
        else:
            self._sql(f"CREATE OR REPLACE TEMP TABLE _st AS SELECT {keys}, 'same' AS _status FROM _cand c "
                        f"WHERE false")
        st_on = " AND ".join(f"c.{k} = st.{k}" for k in table.key)
        self._reject(table, import_id, f"FROM _cand c JOIN _st st ON {st_on} WHERE st._status = 'conflict'",
                     f"'主键 ''' || {_key_text(table, 'c.')} || ''' 已存在且内容不同（如需覆盖请加 --replace）'",
                     _q(", ".join(table.key)), alias="c.")
        counts = dict(con.execute("SELECT _status, count(*) FROM _st GROUP BY 1").fetchall())
        n_cand = int(con.execute("SELECT count(*) FROM _cand").fetchone()[0])
        n_new = n_cand - sum(counts.values())
        rep.inserted += n_new
        rep.updated += counts.get("update", 0)
        rep.unchanged += counts.get("same", 0) + (batch_dupes if name != "evaluations" else 0)
        rep.superseded += counts.get("older", 0) + (batch_dupes if name == "evaluations" else 0)

        if name == "messages" and self.replace and stored:
            self._replace_sessions(rep)
        if counts.get("update"):
            updated = f"FROM {name} s WHERE EXISTS (SELECT 1 FROM _st c WHERE c._status = 'update' AND {join_on})"
            self._touch(name, updated)
            if name == "messages":  # the sessions they leave change too
                self._sql(f"INSERT INTO _replaced SELECT DISTINCT session_id {updated}")
            self._sql(f"DELETE {updated}")
        if n_new or counts.get("update"):
            cols = list(table.column_names)
            insert_cols = cols + ["_import_id", "_extra"]
            select = [f"c.{c}" for c in cols] + [str(import_id), "c._extra"]
            if name == "messages":
                insert_cols.append("_seq")
                select.append(self._seq_expr("c."))
            where = ""
            if stored:
                where = f"WHERE NOT EXISTS (SELECT 1 FROM _st st WHERE {st_on} AND st._status <> 'update')"
            # A daily import's messages are stored in time order, so that a window of days is a narrow
            # scan; a bulk load keeps its file order (exports come per shop and in time order already),
            # where sorting would cost more than a bare copy of the file (24 s of 12.7M messages).
            order = " ORDER BY c.sent_at" if name == "messages" and n_cand <= SORTED_INSERT_ROWS else ""
            self._sql(f"INSERT INTO {name} ({', '.join(insert_cols)}) SELECT {', '.join(select)} "
                        f"FROM _cand c {where}{order}")
            self._touch(name, f"FROM _cand c {where}")
        self._finish_report(rep)

    def _eval_sessions(self) -> None:
        """The chat sessions an evaluation list may attach to: from the messages (this import's included,
        merged before evaluations) and the sessions table, per agent who replied in them."""
        shop = "AND shop_id = (SELECT shop_id FROM _import_shop)" if self.shop else ""
        self._sql(f"""CREATE OR REPLACE TEMP TABLE _eval_sessions AS
            WITH s AS (SELECT shop_id, session_id, any_value(buyer_id) AS buyer_id, min(sent_at) AS started_at,
                              max(sent_at) AS ended_at FROM messages WHERE true {shop} GROUP BY ALL),
            a AS (SELECT DISTINCT shop_id, session_id, agent_id FROM messages
                  WHERE sender_role = 'agent' AND agent_id IS NOT NULL {shop})
            SELECT s.shop_id, s.session_id, s.buyer_id, s.started_at, s.ended_at, a.agent_id
            FROM s JOIN a USING (shop_id, session_id)
            UNION ALL
            SELECT shop_id, session_id, buyer_id, started_at, coalesce(ended_at, started_at), agent_id FROM sessions
            WHERE agent_id IS NOT NULL {shop}""")

    def _outside_scope(self, table: Table) -> None:
        """Rows this account may not import become rejected rows, with the reason. A shop outside the
        scope gets this reason whatever else is wrong with its row, so whether that shop exists (未知店铺)
        is never said."""
        if "shop_id" in table.column_names:
            self._sql(f"UPDATE _v SET _reason = {outside_scope_sql('shop_id')}, _column = 'shop_id' "
                      "WHERE shop_id IS NOT NULL AND shop_id NOT IN (SELECT unnest(?::VARCHAR[]))",
                      [self.allowed_shops])
        else:
            self._sql("UPDATE _v SET _reason = '仅管理员可以导入该表（它不属于某个店铺）', _column = '' "
                      "WHERE _reason IS NULL")

    def _guard_stored_keys(self, table: Table) -> None:
        """A scoped writer's row whose key is stored for a shop it may not write is refused (an update or
        a --replace would move that row into the writer's shop); the reason names nothing of that row."""
        if table.name == "shops" or "shop_id" not in table.column_names or not self.store.has_rows(table.name):
            return
        on = " AND ".join(f"s.{k} = _v.{k}" for k in table.key)
        reason = _q(f"{'、'.join(table.key)} 已被占用（用于本账号无权写入的数据），请检查编号")
        self._sql(f"""UPDATE _v SET _reason = {reason}, _column = {_q(", ".join(table.key))}
            WHERE _reason IS NULL AND EXISTS (SELECT 1 FROM {table.name} s WHERE {on}
                                             AND s.shop_id NOT IN (SELECT unnest(?::VARCHAR[])))""",
                  [self.allowed_shops])

    def _guard_sessions(self, table: Table) -> None:
        """A session id belongs to one shop (sessions, evaluations and the derivation key on it): a row
        using a session id stored for another shop, or given to several shops by one import, is refused
        — whoever writes — without naming the other shop."""
        if table.name not in ("messages", "sessions", "evaluations"):
            return
        self._sql("""UPDATE _v SET _column = 'session_id',
                _reason = '会话ID ''' || left(session_id, 60) || ''' 已被占用（属于另一店铺的会话），请检查会话ID'
            WHERE _reason IS NULL AND session_id IS NOT NULL AND shop_id IS NOT NULL
              AND (EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = _v.session_id AND s.shop_id <> _v.shop_id)
                   OR EXISTS (SELECT 1 FROM messages m WHERE m.session_id = _v.session_id AND m.shop_id <> _v.shop_id))""")
        if table.name == "messages":
            self._sql("""UPDATE _v SET _reason = '同一会话ID在本次导入中属于多个店铺', _column = 'session_id'
                WHERE _reason IS NULL AND session_id IN (SELECT session_id FROM _v WHERE _reason IS NULL
                                                         GROUP BY session_id HAVING count(DISTINCT shop_id) > 1)""")

    def _guard_agents(self, table: Table) -> None:
        """A message or session of one shop naming an agent listed for another shop is refused: that
        agent's name and figures belong to the other shop."""
        if table.name not in ("messages", "sessions") or not self.store.has_rows("agents"):
            return
        self._sql("""UPDATE _v SET _column = 'agent_id',
                _reason = '客服账号 ''' || left(agent_id, 60) || ''' 已登记在另一店铺的客服名单中，请检查 agent_id'
            WHERE _reason IS NULL AND agent_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM agents a WHERE a.agent_id = _v.agent_id AND a.shop_id <> _v.shop_id)""")

    def _cut_sessions(self, rep: TableReport) -> None:
        """Messages of files without session ids get sessions by the gap rule (METRICS.md): a buyer's
        messages in one shop, in time order, form one session until the gap to the next exceeds
        ``session_gap_minutes``. Stored messages that got their sessions this way are cut again with
        the new ones, so that a later export that fills a gap joins the sessions it bridges."""
        con = self.con
        gap_seconds = 60 * int(self.store.settings.session_gap_minutes)
        con.execute("""CREATE OR REPLACE TEMP TABLE _cut_in AS
            WITH new AS (SELECT shop_id, buyer_id, sent_at, message_id FROM _v
                         WHERE _reason IS NULL AND session_id IS NULL),
            pairs AS (SELECT DISTINCT shop_id, buyer_id FROM new)
            SELECT * FROM new
            UNION ALL
            SELECT m.shop_id, m.buyer_id, m.sent_at, m.message_id FROM messages m
            JOIN pairs p ON p.shop_id = m.shop_id AND p.buyer_id = m.buyer_id
            WHERE starts_with(m.session_id, ?) AND m.message_id NOT IN (SELECT message_id FROM new)""",
                    [derive.GAP_SESSION_PREFIX])
        self._sql(f"CREATE OR REPLACE TEMP TABLE _cut AS {derive.gap_sessions_sql('SELECT * FROM _cut_in')}",
                  [gap_seconds])
        con.execute("""UPDATE _v SET session_id = c.session_id FROM _cut c
                       WHERE _v.message_id = c.message_id AND _v.session_id IS NULL AND _v._reason IS NULL""")
        # Stored messages whose session a new message joined or split: derived data, updated in place;
        # the sessions they moved to are classified again.
        moved = derive.move_to_cut_sessions(con, "_cut")
        if moved:
            con.execute("INSERT INTO _replaced SELECT old_session FROM _moved UNION SELECT new_session FROM _moved")
            self._touch("messages", "FROM _moved")
        rep.updated += moved

    def _replace_sessions(self, rep: TableReport) -> None:
        """``--replace`` works at the session grain: a session in the new export is what that
        export says, so its stored messages that the export no longer has are removed."""
        con = self.con
        con.execute("""CREATE OR REPLACE TEMP TABLE _gone AS
            SELECT m.message_id, m.session_id, m.shop_id, m.sent_at FROM messages m
            WHERE (m.shop_id, m.session_id) IN (SELECT DISTINCT shop_id, session_id FROM _cand)
              AND NOT EXISTS (SELECT 1 FROM _cand c WHERE c.message_id = m.message_id)""")
        n = int(con.execute("SELECT count(*) FROM _gone").fetchone()[0])
        if not n:
            return
        con.execute("DELETE FROM messages WHERE message_id IN (SELECT message_id FROM _gone)")
        con.execute("INSERT INTO _replaced SELECT DISTINCT session_id FROM _gone")
        rep.removed += n
        self._touch("messages", "FROM _gone")

    def _seq_expr(self, alias: str) -> str:
        # File order survives as _seq: one 2^32 block of lines per file of this import.
        if self._seq_base is None:
            self._seq_base = int(self.store.get_meta("next_seq") or 0)
            self.store.set_meta("next_seq", str(self._seq_base + (len(self.files) + 1) * 4294967296))
        return f"{self._seq_base} + {alias}_file_idx * 4294967296 + {alias}_line"

    def _finish_report(self, rep: TableReport) -> None:
        rep.rejected = int(self.con.execute("SELECT count(*) FROM _rej WHERE table_name = ?",
                                            [rep.table]).fetchone()[0])
        rep.reasons = [RejectedRow(*r) for r in self.con.execute(
            "SELECT file, line, column_name, reason FROM _rej WHERE table_name = ? "
            "ORDER BY file, line LIMIT ?", [rep.table, MAX_REASONS]).fetchall()]

    def _reject(self, table: Table, import_id: int, source: str, reason_sql: str, column_sql: str,
                alias: str = "") -> None:
        """Record rejected rows (``source`` is a FROM … WHERE … clause over validated rows)."""
        con = self.con
        self._sql(f"""CREATE OR REPLACE TEMP TABLE _rej_new AS
            SELECT {alias}_file_idx AS _file_idx, {alias}_line AS _line, {column_sql} AS col, {reason_sql} AS reason
            {source}""")
        if not con.execute("SELECT 1 FROM _rej_new LIMIT 1").fetchone():
            return
        # The raw row, as the user wrote it, is read back only for the rejected lines.
        raw = "to_json(struct_pack(" + ", ".join(f"{c.name} := u.{_raw(c.name)}" for c in table.columns) + "))"
        self._sql(f"""INSERT INTO _rej
            SELECT {int(import_id)}, {_q(table.name)}, f.path, r._line, r.col, r.reason, {raw}
            FROM _rej_new r
            JOIN _files f ON f.idx = r._file_idx
            LEFT JOIN ({self._union_sql(table, for_rejects=True)}) u
              ON u._file_idx = r._file_idx AND u._line = r._line""")

    def run(self, report_dir: Path | None) -> ImportReport:
        started = time.time()
        try:
            self.stage_files()
            self.report.timings["read"] = time.time() - started
            self._run_transaction(started)
            self.report.timings["until_usable"] = time.time() - started
            if self.all_reasons:  # every rejected line, not only the first MAX_REASONS per table
                self.report.all_rejects = [dict(zip(("table", "file", "line", "column", "reason"), r))
                                           for r in self.con.execute("SELECT table_name, file, line, column_name, "
                                                                     "reason FROM _rej ORDER BY file, line").fetchall()]
            self.classify_after_commit()
        finally:
            self._clean_up()
        self.report.seconds = time.time() - started
        if report_dir is not None and self.report.rejected:
            self._write_rejects(report_dir)
        return self.report

    def _run_transaction(self, started: float) -> None:
        con = self.con
        with transaction(con):
            import_id = int(con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0])
            con.execute("""CREATE OR REPLACE TEMP TABLE _rej (import_id INTEGER, table_name VARCHAR, file VARCHAR,
                line BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)""")
            con.execute("CREATE OR REPLACE TEMP TABLE _replaced (session_id VARCHAR)")
            con.execute("CREATE OR REPLACE TEMP TABLE _touched (shop_id VARCHAR, day DATE)")
            self.import_id = import_id
            # File names as the user knows them, passed as values (never spliced into SQL).
            con.execute("CREATE OR REPLACE TEMP TABLE _files (idx INTEGER, path VARCHAR)")
            con.execute("CREATE OR REPLACE TEMP TABLE _import_shop AS SELECT CAST(? AS VARCHAR) AS shop_id", [self.shop])
            con.execute("CREATE OR REPLACE TEMP TABLE _window AS SELECT CAST(? AS TIMESTAMP) AS lo, CAST(? AS TIMESTAMP) AS hi",
                        list(self.store.limits.time_window()))
            con.executemany("INSERT INTO _files VALUES (?, ?)", [[i, s.shown] for i, s in enumerate(self.files)])
            con.execute(f"CREATE OR REPLACE TEMP TABLE _role_rules {RULE_PARAMS_DDL}")
            rules = [[i, *self._rule_params(s)] for i, s in enumerate(self.files) if s.table == "messages"]
            if rules:
                con.executemany("INSERT INTO _role_rules VALUES (?, ?, ?, ?, ?, ?)", rules)
            mark = time.time()
            for name in IMPORT_ORDER:
                if name in self.staged:
                    self._tick(f"校验 {name}", 0)
                    self.validate_and_merge(TABLES[name], import_id)
                    self._tick(f"校验 {name}")
            if "sessions" in self.staged and "messages" in self.staged:
                self._reject_sessions_without_messages(import_id)
            if self.reports.files:
                self._tick("校验 平台报表", 0)
                rep = self.report.tables[REPORT_TABLE]
                self.reports.merge(import_id, rep)
                self._finish_report(rep)
                self._tick("校验 平台报表")
            self._require_core_tables()
            self.report.timings["validate_merge"] = time.time() - mark
            if self.report.changed:
                self._tick("计算指标", 0)
                mark = time.time()
                # Only the days this import can change are derived again (peers and agents change none).
                since = self._touched_since()
                self.report.affected_shops = list(since)
                if self.defer_derive:  # live events: derived by the writer shortly, many requests at once
                    derive.defer(con, since)
                else:  # with what a deferred derivation left (a server stopped before it ran)
                    since = derive.take_pending(con, since)
                    derive.refresh(con, shops=list(since), settings=self.store.settings,
                                   timings=self.report.timings, since=since)
                self.report.timings["derive_parts"] = time.time() - mark
                # Sessions whose messages changed lose their scenario now; it is classified again after
                # the commit (the figures do not wait for the model).
                self._forget_scenarios(import_id)
                self.report.import_id = import_id
                summary = json.dumps(self.report.to_dict(), ensure_ascii=False, default=str)
                con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?)", [
                    import_id, dt.datetime.fromtimestamp(started), dt.datetime.now(),
                    json.dumps([f.shown for f in self.files], ensure_ascii=False), summary])
                con.execute("INSERT INTO import_rejects SELECT * FROM _rej")
                if self.demo:
                    from insight.demo.generator import mark_demo_shops

                    mark_demo_shops(con, [r[0] for r in con.execute(
                        "SELECT shop_id FROM shops WHERE _import_id = ?", [import_id]).fetchall()])
                self._tick("计算指标")
            pause = os.environ.get("INSIGHT_IMPORT_PAUSE_BEFORE_COMMIT")
            if pause:  # test hook: lets the atomicity test kill the process mid-import
                print("INSIGHT: about to commit", flush=True)
                time.sleep(float(pause))
            mark = time.time()
        self.report.timings["commit"] = time.time() - mark

    def _rule_params(self, src: SourceFile) -> list:
        """A file's sender rule with the store's robot names added (a setting: 店小蜜, 服务助手, …)."""
        rule = src.roles or RoleRule()
        return dc_replace(rule, robots=tuple(dict.fromkeys(rule.robots + self.store.robot_names))).params()

    def _clean_up(self) -> None:
        """Staging relations and scratch files go, whatever happened."""
        for idx in range(len(self.files)):
            for kind in ("VIEW", "TABLE"):
                try:
                    self._sql(f"DROP {kind} IF EXISTS _stg_{idx}")
                except duckdb.Error:  # the other kind of object under that name
                    pass
        shutil.rmtree(self.work, ignore_errors=True)

    def _reject_sessions_without_messages(self, import_id: int) -> None:
        """A session this import added whose messages were all rejected is rejected too: kept
        alone it would count as a reception nobody answered."""
        sessions = TABLES["sessions"]
        self._sql("""CREATE OR REPLACE TEMP TABLE _orphans AS
            SELECT s.session_id FROM sessions s
            WHERE s._import_id = ?
              AND s.session_id IN (SELECT json_extract_string(raw, '$.session_id') FROM _rej
                                   WHERE table_name = 'messages')
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.session_id)""", [import_id])
        n = int(self.con.execute("SELECT count(*) FROM _orphans").fetchone()[0])
        if not n:
            return
        self._reject(sessions, import_id,
                     f"FROM ({self._union_sql(sessions)}) WHERE r_session_id IN (SELECT session_id FROM _orphans)",
                     _q("该会话的消息全部被拒绝（原因见 messages 的被拒绝行），会话一并拒绝"), _q("session_id"))
        self._sql("DELETE FROM sessions WHERE _import_id = ? AND session_id IN (SELECT session_id FROM _orphans)",
                  [import_id])
        rep = self.report.tables["sessions"]
        rep.inserted = max(0, rep.inserted - n)
        self._finish_report(rep)

    def _forget_scenarios(self, import_id: int) -> None:
        from insight.scenarios.store import forget_scenarios

        forget_scenarios(self.con, """SELECT shop_id, session_id FROM messages WHERE _import_id = ?
                                      UNION SELECT shop_id, session_id FROM messages
                                      WHERE session_id IN (SELECT session_id FROM _replaced)
                                      UNION SELECT shop_id, session_id FROM session_scenarios
                                      WHERE session_id IN (SELECT session_id FROM _replaced)""", [import_id])

    def classify_after_commit(self) -> None:
        """咨询场景 of the sessions this import added, extended or replaced (the others keep theirs), in a
        transaction of its own after the import's: a failure here loses no imported data."""
        from insight.scenarios.model import load_model
        from insight.scenarios.store import classify_pending

        if not (self.classify and self.report.affected_shops and self.report.import_id):
            return
        self._tick("场景识别中…", 0)
        mark = time.time()
        try:
            classify_pending(self.store, load_model(), shops=self.report.affected_shops)
        except InsightError as exc:
            self.report.notes.append(f"咨询场景尚未判定（{exc}）；可在“咨询场景洞察”页判定")
        self.report.timings["scenarios"] = time.time() - mark

    def _require_core_tables(self) -> None:
        # A store of platform reports or reception lists alone (shops whose chats are not exported) needs no
        # messages: what needs them is shown as unavailable, with that reason.
        without_chats = self.store.has_rows(REPORT_TABLE) or self.store.has_rows("sessions")
        for name in REQUIRED_TABLES:
            if name == "messages" and without_chats:
                continue
            if not self.store.has_rows(name):
                rep = self.report.tables.get(name)
                why = "没有一行被接受" if rep else "没有提供该表的文件"
                if rep and rep.reasons:  # the first reason, so that a one-line error says what to fix
                    first = rep.reasons[0]
                    why += f"，如 {Path(first.file).name} 第 {first.line} 行，列 {first.column}: {first.reason}"
                raise ImportFailed(f"缺少必需的表 {name}（{why}）：数据集至少需要 {' 和 '.join(REQUIRED_TABLES)} 这些表",
                                   report=self.report)

    def _write_rejects(self, report_dir: Path) -> None:
        report_dir.mkdir(parents=True, exist_ok=True)
        for name in self.report.tables:
            if not self.report.tables[name].rejected:
                continue
            path = report_dir / f"rejected_{name}.csv"
            # The file name is the user's (an upload's own name): neutralised like every export.
            self.con.execute(
                f"""COPY (SELECT {neutralise_sql('file')} AS _file, line AS _line, column_name AS _column,
                           reason AS _reason, raw
                    FROM _rej WHERE table_name = ? ORDER BY file, line)
                    TO ? (HEADER, DELIMITER ',')""", [name, str(path)])
        (report_dir / "report.json").write_text(
            json.dumps(self.report.to_dict(), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        self.report.rejected_dir = str(report_dir)


def _layout_of(con, src: SourceFile):
    """The layout a source was recognised as; a report reads the definitions edited in the store too."""
    from insight.ingest.layouts import PlatformReport, layout
    from insight.ingest.reports import report_defs

    found = layout(src.layout)
    return PlatformReport(report_defs(con)) if isinstance(found, PlatformReport) else found


def _probe(src: SourceFile):
    """A layout's first look at a source, under the name the user knows it by (the day may be in it)."""
    from insight.ingest.layouts import probe_file

    return probe_file(src.path, Path(src.shown).name)


def layout_context(store, shop: str | None = None, day=None):
    """What a layout needs besides the file: the shop and day named, today, the store's robot names."""
    from insight.ingest.layouts import LayoutContext

    return LayoutContext(today=dt.date.today(), shop=shop, day=day, robot_names=store.robot_names,
                         limits=store.limits)


def layout_preview(con, src: SourceFile, ctx, rows: int = 8) -> dict:
    """What the data page shows of a file in a real-world layout before anything is written: the layout,
    the first rows as they will be imported, what was read and left out, the assumptions made; or
    ``problem`` (why it cannot be imported) and ``needs_day`` (it can, once the day is named).
    ``ctx``: ``layout_context``; ``con``: the store's connection (report definitions edited there)."""
    import pandas as pd

    from insight.ingest.layouts import MissingDay

    found = _layout_of(con, src)
    out = {"layout": found.label, "table": found.table, "needs_day": False, "problem": None, "frame": None,
           "read": 0, "unit": "行", "excluded": {}, "notes": [], "day_used": False}
    try:
        conv = found.convert(_probe(src), ctx)
    except MissingDay as exc:
        return {**out, "needs_day": True, "problem": str(exc)}
    except InsightError as exc:
        return {**out, "problem": str(exc)}
    head = [{"行/序号": r["_line"], **{k: v for k, v in r.items() if not k.startswith("_")}}
            for r in conv.tables.get(found.table, [])[:rows]]
    if found.table == REPORT_TABLE:  # the figures under the report's own headers
        defn = next(d for d in found.defs() if d.key == conv.report)
        names = {f"m{i}": m.header for i, m in enumerate(defn.metrics)} | {"agent": "客服/对象", "day": "日期",
                                                                            "shop_id": "店铺"}
    else:
        names = {c.name: c.label for c in TABLES[found.table].columns}
    frame = pd.DataFrame(head).rename(columns=_WHERE)
    if "sender_role" in frame:  # as a user reads it
        frame["sender_role"] = frame["sender_role"].map(
            {"buyer": "买家", "agent": "客服", "robot": "机器人", "system": "系统"}).fillna(frame["sender_role"])
    frame = frame.rename(columns=names)
    return {**out, "layout": conv.label, "frame": frame, "read": conv.read, "unit": conv.unit,
            "excluded": dict(conv.excluded), "notes": list(conv.notes), "day_used": conv.day_used}


def import_paths(store, paths, *, replace: bool = False, report_dir: str | os.PathLike | None = None,
                 progress: bool = False, classify: bool = True, shop: str | None = None,
                 report_day=None, by: str = "本机", allowed_shops=None) -> ImportReport:
    """Import files and folders into ``store`` atomically; return the report.

    Raises ``ImportFailed`` (store unchanged) for problems that stop the whole import:
    unreadable files, missing required columns or tables. Bad rows do not stop it:
    they are rejected, counted and explained in the report.
    """
    from insight.demo.generator import is_demo_folder

    files, notes = discover(paths, store.con)
    if not files:
        raise ImportFailed("没有找到可导入的文件（文件名应为表名，如 shops.csv、messages.csv）" +
                           (f"；{'；'.join(notes)}" if notes else ""))
    demo = bool(paths) and all(Path(p).is_dir() and is_demo_folder(p) for p in paths)
    return import_sources(store, files, replace=replace, report_dir=report_dir, progress=progress, notes=notes,
                          classify=classify, shop=shop, report_day=report_day, by=by, allowed_shops=allowed_shops,
                          _demo=demo)


def import_sources(store, files: list[SourceFile], *, replace: bool = False,
                   report_dir: str | os.PathLike | None = None, progress=False, notes=(),
                   classify: bool = True, shop: str | None = None, report_day=None, by: str = "本机",
                   allowed_shops=None, all_reasons: bool = False, defer_derive: bool = False,
                   _demo: bool = False) -> ImportReport:
    """``import_paths`` for files whose table (and column mapping) the caller decided, e.g. uploads.

    ``progress``: False, True (a terminal bar) or an object with ``update(n)`` and
    ``set_description_str(text)`` and ``total`` (the app's progress bar). ``by``: who imports (the
    audit log records every import, failed ones too). ``allowed_shops``: a supervisor's shops — rows of
    any other shop, and tables that belong to no shop, are rejected with the reason (None: every shop).
    ``defer_derive``: commit the rows and record what to derive (``derive.refresh_pending`` runs it);
    the live events' writer answers before deriving, once for many requests.
    """
    if not files:
        raise ImportFailed("没有要导入的文件")
    if store.parts_only:
        raise ImportFailed("此数据库正在读取部件目录（serve --parts：汇总由 build-parts 在别处计算），导入的数据不会改变"
                           "任何指标，已拒绝；请在构建部件的流程中导入，或不带 --parts 启动服务")
    bar = None
    steps = len(files) + len({f.table for f in files}) + 1
    if progress is not None and progress is not False and progress is not True:
        bar = progress
        bar.total = steps
    elif progress:
        from tqdm import tqdm
        # One step per file read, per table validated, and one for the derivation.
        bar = tqdm(total=steps, unit="步", leave=False)
    if allowed_shops is not None and shop is not None and shop not in allowed_shops:
        raise ImportFailed(OUTSIDE_SCOPE.format(shop))
    importer = _Importer(store, files, notes, replace=replace, progress=bar, classify=classify, demo=_demo, shop=shop,
                         report_day=report_day, allowed_shops=allowed_shops, all_reasons=all_reasons,
                         defer_derive=defer_derive)
    names = ", ".join(Path(f.shown).name for f in files)[:300]
    try:
        rdir = Path(report_dir) if report_dir else None
        report = importer.run(rdir)
    except InsightError as exc:
        with contextlib.suppress(duckdb.Error):  # the failure itself is what the caller must see
            audit(store.con, by, "import", names, str(exc), ok=False)
        raise
    except Exception as exc:
        with contextlib.suppress(duckdb.Error):
            audit(store.con, by, "import", names, f"导入失败: {exc}", ok=False)
        raise ImportFailed(f"导入失败，数据库未改变: {exc}", report=importer.report) from exc
    else:
        audit(store.con, by, "import", names, " ".join(report.summary().split())[:500])
        return report
    finally:
        if bar is not None and hasattr(bar, "close"):
            bar.close()
