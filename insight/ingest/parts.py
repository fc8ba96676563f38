"""``build-parts``: a dataset (DATA.md files) validated into base tables, derived on DuckDB or Spark, and
written as a parts folder that ``metrics --parts`` and the app read (``insight.store.open_parts``).

The folder:

    manifest.json            what was built, by which engine, with which settings; tables present
    base/<table>/*.parquet   the validated base tables (a later build, or Spark on a cluster, reads them)
    rejects/                 the import report and rejected rows, as an import leaves them
    parts/ parts_tags/ parts_sales/ f_shop_span/ shop_counts/   Parquet, partitioned by shop_key (and month)
    shops/ peers/            as imported
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from insight.core.errors import UsageError
from insight.core.schema import TABLES
from insight.core.settings import SalesSettings, StoreSettings
from insight.derive import BASE_TABLES, build_with_duckdb, build_with_spark, spark_session
from insight.store import Store

from .importer import ImportReport, import_sources
from .readers import discover

__all__ = ["build_parts", "write_base", "BuildResult", "MANIFEST", "BASE_MARK", "PARTS_FORMAT", "ENGINES"]

MANIFEST = "manifest.json"
# A folder of validated base tables carries this file: a build from it skips validation.
BASE_MARK = "_insight_base.json"
PARTS_FORMAT = 1
ENGINES = ("duckdb", "spark")


@dataclass
class BuildResult:
    engine: str
    output: Path
    rows: dict
    seconds: dict = field(default_factory=dict)
    report: ImportReport | None = None


def _base_columns(name: str) -> list[str]:
    cols = [c.name for c in TABLES[name].columns]
    return cols + (["_seq"] if name == "messages" else [])


def write_base(store: Store, folder: Path) -> dict:
    """The store's validated base tables as one Parquet file each under ``folder/<table>/`` (every table,
    empty ones with their columns); the row counts."""
    rows = {}
    con = store.con.cursor()  # its own connection: nothing pending from the import's last statement
    for name in BASE_TABLES:
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        # Column names are the schema's own; the relation API takes the file name as a value.
        rel = con.table(name).project(", ".join(_base_columns(name)))
        if name == "messages":
            rel = rel.order("shop_id, sent_at, _seq")
        rel.write_parquet(str(target / "data.parquet"))
        rows[name] = int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
    (folder / BASE_MARK).write_text(json.dumps({"format": PARTS_FORMAT, "rows": rows}, ensure_ascii=False, indent=1),
                                    encoding="utf-8")
    return rows


def _validate(source: Path, output: Path, shop: str | None, settings: StoreSettings) -> tuple[dict, ImportReport]:
    """DATA.md files → base tables, with the importer's rules (rejected rows to ``output/rejects``;
    messages without sessions cut by ``settings.session_gap_minutes``)."""
    work = Path(tempfile.mkdtemp(prefix=".validate-", dir=output))
    try:
        with Store(work / "validate.duckdb") as store:
            store.save_settings(settings)
            files, notes = discover([source], store.con)
            if not files:
                raise UsageError(f"{source} 中没有可导入的文件（文件名应为表名，如 shops.csv、messages.parquet）")
            # Rows only: the derivation is the engine's (deferred, never run here).
            report = import_sources(store, files, notes=notes, report_dir=output / "rejects", classify=False,
                                    shop=shop, defer_derive=True)
            rows = write_base(store, output / "base")
        return rows, report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _is_uri(text: str) -> bool:
    return "://" in text


# What a build writes in its output folder (and may therefore replace there, with ``overwrite``).
_OUTPUT_ENTRIES = {MANIFEST, "base", "rejects", "parts", "parts_tags", "parts_sales", "f_shop_span", "shop_counts",
                   "shops", "peers"}


def _check_output(output: Path, overwrite: bool) -> None:
    """A local output folder is new or empty; or, with ``overwrite``, an earlier build's (nothing else in
    it, no symbolic link among its entries): a build replaces its folders, and must never delete what a
    user keeps there, nor follow a link out of it."""
    if output.is_symlink() or (output.exists() and not output.is_dir()):
        raise UsageError(f"--output {output} 应为目录（不能是文件或符号链接）")
    entries = sorted(p for p in output.iterdir() if not p.name.startswith(".validate-")) if output.exists() else []
    if not entries:
        return
    if not overwrite:
        raise UsageError(f"--output 目录 {output} 已存在且不为空；要替换其中上次构建的部件，请加 --overwrite")
    foreign = [p.name for p in entries if p.name not in _OUTPUT_ENTRIES]
    if foreign:
        raise UsageError(f"--output 目录 {output} 中有不是部件的内容（{'、'.join(foreign[:5])}），不会覆盖；请换一个目录")
    linked = [str(p.relative_to(output)) for p in [*entries, *(q for e in entries if e.is_dir() and not e.is_symlink()
                                                               for q in e.rglob("*"))] if p.is_symlink()]
    if linked:
        raise UsageError(f"--output 目录 {output} 中有符号链接（{'、'.join(linked[:5])}），不会跟随或删除；请换一个目录")


def build_parts(input_: str, output: str, engine: str = "duckdb", master: str | None = None,
                shop: str | None = None, settings: StoreSettings | None = None, sales: SalesSettings | None = None,
                spark=None, spark_conf: dict | None = None, overwrite: bool = False) -> BuildResult:
    """Validate ``input_`` (a DATA.md folder; or a base folder from an earlier build, used as it is),
    derive every shop's whole history on ``engine`` with ``settings`` and the sales parts of ``sales``,
    write the parts folder ``output`` — a new or empty folder, or with ``overwrite`` an earlier build's."""
    settings = (settings or StoreSettings()).validate()
    sales = (sales or SalesSettings()).validate()
    if engine not in ENGINES:
        raise UsageError(f"--engine 应为 {'|'.join(ENGINES)}，收到 {engine!r}")
    if engine == "duckdb" and master:
        raise UsageError("--master 只用于 --engine spark")
    remote = _is_uri(input_) or _is_uri(output)
    if remote and engine == "duckdb":
        raise UsageError("DuckDB 引擎只读写本机目录；远程存储（hdfs://、s3a://…）请用 --engine spark")
    if not _is_uri(output):
        _check_output(Path(output), overwrite)
    seconds: dict = {}
    report = None
    t0 = time.perf_counter()
    if engine == "spark":
        spark = spark or spark_session(master, conf=spark_conf)
    # The manifest is written last: a folder whose build failed half-way has none, and is refused as
    # "not a parts folder" instead of being read with a mix of old and new files.
    _remove(f"{output.rstrip('/')}/{MANIFEST}", spark if engine == "spark" else None)
    if _exists(f"{input_.rstrip('/')}/{BASE_MARK}", spark):
        base = input_.rstrip("/")
        mark = _read_text(f"{base}/{BASE_MARK}", spark)
        rows = json.loads(mark)["rows"]
    else:
        if not _exists(input_, spark):
            raise UsageError(f"--input 目录不存在: {input_}")
        # Validation runs here, in DuckDB, on a local copy of remote files; its results go to the output.
        work = Path(tempfile.mkdtemp(prefix="insight-build-"))
        try:
            source = _fetch(input_, work / "input", spark) if _is_uri(input_) else Path(input_)
            local_out = work / "output" if _is_uri(output) else Path(output)
            local_out.mkdir(parents=True, exist_ok=True)
            rows, report = _validate(source, local_out, shop, settings)
            if _is_uri(output):
                for name in ("base", "rejects"):
                    if (local_out / name).exists():
                        _upload(local_out / name, f"{output.rstrip('/')}/{name}", spark)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        base = f"{output.rstrip('/')}/base" if _is_uri(output) else str(Path(output) / "base")
        seconds["validate"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    if engine == "duckdb":
        Path(output).mkdir(parents=True, exist_ok=True)
        build_with_duckdb(Path(base), Path(output), settings, sales)
    else:
        build_with_spark(base, output, settings, sales, spark=spark)
    seconds["derive"] = time.perf_counter() - t1
    manifest = {"format": PARTS_FORMAT, "engine": engine, "built_at": dt.datetime.now().isoformat(timespec="seconds"),
                "settings": asdict(settings), "sales_settings": sales.key, "rows": rows,
                "present": sorted(name for name, n in rows.items() if n)}
    _write_text(f"{output.rstrip('/')}/{MANIFEST}", json.dumps(manifest, ensure_ascii=False, indent=1), spark)
    return BuildResult(engine, Path(output) if not _is_uri(output) else output, rows, seconds, report)


def _hadoop(location: str, spark):
    """(file system, path) of ``location`` through Spark's Hadoop configuration (hdfs://, s3a://, file://…)."""
    path = spark._jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(spark._jsc.hadoopConfiguration()), path


def _exists(location: str, spark) -> bool:
    if not _is_uri(location):
        return Path(location).exists()
    fs, path = _hadoop(location, spark)
    return bool(fs.exists(path))


# A remote file copied here keeps its name (the table is recognised from it) only when that name is a
# plain file name: no separators, no leading dot, nothing but letters, digits (CJK included), '.', '-',
# '_' and spaces.
_PLAIN_NAME = re.compile(r"(?!\.)[\w.\- ]+")


def _fetch(uri: str, into: Path, spark) -> Path:
    """The DATA.md files directly under ``uri`` copied into ``into`` (other entries are left: they would be
    skipped by a local import too)."""
    from .readers import SUPPORTED_SUFFIXES

    into.mkdir(parents=True)
    fs, folder = _hadoop(uri, spark)
    for status in fs.listStatus(folder):
        name = str(status.getPath().getName())
        if status.isFile() and name.lower().endswith(SUPPORTED_SUFFIXES) and _PLAIN_NAME.fullmatch(name):
            target = spark._jvm.org.apache.hadoop.fs.Path((into / name).as_uri())
            fs.copyToLocalFile(False, status.getPath(), target, True)
    return into


def _upload(folder: Path, location: str, spark) -> None:
    fs, target = _hadoop(location, spark)
    fs.delete(target, True)
    fs.copyFromLocalFile(False, True, spark._jvm.org.apache.hadoop.fs.Path(folder.as_uri()), target)


def _remove(location: str, spark) -> None:
    if not _is_uri(location):
        Path(location).unlink(missing_ok=True)
        return
    fs, path = _hadoop(location, spark)
    fs.delete(path, False)


def _read_text(location: str, spark) -> str:
    """A small file, local or (through Spark's Hadoop file systems) remote."""
    if not _is_uri(location):
        return Path(location).read_text(encoding="utf-8")
    return "".join(r[0] for r in spark.read.text(location, wholetext=True).collect())


def _write_text(location: str, text: str, spark) -> None:
    if not _is_uri(location):
        Path(location).write_text(text, encoding="utf-8")
        return
    fs, path = _hadoop(location, spark)  # Hadoop's FileSystem writes one file where Spark's writers make a folder
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
