"""平台口径: the platforms' own per-agent figures (imported report exports) over a period.

A figure keeps the platform's definition. Over several days, counts and amounts add up; a rate or a
price whose denominator the export gives (its ``weight``) is Σ(figure × weight) / Σ weight; any other
rate or average is not combined across days (a mean of daily rates is not the period's rate) and
is unavailable with that reason unless the period holds one day of it.
"""

from __future__ import annotations

import pandas as pd

from insight.core.access import Viewer
from insight.core.errors import Forbidden
from insight.core.periods import Period
from insight.core.schema import REPORT_TABLE
from insight.metrics.registry import registry
from insight.store import table_exists

__all__ = ["platform_figures", "platform_agent_table", "platform_beside_ours", "PER_DAY_ONLY"]

PER_DAY_ONLY = "平台只给出了每日比率/均值、没有给出分母，不能跨日合并：请选择单日查看"


def _scoped_shops(viewer: Viewer, shops: list[str] | None) -> list[str] | None:
    """The shops asked for, each checked; None (every shop) becomes the viewer's shops. Agents'
    accounts do not read the platforms' per-agent reports (they name every agent of the shop)."""
    if viewer.role == "agent":
        raise Forbidden("客服账号不能查看平台客服报表")
    if shops is None:
        return None if viewer.shops is None else sorted(viewer.shops)
    for shop in shops:
        viewer.require_shop(shop)
    return list(shops)


def platform_figures(con, period: Period, shops: list[str] | None = None, *, viewer: Viewer) -> pd.DataFrame:
    """One row per (shop, platform, report, agent, metric): value over ``period`` (NaN when it cannot
    be combined, with ``reason``), the days it covers, kind, the registry key it matches, definition.
    ``shops`` None: every shop the viewer sees. Reports about the whole shop come as agent
    ``SHOP_LEVEL_AGENT``; per-item reports (商品咨询) are not about agents and are left out."""
    shops = _scoped_shops(viewer, shops)
    columns = ["shop_id", "platform", "report", "agent", "metric", "kind", "matches", "definition", "weight", "days",
               "value", "reason"]
    if not table_exists(con, REPORT_TABLE):
        return pd.DataFrame(columns=columns)
    params: list = [period.start, period.end]
    shop_sql = ""
    if shops is not None:
        shop_sql = "AND shop_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(shops))
    frame = con.execute(f"""
        WITH f AS (SELECT * FROM {REPORT_TABLE} WHERE day BETWEEN ? AND ? {shop_sql}
                   AND coalesce(level, 'agent') <> 'item'),
        w AS (SELECT f.*, wt.value AS weight_value FROM f LEFT JOIN f wt
              ON wt.shop_id = f.shop_id AND wt.agent = f.agent AND wt.day = f.day AND wt.report = f.report
             AND wt.metric = f.weight)
        SELECT shop_id, platform, report, agent, metric, any_value(kind) AS kind, any_value(matches) AS matches,
            any_value(definition) AS definition, any_value(weight) AS weight, count(*) AS days,
            CASE WHEN any_value(weight) IS NULL AND any_value(kind) IN ('count', 'amount') THEN sum(value)
                 WHEN any_value(weight) IS NOT NULL AND count(weight_value) = count(*) AND sum(weight_value) > 0
                     THEN sum(value * weight_value) / sum(weight_value)
                 WHEN count(*) = 1 THEN any_value(value) END AS value
        FROM w GROUP BY shop_id, platform, report, agent, metric
        ORDER BY shop_id, agent, report, metric""", params).df()
    frame["reason"] = None
    frame.loc[frame["value"].isna(), "reason"] = PER_DAY_ONLY
    return frame[columns]


def _label(row) -> str:
    """Matched figures share the registry's name across platforms; the others keep the platform's."""
    return f"{registry()[row.matches].name}" if isinstance(row.matches, str) and row.matches else row.metric


def platform_agent_table(con, period: Period, shops: list[str] | None = None, *,
                         viewer: Viewer) -> tuple[pd.DataFrame, dict, dict]:
    """Every agent of every shop and platform with report figures, one column per figure (figures that
    match a registry metric under its name, so platforms line up); {column: reason} for columns with a
    value that could not be combined; {column: kind} (count, amount, rate, seconds, number)."""
    figures = platform_figures(con, period, shops, viewer=viewer)
    if figures.empty:
        return pd.DataFrame(columns=["shop_id", "platform", "agent"]), {}, {}
    figures = figures.assign(column=[_label(r) for r in figures.itertuples()])
    wide = figures.pivot_table(index=["shop_id", "platform", "agent"], columns="column", values="value",
                               aggfunc="first", dropna=False).reset_index()
    wide.columns.name = None
    reasons = {c: PER_DAY_ONLY for c in figures.loc[figures["value"].isna(), "column"].unique()}
    kinds = {c: ("seconds" if k == "minutes" else k) for c, k in zip(figures["column"], figures["kind"])}
    return wide, reasons, kinds


def platform_beside_ours(con, shop_id: str, period: Period, agents: pd.DataFrame, *, viewer: Viewer) -> pd.DataFrame:
    """For ``agents`` (agent_id, agent_name) of one shop: the platform's figure of every registry
    metric a report matches, as columns ``<key>`` indexed by agent_id. A report's agent is ours when
    it is the agent's account or name."""
    figures = platform_figures(con, period, [shop_id], viewer=viewer)
    figures = figures[figures["matches"].notna()]
    if figures.empty or agents.empty:
        return pd.DataFrame(index=pd.Index([], name="agent_id"))
    by_name = {str(n): a for a, n in zip(agents["agent_id"], agents["agent_name"]) if isinstance(n, str)}
    ids = set(agents["agent_id"])
    figures = figures.assign(agent_id=[a if a in ids else by_name.get(a) for a in figures["agent"]])
    figures = figures[figures["agent_id"].notna()]
    return figures.pivot_table(index="agent_id", columns="matches", values="value", aggfunc="first", dropna=False)
