"""The whole derivation (``whole_steps``): portable SQL, and on DuckDB the same parts as an imported store."""

import shutil

import pandas as pd
import pytest
import sqlglot

from insight.core.settings import SalesSettings, StoreSettings
from insight.derive import BASE_TABLES, apply_settings, parts_difference, spark_sql, whole_steps
from insight.derive._engines import OUTPUT_TABLES, build_with_duckdb, read_output
from insight.ingest.importer import import_paths
from insight.ingest.parts import write_base
from insight.store import Store

# The outputs a store has tables of (shop_counts is a folder's own).
STORE_TABLES = tuple(t for t in OUTPUT_TABLES if t != "shop_counts")
SETTINGS = [
    (StoreSettings(), SalesSettings()),
    (StoreSettings(stage_window_days=7, session_gap_minutes=10), SalesSettings("order", 1, False)),
    (StoreSettings(stage_window_days=30), SalesSettings("payment", 7, True)),
]


def test_every_step_is_in_the_portable_subset():
    for settings, sales in SETTINGS:
        steps = whole_steps(settings, sales)
        made = set(BASE_TABLES)
        for step in steps:
            sql = step.sql.lower()
            for construct in ("asof", "getvariable", "_scope", "_ctx", "group by all", "qualify"):
                assert construct not in sql, (step.name, construct)
            tree = sqlglot.parse_one(step.sql, read="duckdb")
            tables = {t.name for t in tree.find_all(sqlglot.exp.Table)}
            ctes = {c.alias for c in tree.find_all(sqlglot.exp.CTE)}
            assert tables - ctes <= made, (step.name, tables - ctes - made)  # reads only what exists by then
            made.add(step.name)
        assert {s.name for s in steps if s.output} == set(OUTPUT_TABLES)


def test_spark_sql_keeps_fractions_of_seconds_and_maps_functions():
    out = spark_sql("SELECT epoch(a) - epoch(b) AS w, arg_min({'a': x}, {'t': t}).a AS f FROM t GROUP BY x")
    assert "UNIX_MICROS(CAST(a AS TIMESTAMP))" in out and "/ 1000000" in out
    assert "UNIX_TIMESTAMP" not in out  # whole seconds only: a 0.5 s wait would read 0 or 1
    assert "MIN_BY(STRUCT(x AS a), STRUCT(t AS t)).a" in out
    # ASC puts NULLs last in DuckDB and first in Spark: the transpiled ORDER BY says which.
    assert "NULLS LAST" in spark_sql("SELECT lead(a) OVER (PARTITION BY b ORDER BY c) FROM t")
    for step in whole_steps():
        spark_sql(step.sql)  # every step transpiles


def _store_and_base(tmp_path, dataset, settings):
    store = Store(tmp_path / "store.duckdb")
    if settings != StoreSettings():
        apply_settings(store, settings)
    import_paths(store, [dataset], classify=False)
    write_base(store, tmp_path / "base")
    return store


def _store_parts(store, folder):
    """The store's own parts in the folder layout, to compare with a build."""
    folder.mkdir(parents=True)
    from insight.derive._engines import partition_by, partitioned_select

    cur = store.con.cursor()
    for name in STORE_TABLES:
        cur.sql(partitioned_select(name)).write_parquet(str(folder / name), partition_by=partition_by(name))
    return folder


def _messages_only(demo, tmp_path, cut_by_gap=False):
    """The demo dataset without its sessions table (sessions derived from messages), or also without
    session ids (cut by the gap rule)."""
    folder = tmp_path / ("gap" if cut_by_gap else "nosessions")
    shutil.copytree(demo, folder)
    (folder / "sessions.csv").unlink()
    if cut_by_gap:
        messages = pd.read_csv(folder / "messages.csv", dtype=str, keep_default_na=False)
        messages.drop(columns=["session_id"]).to_csv(folder / "messages.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    from insight.demo.generator import DemoConfig, write_demo

    folder = tmp_path_factory.mktemp("engines") / "demo"
    write_demo(folder, DemoConfig(shops=3, days=24, seed=11, sessions_per_day=12))
    return folder


@pytest.mark.parametrize("variant", ["sessions", "messages", "gap"])
@pytest.mark.parametrize("settings_index", range(len(SETTINGS)))
def test_duckdb_whole_build_equals_the_imported_store(small_demo, tmp_path, variant, settings_index):
    settings, sales = SETTINGS[settings_index]
    dataset = small_demo if variant == "sessions" else _messages_only(small_demo, tmp_path, variant == "gap")
    store = _store_and_base(tmp_path, dataset, settings)
    with store:
        if sales != SalesSettings():  # the store keeps the default's sales parts; derive these ones too
            from insight.derive import refresh_sales

            store.con.execute("DELETE FROM parts_sales")
            refresh_sales(store.con, sales)
        expected = _store_parts(store, tmp_path / "expected")
    build_with_duckdb(tmp_path / "base", tmp_path / "built", settings, sales)
    for name, diff in parts_difference(expected, tmp_path / "built", tolerance=0, tables=STORE_TABLES).items():
        assert diff["rows_a"] == diff["rows_b"] > 0 and diff["differing"] == 0, (name, diff)


def test_partitions_never_take_a_name_from_the_data(tmp_path):
    from insight.derive._engines import partitioned_select

    hostile = ["../../etc", "a/b", "'; DROP TABLE parts; --", "=HYPERLINK(\"x\")", "店铺 一"]
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE parts AS SELECT unnest(?) AS shop_id, DATE '2024-05-01' AS day", [hostile])
    con.sql(partitioned_select("parts")).write_parquet(str(tmp_path / "parts"), partition_by=["shop_key", "month"])
    dirs = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert len(dirs) == len(hostile) and all(d.startswith("shop_key=") and d[9:].isalnum() for d in dirs)
    back = read_output(con, tmp_path, "parts").df()
    assert sorted(back["shop_id"]) == sorted(hostile)
