"""周报: one shop's period as a report worth sending — the key figures with their intervals, n and 环比
(marked only where the change is real), trends over the period, the tag TOP10, the scenarios most
likely to satisfy worst with one example chat each, and the agents. One self-contained HTML file
(``HtmlReport``); ``present.pdf.html_to_pdf`` prints it."""

from __future__ import annotations

import pandas as pd

from insight.analyses.diagnosis import metric_rows
from insight.analyses.tables import agent_table, tag_top, transcript
from insight.core.access import Viewer
from insight.core.filters import Filters
from insight.core.periods import Period, trend_grains
from insight.metrics.engine import MetricEngine
from insight.metrics.stats import SIGNIFICANCE_NOTE
from insight.present import charts
from insight.present.exports import HtmlReport
from insight.present.formatting import format_change, verdict_text

__all__ = ["WEEKLY_CARDS", "WEEKLY_TRENDS", "weekly_report", "what_happened"]

WEEKLY_CARDS = ("satisfaction_rate", "dissatisfaction_rate", "evaluated_sessions", "reply_3min_rate_msg",
                "first_response_time", "avg_response_time", "fcr_3day", "aftersale_resolution_rate",
                "consult_buyers", "inquiry_pay_rate", "agent_sales_amount", "avg_refund_duration")
WEEKLY_TRENDS = ("satisfaction_rate", "reply_3min_rate_msg", "consult_buyers")
EXAMPLE_MESSAGES = 12  # of one example chat: enough to see what went wrong


def what_happened(rep: dict, keys=WEEKLY_CARDS, say_why_no_change: bool = True) -> str:
    """本期发生了什么, in one paragraph from the cards' own rules: the volume, every change beyond chance (and
    which way is better), how many moved only within chance, and where the shop is behind its peers. Said
    on the pages a weekly review starts from and at the top of the 周报."""
    from insight.metrics.registry import registry

    reg = registry()
    rows = metric_rows(rep, keys).set_index("key")
    parts = []
    buyers = rep["metrics"].get("consult_buyers")
    if buyers is not None:
        parts.append(f"本期咨询 {buyers:,.0f} 人")
    moved, within = [], 0
    for key, row in rows.iterrows():
        if row["value"] is None or row["change"] is None or row["change"] != row["change"]:
            continue
        if row["change_significant"]:
            better = (row["change"] > 0) == (reg[key].direction == "up")
            tone = "" if reg[key].direction == "none" else ("，变好" if better else "，变差")
            moved.append(f"{reg[key].name} {row['本期']}（环比 {row['环比']}{tone}）")
        elif row["change_significant"] is False:
            within += 1
    if rep.get("change_reason"):
        if say_why_no_change:  # (a page says it in its own notice)
            parts.append(f"环比不可比：{rep['change_reason']}")
    elif moved:
        parts.append("超出正常波动的变化：" + "；".join(moved) + (f"；另有 {within} 项指标的环比在正常波动内" if within else ""))
    elif within:
        parts.append(f"{within} 项指标的环比都在正常波动内，没有需要追的变化")
    behind = [reg[k].name for k, row in rows.iterrows() if row["status"] == "below"]
    if behind:
        parts.append("差于同行平均：" + "、".join(behind))
    return "。".join(parts) + "。" if parts else "本期没有可总结的数据。"


def weekly_report(engine: MetricEngine, shop_id: str, period: Period, *, viewer: Viewer,
                  filters: Filters = Filters(), worst_top: int = 5) -> HtmlReport:
    """The 周报 of ``shop_id`` for ``period`` as the viewer may see it (an agent's own chats only,
    buyers' personal data masked without the PII permission)."""
    from insight.scenarios.model import taxonomy
    from insight.scenarios.store import scenario_chats, scenario_table, worst_scenarios

    engine = engine.scoped(viewer)
    shop = engine.store.shop(shop_id)
    rep = engine.report(shop_id, period, filters)
    prev = period.previous()
    title = f"服务周报 · {shop['shop_name'] or shop_id}"
    report = HtmlReport(title, f"{shop_id} · 本期 {period.label} · 上期 {prev.label} · 全部接待")
    reg = engine.reg

    report.heading("本期发生了什么")
    report.note(what_happened(rep))

    # -- key figures --------------------------------------------------------------------------
    report.heading("核心指标")
    rows = metric_rows(rep, WEEKLY_CARDS)
    cards = []
    for row in rows.to_dict("records"):
        metric = reg[row["key"]]
        lines = []
        if row["value"] is None or row["value"] != row["value"]:
            lines.append(f"无法计算：{row['说明'] or '—'}")
        else:
            if row["change"] is not None and row["change"] == row["change"]:
                lines.append(f"环比 {row['环比']}（上期 {row['上期']}）")
            lines.append(row["环比说明"])
            if row["interval"] is not None:
                lines.append(f"95% 区间 {row['区间']} · n = {row['样本量']}")
            elif metric.type in ("ratio", "mean"):
                lines.append(f"n = {row['样本量']}")
            if row["status"] not in ("unavailable", "no_peers"):  # the interval is on the line above
                lines.append(f"同行平均 {row['同行平均']}：{row['对比同行']}")
        cards.append({"name": f"{metric.name}{metric.arrow}", "value": row["本期"], "lines": lines,
                      "tone": _tone(metric, row)})
    report.cards(cards)
    report.note(SIGNIFICANCE_NOTE)

    # -- trends over the period ----------------------------------------------------------------
    report.heading("趋势")
    grain = trend_grains(period)[0]
    values, reasons, n = engine.trend(shop_id, grain, period.end, filters, with_n=True, start=period.start)
    peers = engine.peer_trend(shop_id, grain, period.end, list(WEEKLY_TRENDS), filters, start=period.start)
    for key in WEEKLY_TRENDS:
        if values[key].notna().any():
            report.figure(charts.trend_figure(reg[key], values[key], grain, peers[key], n[key]))

    # -- tags -----------------------------------------------------------------------------------
    report.heading("评价标签 TOP10")
    tags = tag_top(engine, shop_id, period, filters)
    if tags.empty:
        report.note("本期没有带标签的评价。")
    else:
        report.figure(charts.tag_top_figure(tags))

    # -- the scenarios most likely to satisfy worst, each with one example chat ------------------
    report.heading("满意率最低的咨询场景")
    con = engine.con
    table = scenario_table(con, shop_id, engine.benchmark_shops(shop_id), period, filters, 3, taxonomy(), viewer=viewer)
    worst = worst_scenarios(table, top=worst_top) if len(table) else table
    if worst.empty:
        report.note("本期没有不满意的评价，没有可排名的场景。" if len(table) else "本期没有评价会话或场景尚未判定。")
    else:
        report.figure(charts.worst_scenarios_figure(worst))
        for row in worst.itertuples():
            chats = scenario_chats(con, shop_id, period, filters, row.key, 1, viewer=viewer)
            if chats.empty:
                continue
            chat = chats.iloc[0]
            messages = transcript(con, chat["session_id"], shop_id, viewer=viewer).head(EXAMPLE_MESSAGES)
            lines = [(_who(m), f"{pd.Timestamp(m.sent_at):%m-%d %H:%M}",
                      m.content if isinstance(m.content, str) else f"[{m.content_type}]") for m in messages.itertuples()]
            comment = chat["comment"] if isinstance(chat["comment"], str) else ""
            report.chat(f"{row.name} · 例：{chat['rating']} 分评价" + (f"（{comment}）" if comment else ""), lines)

    # -- agents ---------------------------------------------------------------------------------
    report.heading("客服")
    agents = agent_table(engine, shop_id, period, filters)
    if agents.empty:
        report.note("本期没有人工客服的接待记录。")
    else:
        report.table(_agent_rows(agents, reg), {"满意率": "percent", "满意率（校正）": "percent",
                                                 "3分钟回复率": "percent", "询单转化率": "percent",
                                                 "客服销售额": "¥%.2f"})
        report.note("按满意率（校正）排序：评价少的客服向全店整体满意率收缩（经验贝叶斯），两三条评价不会因运气排到最前或最后；"
                    "3分钟回复率按消息计；环比：比率为百分点，其余为相对变化。")
    return report


def _tone(metric, row) -> str:
    if not row.get("change_significant"):
        return ""
    up = row["change"] > 0
    return "good" if up == (metric.direction == "up") else "bad"


def _who(message) -> str:
    if message.sender_role == "buyer":
        return "买家"
    if message.sender_role == "agent":
        return message.agent_name if isinstance(message.agent_name, str) else (message.agent_id or "客服")
    return {"robot": "机器人", "system": "系统"}.get(message.sender_role, message.sender_role)


def _agent_rows(agents: pd.DataFrame, reg) -> pd.DataFrame:
    """The agents by 满意率 shrunk for ranking (best first): the key figures, 满意率 with its n, and the
    环比 of 满意率 and 客服销售额 (a page-wide table, narrow enough to print)."""
    agents = agents.sort_values("satisfaction_shrunk", ascending=False, na_position="last")
    sat, sales = reg["satisfaction_rate"], reg["agent_sales_amount"]
    return pd.DataFrame({
        "客服": agents["agent_name"].fillna(agents["agent_id"]),
        "咨询人数": agents["consult_buyers"],
        "3分钟回复率": agents["reply_3min_rate_msg"],
        "满意率": agents["satisfaction_rate"],
        "评价数": agents["n_evaluated"],
        "满意率（校正）": agents["satisfaction_shrunk"],
        # with the cards' verdict: +66.67个百分点 on 2 ratings is 波动内, not news
        "满意率环比": [format_change(sat, None if v != v else v) + ("" if v != v else f"（{verdict_text(r)}）")
                  for v, r in zip(agents["satisfaction_rate_change"], agents.get("satisfaction_rate_change_real",
                                                                          pd.Series([None] * len(agents))))],
        "询单转化率": agents["inquiry_pay_rate"],
        "客服销售额": agents["agent_sales_amount"],
        "销售额环比": [format_change(sales, None if v != v else v) for v in agents["agent_sales_amount_change"]],
    })
