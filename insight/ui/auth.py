"""The viewer of a page run, from the request (the signed session cookie the sign-in page set),
never from a widget; the account box in the sidebar."""

from __future__ import annotations

import streamlit as st

from insight import accounts, web
from insight.core.access import LOCAL, ROLE_LABELS, Viewer
from insight.core.errors import AuthError, InsightError
from insight.present.formatting import markdown_text
from insight.store import default_db_path

__all__ = ["current_viewer", "start_run", "run_viewer", "account_box", "refuse", "allowed_pages", "record",
           "with_accounts"]

ANALYSIS_PAGES = ("pages/satisfaction.py", "pages/capability.py", "pages/agents.py", "pages/agent.py",
                  "pages/scenarios.py")

# Tests only: AppTest runs the pages in the test's process without the server in front, so a test
# sets the viewer here (monkeypatch). Nothing a request carries can reach it.
_viewer_for_tests: Viewer | None = None
_LOCAL_ONLY = "尚未创建账号，仅本机可以访问"


def allowed_pages(viewer: Viewer) -> set[str]:
    """The pages of the navigation for ``viewer``: a 客服 has their own page; the data page is the
    admin's and an import-granted supervisor's (for their shops); accounts and the audit log the admin's."""
    pages = {"pages/home.py", "pages/live.py"}  # (an agent's monitor shows their own row)
    if viewer.role != "agent":
        pages.add("pages/bigscreen.py")
    pages |= {"pages/agent.py"} if viewer.role == "agent" else {*ANALYSIS_PAGES, "pages/overview.py"}
    if viewer.may_import:  # a supervisor granted imports, for their shops
        pages.add("pages/data.py")
    if viewer.is_admin:
        pages.add("pages/accounts.py")
    return pages


def refused_page(title: str):
    """The page in place of one the viewer's role does not open: its title, 无权查看 and the way home."""
    def page():
        st.title(title)
        viewer = run_viewer()
        st.error(f"无权查看：{viewer.name or '当前账号'}（{ROLE_LABELS.get(viewer.role, viewer.role)}）不能打开「{title}」。"
                 "需要时请管理员调整账号的角色或授权。", icon=":material/block:")
        st.page_link("pages/home.py", label="返回首页", icon=":material/home:")
    return page


def refuse(message: str) -> None:
    """无权查看: the message, nothing of what was asked, and the page stops."""
    st.error(f"无权查看：{message}", icon=":material/block:")
    st.stop()


def current_viewer() -> Viewer:
    if _viewer_for_tests is not None:
        return _viewer_for_tests
    # The server refuses other machines while there is no account; a page served some other way (a
    # bare `streamlit run`) checks again. No address: the page runs in-process (AppTest).
    ip = st.context.ip_address
    local = not isinstance(ip, str) or web.local_request(ip, {k.lower(): v for k, v in st.context.headers.items()})
    if not default_db_path().exists():  # no store, so no account yet (and none is created here)
        return LOCAL if local else refuse(_LOCAL_ONLY)
    try:
        return web.identify(_store_path(), local=local, cookie=st.context.cookies.get(accounts.COOKIE_NAME))
    except web.LocalOnly:
        refuse(_LOCAL_ONLY)
    except AuthError as exc:
        st.error(f"{exc}。请[重新登录](/auth/login)。", icon=":material/lock:")
        st.stop()


def start_run() -> Viewer:
    """The entry script's first step on every run: who is asking, kept for this run's loaders."""
    viewer = current_viewer()
    st.session_state["_viewer"] = viewer
    return viewer


def run_viewer() -> Viewer:
    """The viewer ``start_run`` found for this run (computed again if a page runs without it)."""
    viewer = st.session_state.get("_viewer")
    return viewer if isinstance(viewer, Viewer) and _viewer_for_tests is None else current_viewer()


def account_box(viewer: Viewer) -> None:
    """Who is signed in, sign-out and password change; a note while there is no account yet."""
    side = st.sidebar
    if viewer is LOCAL:
        side.caption("尚未创建账号：仅本机可访问，视为管理员。创建管理员："
                     "`python -m insight users add 名字 --role admin`")
        return
    scope = "全部店铺" if viewer.shops is None else f"{len(viewer.shops)} 个店铺"
    side.caption(f"当前账号 **{markdown_text(viewer.name)}** · {ROLE_LABELS[viewer.role]} · {scope}")
    cols = side.columns(2)
    cols[0].link_button("退出登录", "/auth/logout", width="stretch")
    with cols[1].popover("修改密码", width="stretch"):
        with st.form("password_change", clear_on_submit=True):
            old = st.text_input("当前密码", type="password")
            new = st.text_input("新密码", type="password", help=f"至少 {accounts.MIN_PASSWORD} 个字符")
            again = st.text_input("再输入一次", type="password")
            if st.form_submit_button("修改"):
                if new != again:
                    st.error("两次输入的新密码不一致")
                    return
                shared = web.shared_store(_store_path())
                try:
                    with shared.lock:
                        accounts.set_password(shared.con, viewer.name, new, old_password=old, by=viewer.name)
                except InsightError as exc:
                    st.error(str(exc))
                else:
                    st.success("密码已修改，请重新登录")
                    st.link_button("重新登录", "/auth/login")


def record(who: str, action: str, target: str = "", detail: str = "") -> None:
    """An audit-log entry for something done through the pages (exports, corrections, presets, models).
    ``who`` is taken when the page is drawn: a download's data is built later, outside the page run."""
    if default_db_path().exists():
        with_accounts(accounts.audit, who, action, target, detail)


def with_accounts(fn, *args, **kwargs):
    """``fn(con, *args, **kwargs)`` — an ``insight.accounts`` function — on the process's shared store."""
    shared = web.shared_store(_store_path())
    with shared.lock:
        return fn(shared.con, *args, **kwargs)


def _store_path() -> str:
    """The store this app serves (``data.store_path`` reads the same; auth sits below data)."""
    return str(default_db_path())
