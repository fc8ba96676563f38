"""首页: what is in the store, where to start, and what each page answers."""

import streamlit as st

from insight.present.exports import HtmlReport
from insight.ui import auth, data, widgets
from insight.ui.boot import require_navigation

require_navigation()
st.title("服务洞察 · Service Insight")
st.caption("跨平台客服数据分析：满意度监测 · 服务能力诊断 · 客服绩效。所有口径公开、可配置，见 docs/metrics.md。")

rd = widgets.guarded_store(data.reader)
info = data.overview(data.store_path(), rd.version) if rd else None

if info is None:
    st.info("还没有数据。第一次使用：到 **数据管理** 上传店铺导出的文件（聊天记录、评价、订单…），"
            "或一键载入演示数据先看看效果。", icon=":material/waving_hand:")
    if "pages/data.py" in auth.allowed_pages(auth.run_viewer()):
        st.page_link("pages/data.py", label="前往数据管理", icon=":material/database:")
else:
    cols = st.columns(4)
    cols[0].metric("店铺数", f"{info['shops']:,}")
    cols[1].metric("会话数", f"{info['sessions']:,}")
    cols[2].metric("消息数", f"{info['messages']:,}")
    cols[3].metric("覆盖天数", f"{info['days']:,}")
    st.caption(f"数据覆盖 {info['start']} ~ {info['end']}（店铺当地日期）· 左侧选择店铺和周期，各页面共用；"
               "地址栏保存了当前筛选，复制链接即可分享同一视图。")

st.subheader("从哪里开始")
GUIDE = [
    ("pages/satisfaction.py", "满意度监测", ":material/sentiment_satisfied:",
     "买家满意吗？满意率、非常满意率、不满意率、参评率的环比与同行对比；评分构成的变化来自哪一档；"
     "差评标签 TOP10；点开每一条评价看完整聊天。"),
    ("pages/capability.py", "服务能力诊断", ":material/speed:",
     "服务能力在同行中处于什么位置？贴心服务、服务保障、快捷简单三组指标，逐项标出达到同行优秀 / 优于同行平均 / 与平均相当 / 差于同行平均（时长越短越好，比率按方向），差距不显著时不下结论。"),
    ("pages/agents.py", "客服绩效", ":material/groups:",
     "谁接待得多、回得快、评价好、卖得多？客服明细可排序，询单→下单→付款漏斗，询单口径可实时调整。"),
    ("pages/agent.py", "客服个人", ":material/person:", "单个客服对比全店、指标趋势、评分最低的会话。"),
    ("pages/scenarios.py", "咨询场景洞察", ":material/forum:",
     "买家在问什么、哪类问题最不满意？一级场景分布、满意率最差的场景 TOP10、1–3 级场景对比同行，"
     "点开原声看触发场景的句子，判错了可以纠正。"),
    ("pages/data.py", "数据管理", ":material/database:",
     "上传 CSV / Excel / Parquet，列名不同可逐列映射并保存方案；查看导入报告与被拒绝的行；载入演示数据。"),
]
allowed = auth.allowed_pages(auth.run_viewer())
for path, title, icon, text in GUIDE:
    if path not in allowed:
        continue
    with st.container(border=True):
        st.page_link(path, label=f"**{title}**", icon=icon)
        st.caption(text)

if info is not None:
    report = HtmlReport("服务洞察 · 数据概览", f"数据覆盖 {info['start']} ~ {info['end']}")
    widgets.report_download(report, "服务洞察_数据概览")
    with st.expander("数据库各表行数"):
        widgets.table(info["tables"], "各表行数", key="home_tables", report=report)
