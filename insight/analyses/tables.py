"""Analyses the pages need: evaluation-tag TOP10, rating mix and its share of the change in
satisfaction, the per-agent table, and the evaluated sessions with their transcripts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insight.core.access import Viewer
from insight.core.errors import Forbidden
from insight.core.filters import Filters, evaluation_where
from insight.core.periods import Period, change
from insight.core.privacy import mask_frame
from insight.core.schema import PLATFORM_LABELS, TABLES
from insight.core.settings import SalesSettings
from insight.derive import COUNTED_TABLES
from insight.metrics.engine import MetricEngine
from insight.metrics.stats import beta_prior, changed, counts_changed, shrink

__all__ = ["store_overview", "sales_funnel", "evaluated_agents", "tag_top", "rating_mix", "agent_table", "shop_row",
           "AGENT_CHANGE_METRICS", "evaluated_sessions", "transcript", "AGENT_TABLE_METRICS",
           "RATING_LABELS"]

RATING_LABELS = {1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意"}

AGENT_TABLE_METRICS = (
    "consult_buyers", "received_buyers", "reply_rate", "buyer_messages", "agent_messages", "qa_ratio",
    "reply_3min_rate_msg", "reply_3min_rate_session", "reply_3min_rate_buyer", "first_response_time",
    "avg_response_time", "no_service_rate", "evaluated_sessions", "satisfaction_rate", "dissatisfaction_rate",
    "inquiry_buyers", "inquiry_pay_rate", "agent_sales_amount", "avg_order_value",
)


def _tag_counts(con, shop_id: str, period: Period, filters: Filters) -> pd.DataFrame:
    where, params = filters.sql_where()
    sql = (f"SELECT tag, sum(n) AS n, sum(n_bad) AS n_bad FROM parts_tags "
           f"WHERE shop_id = ? AND day BETWEEN ? AND ? {''.join(' AND ' + w for w in where)} GROUP BY tag")
    return con.execute(sql, [shop_id, period.start, period.end, *params]).df().set_index("tag")


def tag_top(engine: MetricEngine, shop_id: str, period: Period, filters: Filters = Filters(),
            top: int = 10) -> pd.DataFrame:
    """TOP ``top`` evaluation tags by count, with their share of 1–3 rated sessions, now and before.

    Columns: tag, count, share_bad, prev_count, prev_share_bad, change_count (relative), change_share (points).
    """
    prev = period.previous()
    now_counts = _tag_counts(engine.con, shop_id, period, filters)
    prev_counts = _tag_counts(engine.con, shop_id, prev, filters)
    bad_now = _bad_sessions(engine, shop_id, period, filters)
    bad_prev = _bad_sessions(engine, shop_id, prev, filters)
    if now_counts.empty:
        return pd.DataFrame(columns=["tag", "count", "share_bad", "prev_count", "prev_share_bad",
                                     "change_count", "change_count_real", "change_share"])
    out = now_counts.merge(prev_counts, how="left", left_index=True, right_index=True,
                           suffixes=("", "_prev")).fillna(0.0)
    out = out.reset_index().sort_values(["n", "tag"], ascending=[False, True]).head(top)
    result = pd.DataFrame({
        "tag": out["tag"],
        "count": out["n"].astype(int),
        "share_bad": out["n_bad"] / bad_now if bad_now else float("nan"),
        "prev_count": out["n_prev"].astype(int),
        "prev_share_bad": out["n_bad_prev"] / bad_prev if bad_prev else float("nan"),
    })
    result["change_count"] = [(c / p - 1) if p else float("nan") for c, p in zip(result["count"], result["prev_count"])]
    # the cards' rule for a change: beyond chance or not (2 → 5 mentions is not), never a bare percentage
    result["change_count_real"] = [counts_changed(c, p, ratio=period.days / prev.days)
                                   for c, p in zip(result["count"], result["prev_count"])]
    result["change_share"] = result["share_bad"] - result["prev_share_bad"]
    return result.reset_index(drop=True)


def _bad_sessions(engine: MetricEngine, shop_id: str, period: Period, filters: Filters) -> float:
    sums = engine.sums([shop_id], period, filters, tables=("parts",))
    return float(sums[["ev_r1", "ev_r2", "ev_r3"]].sum(axis=1).iloc[0])


def rating_mix(engine: MetricEngine, shop_id: str, period: Period, filters: Filters = Filters()) -> pd.DataFrame:
    """Each rating level's share now and in the previous period, and its part in Δ满意率.

    满意率 = share(4) + share(5), so Δ满意率 = Δshare(4) + Δshare(5) = −(Δshare(1)+Δshare(2)+Δshare(3)).
    ``contribution`` is Δshare for levels 4–5 and −Δshare for levels 1–3: each side adds up to
    Δ满意率, and ``share_of_change`` is each level's contribution / Δ满意率 within its side.
    """
    now = engine.sums([shop_id], period, filters, tables=("parts",)).iloc[0]
    before = engine.sums([shop_id], period.previous(), filters, tables=("parts",)).iloc[0]
    n_now, n_before = now["ev_rated"], before["ev_rated"]
    rows = []
    for level in range(1, 6):
        c_now, c_before = now[f"ev_r{level}"], before[f"ev_r{level}"]
        s_now = c_now / n_now if n_now else float("nan")
        s_before = c_before / n_before if n_before else float("nan")
        delta = s_now - s_before
        sign = 1 if level >= 4 else -1
        rows.append({"rating": level, "label": RATING_LABELS[level], "count": int(c_now), "share": s_now,
                     "prev_count": int(c_before), "prev_share": s_before, "delta_share": delta,
                     "contribution": sign * delta})
    out = pd.DataFrame(rows)
    d_sat = out.loc[out["rating"] >= 4, "delta_share"].sum(min_count=1)
    # A change below a millionth of a point is no change: its shares would be noise.
    meaningful = d_sat == d_sat and abs(d_sat) > 1e-9
    out["share_of_change"] = out["contribution"] / d_sat if meaningful else float("nan")
    return out


# 客服绩效's 环比 columns: the figures a supervisor compares week on week.
AGENT_CHANGE_METRICS = ("consult_buyers", "reply_3min_rate_msg", "satisfaction_rate", "inquiry_pay_rate",
                        "agent_sales_amount")


def agent_table(engine: MetricEngine, shop_id: str, period: Period, filters: Filters = Filters(),
                settings: SalesSettings | None = None, metrics=AGENT_TABLE_METRICS,
                changes=AGENT_CHANGE_METRICS) -> pd.DataFrame:
    """One row per human agent who had any unit in the period, with their own-view metrics, the number
    of rated sessions behind 满意率 (``n_evaluated``) and 满意率 shrunk for ranking (``satisfaction_shrunk``)."""
    values, dens = engine.by_agent(shop_id, period, filters.without_agent(), settings)
    names = engine.con.execute("SELECT agent_id, agent_name, team, kind FROM agents WHERE shop_id = ?",
                               [shop_id]).df().set_index("agent_id")
    table = values[list(metrics)].copy()
    table = table[(table.notna()).any(axis=1)]
    table.insert(0, "agent_name", [names["agent_name"].get(a, a) if a in names.index else a for a in table.index])
    table.insert(1, "team", [names["team"].get(a) if a in names.index else None for a in table.index])
    kinds = [names["kind"].get(a) if a in names.index else "human" for a in table.index]
    table = table.loc[np.array([k != "robot" for k in kinds], dtype=bool)]  # (an empty list would pick columns)
    table.index.name = "agent_id"
    for key in metrics:  # the units behind each rate (``n_<key>``): a ranking says on how many it stands
        if engine.reg[key].is_rate and key in dens:
            table[f"n_{key}"] = dens[key].reindex(table.index).fillna(0).astype(int)
    n_eval = dens["satisfaction_rate"].reindex(table.index) if "satisfaction_rate" in dens else None
    if n_eval is not None:
        table["n_evaluated"] = n_eval.fillna(0).astype(int)
        # For a ranking: 满意率 shrunk toward the agents' pooled rate (empirical Bayes), so an agent with
        # two ratings does not top or tail the list by luck. Unrated agents have none.
        n = table["n_evaluated"].to_numpy(float)
        k = (table["satisfaction_rate"].fillna(0).to_numpy(float) * n).round()
        mean, strength = beta_prior(k, n)
        table["satisfaction_shrunk"] = np.where(n > 0, shrink(k, n, mean, strength), np.nan)
    if changes and len(table):  # 环比 per agent: points for rates, relative for the rest (core.periods.change)
        before, dens_before = engine.by_agent(shop_id, period.previous(), filters.without_agent(), settings)
        for key in changes:
            prev = before[key].reindex(table.index) if key in before else pd.Series(np.nan, index=table.index)
            table[f"{key}_change"] = [change(_plain(a), _plain(b), is_rate=engine.reg[key].is_rate)
                                      for a, b in zip(table[key], prev)]
            # ``_real``: the cards' verdict on that change (None where nothing can be tested: an amount)
            if engine.reg[key].is_rate and key in dens and key in dens_before:
                n1, n0 = dens[key].reindex(table.index), dens_before[key].reindex(table.index)
                table[f"{key}_change_real"] = [
                    None if any(_plain(x) is None for x in (a, b, m, n)) else changed(a * m, m, b * n, n)
                    for a, b, m, n in zip(table[key], prev, n1, n0)]
            elif engine.reg[key].type == "count":
                table[f"{key}_change_real"] = [None if _plain(a) is None or _plain(b) is None
                                               else counts_changed(a, b, ratio=period.days / period.previous().days)
                                               for a, b in zip(table[key], prev)]
    return table.reset_index().sort_values("consult_buyers", ascending=False, na_position="last")


def _plain(value):
    return None if value is None or value != value else float(value)


def shop_row(report: dict, metrics=AGENT_TABLE_METRICS, changes=AGENT_CHANGE_METRICS) -> dict:
    """The shop's own figures as a row for the agent table (from its report: the shop's view)."""
    row = {"agent_id": "（全店）", "agent_name": "全店合计", "team": None}
    row |= {k: report["metrics"].get(k) for k in metrics}
    row |= {f"{k}_change": report["change"].get(k) for k in changes}
    row |= {f"{k}_change_real": (report.get("change_significant") or {}).get(k) for k in changes}  # the cards' verdict
    sat_n = report["n"].get("satisfaction_rate")
    row["n_evaluated"] = None if sat_n is None else int(sat_n)
    row["satisfaction_shrunk"] = report["metrics"].get("satisfaction_rate")
    return row


def evaluated_sessions(con, shop_id: str, period: Period, filters: Filters = Filters(),
                       ratings=None, limit: int = 500, *, viewer: Viewer) -> pd.DataFrame:
    """Evaluated sessions (by invited_at), lowest rating first, with agent and buyer; an agent viewer
    gets their own sessions, a viewer without the PII permission masked comments."""
    viewer.require_shop(shop_id)
    if viewer.role == "agent":
        filters = Filters(filters.channel, filters.stage, filters.hours, viewer.agent_id)
    where, params = evaluation_where(filters, "s.")
    if ratings:
        where.append("e.rating IN (SELECT unnest(?::INTEGER[]))")
        params.append([int(r) for r in ratings])
    sql = f"""SELECT e.session_id, e.invited_at, e.rated_at, e.rating, e.tags, e.comment, e.invited_by,
                     s.agent_id, a.agent_name, s.channel, s.stage, e.buyer_id, s.started_at, s.n_rounds,
                     s.first_wait
              FROM evaluations e
              LEFT JOIN f_sessions s ON s.session_id = e.session_id AND s.shop_id = e.shop_id
              LEFT JOIN agents a ON a.agent_id = s.agent_id
              WHERE e.shop_id = ? AND e.rating IS NOT NULL
                AND CAST(e.invited_at AS DATE) BETWEEN ? AND ?
                {''.join(' AND ' + w for w in where)}
              ORDER BY e.rating, e.invited_at DESC LIMIT {int(limit)}"""
    frame = con.execute(sql, [shop_id, period.start, period.end, *params]).df()
    return frame if viewer.pii else mask_frame(frame, ["comment"])


def transcript(con, session_id: str, shop_id: str, *, viewer: Viewer) -> pd.DataFrame:
    """The session's messages in order; only a session of a shop the viewer sees (an agent's own),
    with buyers' personal data masked for a viewer without the PII permission."""
    viewer.require_shop(shop_id)
    if viewer.role == "agent":
        owner = con.execute("SELECT agent_id FROM f_sessions WHERE shop_id = ? AND session_id = ?",
                            [shop_id, session_id]).fetchone()
        if owner is None or owner[0] != viewer.agent_id:
            raise Forbidden("客服账号只能查看本人接待的会话")
    frame = con.execute(
        """SELECT m.sent_at, m.sender_role, m.agent_id, a.agent_name, m.content_type, m.content
           FROM messages m LEFT JOIN agents a ON a.agent_id = m.agent_id
           WHERE m.session_id = ? AND m.shop_id = ? ORDER BY m.sent_at, m._seq""", [session_id, shop_id]).df()
    return frame if viewer.pii else mask_frame(frame, ["content"])


def _parts_overview(store, viewer: Viewer) -> dict:
    """``store_overview`` for a store reading a parts folder: the rows as the build counted them
    (``shop_counts``, per shop, so a viewer sees their shops' figures only)."""
    scope, params = viewer.scope_sql("s.shop_id")
    per_shop = store.con.execute(
        f"""SELECT s.shop_id AS 店铺ID, s.shop_name AS 店铺名称, s.platform AS 平台, s.category AS 类目, s.tier AS 层级,
                  CAST(f.data_start AS DATE) AS 数据开始, CAST(f.data_end AS DATE) AS 数据结束,
                  coalesce(c.derived_sessions, 0) AS 会话数, coalesce(c.sessions, 0) > 0 AS 有会话表,
                  {', '.join(f'coalesce(c.{t}, 0) AS _{t}' for t in COUNTED_TABLES)}
           FROM shops s LEFT JOIN f_shop_span f USING (shop_id) LEFT JOIN shop_counts c USING (shop_id)
           WHERE {scope} ORDER BY s.shop_id""", params).df()
    for col in ("数据开始", "数据结束"):
        per_shop[col] = per_shop[col].dt.date
    per_shop["平台"] = [PLATFORM_LABELS.get(p, p) for p in per_shop["平台"]]
    rows = {"shops": len(per_shop), "peers": int((store.parts_manifest.get("rows") or {}).get("peers", 0)),
            **{t: int(per_shop[f"_{t}"].sum()) for t in COUNTED_TABLES}}
    per_shop = per_shop.drop(columns=[f"_{t}" for t in COUNTED_TABLES])
    counts = pd.DataFrame([{"表": name, "说明": TABLES[name].label, "行数": rows.get(name, 0)} for name in TABLES])
    start, end = per_shop["数据开始"].dropna().min(), per_shop["数据结束"].dropna().max()
    start, end = (None, None) if start != start or end != end else (start, end)
    return {"shops": len(per_shop), "sessions": int(per_shop["会话数"].sum()), "messages": rows["messages"],
            "start": start, "end": end, "days": (end - start).days + 1 if start else 0, "tables": counts,
            "per_shop": per_shop, "present": sorted(store.present_tables())}


def store_overview(store, *, viewer: Viewer) -> dict | None:
    """What the store holds for the viewer: counts per table, the data's span, per-shop coverage
    (None when empty); a viewer of some shops sees the figures of those shops only."""
    scope, scope_params = viewer.scope_sql("shop_id")
    if not store.con.execute(f"SELECT 1 FROM shops WHERE {scope} LIMIT 1", scope_params).fetchone():
        return None

    if store.parts_only:
        return _parts_overview(store, viewer)

    def count(name: str) -> int:
        # a table of shops' rows counts the viewer's shops; the peers' benchmarks are nobody's shop
        where = scope if "shop_id" in TABLES[name].column_names else "TRUE"
        return int(store.con.execute(f"SELECT count(*) FROM {store._table_name(name)} WHERE {where}",
                                     scope_params if where == scope else []).fetchone()[0])

    counts = pd.DataFrame([{"表": name, "说明": TABLES[name].label, "行数": count(name)} for name in TABLES])
    # the span by the rule every page's period uses (Store.shops_with_span), so the totals agree with them
    spans = store.shops_with_span(viewer=viewer)
    per_shop = store.con.execute(
        f"""SELECT s.shop_id AS 店铺ID, s.shop_name AS 店铺名称, s.platform AS 平台, s.category AS 类目, s.tier AS 层级,
                  (SELECT count(*) FROM f_sessions x WHERE x.shop_id = s.shop_id) AS 会话数,
                  EXISTS (SELECT 1 FROM sessions y WHERE y.shop_id = s.shop_id) AS 有会话表
           FROM shops s WHERE {viewer.scope_sql("s.shop_id")[0]} ORDER BY s.shop_id""", scope_params).df()
    per_shop.insert(5, "数据开始", list(spans["data_start"]))
    per_shop.insert(6, "数据结束", list(spans["data_end"]))
    per_shop["平台"] = [PLATFORM_LABELS.get(p, p) for p in per_shop["平台"]]
    known = spans.dropna(subset=["data_start", "data_end"])
    start, end = (known["data_start"].min(), known["data_end"].max()) if len(known) else (None, None)
    return {"shops": count("shops"), "sessions": int(per_shop["会话数"].sum()),
            "messages": count("messages"), "start": start, "end": end,
            "days": (end - start).days + 1 if start else 0, "tables": counts, "per_shop": per_shop,
            "present": sorted(store.present_tables())}


def evaluated_agents(con, shop_id: str, period: Period, filters: Filters = Filters(), *,
                     viewer: Viewer) -> dict[str, str]:
    """agent_id → name of the agents whose sessions were evaluated in the period (for a picker);
    an agent viewer is the only one."""
    viewer.require_shop(shop_id)
    where, params = evaluation_where(filters.without_agent(), "s.")
    if viewer.role == "agent":
        where.append("s.agent_id = ?")
        params.append(viewer.agent_id)
    rows = con.execute(
        f"""SELECT DISTINCT s.agent_id, coalesce(a.agent_name, s.agent_id)
            FROM evaluations e JOIN f_sessions s ON s.session_id = e.session_id AND s.shop_id = e.shop_id
            LEFT JOIN agents a ON a.agent_id = s.agent_id
            WHERE e.shop_id = ? AND s.agent_id IS NOT NULL AND CAST(e.invited_at AS DATE) BETWEEN ? AND ?
                  {''.join(' AND ' + w for w in where)}
            ORDER BY 2""", [shop_id, period.start, period.end, *params]).fetchall()
    return dict(rows)


def sales_funnel(engine: MetricEngine, shop_id: str, period: Period, filters: Filters = Filters(),
                 settings: SalesSettings | None = None) -> tuple[float, float, float] | None:
    """询单 → 下单 → 付款 as the metrics count them: 询单人数 and the numerators of 询单→下单 and
    询单→付款转化率 (never rebuilt from rounded rates); None when there are no inquiries."""
    values = engine.compute(shop_id, period, filters, settings)
    inquiries = values["inquiry_buyers"].value
    if not inquiries:
        return None
    return (inquiries, values["inquiry_order_rate"].numerator or 0.0, values["inquiry_pay_rate"].numerator or 0.0)
