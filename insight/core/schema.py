"""The import contract of ``shared/DATA.md`` as data: tables, columns, keys, rules.

The importer, the store DDL and the docs all read these declarations, so a
column is described once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .filters import hours_bucket_sql

__all__ = ["Column", "Table", "TABLES", "PLATFORMS", "PLATFORM_LABELS", "IMPORT_ORDER", "REQUIRED_TABLES", "table_for_file_stem", "GRAIN", "PART_MEASURES", "SQUARE_UNIT_SECONDS",
           "SALES_MEASURES", "SCENARIO_MEASURES", "REPORT_TABLE", "ACCOUNT_DDL", "ACCOUNT_UPGRADES", "SHOP_LEVEL_AGENT", "ALERT_DDL", "table_label", "DERIVABLE_KEYS", "required_columns", "EFFECTIVE_CODE_SQL", "scenario_parts_sql", "all_ddl"]

PLATFORMS = ("taobao", "tmall", "douyin", "kuaishou", "jd", "pdd", "other")
# What a user reads for each platform code (and may write in an import).
PLATFORM_LABELS = {"taobao": "淘宝", "tmall": "天猫", "douyin": "抖音", "kuaishou": "快手", "jd": "京东",
                   "pdd": "拼多多", "other": "其他"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | int | decimal | timestamp | enum | rating
    required: bool = True  # value must be present (non-empty)
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
                _c("timezone", required=False, default="Asia/Shanghai", label="时区"),
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
                _c("team", required=False, label="分组"),
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
                _c("content_type", required=False, default="text", label="消息类型"),
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
                _c("assigned_at", "timestamp", required=False, label="分配时间"),
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
                _c("tags", required=False, label="评价标签"),
                _c("comment", required=False, label="评价内容"),
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
                _c("status", required=False, label="订单状态"),
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
                _c("reason", required=False, label="原因"),
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
# Keys a platform export may lack, derived at import: message ids from the row's content and its
# occurrence, sessions by METRICS.md's gap rule; shop_id of any table comes from the shop named at import.
DERIVABLE_KEYS = {"messages": ("message_id", "session_id")}


def required_columns(table: str, shop_given: bool = False, receiver: bool = False) -> list[str]:
    """The columns a file of ``table`` must have: required, without default, not derivable. With a
    receiver column, a chat log's buyer is the sender or the receiver (ingest/roles.py)."""
    derivable = set(DERIVABLE_KEYS.get(table, ())) | ({"shop_id"} if shop_given and TABLES[table].shop_scoped else set())
    if receiver and table == "messages":
        derivable.add("buyer_id")
    return [c.name for c in TABLES[table].columns if c.required and c.default is None and c.name not in derivable]


REQUIRED_TABLES = tuple(name for name, table in TABLES.items() if table.required)
IMPORT_ORDER = ("shops", "agents", "sessions", "messages", "evaluations", "orders", "refunds", "escalations", "peers")


def table_for_file_stem(stem: str) -> str | None:
    """Map a file name stem to a table: ``messages``, ``messages_2024-05``, ``messages-part1``…"""
    low = stem.lower()
    for name in sorted(TABLES, key=len, reverse=True):
        if low == name or low.startswith((name + "_", name + "-", name + ".", name + " ")):
            return name
    return None


# -- derived tables: the additive parts and the session facts ----------------------------

GRAIN = ("shop_id", "agent_id", "day", "channel", "stage", "hours")

# Measures of the ``parts`` table. ``*_ag`` are agent-view variants: the agent's own
# waits (from max(message, assigned_at)) or units counted once per agent.
PART_MEASURES = (
    # evaluations (anchor invited_at)
    "ev_invited", "ev_invited_by_agent", "ev_invited_by_buyer", "ev_invited_by_system",
    "ev_rated", "ev_r1", "ev_r2", "ev_r3", "ev_r4", "ev_r5",
    # sessions (anchor started_at)
    "ses_manual", "ses_robot", "ses_no_service", "ses_3min_ok", "ses_3min_ok_ag",
    "frt_n", "frt_sum", "frt_sum_ag", "fcr_n", "fcr_repeat", "fcr_pending",
    # messages (anchor sent_at)
    "msg_buyer_mp", "msg_3min_ok", "msg_3min_ok_ag", "msg_agent",
    # rounds (anchor round start)
    "rnd_answered", "rnd_wait_sum", "rnd_wait_sum_ag",
    # (buyer, day) pairs with rounds: shop view and agent view
    "bd_n", "bd_ok", "bd_n_ag", "bd_ok_ag",
    # (buyer, day) pairs who consulted / were replied to
    "cb_n", "rb_n", "cb_n_ag", "rb_n_ag",
    # after-sale
    "res_demand", "res_escalated", "rf_n", "rf_sum",
    # squares of the durations behind the means, for their intervals (appended last: a store from before
    # gains them as its last columns, and rows are written by position)
    "frt_sq", "frt_sq_ag", "rnd_wait_sq", "rnd_wait_sq_ag", "rf_sq",
)
# Seconds per unit of each squares measure: Σ (seconds / unit)², in minutes² for waits and hours² for
# refunds, so that a grain cell's sum fits the decimal the measures are summed as (DECIMAL(18, 6)) and
# short waits keep their precision.
SQUARE_UNIT_SECONDS = {"frt_sq": 60, "frt_sq_ag": 60, "rnd_wait_sq": 60, "rnd_wait_sq_ag": 60, "rf_sq": 3600}

SALES_MEASURES = (
    "inq_n", "inq_order", "inq_paid", "inq_order_paid",
    "inq_n_ag", "inq_order_ag", "inq_paid_ag", "inq_order_paid_ag",
    "sales_agent", "sales_silent", "pay_buyers", "pay_buyers_ag",
)


def derived_ddl() -> list[str]:
    grain = "shop_id VARCHAR, agent_id VARCHAR, day DATE, channel VARCHAR, stage VARCHAR, hours VARCHAR"
    parts = ", ".join(f"{m} DOUBLE" for m in PART_MEASURES)
    sales = ", ".join(f"{m} DOUBLE" for m in SALES_MEASURES)
    return [
        f"CREATE TABLE IF NOT EXISTS parts ({grain}, {parts})",
        f"CREATE TABLE IF NOT EXISTS parts_sales (settings_key VARCHAR, {grain}, {sales})",
        f"CREATE TABLE IF NOT EXISTS parts_tags ({grain}, tag VARCHAR, n DOUBLE, n_bad DOUBLE)",
        """CREATE TABLE IF NOT EXISTS f_sessions (
            shop_id VARCHAR, session_id VARCHAR, buyer_id VARCHAR, agent_id VARCHAR,
            started_at TIMESTAMP, ended_at TIMESTAMP, transferred_at TIMESTAMP, assigned_at TIMESTAMP,
            channel VARCHAR, stage VARCHAR, day DATE, hours VARCHAR, first_role VARCHAR, source VARCHAR,
            n_messages INTEGER, n_mp INTEGER, n_agent_after INTEGER, n_rounds INTEGER, n_answered INTEGER,
            wait_sum DOUBLE, wait_sum_ag DOUBLE, first_wait DOUBLE, first_wait_ag DOUBLE,
            is_manual_unit BOOLEAN, fcr_state VARCHAR)""",
        "CREATE TABLE IF NOT EXISTS f_shop_span (shop_id VARCHAR, data_start TIMESTAMP, data_end TIMESTAMP)",
        # Shops whose input changed and whose derivation is deferred (live events): from ``since``
        # (NULL: the whole history). Committed with the rows, so a crash leaves it for the next start.
        "CREATE TABLE IF NOT EXISTS derive_pending (shop_id VARCHAR, since DATE)",
    ]


# Evaluation measures of the scenario parts: the same names as in ``parts``, so that the registry's
# definitions (e.g. 满意率 = (ev_r4 + ev_r5) / ev_rated) apply to a scenario unchanged.
SCENARIO_MEASURES = ("ev_invited", "ev_rated", "ev_r1", "ev_r2", "ev_r3", "ev_r4", "ev_r5")

SCENARIO_DDL = [
    """CREATE TABLE IF NOT EXISTS session_scenarios (
        shop_id VARCHAR, session_id VARCHAR, code VARCHAR, confidence DOUBLE, triggers VARCHAR,
        model_version VARCHAR, PRIMARY KEY (shop_id, session_id))""",
    """CREATE TABLE IF NOT EXISTS scenario_corrections (
        shop_id VARCHAR, session_id VARCHAR, code VARCHAR, previous_code VARCHAR, corrected_at TIMESTAMP,
        PRIMARY KEY (shop_id, session_id))""",
    "CREATE TABLE IF NOT EXISTS parts_scenario (shop_id VARCHAR, day DATE, channel VARCHAR, stage VARCHAR, "
    "hours VARCHAR, code VARCHAR, " + ", ".join(f"{m} DOUBLE" for m in SCENARIO_MEASURES) + ")",
]
# A user's correction wins over the model's scenario.
EFFECTIVE_CODE_SQL = "coalesce(c.code, ss.code)"


def scenario_parts_sql(scope: str = "") -> str:
    """Fill ``parts_scenario`` (for the shops ``scope`` selects): evaluations by invited_at with the
    session's channel, stage and effective scenario. Shared by the scenario layer and the store's
    migration, which both rebuild the table."""
    ratings = ", ".join(f"count(*) FILTER (e.rating = {r})" for r in range(1, 6))
    return f"""INSERT INTO parts_scenario
        SELECT e.shop_id, CAST(e.invited_at AS DATE) AS day, coalesce(f.channel, 'unknown'),
               coalesce(f.stage, 'unknown'), {hours_bucket_sql('e.invited_at')},
               coalesce({EFFECTIVE_CODE_SQL}, 'service.other.other') AS code,
               count(*), count(e.rating), {ratings}
        FROM evaluations e
        LEFT JOIN f_sessions f ON f.shop_id = e.shop_id AND f.session_id = e.session_id
        LEFT JOIN session_scenarios ss ON ss.shop_id = e.shop_id AND ss.session_id = e.session_id
        LEFT JOIN scenario_corrections c ON c.shop_id = e.shop_id AND c.session_id = e.session_id
        WHERE true {scope}
        GROUP BY ALL"""


# -- the store's own tables -------------------------------------------------------------

def _canonical_ddl(name: str) -> str:
    table = TABLES[name]
    cols = [f"{c.name} {c.sql_type}" for c in table.columns]
    cols += ["_import_id INTEGER", "_extra VARCHAR"]
    if name == "messages":
        cols.append("_seq BIGINT")  # file order: ties on sent_at keep the order of the export
    return f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})"


# Second-tier figures from the platforms' own per-agent reports (ingest/reports.py).
REPORT_TABLE = "platform_reports"

def table_label(name: str) -> str:
    """A table's 中文 name, for the imported tables and the platform reports alike."""
    return "平台客服报表" if name == REPORT_TABLE else TABLES[name].label


_META_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS imports (
        import_id INTEGER PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP,
        files VARCHAR, summary VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS import_rejects (
        import_id INTEGER, table_name VARCHAR, file VARCHAR, line BIGINT,
        column_name VARCHAR, reason VARCHAR, raw VARCHAR)""",
    # The platforms' per-agent report figures (平台口径), one row per (shop, agent, day, report, figure).
    f"""CREATE TABLE IF NOT EXISTS {REPORT_TABLE} (
        shop_id VARCHAR, agent VARCHAR, day DATE, report VARCHAR, platform VARCHAR, metric VARCHAR, value DOUBLE,
        kind VARCHAR, weight VARCHAR, matches VARCHAR, definition VARCHAR, source_file VARCHAR, _import_id INTEGER)""",
    # Column mappings saved from the data page (e.g. one per platform's export format).
    """CREATE TABLE IF NOT EXISTS mapping_presets (
        name VARCHAR, table_name VARCHAR, mapping VARCHAR, saved_at TIMESTAMP,
        PRIMARY KEY (name, table_name))""",
]

# Accounts (insight.accounts): users and their scope, API tokens and one-time sign-in links (only
# their SHA-256 is stored), failed sign-ins (throttling) and the audit log. No key constraints:
# the accounts module keeps names unique, and DuckDB's over-eager checks would refuse an update
# of a row deleted and inserted again in one transaction.
# Live alerts (insight.analyses.alerts): per-shop thresholds and webhook, and what was sent when.
ALERT_DDL = [
    """CREATE TABLE IF NOT EXISTS alert_rules (shop_id VARCHAR, wait_seconds INTEGER, reply_rate_1h DOUBLE,
        one_star BOOLEAN, webhook_url VARCHAR, webhook_kind VARCHAR)""",
    "CREATE TABLE IF NOT EXISTS alert_sent (shop_id VARCHAR, alert_key VARCHAR, sent_at TIMESTAMP, ok BOOLEAN, detail VARCHAR)",
]

ACCOUNT_DDL = [
    """CREATE TABLE IF NOT EXISTS users (
        name VARCHAR, role VARCHAR, shops VARCHAR[], agent_id VARCHAR, pii BOOLEAN, can_import BOOLEAN,
        password_hash VARCHAR, session_epoch INTEGER, created_at TIMESTAMP, password_changed_at TIMESTAMP,
        account_id VARCHAR)""",
    # Signed-in browser sessions: a cookie names one (its token's hash is kept), sign-out ends it.
    """CREATE TABLE IF NOT EXISTS web_sessions (
        session_hash VARCHAR, user_name VARCHAR, account_id VARCHAR, created_at TIMESTAMP, expires_at TIMESTAMP,
        ended_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
        token_hash VARCHAR, user_name VARCHAR, created_at TIMESTAMP, revoked_at TIMESTAMP, last_used_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS login_links (
        token_hash VARCHAR, user_name VARCHAR, created_at TIMESTAMP, expires_at TIMESTAMP, used_at TIMESTAMP)""",
    "CREATE TABLE IF NOT EXISTS login_failures (user_name VARCHAR, client VARCHAR, failed_at TIMESTAMP)",
    """CREATE TABLE IF NOT EXISTS audit_log (
        logged_at TIMESTAMP, user_name VARCHAR, action VARCHAR, target VARCHAR, detail VARCHAR, ok BOOLEAN)""",
]


# Run at every open of a writable store (idempotent): what later versions added to the account tables.
# A random id per account binds its sessions: a re-created account of the same name is another account.
ACCOUNT_UPGRADES = [
    "ALTER TABLE users ADD COLUMN IF NOT EXISTS account_id VARCHAR",
    "UPDATE users SET account_id = CAST(gen_random_uuid() AS VARCHAR) WHERE account_id IS NULL",
    # What a report row is about (reports.LEVELS): an agent, the whole shop (agent = SHOP_LEVEL_AGENT), an item.
    f"ALTER TABLE {REPORT_TABLE} ADD COLUMN IF NOT EXISTS level VARCHAR DEFAULT 'agent'",
]
# The agent column of a platform report row that covers the whole shop (快手 考核数据, 京东 服务工作量).
SHOP_LEVEL_AGENT = "（全店）"


def all_ddl() -> list[str]:
    """Every table of a store, in creation order: bookkeeping, DATA.md tables, derived, scenarios."""
    return _META_DDL + ACCOUNT_DDL + ALERT_DDL + [_canonical_ddl(name) for name in TABLES] + derived_ddl() + SCENARIO_DDL
