"""服务洞察 · Service Insight — entry point: builds the navigation only."""

import streamlit as st

st.set_page_config(page_title="服务洞察", page_icon="📊", layout="wide")

pages = {
    "": [st.Page("pages/home.py", title="首页", icon=":material/home:", default=True)],
    "分析": [
        st.Page("pages/satisfaction.py", title="满意度监测", icon=":material/sentiment_satisfied:"),
        st.Page("pages/capability.py", title="服务能力诊断", icon=":material/speed:"),
        st.Page("pages/agents.py", title="客服绩效", icon=":material/groups:"),
        st.Page("pages/agent.py", title="客服个人", icon=":material/person:"),
        st.Page("pages/scenarios.py", title="咨询场景洞察", icon=":material/forum:"),
    ],
    "数据": [st.Page("pages/data.py", title="数据管理", icon=":material/database:")],
}
st.navigation(pages).run()
