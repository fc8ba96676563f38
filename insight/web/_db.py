"""One store per process for the web layer, with its own cursor and a lock (a DuckDB connection is
not shared between threads). The pages' store (insight.ui.data) opens the same database: DuckDB gives
both connections one database instance."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

from insight.derive import settle_pending
from insight.store import Store, open_served

__all__ = ["shared_store", "SharedStore", "close_stores"]


@dataclass
class SharedStore:
    store: Store  # its own connection: the event writer's
    reads: Store  # a cursor of ``store``, used under ``lock`` (accounts, sign-in checks)
    lock: threading.Lock

    @property
    def con(self):
        return self.reads.con

    @contextlib.contextmanager
    def cursor(self):
        """A connection of its own for one request's reads: opened under the lock (never from a
        connection another thread is using), then used without holding it."""
        with self.lock:
            cursor = self.reads.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


_open: dict[str, SharedStore] = {}
_guard = threading.Lock()


def shared_store(path: str) -> SharedStore:
    with _guard:
        if path not in _open:
            store = open_served(path)
            settle_pending(store)  # what opening recorded, before a request reads
            _open[path] = SharedStore(store, store.cursor(), threading.Lock())
        return _open[path]


def close_stores() -> None:
    """Forget the open stores (their files can then be removed); the event writers using them end first
    (``insight.web.close_all``)."""
    with _guard:
        for shared in _open.values():
            shared.reads.close()
            shared.store.close()
        _open.clear()
