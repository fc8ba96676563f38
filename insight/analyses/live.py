"""实时监控: a shop's state as of the newest event ingested — who is online, who is waiting and for how
long, 3-minute breaches of the last hour, arrivals per 5 minutes against the same time last week, and
today's figures per agent from the parts (the same definitions as every page)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from insight.core.access import Viewer
from insight.core.filters import Filters
from insight.core.periods import Period, change
from insight.core.settings import REPLY_SLA_SECONDS
from insight.derive import derive_as_known
from insight.metrics.engine import MetricEngine, MetricValue, change_is_real

__all__ = ["ONLINE_MINUTES", "ACTIVE_MINUTES", "SO_FAR_METRICS", "live_snapshot", "known_at", "so_far"]

ONLINE_MINUTES = 15  # an agent who wrote within this is online
ACTIVE_MINUTES = 60  # a session with a message within this is open; older waits are abandoned, not queued

_STATE_SQL = f"""
WITH recent AS (
    SELECT m.session_id, m.sender_role AS role, m.agent_id, m.sent_at, m._seq
    FROM messages m WHERE m.shop_id = $shop AND m.sent_at > $as_of - INTERVAL 2 HOUR AND m.sent_at <= $as_of),
chats AS (
    SELECT r.session_id, max(r.sent_at) AS last_at,
        max(r.sent_at) FILTER (WHERE r.role = 'agent') AS last_reply,
        coalesce(any_value(f.agent_id), arg_max(r.agent_id, r.sent_at) FILTER (WHERE r.role = 'agent')) AS agent_id,
        any_value(f.channel) AS channel, any_value(f.transferred_at) AS transferred_at,
        any_value(p.ended_at) AS closed_at
    FROM recent r LEFT JOIN f_sessions f ON f.shop_id = $shop AND f.session_id = r.session_id
    LEFT JOIN sessions p ON p.shop_id = $shop AND p.session_id = r.session_id  -- the platform's own record
    GROUP BY r.session_id),
waiting AS (  -- a manual session's buyer messages after the last reply: the buyer waits since the first;
              -- not once the platform closed the session (the buyer left unserved: a breach, not a queue)
    SELECT s.session_id, s.agent_id, min(r.sent_at) AS since
    FROM chats s JOIN recent r ON r.session_id = s.session_id AND r.role = 'buyer'
    WHERE s.last_at > $as_of - INTERVAL {ACTIVE_MINUTES} MINUTE AND coalesce(s.closed_at > $as_of, true)
      AND (s.channel = 'manual' OR s.last_reply IS NOT NULL)
      AND r.sent_at > coalesce(s.last_reply, s.transferred_at - INTERVAL 1 SECOND, TIMESTAMP '-infinity')
    GROUP BY ALL),
replies AS (  -- each buyer message of the last hour and the next agent message of its session
    SELECT r.session_id, r.role, r.sent_at,
        min(CASE WHEN r.role = 'agent' THEN r.sent_at END) OVER (
            PARTITION BY r.session_id ORDER BY r.sent_at, r._seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
            AS next_reply
    FROM recent r)
SELECT coalesce(s.agent_id, '（未分配）') AS agent_id,
    count(*) FILTER (WHERE s.last_at > $as_of - INTERVAL {ACTIVE_MINUTES} MINUTE) AS sessions_open,
    count(w.session_id) AS buyers_waiting,
    max(epoch($as_of) - epoch(w.since)) AS longest_wait,
    (SELECT count(*) FROM replies p JOIN chats x USING (session_id)
     WHERE x.agent_id IS NOT DISTINCT FROM s.agent_id AND p.role = 'buyer'
       AND p.sent_at > $as_of - INTERVAL 1 HOUR
       AND (x.channel = 'manual' OR x.last_reply IS NOT NULL)
       AND epoch(coalesce(p.next_reply, $as_of)) - epoch(p.sent_at) > {REPLY_SLA_SECONDS}) AS breaches_1h,
    max(s.last_reply) AS last_reply,
    (SELECT count(*) FROM replies p JOIN chats x USING (session_id)
     WHERE x.agent_id IS NOT DISTINCT FROM s.agent_id AND p.role = 'buyer'
       AND p.sent_at > $as_of - INTERVAL 1 HOUR
       AND (x.channel = 'manual' OR x.last_reply IS NOT NULL)) AS buyer_msgs_1h
FROM chats s LEFT JOIN waiting w USING (session_id)
GROUP BY ALL"""


def live_snapshot(engine: MetricEngine, shop_id: str, *, viewer: Viewer, as_of: dt.datetime | None = None) -> dict:
    """{as_of, agents: frame, shop: {...}, arrivals: frame} for ``shop_id`` as of the newest message (or
    ``as_of``). Agents: online, sessions open, buyers waiting, longest wait (s), 3-minute breaches in the last
    hour, and today's received buyers, sales and satisfaction with its n (parts). An agent viewer gets
    their own row."""
    engine = engine.scoped(viewer)
    viewer.require_shop(shop_id)
    con = engine.con
    newest = con.execute("SELECT max(sent_at) FROM messages WHERE shop_id = ?", [shop_id]).fetchone()[0]
    as_of = as_of or newest
    if as_of is None:
        return {"as_of": None, "agents": pd.DataFrame(), "shop": {}, "arrivals": pd.DataFrame()}
    state = con.execute(_STATE_SQL, {"shop": shop_id, "as_of": as_of}).df()
    online = {a for (a,) in con.execute(
        f"""SELECT DISTINCT agent_id FROM messages WHERE shop_id = ? AND sender_role = 'agent'
            AND sent_at > ?::TIMESTAMP - INTERVAL {ONLINE_MINUTES} MINUTE AND sent_at <= ?""",
        [shop_id, as_of, as_of]).fetchall()}
    today = Period(as_of.date(), as_of.date())
    values, sizes = engine.by_agent(shop_id, today, Filters())
    names = dict(con.execute("SELECT agent_id, agent_name FROM agents WHERE shop_id = ?", [shop_id]).fetchall())
    agents = state.set_index("agent_id") if len(state) else pd.DataFrame(
        columns=["sessions_open", "buyers_waiting", "longest_wait", "breaches_1h", "last_reply", "buyer_msgs_1h"])
    ids = sorted(set(agents.index) | set(values.index) | online)
    if viewer.role == "agent":
        ids = [a for a in ids if a == viewer.agent_id]
    rows = []
    for agent in ids:
        a = agents.loc[agent] if agent in agents.index else None
        v = values.loc[agent] if agent in values.index else None
        n = sizes.loc[agent] if agent in sizes.index else None
        rows.append({
            "agent_id": agent, "agent_name": names.get(agent, agent), "online": agent in online,
            "sessions_open": int(a["sessions_open"]) if a is not None else 0,
            "buyers_waiting": int(a["buyers_waiting"]) if a is not None else 0,
            "longest_wait": float(a["longest_wait"]) if a is not None and pd.notna(a["longest_wait"]) else None,
            "breaches_1h": int(a["breaches_1h"]) if a is not None else 0,
            "received_buyers": _num(v, "received_buyers"), "agent_sales_amount": _num(v, "agent_sales_amount"),
            "satisfaction_rate": _num(v, "satisfaction_rate"),
            "satisfaction_n": int(_num(n, "satisfaction_rate") or 0),  # rated sessions behind it
        })
    frame = pd.DataFrame(rows)
    arrivals = _arrivals(con, shop_id, as_of)
    waiting = frame["buyers_waiting"].sum() if len(frame) else 0
    longest = frame["longest_wait"].max() if len(frame) and frame["longest_wait"].notna().any() else None
    shop = {"buyers_waiting": int(waiting), "longest_wait": None if longest is None else float(longest),
            "agents_online": int(frame["online"].sum()) if len(frame) else 0,
            "breaches_1h": int(frame["breaches_1h"].sum()) if len(frame) else 0,
            # the same rows as the breaches it is compared with (an agent viewer's own)
            "buyer_msgs_1h": int(agents.loc[[a for a in ids if a in agents.index], "buyer_msgs_1h"].sum()),
            "alert": longest is not None and longest > REPLY_SLA_SECONDS}
    return {"as_of": as_of, "agents": frame, "shop": shop, "arrivals": arrivals}


def _arrivals(con, shop_id: str, as_of: dt.datetime) -> pd.DataFrame:
    """New sessions per 5 minutes today up to ``as_of``, with the same 5 minutes a week earlier (NULL,
    not 0, when the shop's data starts after that day)."""
    return con.execute("""
        WITH covered AS (SELECT coalesce(bool_or(CAST(data_start AS DATE) <= CAST($as_of AS DATE) - 7), false) AS ok
                         FROM f_shop_span WHERE shop_id = $shop),
        b AS (SELECT time_bucket(INTERVAL 5 MINUTE, started_at) AS t, count(*) AS n FROM f_sessions
                   WHERE shop_id = $shop AND started_at >= CAST(CAST($as_of AS DATE) AS TIMESTAMP) - INTERVAL 7 DAY
                     AND started_at <= $as_of GROUP BY 1)
        SELECT now.t AS bucket, now.n AS arrivals, CASE WHEN covered.ok THEN coalesce(week.n, 0) END AS last_week
        FROM b now LEFT JOIN b week ON week.t = now.t - INTERVAL 7 DAY CROSS JOIN covered
        WHERE now.t >= CAST(CAST($as_of AS DATE) AS TIMESTAMP) ORDER BY 1""", {"shop": shop_id, "as_of": as_of}).df()


def _num(row, key):
    if row is None or key not in row.index or pd.isna(row[key]):
        return None
    return float(row[key])


# 今日至此's key figures: volume, speed, satisfaction, conversion, sales.
SO_FAR_METRICS = ("received_buyers", "buyer_messages", "reply_3min_rate_msg", "avg_response_time",
                  "satisfaction_rate", "inquiry_pay_rate", "agent_sales_amount")
COMPARED_DAYS = {"yesterday": 1, "last_week": 7}


def known_at(engine: MetricEngine, shop_id: str, cutoff: dt.datetime) -> dict:
    """The shop's figures for ``cutoff``'s day as known at ``cutoff`` ({key: MetricValue}): its rows
    until then derived afresh (``derive.derive_as_known``), so a rating given later, an order paid
    later or an FCR still open count as they do today while the day goes on."""
    engine.viewer.require_shop(shop_id)
    start = engine.con.execute("SELECT CAST(data_start AS DATE) FROM f_shop_span WHERE shop_id = ?",
                               [shop_id]).fetchone()
    if start is None or start[0] is None or start[0] > cutoff.date():  # not a quiet day: a day without data
        reason = f"店铺数据从 {start[0]:%Y-%m-%d} 开始，不含 {cutoff:%Y-%m-%d}" if start and start[0] else "店铺还没有数据"
        return {m.key: MetricValue(m.key, None, reason) for m in engine.reg}
    with derive_as_known(engine.store, shop_id, cutoff) as scratch:
        return MetricEngine(scratch).compute(shop_id, Period(cutoff.date(), cutoff.date()))


def so_far(engine: MetricEngine, shop_id: str, as_of: dt.datetime, *, viewer: Viewer,
           keys: tuple[str, ...] = SO_FAR_METRICS, known=known_at) -> pd.DataFrame:
    """The shop's key figures today until ``as_of`` (the parts), against yesterday and the same weekday
    last week until the same time of day (``known``: ``known_at`` or a cached one). One row per
    metric: value and n per day, the change (points for rates) and whether it is beyond chance
    (``vs_<day>_real``, as a 环比 is tested). The shop's figures: an agent
    viewer reads them as on every page."""
    engine = engine.scoped(viewer)
    viewer.require_shop(shop_id)
    day = as_of.date()
    figures = {"today": engine.compute(shop_id, Period(day, day))}
    for name, back in COMPARED_DAYS.items():
        figures[name] = known(engine, shop_id, as_of - dt.timedelta(days=back))
    rows = []
    for key in keys:
        metric, now = engine.reg[key], figures["today"][key]
        row = {"key": key, "name": metric.name, "today": now.value, "today_n": now.n, "reason": now.reason}
        for name in COMPARED_DAYS:
            then = figures[name][key]
            moved = change(now.value, then.value, is_rate=metric.is_rate)
            row |= {name: then.value, f"{name}_n": then.n, f"{name}_reason": then.reason, f"vs_{name}": moved,
                    f"vs_{name}_real": None if moved is None else change_is_real(now, then)}
        rows.append(row)
    return pd.DataFrame(rows)
