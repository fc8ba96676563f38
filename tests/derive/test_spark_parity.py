"""Parity: the same dataset built on DuckDB and on Spark (local[2]) gives the same parts and the same
metrics for every shop, period and filter tried — each session path and every settings value once.
Spark's cost is per build (about 15 s on 2 cores however small the data), so there are three: the first
reads the DATA.md files from URIs and validates them itself (as on a cluster), the others read the
validated base the DuckDB build wrote (as from shared storage)."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys

import pytest

from insight.core.filters import Filters
from insight.core.periods import Period
from insight.core.settings import SalesSettings, StoreSettings
from insight.derive import parts_difference
from insight.ingest.parts import build_parts
from insight.metrics.engine import MetricEngine
from insight.present.exports import report_json
from insight.store import open_parts

# (session path, store settings, sales settings): every value of every setting appears once.
CASES = [
    ("sessions", StoreSettings(), SalesSettings("order_first", 2, True)),
    ("gap", StoreSettings(stage_window_days=7, session_gap_minutes=10), SalesSettings("order", 1, False)),
    ("messages", StoreSettings(stage_window_days=30), SalesSettings("payment", 7, True)),
]
FILTERS = [Filters(), Filters(channel="manual", stage="presale"), Filters(channel="robot"),
           Filters(stage="aftersale", hours="work"), Filters(hours="off")]


def _java_ok() -> bool:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


@pytest.fixture(scope="module")
def spark():
    if not _java_ok():
        if os.environ.get("CI"):
            pytest.fail("java is missing in CI: `make test` installs openjdk-17-jre-headless")
        pytest.skip("java is not installed")
    from insight.derive import spark_session

    session = spark_session("local[2]", app_name="insight-parity")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from insight.demo.generator import DemoConfig, write_demo

    folder = tmp_path_factory.mktemp("parity") / "demo"
    # Two months: parts are partitioned by month, and periods cross the boundary. Small (Spark's cost is per
    # step, not per row): 12 days still hold presale and aftersale sessions, transfers, evaluations and refunds.
    write_demo(folder, DemoConfig(shops=3, days=12, seed=17, sessions_per_day=8, end=dt.date(2024, 6, 9)))
    return folder


def _variant(demo, tmp_path, path):
    import pandas as pd

    folder = tmp_path / path
    shutil.copytree(demo, folder)
    if path == "sessions":
        evaluations = pd.read_csv(folder / "evaluations.csv", dtype=str, keep_default_na=False)
        bad = evaluations.iloc[[0]].assign(session_id="not-a-session", rating="9")  # rejected: rating outside 1–5
        pd.concat([evaluations, bad]).to_csv(folder / "evaluations.csv", index=False)
        return folder
    (folder / "sessions.csv").unlink()
    if path == "gap":
        messages = pd.read_csv(folder / "messages.csv", dtype=str, keep_default_na=False)
        messages.drop(columns=["session_id"]).to_csv(folder / "messages.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def built(spark, dataset, tmp_path_factory):
    """case name → (DuckDB folder, Spark folder, their build results), built once per module."""
    done = {}

    def build(path, settings, sales):
        if path not in done:
            root = tmp_path_factory.mktemp(f"built-{path}")
            source = _variant(dataset, root, path)
            duck = build_parts(str(source), str(root / "duck"), engine="duckdb", settings=settings, sales=sales)
            if path == "sessions":  # DATA.md files at a URI (file:// here; hdfs:// or s3a:// on a cluster)
                sparked = build_parts(source.as_uri(), (root / "spark").as_uri(), engine="spark",
                                      settings=settings, sales=sales, spark=spark)
            else:  # the validated base tables the DuckDB build wrote (as a cluster would, from shared storage)
                sparked = build_parts(str(root / "duck" / "base"), str(root / "spark"), engine="spark",
                                      settings=settings, sales=sales, spark=spark)
            done[path] = (root / "duck", root / "spark", duck, sparked)
        return done[path]

    return build


def _metrics(engine, shop, period, filters, sales):
    return json.loads(report_json(engine.report(shop, period, filters, sales)))["metrics"]


@pytest.mark.parametrize("path, settings, sales", CASES, ids=[c[0] for c in CASES])
def test_duckdb_and_spark_build_the_same_parts(built, path, settings, sales):
    duck_dir, spark_dir, duck, sparked = built(path, settings, sales)
    assert sparked.rows == duck.rows and duck.rows["messages"] > 1000
    for name, diff in parts_difference(duck_dir, spark_dir, tolerance=1e-9).items():
        assert diff["rows_a"] == diff["rows_b"] > 0 and diff["differing"] == 0, (name, diff)

    with open_parts(duck_dir) as store:
        shops = store.shops()["shop_id"].tolist()
        agent = store.con.execute("SELECT agent_id FROM parts WHERE agent_id IS NOT NULL "
                                  "ORDER BY agent_id LIMIT 1").fetchall()[0][0]
    whole = Period(dt.date(2024, 5, 21), dt.date(2024, 6, 9))
    periods = [whole, Period(dt.date(2024, 5, 27), dt.date(2024, 6, 2)), Period(dt.date(2024, 6, 9), dt.date(2024, 6, 9)),
               Period(dt.date(2024, 5, 1), dt.date(2024, 5, 31))]
    # Every shop in every period, and every filter over the whole period: each part of the parts key is
    # varied against the rest held fixed (their full product repeats the same reads).
    views = [(shop, period, Filters()) for shop in shops for period in periods]
    views += [(shop, whole, filters) for shop in shops for filters in FILTERS[1:] + [Filters(agent=agent)]]
    compared = 0
    with open_parts(duck_dir) as duck_store, open_parts(spark_dir) as spark_store:
        engines = MetricEngine(duck_store), MetricEngine(spark_store)
        for shop, period, filters in views:
            a, b = (_metrics(engine, shop, period, filters, sales) for engine in engines)
            assert a == b, (shop, period, filters)
            compared += sum(v is not None for v in a.values())
    assert compared > 500  # real figures were compared, not only unavailable ones
    if path == "sessions":  # Spark validated the files with the importer's rules and wrote base and rejects beside
        assert sparked.report.rejected == duck.report.rejected == 1
        assert (spark_dir / "base" / "_insight_base.json").exists() and any((spark_dir / "rejects").rglob("*.csv"))
        with open_parts(spark_dir) as store:
            assert store.parts_manifest["engine"] == "spark" and store.parts_manifest["rows"]["messages"] > 1000


def test_the_command_line_prints_identical_metrics(built):
    """The contract: ``metrics --parts DIR --json`` prints the same ``metrics`` for either engine's folder."""
    duck_dir, spark_dir, _, _ = built(*CASES[0])
    printed = []
    for folder in (duck_dir, spark_dir):
        out = subprocess.run([sys.executable, "-m", "insight", "metrics", "--parts", str(folder),
                              "--shop", "S001", "--start", "2024-05-25", "--end", "2024-06-09", "--json"],
                             capture_output=True, text=True, check=True, timeout=120)
        printed.append(json.loads(out.stdout)["metrics"])
    assert printed[0] == printed[1] and printed[0]["satisfaction_rate"] is not None
