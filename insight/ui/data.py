"""Cached access to the store for the pages.

One read-write DuckDB database per process (``st.cache_resource``): the data page imports
through it, so the app never locks itself out. Reads go through one cursor guarded by a lock
(DuckDB connections are not shared between threads; every browser session is a thread).
Cached results are keyed by the store path and its data version, so an import or a settings
change is visible at once, and a filter change only reads the parts.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from insight.analyses import tables as analyses
from insight.core.settings import SalesSettings
from insight.core.filters import Filters
from insight.metrics.engine import MetricEngine
from insight.core.periods import Period
from insight.core.schema import TABLES
from insight.store import Store, default_db_path

__all__ = ["store_path", "open_store", "reader", "Reader", "shops", "overview", "report", "trend", "peer_trend",
           "split", "rating_mix", "tag_top", "agent_table", "evaluated_sessions", "transcript", "imports_history",
           "clear_caches", "scenario_model", "scenario_status", "scenario_table", "scenario_chats"]


def store_path() -> str:
    return str(default_db_path())


@st.cache_resource(show_spinner=False)
def _database(path: str) -> Store:
    return Store(path)


def open_store(create: bool = False) -> Store | None:
    """The process's store (None when there is no store file yet and ``create`` is False)."""
    path = store_path()
    if not create and not default_db_path().exists():
        return None
    return _database(path)


@dataclass
class Reader:
    store: Store
    engine: MetricEngine
    lock: threading.Lock
    version: str


@st.cache_resource(show_spinner=False, max_entries=4)
def _reader(path: str, version: str) -> Reader:
    cursor = _database(path).cursor()
    return Reader(cursor, MetricEngine(cursor), threading.Lock(), version)


@st.cache_resource(show_spinner=False)
def _version_cursor(path: str) -> Store:
    return _database(path).cursor()


_version_lock = threading.Lock()


def reader() -> Reader | None:
    """A reader for the store's current data version (None when there is no store)."""
    if open_store() is None:
        return None
    with _version_lock:  # one small query per page run, on a cursor of its own
        version = _version_cursor(store_path()).data_version()
    return _reader(store_path(), version)


def clear_caches() -> None:
    """After an import or a settings change through the app."""
    st.cache_data.clear()


def _with(path: str, version: str):
    rd = _reader(path, version)
    return rd, rd.lock


# -- loaders: plain functions of (path, version, arguments), cached ---------------------------
@st.cache_data(show_spinner=False, max_entries=64)
def shops(path: str, version: str) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        frame = rd.store.shops()
        spans = rd.store.con.execute(
            "SELECT shop_id, CAST(data_start AS DATE) AS data_start, CAST(data_end AS DATE) AS data_end "
            "FROM f_shop_span").df()
    out = frame.merge(spans, on="shop_id", how="left")
    for col in ("data_start", "data_end"):  # plain dates: periods and widgets compare them with dates
        out[col] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in out[col]]
    return out


@st.cache_data(show_spinner=False, max_entries=8)
def overview(path: str, version: str) -> dict | None:
    rd, lock = _with(path, version)
    with lock:
        store = rd.store
        if not store.has_rows("shops"):
            return None
        counts = pd.DataFrame([{"表": name, "说明": TABLES[name].label, "行数": store.row_count(name)}
                               for name in TABLES])
        start, end = store.data_range()
        per_shop = store.con.execute(
            """SELECT s.shop_id AS 店铺ID, s.shop_name AS 店铺名称, s.platform AS 平台, s.category AS 类目, s.tier AS 层级,
                      CAST(f.data_start AS DATE) AS 数据开始, CAST(f.data_end AS DATE) AS 数据结束,
                      (SELECT count(*) FROM f_sessions x WHERE x.shop_id = s.shop_id) AS 会话数,
                      EXISTS (SELECT 1 FROM sessions y WHERE y.shop_id = s.shop_id) AS 有会话表
               FROM shops s LEFT JOIN f_shop_span f USING (shop_id) ORDER BY s.shop_id""").df()
        for col in ("数据开始", "数据结束"):
            per_shop[col] = per_shop[col].dt.date
        return {
            "shops": store.row_count("shops"),
            "sessions": store.row_count("f_sessions"),
            "messages": store.row_count("messages"),
            "start": start, "end": end,
            "days": (end - start).days + 1 if start else 0,
            "tables": counts,
            "per_shop": per_shop,
            "present": sorted(store.present_tables()),
        }


@st.cache_data(show_spinner=False, max_entries=256)
def report(path: str, version: str, shop_id: str, period: Period, filters: Filters,
           settings: SalesSettings = SalesSettings()) -> dict:
    rd, lock = _with(path, version)
    with lock:
        return rd.engine.report(shop_id, period, filters, settings)


@st.cache_data(show_spinner=False, max_entries=128)
def trend(path: str, version: str, shop_id: str, grain: str, end: dt.date, filters: Filters,
          settings: SalesSettings = SalesSettings()):
    """(values, reasons, n) per bucket for every metric."""
    rd, lock = _with(path, version)
    with lock:
        return rd.engine.trend(shop_id, grain, end, filters, settings, with_n=True)


@st.cache_data(show_spinner=False, max_entries=128)
def peer_trend(path: str, version: str, shop_id: str, grain: str, end: dt.date, keys: tuple[str, ...],
               filters: Filters) -> dict:
    rd, lock = _with(path, version)
    with lock:
        return rd.engine.peer_trend(shop_id, grain, end, list(keys), filters)


@st.cache_data(show_spinner=False, max_entries=64)
def split(path: str, version: str, shop_id: str, period: Period, hours: str, key: str) -> pd.DataFrame:
    """``key`` by 人工/机器人 × 全部/售前/售后: channel, stage, value, n, reason."""
    rd, lock = _with(path, version)
    with lock:
        return rd.engine.split(shop_id, period, key, hours)


@st.cache_data(show_spinner=False, max_entries=64)
def rating_mix(path: str, version: str, shop_id: str, period: Period, filters: Filters) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        return analyses.rating_mix(rd.engine, shop_id, period, filters)


@st.cache_data(show_spinner=False, max_entries=64)
def tag_top(path: str, version: str, shop_id: str, period: Period, filters: Filters) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        return analyses.tag_top(rd.engine, shop_id, period, filters)


@st.cache_data(show_spinner=False, max_entries=64)
def agent_table(path: str, version: str, shop_id: str, period: Period, filters: Filters,
                settings: SalesSettings = SalesSettings()) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        return analyses.agent_table(rd.engine, shop_id, period, filters, settings)


@st.cache_data(show_spinner=False, max_entries=64)
def evaluated_sessions(path: str, version: str, shop_id: str, period: Period, filters: Filters,
                       ratings: tuple[int, ...] | None = None, limit: int = 500) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        return analyses.evaluated_sessions(rd.store.con, shop_id, period, filters, ratings, limit)


@st.cache_data(show_spinner=False, max_entries=64)
def transcript(path: str, version: str, session_id: str, shop_id: str) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        return analyses.transcript(rd.store.con, session_id, shop_id)


@st.cache_data(show_spinner=False, max_entries=8)
def imports_history(path: str, version: str) -> pd.DataFrame:
    rd, lock = _with(path, version)
    with lock:
        return rd.store.con.execute(
            "SELECT import_id AS 批次, started_at AS 开始时间, finished_at AS 完成时间, files AS 文件, "
            "summary AS 摘要 FROM imports ORDER BY import_id DESC LIMIT 50").df()


# -- 咨询场景 ------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="正在加载咨询场景模型…")
def scenario_model():
    from insight.scenarios.model import load_model

    return load_model()


@st.cache_data(show_spinner=False, max_entries=16)
def scenario_status(path: str, version: str) -> dict:
    rd, lock = _with(path, version)
    with lock:
        row = rd.store.con.execute(
            "SELECT count(*), count(DISTINCT model_version), max(model_version) FROM session_scenarios").fetchone()
        sessions = rd.store.row_count("f_sessions")
        corrections = rd.store.row_count("scenario_corrections")
        versions = [r[0] for r in rd.store.con.execute(
            "SELECT DISTINCT model_version FROM session_scenarios").fetchall()]
    return {"classified": int(row[0]), "sessions": sessions, "versions": versions, "corrections": corrections}


@st.cache_data(show_spinner=False, max_entries=64)
def scenario_table(path: str, version: str, shop_id: str, period: Period, filters: Filters, level: int) -> pd.DataFrame:
    from insight.scenarios.store import scenario_table as table
    from insight.scenarios.model import taxonomy

    rd, lock = _with(path, version)
    with lock:
        return table(rd.store.con, shop_id, rd.engine.peer_shops(shop_id), period, filters, level, taxonomy())


@st.cache_data(show_spinner=False, max_entries=64)
def scenario_chats(path: str, version: str, shop_id: str, period: Period, filters: Filters, prefix: str,
                   limit: int = 50) -> pd.DataFrame:
    from insight.scenarios.store import scenario_chats as chats

    rd, lock = _with(path, version)
    with lock:
        return chats(rd.store.con, shop_id, period, filters, prefix, limit)
