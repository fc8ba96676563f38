"""满意度监测: how satisfied buyers are, how that moved, against peers, and the chats behind it."""

import pandas as pd
import streamlit as st

from insight.analyses.diagnosis import SATISFACTION_CARDS, metric_rows
from insight.analyses.tables import RATING_LABELS
from insight.core.filters import Filters
from insight.metrics.registry import registry
from insight.metrics.stats import SIGNIFICANCE_NOTE
from insight.present import charts
from insight.present.exports import HtmlReport
from insight.present.formatting import markdown_text as md
from insight.present.formatting import verdict_text
from insight.ui import data, state, widgets

view = state.page_view("满意度监测")

reg = registry()
report = HtmlReport("满意度监测", f"{view.shop_label} · {view.period.label} · {view.filter_label}")
widgets.report_download(report, f"满意度监测_{view.file_stem}")
rep = data.report(view.path, view.version, view.shop_id, view.period, view.filters)
st.caption(f"{md(view.shop_label)} · 本期 {view.period.label} · 上期 {view.period.previous().label} · {view.filter_label}"
           f" · 评价按邀评时间归属 · {widgets.peer_definition()}")

rows = metric_rows(rep, SATISFACTION_CARDS)
widgets.what_happened(rep)
widgets.change_notice(rep)
# three cards a row: six in one row cut a 环比 such as "−17.82个百分点" exactly when it matters
for start in range(0, len(rows), 3):
    for col, (_, row) in zip(st.columns(3), rows.iloc[start:start + 3].iterrows()):
        widgets.metric_card(col, row)
st.caption(SIGNIFICANCE_NOTE)
report.heading("核心指标")
report.table(rows[["指标", "本期", "区间", "样本量", "上期", "环比", "环比说明", "同行平均", "同行优秀", "对比同行", "说明"]])

st.subheader("趋势")
widgets.trend_section(view, ("satisfaction_rate", "very_satisfied_rate", "dissatisfaction_rate", "evaluation_rate",
                             "evaluated_sessions", "invited_sessions"), "satisfaction_rate", report, key="sat_trend")

st.subheader("人工 / 机器人 · 售前 / 售后")
split_key = st.radio("拆分指标", ["satisfaction_rate", "very_satisfied_rate", "dissatisfaction_rate", "evaluation_rate"],
                     format_func=lambda k: reg[k].name, horizontal=True, key="split_metric")
split = data.split(view.path, view.version, view.shop_id, view.period, view.filters.hours, split_key)
if split["value"].notna().any():
    report.heading("人工 / 机器人 · 售前 / 售后")
    widgets.chart(charts.split_figure(reg[split_key], split), f"{reg[split_key].name}拆分_{view.file_stem}", report,
                  key="split_chart")
    missing = split[split["value"].isna()]
    if not missing.empty:
        st.caption("不可用：" + "；".join(f"{r.channel}·{r.stage}：{r.reason}" for r in missing.itertuples()))
else:
    widgets.empty_state(f"所选周期没有可拆分的{reg[split_key].name}：{split['reason'].dropna().iloc[0]}")

left, right = st.columns(2)
with left:
    st.subheader("评分构成")
    mix = data.rating_mix(view.path, view.version, view.shop_id, view.period, view.filters)
    if mix["count"].sum() == 0:
        widgets.empty_state("本期没有已评分的会话。", "换一个更长的周期，或检查是否导入了 evaluations 表。")
    else:
        report.heading("评分构成")
        widgets.chart(charts.rating_mix_figure(mix), f"评分构成_{view.file_stem}", report, key="mix_chart")
        st.caption("悬停查看本期/上期占比与各档对满意率变化的贡献；1–3 分的贡献取负，两侧各自加总为满意率变化。")
with right:
    st.subheader("评价标签 TOP10")
    tags = data.tag_top(view.path, view.version, view.shop_id, view.period, view.filters)
    if tags.empty:
        widgets.empty_state("本期 1–3 分评价没有带标签。", "评价标签来自 evaluations 表的 tags 列。")
    else:
        report.heading("评价标签 TOP10")
        widgets.chart(charts.tag_top_figure(tags), f"评价标签TOP10_{view.file_stem}", report, key="tag_chart")

if not tags.empty:
    shown = pd.DataFrame({
        "标签": tags["tag"], "本期次数": tags["count"], "上期次数": tags["prev_count"],
        "次数环比": tags["change_count"], "次数变化": [verdict_text(v) for v in tags["change_count_real"]],
        "占1–3分会话": tags["share_bad"], "上期占比": tags["prev_share_bad"],
        "占比变化(百分点)": tags["change_share"] * 100,
    })
    widgets.table(shown, f"评价标签TOP10_{view.file_stem}", key="tag_table", report=report, column_config={
        "次数环比": st.column_config.NumberColumn(format="percent_change"),
        "占1–3分会话": st.column_config.NumberColumn(format="percent"),
        "上期占比": st.column_config.NumberColumn(format="percent"),
        "占比变化(百分点)": st.column_config.NumberColumn(format="%+.2f"),
    })

st.subheader("评价明细")
c1, c2 = st.columns([2, 3])
ratings = c1.multiselect("评分", [1, 2, 3, 4, 5], default=[1, 2, 3], format_func=lambda r: f"{r}分 {RATING_LABELS[r]}",
                         key="ev_ratings", placeholder="全部评分")  # none picked: every rating
agent_names = data.evaluated_agents(view.path, view.version, view.shop_id, view.period, view.filters)
agent = c2.selectbox("客服", [None, *agent_names], format_func=lambda a: "全部客服" if a is None else agent_names[a],
                     key="ev_agent")
f = view.filters
sessions = data.evaluated_sessions(view.path, view.version, view.shop_id, view.period,
                                   Filters(f.channel, f.stage, f.hours, agent), tuple(sorted(ratings)) or None,
                                   limit=100)
if sessions.empty:
    widgets.empty_state("没有符合条件的评价。", "放宽评分或客服筛选，或换一个周期。")
else:
    shown = pd.DataFrame({
        "会话ID": sessions["session_id"], "评分": sessions["rating"],
        "评价": sessions["rating"].map(RATING_LABELS), "标签": sessions["tags"].fillna(""),
        "评价内容": sessions["comment"].fillna(""),
        "客服": sessions["agent_name"].fillna(sessions["agent_id"]).fillna("（机器人接待）"),
        "邀评时间": sessions["invited_at"], "首次响应(秒)": sessions["first_wait"], "轮次": sessions["n_rounds"],
    })
    st.caption(f"显示 {len(shown):,} 条（最多 100 条，低分在前；用评分和客服筛选缩小范围）。点选一行查看完整聊天记录。")
    event = widgets.table(shown, f"评价明细_{view.file_stem}", key="ev_table", on_select="rerun",
                          selection_mode="single-row", height=320,
                          column_config={"评价内容": st.column_config.TextColumn(width="large")})  # (not cut short)
    picked = event.selection.rows if event is not None else []
    if picked:
        session = shown.iloc[picked[0]]
        with st.container(border=True):
            st.markdown(f"**会话 {md(session['会话ID'])}** · {session['评分']}分 {session['评价']} · 客服 {md(session['客服'])}"
                        + (f" · 标签：{md(session['标签'])}" if session['标签'] else ""))
            widgets.transcript_view(data.transcript(view.path, view.version, session["会话ID"], view.shop_id))
