"""Column mapping for files whose headers differ from DATA.md (platform exports, hand-made
sheets): suggest the table and each column's source, check a mapping, and keep named presets
(e.g. 淘宝聊天记录导出) in the store so the next export of the same kind maps itself."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
from pathlib import Path

import yaml

from insight.core.errors import UsageError
from insight.core.schema import REPORT_TABLE, TABLES, required_columns, table_for_file_stem
from insight.ingest._headers import header_key
from insight.ingest.roles import RoleRule

__all__ = ["header_key", "builtin_presets", "preset_roles", "preset_for_headers", "preset_pairs", "suggest_table", "suggest_mapping", "check_mapping", "save_preset", "list_presets", "load_preset",
           "SYNONYMS", "AUX_SYNONYMS", "aux_mapping", "needs_review", "start_mapping", "known_header_mapping"]

# Headers seen in the platforms' exports and in hand-made sheets, per DATA.md column.
# The schema's own Chinese labels count as synonyms too.
_COMMON = {
    "shop_id": ["店铺id", "店铺编号", "店铺", "shopid", "店铺账号"],
    "buyer_id": ["买家id", "买家昵称", "买家账号", "买家", "顾客", "顾客id", "用户id", "客户id", "buyer", "会员名", "用户昵称",
                 "客户账号", "客户昵称"],
    "agent_id": ["客服账号", "客服id", "子账号", "客服旺旺", "旺旺昵称", "客服", "接待客服", "接待客服账号"],
    "session_id": ["会话id", "会话编号", "会话", "咨询id", "sessionid"],
    "order_id": ["订单号", "订单编号", "主订单编号", "订单id", "orderid"],
}
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "shops": {"shop_name": ["店铺名称", "店铺名"], "platform": ["平台", "渠道", "平台名称"],
              "category": ["类目", "一级类目", "主营类目", "行业"], "tier": ["层级", "店铺层级", "分层"],
              "timezone": ["时区"]},
    "agents": {"agent_name": ["客服昵称", "客服名称", "昵称", "姓名", "客服姓名"], "kind": ["类型", "账号类型", "客服类型"],
               "team": ["分组", "客服组", "小组"]},
    "messages": {"message_id": ["消息id", "消息编号", "msgid"], "sender_role": ["发送方", "发送人", "发送者角色", "角色", "消息方向", "消息来源", "发送人类型"],
                 "sent_at": ["发送时间", "消息时间", "时间", "聊天时间"], "content_type": ["消息类型", "内容类型"],
                 "content": ["内容", "消息内容", "聊天内容", "文本"]},
    "sessions": {"started_at": ["开始时间", "会话开始时间", "接入时间", "咨询时间"],
                 "ended_at": ["结束时间", "会话结束时间"], "transferred_at": ["转人工时间"],
                 "assigned_at": ["分配时间", "接入客服时间", "分配客服时间"]},
    "evaluations": {"invited_by": ["邀评来源", "邀评方式", "评价来源"], "invited_at": ["邀评时间", "邀请评价时间"],
                    "rating": ["评分", "评价等级", "满意度", "评价结果", "星级"], "rated_at": ["评价时间"],
                    "tags": ["评价标签", "标签"], "comment": ["评价内容", "评价备注", "评语"]},
    "orders": {"created_at": ["下单时间", "创建时间", "订单创建时间"], "paid_at": ["付款时间", "支付时间", "订单付款时间"],
               "amount": ["实付金额", "买家实付金额", "支付金额", "订单金额", "金额"], "status": ["订单状态", "状态"]},
    "refunds": {"refund_id": ["售后单号", "退款编号", "退款单号", "售后id"], "kind": ["售后类型", "退款类型", "类型"],
                "created_at": ["申请时间", "退款申请时间", "售后申请时间"], "finished_at": ["完结时间", "退款完结时间", "完成时间"],
                "status": ["状态", "退款状态", "售后状态"], "reason": ["原因", "退款原因", "售后原因"]},
    "escalations": {"escalation_id": ["介入单号", "工单号", "介入id"], "kind": ["类型", "介入类型"],
                    "created_at": ["发起时间", "创建时间", "介入时间"]},
    "peers": {"metric": ["指标", "指标名"], "period_start": ["周期开始", "开始日期"], "period_end": ["周期结束", "结束日期"],
              "peer_avg": ["同行平均"], "peer_excellent": ["同行优秀"]},
}


# Columns outside DATA.md that an export may have and the import reads: the receiver of a message
# (whose nickname is the buyer of an agent's message when the export names senders by nickname).
AUX_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "messages": {"receiver": ["接收人", "接收方", "接收者", "接收人昵称", "接收账号", "receiver"]},
}


def _aliases(table: str, column: str) -> list[str]:
    col = next(c for c in TABLES[table].columns if c.name == column)
    names = ([column, col.label] + SYNONYMS.get(table, {}).get(column, []) + _COMMON.get(column, [])
             + _builtin_headers(table, column))
    return [header_key(n) for n in names if n]


def suggest_mapping(table: str, headers: list[str], rules=("exact", "alias", "close")) -> dict[str, str | None]:
    """{DATA.md column: source header or None}. Exact names first, then known synonyms, then
    close spellings (``rules`` picks which); each header is used at most once."""
    if table not in TABLES:
        raise UsageError(f"未知的表 {table!r}")
    free = {header_key(h): h for h in headers if str(h).strip()}
    out: dict[str, str | None] = {c.name: None for c in TABLES[table].columns}
    for rule in rules:
        for col in TABLES[table].columns:
            if out[col.name] is not None:
                continue
            aliases = _aliases(table, col.name)
            if rule == "exact":
                hit = header_key(col.name) if header_key(col.name) in free else None
            elif rule == "alias":
                hit = next((a for a in aliases if a in free), None)
            else:
                close = difflib.get_close_matches(header_key(col.name), list(free), n=1, cutoff=0.85)
                hit = close[0] if close else None
            if hit is not None:
                out[col.name] = free.pop(hit)
    return out


def suggest_table(filename: str, headers: list[str], shop_given: bool = False) -> str | None:
    """The table a file most likely holds: by its name (messages_2024.csv), else by its headers (keys
    that can be derived — message and session ids, the shop when one is named — need no column)."""
    from pathlib import Path

    by_name = table_for_file_stem(Path(filename).stem)
    if by_name:
        return by_name
    best, best_score = None, 0.0
    for name, table in TABLES.items():
        mapping = suggest_mapping(name, headers)
        required = required_for(name, headers, shop_given)
        found = sum(1 for c in required if mapping[c])
        score = found / max(len(required), 1) + 0.01 * sum(1 for v in mapping.values() if v)
        if found == len(required) and score > best_score:
            best, best_score = name, score
    return best


def required_for(table: str, headers: list[str], shop_given: bool = False) -> tuple[str, ...]:
    """The columns a file of ``table`` with ``headers`` must have: with a receiver column, a chat log's
    buyer is the sender or the receiver (roles.py)."""
    receiver = any(col == "receiver" for _, col in aux_mapping(table, headers))
    return tuple(required_columns(table, shop_given, receiver))


def check_mapping(table: str, mapping: dict[str, str | None], shop_given: bool = False,
                  headers: list[str] = ()) -> list[str]:
    """Problems that would stop the import: required columns without a source, a header used twice."""
    problems = []
    for col in TABLES[table].columns:
        if col.name in required_for(table, list(headers), shop_given) and not mapping.get(col.name):
            problems.append(f"必填列 {col.name}（{col.label}）还没有对应的源列")
    used = [v for v in mapping.values() if v]
    for header in sorted({h for h in used if used.count(h) > 1}):
        problems.append(f"源列“{header}”被映射到了多个字段")
    return problems


# -- presets --------------------------------------------------------------------------
# A preset is a mapping (DATA.md column, or an aux column such as receiver → the export's header) and,
# for chat logs, the rule that tells the sender (roles.RoleRule). Built-in ones (presets.yaml) can be
# edited: a preset saved in the store under the same name wins.
_ROLES_KEY = "_roles"


@functools.cache
def builtin_presets() -> dict[tuple[str, str], dict]:
    """(name, table) → {"mapping": {column: header}, "roles": RoleRule | None}, in the file's order."""
    raw = yaml.safe_load(Path(__file__).with_name("presets.yaml").read_text(encoding="utf-8"))
    out = {}
    for p in raw["presets"]:
        table = p["table"]
        known = set(TABLES[table].column_names) | set(AUX_SYNONYMS.get(table, {}))
        assert set(p["mapping"]) <= known, (p["name"], set(p["mapping"]) - known)
        out[(p["name"], table)] = {"mapping": {k: str(v) for k, v in p["mapping"].items()},
                                   "roles": RoleRule.from_dict(p["roles"]) if p.get("roles") else None}
    return out


def _builtin_headers(table: str, column: str) -> list[str]:
    return [p["mapping"][column] for (_, t), p in builtin_presets().items() if t == table and column in p["mapping"]]


def _stored(con, table: str | None = None) -> dict[tuple[str, str], dict]:
    sql, params = "SELECT name, table_name, mapping FROM mapping_presets", []
    if table:
        sql += " WHERE table_name = ?"
        params.append(table)
    else:  # report definitions live beside them (reports.py)
        sql += " WHERE table_name <> ?"
        params.append(REPORT_TABLE)
    out = {}
    for name, tbl, blob in con.execute(sql + " ORDER BY saved_at DESC, name", params).fetchall():
        saved = json.loads(blob)
        roles = saved.pop(_ROLES_KEY, None)
        out[(name, tbl)] = {"mapping": saved, "roles": RoleRule.from_dict(roles) if roles else None}
    return out


def _presets(con, table: str | None = None) -> dict[tuple[str, str], dict]:
    """Saved presets (newest first), then the built-in ones not saved over."""
    out = _stored(con, table)
    for key, preset in builtin_presets().items():
        if (table is None or key[1] == table) and key not in out:
            out[key] = preset
    return out


def save_preset(con, name: str, table: str, mapping: dict[str, str | None], roles: RoleRule | None = None) -> None:
    name = name.strip()
    if not name:
        raise UsageError("请为映射方案起一个名字，如“淘宝聊天记录导出”")
    blob = {k: v for k, v in mapping.items() if v}
    if roles is not None:
        blob[_ROLES_KEY] = roles.validate().to_dict()
    con.execute("INSERT OR REPLACE INTO mapping_presets VALUES (?, ?, ?, ?)",
                [name, table, json.dumps(blob, ensure_ascii=False), dt.datetime.now()])


def list_presets(con, table: str | None = None) -> list[tuple[str, str]]:
    """(name, table) of the presets: saved ones newest first, then the built-in ones."""
    return list(_presets(con, table))


def _preset(con, name: str, table: str) -> dict:
    preset = _presets(con, table).get((name, table))
    if preset is None:
        raise UsageError(f"没有名为“{name}”的 {table} 映射方案")
    return preset


def load_preset(con, name: str, table: str, headers: list[str] | None = None) -> dict[str, str | None]:
    """A preset's mapping of DATA.md columns; with ``headers``, sources the file does not have are dropped."""
    saved = _preset(con, name, table)["mapping"]
    out = {c.name: saved.get(c.name) for c in TABLES[table].columns}
    if headers is not None:
        out = {k: (v if v in headers else None) for k, v in out.items()}
    return out


def preset_roles(con, name: str | None, table: str) -> RoleRule | None:
    """The sender rule a preset carries (None: the default rule)."""
    return _preset(con, name, table)["roles"] if name else None


def preset_for_headers(con, table: str, headers: list[str]) -> str | None:
    """The preset whose every source header the file has (the one naming most columns wins): an export
    of a known kind then imports with its preset, sender rule included, without being asked."""
    have = {header_key(h) for h in headers}
    best, best_n = None, 0
    for (name, _), preset in _presets(con, table).items():
        sources = [header_key(h) for h in preset["mapping"].values()]
        if sources and all(s in have for s in sources) and len(sources) > best_n:
            best, best_n = name, len(sources)
    return best


def preset_pairs(con, name: str, table: str, headers: list[str]) -> tuple[tuple[str, str], ...]:
    """(file header, column) pairs of a preset for a file with ``headers`` (aux columns included)."""
    by_norm = {header_key(h): h for h in headers}
    return tuple((by_norm[header_key(src)], col) for col, src in _preset(con, name, table)["mapping"].items()
                 if header_key(src) in by_norm)


def needs_review(filename: str, headers: list[str], shop_given: bool = False) -> tuple[str | None, bool]:
    """The table a file most likely holds, and whether a person should look at its mapping (no table
    recognised, or a required column without a source)."""
    guess = suggest_table(filename, headers, shop_given=True)  # the shop may still be picked
    return guess, guess is None or bool(check_mapping(guess, suggest_mapping(guess, headers), shop_given, headers))


def start_mapping(con, table: str, headers: list[str], preset: str | None = None) -> dict[str, str | None]:
    """The mapping the review starts from: a saved preset (sources the file lacks dropped), else the suggestion."""
    return load_preset(con, preset, table, headers) if preset else suggest_mapping(table, headers)


def known_header_mapping(table: str, headers: list[str]) -> tuple[tuple[str, str], ...]:
    """(header, column) pairs for headers that are a column's name or a known synonym (no guessing
    by spelling): what an import without a hand-made mapping applies, so platform exports with
    Chinese headers import as they are."""
    suggested = suggest_mapping(table, headers, rules=("exact", "alias"))
    return tuple((header, column) for column, header in suggested.items() if header is not None) + \
        aux_mapping(table, headers, used=set(suggested.values()))


def aux_mapping(table: str, headers: list[str], used=frozenset()) -> tuple[tuple[str, str], ...]:
    """(header, aux column) for the columns outside DATA.md that the import reads (AUX_SYNONYMS)."""
    free = {header_key(h): h for h in headers if str(h).strip() and h not in used}
    out = []
    for column, names in AUX_SYNONYMS.get(table, {}).items():
        names = names + _builtin_headers(table, column)
        hit = next((free[header_key(n)] for n in names if header_key(n) in free), None)
        if hit is not None:
            out.append((hit, column))
    return tuple(out)
