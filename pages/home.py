"""首页: what is in the store and where to start."""

import streamlit as st

from insight.errors import StoreError
from insight.ui.data import load_overview

st.title("服务洞察 · Service Insight")
st.caption("跨平台客服数据分析：满意度监测、服务能力诊断、咨询场景洞察")

try:
    overview = load_overview()
except StoreError as exc:
    st.error(str(exc))
    st.stop()
if overview is None:
    st.info("还没有数据。请在终端运行 `make run`（会自动生成并导入演示数据），"
            "或用 `python -m insight import 数据目录` 导入店铺导出的数据。")
    st.stop()

cols = st.columns(4)
cols[0].metric("店铺数", f"{overview['shops']:,}")
cols[1].metric("会话数", f"{overview['sessions']:,}")
cols[2].metric("消息数", f"{overview['messages']:,}")
cols[3].metric("覆盖天数", f"{overview['days']:,}")
st.caption(f"数据覆盖 {overview['span']}（店铺当地日期）")
st.subheader("各表行数")
st.dataframe(overview["tables"], hide_index=True, width="stretch")
