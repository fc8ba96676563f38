"""The whole derivation on DuckDB and on Spark ``local[2]``, on 1M and 10M messages (the pipeline bench's
demo stores), and what the portable SQL costs DuckDB against the forms it replaced (ASOF JOIN, correlated
EXISTS). Prints figures; asserts nothing but parity (machines are shared: compare ratios within a run).

    python bench/spark.py                    # 1m and 10m (bench/pipeline.py builds the stores if missing)
    python bench/spark.py --sizes 1m --spark-memory 6g

Each engine runs in its own process, so its peak memory is its own (Spark's JVM: the driver's heap is
what --spark-memory sets; the resident size of the JVM process is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import _children as children  # noqa: E402  (bench/, beside this script)

OUT = REPO / "bench" / "out"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(stage: str, args: dict) -> dict:
    return children.run(__file__, stage, args)


def child_base(a: dict) -> dict:
    """The imported demo store's validated tables as the base folder both engines read."""
    from insight.ingest.parts import write_base
    from insight.store import Store

    t = time.time()
    with Store(a["db"]) as store:  # opened for writing: an older store is migrated first
        rows = write_base(store, Path(a["base"]))
    return {"seconds": time.time() - t, "rows": rows}


def child_duckdb(a: dict) -> dict:
    from insight.derive import build_with_duckdb

    timings: dict = {}
    t = time.time()
    build_with_duckdb(Path(a["base"]), Path(a["out"]), memory_limit=a["memory_limit"], timings=timings)
    return {"seconds": time.time() - t, "peak_mb": _peak_mb(), "timings": timings}


def child_spark(a: dict) -> dict:
    from insight.derive import build_with_spark, spark_session

    t0 = time.time()
    events = Path(a["out"]).parent / "spark-events"
    events.mkdir(exist_ok=True)
    spark = spark_session("local[2]", conf={"spark.driver.memory": a["spark_memory"],
                                            "spark.local.dir": str(Path(a["out"]).parent / "spark-tmp"),
                                            "spark.eventLog.enabled": "true", "spark.eventLog.dir": str(events),
                                            # one plain JSON-lines file, read below
                                            "spark.eventLog.compress": "false",
                                            "spark.eventLog.rolling.enabled": "false"})
    start = time.time() - t0
    timings: dict = {}
    t = time.time()
    build_with_spark(a["base"], a["out"], spark=spark, timings=timings)
    seconds = time.time() - t
    jvm = _jvm_peak_mb()
    log = Path(events) / spark.sparkContext.applicationId
    spark.stop()
    return {"seconds": seconds, "start_seconds": start, "timings": timings, "peak_mb": _peak_mb(),
            "jvm_peak_mb": jvm, "shuffle_mb": _shuffle_by_step(log)}


def _shuffle_by_step(log: Path) -> dict:
    """MB of shuffle written per step, from Spark's event log (jobs carry the step as their description)."""
    step_of_stage, written = {}, {}
    if not log.exists():
        return {}
    with open(log, encoding="utf-8") as fh:
        for line in fh:
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerJobStart":
                step = (event.get("Properties") or {}).get("spark.job.description", "?").removeprefix("insight ")
                for stage in event.get("Stage IDs", []):
                    step_of_stage[stage] = step
            elif kind == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                size = (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
                step = step_of_stage.get(event.get("Stage ID"), "?")
                written[step] = written.get(step, 0) + size / 2**20
    return written


def _jvm_peak_mb() -> float:
    """The peak resident size (VmHWM) of this process's java child: Spark's driver and executors in local mode."""
    peak = 0.0
    for stat in Path("/proc").glob("[0-9]*/status"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("Name", "").strip() == "java" and int(fields.get("PPid", "0")) == os.getpid():
            peak = max(peak, int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return peak


# The forms the portable SQL replaced, kept here only to measure them (the product no longer has them).
_ASOF_ATTRIBUTION = """
    WITH paid AS (SELECT order_id, shop_id, buyer_id, created_at FROM orders WHERE paid_at IS NOT NULL),
    am AS (SELECT shop_id, buyer_id, agent_id, sent_at, _seq AS seq FROM messages WHERE sender_role = 'agent')
    SELECT p.order_id, CASE WHEN CAST(a.sent_at AS DATE) >= CAST(p.created_at AS DATE) - 1 THEN a.agent_id END
        AS agent_id
    FROM paid p ASOF JOIN am a ON a.shop_id = p.shop_id AND a.buyer_id = p.buyer_id AND a.sent_at < p.created_at"""
_EXISTS_STAGE = """
    WITH paid_days AS (SELECT DISTINCT shop_id, buyer_id, CAST(paid_at AS DATE) AS paid_day FROM orders
                       WHERE paid_at IS NOT NULL)
    SELECT s.session_id, EXISTS (SELECT 1 FROM paid_days p WHERE p.shop_id = s.shop_id AND p.buyer_id = s.buyer_id
        AND p.paid_day BETWEEN CAST(s.started_at AS DATE) - 21 AND CAST(s.started_at AS DATE) - 1) AS after
    FROM sessions s"""
_JOIN_STAGE = """
    WITH paid_days AS (SELECT DISTINCT shop_id, buyer_id, CAST(paid_at AS DATE) AS paid_day FROM orders
                       WHERE paid_at IS NOT NULL),
    after_paid AS (SELECT DISTINCT s.shop_id, s.session_id FROM sessions s JOIN paid_days p
        ON p.shop_id = s.shop_id AND p.buyer_id = s.buyer_id
       AND p.paid_day BETWEEN CAST(s.started_at AS DATE) - 21 AND CAST(s.started_at AS DATE) - 1)
    SELECT s.session_id, a.session_id IS NOT NULL AS after
    FROM sessions s LEFT JOIN after_paid a ON a.shop_id = s.shop_id AND a.session_id = s.session_id"""


def child_forms(a: dict) -> dict:
    """DuckDB: each replaced form against its portable one, same inputs, rows compared."""
    import duckdb

    from insight.derive._derive import _last_agent_before

    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [a["memory_limit"]])
    for table in ("orders", "messages", "sessions"):
        con.read_parquet(str(Path(a["base"]) / table / "*.parquet")).create_view(table)
    portable = f"""
        WITH paid AS (SELECT order_id, shop_id, buyer_id, created_at FROM orders WHERE paid_at IS NOT NULL),
        am AS (SELECT shop_id, buyer_id, agent_id, sent_at, _seq AS seq FROM messages WHERE sender_role = 'agent')
        {_last_agent_before('created_at', 2)}"""
    out = {}
    for name, old, new, value in (("attribution (ASOF JOIN → union + window)", _ASOF_ATTRIBUTION, portable, "agent_id"),
                                  ("stage (correlated EXISTS → join)", _EXISTS_STAGE, _JOIN_STAGE, "after")):
        times = {}
        for label, sql in (("old", old), ("new", new)):
            t = time.time()
            con.execute(f"CREATE OR REPLACE TEMP TABLE r_{label} AS {sql}")
            times[label] = time.time() - t
        # An ASOF JOIN drops an order with no earlier message; the window form keeps it with NULL.
        differing = con.execute(f"SELECT (SELECT count(*) FROM (SELECT * FROM r_old EXCEPT SELECT * FROM r_new)) + "
                                f"(SELECT count(*) FROM (SELECT * FROM r_new WHERE {value} IS NOT NULL "
                                f"EXCEPT SELECT * FROM r_old))").fetchall()[0][0]
        out[name] = {**times, "differing_rows": differing}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit")
    parser.add_argument("--spark-memory", default="8g", help="spark.driver.memory (local mode: the whole heap)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        children.dispatch(args.child, globals())
        return
    from insight.derive import parts_difference

    print(f"machine: {os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}; "
          f"Spark local[2], driver memory {args.spark_memory}")
    for size in args.sizes.split(","):
        store = OUT / f"{size}-parquet" / "store.duckdb"
        if not store.exists():
            subprocess.run([sys.executable, str(REPO / "bench" / "pipeline.py"), "--sizes", size], check=True)
        work = OUT / f"{size}-spark"
        common = {"db": str(store), "base": str(work / "base"), "memory_limit": args.memory_limit,
                  "spark_memory": args.spark_memory}
        base = _child("base", common) if not (work / "base" / "_insight_base.json").exists() else None
        rows = json.loads((work / "base" / "_insight_base.json").read_text())["rows"]
        duck = _child("duckdb", {**common, "out": str(work / "duckdb")})
        spark = _child("spark", {**common, "out": str(work / "spark")})
        forms = _child("forms", common)
        diff = parts_difference(work / "duckdb", work / "spark")
        print(f"\n== {size}: {rows['messages']:,} messages, {rows['sessions']:,} sessions, "
              f"{rows['orders']:,} orders, {rows['shops']} shops ==")
        if base:
            print(f"base tables written (Parquet)  {base['seconds']:8.1f} s")
        print(f"DuckDB whole derivation        {duck['seconds']:8.1f} s   peak {duck['peak_mb']:7.0f} MB")
        print(f"Spark local[2] derivation      {spark['seconds']:8.1f} s   (+ {spark['start_seconds']:.0f} s to start; "
              f"JVM peak RSS {spark['jvm_peak_mb']:.0f} MB)   = {spark['seconds'] / duck['seconds']:.1f}× DuckDB")
        print(f"{'step':<14}{'DuckDB s':>10}{'Spark s':>10}{'shuffle MB':>12}")
        for step, secs in duck["timings"].items():
            print(f"{step:<14}{secs:10.2f}{spark['timings'].get(step, float('nan')):10.2f}"
                  f"{spark['shuffle_mb'].get(step, 0.0):12.1f}")
        print("parity: " + ", ".join(f"{t} {d['rows_a']:,}/{d['rows_b']:,} rows, {d['differing']} differing"
                                     for t, d in diff.items()))
        for name, f in forms.items():
            print(f"DuckDB cost of the portable form, {name}: {f['old']:.2f} s → {f['new']:.2f} s "
                  f"({f['new'] / f['old']:.1f}×), rows differing {f['differing_rows']}")


if __name__ == "__main__":
    main()
