"""服务能力诊断: the platform's indicator groups, each indicator's standing against its peers,
and the metric rows (value, 环比, peers, n, reason) that cards, tables and exports share."""

from __future__ import annotations

import pandas as pd

from insight.metrics.registry import Metric, registry
from insight.metrics.stats import outside
from insight.present.formatting import format_change, format_value

__all__ = ["CAPABILITY_GROUPS", "SATISFACTION_CARDS", "AGENT_CARDS", "versus", "peer_status", "status_note", "change_note",
           "metric_rows", "metric_rows_export", "agent_vs_shop", "STATUS_LABELS"]

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
    "excellent": "达到同行优秀",
    "between": "优于同行平均",
    "level": "与同行平均持平",
    "near": "与同行平均相当（差距在误差范围内）",
    "below": "差于同行平均",
    "no_peers": "无同行基准",
    "unavailable": "无法计算",
}


def _at_least(metric: Metric, value: float, bar: float) -> bool:
    return value <= bar if metric.direction == "down" else value >= bar


def versus(metric: Metric, value: float, reference: float, interval=None) -> str:
    """A value against a reference (the peers' average, the shop's figure), as far as the data can
    tell: 'level' when equal at the precision shown (98.00 % against 98.001 %), 'near' when the
    reference lies inside the value's 95 % interval (a rate), else 'better' or 'worse' by the
    metric's direction."""
    if format_value(metric, value) == format_value(metric, reference):
        return "level"
    if interval is not None and outside(reference, tuple(interval)) == 0:
        return "near"
    return "better" if _at_least(metric, value, reference) else "worse"


def peer_status(metric: Metric, value, peer_avg, peer_excellent, interval=None) -> str:
    """Where a value stands against its peers: reaching peer excellent (a bar, not a test: equal as
    shown reaches it), else ``versus`` the peer average."""
    if value is None:
        return "unavailable"
    if peer_avg is None or peer_excellent is None:
        return "no_peers"
    if _at_least(metric, value, peer_excellent) or format_value(metric, value) == format_value(metric, peer_excellent):
        return "excellent"
    verdict = versus(metric, value, peer_avg, interval)
    return {"better": "between", "worse": "below"}.get(verdict, verdict)


def status_note(metric: Metric, status: str, value, peer_avg, interval=None) -> str:
    """What a status compared, in one line: the value (and its interval) against the peer average."""
    if status in ("unavailable", "no_peers"):
        return ""
    mine = format_value(metric, value)
    if interval is not None:
        mine += f"（95% 区间 {format_value(metric, interval[0])}–{format_value(metric, interval[1])}）"
    return f"本店 {mine}，同行平均 {format_value(metric, peer_avg)}：{STATUS_LABELS[status]}"


def change_note(report: dict, key: str) -> str:
    """Whether a 环比 is a real change: the test's verdict for a rate, or why there is no 环比."""
    if report.get("change_reason"):
        return report["change_reason"]
    significant = report.get("change_significant", {}).get(key)
    if significant is None:
        return ""
    return "环比显著（两期差异超出随机波动）" if significant else "环比在正常波动范围内（差异不显著）"


def metric_rows(report: dict, keys) -> pd.DataFrame:
    """One row per metric of an engine report: raw numbers plus the formatted text shown and exported."""
    reg = registry()
    rows = []
    for key in keys:
        m = reg[key]
        value, prev = report["metrics"][key], report["previous"][key]
        peers, info = report["peers"][key], report["peers_info"][key]
        interval = (report.get("interval") or {}).get(key)
        status = peer_status(m, value, peers["peer_avg"], peers["peer_excellent"], interval)
        rows.append({
            "key": key, "指标": m.name, "方向": {"up": "越高越好", "down": "越低越好"}.get(m.direction, ""),
            "value": value, "本期": format_value(m, value), "previous": prev, "上期": format_value(m, prev),
            "interval": interval,
            "区间": "—" if interval is None else f"{format_value(m, interval[0])}–{format_value(m, interval[1])}",
            "change": report["change"][key], "环比": format_change(m, report["change"][key]),
            "change_significant": (report.get("change_significant") or {}).get(key),
            "环比说明": change_note(report, key),
            "partial": bool(report.get("change_reason")),  # the whole period's 环比 is not comparable
            "peer_avg": peers["peer_avg"], "同行平均": format_value(m, peers["peer_avg"]),
            "peer_excellent": peers["peer_excellent"], "同行优秀": format_value(m, peers["peer_excellent"]),
            "status": status, "对比同行": STATUS_LABELS[status],
            "对比说明": status_note(m, status, value, peers["peer_avg"], interval),
            "n": report["n"][key],
            "样本量": "—" if report["n"][key] is None else f"{report['n'][key]:,.0f}",
            "说明": report["unavailable"].get(key) or (info["reason"] if status == "no_peers" else "") or "",
        })
    return pd.DataFrame(rows)


# A metric's format → the unit its figures are exported in, and the factor from the stored value.
_EXPORT_UNITS = {"percent": ("%", 100.0), "seconds": ("秒", 1.0), "yuan": ("元", 1.0), "ratio": ("", 1.0)}


def metric_rows_export(rows: pd.DataFrame) -> pd.DataFrame:
    """``metric_rows`` for a spreadsheet: the page's figures as numbers (not the text "46.30%", nor a 环比 that a
    spreadsheet would read as a formula), each in the unit named beside it — a rate in %, a time in seconds —
    and the 环比 in 个百分点 for a rate, in % otherwise."""
    reg = registry()
    out = []
    for row in rows.itertuples(index=False):
        m = reg[row.key]
        unit, factor = _EXPORT_UNITS.get(m.format, ("", 1.0))

        def scaled(value, k=factor):
            return None if value is None or value != value else float(value) * k
        low, high = row.interval if row.interval is not None else (None, None)
        out.append({"指标": row.指标, "单位": unit, "方向": row.方向, "本期": scaled(row.value),
                    "95% 区间下限": scaled(low), "95% 区间上限": scaled(high), "样本量": row.n,
                    "上期": scaled(row.previous), "环比": scaled(row.change, 100.0),
                    "环比单位": "个百分点" if m.is_rate else "%", "环比说明": row.环比说明,
                    "同行平均": scaled(row.peer_avg), "同行优秀": scaled(row.peer_excellent), "对比同行": row.对比同行,
                    "说明": row.说明})
    return pd.DataFrame(out)


# 客服个人's cards: the agent's own figure next to the shop's.
AGENT_CARDS = ("consult_buyers", "reply_3min_rate_msg", "first_response_time", "avg_response_time",
               "satisfaction_rate", "inquiry_pay_rate", "agent_sales_amount", "qa_ratio")


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)


_VERSUS_SHOP = {"level": "与全店持平", "near": "与全店相当（差距在误差范围内）", "better": "优于全店",
                "worse": "低于全店"}


def agent_vs_shop(agent_report: dict, shop_report: dict, keys=AGENT_CARDS) -> pd.DataFrame:
    """One row per metric: the agent's figure with its interval, n and 环比 (``metric_rows`` of the
    agent's report), and the shop's beside it — with whether the gap to the shop is beyond chance
    (the shop's rate outside the agent's 95 % interval)."""
    rows = metric_rows(agent_report, keys)
    reg = registry()
    shop_values, verdicts, notes = [], [], []
    for row in rows.itertuples():
        metric = reg[row.key]
        mine, shop = _number(row.value), _number(shop_report["metrics"].get(row.key))
        shop_values.append(shop)
        # a total (an agent's sales, their buyers) is a part of the shop's, not comparable with it
        if mine is None or shop is None or metric.direction == "none" or metric.type in ("count", "sum"):
            verdicts.append(None)
            notes.append("")
            continue
        verdict = _VERSUS_SHOP[versus(metric, mine, shop, row.interval)]
        verdicts.append(verdict)
        notes.append(f"全店 {format_value(metric, shop)}：{verdict}")
    rows["shop_value"], rows["全店"] = shop_values, [format_value(reg[k], v) for k, v in zip(rows["key"], shop_values)]
    rows["对比全店"], rows["对比全店说明"] = verdicts, notes
    return rows
