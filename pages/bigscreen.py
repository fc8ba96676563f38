"""大屏: a dark, full-screen, large-number view of a shop for the TV in the CS room during 大促."""

import datetime as dt

import streamlit as st

from insight.core.filters import Filters
from insight.core.periods import Period
from insight.core.settings import REPLY_SLA_SECONDS
from insight.metrics.registry import registry
from insight.present import charts
from insight.present.formatting import format_seconds, format_value
from insight.present.formatting import markdown_text as md
from insight.ui import data, state, widgets
from insight.ui.boot import require_navigation

require_navigation()
# Only constant styling is injected here (no data): dark background, large numbers, no sidebar or toolbar.
st.markdown("""<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] {display: none;}
.stApp, [data-testid="stAppViewContainer"] {background: #0b1220; color: #e5e7eb;}
[data-testid="stMainBlockContainer"] {max-width: 100%; padding: 1.5rem 2.5rem;}
h1, h2, h3, p, span, label, [data-testid="stMarkdownContainer"] {color: #e5e7eb !important;}
[data-testid="stMetric"] {background: #111a2e; border-radius: 14px; padding: 18px 22px;}
[data-testid="stMetricLabel"] p {font-size: 1.45rem !important; color: #94a3b8 !important;}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; height: auto !important;}
[data-testid="stMetricValue"] {font-size: 3.6rem !important; color: #f8fafc !important;}
/* The alert is what the TV is for: white on strong red, large, not the page's pale text on pale pink. */
[data-testid="stMain"] [data-testid="stAlertContainer"] {background: #b91c1c !important; border-radius: 14px;}
[data-testid="stMain"] [data-testid="stAlertContainer"] p,
[data-testid="stMain"] [data-testid="stAlertContainer"] span {color: #ffffff !important; font-size: 2rem !important;
  font-weight: 700;}
</style>""", unsafe_allow_html=True)

labels = state.shop_labels()
# A TV shows one shop (?shop=S001 in its link); opened from the menu, the shop is picked here and the way back
# is beside it (the sidebar is hidden on this page).
top = st.columns([3, 6, 1], vertical_alignment="center")
shop = state.synced(top[0].selectbox, "shop", list(labels), next(iter(labels)), label="店铺",
                    format_func=lambda s: labels[s], label_visibility="collapsed")
top[2].page_link("pages/live.py", label="退出大屏", icon=":material/close_fullscreen:")
reg = registry()


def _n(report: dict, key: str) -> str:
    """A rate's sample size beside its name: a 75% of 4 ratings reads differently from one of 400."""
    n = report["n"].get(key)
    return f" · n={int(n):,}" if n else ""


@st.fragment(run_every=dt.timedelta(seconds=10))
def screen() -> None:
    snap = data.live_snapshot(shop)
    if snap["as_of"] is None:
        widgets.empty_state("这个店铺还没有聊天数据。", "用 POST /api/v1/events 写入，或 python -m insight replay 回放一天。")
        return
    today = Period(snap["as_of"].date(), snap["as_of"].date())
    report = data.report(data.store_path(), data.reader().version, shop, today, Filters())
    values = report["metrics"]
    st.markdown(f"# {md(labels[shop])} · 大促实时大屏")
    st.markdown(f"### 截至 {snap['as_of']:%H:%M:%S} · 每 10 秒刷新")
    head = snap["shop"]
    cols = st.columns(4)
    cols[0].metric("今日接待人数", format_value(reg["received_buyers"], values["received_buyers"]))
    cols[1].metric("今日客服销售额", format_value(reg["agent_sales_amount"], values["agent_sales_amount"]))
    cols[2].metric(f"今日满意率{_n(report, 'satisfaction_rate')}", format_value(reg["satisfaction_rate"], values["satisfaction_rate"]))
    cols[3].metric("在线客服", f"{head['agents_online']:,}")
    cols = st.columns(4)
    cols[0].metric("排队买家", f"{head['buyers_waiting']:,}")
    cols[1].metric("最长等待", format_seconds(head["longest_wait"]) if head["longest_wait"] is not None else "—")
    cols[2].metric("近 1 小时超时", f"{head['breaches_1h']:,}")
    cols[3].metric(f"3分钟回复率（消息）{_n(report, 'reply_3min_rate_msg')}",
                   format_value(reg["reply_3min_rate_msg"], values["reply_3min_rate_msg"]))
    if head["alert"]:
        st.error(f"有买家已等待 {format_seconds(head['longest_wait'])}，超过 {REPLY_SLA_SECONDS // 60} 分钟",
                 icon=":material/alarm:")
    agents = snap["agents"]
    if not agents.empty and agents["received_buyers"].notna().any():
        ranked = agents.assign(name=agents["agent_name"].fillna(agents["agent_id"]))
        st.plotly_chart(charts.ranking_figure(ranked, "received_buyers", "name", "客服接待排行（今日接待人数）", "人",
                                              dark=True), key="ranking", config={"displayModeBar": False})


screen()
