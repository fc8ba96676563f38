"""Deep links on a fresh server.

Streamlit still treats a ``pages/`` folder next to the entry script as a v1 multipage app
until the first run of the entry script calls ``st.navigation``; a shared link such as
``/satisfaction?shop=…`` opened first would then run the page alone, without our navigation
and page config. Every page calls ``require_navigation()`` first: it switches Streamlit to
``st.navigation`` mode and reruns, which runs ``app.py`` with the same page and URL.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

__all__ = ["require_navigation"]


def require_navigation() -> None:
    # Once per browser session at most: a rerun drops a button's click, and Streamlit's test
    # harness re-enables the old mode on every run.
    if PagesManager.uses_pages_directory and not st.session_state.get("_navigation_checked"):
        st.session_state["_navigation_checked"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()
