"""Peak memory of imports under the default bounds (issue 9: any import under 2 GB here).

Each import runs in its own process with no INSIGHT_* overrides, so the limits are the ones a
user gets (DuckDB memory_limit from the machine's memory, spills beside the store). Prints
figures; asserts nothing.

    python bench/import_memory.py                 # a ~390 MB messages CSV and the 10M-row Parquet bomb
    python bench/import_memory.py --spd 30        # a smaller CSV
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _child(args: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHT_")}
    if args.get("memory_limit"):
        env["INSIGHT_MEMORY_LIMIT"] = args["memory_limit"]
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(args)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child(a: dict) -> dict:
    from insight import ImportFailed, Store, import_paths

    db = Path(a["db"])
    t = time.time()
    outcome = "imported"
    with Store(db) as store:
        limit = store.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        try:
            report = import_paths(store, a["paths"], classify=a.get("classify", True))
            outcome += f" ({sum(x.accepted for x in report.tables.values()):,} rows accepted)"
        except ImportFailed as exc:
            outcome = f"refused: {exc}"
    return {"seconds": round(time.time() - t, 1), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "memory_limit": limit, "outcome": outcome[:160]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--spd", type=float, default=75.0, help="sessions per shop per day (75 ≈ 390 MB CSV)")
    parser.add_argument("--memory-limit", default=None, help="INSIGHT_MEMORY_LIMIT for the imports (default: none)")
    parser.add_argument("--no-classify", action="store_true", help="skip scenario classification")
    parser.add_argument("--skip-bomb", action="store_true")
    parser.add_argument("--work", default=str(REPO / "bench" / "out" / "import_memory"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    work = Path(args.work)
    data = work / "csv"
    if not (data / "demo.json").exists() or json.loads((data / "demo.json").read_text())["config"][
            "sessions_per_day"] != args.spd:
        from insight.demo.generator import DemoConfig, write_demo

        shutil.rmtree(data, ignore_errors=True)
        write_demo(data, DemoConfig(shops=40, days=120, seed=3, sessions_per_day=args.spd))
    size = (data / "messages.csv").stat().st_size / 2**20
    print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    db = work / "store.duckdb"
    for p in (db, Path(f"{db}.wal")):
        p.unlink(missing_ok=True)
    opts = {"memory_limit": args.memory_limit, "classify": not args.no_classify}
    r = _child({"db": str(db), "paths": [str(data)], **opts})
    print(f"CSV dataset (messages.csv {size:,.0f} MB): {r['outcome']}; {r['seconds']} s, peak {r['peak_mb']:,} MB "
          f"(DuckDB memory_limit {r['memory_limit']})")
    if args.skip_bomb:
        return
    bomb_db = work / "bomb.duckdb"
    for p in (bomb_db, Path(f"{bomb_db}.wal")):
        p.unlink(missing_ok=True)
    shops = work / "bomb_shops"
    shops.mkdir(exist_ok=True)
    (shops / "shops.csv").write_text("shop_id,shop_name,platform,category,tier\nS1,店,taobao,服饰,3\n", encoding="utf-8")
    bomb = REPO / "tests" / "ingest" / "hostile" / "files" / "messages_row_bomb.parquet"
    r = _child({"db": str(bomb_db), "paths": [str(shops / "shops.csv"), str(bomb)], **opts})
    print(f"Parquet bomb ({bomb.stat().st_size / 1024:,.0f} KB, 10M rows): {r['outcome']}; {r['seconds']} s, "
          f"peak {r['peak_mb']:,} MB")


if __name__ == "__main__":
    main()
