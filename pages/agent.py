"""客服个人: one agent's metrics against the shop, their trends and their worst-rated chats."""

import pandas as pd
import streamlit as st

from insight.analyses.diagnosis import agent_vs_shop
from insight.analyses.tables import AGENT_TABLE_METRICS, RATING_LABELS
from insight.core.filters import Filters
from insight.metrics.registry import registry
from insight.metrics.stats import SIGNIFICANCE_NOTE
from insight.present.exports import HtmlReport
from insight.present.formatting import markdown_text as md
from insight.ui import data, state, widgets

view = state.page_view("客服个人")
settings = state.sales_settings()
reg = registry()

agents = data.agent_table(view.path, view.version, view.shop_id, view.period, view.filters, settings)
if agents.empty:
    widgets.empty_state("本期这个店铺没有人工客服的接待记录。", "换一个周期或店铺，或把“接待方式”切回全部/人工。")
    st.stop()
names = dict(zip(agents["agent_id"], agents["agent_name"].fillna(agents["agent_id"])))
state.refuse_unseen("agent", names, "客服")
agent_id = state.synced(st.selectbox, "agent", list(names), next(iter(names)), label="客服",
                        format_func=lambda a: f"{names[a]}（{a}）")
f = view.filters
agent_filters = Filters(f.channel, f.stage, f.hours, agent_id)

report = HtmlReport(f"客服个人 · {names[agent_id]}", f"{view.shop_label} · {view.period.label} · {view.filter_label}")
widgets.report_download(report, f"客服个人_{agent_id}_{view.file_stem}")
shop = data.report(view.path, view.version, view.shop_id, view.period, view.filters, settings)
st.caption(f"{md(view.shop_label)} · 本期 {view.period.label} · {view.filter_label} · 客服视角：等待从消息与分配给该客服的时间中较晚者起算"
           "（排队时间算店铺，不算客服）")

mine_report = data.report(view.path, view.version, view.shop_id, view.period, agent_filters, settings)
rows = agent_vs_shop(mine_report, shop)
widgets.change_notice(mine_report)
cols = st.columns(4)
for i, row in enumerate(rows.to_dict("records")):
    widgets.agent_card(cols[i % 4], row)
st.caption(SIGNIFICANCE_NOTE.replace("同行", "全店"))
report.heading("该客服 vs 全店")
report.table(rows[["指标", "本期", "区间", "样本量", "上期", "环比", "环比说明", "全店", "对比全店"]].rename(
    columns={"本期": "该客服"}))

st.subheader("趋势")
widgets.trend_section(view, [k for k in AGENT_TABLE_METRICS if reg[k].direction != "none" or reg[k].type == "count"],
                      "reply_3min_rate_msg", report, key="agent_trend", agent=agent_id, settings=settings)

st.subheader("评分最低的会话")
worst = data.evaluated_sessions(view.path, view.version, view.shop_id, view.period, agent_filters, (1, 2, 3), 50)
if worst.empty:
    widgets.empty_state("本期该客服没有 1–3 分的评价。", "可以换一个更长的周期查看。")
else:
    shown = pd.DataFrame({"会话ID": worst["session_id"], "评分": worst["rating"], "评价": worst["rating"].map(RATING_LABELS),
                          "标签": worst["tags"].fillna(""), "评价内容": worst["comment"].fillna(""), "邀评时间": worst["invited_at"],
                          "首次响应(秒)": worst["first_wait"]})
    event = widgets.table(shown, f"差评会话_{agent_id}_{view.file_stem}", key="worst_table", report=report,
                          on_select="rerun", selection_mode="single-row", height=280,
                          column_config={"评价内容": st.column_config.TextColumn(width="large")})  # (not cut short)
    picked = event.selection.rows if event is not None else []
    if picked:
        sid = shown.iloc[picked[0]]["会话ID"]
        with st.container(border=True):
            st.markdown(f"**会话 {md(sid)}** · {shown.iloc[picked[0]]['评分']}分")
            widgets.transcript_view(data.transcript(view.path, view.version, sid, view.shop_id))
