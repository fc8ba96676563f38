"""Pipeline benchmark: demo data → import → derivation → parts, against a bare DuckDB ASOF
query of per-message reply latency over the same messages (the floor reference), and
the latency of metric queries from the parts.

Prints figures; asserts nothing (the machines are shared and noisy: compare the ratios
within one run). Each stage runs in its own process so its peak memory is its own.

    python bench/pipeline.py                      # 1M and 10M messages
    python bench/pipeline.py --sizes 1m           # just 1M
    python bench/pipeline.py --format csv         # import CSV instead of Parquet
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import _children as children  # noqa: E402  (bench/, beside this script)

# Sessions per shop per day that give ≈1M / 10M messages for 40 shops × 120 days.
SIZES = {"100k": 2.1, "1m": 21.0, "10m": 210.0}


def _child(stage: str, args: dict) -> dict:
    env = dict(os.environ)
    if args.get("memory_limit"):
        env["INSIGHT_MEMORY_LIMIT"] = args["memory_limit"]
    return children.run(__file__, stage, args, env)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_demo(a: dict) -> dict:
    from insight.demo.generator import DemoConfig, write_demo

    t = time.time()
    summary = write_demo(a["out"], DemoConfig(shops=40, days=120, seed=1, sessions_per_day=a["spd"], fmt=a["fmt"]))
    return {"seconds": time.time() - t, "peak_mb": _peak_mb(), "messages": summary["messages"],
            "sessions": summary["sessions"]}


def child_import(a: dict) -> dict:
    from insight import Store, import_paths

    db = Path(a["db"])
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    t = time.time()
    with Store(db) as store:
        report = import_paths(store, [a["out"]], classify=False)  # scenarios: bench/scenarios.py
    return {"seconds": time.time() - t, "peak_mb": _peak_mb(), "timings": report.timings,
            "rejected": report.rejected}


def child_copy(a: dict) -> dict:
    """The floor of an import: the messages file copied as it is into a new DuckDB file, committed."""
    import duckdb

    db = Path(a["db"] + ".copy")
    db.unlink(missing_ok=True)
    src = Path(a["out"]) / f"messages.{a['fmt']}"
    reader = "read_parquet" if a["fmt"] == "parquet" else "read_csv"
    t = time.time()
    con = duckdb.connect(str(db))
    if a.get("memory_limit"):
        con.execute(f"SET memory_limit = '{a['memory_limit']}'")
    con.execute(f"CREATE TABLE messages AS SELECT * FROM {reader}(?)", [str(src)])
    con.execute("CHECKPOINT")
    con.close()
    seconds = time.time() - t
    db.unlink(missing_ok=True)
    return {"seconds": seconds, "peak_mb": _peak_mb()}


def child_asof(a: dict) -> dict:
    import duckdb

    con = duckdb.connect()
    if a.get("memory_limit"):
        con.execute(f"SET memory_limit = '{a['memory_limit']}'")
    src = Path(a["out"]) / f"messages.{a['fmt']}"
    reader = "read_parquet" if a["fmt"] == "parquet" else "read_csv"
    t = time.time()
    con.execute(f"CREATE TABLE m AS SELECT session_id, sender_role, CAST(sent_at AS TIMESTAMP) AS sent_at "
                f"FROM {reader}('{src}')")
    load = time.time() - t
    t = time.time()
    row = con.execute("""
        SELECT count(*), avg(epoch(r.sent_at) - epoch(b.sent_at))
        FROM (SELECT session_id, sent_at FROM m WHERE sender_role = 'buyer') b
        ASOF LEFT JOIN (SELECT session_id, sent_at FROM m WHERE sender_role = 'agent') r
          ON b.session_id = r.session_id AND r.sent_at >= b.sent_at""").fetchone()
    return {"seconds": time.time() - t, "load_seconds": load, "peak_mb": _peak_mb(), "buyer_messages": row[0]}


def child_queries(a: dict) -> dict:
    import datetime as dt
    import random
    import statistics

    from insight import Filters, MetricEngine, Period, Store

    rnd = random.Random(5)
    with Store(a["db"], read_only=True) as store:
        engine = MetricEngine(store)
        shops = list(store.shops()["shop_id"])
        first, last = store.data_range()
        agents = [r[0] for r in store.con.execute("SELECT agent_id FROM agents WHERE kind = 'human'").fetchall()]
        engine.compute(shops[0], Period(first, last), Filters())  # warm up
        times, peer_times = [], []
        for i in range(60):
            span = rnd.choice([1, 7, 30, 120])
            start = first + dt.timedelta(days=rnd.randrange(0, max(1, (last - first).days - span + 2)))
            period = Period(start, min(last, start + dt.timedelta(days=span - 1)))
            filters = Filters(rnd.choice(["all", "manual", "robot"]), rnd.choice(["all", "presale", "aftersale"]),
                              rnd.choice(["all", "work", "off"]),
                              rnd.choice(agents) if i % 5 == 0 else None)
            shop = filters.agent.split("-")[0] if filters.agent else rnd.choice(shops)
            t = time.perf_counter()
            engine.compute(shop, period, filters)
            times.append((time.perf_counter() - t) * 1000)
            if i % 6 == 0:
                t = time.perf_counter()
                engine.peers(shop, period, filters)
                peer_times.append((time.perf_counter() - t) * 1000)
        parts_rows = store.row_count("parts")
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(len(times) * 0.95) - 1],
            "max_ms": times[-1], "peers_median_ms": statistics.median(peer_times), "parts_rows": parts_rows,
            "peak_mb": _peak_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out"))
    parser.add_argument("--memory-limit", default="1200MB", help="DuckDB memory_limit for the import")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        children.dispatch(args.child, globals())
        return

    print(f"machine: {os.cpu_count()} cores; DuckDB memory_limit for the import: {args.memory_limit}")
    for size in args.sizes.split(","):
        work = Path(args.workdir) / f"{size}-{args.format}"
        common = {"out": str(work / "data"), "db": str(work / "store.duckdb"), "fmt": args.format,
                  "spd": SIZES[size], "memory_limit": args.memory_limit}
        marker = work / "data" / "demo.json"
        if marker.exists() and json.loads(marker.read_text())["config"]["fmt"] == args.format:
            demo = {"seconds": float("nan"), "peak_mb": float("nan"),
                    "messages": json.loads(marker.read_text())["messages"]}
        else:
            demo = _child("demo", common)
        ref = _child("asof", common)
        copy = _child("copy", common)
        imp = _child("import", common)
        q = _child("queries", common)
        n = demo["messages"]
        print(f"\n== {size}: {n:,} messages ({args.format}) ==")
        print(f"demo generation          {demo['seconds']:8.1f} s   peak {demo['peak_mb']:7.0f} MB")
        print(f"reference: load messages {ref['load_seconds']:8.1f} s")
        print(f"reference: ASOF latency  {ref['seconds']:8.2f} s   peak {ref['peak_mb']:7.0f} MB")
        print(f"reference: bare copy     {copy['seconds']:8.2f} s   (messages file → DuckDB file, committed)")
        print(f"pipeline (import→parts)  {imp['seconds']:8.1f} s   peak {imp['peak_mb']:7.0f} MB   "
              f"= {imp['seconds'] / ref['seconds']:.1f}× the ASOF query, "
              f"{imp['seconds'] / (ref['seconds'] + ref['load_seconds']):.1f}× load+ASOF, "
              f"{imp['seconds'] / copy['seconds']:.1f}× the bare copy (target ≤ 4×)")
        for phase, secs in imp["timings"].items():
            print(f"    {phase:<22}{secs:8.2f} s")
        print(f"metrics query from parts median {q['median_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms, "
              f"max {q['max_ms']:.1f} ms over {q['parts_rows']:,} parts rows; "
              f"with peers (all shops of the group) median {q['peers_median_ms']:.1f} ms")


if __name__ == "__main__":
    main()
