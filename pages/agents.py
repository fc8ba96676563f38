"""客服绩效: every agent's workload, responsiveness, satisfaction and sales, with the sales funnel."""

import pandas as pd
import streamlit as st

from insight.analyses.diagnosis import metric_rows
from insight.analyses.tables import AGENT_CHANGE_METRICS, AGENT_TABLE_METRICS, shop_row
from insight.metrics.registry import registry
from insight.present import charts
from insight.present.exports import HtmlReport
from insight.present.formatting import markdown_text as md
from insight.present.formatting import verdict_text
from insight.ui import data, state, widgets
from insight.ui.columns import beside_column_config, metric_column_config, metric_frame, platform_column_config

view = state.page_view("客服绩效")
settings = state.sales_settings()

report = HtmlReport("客服绩效", f"{view.shop_label} · {view.period.label} · {view.filter_label} · "
                    f"{state.ATTRIBUTION_LABELS[settings.attribution]}·有效 {settings.valid_days} 天")
widgets.report_download(report, f"客服绩效_{view.file_stem}")
rep = data.report(view.path, view.version, view.shop_id, view.period, view.filters, settings)
st.caption(f"{md(view.shop_label)} · 本期 {view.period.label} · {view.filter_label} · 销售额归属：{state.ATTRIBUTION_LABELS[settings.attribution]}，询单"
           f"有效时长 {settings.valid_days} 天，{'客服主动跟进不计为流失' if settings.followup_not_loss else '客服主动跟进也计为流失'}"
           "（在左侧“绩效口径”中修改，立即生效）")

sales_keys = ("inquiry_buyers", "inquiry_order_rate", "order_pay_rate", "inquiry_pay_rate", "agent_sales_amount",
              "silent_sales_amount", "shop_sales_amount", "avg_order_value")
rows = metric_rows(rep, sales_keys)
widgets.change_notice(rep)
for start in (0, 4):
    for col, (_, row) in zip(st.columns(4), rows.iloc[start:start + 4].iterrows()):
        widgets.metric_card(col, row)
report.heading("销售指标")
report.table(rows[["指标", "本期", "区间", "样本量", "上期", "环比", "环比说明", "同行平均", "同行优秀", "说明"]])

left, right = st.columns(2)
values = rep["metrics"]
with left:
    funnel = data.sales_funnel(view.path, view.version, view.shop_id, view.period, view.filters, settings)
    if funnel:
        widgets.chart(charts.funnel_figure(*funnel), f"询单转化漏斗_{view.file_stem}", report, key="funnel")
    else:
        widgets.empty_state("本期没有询单。", rep["unavailable"].get("inquiry_buyers") or "询单来自人工阶段的买家消息与 orders 表。")
with right:
    if values["shop_sales_amount"]:
        widgets.chart(charts.sales_split_figure(values["agent_sales_amount"] or 0, values["silent_sales_amount"] or 0),
                      f"客服与静默销售额_{view.file_stem}", report, key="sales_split")
    else:
        widgets.empty_state("本期没有已付款订单。", rep["unavailable"].get("shop_sales_amount") or "销售额来自 orders 表。")

st.subheader("客服明细")
table = data.agent_table(view.path, view.version, view.shop_id, view.period, view.filters, settings)
if table.empty:
    widgets.empty_state("本期没有人工客服接待记录。", "换一个周期，或把“接待方式”切回全部/人工。")
else:
    keys = [k for k in AGENT_TABLE_METRICS if k in table.columns]
    extra = [c for c in ("n_evaluated", "satisfaction_shrunk") if c in table.columns]
    changes = [f"{k}_change" for k in AGENT_CHANGE_METRICS if f"{k}_change" in table.columns]
    # each change with the cards' verdict beside it (显著 / 波动内): a big move on two ratings is not news
    verdicts = [f"{c}_real" for c in changes if f"{c}_real" in table.columns]
    # the shop's own figures first, then each agent: the comparison every row needs
    rows_shown = pd.concat([pd.DataFrame([shop_row(rep)]), table], ignore_index=True)
    paired = [c for col in changes for c in (col, f"{col}_real") if c in rows_shown.columns]
    frame = rows_shown[["agent_id", "agent_name", "team", *keys, *extra, *paired]].copy()
    for col in verdicts:
        frame[col] = [verdict_text(v) for v in frame[col]]
    for key in AGENT_CHANGE_METRICS:  # shown as the cards show 环比: points for rates, percent otherwise
        if f"{key}_change" in frame:
            frame[f"{key}_change"] = frame[f"{key}_change"].astype(float) * 100
    change_names = {f"{k}_change": f"{registry()[k].name}环比" for k in AGENT_CHANGE_METRICS}
    change_names |= {f"{k}_change_real": f"{registry()[k].name}环比判断" for k in AGENT_CHANGE_METRICS}
    shown = metric_frame(frame, keys).rename(
        columns={"agent_id": "客服账号", "agent_name": "客服", "team": "分组", "n_evaluated": "评价数（满意率样本量）",
                 "satisfaction_shrunk": "满意率（排名用，按样本量校正）", **change_names})
    st.caption("第一行为全店合计（店铺口径），其余为各客服（客服口径）。点击列名排序；点选一行打开该客服的个人页。"
               "按满意率排名请用“满意率（排名用）”：它把评价少的客服向全店整体满意率收缩（经验贝叶斯），两三条评价不会因运气"
               "排到最前或最后。环比：比率为百分点，其余为相对变化。")
    change_config = {change_names[c]: st.column_config.NumberColumn(
        format="%+.2f 个百分点" if registry()[c[:-len("_change")]].is_rate else "%+.1f%%") for c in changes}
    event = widgets.table(shown, f"客服绩效_{view.file_stem}", key="agent_table", report=report,
                          column_config={**metric_column_config(keys), **change_config,
                                         "评价数（满意率样本量）": st.column_config.NumberColumn(format="%d"),
                                         "满意率（排名用，按样本量校正）": st.column_config.NumberColumn(format="percent")},
                          on_select="rerun", selection_mode="single-row")
    picked = [r for r in (event.selection.rows if event is not None else []) if r > 0]  # row 0: the shop
    if picked:
        agent_id = shown.iloc[picked[0]]["客服账号"]
        if st.button(f"打开 {md(shown.iloc[picked[0]]['客服'])} 的个人页", icon=":material/person:", key="open_agent"):
            st.session_state.setdefault("_filters", {})["agent"] = agent_id
            st.switch_page("pages/agent.py")
    pick = st.selectbox("对比指标", keys, index=keys.index("satisfaction_rate") if "satisfaction_rate" in keys else 0,
                        format_func=lambda k: registry()[k].name, key="agent_bar_metric")
    metric = registry()[pick]
    bars = table.assign(label=table["agent_name"].fillna(table["agent_id"]))
    if bars[pick].notna().any():
        widgets.chart(charts.distribution_figure(metric, bars, "label", f"各客服{metric.name}",
                                                 n_col=f"n_{pick}" if f"n_{pick}" in bars else None),
                      f"各客服{metric.name}_{view.file_stem}", report, key="agent_bars")
    else:
        widgets.empty_state(f"本期没有客服有{metric.name}的数值。")

st.subheader("平台口径对照")
if not table.empty:
    beside = data.platform_beside_ours(view.path, view.version, view.shop_id, view.period,
                                       table[["agent_id", "agent_name"]])
    matched = [k for k in beside.columns if k in table.columns]
    if matched:
        st.caption("左列为本工具按 METRICS.md 口径从聊天记录算出的值，右列为平台客服报表导出的值（平台口径，未混入我们的计算）。"
                   "口径不同，数值不必相等；差异大时请看两边的定义。")
        pairs = table.set_index("agent_id")[["agent_name", *matched]].join(
            beside[matched].add_suffix("（平台口径）"), how="left")
        cols = ["agent_name"] + [c for k in matched for c in (k, f"{k}（平台口径）")]
        shown = pairs[cols].reset_index().rename(columns={"agent_id": "客服账号", "agent_name": "客服"})
        shown = shown.rename(columns={**{k: registry()[k].name for k in matched},
                                      **{f"{k}（平台口径）": f"{registry()[k].name}（平台口径）" for k in matched}})
        widgets.table(shown, f"平台口径对照_{view.file_stem}", key="platform_beside", report=report,
                      column_config=beside_column_config(matched))
    else:
        widgets.empty_state("本期没有与本店客服对应的平台客服报表。",
                            "在“数据管理”上传平台导出的客服绩效/客服数据（淘宝、飞鸽、拼多多、京东），客服账号或昵称一致时会显示在这里。")

st.subheader("全部店铺客服 · 平台报表")
cross, reasons, kinds = data.platform_agent_table(view.path, view.version, view.period)
if cross.empty:
    widgets.empty_state("本期没有平台客服报表。",
                        "没有聊天记录的店铺也可以只导入平台导出的客服报表，在这里按平台口径横向比较全部店铺的客服。")
else:
    st.caption("全部店铺、全部平台的客服，按平台口径。能对应到本工具指标的列用统一的指标名；"
               "人数、金额跨日相加；有分母的比率按分母加权；没有分母的比率不跨日合并。")
    for column, reason in reasons.items():
        st.caption(f"{md(column)}：{md(reason)}")
    widgets.table(cross.rename(columns={"shop_id": "店铺", "platform": "平台", "agent": "客服"}),
                  f"平台客服报表_{view.period.label}", key="platform_cross", report=report,
                  column_config=platform_column_config(kinds))
