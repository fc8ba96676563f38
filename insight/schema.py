"""The import contract of ``shared/DATA.md`` as data: tables, columns, keys, rules.

The importer, the store DDL and the docs all read these declarations, so a
column is described once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "Table", "TABLES", "PLATFORMS", "table_for_file_stem"]

PLATFORMS = ("taobao", "tmall", "douyin", "kuaishou", "jd", "pdd", "other")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | int | decimal | timestamp | enum | rating
    required: bool = True  # value must be present (non-empty)
    in_file: bool = True  # False: DATA.md marks the column optional (any non-required column may be absent)
    choices: tuple[str, ...] = ()
    default: str | None = None  # used when the column is absent or empty
    label: str = ""  # 中文 description used in error messages and docs

    @property
    def sql_type(self) -> str:
        return {
            "text": "VARCHAR",
            "enum": "VARCHAR",
            "int": "INTEGER",
            "rating": "TINYINT",
            "decimal": "DECIMAL(18,2)",
            "timestamp": "TIMESTAMP",
            "date": "DATE",
            "float": "DOUBLE",
        }[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    label: str = ""
    # Rows must name a known shop (checked at import).
    shop_scoped: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name, type_="text", **kw) -> Column:
    return Column(name, type_, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "shops",
            (
                _c("shop_id", label="店铺ID"),
                _c("shop_name", required=False, label="店铺名称"),
                _c("platform", "enum", choices=PLATFORMS, label="平台"),
                _c("category", label="一级类目"),
                _c("tier", "int", label="层级"),
                _c("timezone", required=False, in_file=False, default="Asia/Shanghai", label="时区"),
            ),
            key=("shop_id",),
            required=True,
            label="店铺",
            shop_scoped=False,
        ),
        Table(
            "agents",
            (
                _c("agent_id", label="客服账号"),
                _c("shop_id", label="店铺ID"),
                _c("agent_name", required=False, label="客服昵称"),
                _c("kind", "enum", choices=("human", "robot"), label="类型"),
                _c("team", required=False, in_file=False, label="分组"),
            ),
            key=("agent_id",),
            label="客服",
        ),
        Table(
            "messages",
            (
                _c("message_id", label="消息ID"),
                _c("shop_id", label="店铺ID"),
                _c("session_id", label="会话ID"),
                _c("buyer_id", label="买家ID"),
                _c("sender_role", "enum", choices=("buyer", "agent", "robot", "system"), label="发送方"),
                _c("agent_id", required=False, label="客服账号"),
                _c("sent_at", "timestamp", label="发送时间"),
                _c("content_type", required=False, in_file=False, default="text", label="消息类型"),
                _c("content", required=False, label="内容"),
            ),
            key=("message_id",),
            required=True,
            label="聊天消息",
        ),
        Table(
            "sessions",
            (
                _c("session_id", label="会话ID"),
                _c("shop_id", label="店铺ID"),
                _c("buyer_id", label="买家ID"),
                _c("started_at", "timestamp", label="开始时间"),
                _c("ended_at", "timestamp", label="结束时间"),
                _c("transferred_at", "timestamp", required=False, label="转人工时间"),
                _c("assigned_at", "timestamp", required=False, in_file=False, label="分配时间"),
                _c("agent_id", required=False, label="接待客服"),
            ),
            key=("session_id",),
            label="会话",
        ),
        Table(
            "evaluations",
            (
                _c("session_id", label="会话ID"),
                _c("shop_id", label="店铺ID"),
                _c("buyer_id", label="买家ID"),
                _c("invited_by", "enum", choices=("agent", "buyer", "system"), label="邀评来源"),
                _c("invited_at", "timestamp", label="邀评时间"),
                _c("rating", "rating", required=False, label="评分"),
                _c("rated_at", "timestamp", required=False, label="评价时间"),
                _c("tags", required=False, in_file=False, label="评价标签"),
                _c("comment", required=False, in_file=False, label="评价内容"),
            ),
            key=("session_id",),
            label="服务评价",
        ),
        Table(
            "orders",
            (
                _c("order_id", label="订单号"),
                _c("shop_id", label="店铺ID"),
                _c("buyer_id", label="买家ID"),
                _c("created_at", "timestamp", label="下单时间"),
                _c("paid_at", "timestamp", required=False, label="付款时间"),
                _c("amount", "decimal", label="实付金额"),
                _c("status", required=False, in_file=False, label="订单状态"),
            ),
            key=("order_id",),
            label="订单",
        ),
        Table(
            "refunds",
            (
                _c("refund_id", label="售后单号"),
                _c("order_id", label="订单号"),
                _c("shop_id", label="店铺ID"),
                _c("buyer_id", label="买家ID"),
                _c("kind", "enum", choices=("refund_only", "return_refund", "exchange"), label="售后类型"),
                _c("created_at", "timestamp", label="申请时间"),
                _c("finished_at", "timestamp", required=False, label="完结时间"),
                _c("status", "enum", choices=("success", "closed", "open"), label="状态"),
                _c("reason", required=False, in_file=False, label="原因"),
            ),
            key=("refund_id",),
            label="售后退款",
        ),
        Table(
            "escalations",
            (
                _c("escalation_id", label="介入单号"),
                _c("shop_id", label="店铺ID"),
                _c("buyer_id", label="买家ID"),
                _c("order_id", required=False, label="订单号"),
                _c("kind", "enum", choices=("platform_consult", "dispute", "complaint"), label="类型"),
                _c("created_at", "timestamp", label="发起时间"),
            ),
            key=("escalation_id",),
            label="平台介入",
        ),
        Table(
            "peers",
            (
                _c("platform", "enum", choices=PLATFORMS, label="平台"),
                _c("category", label="一级类目"),
                _c("tier", "int", label="层级"),
                _c("metric", label="指标"),
                _c("period_start", "date", label="周期开始"),
                _c("period_end", "date", label="周期结束"),
                _c("peer_avg", "float", required=False, label="同行平均"),
                _c("peer_excellent", "float", required=False, label="同行优秀"),
            ),
            key=("platform", "category", "tier", "metric", "period_start", "period_end"),
            label="同行基准",
            shop_scoped=False,
        ),
    )
}

# Import order: referenced tables first, so a single import can bring shops and
# the rows that point at them.
IMPORT_ORDER = ("shops", "agents", "sessions", "messages", "evaluations", "orders", "refunds", "escalations", "peers")


def table_for_file_stem(stem: str) -> str | None:
    """Map a file name stem to a table: ``messages``, ``messages_2024-05``, ``messages-part1``…"""
    low = stem.lower()
    for name in sorted(TABLES, key=len, reverse=True):
        if low == name or low.startswith((name + "_", name + "-", name + ".", name + " ")):
            return name
    return None
