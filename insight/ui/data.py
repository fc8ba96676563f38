"""Cached access to the store for the pages.

One read-write DuckDB database per process (``st.cache_resource``): the data page imports
through it, so the app never locks itself out. Reads go through one cursor guarded by a lock
(DuckDB connections are not shared between threads; every browser session is a thread).
Cached results are keyed by the store path and its data version, so an import or a settings
change is visible at once, and a filter change only reads the parts.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from insight.analyses import platform as platform_analyses
from insight.analyses import tables as analyses
from insight.core.access import Viewer
from insight.core.filters import Filters
from insight.core.periods import Period
from insight.core.settings import SalesSettings
from insight.derive import settle_pending
from insight.metrics.engine import MetricEngine
from insight.store import Store, default_db_path, open_served

__all__ = ["store_path", "open_store", "parts_source", "reader", "Reader", "shops", "overview", "report", "trend", "peer_trend",
           "split", "weekly", "weekly_pdf", "shops_overview", "live_snapshot", "so_far", "live_alerts", "rating_mix", "tag_top", "agent_table", "platform_beside_ours", "platform_agent_table", "sales_funnel", "evaluated_agents", "evaluated_sessions", "transcript", "imports_history",
           "clear_caches", "classify_in_background", "classification_progress", "pause_background_classification", "scenario_model", "train_scenario_model", "reclassify_all", "save_correction", "mapping_presets", "start_mapping", "save_mapping_preset", "preset_for_headers", "preset_roles", "detect_report", "save_report_definition", "held_without_chats", "scenario_status", "scenario_table", "scenario_chats"]


def store_path() -> str:
    return str(default_db_path())


@st.cache_resource(show_spinner=False)
def _database(path: str) -> Store:
    store = open_served(path)
    settle_pending(store)  # what opening recorded (rows moved out of the time window, a migration)
    return store


def parts_source() -> dict | None:
    """The manifest of the parts folder the app reads (``serve --parts``), else None (also while another
    program holds the store: the page says that itself)."""
    if os.environ.get("INSIGHT_PARTS") is None:
        return None
    store = open_store()
    return store.parts_manifest if store is not None else None


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


def _loader(max_entries: int):
    """``fn(reader, viewer, *args)`` → a cached ``loader(path, version, *args)``: keyed by the store
    path, its data version (an import shows at once) and the run's viewer (``auth.run_viewer``: a
    page cannot ask for anything but its viewer's scope, and one viewer's results never serve
    another), run under the reader's lock (one cursor per process)."""
    def wrap(fn):
        @functools.wraps(fn)  # the cache is keyed by the function's name: one cache per loader
        def run(path: str, version: str, viewer: Viewer, *args, **kwargs):
            rd = _reader(path, version)
            with rd.lock:
                return fn(rd, viewer, *args, **kwargs)
        cached = st.cache_data(show_spinner=False, max_entries=max_entries)(run)

        @functools.wraps(fn)
        def call(path: str, version: str, *args, viewer: Viewer | None = None, **kwargs):
            """``viewer``: the page run's viewer, for work done after the run (a download built when
            clicked has no page run to ask); otherwise this run's."""
            from insight.ui.auth import run_viewer

            return cached(path, version, viewer if viewer is not None else run_viewer(), *args, **kwargs)
        return call
    return wrap


# -- loaders: functions of (path, version, arguments), cached ------------------------------------
@_loader(64)
def shops(rd: Reader, viewer: Viewer) -> pd.DataFrame:
    return rd.store.shops_with_span(viewer=viewer)


@_loader(8)
def overview(rd: Reader, viewer: Viewer) -> dict | None:
    return analyses.store_overview(rd.store, viewer=viewer)


@_loader(256)
def report(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters, settings: SalesSettings = SalesSettings()) -> dict:
    return rd.engine.scoped(viewer).report(shop_id, period, filters, settings)


@_loader(128)
def trend(rd: Reader, viewer: Viewer, shop_id: str, grain: str, end: dt.date, filters: Filters,
          settings: SalesSettings = SalesSettings(), start: dt.date | None = None):
    """(values, reasons, n) per bucket for every metric."""
    return rd.engine.scoped(viewer).trend(shop_id, grain, end, filters, settings, with_n=True, start=start)


@_loader(128)
def peer_trend(rd: Reader, viewer: Viewer, shop_id: str, grain: str, end: dt.date, keys: tuple[str, ...],
               filters: Filters, start: dt.date | None = None) -> dict:
    return rd.engine.scoped(viewer).peer_trend(shop_id, grain, end, list(keys), filters, start=start)


@_loader(64)
def split(rd: Reader, viewer: Viewer, shop_id: str, period: Period, hours: str, key: str) -> pd.DataFrame:
    """``key`` by 人工/机器人 × 全部/售前/售后: channel, stage, value, n, reason."""
    return rd.engine.scoped(viewer).split(shop_id, period, key, hours)


def live_snapshot(shop_id: str) -> dict:
    """实时监控's snapshot, fresh on every call (never cached: the monitor refreshes itself)."""
    from insight.analyses.live import live_snapshot as snapshot
    from insight.ui.auth import run_viewer

    rd = reader()
    with rd.lock:
        return snapshot(rd.engine, shop_id, viewer=run_viewer())


@st.cache_data(show_spinner=False, max_entries=64, ttl=dt.timedelta(minutes=10))
def _known_at(path: str, viewer: Viewer, shop_id: str, cutoff: dt.datetime) -> dict:
    from insight.analyses.live import known_at

    rd = reader()
    with rd.lock:
        return known_at(rd.engine.scoped(viewer), shop_id, cutoff)


def so_far(shop_id: str, as_of: dt.datetime) -> pd.DataFrame:
    """今日至此 against yesterday and last week until the same time. Today's figures are read fresh;
    the earlier days' are derived again from their rows, cached per minute of the cutoff (their rows
    do not move while today's do): at most two derivations a minute however often the monitor
    refreshes."""
    from insight.analyses.live import COMPARED_DAYS
    from insight.analyses.live import so_far as compare
    from insight.ui.auth import run_viewer

    viewer = run_viewer()
    earlier = {}
    for back in COMPARED_DAYS.values():
        cutoff = as_of - dt.timedelta(days=back)
        earlier[cutoff] = _known_at(store_path(), viewer, shop_id, cutoff.replace(second=0, microsecond=0))
    rd = reader()
    with rd.lock:
        return compare(rd.engine, shop_id, as_of, viewer=viewer, known=lambda _engine, _shop, cutoff: earlier[cutoff])


def live_alerts(shop_id: str, snapshot: dict) -> list:
    """The alerts the shop's rule raises on ``snapshot`` (shown on the monitor; sending is the server's)."""
    from insight.analyses.alerts import evaluate, rule_for

    rd = reader()
    with rd.lock:
        return evaluate(rd.store.con, snapshot, rule_for(rd.store.con, shop_id))


@_loader(32)
def shops_overview(rd: Reader, viewer: Viewer, kind: str, filters: Filters) -> pd.DataFrame:
    """Each shop over the preset ``kind`` up to its own last data day (自然周/月: its last complete one)."""
    import datetime as dt

    from insight.analyses.overview import shops_overview as overview
    from insight.core.periods import complete_anchor, preset

    return overview(rd.engine.scoped(viewer), lambda end: preset(kind, complete_anchor(kind, dt.date.min, end)),
                    filters)


@_loader(8)
def weekly(rd: Reader, viewer: Viewer, shop_id: str, period: Period, figure_width: int | None = None) -> str:
    """The 周报 as HTML (the viewer's scope, as on every page); ``figure_width`` for printing."""
    from insight.analyses.weekly import weekly_report

    return weekly_report(rd.engine, shop_id, period, viewer=viewer).render(figure_width)


def weekly_pdf(path: str, version: str, shop_id: str, period: Period, *, viewer: Viewer) -> bytes:
    """The 周报 printed, kept per data version and viewer: a second click (or a colleague's with the same
    scope) prints nothing again, and one print runs at a time (``html_to_pdf``)."""
    return _weekly_pdf(path, version, viewer, shop_id, period)


@st.cache_data(show_spinner=False, max_entries=8)
def _weekly_pdf(path: str, version: str, viewer: Viewer, shop_id: str, period: Period) -> bytes:
    from insight.present.pdf import PRINT_WIDTH_PX, html_to_pdf

    # printed outside the reader's lock (the HTML's loader took it): Chromium takes seconds
    return html_to_pdf(weekly(path, version, shop_id, period, PRINT_WIDTH_PX, viewer=viewer))


@_loader(64)
def rating_mix(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters) -> pd.DataFrame:
    return analyses.rating_mix(rd.engine.scoped(viewer), shop_id, period, filters)


@_loader(64)
def tag_top(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters) -> pd.DataFrame:
    return analyses.tag_top(rd.engine.scoped(viewer), shop_id, period, filters)


@_loader(64)
def agent_table(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters,
                settings: SalesSettings = SalesSettings()) -> pd.DataFrame:
    return analyses.agent_table(rd.engine.scoped(viewer), shop_id, period, filters, settings)


@_loader(64)
def platform_beside_ours(rd: Reader, viewer: Viewer, shop_id: str, period: Period, agents: pd.DataFrame) -> pd.DataFrame:
    return platform_analyses.platform_beside_ours(rd.store.con, shop_id, period, agents, viewer=viewer)


@_loader(32)
def platform_agent_table(rd: Reader, viewer: Viewer, period: Period) -> tuple[pd.DataFrame, dict, dict]:
    return platform_analyses.platform_agent_table(rd.store.con, period, viewer=viewer)


@_loader(64)
def sales_funnel(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters,
                 settings: SalesSettings = SalesSettings()) -> tuple[float, float, float] | None:
    return analyses.sales_funnel(rd.engine.scoped(viewer), shop_id, period, filters, settings)


@_loader(64)
def evaluated_agents(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters) -> dict[str, str]:
    return analyses.evaluated_agents(rd.store.con, shop_id, period, filters, viewer=viewer)


@_loader(64)
def evaluated_sessions(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters,
                       ratings: tuple[int, ...] | None = None, limit: int = 500) -> pd.DataFrame:
    return analyses.evaluated_sessions(rd.store.con, shop_id, period, filters, ratings, limit, viewer=viewer)


@_loader(64)
def transcript(rd: Reader, viewer: Viewer, session_id: str, shop_id: str) -> pd.DataFrame:
    return analyses.transcript(rd.store.con, session_id, shop_id, viewer=viewer)


@_loader(8)
def imports_history(rd: Reader, viewer: Viewer) -> tuple[pd.DataFrame, dict]:
    """(file imports, live event batches summed) — the 主账号's record: a batch spans shops."""
    history, events = rd.store.import_history()
    return (history, events) if viewer.is_admin else (history.iloc[0:0], {"batches": 0, "latest": None})


# -- 咨询场景 ------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="正在加载咨询场景模型…")
def scenario_model():
    """The saved model; never trained on a page render (UsageError when there is none)."""
    from insight.scenarios.model import load_model

    return load_model(train_if_missing=False)


def train_scenario_model() -> None:
    """The page's explicit training action (the CLI's `train`)."""
    from insight.scenarios.model import train
    from insight.ui.auth import record, run_viewer

    viewer = run_viewer()
    viewer.require_admin("训练场景模型")
    model = train()
    record(viewer.name, "model", "scenarios", f"训练 {getattr(model, 'version', '')}")
    scenario_model.clear()


def _on_cursor(work):
    """Run ``work(con)`` on a cursor of the app's store that is closed afterwards."""
    cursor = open_store(create=True).cursor()
    try:
        return work(cursor.con)
    finally:
        cursor.close()


def _writing(work):
    """``_on_cursor`` for writes the cached figures depend on: the caches follow."""
    try:
        return _on_cursor(work)
    finally:
        clear_caches()


@dataclass
class _Classifying:
    """The process's background classification: one thread at a time, progress for the pages."""

    lock: threading.Lock
    thread: threading.Thread | None = None
    done: int = 0
    total: int = 0
    error: str | None = None
    again: bool = False
    stop: bool = False


class _Stopped(Exception):
    """Raised inside the classification to end it early (the batch in hand is not written)."""


@st.cache_resource(show_spinner=False)
def _classifying(path: str) -> _Classifying:
    return _Classifying(threading.Lock())


def classify_in_background() -> None:
    """Classify the sessions that have no scenario yet on a thread of its own, after an import: every
    other page works meanwhile; the scenario page shows the progress (场景识别中…)."""
    store = open_store(create=True)
    job = _classifying(store_path())
    with job.lock:
        if job.thread is not None and job.thread.is_alive():
            job.again = True  # another import landed meanwhile: one more pass when this one ends
            return
        job.done, job.total, job.error, job.again, job.stop = 0, 0, None, False, False
        job.thread = threading.Thread(target=_classify_job, args=(store, job), daemon=True,
                                      name="insight-classify")
        job.thread.start()


def _classify_job(store: Store, job: _Classifying) -> None:
    from insight.scenarios.model import load_model
    from insight.scenarios.store import classify_pending

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
        if job.stop:
            raise _Stopped

    while True:
        cursor = store.cursor()
        try:
            classify_pending(cursor, load_model(), progress=progress)
        except _Stopped:
            return
        except Exception as exc:  # shown on the page; the imported data is committed already
            job.error = f"{type(exc).__name__}: {str(exc)[:200]}"
        finally:
            cursor.close()
        with job.lock:
            if not job.again:
                release_memory()
                return
            job.again = False


def release_memory() -> None:
    """Give the memory a large job freed back to the system (glibc keeps freed pages of its heaps for
    reuse; a server that imported and classified 400 MB of chats would otherwise keep them)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def pause_background_classification(timeout: float = 60.0) -> None:
    """Stop a running classification before an import writes (two writers on one table would
    conflict); the import starts it again afterwards, and it resumes where the store says."""
    job = _classifying(store_path())
    thread = job.thread
    if thread is None or not thread.is_alive():
        return
    job.stop = True
    try:
        thread.join(timeout)
    finally:
        job.stop = False


def classification_progress() -> dict:
    """{running, done, total, error} of the background classification of this store."""
    job = _classifying(store_path())
    running = job.thread is not None and job.thread.is_alive()
    return {"running": running, "done": job.done, "total": job.total, "error": job.error}


def reclassify_all(model, progress) -> None:
    from insight.scenarios.store import reclassify

    _writing(lambda con: reclassify(con, model, progress=progress))


def save_correction(shop_id: str, session_id: str, code: str, taxonomy) -> None:
    from insight.accounts import audit
    from insight.scenarios.store import correct
    from insight.ui.auth import run_viewer

    viewer = run_viewer()
    viewer.require_shop(shop_id)

    def save(con):
        correct(con, shop_id, session_id, code, taxonomy)
        # the scenario as the page names it, its code after it (a spreadsheet matches on the code)
        audit(con, viewer.name, "correction", f"{shop_id}/{session_id}", f"{' / '.join(taxonomy.levels(code))}（{code}）")
    _writing(save)


@_loader(16)
def scenario_status(rd: Reader, viewer: Viewer, model_version: str) -> dict:
    from insight.scenarios.store import scenario_status as status

    return status(rd.store.con, model_version)


@_loader(64)
def scenario_table(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters, level: int) -> pd.DataFrame:
    from insight.scenarios.model import taxonomy
    from insight.scenarios.store import scenario_table as table

    return table(rd.store.con, shop_id, rd.engine.scoped(viewer).benchmark_shops(shop_id), period, filters, level, taxonomy(),
                 viewer=viewer)


@_loader(64)
def scenario_chats(rd: Reader, viewer: Viewer, shop_id: str, period: Period, filters: Filters, prefix: str,
                   limit: int = 50) -> pd.DataFrame:
    from insight.scenarios.store import scenario_chats as chats

    return chats(rd.store.con, shop_id, period, filters, prefix, limit, viewer=viewer)



# -- column-mapping presets (data page) -----------------------------------------------------------
def mapping_presets(table: str) -> list[str]:
    from insight.ingest.mapping import list_presets

    return _on_cursor(lambda con: [name for name, _ in list_presets(con, table)])


def start_mapping(table: str, headers: list[str], preset: str | None) -> dict:
    from insight.ingest import mapping

    return _on_cursor(lambda con: mapping.start_mapping(con, table, headers, preset))


def save_mapping_preset(name: str, table: str, chosen: dict, roles=None) -> None:
    from insight.accounts import audit
    from insight.ingest.mapping import save_preset
    from insight.ui.auth import run_viewer

    who = run_viewer().name

    def save(con):
        save_preset(con, name, table, chosen, roles)
        audit(con, who, "preset", f"{table}:{name}")
    _on_cursor(save)  # presets are not cached


def held_without_chats() -> list[str]:
    """What a store without chat messages holds (platform report figures, receptions), as a page says it."""
    from insight.core.schema import REPORT_TABLE
    from insight.store import table_exists

    if open_store() is None:
        return []

    def look(con):
        if table_exists(con, "messages") and con.execute("SELECT 1 FROM messages LIMIT 1").fetchone():
            return []
        held = []
        if table_exists(con, REPORT_TABLE):
            n = con.execute(f"SELECT count(*) FROM {REPORT_TABLE}").fetchone()[0]
            if n:
                held.append(f"平台客服报表数字 {n:,} 个")
        if table_exists(con, "sessions"):
            n = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
            if n:
                held.append(f"接待会话 {n:,} 个")
        return held
    return _on_cursor(look)


def layout_source(path, label: str):
    """How an upload is read when it is in a real-world layout (a SourceFile with ``layout``), else None."""
    from insight.ingest.readers import source_for

    src, _ = _on_cursor(lambda con: source_for(Path(path), con, label))
    return src if src is not None and src.layout else None


def layout_preview(src, shop: str | None, day) -> dict:
    """The first rows of an upload in a real-world layout as they will be imported (nothing written)."""
    from insight.ingest.importer import layout_preview as preview
    from insight.ingest.layouts import LayoutContext
    from insight.store import robot_names

    limits = open_store(create=True).limits

    def look(con):
        ctx = LayoutContext(today=dt.date.today(), shop=shop, day=day, robot_names=robot_names(con), limits=limits)
        return preview(con, src, ctx)
    return _on_cursor(look)


def detect_report(headers: list[str]):
    """The platform report a header belongs to, with the definitions edited in the store."""
    from insight.ingest.reports import detect_report as detect

    return _on_cursor(lambda con: detect(headers, con))


def save_report_definition(defn) -> None:
    from insight.accounts import audit
    from insight.ingest.reports import save_report_def
    from insight.ui.auth import run_viewer

    who = run_viewer().name

    def save(con):
        save_report_def(con, defn)
        audit(con, who, "preset", f"platform_report:{getattr(defn, 'name', '')}")
    _on_cursor(save)


def preset_for_headers(table: str, headers: list[str]) -> str | None:
    from insight.ingest.mapping import preset_for_headers as find

    return _on_cursor(lambda con: find(con, table, headers))


def preset_roles(name: str | None, table: str):
    from insight.ingest.mapping import preset_roles as roles

    return _on_cursor(lambda con: roles(con, name, table))
