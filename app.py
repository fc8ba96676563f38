"""服务洞察 · Service Insight — entry point: builds the navigation only."""

import streamlit as st

st.set_page_config(page_title="服务洞察", page_icon="📊", layout="wide")

pages = [
    st.Page("pages/home.py", title="首页", icon="🏠", default=True),
]
st.navigation(pages).run()
