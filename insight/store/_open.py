"""Opening a store: plain, or reading a parts folder built elsewhere (above ``_store`` and ``_parts``, which
do not import each other's openers)."""

from __future__ import annotations

import os
from pathlib import Path

from ._store import Store

__all__ = ["open_parts", "open_served"]


def open_parts(folder: str | Path, path: str | Path | None = None):
    """The store ``path`` (None: in memory, as ``metrics --parts`` uses it) reading its parts from ``folder``."""
    store = Store(path)
    try:
        store.attach_parts(folder)
    except BaseException:
        store.close()
        raise
    return store


def open_served(path: str | Path):
    """The store a server opens: ``path``, with the parts folder ``$INSIGHT_PARTS`` attached when set
    (``serve --parts``)."""
    folder = os.environ.get("INSIGHT_PARTS")
    return open_parts(folder, path) if folder else Store(path)
