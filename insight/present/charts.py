"""Plotly figures for the pages and the HTML reports. Pure functions of data frames: every
figure has a title, axis units and hover values, and is tested on its data.

Each figure is built in one go from plain dicts: plotly's ``update_layout``/``update_*axes``
machinery costs ~25 ms per figure and the pages rebuild their figures on every filter change.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from insight.core.periods import GRAIN_LABELS
from insight.metrics.registry import Metric
from insight.metrics.stats import SMALL_SAMPLE, wilson
from insight.present.formatting import format_value, plot_text, verdict_text

__all__ = ["trend_figure", "rating_mix_figure", "tag_top_figure", "split_figure", "funnel_figure",
           "scenario_share_figure", "worst_scenarios_figure",
           "sales_split_figure", "distribution_figure", "overview_heatmap", "arrivals_figure", "ranking_figure", "png_config", "axis_unit", "COLORS"]

COLORS = {"shop": "#2563eb", "prev": "#9ca3af", "peer_avg": "#f59e0b", "peer_excellent": "#10b981",
          "bad": "#ef4444", "good": "#22c55e"}
_FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"


# plotly.js's zh-CN locale (its lib/locales/zh-cn.js), passed with the figure: the toolbar's titles and
# the dates on axes speak Chinese without loading a locale script.
ZH_CN = {
    "moduleType": "locale", "name": "zh-CN",
    "dictionary": {
        "Autoscale": "自动缩放", "Box Select": "矩形框选择", "Click to enter Colorscale title": "点击输入色阶的标题",
        "Click to enter Component A title": "点击输入组件A的标题", "Click to enter Component B title": "点击输入组件B的标题",
        "Click to enter Component C title": "点击输入组件C的标题", "Click to enter Plot title": "点击输入图表的标题",
        "Click to enter X axis title": "点击输入X轴的标题", "Click to enter Y axis title": "点击输入Y轴的标题",
        "Compare data on hover": "悬停时比较数据", "Double-click on legend to isolate one trace": "双击图例来突显对应轨迹",
        "Double-click to zoom back out": "双击返回缩放", "Download plot as a PNG": "下载图片（PNG）",
        "Download plot as a png": "下载图片（PNG）", "Download plot": "下载图片", "Edit in Chart Studio": "在 Chart Studio 中编辑",
        "Lasso Select": "套索选择", "Orbital rotation": "轨道旋转", "Pan": "平移", "Produced with Plotly.js": "由 Plotly.js 生成",
        "Reset": "重置", "Reset axes": "重置轴", "Reset camera to default": "重置镜头视角为默认状态",
        "Reset camera to last save": "重置镜头视角为上次保存状态", "Reset view": "重置视图", "Reset views": "重置视图",
        "Show closest data on hover": "悬停时显示最近的数据", "Snapshot succeeded": "生成快照成功",
        "Sorry, there was a problem downloading your snapshot!": "抱歉，下载快照出现问题！",
        "Taking snapshot - this may take a few seconds": "正在生成快照 - 可能需要几秒钟",
        "Toggle Spike Lines": "启用/禁用尖峰线", "Toggle show closest data on hover": "启用/禁用悬停时显示最近的数据",
        "Turntable rotation": "轴向旋转", "Zoom": "缩放", "Zoom in": "放大", "Zoom out": "缩小",
        "close:": "关闭：", "high:": "最高：", "low:": "最低：", "max:": "最大值：", "mean:": "平均值：",
        "median:": "中位数：", "min:": "最小值：", "new text:": "新文本：", "open:": "开盘：", "trace": "轨迹",
    },
    "format": {
        "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        "months": ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
        "shortMonths": ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
        "date": "%Y-%m-%d", "decimal": ".", "thousands": ",",
    },
}


def png_config(filename: str) -> dict:
    """plotly's own PNG download (camera icon), saving under a meaningful name; the toolbar in Chinese,
    without the selection tools no chart here uses."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
            "modeBarButtonsToRemove": ["select2d", "lasso2d"], "locale": "zh-CN", "locales": {"zh-CN": ZH_CN}}


def axis_unit(metric: Metric) -> str:
    return {"percent": "%", "seconds": "秒", "yuan": "元", "ratio": "倍", "count": metric.unit or "个"}[metric.format]


def _figure(traces: list[dict], title: str, height: int = 360, xaxis: dict | None = None,
            yaxis: dict | None = None, **layout) -> go.Figure:
    """One figure from trace dicts and layout settings, with the house style."""
    base = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": _FONT, "size": 12}, "height": height, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        "hoverlabel": {"font": {"family": _FONT}}, "plot_bgcolor": "white",
        # automargin: tick labels and titles get the room they need, on the page and in a report
        "xaxis": {"showgrid": False, "linecolor": "#d1d5db", "automargin": True, **(xaxis or {})},
        "yaxis": {"gridcolor": "#f3f4f6", "zeroline": False, "automargin": True, **(yaxis or {})},
    }
    base.update(layout)
    return go.Figure(data=traces, layout=base, _validate=False)


def _metric_axis(metric: Metric, drawn=()) -> dict:
    """A line chart's value axis. A rate's axis spans the drawn values with some room (within 0–100 %), not
    0–100 % — where a trend between 90 % and 100 % would read as a flat line; its ticks say where it starts."""
    if metric.format == "percent":
        axis = {"tickformat": ".0%", "title": {"text": f"{metric.name}（%）"}}
        if drawn:
            low, high = min(drawn), max(drawn)
            pad = max(high - low, 0.02) * 0.25
            return {**axis, "range": [max(0.0, low - pad), min(1.0, high + pad)], "tickformat": ".1%"}
        return {**axis, "rangemode": "tozero"}
    return {"title": {"text": f"{metric.name}（{axis_unit(metric)}）"}, "rangemode": "tozero"}


def _fmt(metric: Metric, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format_value(metric, float(value))


_DAY_MS = 86_400_000


def _date_step(grain: str, buckets: int):
    """Tick spacing for ``buckets`` points: every bucket while that is 12 labels or fewer (a week shows its
    seven days), then wider steps of whole days, weeks or months that keep about ten labels."""
    if grain == "month":
        return "M1" if buckets <= 12 else f"M{-(-buckets // 10)}"
    unit = 7 if grain == "week" else 1
    if buckets <= 12:
        return _DAY_MS * unit
    step = -(-buckets // 10)
    if grain == "day" and step > 7:
        step = 7 * -(-step // 7)  # whole weeks past a week
    return _DAY_MS * unit * step


def trend_figure(metric: Metric, values: pd.Series, grain: str, peers: pd.DataFrame | None = None,
                 n: pd.Series | None = None, shop_label: str = "本店", pending=()) -> go.Figure:
    """The shop's values per bucket with the peer average and excellent lines (when known).

    Empty buckets stay gaps (never drawn as 0); hover shows formatted values and the sample n;
    ``pending`` buckets (FCR's 72-hour observation window) are shaded and labelled 待定.
    """
    x = [str(b) for b in values.index]  # ISO dates on a date axis
    hover_n = [f"n = {int(v):,}" if v == v and v is not None else "n = 0"
               for v in (n.reindex(values.index) if n is not None else [None] * len(values))]
    traces = [{
        "type": "scatter", "x": x, "y": values.astype(float).tolist(), "name": shop_label, "mode": "lines+markers",
        "line": {"color": COLORS["shop"], "width": 2.5}, "connectgaps": False,
        "customdata": [[_fmt(metric, v), h] for v, h in zip(values, hover_n)],
        "hovertemplate": "%{x}<br>" + shop_label + "：%{customdata[0]}（%{customdata[1]}）<extra></extra>"}]
    if peers is not None:
        for col, label, dash in (("peer_avg", "同行平均", "dash"), ("peer_excellent", "同行优秀", "dot")):
            series = peers[col].reindex(values.index)
            if series.notna().any():
                traces.append({
                    "type": "scatter", "x": x, "y": series.astype(float).tolist(), "name": label, "mode": "lines",
                    "line": {"color": COLORS[col], "dash": dash, "width": 1.8}, "connectgaps": False,
                    "customdata": [[_fmt(metric, v)] for v in series],
                    "hovertemplate": "%{x}<br>" + label + "：%{customdata[0]}<extra></extra>"})
    pending = [str(b) for b in pending if str(b) in x]
    shapes, notes = [], []
    if pending:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": pending[0], "x1": pending[-1], "y0": 0,
                       "y1": 1, "fillcolor": "#fde68a", "opacity": 0.35, "line": {"width": 0}, "layer": "below"})
        notes.append({"x": pending[0], "y": 1, "xref": "x", "yref": "paper", "text": "观察期·待定",
                      "showarrow": False, "xanchor": "left", "yanchor": "bottom"})
    half = pd.Timedelta(hours={"day": 12, "week": 84, "month": 360}[grain])  # the end points' markers fit
    span_range = [str(pd.Timestamp(values.index[0]) - half), str(pd.Timestamp(values.index[-1]) + half)] if x else None
    xaxis = {"title": {"text": {"day": "日期", "week": "周（周一）", "month": "月份"}[grain]}, "type": "date",
             **({"range": span_range} if span_range else {}),
             "tickformat": {"day": "%m-%d", "week": "%m-%d", "month": "%Y-%m"}[grain], "hoverformat": "%Y-%m-%d",
             "dtick": _date_step(grain, len(x))}
    span = f"{x[0]} ~ {values.index[-1]}" if x else ""
    title = f"{metric.name}趋势 · {GRAIN_LABELS[grain]}（{span}）"
    drawn = [v for t in traces for v in t["y"] if v is not None and v == v]
    return _figure(traces, title, xaxis=xaxis, yaxis=_metric_axis(metric, drawn), shapes=shapes, annotations=notes)


def rating_mix_figure(mix: pd.DataFrame) -> go.Figure:
    """Share of each rating level, this vs previous period; hover adds counts, Δ and share of Δ满意率."""
    mix = mix.sort_values("rating")
    labels = [f"{r}分 {lab}" for r, lab in zip(mix["rating"], mix["label"])]

    def pct(v):
        return "—" if v != v else f"{v * 100:.1f}%"

    def pts(v):
        return "—" if v != v else f"{v * 100:+.2f}个百分点"

    custom = [[int(c), int(pc), pct(s), pct(ps), pts(d), pct(sc)]
              for c, pc, s, ps, d, sc in zip(mix["count"], mix["prev_count"], mix["share"], mix["prev_share"],
                                             mix["contribution"], mix["share_of_change"])]
    hover = ("%{y}<br>本期：%{customdata[2]}（%{customdata[0]} 个）<br>上期：%{customdata[3]}（%{customdata[1]} 个）"
             "<br>对满意率变化的贡献：%{customdata[4]}<br>占满意率变化：%{customdata[5]}<extra></extra>")
    traces = [
        {"type": "bar", "y": labels, "x": mix["prev_share"].astype(float).tolist(), "name": "上期", "orientation": "h",
         "marker": {"color": COLORS["prev"]}, "customdata": custom, "hovertemplate": hover, "offsetgroup": "prev"},
    ]
    # 本期 as two traces in one slot (offsetgroup): 1–3 分 red, 4–5 分 blue — each legend entry the colour of
    # its bars (one trace of two colours shows a legend swatch that matches neither)
    for name, bad, color in (("本期 1–3 分", True, COLORS["bad"]), ("本期 4–5 分", False, COLORS["shop"])):
        keep = [(r <= 3) == bad for r in mix["rating"]]
        traces.append({"type": "bar", "y": labels, "x": [v if k else None for v, k in zip(mix["share"].astype(float), keep)],
                       "name": name, "orientation": "h", "marker": {"color": color}, "offsetgroup": "now",
                       "customdata": custom, "hovertemplate": hover,
                       "text": [pct(v) if k else "" for v, k in zip(mix["share"], keep)],
                       "textposition": "outside", "cliponaxis": False})
    widest = pd.concat([mix["share"], mix["prev_share"]]).astype(float).max()
    widest = widest if widest == widest and widest > 0 else 1.0
    # room past the longest bar for its label ("50.0%"), which plotly would otherwise cut at the axis
    return _figure(traces, "评分构成 · 本期 vs 上期（占已评分会话）", barmode="group",
                   xaxis={"tickformat": ".0%", "title": {"text": "占比（%）"}, "range": [0, widest * 1.2]},
                   yaxis={"title": {"text": ""}, "autorange": "reversed"})  # the labels say 1分…5分


def tag_top_figure(tags: pd.DataFrame) -> go.Figure:
    """Evaluation-tag TOP10: count this vs previous period, largest on top."""
    tags = tags.sort_values("count", ascending=True)

    def rel(v, real):
        return "—（上期为 0）" if v != v else f"{v * 100:+.1f}%（{verdict_text(real)}）"

    reals = tags["change_count_real"] if "change_count_real" in tags else [None] * len(tags)
    custom = [[int(c), int(p), rel(ch, real), "—" if s != s else f"{s * 100:.1f}%"]
              for c, p, ch, real, s in zip(tags["count"], tags["prev_count"], tags["change_count"], reals,
                                           tags["share_bad"])]
    hover = ("%{y}<br>本期：%{customdata[0]} 次<br>上期：%{customdata[1]} 次<br>环比：%{customdata[2]}"
             "<br>占 1–3 分会话：%{customdata[3]}<extra></extra>")
    traces = [
        {"type": "bar", "y": [plot_text(t) for t in tags["tag"]], "x": tags["prev_count"].tolist(), "name": "上期", "orientation": "h",
         "marker": {"color": COLORS["prev"]}, "customdata": custom, "hovertemplate": hover},
        {"type": "bar", "y": [plot_text(t) for t in tags["tag"]], "x": tags["count"].tolist(), "name": "本期", "orientation": "h",
         "marker": {"color": COLORS["bad"]}, "customdata": custom, "hovertemplate": hover,
         "text": tags["count"].tolist(), "textposition": "outside", "cliponaxis": False},
    ]
    return _figure(traces, "评价标签 TOP10 · 本期 vs 上期", height=max(320, 36 * len(tags) + 110), barmode="group",
                   xaxis={"title": {"text": "出现次数（次）"}, "tickformat": ",d", "range": [0, max(_most(tags), 1) * 1.15],
                          # counts: whole ticks (a max of 3 would otherwise tick every 0.5)
                          **({"dtick": 1} if _most(tags) <= 10 else {})},
                   yaxis={"title": {"text": ""}})


def _most(tags: pd.DataFrame) -> float:
    values = pd.concat([tags["count"], tags["prev_count"]]).dropna()
    return float(values.max()) if len(values) else 0.0


def split_figure(metric: Metric, frame: pd.DataFrame) -> go.Figure:
    """A metric split by 人工/机器人 (x) and 全部/售前/售后 (colour); ``frame``: channel, stage, value, n.

    Unavailable cells are left out of the bars and named in the hover of their group.
    """
    colors = {"全部": COLORS["shop"], "售前": "#60a5fa", "售后": "#f97316"}
    traces = []
    for stage, part in frame.groupby("stage", sort=False):
        traces.append({
            "type": "bar", "x": part["channel"].tolist(), "y": part["value"].astype(float).tolist(), "name": stage,
            "marker": {"color": colors.get(stage)},
            "text": [f"{_fmt(metric, v)}<br>n={int(n):,}" if v == v else "不可用" for v, n in zip(part["value"], part["n"])],
            "textposition": "outside",
            "customdata": [[_fmt(metric, v), int(n)] for v, n in zip(part["value"], part["n"])],
            "hovertemplate": "%{x} · " + stage + "<br>" + metric.name + "：%{customdata[0]}<br>n = %{customdata[1]}<extra></extra>"})
    yaxis = _metric_axis(metric)
    if metric.format == "percent":
        yaxis["range"] = [0, 1.15]
    return _figure(traces, f"{metric.name} · 按人工/机器人与售前/售后拆分", barmode="group", yaxis=yaxis,
                   xaxis={"title": {"text": "接待方式"}})


def funnel_figure(inquiries: float, ordered: float, paid: float) -> go.Figure:
    """询单 → 下单 → 付款 (buyer-days), with the conversion at each step."""
    trace = {"type": "funnel", "y": ["询单人数", "下单人数", "付款人数"], "x": [inquiries, ordered, paid],
             "texttemplate": "%{value:,} 人<br>占询单 %{percentInitial:.1%}", "textposition": "inside",
             "marker": {"color": [COLORS["shop"], "#60a5fa", COLORS["good"]]},
             "hovertemplate": "%{y}：%{x:,} 人<br>占询单：%{percentInitial:.1%}<br>占上一步：%{percentPrevious:.1%}<extra></extra>"}
    return _figure([trace], "询单转化漏斗（人，按买家·日计）", height=320)


def sales_split_figure(agent_sales: float, silent_sales: float) -> go.Figure:
    """客服销售额 vs 静默销售额 as shares of 店铺销售额."""
    trace = {"type": "pie", "labels": ["客服销售额", "静默销售额"], "values": [agent_sales, silent_sales], "hole": 0.55,
             "sort": False, "marker": {"colors": [COLORS["shop"], COLORS["prev"]]}, "textinfo": "label+percent",
             "hovertemplate": "%{label}：¥%{value:,.2f}<br>占店铺销售额：%{percent}<extra></extra>"}
    return _figure([trace], "客服销售额与静默销售额（元）", height=320, showlegend=False)


def distribution_figure(metric: Metric, frame: pd.DataFrame, label_col: str, title: str,
                        n_col: str | None = None) -> go.Figure:
    """One bar per row (e.g. per agent), sorted, with the value in the hover. With ``n_col`` (the units behind
    a rate) the ranking carries the cards' rules: each bar says its n, a rate has its 95% interval as an error
    bar, and a bar on fewer than SMALL_SAMPLE units is pale — 25% on 4 ratings is not the worst agent."""
    frame = frame.dropna(subset=[metric.key]).sort_values(metric.key, ascending=metric.direction != "down")
    values = frame[metric.key].astype(float)
    trace = {"type": "bar", "x": values.tolist(), "y": [plot_text(v) for v in frame[label_col]],
             "orientation": "h", "marker": {"color": COLORS["shop"]},
             "customdata": [[_fmt(metric, v)] for v in frame[metric.key]],
             "hovertemplate": "%{y}：%{customdata[0]}<extra></extra>"}
    if n_col is not None and n_col in frame:
        sizes = frame[n_col].fillna(0).astype(float)
        small = sizes < SMALL_SAMPLE
        trace["marker"] = {"color": [COLORS["prev"] if s else COLORS["shop"] for s in small]}
        trace["text"] = [f"{_fmt(metric, v)}（n={n:,.0f}）" for v, n in zip(values, sizes)]
        trace["textposition"] = "outside"
        trace["cliponaxis"] = False
        trace["customdata"] = [[t] for t in trace["text"]]
        if metric.is_rate:
            bounds = [wilson(round(v * n), n) or (v, v) for v, n in zip(values, sizes)]
            trace["error_x"] = {"type": "data", "array": [hi - v for (_, hi), v in zip(bounds, values)],
                                "arrayminus": [v - lo for (lo, _), v in zip(bounds, values)],
                                "color": "#475569", "thickness": 1.2, "width": 3}
        if small.any():
            title = f"{title}（浅色：样本少于 {SMALL_SAMPLE}，谨慎解读{'；横线为 95% 区间' if metric.is_rate else ''}）"
    xaxis = ({"tickformat": ".0%", "title": {"text": f"{metric.name}（%）"}} if metric.format == "percent"
             else {"title": {"text": f"{metric.name}（{axis_unit(metric)}）"}})
    room = {"margin": {"l": 10, "r": 120, "t": 60, "b": 40}} if "text" in trace else {}  # for "25.00%（n=4）"
    return _figure([trace], title, height=max(300, 26 * len(frame) + 100), xaxis=xaxis, **room)


def scenario_share_figure(frame: pd.DataFrame) -> go.Figure:
    """Level-1 scenarios of the invited sessions (邀评会话, the registry's word: 评价会话 are the rated ones):
    count bars with their share; ``frame``: name, evaluated, share."""
    from insight.metrics.registry import registry

    invited = registry()["invited_sessions"].name  # 邀评会话数
    frame = frame.sort_values("evaluated", ascending=True)
    trace = {"type": "bar", "x": frame["evaluated"].tolist(), "y": frame["name"].tolist(), "orientation": "h",
             "marker": {"color": COLORS["shop"]},
             "text": [f"{int(n):,}（{s * 100:.1f}%）" for n, s in zip(frame["evaluated"], frame["share"])],
             "textposition": "outside", "cliponaxis": False, "customdata": [[f"{s * 100:.1f}%"] for s in frame["share"]],
             "hovertemplate": f"%{{y}}<br>{invited}：%{{x:,}} 个<br>占比：%{{customdata[0]}}<extra></extra>"}
    return _figure([trace], f"{invited.removesuffix('数')}的一级咨询场景分布（个）", height=max(300, 44 * len(frame) + 100),
                   xaxis={"title": {"text": f"{invited}（个）"}, "rangemode": "tozero"},
                   margin={"l": 10, "r": 110, "t": 50, "b": 10})  # room for "25（32.9%）" past the longest bar


def worst_scenarios_figure(frame: pd.DataFrame) -> go.Figure:
    """The scenarios most likely to satisfy worst (``scenarios.store.worst_scenarios``), in their
    ranking order (first at the top): each scenario's own 满意率 with its 95 % interval and n, the
    unsatisfied ratings beyond what the shop's rate predicts, the shop's overall rate and the peer
    average."""
    frame = frame.iloc[::-1]  # plotly draws the first category at the bottom
    names = [plot_text(n) for n in frame["name"]]
    traces = [{
        "type": "bar", "x": frame["rate"].tolist(), "y": names, "orientation": "h",
        "name": "满意率（本期实际）", "marker": {"color": COLORS["bad"]},
        "error_x": {"type": "data", "symmetric": False, "color": "#7f1d1d", "thickness": 1.5,
                    "array": (frame["rate_hi"] - frame["rate"]).tolist(),
                    "arrayminus": (frame["rate"] - frame["rate_lo"]).tolist()},
        "customdata": [[int(b), int(n), lo, hi, est] for b, n, lo, hi, est in
                       zip(frame["bad"], frame["sat_n"], frame["rate_lo"], frame["rate_hi"], frame["estimate"])],
        "hovertemplate": ("%{y}<br>满意率：%{x:.1%}（95% 区间 %{customdata[2]:.1%}–%{customdata[3]:.1%}）"
                          "<br>%{customdata[0]} 条不满意 / 已评分 %{customdata[1]}"
                          "<br>按样本量校正的估计：%{customdata[4]:.1%}<extra></extra>")}]
    if frame["peer_sat_avg"].notna().any():
        traces.append({
            "type": "scatter", "x": frame["peer_sat_avg"].tolist(), "y": names, "mode": "markers",
            "name": "同行平均",
            "marker": {"symbol": "line-ns-open", "size": 18, "color": COLORS["peer_avg"], "line": {"width": 3}},
            "hovertemplate": "%{y}<br>同行平均满意率：%{x:.1%}<extra></extra>"})
    fig = _figure(traces, "最可能满意率最低的三级场景 TOP10（满意率，%；横线为 95% 区间）",
                  height=max(320, 44 * len(frame) + 130),
                  xaxis={"tickformat": ".0%", "title": {"text": "满意率（%）"}, "range": [0, 1.0]},
                  yaxis={"automargin": True}, margin={"l": 10, "r": 300, "t": 70, "b": 80},  # room for the labels
                  # the top is the shop's line; at the bottom of the figure (not of the plot, which varies with
                  # the rows), under the axis title, never over it
                  legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left",
                          "x": 0})
    # the numbers in a column of their own right of the plot: never over a bar or its interval
    for name, r, b, n, e in zip(names, frame["rate"], frame["bad"], frame["sat_n"], frame["excess_bad"]):
        fig.add_annotation(x=1.01, xref="paper", y=name, yref="y", xanchor="left", showarrow=False,
                           text=f"{r * 100:.0f}%（{b}/{int(n)} 条不满意，比预期多 {e:.1f} 条）", font={"size": 11})
    if len(frame):  # what every scenario is compared with
        prior = float(frame["prior"].iloc[0])
        fig.add_vline(x=prior, line_dash="dash", line_color=COLORS["shop"],
                      annotation_text=f"本店整体 {prior * 100:.1f}%", annotation_position="top")
    return fig


# 店铺总览's heat map: a cell's colour is where the shop stands against its peer group.
_STATUS_SCORE = {"below": 0, "near": 1, "level": 1, "between": 1, "excellent": 2}
_STATUS_COLORS = [[0.0, "#fca5a5"], [0.33, "#fca5a5"], [0.34, "#fde68a"], [0.66, "#fde68a"], [0.67, "#86efac"],
                  [1.0, "#86efac"]]


def overview_heatmap(frame: pd.DataFrame, metrics: list[Metric], shop_labels: dict[str, str]) -> go.Figure:
    """Shops × metrics: red below the peer average, amber between average and excellent, green at
    excellent; grey (empty) where there is no value or no peer benchmark. Each cell shows the value;
    the hover adds the previous period, the peers and n. ``frame``: shops_overview's rows."""
    shops = list(dict.fromkeys(frame["shop_id"]))
    by = frame.set_index(["shop_id", "metric"])
    z, text, hover = [], [], []
    for shop in shops:
        z_row, t_row, h_row = [], [], []
        for m in metrics:
            r = by.loc[(shop, m.key)] if (shop, m.key) in by.index else None
            status = None if r is None else r["status"]
            z_row.append(_STATUS_SCORE.get(status) if status in _STATUS_SCORE else None)
            value = None if r is None else r["value"]
            t_row.append(_fmt(m, value))
            if r is None or value is None:
                h_row.append(f"{plot_text(shop_labels.get(shop, shop))}<br>{m.name}：无法计算"
                             + (f"（{plot_text(r['reason'])}）" if r is not None and r["reason"] else ""))
                continue
            if m.direction == "none":
                peers = "没有好坏方向，不设同行基准"
            elif r["peer_avg"] is not None and r["peer_avg"] == r["peer_avg"]:
                peers = f"同行平均 {_fmt(m, r['peer_avg'])} · 优秀 {_fmt(m, r['peer_excellent'])}"
            else:
                peers = "同行不足 5 家，没有基准"
            n = f" · n = {int(r['n']):,}" if r["n"] is not None and r["n"] == r["n"] else ""
            h_row.append(f"{plot_text(shop_labels.get(shop, shop))}<br>{m.name}：{_fmt(m, value)}{n}"
                         f"<br>上期 {_fmt(m, r['previous'])}<br>{peers}")
        z.append(z_row)
        text.append(t_row)
        hover.append(h_row)
    def wrapped(name: str) -> str:  # long metric names on two lines, so that columns stay narrow
        return name if len(name) <= 5 else f"{name[:len(name) // 2]}<br>{name[len(name) // 2:]}"

    colors = _STATUS_COLORS
    if all(v is None for row in z for v in row):
        # Plotly draws nothing, not even the values, when every cell is empty (no peer group has 5 shops):
        # the cells are shown grey, as the title's 空白 says, with their values.
        z, colors = [[0] * len(metrics) for _ in shops], [[0.0, "#eef0f3"], [1.0, "#eef0f3"]]
    trace = {"type": "heatmap", "z": z, "x": [wrapped(f"{m.name}{m.arrow}") for m in metrics],
             "y": [plot_text(shop_labels.get(s, s)) for s in shops], "text": text, "texttemplate": "%{text}",
             "customdata": hover, "hovertemplate": "%{customdata}<extra></extra>", "zmin": 0, "zmax": 2,
             "colorscale": colors, "showscale": False, "xgap": 2, "ygap": 2}
    return _figure([trace], "店铺 × 指标：相对同行的位置（红 差于同行平均 · 黄 优于平均或与平均相当 · 绿 达到优秀 · 空白 无值或同行不足）",
                   height=max(320, 34 * len(shops) + 140),
                   xaxis={"side": "top", "tickangle": 0, "showline": False},
                   yaxis={"autorange": "reversed", "gridcolor": "white"}, plot_bgcolor="#f9fafb",
                   margin={"l": 10, "r": 10, "t": 110, "b": 10})


def arrivals_figure(frame: pd.DataFrame) -> go.Figure:
    """New sessions per 5 minutes today, with the same 5 minutes a week earlier; ``frame``: bucket,
    arrivals, last_week (missing where the data does not cover last week: no line, and the title says
    so)."""
    covered = frame["last_week"].notna().any()
    traces = [
        {"type": "bar", "x": frame["bucket"].tolist(), "y": frame["arrivals"].tolist(), "name": "今天",
         "marker": {"color": COLORS["shop"]}, "hovertemplate": "%{x|%H:%M} 今天 %{y} 个会话<extra></extra>"},
        {"type": "scatter", "mode": "lines", "x": frame["bucket"].tolist(), "y": frame["last_week"].tolist(),
         "name": "上周同一天", "line": {"color": COLORS["prev"], "dash": "dot"},
         "hovertemplate": "%{x|%H:%M} 上周同一天 %{y} 个会话<extra></extra>"},
    ][:2 if covered else 1]
    title = "每 5 分钟新进会话（个）" + ("" if covered else "（数据未覆盖上周同一天，无对比线）")
    return _figure(traces, title, height=300, xaxis={"tickformat": "%H:%M", "title": {"text": "时间"}},
                   yaxis={"title": {"text": "会话数（个）"}, "rangemode": "tozero"})


def ranking_figure(frame: pd.DataFrame, value: str, label: str, title: str, unit: str, dark: bool = False,
                   top: int = 10) -> go.Figure:
    """The top agents by ``value`` as large horizontal bars (the big screen's ranking)."""
    frame = frame.dropna(subset=[value]).sort_values(value, ascending=False).head(top).iloc[::-1]
    color, font = ("#e5e7eb", 22) if dark else ("#111827", 14)
    trace = {"type": "bar", "orientation": "h", "x": frame[value].astype(float).tolist(),
             "y": [plot_text(v) for v in frame[label]], "marker": {"color": "#38bdf8" if dark else COLORS["shop"]},
             "text": [f"{v:,.0f}" for v in frame[value]], "textposition": "outside",
             "textfont": {"size": font, "color": color}, "hovertemplate": f"%{{y}}：%{{x:,}} {unit}<extra></extra>"}
    fig = _figure([trace], title, height=max(300, (62 if dark else 30) * len(frame) + 110),
                  xaxis={"title": {"text": unit}, "showgrid": False, "visible": not dark},
                  yaxis={"tickfont": {"size": font, "color": color}, "gridcolor": "rgba(0,0,0,0)"})
    if dark:
        fig.update_layout(paper_bgcolor="#0b1220", plot_bgcolor="#0b1220",
                          title={"font": {"size": 26, "color": color}}, margin={"l": 10, "r": 60, "t": 60, "b": 10})
    return fig
