"""服务能力诊断: the platform's indicator groups, each indicator's standing against its peers,
and the metric rows (value, 环比, peers, n, reason) that cards, tables and exports share."""

from __future__ import annotations

import pandas as pd

from insight.metrics.registry import Metric, registry
from insight.present.formatting import format_change, format_value

__all__ = ["CAPABILITY_GROUPS", "SATISFACTION_CARDS", "AGENT_CARDS", "peer_status", "metric_rows", "agent_vs_shop",
           "STATUS_LABELS"]

# As 淘宝服务诊断 groups them (seeds 000/001): 贴心服务, 服务保障, 快捷简单.
CAPABILITY_GROUPS = {
    "贴心服务": ("very_satisfied_rate", "satisfaction_rate"),
    "服务保障": ("aftersale_resolution_rate", "fcr_3day", "avg_refund_duration"),
    "快捷简单": ("reply_3min_rate_msg", "reply_3min_rate_session", "reply_3min_rate_buyer",
                 "first_response_time", "avg_response_time", "no_service_rate"),
}
SATISFACTION_CARDS = ("satisfaction_rate", "very_satisfied_rate", "dissatisfaction_rate", "evaluation_rate",
                      "evaluated_sessions", "invited_sessions")

STATUS_LABELS = {
    "excellent": "优于同行优秀",
    "between": "介于同行平均与优秀之间",
    "below": "低于同行平均",
    "no_peers": "无同行基准",
    "unavailable": "无法计算",
}


def _at_least(metric: Metric, value: float, bar: float) -> bool:
    return value <= bar if metric.direction == "down" else value >= bar


def peer_status(metric: Metric, value, peer_avg, peer_excellent) -> str:
    """Where a value stands: reaching peer excellent, between average and excellent, or below average."""
    if value is None:
        return "unavailable"
    if peer_avg is None or peer_excellent is None:
        return "no_peers"
    if _at_least(metric, value, peer_excellent):
        return "excellent"
    if _at_least(metric, value, peer_avg):
        return "between"
    return "below"


def metric_rows(report: dict, keys) -> pd.DataFrame:
    """One row per metric of an engine report: raw numbers plus the formatted text shown and exported."""
    reg = registry()
    rows = []
    for key in keys:
        m = reg[key]
        value, prev = report["metrics"][key], report["previous"][key]
        peers, info = report["peers"][key], report["peers_info"][key]
        status = peer_status(m, value, peers["peer_avg"], peers["peer_excellent"])
        rows.append({
            "key": key, "指标": m.name, "方向": {"up": "越高越好", "down": "越低越好"}.get(m.direction, ""),
            "value": value, "本期": format_value(m, value), "上期": format_value(m, prev),
            "change": report["change"][key], "环比": format_change(m, report["change"][key]),
            "peer_avg": peers["peer_avg"], "同行平均": format_value(m, peers["peer_avg"]),
            "peer_excellent": peers["peer_excellent"], "同行优秀": format_value(m, peers["peer_excellent"]),
            "status": status, "对比同行": STATUS_LABELS[status],
            "n": report["n"][key],
            "说明": report["unavailable"].get(key) or (info["reason"] if status == "no_peers" else "") or "",
        })
    return pd.DataFrame(rows)


# 客服个人's cards: the agent's own figure next to the shop's.
AGENT_CARDS = ("consult_buyers", "reply_3min_rate_msg", "first_response_time", "avg_response_time",
               "satisfaction_rate", "inquiry_pay_rate", "agent_sales_amount", "qa_ratio")


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)


def agent_vs_shop(agent_row, shop_report: dict, keys=AGENT_CARDS) -> pd.DataFrame:
    """One row per metric: the agent's value (from their agent-table row) and the shop's, raw and shown."""
    reg = registry()
    rows = []
    for key in keys:
        metric = reg[key]
        mine, shop = _number(agent_row.get(key)), _number(shop_report["metrics"].get(key))
        rows.append({"key": key, "指标": metric.name, "该客服": format_value(metric, mine),
                     "全店": format_value(metric, shop), "value": mine, "shop_value": shop})
    return pd.DataFrame(rows)
