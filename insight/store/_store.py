"""The embedded store: one DuckDB file holding imported tables, derived facts and parts."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import asdict
from pathlib import Path

import duckdb

from insight.core.access import Viewer
from insight.core.errors import StoreBusy, StoreError, UsageError
from insight.core.limits import Limits, parse_size
from insight.core.schema import ACCOUNT_UPGRADES, SCENARIO_DDL, SQUARE_UNIT_SECONDS, TABLES, all_ddl, scenario_parts_sql
from insight.core.settings import DEFAULT_ROBOT_NAMES, StoreSettings

__all__ = ["Store", "default_db_path", "transaction", "SCHEMA_VERSION", "robot_names", "serve_in_this_process"]

SCHEMA_VERSION = "5"
# 5: the parts keep the squares of durations (the means' intervals). Their columns are added last, as
# zeros, and every shop is recorded for a whole derivation (``derive_pending``: the next import or
# ``serve`` derives it; until then a mean's interval is unavailable, never made up from zeros).
_SQUARES = [*(f"ALTER TABLE parts ADD COLUMN IF NOT EXISTS {m} DOUBLE DEFAULT 0" for m in SQUARE_UNIT_SECONDS),
            "INSERT INTO derive_pending SELECT shop_id, NULL FROM shops"]
# version → what opening such a store does to bring it to SCHEMA_VERSION (derived tables only: nothing
# imported is touched). 2 → 3: scenario parts hold the registry's evaluation measures.
# From a version to the current one (tables that are only new come from ``all_ddl`` before these run).
_MIGRATIONS = {"2": ["DROP TABLE IF EXISTS parts_scenario", *SCENARIO_DDL[2:], scenario_parts_sql(), *_SQUARES],
               "3": _SQUARES, "4": _SQUARES}  # 4: derive_pending
DEFAULT_DB = Path("data") / "insight.duckdb"


_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


def write_lock(con):
    """The process's lock for writing the database file behind ``con``: every transaction takes it, so
    the writers of one server (the events writer, an import from the page, corrections, the background
    classification) take turns instead of failing with "Conflict on update" (DuckDB's optimistic
    concurrency between connections). A nullcontext for an in-memory database (one connection writes)."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    if not path:
        return contextlib.nullcontext()
    with _write_locks_guard:
        return _write_locks.setdefault(os.path.realpath(path), threading.RLock())


@contextlib.contextmanager
def transaction(con):
    """One transaction on ``con``: committed when the block ends, rolled back on any exception; one writer
    of the file at a time in this process (``write_lock``)."""
    with write_lock(con):
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def default_db_path(explicit: str | os.PathLike | None = None) -> Path:
    """``--db`` wins over ``INSIGHT_DB``, which wins over ``data/insight.duckdb``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("INSIGHT_DB")
    return Path(env) if env else DEFAULT_DB


def table_exists(con, name: str) -> bool:
    """Whether the store behind ``con`` has table ``name`` (tables added by later versions may not be
    there yet in a store opened read-only)."""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
        [name]).fetchone()[0])


def robot_names(con) -> tuple[str, ...]:
    """The store's robot names (``Store.save_robot_names``), or the platforms' usual ones."""
    rows = con.execute("SELECT value FROM meta WHERE key = 'robot_names'").fetchall()
    return tuple(json.loads(rows[0][0])) if rows else DEFAULT_ROBOT_NAMES


# Stores this process serves: another Store of the same file here joins the server's database instance.
_SERVED_HERE: set[Path] = set()


def serve_in_this_process(path: str | os.PathLike) -> None:
    """This process serves ``path`` (``serve``): a read-only Store of it opened here as well (a command the
    server runs for the command line) joins the open instance — DuckDB refuses a second configuration of
    one file in a process — and only reads, as asked."""
    _SERVED_HERE.add(Path(path).resolve())


class Store:
    """A DuckDB connection with the Service Insight schema.

    ``path=None`` opens an in-memory store (used by ``metrics --data`` and tests).
    """

    # Set by ``attach_parts``: the store reads its parts from a folder built elsewhere (no base rows).
    parts_manifest: dict | None = None
    _parts_link: Path | None = None
    _is_cursor = False

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False,
                 memory_limit: str | None = None, _con=None):
        if _con is not None:  # a cursor of an open store (see ``cursor``)
            self._is_cursor = True
            self.path, self.read_only, self.con = path, read_only, _con
            self.limits, self._own_work_dir, self._borrowed_work_dir = Limits.from_env(), None, None
            self.memory_limit = self.limits.memory_limit
            return
        self.path = Path(path) if path else None
        self.read_only = read_only
        if self.path is not None:
            if read_only and not self.path.exists():
                raise StoreError(f"数据库文件不存在: {self.path}（请先导入数据: python -m insight import --db {self.path} 数据目录）")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            joins = read_only and self.path is not None and self.path.resolve() in _SERVED_HERE
            self.con = duckdb.connect(str(self.path) if self.path else ":memory:", read_only=read_only and not joins)
        except duckdb.Error as exc:  # locked by another writer, not a DuckDB file, …
            if "lock" in str(exc).lower():
                raise StoreBusy(f"数据库 {self.path} 正被另一个程序使用（可能正在导入数据），请稍后重试") from exc
            raise StoreError(f"无法打开数据库 {self.path}: {str(exc).splitlines()[0][:200]}") from exc
        self.limits = Limits.from_env()
        self._own_work_dir: Path | None = None
        self._borrowed_work_dir: Path | None = None  # a cursor uses its store's folder
        limit = self.limits.memory_limit
        if memory_limit:
            parse_size(memory_limit, "memory_limit")  # the one shape DuckDB is given
            limit = memory_limit
        self.memory_limit = limit
        self.con.execute("SET memory_limit = ?", [limit])
        if not read_only:
            # Spills and scratch files stay beside the store, never in the working directory.
            self.con.execute("SET temp_directory = ?", [str(self.work_dir / "duckdb")])
        # Memory an import used goes back to the system once the work is done, not kept for the next one
        # (four 109 MB uploads left the server at 1.4 GB; with these, back to ~0.4 GB within seconds).
        self.con.execute("SET allocator_background_threads = true")
        self.con.execute("SET allocator_flush_threshold = '64MiB'")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")  # our own progress bar speaks Chinese
        if not read_only:
            self._ensure_schema()
            if self.path is not None:
                self.quarantine_out_of_window()
        elif not self._has_table("meta"):
            raise StoreError(f"{self.path} 不是服务洞察数据库")
        elif self.get_meta("schema_version") != SCHEMA_VERSION:
            raise StoreError(f"数据库 {self.path} 由旧版本创建，请删除后重新导入数据（make run 会自动重建演示库）")
        elif self._out_of_window():
            # A reader cannot move them: it says what to do rather than fail on a year-10000 date later.
            raise StoreError(f"数据库 {self.path} 中有时间超出 {self.limits.window_text(hint=False)} 的数据：运行一次 "
                             "python -m insight serve 或 import 会把这些行移到被拒绝的行并重新计算（范围可用环境变量 "
                             "INSIGHT_EARLIEST_DATE、INSIGHT_FUTURE_DAYS 调整）")

    @property
    def work_dir(self) -> Path:
        """A private folder for this store's scratch files (spills, transcoded CSVs, uploads):
        ``<store>.work`` beside a store file; a temporary folder for an in-memory store."""
        if self._borrowed_work_dir is not None:
            return self._borrowed_work_dir
        if self.path is not None:
            folder = self.path.parent / f"{self.path.name}.work"
            folder.mkdir(mode=0o700, exist_ok=True)
            return folder
        if self._own_work_dir is None:
            self._own_work_dir = Path(tempfile.mkdtemp(prefix="insight-store-"))
            # removed by close(), or when the store is dropped without it (a caller's forgotten in-memory store)
            self._drop_work_dir = weakref.finalize(self, shutil.rmtree, str(self._own_work_dir), True)
        return self._own_work_dir

    def scratch_dir(self, prefix: str) -> Path:
        """A new private folder inside ``work_dir``; the caller removes it."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.work_dir))

    # -- schema -----------------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        return table_exists(self.con, name)

    def _ensure_schema(self) -> None:
        for ddl in all_ddl() + ACCOUNT_UPGRADES:
            self.con.execute(ddl)
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
            self.set_meta("settings", json.dumps(asdict(StoreSettings())))
            self.set_meta("next_seq", "0")
        elif version in _MIGRATIONS:
            with transaction(self.con):
                for sql in _MIGRATIONS[version]:
                    self.con.execute(sql)
                self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise StoreError(f"数据库版本 {version} 与程序版本 {SCHEMA_VERSION} 不一致，请重新导入数据")

    def quarantine_out_of_window(self) -> int:
        """Rows held with a time outside the import window (stored before imports checked it, or written
        around the importer) move to ``import_rejects`` with the reason, as one batch of the import
        history, and their shops are recorded for a whole derivation (``serve`` and the app run it before
        any page reads): a year-10000 message took every page and the API down. How many rows moved."""
        lo, hi = self.limits.time_window()
        found = self._out_of_window(base_only=True)
        if not found:
            return 0
        moved = 0
        with transaction(self.con):
            batch = int(self.con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchone()[0])
            window = self.limits.window_text()
            for table, cols, outside in found:
                first_bad = "CASE " + " ".join(f"WHEN CAST({c} AS TIMESTAMP) NOT BETWEEN $lo AND $hi THEN '{c}'"
                                               for c in cols) + " END"
                params = {"lo": lo, "hi": hi, "batch": batch, "table": table.name,
                          "reason": f"数据库中已有的行：时间超出可接受的范围 {window}，已移出"}
                self.con.execute(f"""INSERT INTO import_rejects SELECT $batch, $table, '（数据库中已有的行）', 0,
                        {first_bad}, $reason, CAST(to_json(x) AS VARCHAR) FROM {table.name} x WHERE {outside}""", params)
                if "shop_id" in table.column_names:
                    self.con.execute(f"INSERT INTO derive_pending SELECT DISTINCT shop_id, NULL FROM {table.name} "
                                     f"WHERE {outside}", {"lo": lo, "hi": hi})
                moved += self.con.execute(f"DELETE FROM {table.name} WHERE {outside}", {"lo": lo, "hi": hi}).fetchone()[0]
            now = dt.datetime.now()
            self.con.execute("INSERT INTO imports VALUES (?, ?, ?, '[]', ?)", [batch, now, now, json.dumps(
                {"quarantined": moved, "notes": [f"{moved} 行的时间超出可接受的范围 {window}，已移到被拒绝的行"]},
                ensure_ascii=False)])
        return moved

    def _out_of_window(self, base_only: bool = False) -> list:
        """(table, time columns, SQL condition) of the imported tables holding a row outside the import
        window; without ``base_only`` also the derived span a page reads first (derived before the rows
        moved)."""
        lo, hi = self.limits.time_window()
        tables = [(t.name, [c.name for c in t.columns if c.type in ("timestamp", "date")]) for t in TABLES.values()]
        if not base_only:
            tables.append(("f_shop_span", ["data_start", "data_end"]))
        found = []
        for name, cols in tables:
            outside = " OR ".join(f"CAST({c} AS TIMESTAMP) NOT BETWEEN $lo AND $hi" for c in cols)
            if cols and self._has_table(name) and self.con.execute(
                    f"SELECT count(*) FROM {name} WHERE {outside}", {"lo": lo, "hi": hi}).fetchone()[0]:
                found.append((TABLES.get(name), cols, outside))
        return found

    # -- meta -------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        # fetchall: a half-read result would block the next register() on this connection.
        rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    @property
    def settings(self) -> StoreSettings:
        if self.parts_manifest is not None and self.parts_manifest.get("settings"):
            return StoreSettings(**self.parts_manifest["settings"])  # those the attached parts were built with
        raw = self.get_meta("settings")
        return StoreSettings(**json.loads(raw)) if raw else StoreSettings()

    def save_settings(self, settings: StoreSettings) -> None:
        """Record new settings (inside the caller's transaction; ``derive.apply_settings`` re-derives)."""
        self.set_meta("settings", json.dumps(asdict(settings.validate())))

    @property
    def robot_names(self) -> tuple[str, ...]:
        """The nicknames an import reads as robots (chat logs that name senders by nickname)."""
        return robot_names(self.con)

    def save_robot_names(self, names) -> tuple[str, ...]:
        """Keep the store's robot names (trimmed, de-duplicated, each 1–40 characters, at most 200)."""
        clean = tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        if not clean or len(clean) > 200 or any(len(n) > 40 for n in clean):
            raise UsageError("机器人名单应有 1–200 个名字，每个不超过 40 个字符")
        self.set_meta("robot_names", json.dumps(list(clean), ensure_ascii=False))
        return clean

    # -- reading ----------------------------------------------------------------
    @staticmethod
    def _table_name(table: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
            raise UsageError(f"无效的表名 {table[:40]!r}")
        return table

    def row_count(self, table: str) -> int:
        table = self._table_name(table)
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def has_rows(self, table: str) -> bool:
        table = self._table_name(table)
        return self.con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None

    def present_tables(self) -> set[str]:
        """Imported tables that hold at least one row (for a parts folder: as its manifest says)."""
        if self.parts_manifest is not None:
            return set(self.parts_manifest.get("present", ())) & set(TABLES)
        return {name for name in TABLES if self.has_rows(name)}

    def shops(self):
        return self.con.execute(
            "SELECT shop_id, shop_name, platform, category, tier, timezone FROM shops ORDER BY shop_id").df()

    def shop(self, shop_id: str) -> dict:
        row = self.con.execute(
            "SELECT shop_id, shop_name, platform, category, tier, timezone FROM shops WHERE shop_id = ?",
            [shop_id]).fetchone()
        if row is None:
            known = [r[0] for r in self.con.execute("SELECT shop_id FROM shops ORDER BY 1 LIMIT 5").fetchall()]
            hint = f"，已有店铺: {', '.join(known)}" if known else "，数据库中还没有店铺"
            raise UsageError(f"未知店铺 {shop_id!r}{hint}")
        return dict(zip(("shop_id", "shop_name", "platform", "category", "tier", "timezone"), row))

    def shops_with_span(self, *, viewer: Viewer):
        """The viewer's shops with the first and last day of their data (plain dates; None where they
        have none). The last day is the day the shop's last conversation started: a chat that runs
        past midnight (messages at 00:04) does not make the next, otherwise empty, day the default end
        of every period. A parts folder keeps no sessions: there, the day of the last message."""
        scope, params = viewer.scope_sql("s.shop_id")
        last_start = ("SELECT shop_id, NULL::TIMESTAMP AS last_start FROM shops WHERE false" if self.parts_only
                      else "SELECT shop_id, max(started_at) AS last_start FROM f_sessions GROUP BY shop_id")
        frame = self.con.execute(
            f"""SELECT s.shop_id, s.shop_name, s.platform, s.category, s.tier, s.timezone,
                      CAST(f.data_start AS DATE) AS data_start,
                      CAST(coalesce(l.last_start, f.data_end) AS DATE) AS data_end
               FROM shops s LEFT JOIN f_shop_span f USING (shop_id) LEFT JOIN ({last_start}) l USING (shop_id)
               WHERE {scope} ORDER BY s.shop_id""", params).df()
        for col in ("data_start", "data_end"):  # plain dates: periods and widgets compare them with dates
            frame[col] = [None if v is None or v != v else getattr(v, "date", lambda: v)() for v in frame[col]]
        return frame

    def import_history(self, limit: int = 50) -> tuple:
        """(the latest file imports as a person reads them — when, how long, which files, rows accepted and
        rejected per table —, the live event batches summed: how many, the latest). Event batches come by
        the hundred during a promotion: listed one by one they would bury the imports."""
        import pandas as pd

        rows = self.con.execute(
            "SELECT import_id, started_at, finished_at, files, summary FROM imports "
            "WHERE files NOT LIKE '%\"events:%' ORDER BY import_id DESC LIMIT ?", [int(limit)]).fetchall()
        out = []
        for batch, started, finished, files, summary in rows:
            names = [Path(f).name if "/" in f or "\\" in f else f for f in json.loads(files or "[]")]
            tables = (json.loads(summary or "{}").get("tables") or {})
            out.append({"批次": batch, "开始时间": started.strftime("%Y-%m-%d %H:%M:%S"),
                        "用时（秒）": round((finished - started).total_seconds(), 1),
                        "文件": "、".join(names[:5]) + (f" 等 {len(names)} 个" if len(names) > 5 else "")
                        or "（时间窗口外的行移出）",
                        "接受行数": sum(int(t.get("accepted") or 0) for t in tables.values()),
                        "拒绝行数": sum(int(t.get("rejected") or 0) for t in tables.values()),
                        "各表": "；".join(f"{TABLES[n].label if n in TABLES else n} {int(t.get('accepted') or 0):,}"
                                        for n, t in tables.items() if t.get("read"))})
        events = self.con.execute(
            "SELECT count(*), max(finished_at) FROM imports WHERE files LIKE '%\"events:%'").fetchone()
        return pd.DataFrame(out), {"batches": events[0], "latest": events[1]}

    def data_range(self, shop_id: str | None = None):
        """(first day, last day) of messages, optionally for one shop; (None, None) when empty."""
        sql = "SELECT CAST(min(sent_at) AS DATE), CAST(max(sent_at) AS DATE) FROM messages"
        params: list = []
        if shop_id:
            sql += " WHERE shop_id = ?"
            params.append(shop_id)
        return tuple(self.con.execute(sql, params).fetchone())

    def attach_parts(self, folder: str | os.PathLike) -> None:
        """Read parts, shop spans, shops and peers from a parts folder (``build-parts``) instead of this
        store's own tables, on this connection and its cursors; the store file is not changed. Imports
        are refused while a folder is attached (its figures would not change)."""
        from ._parts import create_views, link_folder, read_manifest

        manifest = read_manifest(folder)
        link = link_folder(folder)
        create_views(self.con, link)
        self.parts_manifest, self._parts_link = manifest, link
        self._drop_parts_link = weakref.finalize(self, shutil.rmtree, str(link.parent), True)

    @property
    def parts_only(self) -> bool:
        return self.parts_manifest is not None

    def cursor(self) -> "Store":
        """Another connection to the same database, for another thread (DuckDB connections are
        not shared between threads; cursors see each other's commits)."""
        other = Store(self.path, read_only=self.read_only, _con=self.con.cursor())
        other.limits, other.memory_limit = self.limits, self.memory_limit
        if self._parts_link is not None:  # temporary views belong to a connection: the cursor gets its own
            from ._parts import create_views

            create_views(other.con, self._parts_link)
            other.parts_manifest, other._parts_link = self.parts_manifest, self._parts_link
        if self.path is None and not self.read_only:
            other._borrowed_work_dir = self.work_dir
        other._parent = self  # the store outlives its cursors: its folder and link are theirs too
        return other

    def data_version(self) -> str:
        """Changes whenever an import, a deferred derivation or a settings change lands: cache keys
        include it."""
        row = self.con.execute(
            "SELECT coalesce(max(import_id), 0), (SELECT value FROM meta WHERE key = 'settings'), "
            "(SELECT count(*) || '/' || coalesce(CAST(max(corrected_at) AS VARCHAR), '') FROM scenario_corrections), "
            "(SELECT count(*) || '/' || coalesce(min(model_version), '') || coalesce(max(model_version), '') "
            " FROM session_scenarios), (SELECT count(*) FROM derive_pending) FROM imports").fetchone()
        return ":".join(str(x) for x in row)

    def close(self) -> None:
        self.con.close()
        if self._parts_link is not None and not self._is_cursor:  # the link belongs to the store, not its cursors
            self._drop_parts_link()
        if self._own_work_dir is not None:
            self._drop_work_dir()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
