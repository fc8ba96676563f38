"""咨询场景洞察: what buyers who rated the service asked about, which scenarios satisfy worst,
and the chats behind them with the sentences that decided the scenario."""

import json

import pandas as pd
import streamlit as st

from insight.analyses.tables import RATING_LABELS
from insight.core.errors import UsageError
from insight.metrics.registry import registry
from insight.present import charts
from insight.present.exports import HtmlReport
from insight.present.formatting import markdown_text as md
from insight.present.formatting import verdict_text
from insight.scenarios.model import taxonomy
from insight.scenarios.store import scenario_tree, stale_notice, worst_scenarios
from insight.ui import data, state, widgets

view = state.page_view("咨询场景洞察")

tax = taxonomy()
# What this page counts: the sessions invited to rate (the registry's 邀评会话数; 评价会话 are the rated ones).
INVITED = registry()["invited_sessions"].name
try:
    model = data.scenario_model()
except UsageError as exc:
    widgets.empty_state(f"还没有可用的咨询场景模型：{md(exc)}",
                        "点击下方按钮准备模型（随附的模型几秒就绪；语料更新后重新训练约 1 分钟，固定随机种子，可复现），"
                        "或在命令行运行 python -m insight train。")
    if st.button("训练场景模型", type="primary", key="train_model", icon=":material/model_training:"):
        with st.spinner("正在训练咨询场景模型…"):
            data.train_scenario_model()
        st.rerun()
    st.stop()
status = data.scenario_status(view.path, view.version, model.version)


def _classify_all(label: str) -> None:
    bar = st.progress(0.0, text=label)
    data.reclassify_all(model, progress=lambda done, total: bar.progress(done / max(total, 1),
                                                                         text=f"{label} {done:,}/{total:,}"))
    st.rerun()


if status["classified"] == 0 and data.parts_source() is not None:
    widgets.empty_state("此服务读取部件目录（build-parts 的汇总），其中没有聊天记录，无法判定咨询场景。",
                        "咨询场景洞察需要聊天原文：请在导入了聊天记录的数据库上查看（不带 --parts 启动服务）。")
    st.stop()
running = widgets.classification_banner()
if status["classified"] == 0 and running:
    st.stop()
if status["classified"] == 0:
    widgets.empty_state("这个数据库的会话还没有判定咨询场景。", "点击下方按钮，用当前模型判定全部会话（约 1,000 个/秒）。")
    if st.button("判定咨询场景", type="primary", key="classify_all"):
        _classify_all("正在判定咨询场景…")
    st.stop()
notice = stale_notice(status, model.label)
if not running and notice:
    c1, c2 = st.columns([4, 1])
    c1.info(notice, icon=":material/update:")
    if c2.button("用当前模型重新判定", key="reclassify"):
        _classify_all("正在重新判定…")

report = HtmlReport("咨询场景洞察", f"{view.shop_label} · {view.period.label} · {view.filter_label}")
widgets.report_download(report, f"咨询场景洞察_{view.file_stem}")
st.caption(f"{md(view.shop_label)} · 本期 {view.period.label} · 上期 {view.period.previous().label} · {view.filter_label} · "
           f"统计对象：本期邀评的会话（按邀评时间）；场景由 {model.label} 的模型判定，人工纠正优先 · "
           f"{widgets.peer_definition('该场景')}")

# -- level-1 distribution ----------------------------------------------------------------------
level1 = data.scenario_table(view.path, view.version, view.shop_id, view.period, view.filters, 1)
if level1.empty:
    widgets.empty_state(f"本期没有{INVITED.removesuffix('数')}。", "换一个更长的周期，或检查是否导入了 evaluations 表。")
    st.stop()
left, right = st.columns([3, 2])
with left:
    report.heading("一级场景分布")
    widgets.chart(charts.scenario_share_figure(level1), f"一级场景分布_{view.file_stem}", report, key="l1_chart")
with right:
    st.markdown("**一级场景 · 邀评量与满意率**")
    shown = pd.DataFrame({"场景": level1["name"], INVITED: level1["evaluated"], "占比": level1["share"],
                          "满意率": level1["satisfaction"], "已评分": level1["rated"]})
    widgets.table(shown, f"一级场景_{view.file_stem}", key="l1_table", report=report, column_config={
        "已评分": st.column_config.NumberColumn(format="%d", help="满意率的样本量：已评分的会话数"),
        "占比": st.column_config.NumberColumn(format="percent"),
        "满意率": st.column_config.NumberColumn(format="percent")})

# -- worst scenarios ---------------------------------------------------------------------------
st.subheader("满意率最低的场景 TOP10")
level3 = data.scenario_table(view.path, view.version, view.shop_id, view.period, view.filters, 3)
worst = worst_scenarios(level3)
if worst.empty:
    if (level3["sat_n"] > 0).any():
        widgets.empty_state("本期已评分的会话全部满意，没有可排名的场景。", "换一个更长的周期，或看下方的场景明细。")
    else:
        widgets.empty_state("本期没有已评分的会话。", "换一个更长的周期，或检查是否导入了 evaluations 表。")
else:
    report.heading("满意率最低的场景 TOP10")
    widgets.chart(charts.worst_scenarios_figure(worst), f"最差场景TOP10_{view.file_stem}", report, key="worst_chart")
    st.caption("排名依据：按样本量校正后的满意率估计（经验贝叶斯：各场景的满意率向本店整体满意率收缩，已评分会话越少收缩越多；"
               "数据少时估计都接近整体，排名即按“比整体预期多出的不满意条数”）。只有至少 1 条不满意评价的场景参与排名；"
               "图中为各场景本期的实际满意率，横线为 95% 区间。点选下表一行，下方“查看原声”即打开该场景。")
    ranking = pd.DataFrame({
        "排名": range(1, len(worst) + 1), "场景": [n.split(" / ")[-1] for n in worst["name"]],
        "实际满意率（95% 区间）": [f"{r * 100:.1f}%（{lo * 100:.0f}%–{hi * 100:.0f}%）"
                           for r, lo, hi in zip(worst["rate"], worst["rate_lo"], worst["rate_hi"])],
        "不满意 / 已评分": [f"{b} / {int(n)}" for b, n in zip(worst["bad"], worst["sat_n"])],
        "比预期多的不满意": [f"{e:+.1f}" for e in worst["excess_bad"]],
        "校正后估计": [f"{e * 100:.1f}%" for e in worst["estimate"]]})
    picked = st.dataframe(ranking, hide_index=True, placeholder="—", on_select="rerun", selection_mode="single-row", key="worst_pick")
    rows = picked.selection.rows if picked is not None else []
    if rows and st.session_state.get("_worst_picked") != worst["key"].iloc[rows[0]]:
        st.session_state["_worst_picked"] = st.session_state["drill"] = worst["key"].iloc[rows[0]]

# -- level 1–3 table -----------------------------------------------------------------------------
st.subheader("场景明细 · 对比同行")
depth = st.radio("展开到", [1, 2, 3], index=1, format_func=lambda d: f"{d} 级场景", horizontal=True, key="depth")
frames = [data.scenario_table(view.path, view.version, view.shop_id, view.period, view.filters, lvl)
          for lvl in range(1, depth + 1)]
tree = scenario_tree(frames)
shop_report = data.report(view.path, view.version, view.shop_id, view.period, view.filters)
if shop_report["change_reason"]:  # the same rule as every page: no 环比 against a period covered in part
    tree["change"] = float("nan")
    widgets.change_notice(shop_report)
detail = pd.DataFrame({
    "场景": ["　" * (lvl - 1) + name.split(" / ")[-1] for lvl, name in zip(tree["level"], tree["name"])],
    "级别": tree["level"], "代码": tree["key"], INVITED: tree["evaluated"], "邀评占比": tree["share"],
    "同行平均占比": tree["peer_share_avg"], "同行优秀占比": tree["peer_share_excellent"],
    "满意率": tree["satisfaction"], "满意率环比(百分点)": tree["change"] * 100,
    "环比判断": [verdict_text(None if c != c else r) for c, r in zip(tree["change"], tree["change_real"])],
    "同行平均满意率": tree["peer_sat_avg"], "同行优秀满意率": tree["peer_sat_excellent"], "已评分（样本量）": tree["rated"],
})
pct = st.column_config.NumberColumn(format="percent")
# the code is for a spreadsheet (matching across exports), not for reading: in the download only
widgets.table(detail.drop(columns=["代码"]), f"场景明细_{view.file_stem}", key="tree_table", report=report, height=420,
              export=detail, column_config={
    "邀评占比": pct, "同行平均占比": pct, "同行优秀占比": pct, "满意率": pct, "同行平均满意率": pct, "同行优秀满意率": pct,
    "满意率环比(百分点)": st.column_config.NumberColumn(format="%+.2f")})
st.caption("同行列为空：同层同行中有该场景评价的店铺不足 5 家。")

# -- drill-down ----------------------------------------------------------------------------------
st.subheader("查看原声")
# the ranking's scenarios first (in its order), then the rest by rated volume
keys = list(worst["key"]) + [k for k in level3.sort_values(["rated", "key"], ascending=[False, True])["key"]
                             if k not in set(worst["key"])]
by_key = level3.set_index("key")
if st.session_state.get("drill") not in keys:
    st.session_state["drill"] = keys[0]
pick = st.selectbox("场景", keys, key="drill",
                    format_func=lambda k: f"{by_key.loc[k, 'name']}（已评分 {int(by_key.loc[k, 'rated'])}）")
chats = data.scenario_chats(view.path, view.version, view.shop_id, view.period, view.filters, pick)
rated = int(by_key.loc[pick, "rated"])
shown_note = f"显示评分最低的 {len(chats)} 个，共 {rated} 个" if len(chats) == 50 and rated > 50 else f"共 {len(chats)} 个"
st.caption(f"该场景已评分的会话，评分从低到高（{shown_note}）。黄色底色为触发该场景的买家语句，加粗为权重最高的词。")
code_labels = {c: " / ".join(tax.levels(c)) for c in tax.codes}
# Ten chats at a time: each holds a transcript and a 纠正 picker of every code, and fifty of them took the
# page's first open past two seconds.
PER_PAGE = 10
if len(chats) > PER_PAGE:
    starts = list(range(0, len(chats), PER_PAGE))
    start = st.segmented_control("显示", starts, default=0, key=f"chat_page_{pick}",
                                 format_func=lambda i: f"第 {i + 1}–{min(len(chats), i + PER_PAGE)} 个") or 0
else:
    start = 0
for row in chats.iloc[start:start + PER_PAGE].itertuples():
    label = (f"{row.rating}分 {RATING_LABELS.get(row.rating, '')} · {md(row.session_id)} · "
             f"{md(row.agent_name) if isinstance(row.agent_name, str) else '机器人/未分配'}"
             + (" · 已纠正" if row.corrected else f" · 置信度 {row.confidence:.2f}"))
    with st.expander(label):
        triggers = {t["index"]: t for t in json.loads(row.triggers or "[]")}
        for t in triggers.values():  # stored without their words: explained for the chats shown
            if not t.get("tokens"):
                t["tokens"] = [{"token": w, "weight": v} for w, v in model.explain(t["text"], row.model_code)]
        widgets.transcript_view(data.transcript(view.path, view.version, row.session_id, view.shop_id), triggers)
        if isinstance(row.tags, str) or isinstance(row.comment, str):
            st.caption(f"评价标签：{md(row.tags) if isinstance(row.tags, str) else '—'} · "
                       f"评价内容：{md(row.comment) if isinstance(row.comment, str) else '—'}")
        c1, c2 = st.columns([3, 1])
        new_code = c1.selectbox("纠正场景", tax.codes, index=tax.codes.index(row.code), format_func=code_labels.get,
                                key=f"fix_{row.session_id}")
        if c2.button("保存纠正", key=f"save_{row.session_id}", disabled=new_code == row.code):
            data.save_correction(view.shop_id, row.session_id, new_code, tax)
            st.toast("已保存。统计立即按新场景计算；下次训练（python -m insight train --db …）会学习这条纠正。")
            st.rerun()
if status["corrections"]:
    st.caption(f"已保存 {status['corrections']} 条人工纠正，运行 python -m insight train --db {md(view.path)} 让模型学习它们。")
