"""The whole derivation (``whole_steps``) on an engine, from a folder of base tables to a parts folder.

Both engines read the same input — one Parquet dataset per base table (``messages/``, ``orders/``, …,
as ``write_base`` of the ingest layer leaves them) — and write the same output: every parts table as
Parquet partitioned by shop (``shop_key``: a hash of the shop id, so that no input value becomes a path)
and month. DuckDB runs the steps as they are written; Spark runs them transpiled by SQLGlot.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import time
from pathlib import Path

from insight.core.errors import UsageError
from insight.core.schema import GRAIN, TABLES
from insight.core.settings import SalesSettings, StoreSettings

from ._derive import OUTPUT_TABLES, Step, whole_steps

__all__ = ["BASE_TABLES", "COPIED_TABLES", "spark_sql", "spark_session", "build_with_duckdb", "build_with_spark",
           "read_output", "parts_difference",
           "partitioned_select", "partition_by", "SHOP_KEY_SQL"]

BASE_TABLES = tuple(TABLES)
# Base tables the parts folder carries as they are (the engine reads shops' labels and peers from it).
COPIED_TABLES = ("shops", "peers")
# The shop's partition key: 16 hex digits of md5(shop_id) — the same in DuckDB and Spark.
SHOP_KEY_SQL = "left(md5(shop_id), 16)"


def partitioned_select(name: str) -> str:
    """The output table ``name`` with its partition columns (shop_key, and month where it has days)."""
    month = ", strftime(day, '%Y-%m') AS month" if name not in _BY_SHOP_ONLY else ""
    return f"SELECT *, {SHOP_KEY_SQL} AS shop_key{month} FROM {name}"


# Outputs with no day: partitioned by shop only.
_BY_SHOP_ONLY = ("f_shop_span", "shop_counts")


def partition_by(name: str) -> list[str]:
    return ["shop_key"] if name in _BY_SHOP_ONLY else ["shop_key", "month"]


def spark_sql(select: str) -> str:
    """A step's SELECT (DuckDB's dialect) as Spark SQL.

    ``epoch()`` becomes microseconds / 1e6 as a double, as DuckDB computes it (Spark's own
    ``unix_timestamp`` drops the fraction of a second); the rest is SQLGlot's DuckDB → Spark mapping
    (``arg_min`` → ``min_by``, struct literals, ``unnest`` → ``explode``, NULLS LAST made explicit)."""
    try:
        import sqlglot
    except ImportError:
        raise UsageError("没有安装 sqlglot：Spark 引擎需要另行安装，运行 .venv/bin/pip install -r requirements-spark.txt") from None

    return sqlglot.transpile(select, read="duckdb", write=_spark_dialect())[0]


@functools.cache
def _spark_dialect():
    """Spark's SQLGlot dialect with our one mapping (defined once: SQLGlot registers every dialect class)."""
    from sqlglot import exp
    from sqlglot.dialects.spark import Spark

    class _Spark(Spark):
        class Generator(Spark.Generator):
            TRANSFORMS = {
                **Spark.Generator.TRANSFORMS,
                exp.TimeToUnix: lambda self, e: (
                    f"(CAST(UNIX_MICROS(CAST({self.sql(e, 'this')} AS TIMESTAMP)) AS DOUBLE) / 1000000)"),
            }

    return _Spark


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def build_with_duckdb(base: Path, out: Path, settings: StoreSettings | None = None,
                      sales: SalesSettings | None = None, memory_limit: str | None = None,
                      timings: dict | None = None) -> None:
    """Run the steps in an in-memory DuckDB over ``base``; write the parts tables under ``out``."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        if memory_limit:
            con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET preserve_insertion_order = false")
        for table in BASE_TABLES:
            # The relation API takes the path as a value: nothing of it becomes SQL text.
            con.read_parquet(str(base / table / "*.parquet")).create_view(table)
        _run(whole_steps(settings, sales), timings,
             lambda step: con.execute(f"CREATE OR REPLACE TEMP TABLE {step.name} AS {step.sql}"))
        for name in OUTPUT_TABLES:
            _fresh_dir(out / name)
            con.sql(partitioned_select(name)).write_parquet(str(out / name), partition_by=partition_by(name),
                                                            overwrite=True)
        for name in COPIED_TABLES:
            _fresh_dir(out / name)
            con.table(name).write_parquet(str(out / name / "data.parquet"))
    finally:
        con.close()


def _run(steps: list[Step], timings: dict | None, make) -> None:
    for step in steps:
        t0 = time.perf_counter()
        make(step)
        if timings is not None:
            timings[step.name] = timings.get(step.name, 0.0) + time.perf_counter() - t0


def spark_session(master: str | None = None, app_name: str = "insight-build-parts", conf: dict | None = None):
    """A SparkSession in UTC (the data's wall-clock times are read and written unchanged); ``master``:
    ``local[2]``, ``spark://…``, ``yarn``, ``k8s://…`` — None leaves it to ``spark-submit``. ``conf``:
    further Spark settings (``spark.driver.memory`` …), applied before the JVM starts."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # the runtime install leaves Spark out (requirements-spark.txt)
        raise UsageError("没有安装 pyspark：Spark 引擎需要另行安装，运行 .venv/bin/pip install -r requirements-spark.txt"
                         "（另需 Java 17：make java）；单机可用 --engine duckdb") from None
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
        local = re.fullmatch(r"local\[(\d+|\*)\]", master)
        if local:  # one machine: a few shuffle partitions per core, not the cluster default of 200 (3× slower)
            cores = (os.cpu_count() or 2) if local.group(1) == "*" else int(local.group(1))
            builder = builder.config("spark.sql.shuffle.partitions", str(2 * cores))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = (builder.config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def build_with_spark(base: str, out: str, settings: StoreSettings | None = None, sales: SalesSettings | None = None,
                     master: str | None = None, spark=None, timings: dict | None = None) -> None:
    """Run the steps on Spark over ``base`` (a local folder or any URI Spark reads: hdfs://, s3a://, …);
    write the parts tables under ``out``. Intermediates are materialised (memory, then disk); outputs
    are written (no step reads them)."""
    from pyspark import StorageLevel

    spark = spark or spark_session(master)
    base, out = str(base).rstrip("/"), str(out).rstrip("/")
    for table in BASE_TABLES:
        spark.read.parquet(f"{base}/{table}").createOrReplaceTempView(table)
    cached = []

    def make(step: Step) -> None:
        # The step's name on its jobs: Spark's UI and event log say which step a stage belongs to.
        spark.sparkContext.setJobDescription(f"insight {step.name}")
        frame = spark.sql(spark_sql(step.sql))
        if step.output:
            frame.createOrReplaceTempView(step.name)
            keys = partition_by(step.name)
            # One file per (shop, month) folder: rows gathered by partition key before the write, not
            # every task writing a sliver of every folder.
            (spark.sql(spark_sql(partitioned_select(step.name))).repartition(*keys).write.mode("overwrite")
             .partitionBy(*keys).parquet(f"{out}/{step.name}"))
        else:
            # Materialised now, lineage cut: later steps plan against a table, not the whole history of
            # the query (Spark's planner slows down sharply on long chains of views).
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK).localCheckpoint(eager=True)
            cached.append(frame)
            frame.createOrReplaceTempView(step.name)

    try:
        _run(whole_steps(settings, sales), timings, make)
        for name in COPIED_TABLES:
            spark.table(name).coalesce(1).write.mode("overwrite").parquet(f"{out}/{name}")
    finally:
        for frame in cached:
            frame.unpersist()


def read_output(con, folder: Path, name: str):
    """A parts folder's table ``name`` as a DuckDB relation on ``con`` (partition columns dropped); None when
    the table has no rows (a partitioned write of nothing leaves no file)."""
    if not any((Path(folder) / name).rglob("*.parquet")):
        return None
    rel = con.read_parquet(str(Path(folder) / name / "**" / "*.parquet"), hive_partitioning=True)
    return rel.project(", ".join(c for c in rel.columns if c not in ("shop_key", "month")))


def parts_difference(a: Path, b: Path, tolerance: float = 1e-9, tables=OUTPUT_TABLES) -> dict[str, dict]:
    """Two parts folders compared table by table: row counts, and rows whose key has no match or whose
    measures differ by more than ``tolerance`` (relative to the larger magnitude, at least 1)."""
    import duckdb

    con = duckdb.connect(":memory:")
    out = {}
    try:
        for name in tables:
            ra, rb = read_output(con, a, name), read_output(con, b, name)
            if ra is None or rb is None:
                out[name] = {"rows_a": len(ra.fetchall()) if ra else 0, "rows_b": len(rb.fetchall()) if rb else 0}
                out[name]["differing"] = max(out[name]["rows_a"], out[name]["rows_b"])
                continue
            ra.create_view("a")
            rb.create_view("b")
            cols = con.sql("SELECT * FROM a LIMIT 0").columns
            keys = [c for c in cols if c in _KEYS]
            values = [c for c in cols if c not in _KEYS]
            on = " AND ".join(f"a.{k} IS NOT DISTINCT FROM b.{k}" for k in keys)
            differs = " OR ".join(
                f"abs(CAST(a.{v} AS DOUBLE) - CAST(b.{v} AS DOUBLE)) > {float(tolerance)} * "
                f"greatest(1, abs(CAST(a.{v} AS DOUBLE)))" if v not in ("data_start", "data_end")
                else f"a.{v} IS DISTINCT FROM b.{v}" for v in values)
            rows = con.execute(f"SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), "
                               f"(SELECT count(*) FROM a FULL JOIN b ON {on} WHERE a.shop_id IS NULL "
                               f"OR b.shop_id IS NULL OR {differs})").fetchall()[0]
            out[name] = {"rows_a": rows[0], "rows_b": rows[1], "differing": rows[2]}
    finally:
        con.close()
    return out


# What identifies a row of a parts table (the rest are measures).
_KEYS = (*GRAIN, "tag", "settings_key")
