"""Cached loaders for the pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ..schema import TABLES
from ..store import Store, default_db_path

__all__ = ["get_store", "load_overview"]


@st.cache_resource
def get_store(path: str | None = None) -> Store | None:
    db = default_db_path(path)
    if not db.exists():
        return None
    return Store(db, read_only=True)


@st.cache_data(ttl=60)
def load_overview() -> dict | None:
    store = get_store()
    if store is None or not store.has_rows("shops"):
        return None
    counts = pd.DataFrame(
        [{"表": name, "说明": TABLES[name].label, "行数": store.row_count(name)} for name in TABLES])
    start, end = store.data_range()
    return {
        "shops": store.row_count("shops"),
        "sessions": store.row_count("f_sessions"),
        "messages": store.row_count("messages"),
        "span": f"{start} ~ {end}" if start else "—",
        "tables": counts,
    }
