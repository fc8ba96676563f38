"""A parts folder built elsewhere (``python -m insight build-parts``, DuckDB or Spark), read through views:
the parts tables, shop spans, shops and peers of a store become views over the folder's Parquet files, so
that the metric engine reads them as it reads an imported store's tables.

``_open.open_parts(folder)`` gives an in-memory store over a folder (``metrics --parts``); ``Store.attach_parts``
does the same for a store file (the app: ``serve --parts``), whose accounts and settings stay its own.
The views are temporary: they shadow the store's own tables on each connection, and leave the file as it is.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from pathlib import Path

from insight.core.errors import StoreError, UsageError

__all__ = ["read_manifest", "link_folder", "create_views", "PARTS_TABLES", "PARTS_FORMAT"]

# Views the folder provides: derived outputs (partitioned) and base tables carried as they are.
PARTS_TABLES = ("parts", "parts_tags", "parts_sales", "f_shop_span", "shops", "peers")
# Folder-only outputs, read as views of their own (no store table of that name).
FOLDER_TABLES = ("shop_counts",)
PARTS_FORMAT = 1
_SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]+")


def read_manifest(folder: str | Path) -> dict:
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise UsageError(f"{folder} 不是部件目录（缺少 manifest.json，请先运行 python -m insight build-parts）")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{manifest_path} 无法读取: {exc}") from None
    if manifest.get("format") != PARTS_FORMAT:
        raise StoreError(f"{folder} 的部件格式 {manifest.get('format')!r} 与本程序（{PARTS_FORMAT}）不一致，"
                         "请重新 build-parts")
    return manifest


def link_folder(folder: str | Path) -> Path:
    """``folder`` linked under a generated name in a new private temporary folder: the path the views
    name. The folder's own path never enters SQL text."""
    home = Path(tempfile.mkdtemp(prefix="insight-parts-"))
    link = home / uuid.uuid4().hex
    if not _SAFE_PATH.fullmatch(str(link)):  # a temporary folder we made; refuse anything else
        home.rmdir()
        raise StoreError("临时目录路径含有特殊字符，无法挂载部件目录（请把 TMPDIR 设为普通路径）")
    link.symlink_to(Path(folder).resolve(), target_is_directory=True)
    return link


def _parquet_files(folder: Path) -> list[Path]:
    """The Parquet files of one table's folder; a symbolic link anywhere in it is refused (the views would
    read whatever it points at), and so is an entry that is not a regular file."""
    if folder.is_symlink():
        raise StoreError(f"部件目录中的 {folder.name}/ 是符号链接，已拒绝（部件目录只应包含 build-parts 写出的文件）")
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for entry in [*dirs, *files]:
            path = Path(root) / entry
            if path.is_symlink():
                raise StoreError(f"部件目录中的 {folder.name}/{path.relative_to(folder)} 是符号链接，已拒绝"
                                 "（部件目录只应包含 build-parts 写出的文件）")
        found += [Path(root) / f for f in files if f.endswith(".parquet")]
    return found


def create_views(con, link: Path) -> None:
    """Temporary views named after the folder's tables on ``con``, over the files under ``link``."""
    import duckdb

    for name in PARTS_TABLES + FOLDER_TABLES:
        if not _parquet_files(link / name):
            continue  # nothing built (e.g. no peers imported): the store's own (empty) table is read
        source = f"read_parquet('{link}/{name}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
        try:
            stored = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        except duckdb.Error as exc:  # a file that is not Parquet, a truncated one
            raise StoreError(f"部件目录 {name}/ 中有无法读取的文件（{str(exc).splitlines()[0][:160]}）；"
                             "请重新运行 build-parts") from None
        schema = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_catalog = current_database() AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()
        # A store table's columns in the schema's order (a store-only column such as _import_id is NULL):
        # names and types from the schema, never from the files. A folder-only table: its own columns,
        # quoted as identifiers. Partition columns are dropped either way.
        columns = ([c if c in stored else f"CAST(NULL AS {t}) AS {c}" for c, t in schema] if schema
                   else ['"' + c.replace('"', '""') + '"' for c in stored if c not in ("shop_key", "month")])
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(columns)} FROM {source}")
