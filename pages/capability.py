"""服务能力诊断: the indicators grouped as the platform groups them, each against its peers."""

import streamlit as st

from insight.analyses.diagnosis import CAPABILITY_GROUPS, STATUS_LABELS, metric_rows, metric_rows_export
from insight.core.settings import FCR_WINDOW_HOURS
from insight.metrics.stats import SIGNIFICANCE_NOTE
from insight.present.exports import HtmlReport
from insight.present.formatting import markdown_text as md
from insight.ui import data, state, widgets

view = state.page_view("服务能力诊断", stage_in_sidebar=False)
view = state.stage_switch(view)

report = HtmlReport("服务能力诊断", f"{view.shop_label} · {view.period.label} · {view.filter_label}")
widgets.report_download(report, f"服务能力诊断_{view.file_stem}")
rep = data.report(view.path, view.version, view.shop_id, view.period, view.filters)
st.caption(f"{md(view.shop_label)} · 本期 {view.period.label} · 上期 {view.period.previous().label} · {view.filter_label}"
           f" · {widgets.peer_definition()}")

_BADGE = {"excellent": ":green-badge[达到同行优秀]", "between": ":blue-badge[优于同行平均]",
          "level": ":gray-badge[与同行平均持平]", "near": ":gray-badge[与同行平均相当]",
          "below": ":red-badge[差于同行平均]", "no_peers": ":gray-badge[无同行基准]", "unavailable": ":gray-badge[无法计算]"}

all_keys = [k for keys in CAPABILITY_GROUPS.values() for k in keys]
rows = metric_rows(rep, all_keys).set_index("key")
widgets.what_happened(rep)
widgets.change_notice(rep)
counts = rows["status"].value_counts()
st.markdown(" ".join(f"{_BADGE[s]} **{int(counts.get(s, 0))}** 项" for s in ("excellent", "between", "level", "near", "below")
                     if counts.get(s, 0)) or "本期没有可与同行比较的指标。")
st.caption(SIGNIFICANCE_NOTE)

for group, keys in CAPABILITY_GROUPS.items():
    st.subheader(group)
    # At most three cards a row: six in one row cut names and values short.
    cols = [c for start in range(0, len(keys), 3) for c in st.columns(3)][:len(keys)]
    for col, key in zip(cols, keys):
        row = rows.loc[key].copy()
        row["key"] = key
        widgets.metric_card(col, row)
        col.markdown(_BADGE[row["status"]], help=row["对比说明"] or None)
        if key == "fcr_3day" and rep["metrics"].get(key) is not None:
            col.caption(f"待定：最近 {FCR_WINDOW_HOURS // 24} 天的人工售后会话尚在 {FCR_WINDOW_HOURS} 小时观察期，不计入")

report.heading("指标一览")
table = rows.reset_index()
table.insert(0, "分组", [next(g for g, ks in CAPABILITY_GROUPS.items() if k in ks) for k in table["key"]])
shown = table[["分组", "指标", "方向", "本期", "区间", "样本量", "上期", "环比", "环比说明", "同行平均", "同行优秀",
               "对比同行", "说明"]].rename(columns={"区间": "95% 区间"})
st.subheader("指标一览")
export = metric_rows_export(table)
export.insert(0, "分组", table["分组"])
widgets.table(shown, f"服务能力诊断_{view.file_stem}", key="cap_table", report=report, export=export)

st.subheader("趋势")
widgets.trend_section(view, all_keys, "reply_3min_rate_msg", report, key="cap_trend")
st.caption(f"趋势中黄色区域为 3天售后FCR 的观察期：会话距数据末尾不足 {FCR_WINDOW_HOURS} 小时，结果待定。"
           f"状态说明：{'；'.join(STATUS_LABELS.values())}。")
