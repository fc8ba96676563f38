"""Shared helpers: build tiny datasets by hand, import them, read metrics."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from insight import Filters, MetricEngine, Period, SalesSettings, Store, import_paths

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

SHOP = {"shop_id": "S1", "shop_name": "测试店", "platform": "taobao", "category": "服饰", "tier": 3}


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    cols: list[str] = []
    for row in rows:
        cols.extend(c for c in row if c not in cols)
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def write_dataset(folder: Path, **tables: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables.setdefault("shops", [SHOP])
    for name, rows in tables.items():
        if rows:
            write_csv(folder / f"{name}.csv", rows)
    return folder


class Chat:
    """Builds the messages of one session: ``Chat('c1', 'b1').buyer('10:00:00', '在吗').agent(...)``."""

    counter = 0

    def __init__(self, session_id: str, buyer_id: str = "b1", day: str = "2024-05-10", shop_id: str = "S1"):
        self.session_id, self.buyer_id, self.day, self.shop_id = session_id, buyer_id, day, shop_id
        self.rows: list[dict] = []

    def _add(self, role: str, time: str, content: str = "", agent_id: str | None = None) -> "Chat":
        Chat.counter += 1
        at = time if len(time) > 8 else f"{self.day} {time}"
        self.rows.append({"message_id": f"m{Chat.counter:06d}", "shop_id": self.shop_id,
                          "session_id": self.session_id, "buyer_id": self.buyer_id, "sender_role": role,
                          "agent_id": agent_id, "sent_at": at, "content": content or role})
        return self

    def buyer(self, time, content="") -> "Chat":
        return self._add("buyer", time, content)

    def agent(self, time, content="", agent_id="A1") -> "Chat":
        return self._add("agent", time, content, agent_id)

    def robot(self, time, content="") -> "Chat":
        return self._add("robot", time, content, "BOT")

    def system(self, time, content="") -> "Chat":
        return self._add("system", time, content)


def messages_of(*chats: Chat) -> list[dict]:
    return [row for chat in chats for row in chat.rows]


def load(tmp_path: Path, db: Path | None = None, **tables) -> Store:
    """The tables imported into a new store (in memory, or the file ``db``), open."""
    folder = write_dataset(tmp_path / f"ds{len(list(tmp_path.iterdir()))}", **tables)
    store = Store(db)
    import_paths(store, [folder])
    return store


def metric_values(store: Store, start: str, end: str | None = None, shop: str = "S1",
                  settings: SalesSettings | None = None, **filters):
    period = Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end or start))
    return MetricEngine(store).compute(shop, period, Filters(**filters), settings)


def values(store, start, end=None, **kw) -> dict:
    return {k: v.value for k, v in metric_values(store, start, end, **kw).items()}


def demo_store(folder: Path, **config) -> Path:
    """A demo dataset (``DemoConfig(**config)``) imported into ``folder/store.duckdb``; its path."""
    from insight.demo.generator import DemoConfig, write_demo

    write_demo(folder / "demo", DemoConfig(**config))
    db = folder / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [folder / "demo"])
    return db


def require_shared(path: Path = SHARED) -> Path:
    """``path`` under ../shared; in CI (where shared/ is always laid beside the clone) its absence fails
    the test instead of skipping it silently."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI: shared/ should be beside the clone")
        pytest.skip(f"{path} is not here")
    return path


@pytest.fixture
def shared_dir() -> Path:
    return require_shared(SHARED)


def peer_store(tmp_path, n_shops, with_other_group=True, db: Path | None = None):
    """Shops P0…P{n-1} of one peer group (shop i: satisfaction i/(i+1), reply wait 10·(i+1) s) and
    optionally a shop X of another tier."""
    shops, chats, evals = [], [], []
    for i in range(n_shops):
        sid = f"P{i}"
        shops.append({"shop_id": sid, "shop_name": sid, "platform": "douyin", "category": "美妆", "tier": 2})
        # Shop i: i+1 rated sessions, i of them satisfied → satisfaction i/(i+1); reply wait 10·(i+1) s.
        for j in range(i + 1):
            session = f"{sid}-c{j}"
            chats.append(Chat(session, f"{sid}-b{j}", "2024-05-10", shop_id=sid)
                         .buyer("10:00:00").agent(f"10:00:{10 * (i + 1):02d}" if i < 5 else "10:01:00"))
            evals.append({"session_id": session, "shop_id": sid, "buyer_id": f"{sid}-b{j}", "invited_by": "agent",
                          "invited_at": "2024-05-10 11:00:00", "rating": 5 if j < i else 2,
                          "rated_at": "2024-05-10 11:01:00"})
    if with_other_group:  # another tier is not a peer
        shops.append({"shop_id": "X", "shop_name": "X", "platform": "douyin", "category": "美妆", "tier": 3})
        chats.append(Chat("x1", "xb", "2024-05-10", shop_id="X").buyer("10:00:00").agent("10:00:01"))
    return load(tmp_path, db, shops=shops, messages=messages_of(*chats), evaluations=evals)


# The audit log records every attempt, failed and repeated imports included: that is its job.
_RECORDS = ("audit_log", "login_failures")


def fingerprint(db: Path) -> dict[str, tuple]:
    """Row count and a content hash of every table but the audit records: equal fingerprints = an
    unchanged store."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()
            if r[0] not in _RECORDS]
        return {t: con.execute(f'SELECT count(*), md5(coalesce(string_agg(CAST(x AS VARCHAR), chr(10) '
                               f'ORDER BY CAST(x AS VARCHAR)), \'\')) FROM "{t}" x').fetchone() for t in tables}
    finally:
        con.close()


# -- the scenario model -------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def scenario_model_trained_once():
    """A fresh clone has no installed scenario model: the first worker installs the shipped one at once (or,
    when that is behind the corpus, trains one: about a minute of both cores); anyone needing it meanwhile
    waits for it (scenarios.model's lock) instead of training another."""
    from insight.scenarios.model import load_model, model_path

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker == "gw0" and not model_path().exists():
        load_model()
    yield


# -- pages under AppTest (tests/ui) --------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    return demo_store(tmp_path_factory.mktemp("pages"), shops=10, days=40, seed=5, sessions_per_day=10)


@pytest.fixture(scope="module")
def demo_store_copy(demo_db, tmp_path_factory):
    """The demo store, copied for one test module that writes to it, open."""
    path = tmp_path_factory.mktemp("demo_copy") / "store.duckdb"
    shutil.copy(demo_db, path)
    with Store(path) as store:
        yield store


@pytest.fixture
def open_app(monkeypatch):
    """``open_app(db, page, params)``: the app on ``db`` (INSIGHT_DB through monkeypatch, undone after),
    with link parameters, switched to ``page``, checked free of exceptions."""
    def run(db, page, params=None):
        monkeypatch.setenv("INSIGHT_DB", str(db))
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        for k, v in (params or {}).items():
            at.query_params[k] = v
        at.run()
        if page != "pages/home.py":
            at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        return at
    return run


# -- scheduling -----------------------------------------------------------------------------------------
# The longest files first: `make test` hands whole files to two workers in collection order (with
# --no-loadscope-reorder: xdist would otherwise put the files with the most tests first), so a long one
# collected last would run alone at the end while the other worker idles. Measured with --durations=0.
LONGEST_FIRST = ("derive/test_spark_parity.py", "e2e/test_browser.py", "e2e/test_browser_payloads.py", "e2e/",
                 "ui/test_pages.py", "web/test_events.py", "derive/test_incremental.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.removeprefix("tests/")
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the order within each group is pytest's
