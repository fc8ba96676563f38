"""实时监控: the shop as of the newest event — queue, waits, breaches, agents — refreshing itself."""

import datetime as dt

import pandas as pd
import streamlit as st

from insight.analyses.live import ACTIVE_MINUTES, ONLINE_MINUTES
from insight.core.settings import REPLY_SLA_SECONDS
from insight.metrics.registry import registry
from insight.present import charts
from insight.present.formatting import format_change, format_seconds, format_value
from insight.present.formatting import markdown_text as md
from insight.ui import auth, data, state, widgets
from insight.ui.boot import require_navigation
from insight.ui.columns import as_shown

require_navigation()
st.title("实时监控")
labels = state.shop_labels()
own_row_only = auth.run_viewer().role == "agent"
side = st.sidebar
shop = state.synced(side.selectbox, "shop", list(labels), next(iter(labels)), label="店铺",
                    format_func=lambda s: f"{labels[s]}（{s}）")
every = side.selectbox("自动刷新", [5, 10, 30, 60], index=1, format_func=lambda s: f"每 {s} 秒")
side.caption(f"在线 = 最近 {ONLINE_MINUTES} 分钟内发过消息；排队 = 人工会话里买家最后的消息还没有客服回复"
             f"（平台已结束的会话、{ACTIVE_MINUTES} 分钟没有新消息的会话不再计入）；超时 = 等待超过 {REPLY_SLA_SECONDS // 60} 分钟。"
             "数据经 POST /api/v1/events 实时写入（见 docs/live.md），或 python -m insight replay 回放。")
reg = registry()


def _wait(seconds) -> str:
    return "—" if seconds is None or pd.isna(seconds) else format_seconds(float(seconds))


def _text(metric, value) -> str:
    return format_value(metric, None if value is None or pd.isna(value) else float(value))


def _n(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:,.0f}"


def compare_so_far(as_of: dt.datetime) -> None:
    """今日至此 against yesterday and the same weekday last week until the same time."""
    frame = data.so_far(shop, as_of)
    st.subheader(f"今日至此（截至 {as_of:%H:%M}）对比昨日、上周同日的同一时段")
    table = pd.DataFrame({
        "指标": frame["name"],
        "今日至此": [_text(reg[k], v) for k, v in zip(frame["key"], frame["today"])],
        "昨日同时段": [_text(reg[k], v) for k, v in zip(frame["key"], frame["yesterday"])],
        "较昨日": [_change(reg[k], v, real) for k, v, real in zip(frame["key"], frame["vs_yesterday"],
                                                                frame["vs_yesterday_real"])],
        "上周同日同时段": [_text(reg[k], v) for k, v in zip(frame["key"], frame["last_week"])],
        "较上周": [_change(reg[k], v, real) for k, v, real in zip(frame["key"], frame["vs_last_week"],
                                                                frame["vs_last_week_real"])],
        "样本量 今日/昨日/上周": [f"{_n(a)} / {_n(b)} / {_n(c)}" for a, b, c in
                             zip(frame["today_n"], frame["yesterday_n"], frame["last_week_n"])]})
    st.dataframe(table, hide_index=True, placeholder="—")
    missing = [f"{name}：{reason}" for name, value, reason in zip(frame["name"], frame["today"], frame["reason"])
               if pd.isna(value) and reason]
    for day, label in (("yesterday", "昨日"), ("last_week", "上周同日")):
        if frame[f"{day}_reason"].notna().all() and frame[day].isna().all():  # the whole day is not in the data
            missing.append(f"{label}：{frame[f'{day}_reason'].iloc[0]}")
    st.caption("昨日、上周的同一时段按当时已有的数据重新计算（之后才给的评价、之后才付款的订单不计入），"
               "与今日至此同一口径；比率的变化为百分点，其余为相对变化。样本量：比率的分母（如已评分会话数），"
               "计数的本身；金额没有样本量。“显著”：差异超出随机波动（比率用两比例检验，时长用 Welch t 检验，p < 0.05），"
               "“波动内”：差异在正常波动范围内，不宜据此下结论。" + ("　暂不可计算：" + "；".join(missing) if missing else ""))


def _change(metric, value, real=None) -> str:
    text = format_change(metric, None if value is None or pd.isna(value) else float(value))
    verdict = {True: "（显著）", False: "（波动内）"}.get(None if real is None or pd.isna(real) else bool(real), "")
    return text + verdict


@st.fragment(run_every=dt.timedelta(seconds=every))
def monitor() -> None:
    snap = data.live_snapshot(shop)
    if snap["as_of"] is None:
        widgets.empty_state("这个店铺还没有聊天数据。", "用 POST /api/v1/events 写入，或在数据管理中导入。")
        return
    head = snap["shop"]
    st.caption(f"{md(labels[shop])} · 截至最新事件 {snap['as_of']:%Y-%m-%d %H:%M:%S}（店铺当地时间）· 每 {every} 秒刷新")
    for alert in data.live_alerts(shop, snap):  # the shop's thresholds (python -m insight alerts)
        st.error(md(alert.message), icon=":material/alarm:")
    cols = st.columns(4)
    # A 客服 sees their own row only: the cards say so, and their state is 在线/离线, not a count of one.
    mine = "（我的）" if own_row_only else ""
    cols[0].metric(f"排队买家{mine}", f"{head['buyers_waiting']:,}", border=True)
    cols[1].metric(f"最长等待{mine}", _wait(head["longest_wait"]), border=True)
    if own_row_only:
        cols[2].metric("我的状态", "在线" if head["agents_online"] else "离线", border=True,
                       help=f"最近 {ONLINE_MINUTES} 分钟内发过消息为在线")
    else:
        cols[2].metric("在线客服", f"{head['agents_online']:,}", border=True)
    cols[3].metric(f"近 1 小时超时消息{mine}", f"{head['breaches_1h']:,}", border=True,
                   help=f"买家消息 {REPLY_SLA_SECONDS // 60} 分钟内没有客服回复（含至今未回复）")
    agents = snap["agents"]
    if agents.empty:
        widgets.empty_state("今天还没有客服接待。", "客服回复买家后会出现在这里。")
    else:
        shown = pd.DataFrame({
            "客服": agents["agent_name"].fillna(agents["agent_id"]), "客服账号": agents["agent_id"],
            "在线": agents["online"].map({True: "在线", False: "离线"}), "进行中会话": agents["sessions_open"],
            "排队买家": agents["buyers_waiting"], "最长等待": [_wait(w) for w in agents["longest_wait"]],
            "近1小时超时": agents["breaches_1h"], "今日接待人数": agents["received_buyers"],
            "今日客服销售额": agents["agent_sales_amount"], "今日满意率": agents["satisfaction_rate"],
            "今日评价数": agents["satisfaction_n"]})
        late = [w is not None and not pd.isna(w) and w > REPLY_SLA_SECONDS for w in agents["longest_wait"]]
        config = {
            "今日客服销售额": st.column_config.NumberColumn(format="¥%.2f"),
            "今日满意率": st.column_config.NumberColumn(format="percent", help=reg["satisfaction_rate"].description),
            "今日接待人数": st.column_config.NumberColumn(format="%d"),
            "今日评价数": st.column_config.NumberColumn(format="%d", help="今日满意率的样本量：已评分会话数")}
        shown, config = as_shown(shown, config)
        styled = shown.style.apply(lambda row: ["background-color: #fee2e2" if late[row.name] else ""] * len(row),
                                   axis=1)
        st.dataframe(styled, hide_index=True, placeholder="—", column_config=config)
        st.caption("红色行：该客服有买家等待超过 3 分钟。今日接待、销售额、满意率与各分析页同一口径（当日累计）。")
    compare_so_far(snap["as_of"])
    if not snap["arrivals"].empty:
        st.plotly_chart(charts.arrivals_figure(snap["arrivals"]), key="arrivals",
                        config=charts.png_config(f"每5分钟进线_{shop}"))


monitor()
