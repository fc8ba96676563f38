"""Cached loaders for the pages. Cache keys include the store path, so switching
``INSIGHT_DB`` (tests, several stores) never serves another store's data."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ..schema import TABLES
from ..store import Store, default_db_path

__all__ = ["get_store", "load_overview", "store_path"]


def store_path() -> str:
    return str(default_db_path())


@st.cache_resource
def _open_store(path: str) -> Store:
    return Store(path, read_only=True)


def get_store() -> Store | None:
    path = store_path()
    if not default_db_path().exists():
        return None
    return _open_store(path)


@st.cache_data(ttl=60)
def _overview(path: str) -> dict | None:
    store = _open_store(path)
    if not store.has_rows("shops"):
        return None
    counts = pd.DataFrame(
        [{"表": name, "说明": TABLES[name].label, "行数": store.row_count(name)} for name in TABLES])
    start, end = store.data_range()
    return {
        "shops": store.row_count("shops"),
        "sessions": store.row_count("f_sessions"),
        "messages": store.row_count("messages"),
        "span": f"{start} ~ {end}" if start else "—",
        "days": (end - start).days + 1 if start else 0,
        "tables": counts,
    }


def load_overview() -> dict | None:
    if get_store() is None:
        return None
    return _overview(store_path())
