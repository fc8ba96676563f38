"""店铺总览: every shop the account sees, side by side on the key metrics, 环比 and peer position."""

import streamlit as st

from insight.analyses.overview import OVERVIEW_METRICS, STATUS_LABELS
from insight.core.filters import CHANNELS, STAGES, Filters
from insight.core.periods import Period
from insight.core.schema import PLATFORM_LABELS
from insight.metrics.registry import registry
from insight.present import charts
from insight.present.exports import HtmlReport
from insight.ui import columns, data, state, widgets
from insight.ui.boot import require_navigation

require_navigation()
st.title("店铺总览")
reg = registry()
rd = widgets.guarded_store(data.reader)
shops = data.shops(data.store_path(), rd.version) if rd else None
if shops is None or shops["data_end"].dropna().empty:
    widgets.no_data_page()
shops = shops[shops["data_end"].notna()]

side = st.sidebar
side.markdown("### 筛选")
kind = state.synced(side.selectbox, "period", ["last7", "last30", "week", "month"], "last30", label="周期",
                    format_func={"last7": "近7天", "last30": "近30天", "week": "自然周", "month": "自然月"}.get)
channel = state.synced(side.radio, "channel", list(CHANNELS), "all", label="接待方式", format_func=CHANNELS.get,
                       horizontal=True)
stage = state.synced(side.radio, "stage", list(STAGES), "all", label="售前/售后", format_func=STAGES.get,
                     horizontal=True)
filters = Filters(channel, stage)

frame = data.shops_overview(data.store_path(), rd.version, kind, filters)
# Each shop up to its own last data day: a shop whose data ends on another day keeps its whole period and 环比.
spans = frame.drop_duplicates("shop_id").groupby(["period_start", "period_end"]).size().sort_values(ascending=False)
period = Period(*spans.index[0])  # the most shops'
side.caption(f"本期 {period.label}（{period.days} 天）· 上期 {period.previous().label} · 截至各店最新数据日")
others = spans.iloc[1:].sum()
st.caption(f"{len(shops)} 个店铺 · 本期 {period.label}"
           + (f"（另有 {others} 个店铺的最新数据日不同，按各自的最新数据日计算，见表中“本期”列）" if others else "")
           + f" · {CHANNELS[channel]}·{STAGES[stage]} · {widgets.peer_definition()} · 点击列名排序，点“查看”进入该店铺")
report = HtmlReport("店铺总览", f"{period.label} · {CHANNELS[channel]}·{STAGES[stage]}")
widgets.report_download(report, f"店铺总览_{period.start}~{period.end}")

cols = st.columns([2, 2, 3])
platforms = cols[0].multiselect("平台", sorted(shops["platform"].dropna().unique()), placeholder="全部平台",
                                format_func=lambda p: PLATFORM_LABELS.get(p, p))
shown_as = cols[1].radio("表中显示", ["本期值", "环比"], horizontal=True)
needle = cols[2].text_input("查找店铺", placeholder="店铺名称或 ID")
view = frame
if platforms:
    view = view[view["platform"].isin(platforms)]
if needle.strip():
    hit = view["shop_name"].fillna("").str.contains(needle.strip(), regex=False) | \
        view["shop_id"].str.contains(needle.strip(), regex=False)
    view = view[hit]
if view.empty:
    widgets.empty_state("没有符合条件的店铺。", "清空“平台”或“查找店铺”的条件。")
    st.stop()

metrics = [reg[k] for k in OVERVIEW_METRICS]
labels = {r.shop_id: f"{r.shop_name or r.shop_id}（{r.shop_id}）" for r in view.drop_duplicates("shop_id").itertuples()}
st.subheader("店铺 × 指标")
wide = view.pivot(index="shop_id", columns="metric", values="value" if shown_as == "本期值" else "change")
if shown_as == "环比":
    st.caption("环比为“—”：上期没有数据，或店铺的数据只覆盖了上期（或本期）的一部分——那样的环比不可比，不给出。")
wide = wide[[m.key for m in metrics]].rename(columns={m.key: m.name for m in metrics})
info = view.drop_duplicates("shop_id").set_index("shop_id")[["shop_name", "platform", "category", "tier"]]
info["platform"] = [PLATFORM_LABELS.get(p, p) for p in info["platform"]]  # 淘宝, not taobao
table = info.join(wide).reset_index()
own = view.drop_duplicates("shop_id").set_index("shop_id")
if others:  # the shop's own period, where shops differ
    table.insert(2, "本期", [f"{own.at[s, 'period_start']} ~ {own.at[s, 'period_end']}" for s in table["shop_id"]])
# the shop's page on the same period (its own, when it ends earlier)
table.insert(1, "查看", [f"/satisfaction?shop={s}&period=custom&range={own.at[s, 'period_start']}~{own.at[s, 'period_end']}"
                       for s in table["shop_id"]])
table = table.rename(columns={"shop_id": "店铺ID", "shop_name": "店铺", "platform": "平台", "category": "类目", "tier": "层级"})
config = {"查看": st.column_config.LinkColumn("查看", display_text="查看", help="打开该店铺的满意度监测")}
if shown_as == "本期值":
    config.update(columns.metric_column_config(OVERVIEW_METRICS))
else:  # a rate's change in percentage points, any other metric's relative change, both signed
    for m in metrics:
        if m.is_rate:
            table[m.name] = table[m.name] * 100
        config[m.name] = st.column_config.NumberColumn(
            f"{m.name}{m.arrow}", format="%+.2f 个百分点" if m.is_rate else "percent_change",
            help="环比：相对上期的百分点变化" if m.is_rate else "环比：相对上期的变化")
export = view.assign(metric=[reg[k].name for k in view["metric"]],
                     platform=[PLATFORM_LABELS.get(p, p) for p in view["platform"]],
                     status=[STATUS_LABELS.get(s, "") if s else "" for s in view["status"]])
export = export.rename(columns={"shop_id": "店铺ID", "shop_name": "店铺", "platform": "平台", "category": "类目",
                                "tier": "层级", "metric": "指标", "value": "本期", "reason": "无法计算的原因",
                                "n": "样本量", "previous": "上期", "change": "环比", "peer_avg": "同行平均",
                                "peer_excellent": "同行优秀", "status": "相对同行", "period_start": "本期开始",
                                "period_end": "本期结束"})
widgets.table(table, f"店铺总览_{period.start}~{period.end}", key="overview_table", report=report,
              column_config=config, export=export)
st.caption("下载的表格是长表：每个店铺每个指标一行，含本期、上期、环比、样本量、同行平均/优秀和相对同行的位置。"
           "比率的环比为百分点变化，其他指标为相对变化。")

widgets.chart(charts.overview_heatmap(view, metrics, labels), f"店铺总览热力图_{period.start}~{period.end}", report,
              key="overview_heatmap")
