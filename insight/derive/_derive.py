"""Derivation, as SQL run inside the engine: sessions, channel, stage, waits, rounds,
FCR follow-ups, inquiries and attribution, and the additive parts every metric reads.

Everything is set-based SQL (window functions, joins, GROUP BY) over the shops in
scope, so the same statements could run on a distributed engine; no Python loops
over rows. ``refresh`` recomputes the shops an import touched and leaves the others.

Grain of the parts: shop × agent × day × channel × stage × hours bucket, where each
unit lands by its anchor time (METRICS.md). Dimensions a unit does not have are
stored as ``'none'`` (e.g. a refund has no channel); the metric registry declares
which filters a metric cannot honour, so such rows are never filtered wrongly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from insight.core.filters import hours_bucket_sql
from insight.core.schema import GRAIN, PART_MEASURES, SALES_MEASURES, SQUARE_UNIT_SECONDS
from insight.core.settings import (
    FCR_WINDOW_HOURS,
    REPLY_SLA_SECONDS,
    SalesSettings,
    StoreSettings,
)
from insight.store import transaction

__all__ = ["COUNTED_TABLES", "MEASURE_DECIMAL", "whole_steps", "Step", "OUTPUT_TABLES", "refresh", "refresh_sales", "defer", "take_pending", "refresh_pending", "settle_pending", "apply_settings", "gap_sessions_sql", "move_to_cut_sessions",
           "GAP_SESSION_PREFIX"]

def _secs(later: str, earlier: str) -> str:
    return f"(epoch({later}) - epoch({earlier}))"


# How far back one day's input can change derived facts. Sessions, messages, evaluations and after-sale
# facts of a day depend on that day and earlier ones only (stage, attribution and 解决率 look back, so
# their effects move forward): the touched day is where they are derived again. Two rules look ahead:
# an inquiry on D converts with an order up to D + valid days − 1, so the sales parts start that many
# days earlier (SALES_REACH_DAYS); FCR looks 72 h ahead (a session on D−3 can be repeated by one on D),
# so on those days only the sessions' FCR state is updated, with the parts' FCR measures (FCR_REACH_DAYS).
SALES_REACH_DAYS = SalesSettings().valid_days - 1
FCR_REACH_DAYS = -(-FCR_WINDOW_HOURS // 24)


def _in_window(alias: str, day: str, lookback: int = 0, bound: str = "from_day") -> str:
    """Rows of ``alias`` in the shops being derived whose ``day`` is in the window (``lookback``
    days earlier for rules that read back). ``bound``: ``from_day`` (sessions and parts) or
    ``sales_from`` (sales parts); NULL = the shop's whole history."""
    assert bound in ("from_day", "sales_from")
    # The constant bound comes first: the engine folds it and skips stored row groups (and rows)
    # older than every shop's window before the exact per-shop test runs.
    return (f"{day} >= {_lowest(bound)} - {int(lookback)} "
            f"AND {alias}.shop_id IN (SELECT shop_id FROM _scope) AND NOT EXISTS (SELECT 1 FROM _scope sc "
            f"WHERE sc.shop_id = {alias}.shop_id AND {day} < sc.{bound} - {int(lookback)})")


def _within(whole: bool, alias: str, day: str, lookback: int = 0, bound: str = "from_day") -> str:
    """``_in_window``, or every row when the dataset is derived whole (``derivation_steps``)."""
    return "TRUE" if whole else _in_window(alias, day, lookback, bound)


def _lowest(bound: str) -> str:
    """The earliest ``bound`` day over the shops in scope, as a constant the engine can fold
    (set by ``_set_bounds``; ``-infinity`` when a shop is derived whole)."""
    return f"getvariable('insight_lowest_{bound}')"


def _set_bounds(con) -> None:
    for bound in ("from_day", "sales_from"):
        con.execute(f"SET VARIABLE insight_lowest_{bound} = (SELECT CASE WHEN bool_or({bound} IS NULL) "
                    f"THEN DATE '-infinity' ELSE min({bound}) END FROM _scope)")


# -- session and message facts ---------------------------------------------------------

def _session_sql(window_days: int, whole: bool = False) -> list[tuple[str, str]]:
    """The session and message facts, as (table, SELECT) steps (``whole``: every
    shop's whole history, no ``_scope``/``_ctx``; else the window of the shops in ``_scope``)."""
    in_ctx = "TRUE" if whole else "(sc.from_day IS NULL OR (m.shop_id, m.session_id) IN (SELECT shop_id, session_id FROM _ctx))"
    msg_scope = "" if whole else "JOIN _scope sc ON sc.shop_id = m.shop_id"
    first_message = "TRUE" if whole else "m.sent_at >= getvariable('insight_first_message')"
    sess_scope = "" if whole else "JOIN _scope sc ON sc.shop_id = s.shop_id"
    sess_in_ctx = "TRUE" if whole else \
        "(sc.from_day IS NULL OR (s.shop_id, s.session_id) IN (SELECT shop_id, session_id FROM _ctx))"
    paid_scope = "TRUE" if whole else (
        "shop_id IN (SELECT shop_id FROM _scope) AND CAST(paid_at AS DATE) >= "
        f"CAST(getvariable('insight_first_message') AS DATE) - {int(window_days)}")
    # Window frames are written out in full (a named window cannot be extended in Spark SQL).
    w = "PARTITION BY m.shop_id, m.session_id ORDER BY m.sent_at, m._seq"
    return [
        # Messages in scope, ordered within their session by (sent_at, file order).
        ("_msg", f"""
        SELECT m.shop_id, m.session_id, m.buyer_id, m.sender_role AS role, m.agent_id, m.sent_at,
            row_number() OVER ({w}) AS ord,
            min(CASE WHEN m.sender_role = 'agent' THEN m.sent_at END)
                OVER ({w} ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_reply_at,
            last_value(CASE WHEN m.sender_role IN ('buyer', 'agent') THEN m.sender_role END IGNORE NULLS)
                OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_role,
            last_value(CASE WHEN m.sender_role IN ('buyer', 'agent') THEN m.sent_at END IGNORE NULLS)
                OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_at,
            count(CASE WHEN m.sender_role IN ('robot', 'system') THEN 1 END)
                OVER ({w} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS bots_upto
        FROM messages m {msg_scope}
        WHERE {first_message} AND {in_ctx}"""),
        # Per session from its messages: span, first agent, robot messages before it.
        ("_sess_msg", """
        SELECT shop_id, session_id,
            arg_min(buyer_id, ord) AS buyer_id, min(sent_at) AS started_at, max(sent_at) AS ended_at,
            arg_min(role, ord) AS first_role, count(*) AS n_messages,
            min(ord) FILTER (WHERE role = 'agent') AS first_agent_ord,
            arg_min(sent_at, ord) FILTER (WHERE role = 'agent') AS first_agent_at,
            arg_min(agent_id, ord) FILTER (WHERE role = 'agent') AS first_agent_id,
            arg_min(bots_upto, ord) FILTER (WHERE role = 'agent') AS bots_before_agent
        FROM _msg GROUP BY shop_id, session_id"""),
        # 转人工: the first buyer message after the last robot/system message that precedes the
        # first agent message (bots_upto counts robot/system messages seen so far).
        ("_transfer", """
        WITH buyer_by_bots AS (
            SELECT shop_id, session_id, bots_upto, min(sent_at) AS first_buyer_at
            FROM _msg WHERE role = 'buyer' GROUP BY shop_id, session_id, bots_upto)
        SELECT s.shop_id, s.session_id, min(b.first_buyer_at) AS first_buyer_after_bot
        FROM _sess_msg s JOIN buyer_by_bots b
          ON b.shop_id = s.shop_id AND b.session_id = s.session_id AND b.bots_upto >= s.bots_before_agent
        WHERE s.first_agent_ord IS NOT NULL
        GROUP BY s.shop_id, s.session_id"""),
        # Sessions: imported rows win; sessions only seen in messages are derived.
        ("_sess0", f"""
        SELECT s.shop_id, s.session_id, s.buyer_id, s.started_at, s.ended_at, s.transferred_at, s.assigned_at,
            coalesce(s.agent_id, d.first_agent_id) AS agent_id, d.first_role, 'imported' AS source,
            coalesce(d.n_messages, 0) AS n_messages
        FROM sessions s {sess_scope}
        LEFT JOIN _sess_msg d ON d.shop_id = s.shop_id AND d.session_id = s.session_id
        WHERE {sess_in_ctx}
        UNION ALL
        SELECT d.shop_id, d.session_id, d.buyer_id, d.started_at, d.ended_at,
            CASE WHEN d.first_agent_ord IS NOT NULL
                 THEN coalesce(t.first_buyer_after_bot, d.first_agent_at) END AS transferred_at,
            NULL AS assigned_at, d.first_agent_id, d.first_role, 'derived', d.n_messages
        FROM _sess_msg d
        LEFT JOIN _transfer t ON t.shop_id = d.shop_id AND t.session_id = d.session_id
        WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = d.session_id)"""),
        # Channel, stage (a paid order on D−W … D−1), anchor day and hours bucket.
        ("_sess", f"""
        WITH paid_days AS (
            SELECT DISTINCT shop_id, buyer_id, CAST(paid_at AS DATE) AS paid_day
            FROM orders WHERE paid_at IS NOT NULL AND {paid_scope}),
        -- A range match as a join (not a correlated EXISTS): the form every engine plans well.
        after_paid AS (
            SELECT DISTINCT s.shop_id, s.session_id FROM _sess0 s JOIN paid_days p
              ON p.shop_id = s.shop_id AND p.buyer_id = s.buyer_id
             AND p.paid_day BETWEEN CAST(s.started_at AS DATE) - {int(window_days)} AND CAST(s.started_at AS DATE) - 1)
        SELECT s.*,
            CASE WHEN s.transferred_at IS NOT NULL THEN 'manual' ELSE 'robot' END AS channel,
            CASE WHEN a.session_id IS NOT NULL THEN 'aftersale' ELSE 'presale' END AS stage,
            CAST(s.started_at AS DATE) AS day, {hours_bucket_sql('s.started_at')} AS hours
        FROM _sess0 s LEFT JOIN after_paid a ON a.shop_id = s.shop_id AND a.session_id = s.session_id"""),
        # Messages of manual sessions with waits (shop view and agent view) and round starts.
        ("_mf", f"""
        SELECT m.shop_id, m.session_id, m.buyer_id, m.role, m.sent_at, m.ord, m.next_reply_at,
            s.agent_id, s.stage, s.transferred_at,
            (m.role = 'buyer' AND m.sent_at >= s.transferred_at) AS is_mp,
            {_secs('m.next_reply_at', 'm.sent_at')} AS wait,
            -- greatest() skips NULL: an unanswered message must stay NULL, not become a 0 s wait.
            CASE WHEN m.next_reply_at IS NOT NULL THEN
                greatest(0, {_secs('m.next_reply_at', 'greatest(m.sent_at, coalesce(s.assigned_at, m.sent_at))')})
            END AS wait_ag,
            (m.role = 'buyer' AND m.sent_at >= s.transferred_at
             AND NOT coalesce(m.prev_role = 'buyer' AND m.prev_at >= s.transferred_at, false)) AS round_start
        FROM _msg m JOIN _sess s ON s.shop_id = m.shop_id AND s.session_id = m.session_id
        WHERE s.channel = 'manual'"""),
        # Per manual session: manual-phase counts and round waits.
        ("_sr", """
        SELECT shop_id, session_id,
            count(*) FILTER (WHERE is_mp) AS n_mp,
            count(*) FILTER (WHERE role = 'agent' AND sent_at >= transferred_at) AS n_agent_after,
            count(*) FILTER (WHERE round_start) AS n_rounds,
            count(wait) FILTER (WHERE round_start) AS n_answered,
            sum(wait) FILTER (WHERE round_start) AS wait_sum,
            sum(wait_ag) FILTER (WHERE round_start) AS wait_sum_ag,
            arg_min({'w': wait, 'a': wait_ag}, ord) FILTER (WHERE round_start) AS first_round
        FROM _mf GROUP BY shop_id, session_id"""),
        # FCR: a manual after-sale session followed within 72 h by another one of the same buyer.
        ("_fsess", f"""
        WITH base AS (
            SELECT s.*, coalesce(r.n_mp, 0) AS n_mp, coalesce(r.n_agent_after, 0) AS n_agent_after,
                coalesce(r.n_rounds, 0) AS n_rounds, coalesce(r.n_answered, 0) AS n_answered,
                r.wait_sum, r.wait_sum_ag, r.first_round.w AS first_wait, r.first_round.a AS first_wait_ag,
                (s.channel = 'manual' AND coalesce(r.n_mp, 0) > 0) AS is_manual_unit
            FROM _sess s LEFT JOIN _sr r ON r.shop_id = s.shop_id AND r.session_id = s.session_id),
        units AS (
            SELECT shop_id, session_id,
                lead(started_at) OVER (PARTITION BY shop_id, buyer_id ORDER BY started_at, session_id) AS next_start
            FROM base WHERE is_manual_unit AND stage = 'aftersale')
        SELECT b.*, CASE
                WHEN u.session_id IS NULL THEN NULL
                WHEN b.started_at > sp.data_end - INTERVAL {FCR_WINDOW_HOURS} HOUR THEN 'pending'
                WHEN u.next_start <= b.started_at + INTERVAL {FCR_WINDOW_HOURS} HOUR THEN 'repeat'
                ELSE 'resolved' END AS fcr_state
        FROM base b
        LEFT JOIN units u ON u.shop_id = b.shop_id AND u.session_id = b.session_id
        LEFT JOIN _span sp ON sp.shop_id = b.shop_id"""),
    ]


# -- facts that feed the parts ------------------------------------------------------------

# Measures are summed as exact decimals (micro-units: seconds to the microsecond, money to the fen and
# below): a sum of decimals does not depend on the order of its rows, so every engine, and any layout
# of the parts, gives the same figure to the last bit. Stored as DOUBLE once summed.
MEASURE_DECIMAL = "DECIMAL(18, 6)"


def _fact(select_grain: str, measures: dict[str, str], source: str, all_measures=PART_MEASURES) -> str:
    """One unit's measures summed to the grain first (small), padded with zeros for the union."""
    inner = ", ".join(f"CAST({expr} AS {MEASURE_DECIMAL}) AS {m}" for m, expr in measures.items())
    grain = ", ".join(GRAIN)
    outer = [f"sum({m}) AS {m}" if m in measures else f"CAST(0 AS {MEASURE_DECIMAL}) AS {m}" for m in all_measures]
    return f"SELECT {grain}, {', '.join(outer)} FROM (SELECT {select_grain}, {inner} {source}) GROUP BY {grain}"


def _grain(agent="agent_id", day="day", channel="channel", stage="stage", hours="hours", shop="shop_id") -> str:
    return (f"{shop} AS shop_id, {agent} AS agent_id, CAST({day} AS DATE) AS day, {channel} AS channel, "
            f"{stage} AS stage, {hours} AS hours")


def _b(cond: str) -> str:
    return f"CASE WHEN {cond} THEN 1 ELSE 0 END"


def _square(seconds: str, measure: str) -> str:
    """(seconds / unit)² of a squares measure, in its unit (``SQUARE_UNIT_SECONDS``)."""
    return f"(({seconds}) * ({seconds}) / {SQUARE_UNIT_SECONDS[measure] ** 2})"


def _part_facts(whole: bool = False) -> list[str]:
    sla = REPLY_SLA_SECONDS
    unit = "is_manual_unit"
    facts = [
        _fact(_grain(), {
            "ses_manual": _b(unit),
            "ses_robot": _b("channel = 'robot'"),
            "ses_no_service": _b(f"{unit} AND n_agent_after = 0"),
            "ses_3min_ok": _b(f"{unit} AND n_answered = n_rounds AND wait_sum / n_rounds <= {sla}"),
            "ses_3min_ok_ag": _b(f"{unit} AND n_answered = n_rounds AND wait_sum_ag / n_rounds <= {sla}"),
            "frt_n": _b(f"{unit} AND first_wait IS NOT NULL"),
            "frt_sum": f"CASE WHEN {unit} THEN coalesce(first_wait, 0) ELSE 0 END",
            "frt_sum_ag": f"CASE WHEN {unit} THEN coalesce(first_wait_ag, 0) ELSE 0 END",
            "frt_sq": f"CASE WHEN {unit} THEN {_square('coalesce(first_wait, 0)', 'frt_sq')} ELSE 0 END",
            "frt_sq_ag": f"CASE WHEN {unit} THEN {_square('coalesce(first_wait_ag, 0)', 'frt_sq_ag')} ELSE 0 END",
            "fcr_n": _b("fcr_state IN ('repeat', 'resolved')"),
            "fcr_repeat": _b("fcr_state = 'repeat'"),
            "fcr_pending": _b("fcr_state = 'pending'"),
        }, "FROM _fsess"),
        _fact(_grain(day="sent_at", channel="'manual'", hours=hours_bucket_sql("sent_at")), {
            "msg_buyer_mp": _b("is_mp"),
            "msg_3min_ok": _b(f"is_mp AND wait <= {sla}"),
            "msg_3min_ok_ag": _b(f"is_mp AND wait_ag <= {sla}"),
            "msg_agent": _b("role = 'agent'"),
        }, "FROM _mf"),
        _fact(_grain(day="sent_at", channel="'manual'", hours=hours_bucket_sql("sent_at")), {
            "rnd_answered": _b("wait IS NOT NULL"),
            "rnd_wait_sum": "coalesce(wait, 0)",
            "rnd_wait_sum_ag": "coalesce(wait_ag, 0)",
            "rnd_wait_sq": _square("coalesce(wait, 0)", "rnd_wait_sq"),
            "rnd_wait_sq_ag": _square("coalesce(wait_ag, 0)", "rnd_wait_sq_ag"),
        }, "FROM _mf WHERE round_start"),
        # A (buyer, day) pair lands on its first round's agent, stage and hours bucket; "first" is
        # ordered by (time, session, position) so that ties across sessions resolve the same way.
        _fact(_grain(agent="f.a", channel="'manual'", stage="f.s", hours=hours_bucket_sql("f.t")), {
            "bd_n": "1", "bd_ok": _b("ok"),
        }, f"""FROM (SELECT shop_id, buyer_id, CAST(sent_at AS DATE) AS day,
                   arg_min({{'a': agent_id, 's': stage, 't': sent_at}}, {{'t': sent_at, 'c': session_id, 'o': ord}}) AS f,
                   bool_and(coalesce(wait <= {sla}, false)) AS ok
               FROM _mf WHERE round_start GROUP BY shop_id, buyer_id, CAST(sent_at AS DATE))"""),
        _fact(_grain(channel="'manual'", stage="f.s", hours=hours_bucket_sql("f.t")), {
            "bd_n_ag": "1", "bd_ok_ag": _b("ok"),
        }, f"""FROM (SELECT shop_id, buyer_id, agent_id, CAST(sent_at AS DATE) AS day,
                   arg_min({{'s': stage, 't': sent_at}}, {{'t': sent_at, 'c': session_id, 'o': ord}}) AS f,
                   bool_and(coalesce(wait_ag <= {sla}, false)) AS ok
               FROM _mf WHERE round_start GROUP BY shop_id, buyer_id, agent_id, CAST(sent_at AS DATE))"""),
        _fact(_grain(agent="f.a", channel="'manual'", stage="f.s", hours=hours_bucket_sql("f.t")), {
            "cb_n": "1", "rb_n": _b("replied"),
        }, """FROM (SELECT shop_id, buyer_id, CAST(sent_at AS DATE) AS day,
                   arg_min({'a': agent_id, 's': stage, 't': sent_at}, {'t': sent_at, 'c': session_id, 'o': ord}) AS f,
                   bool_or(wait IS NOT NULL) AS replied
               FROM _mf WHERE is_mp GROUP BY shop_id, buyer_id, CAST(sent_at AS DATE))"""),
        _fact(_grain(channel="'manual'", stage="f.s", hours=hours_bucket_sql("f.t")), {
            "cb_n_ag": "1", "rb_n_ag": _b("replied"),
        }, """FROM (SELECT shop_id, buyer_id, agent_id, CAST(sent_at AS DATE) AS day,
                   arg_min({'s': stage, 't': sent_at}, {'t': sent_at, 'c': session_id, 'o': ord}) AS f,
                   bool_or(wait IS NOT NULL) AS replied
               FROM _mf WHERE is_mp GROUP BY shop_id, buyer_id, agent_id, CAST(sent_at AS DATE))"""),
        # Evaluations land by invited_at; channel, stage and agent come from the session.
        _fact(_grain(agent="s.agent_id", day="e.invited_at", channel="coalesce(s.channel, 'unknown')",
                     stage="coalesce(s.stage, 'unknown')", hours=hours_bucket_sql("e.invited_at"), shop="e.shop_id"), {
            "ev_invited": "1",
            "ev_invited_by_agent": _b("e.invited_by = 'agent'"),
            "ev_invited_by_buyer": _b("e.invited_by = 'buyer'"),
            "ev_invited_by_system": _b("e.invited_by = 'system'"),
            "ev_rated": _b("e.rating IS NOT NULL"),
            **{f"ev_r{k}": _b(f"e.rating = {k}") for k in range(1, 6)},
        }, f"""FROM evaluations e LEFT JOIN f_sessions s ON s.session_id = e.session_id AND s.shop_id = e.shop_id
              WHERE {_within(whole, 'e', 'CAST(e.invited_at AS DATE)')}"""),
        # 售后解决率: per day, buyers with an after-sale request and those among them who escalated (an
        # escalation is itself a request, so a buyer who escalated on D has a request on D: no range test).
        _fact(_grain(agent="CAST(NULL AS VARCHAR)", channel="'none'", stage="'aftersale'", hours="'none'"), {
            "res_demand": "1", "res_escalated": _b("escalated"),
        }, f"""FROM (
            WITH req AS (
                SELECT shop_id, buyer_id, day FROM f_sessions f
                    WHERE stage = 'aftersale' AND {_within(whole, 'f', 'day')}
                UNION SELECT shop_id, buyer_id, CAST(created_at AS DATE) FROM refunds r
                    WHERE {_within(whole, 'r', 'CAST(created_at AS DATE)')}
                UNION SELECT shop_id, buyer_id, CAST(created_at AS DATE) FROM escalations x
                    WHERE {_within(whole, 'x', 'CAST(created_at AS DATE)')}),
            esc AS (SELECT DISTINCT shop_id, buyer_id, CAST(created_at AS DATE) AS day FROM escalations x
                    WHERE {_within(whole, 'x', 'CAST(created_at AS DATE)')})
            SELECT r.shop_id, r.buyer_id, r.day, e.buyer_id IS NOT NULL AS escalated
            FROM req r LEFT JOIN esc e ON e.shop_id = r.shop_id AND e.buyer_id = r.buyer_id AND e.day = r.day)"""),
        _fact(_grain(agent="CAST(NULL AS VARCHAR)", day="finished_at", channel="'none'", stage="'aftersale'",
                     hours=hours_bucket_sql("finished_at")), {
            "rf_n": "1", "rf_sum": _secs("finished_at", "created_at"),
            "rf_sq": _square(_secs("finished_at", "created_at"), "rf_sq"),
        }, f"""FROM refunds r WHERE finished_at IS NOT NULL AND {_within(whole, 'r', 'CAST(finished_at AS DATE)')}"""),
    ]
    return facts


def _parts_select(facts: list[str], measures, prefix_vals: str = "", bound: str = "from_day",
                  whole: bool = False) -> str:
    sums = ", ".join(f"CAST(sum({m}) AS DOUBLE) AS {m}" for m in measures)
    grain = ", ".join(GRAIN)
    return (f"SELECT {prefix_vals}{grain}, {sums} FROM ("
            + " UNION ALL ".join(facts) + f") u WHERE {_within(whole, 'u', 'u.day', bound=bound)} GROUP BY {grain}")


def _parts_insert(table: str, facts: list[str], measures, prefix_vals: str = "", bound: str = "from_day") -> str:
    # Sorted by shop and day so that a shop's period is a narrow scan.
    return f"INSERT INTO {table} {_parts_select(facts, measures, prefix_vals, bound)} ORDER BY shop_id, day"


def _tags_select(whole: bool = False) -> str:
    # The split is unnested in its own SELECT: a generator cannot sit inside trim() in Spark SQL.
    return f"""SELECT shop_id, agent_id, day, channel, stage, hours, tag, count(*) AS n,
           count(*) FILTER (WHERE rating <= 3) AS n_bad
    FROM (
        SELECT DISTINCT shop_id, agent_id, day, channel, stage, hours, session_id, rating, trim(raw_tag) AS tag
        FROM (SELECT e.shop_id, s.agent_id, CAST(e.invited_at AS DATE) AS day,
                coalesce(s.channel, 'unknown') AS channel, coalesce(s.stage, 'unknown') AS stage,
                {hours_bucket_sql('e.invited_at')} AS hours, e.session_id, e.rating,
                unnest(string_split(replace(replace(e.tags, '；', ';'), '，', ';'), ';')) AS raw_tag
            FROM evaluations e LEFT JOIN f_sessions s ON s.session_id = e.session_id AND s.shop_id = e.shop_id
            WHERE e.rating IS NOT NULL AND e.tags IS NOT NULL AND {_within(whole, 'e', 'CAST(e.invited_at AS DATE)')}) t
        ) d
    WHERE tag <> ''
    GROUP BY shop_id, agent_id, day, channel, stage, hours, tag"""


_TAGS_SQL = f"INSERT INTO parts_tags {_tags_select()}"


# -- sales (客服绩效), settings-dependent -----------------------------------------------------

def _last_agent_before(time_col: str, n: int) -> str:
    """Per paid order: the agent of the buyer's last agent message strictly before ``time_col``, when it
    falls inside the valid window (days ``time_col`` − (N−1) … ``time_col``), else NULL.

    An as-of match written as a union and a window, which every engine runs: the orders and the
    messages of a (shop, buyer) in time order, an order before a message of the same instant (strictly
    before), messages of one instant in file order; each order takes the last message above it."""
    return f"""
        SELECT order_id, CASE WHEN CAST(last_msg.t AS DATE) >= CAST(anchor AS DATE) - {n - 1}
                              THEN last_msg.a END AS agent_id
        FROM (SELECT order_id, anchor, kind,
                last_value(CASE WHEN kind = 1 THEN {{'t': anchor, 'a': agent_id}} END IGNORE NULLS) OVER (
                    PARTITION BY shop_id, buyer_id ORDER BY anchor, kind, seq
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_msg
              FROM (SELECT shop_id, buyer_id, {time_col} AS anchor, 0 AS kind, CAST(0 AS BIGINT) AS seq, order_id,
                        CAST(NULL AS VARCHAR) AS agent_id FROM paid
                    UNION ALL
                    SELECT shop_id, buyer_id, sent_at, 1, seq, CAST(NULL AS VARCHAR), agent_id FROM am) ev) x
        WHERE kind = 0"""


def _sales_prep_sql(s: SalesSettings, whole: bool = False) -> list[tuple[str, str]]:
    """Inquiries (shop and agent views) and paid orders with their attributed agent, materialised
    once: every sales fact reads them."""
    n = int(s.valid_days)
    followup = "true" if s.followup_not_loss else "false"
    rule = {"order": "by_order", "payment": "by_pay", "order_first": "coalesce(by_order, by_pay)"}[s.attribution]
    inquiries = """
        WITH sess AS (
            SELECT shop_id, buyer_id, day, agent_id, started_at, session_id, coalesce(first_role = 'agent', false) AS agent_first
            FROM f_sessions f WHERE channel = 'manual' AND stage = 'presale' AND {window}),
        pairs AS (
            SELECT shop_id, buyer_id, day, {group_agent} min(started_at) AS fc,
                arg_min({{'a': agent_id}}, {{'t': started_at, 's': session_id}}).a AS first_agent,
                bool_and(agent_first) AS all_agent_first  -- a session of unknown first role is not agent-first
            FROM sess GROUP BY shop_id, buyer_id, day {group_agent_g}),
        -- Range matches as a join and an aggregate (not correlated EXISTS): the form every engine runs.
        conv AS (
            SELECT p.shop_id, p.buyer_id, p.day, {group_agent_p} p.fc, p.first_agent, p.all_agent_first,
                coalesce(bool_or(o.created_at > p.fc AND CAST(o.created_at AS DATE) BETWEEN p.day AND p.day + {last}
                                 AND {lowest_order}), false) AS conv_order,
                coalesce(bool_or(o.paid_at > p.fc AND CAST(o.paid_at AS DATE) BETWEEN p.day AND p.day + {last}
                                 AND {lowest_paid}), false) AS conv_paid
            FROM pairs p LEFT JOIN orders o ON o.shop_id = p.shop_id AND o.buyer_id = p.buyer_id
            GROUP BY p.shop_id, p.buyer_id, p.day, {group_agent_p} p.fc, p.first_agent, p.all_agent_first)
        SELECT * FROM conv WHERE NOT ({followup} AND all_agent_first) OR conv_order"""
    # The last agent message before the order (payment) time is an ASOF match; it counts only if it
    # falls inside the valid window (days created − (N−1) … created).
    attributed = f"""
        WITH paid AS (
            SELECT order_id, shop_id, buyer_id, created_at, paid_at, amount FROM orders o
            WHERE paid_at IS NOT NULL AND {_within(whole, 'o', 'CAST(o.paid_at AS DATE)', bound='sales_from')}),
        -- Only agent messages that can fall in an order's valid window: a match on fewer messages
        -- finds the same one, or none where the true one would be out of the window.
        since AS (
            SELECT shop_id, CAST(CAST(min(least(created_at, paid_at)) AS DATE) - {n - 1} AS TIMESTAMP) AS t
            FROM paid GROUP BY shop_id),
        am AS (
            SELECT m.shop_id, m.buyer_id, m.agent_id, m.sent_at, m._seq AS seq
            FROM messages m JOIN since ON since.shop_id = m.shop_id
            WHERE m.sender_role = 'agent' AND m.sent_at >= since.t),
        by_order AS ({_last_agent_before('created_at', n)}),
        by_pay AS ({_last_agent_before('paid_at', n)})
        SELECT p.*, {rule} AS agent
        FROM (SELECT p.*, bo.agent_id AS by_order, bp.agent_id AS by_pay FROM paid p
              LEFT JOIN by_order bo USING (order_id) LEFT JOIN by_pay bp USING (order_id)) p"""
    # Inquiries start on or after the lowest sales day, so do their orders.
    lowest = {f"lowest_{name}": "TRUE" if whole else f"CAST(o.{col} AS DATE) >= {_lowest('sales_from')}"
              for name, col in (("order", "created_at"), ("paid", "paid_at"))}
    fmt = {"last": n - 1, "followup": followup, "window": _within(whole, "f", "day", bound="sales_from"), **lowest}
    return [
        ("_inq", inquiries.format(group_agent="", group_agent_p="", group_agent_g="", **fmt)),
        ("_inq_ag", inquiries.format(group_agent="agent_id,", group_agent_p="p.agent_id,", group_agent_g=", agent_id",
                                     **fmt)),
        ("_attr", attributed),
    ]


def _sales_facts() -> list[str]:
    conv_measures = lambda sfx: {  # noqa: E731 - four columns, two variants
        f"inq_n{sfx}": "1", f"inq_order{sfx}": _b("conv_order"), f"inq_paid{sfx}": _b("conv_paid"),
        f"inq_order_paid{sfx}": _b("conv_order AND conv_paid")}
    return [
        _fact(_grain(agent="first_agent", day="day", channel="'manual'", stage="'presale'", hours=hours_bucket_sql("fc")),
              conv_measures(""), "FROM _inq", SALES_MEASURES),
        _fact(_grain(agent="agent_id", day="day", channel="'manual'", stage="'presale'", hours=hours_bucket_sql("fc")),
              conv_measures("_ag"), "FROM _inq_ag WHERE agent_id IS NOT NULL", SALES_MEASURES),
        _fact(_grain(agent="agent", day="paid_at",
                     channel="CASE WHEN agent IS NULL THEN 'none' ELSE 'manual' END",
                     stage="'none'", hours=hours_bucket_sql("paid_at")), {
            "sales_agent": "CASE WHEN agent IS NOT NULL THEN amount ELSE 0 END",
            "sales_silent": "CASE WHEN agent IS NULL THEN amount ELSE 0 END",
        }, "FROM _attr", SALES_MEASURES),
        # Paying buyers of attributed orders, once per payment day (shop view) / per agent too.
        _fact(_grain(agent="f.a", day="pay_day", channel="'manual'", stage="'none'", hours=hours_bucket_sql("f.t")),
              {"pay_buyers": "1"},
              """FROM (SELECT shop_id, buyer_id, CAST(paid_at AS DATE) AS pay_day,
                        arg_min({'a': agent, 't': paid_at}, {'t': paid_at, 'o': order_id}) AS f
                    FROM _attr WHERE agent IS NOT NULL GROUP BY shop_id, buyer_id, CAST(paid_at AS DATE))""",
              SALES_MEASURES),
        _fact(_grain(agent="agent", day="pay_day", channel="'manual'", stage="'none'", hours=hours_bucket_sql("t")),
              {"pay_buyers_ag": "1"},
              """FROM (SELECT shop_id, buyer_id, agent, CAST(paid_at AS DATE) AS pay_day, min(paid_at) AS t
                    FROM _attr WHERE agent IS NOT NULL GROUP BY shop_id, buyer_id, agent, CAST(paid_at AS DATE))""",
              SALES_MEASURES),
    ]


def _set_scope(con, shops, since=None) -> None:
    """``_scope(shop_id, from_day, fcr_from, sales_from)``: the shops to derive and, per shop, the first
    day whose facts change (NULL: the whole history; ``_window`` sets the other two). ``since`` maps a
    shop to the earliest day its input touched."""
    con.execute("CREATE OR REPLACE TEMP TABLE _scope (shop_id VARCHAR, from_day DATE, fcr_from DATE, sales_from DATE)")
    if shops is None:
        con.execute("INSERT INTO _scope SELECT shop_id, NULL, NULL, NULL FROM shops")
    else:
        since = since or {}
        shops = list(dict.fromkeys(shops))
        con.execute("INSERT INTO _scope SELECT unnest(?::VARCHAR[]), unnest(?::DATE[]), NULL, NULL",
                    [shops, [since.get(s) for s in shops]])
    _set_bounds(con)


def _span_select(whole: bool = False) -> str:
    """Each shop's data span (first and last moment of its sessions and messages), always whole."""
    scope = "TRUE" if whole else "shop_id IN (SELECT shop_id FROM _scope)"
    return f"""SELECT shop_id, min(t0) AS data_start, max(t1) AS data_end FROM (
            SELECT shop_id, min(started_at) AS t0, max(greatest(ended_at, started_at)) AS t1 FROM sessions
            WHERE {scope} GROUP BY shop_id
            UNION ALL
            SELECT shop_id, min(sent_at) AS t0, max(sent_at) AS t1 FROM messages
            WHERE {scope} GROUP BY shop_id) spans
        GROUP BY shop_id"""


def _window(con) -> None:
    """From each shop's first touched day: the window to derive again, the sales parts' window (back
    by SALES_REACH_DAYS), and the days before it whose sessions' FCR may change (back by
    FCR_REACH_DAYS, and over the 72 h before the shop's data end when that end moved: sessions there
    stop or start being 待定). Also ``_span`` (the shop's data span, always whole)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _span AS {_span_select()}")
    con.execute(f"UPDATE _scope SET fcr_from = from_day - {FCR_REACH_DAYS}, sales_from = from_day - {SALES_REACH_DAYS}")
    con.execute(f"""UPDATE _scope SET fcr_from = least(
            fcr_from, CAST(least(o.data_end, n.data_end) - INTERVAL {FCR_WINDOW_HOURS} HOUR AS DATE))
        FROM f_shop_span o LEFT JOIN _span n USING (shop_id)
        WHERE o.shop_id = _scope.shop_id AND _scope.from_day IS NOT NULL
          AND o.data_end IS DISTINCT FROM n.data_end""")
    # A shop never derived before is derived whole.
    con.execute("""UPDATE _scope SET from_day = NULL, fcr_from = NULL, sales_from = NULL
        WHERE shop_id NOT IN (SELECT shop_id FROM f_shop_span)""")
    _set_bounds(con)
    # Sessions with a message (or, imported, a start) in the window: derived whole, written from the window.
    lo = con.execute("SELECT CASE WHEN bool_or(from_day IS NULL) THEN NULL ELSE min(from_day) END "
                     "FROM _scope").fetchone()[0]
    # A constant bound lets the scan skip stored row groups older than every window (messages are
    # stored in time order); the joins below make it exact per shop.
    bound = "m.sent_at >= ?" if lo is not None else "true"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ctx AS
        SELECT DISTINCT m.shop_id, m.session_id FROM messages m JOIN _scope sc ON sc.shop_id = m.shop_id
        WHERE {bound} AND sc.from_day IS NOT NULL AND m.sent_at >= sc.from_day
        UNION
        SELECT s.shop_id, s.session_id FROM sessions s JOIN _scope sc ON sc.shop_id = s.shop_id
        WHERE sc.from_day IS NOT NULL AND s.started_at >= sc.from_day""", [lo] if lo is not None else None)
    # The earliest message the window's sessions can have: their stored start (a session that began
    # before the window and goes on into it), else the window's first day.
    con.execute("""SET VARIABLE insight_first_message = (
        SELECT CASE WHEN CAST(? AS DATE) IS NULL THEN TIMESTAMP '-infinity'
                    ELSE least(CAST(CAST(? AS DATE) AS TIMESTAMP),
                               (SELECT min(f.started_at) FROM f_sessions f
                                WHERE (f.shop_id, f.session_id) IN (SELECT shop_id, session_id FROM _ctx))) END)""",
                [lo, lo])


def refresh_sales(con, settings: SalesSettings, shops=None, table: str = "parts_sales",
                  keep_scope: bool = False) -> None:
    """(Re)compute the sales parts for ``settings`` and the shops in scope (``keep_scope``: the
    window ``refresh`` set, else every day of ``shops``)."""
    settings.validate()
    if not keep_scope:
        _set_scope(con, shops)
    con.execute(f"DELETE FROM {table} t WHERE settings_key = ? AND {_in_window('t', 't.day', bound='sales_from')}",
                [settings.key])
    for name, sql in _sales_prep_sql(settings):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    con.execute(_parts_insert(table, _sales_facts(), SALES_MEASURES,
                              prefix_vals=f"'{settings.key}' AS settings_key, ", bound="sales_from"))
    for name in ("_inq", "_inq_ag", "_attr"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _update_fcr_before_window(con) -> None:
    """The days between ``fcr_from`` and ``from_day``: only their sessions' FCR state can have changed
    (a later session within 72 h, a moved data end). Their state in ``f_sessions`` and the FCR measures
    of their parts rows (every such session has its row: it counts as a manual session there) are
    updated by the difference."""
    state = (f"CASE WHEN u.started_at > sp.data_end - INTERVAL {FCR_WINDOW_HOURS} HOUR THEN 'pending' "
             f"WHEN u.next_start <= u.started_at + INTERVAL {FCR_WINDOW_HOURS} HOUR THEN 'repeat' ELSE 'resolved' END")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _fcr AS
        WITH units AS (
            SELECT f.shop_id, f.session_id, f.agent_id, f.day, f.channel, f.stage, f.hours, f.started_at,
                f.fcr_state, sc.fcr_from, sc.from_day,
                lead(f.started_at) OVER (PARTITION BY f.shop_id, f.buyer_id ORDER BY f.started_at, f.session_id)
                    AS next_start
            FROM f_sessions f JOIN _scope sc ON sc.shop_id = f.shop_id
            WHERE f.is_manual_unit AND f.stage = 'aftersale' AND sc.fcr_from < sc.from_day
              AND f.day >= sc.fcr_from)
        SELECT u.*, {state} AS new_state
        FROM units u JOIN _span sp ON sp.shop_id = u.shop_id
        WHERE u.day < u.from_day AND u.fcr_state IS DISTINCT FROM {state}""")
    if not con.execute("SELECT count(*) FROM _fcr").fetchone()[0]:
        con.execute("DROP TABLE _fcr")
        return
    delta = {m: (f"sum(CASE WHEN new_state IN {states} THEN 1 ELSE 0 END) "
                 f"- sum(CASE WHEN fcr_state IN {states} THEN 1 ELSE 0 END)")
             for m, states in (("fcr_n", "('repeat', 'resolved')"), ("fcr_repeat", "('repeat')"),
                               ("fcr_pending", "('pending')"))}
    grain = ", ".join(GRAIN)
    con.execute(f"""UPDATE parts SET {', '.join(f'{m} = parts.{m} + d.{m}' for m in delta)}
        FROM (SELECT {grain}, {', '.join(f'{expr} AS {m}' for m, expr in delta.items())} FROM _fcr GROUP BY {grain}) d
        WHERE {' AND '.join(f'parts.{g} IS NOT DISTINCT FROM d.{g}' for g in GRAIN)}""")
    con.execute("""UPDATE f_sessions SET fcr_state = c.new_state FROM _fcr c
        WHERE f_sessions.shop_id = c.shop_id AND f_sessions.session_id = c.session_id""")
    con.execute("DROP TABLE _fcr")


# Shops are derived in batches of about this many messages: every step works per shop, and a
# batch that fits in memory avoids spilling (a 10M-message store derives ~1.5× faster this way).
BATCH_MESSAGES = 2_000_000


def _batches(con, shops) -> list[list[str]]:
    rows = con.execute(
        "SELECT s.shop_id, coalesce(m.n, 0) FROM shops s LEFT JOIN "
        "(SELECT shop_id, count(*) AS n FROM messages GROUP BY shop_id) m USING (shop_id) "
        + ("" if shops is None else "WHERE s.shop_id IN (SELECT unnest(?::VARCHAR[])) ")
        + "ORDER BY s.shop_id", [] if shops is None else [list(shops)]).fetchall()
    batches, current, size = [], [], 0
    for shop_id, n in rows:
        if current and size + n > BATCH_MESSAGES:
            batches.append(current)
            current, size = [], 0
        current.append(shop_id)
        size += n
    if current:
        batches.append(current)
    return batches


def refresh(con, shops=None, settings=None, timings: dict | None = None, since=None) -> None:
    """Re-derive facts and parts for ``shops`` (None: every shop) inside the caller's transaction.

    ``since`` maps a shop to the earliest day an import touched (None or absent: its whole history):
    only the days that input can change are derived again, with the same result as a full
    derivation. ``timings``, when given, receives seconds per step (for the benchmark).
    """
    settings = settings or StoreSettings()
    if shops is not None and not list(shops):
        return
    timings = timings if timings is not None else {}
    for batch in _batches(con, shops):
        _refresh_batch(con, batch, settings, timings, since)


_F_SESSIONS = ("shop_id, session_id, buyer_id, agent_id, started_at, ended_at, transferred_at, assigned_at, channel, "
               "stage, day, hours, first_role, source, n_messages, n_mp, n_agent_after, n_rounds, n_answered, "
               "wait_sum, wait_sum_ag, first_wait, first_wait_ag, is_manual_unit, fcr_state")


@dataclass(frozen=True)
class Step:
    """One step of a whole derivation: the table it makes and its SELECT, in DuckDB's dialect within a
    portable subset (the definition; ``insight.derive.spark_sql`` gives Spark SQL). ``output``: a table
    the parts folder keeps, else an intermediate the later steps read."""
    name: str
    sql: str
    output: bool = False


# The parts folder's tables, in the order they are made; ``shop_counts`` exists in folders only (what a
# store counts in its own tables: rows per shop and table, sessions as derived).
OUTPUT_TABLES = ("f_shop_span", "shop_counts", "parts", "parts_tags", "parts_sales")
COUNTED_TABLES = ("agents", "sessions", "messages", "evaluations", "orders", "refunds", "escalations")


def _shop_counts_select() -> str:
    joins = "".join(f"\n        LEFT JOIN (SELECT shop_id, count(*) AS n FROM {t} GROUP BY shop_id) c_{t} "
                    f"ON c_{t}.shop_id = s.shop_id" for t in (*COUNTED_TABLES, "f_sessions"))
    counts = ", ".join(f"coalesce(c_{t}.n, 0) AS {t}" for t in COUNTED_TABLES)
    return f"SELECT s.shop_id, {counts}, coalesce(c_f_sessions.n, 0) AS derived_sessions FROM shops s{joins}"


def whole_steps(settings: StoreSettings | None = None, sales: SalesSettings | None = None) -> list[Step]:
    """Every shop's whole history derived from the base tables (``messages``, ``sessions``, ``orders``,
    ``evaluations``, ``refunds``, ``escalations``, ``shops``) as a list of steps: the same SQL the store
    derives incrementally with, without the incremental window, so that any engine can run it."""
    settings = settings or StoreSettings()
    sales = (sales or SalesSettings()).validate()
    steps = [Step("_span", _span_select(whole=True))]
    steps += [Step(name, sql) for name, sql in _session_sql(settings.stage_window_days, whole=True)]
    steps += [Step("f_sessions", f"SELECT {_F_SESSIONS} FROM _fsess"),
              Step("f_shop_span", "SELECT shop_id, data_start, data_end FROM _span", output=True),
              Step("shop_counts", _shop_counts_select(), output=True),
              Step("parts", _parts_select(_part_facts(whole=True), PART_MEASURES, whole=True), output=True),
              Step("parts_tags", _tags_select(whole=True), output=True)]
    steps += [Step(name, sql) for name, sql in _sales_prep_sql(sales, whole=True)]
    steps.append(Step("parts_sales", _parts_select(_sales_facts(), SALES_MEASURES, f"'{sales.key}' AS settings_key, ",
                                                   bound="sales_from", whole=True), output=True))
    return steps


def _refresh_batch(con, shops: list[str], settings, timings: dict, since=None) -> None:
    mark = time.time()

    def lap(name):
        nonlocal mark
        now = time.time()
        timings[name] = timings.get(name, 0.0) + now - mark
        mark = now

    _set_scope(con, shops, since)
    _window(con)
    for name, sql in _session_sql(settings.stage_window_days):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    lap("derive_sessions")
    # The window's sessions as stored: those that do not come back lose their scenario below.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _was AS SELECT shop_id, session_id FROM f_sessions t
                    WHERE {_in_window('t', 't.day')}""")
    for table in ("parts", "parts_tags", "f_sessions"):
        con.execute(f"DELETE FROM {table} t WHERE {_in_window('t', 't.day')}")
    con.execute("DELETE FROM f_shop_span WHERE shop_id IN (SELECT shop_id FROM _scope)")
    con.execute(f"INSERT INTO f_sessions SELECT {_F_SESSIONS} FROM _fsess f WHERE {_in_window('f', 'f.day')}")
    con.execute("INSERT INTO f_shop_span SELECT * FROM _span")
    # Sessions that a replace or a re-cut merged away leave no scenario behind.
    con.execute("""DELETE FROM session_scenarios s WHERE (s.shop_id, s.session_id) IN (
                        SELECT shop_id, session_id FROM _was w WHERE NOT EXISTS (SELECT 1 FROM f_sessions f
                            WHERE f.shop_id = w.shop_id AND f.session_id = w.session_id))""")
    lap("store_sessions")
    con.execute(_parts_insert("parts", _part_facts(), PART_MEASURES))
    con.execute(_TAGS_SQL)
    _update_fcr_before_window(con)
    lap("parts")
    for t in ("_msg", "_sess_msg", "_transfer", "_sess0", "_sess", "_mf", "_sr", "_span", "_fsess", "_ctx", "_was"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    # Other settings' sales parts are derived on demand (MetricEngine), never stored.
    refresh_sales(con, SalesSettings(), shops, keep_scope=True)
    lap("parts_sales")


def defer(con, since: dict) -> None:
    """Record ``since`` ({shop: first touched day, None = whole history}) for a later
    ``refresh_pending``, inside the caller's transaction (the rows and the record commit together)."""
    if since:
        con.execute("INSERT INTO derive_pending SELECT unnest(?::VARCHAR[]), unnest(?::DATE[])",
                    [list(since), list(since.values())])


def take_pending(con, since: dict | None = None) -> dict:
    """``since`` merged with the deferred derivations, which are cleared (inside the caller's
    transaction): per shop the earliest day, None when either side derives it whole."""
    merged = dict(since or {})
    for shop, day, whole in con.execute(
            "SELECT shop_id, min(since), bool_or(since IS NULL) FROM derive_pending GROUP BY shop_id").fetchall():
        if whole or (shop in merged and merged[shop] is None):
            merged[shop] = None
        else:
            merged[shop] = min(day, merged[shop]) if merged.get(shop) is not None else day
    con.execute("DELETE FROM derive_pending")
    return merged


def refresh_pending(con, settings=None, timings: dict | None = None) -> list[str]:
    """Derive what ``defer`` recorded (inside the caller's transaction); the shops derived."""
    since = take_pending(con)
    if since:
        refresh(con, list(since), settings, timings, since=since)
    return sorted(since)


def settle_pending(store) -> list[str]:
    """Derive, in a transaction of its own, what opening ``store`` or an earlier process left recorded
    (a migration, rows moved out of the time window, an events round that failed): a server or the app
    runs it before a page reads. The shops derived."""
    if store.parts_only or not store.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0]:
        return []
    with transaction(store.con):
        return refresh_pending(store.con, store.settings)


# Sessions cut by the gap rule carry ids of their own, so that they can be cut again.
GAP_SESSION_PREFIX = "g-"


def gap_sessions_sql(messages: str) -> str:
    """``message_id, shop_id, session_id`` for the rows of ``messages`` (a relation of shop_id, buyer_id,
    sent_at, message_id) cut by METRICS.md's gap rule: a buyer's messages in one shop, in time order, stay
    in one session until the gap to the next exceeds the parameter (seconds). A session's id is made of
    the shop, the buyer and its first message's time."""
    return f"""
        WITH marked AS (
            SELECT *, CASE WHEN epoch(sent_at) - epoch(lag(sent_at) OVER w) <= ? THEN 0 ELSE 1 END AS opens
            FROM ({messages}) WINDOW w AS (PARTITION BY shop_id, buyer_id ORDER BY sent_at, message_id)),
        numbered AS (
            SELECT *, sum(opens) OVER (PARTITION BY shop_id, buyer_id ORDER BY sent_at, message_id
                                       ROWS UNBOUNDED PRECEDING) AS k FROM marked)
        SELECT message_id, shop_id,
               '{GAP_SESSION_PREFIX}' || left(md5(concat_ws(chr(31), shop_id, buyer_id,
                   CAST(min(sent_at) OVER (PARTITION BY shop_id, buyer_id, k) AS VARCHAR))), 20) AS session_id
        FROM numbered"""


def move_to_cut_sessions(con, cut: str) -> int:
    """Give stored messages the sessions that ``cut`` (a generated table of message_id, shop_id,
    session_id) assigns them; how many moved. They are listed in ``_moved`` (message_id, shop_id,
    sent_at, old_session, new_session)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _moved AS
        SELECT m.message_id, m.shop_id, m.sent_at, m.session_id AS old_session, c.session_id AS new_session
        FROM messages m JOIN {cut} c ON c.message_id = m.message_id AND c.shop_id = m.shop_id
        WHERE m.session_id <> c.session_id""")
    moved = int(con.execute("SELECT count(*) FROM _moved").fetchone()[0])
    if moved:
        con.execute("UPDATE messages SET session_id = mv.new_session FROM _moved mv "
                    "WHERE messages.message_id = mv.message_id AND messages.shop_id = mv.shop_id")
    return moved


def _recut_gap_sessions(con, gap_minutes: int) -> None:
    """Cut every gap-rule session again (a new ``session_gap_minutes``)."""
    stored = ("SELECT shop_id, buyer_id, sent_at, message_id FROM messages "
              f"WHERE starts_with(session_id, '{GAP_SESSION_PREFIX}')")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _recut AS {gap_sessions_sql(stored)}", [60 * int(gap_minutes)])
    move_to_cut_sessions(con, "_recut")
    con.execute("DROP TABLE _recut; DROP TABLE _moved")


def apply_settings(store, settings: StoreSettings) -> None:
    """Store new settings and re-derive everything they touch, in one transaction (a new session gap
    cuts the gap-rule sessions again; their scenarios go with them until they are classified again)."""
    settings.validate()
    previous = store.settings
    with transaction(store.con):
        store.save_settings(settings)
        if settings.session_gap_minutes != previous.session_gap_minutes:
            _recut_gap_sessions(store.con, settings.session_gap_minutes)
        refresh(store.con, shops=None, settings=settings)
