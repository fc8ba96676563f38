"""A store over a parts folder built elsewhere (``python -m insight build-parts``, DuckDB or Spark): the
parts tables, shop spans, shops and peers are views over its Parquet files, so that the metric engine
reads them as it reads an imported store's tables."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from insight.core.errors import StoreError, UsageError

from ._store import Store

__all__ = ["open_parts", "PARTS_TABLES"]

# Views the folder provides: derived outputs (partitioned) and base tables carried as they are.
PARTS_TABLES = ("parts", "parts_tags", "parts_sales", "f_shop_span", "shops", "peers")
_FORMAT = 1
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")


def open_parts(folder: str | Path) -> Store:
    """An in-memory store whose parts come from ``folder``. The folder's path never enters SQL text:
    it is linked under a generated name in the store's private work folder, and the views read that."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise UsageError(f"{folder} 不是部件目录（缺少 manifest.json，请先运行 python -m insight build-parts）")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{manifest_path} 无法读取: {exc}") from None
    if manifest.get("format") != _FORMAT:
        raise StoreError(f"{folder} 的部件格式 {manifest.get('format')!r} 与本程序（{_FORMAT}）不一致，请重新 build-parts")
    store = Store(None)
    link = store.work_dir / f"parts-{uuid.uuid4().hex}"
    if not _SAFE_PATH.fullmatch(str(link)):  # a work folder we made ourselves; refuse anything else
        store.close()
        raise StoreError("临时目录路径含有特殊字符，无法挂载部件目录（请设置 TMPDIR 为普通路径）")
    link.symlink_to(folder.resolve(), target_is_directory=True)
    con = store.con
    for name in PARTS_TABLES:
        if not any((folder / name).rglob("*.parquet")):
            continue  # nothing built (e.g. no peers imported): the empty table stays
        source = f"read_parquet('{link}/{name}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
        stored = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        # The schema's own columns in the schema's order (partition columns dropped; a store-only column
        # such as _import_id is NULL); names and types come from the schema, never from the files.
        columns = [c if c in stored else f"CAST(NULL AS {t}) AS {c}" for c, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()]
        con.execute(f"DROP TABLE {name}")
        con.execute(f"CREATE VIEW {name} AS SELECT {', '.join(columns)} FROM {source}")
    store.set_meta("settings", json.dumps(manifest.get("settings", {})))
    store.parts_manifest = manifest
    return store
