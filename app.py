"""服务洞察 · Service Insight — entry point: who is asking, then the navigation their role allows."""

import streamlit as st

from insight.ui import auth, widgets

st.set_page_config(page_title="服务洞察", page_icon="📊", layout="wide")
widgets.house_style()
widgets.forget_export_about()  # the page sets its own (state.page_view)
viewer = auth.start_run()  # from the request's signed session cookie; stops with a sign-in link if none
allowed = auth.allowed_pages(viewer)

SECTIONS = {
    "": [("pages/home.py", "首页", ":material/home:")],
    "分析": [
        ("pages/live.py", "实时监控", ":material/monitor_heart:"),
        ("pages/bigscreen.py", "大屏", ":material/tv:"),
        ("pages/overview.py", "店铺总览", ":material/grid_view:"),
        ("pages/satisfaction.py", "满意度监测", ":material/sentiment_satisfied:"),
        ("pages/capability.py", "服务能力诊断", ":material/speed:"),
        ("pages/agents.py", "客服绩效", ":material/groups:"),
        ("pages/agent.py", "客服个人", ":material/person:"),
        ("pages/scenarios.py", "咨询场景洞察", ":material/forum:"),
    ],
    "数据": [("pages/data.py", "数据管理", ":material/database:"),
           ("pages/accounts.py", "账号与审计", ":material/admin_panel_settings:")],
}
# A page this viewer may not open stays at its address, hidden, and says 无权查看 (not Streamlit's English
# "Page not found" over the home page).
pages = {section: [st.Page(path, title=title, icon=icon, default=path == "pages/home.py") if path in allowed
                   else st.Page(auth.refused_page(title), title=title, url_path=path.removeprefix("pages/")[:-3],
                                visibility="hidden")
                   for path, title, icon in group]
         for section, group in SECTIONS.items()}
# A section with nothing to show is left out of the menu; its hidden pages go with the first section.
shown = {section: group for section, group in pages.items() if any(p.visibility == "visible" for p in group)}
shown[""] += [p for section, group in pages.items() if section not in shown for p in group]
auth.account_box(viewer)
st.navigation(shown).run()
