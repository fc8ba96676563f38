"""店铺总览: every shop the viewer sees, side by side on the key metrics of the three pillars, with
the previous period, the change and where each stands against its peer group."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd

from insight.analyses.diagnosis import STATUS_LABELS as DIAGNOSIS_LABELS
from insight.analyses.diagnosis import peer_status
from insight.core.filters import Filters
from insight.core.periods import Period, change, coverage_reason
from insight.core.settings import SalesSettings
from insight.metrics.engine import MetricEngine, MetricValue, interval_of, squared_seconds

__all__ = ["OVERVIEW_METRICS", "STATUS_LABELS", "shops_overview"]

# 满意度监测 · 服务能力诊断 · 客服绩效 (the scenarios have their own page: they are per shop by nature)
OVERVIEW_METRICS = ("consult_buyers", "satisfaction_rate", "dissatisfaction_rate", "evaluation_rate",
                    "reply_3min_rate_session", "first_response_time", "avg_response_time", "fcr_3day",
                    "aftersale_resolution_rate", "avg_refund_duration", "inquiry_pay_rate", "agent_sales_amount")
STATUS_LABELS = {**DIAGNOSIS_LABELS, "no_peers": "同行不足"}


def shops_overview(engine: MetricEngine, period: Period | Callable[[dt.date], Period], filters: Filters = Filters(),
                   settings: SalesSettings | None = None, keys=OVERVIEW_METRICS) -> pd.DataFrame:
    """One row per (shop, metric) over the engine's viewer's shops: value, reason, n, previous value,
    change (points for rates, relative otherwise; none where the shop's data covers either period only
    in part), peer average and excellent, status, and the period the row is of. ``period``: one for every
    shop, or a function of a shop's last data day giving its own (截至各店最新数据日: a shop whose data ends
    earlier is not shown days it has no data for). Per distinct period, three grouped sums (this period,
    the previous one, and each peer group once), not a query per shop."""
    filters = filters.without_agent()
    shops = engine.store.shops_with_span(viewer=engine.viewer)
    shops = shops[shops["data_end"].notna()]
    if shops.empty:
        return pd.DataFrame(columns=_COLUMNS)
    period_of = period if callable(period) else (lambda _end: period)
    periods = [period_of(end) for end in shops["data_end"]]
    rows = []
    for each in dict.fromkeys(periods):  # (in the order first met)
        group = shops[[p == each for p in periods]]
        rows += _rows(engine, group, each, filters, settings, keys)
    return pd.DataFrame(rows, columns=_COLUMNS)


_COLUMNS = ["shop_id", "shop_name", "platform", "category", "tier", "metric", "value", "reason", "n",
            "previous", "change", "peer_avg", "peer_excellent", "status", "period_start", "period_end"]


def _rows(engine: MetricEngine, shops: pd.DataFrame, period: Period, filters: Filters, settings, keys) -> list[dict]:
    ids = list(shops["shop_id"])
    now = engine.sums(ids, period, filters, settings, group_by="shop")
    before = engine.sums(ids, period.previous(), filters, settings, group_by="shop")
    values, reasons, nums, dens = engine.evaluate(now, filters)
    previous = engine.evaluate(before, filters)[0]
    peers: dict[str, dict] = {}
    for _, group in shops.groupby(["platform", "category", "tier"], dropna=False):
        benchmark = engine.peers(group["shop_id"].iloc[0], period, filters, settings)
        peers.update({shop: benchmark for shop in group["shop_id"]})
    rows = []
    for shop in shops.itertuples():
        partial = coverage_reason(period, period.previous(), shop.data_start, shop.data_end)
        for key in keys:
            metric = engine.reg[key]
            value = _value(values, shop.shop_id, key)
            prev = _value(previous, shop.shop_id, key)
            n = _value(dens if key in dens else nums, shop.shop_id, key)
            bench = peers[shop.shop_id][key]
            squares = _value(now, shop.shop_id, metric.squares) if metric.squares else None
            # the interval as the shop's own pages compute it (rates and duration means alike)
            interval = interval_of(MetricValue(
                key, value, numerator=_value(nums, shop.shop_id, key) or 0.0,
                denominator=_value(dens, shop.shop_id, key) if key in dens else None,
                squares=None if squares is None else squared_seconds(metric, squares)))
            rows.append({
                "shop_id": shop.shop_id, "shop_name": shop.shop_name, "platform": shop.platform,
                "category": shop.category, "tier": shop.tier, "metric": key, "value": value,
                "reason": None if value is not None else (_value(reasons, shop.shop_id, key) or "本期没有数据"),
                "n": n, "previous": prev,
                "change": None if partial else change(value, prev, is_rate=metric.is_rate),
                "peer_avg": bench["peer_avg"], "peer_excellent": bench["peer_excellent"],
                "status": (peer_status(metric, value, bench["peer_avg"], bench["peer_excellent"], interval)
                           if metric.direction != "none" else None),
                "period_start": period.start, "period_end": period.end,
            })
    return rows


def _value(frame: pd.DataFrame, shop: str, key: str):
    if key not in frame.columns or shop not in frame.index:
        return None
    v = frame.at[shop, key]
    return None if v is None or (isinstance(v, float) and v != v) else (v if isinstance(v, str) else float(v))
