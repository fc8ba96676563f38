"""Daily-import benchmark: one more day into a 120-day, 40-shop store against the same day into an
empty store (target ≤ 1.5×), and one shop's day alone (target ≈ 1 s). Prints figures; asserts nothing.

    python bench/incremental.py              # ≈ 9k messages a day (1M in the store)
    python bench/incremental.py --spd 2.1    # a small store, quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ARRIVAL = {"messages": "sent_at", "sessions": "started_at", "evaluations": "invited_at", "orders": "created_at",
           "refunds": "created_at", "escalations": "created_at"}


def split(data: Path, out: Path) -> dict:
    """history/ (all days but the last), day/ (the last day), shop_day/ (the last day of one shop)."""
    import pandas as pd

    frames = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in data.glob("*.csv")}
    last = (pd.to_datetime(frames["messages"]["sent_at"]).max() - pd.Timedelta(days=1)).normalize()
    shop = frames["shops"]["shop_id"].iloc[0]
    parts = {"history": {}, "day": {}, "shop_day": {}}
    for name, frame in frames.items():
        if name not in ARRIVAL:
            for part in parts.values():
                part[name] = frame
            continue
        late = pd.to_datetime(frame[ARRIVAL[name]]) >= last
        parts["history"][name], parts["day"][name] = frame[~late], frame[late]
        parts["shop_day"][name] = frame[late & (frame["shop_id"] == shop)]
    for part, tables in parts.items():
        (out / part).mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            frame.to_csv(out / part / f"{name}.csv", index=False)
    return {part: len(tables["messages"]) for part, tables in parts.items()}


def timed_import(db: Path, folder: Path, classify: bool) -> tuple[float, dict]:
    from insight import Store, import_paths

    t = time.time()
    with Store(db) as store:
        report = import_paths(store, [folder], classify=classify)
    return time.time() - t, report.timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spd", type=float, default=21.0, help="sessions per shop per day")
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out" / "incremental"))
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (the median is printed)")
    args = parser.parse_args()
    from insight.demo.generator import DemoConfig, write_demo

    work = Path(args.workdir)
    data = work / f"data-{args.spd}"
    if not (data / "demo.json").exists():
        write_demo(data, DemoConfig(shops=40, days=121, seed=1, sessions_per_day=args.spd))
    sizes = split(data, work / "split")
    base = work / "base.duckdb"
    if not base.exists():
        secs, _ = timed_import(base, work / "split" / "history", classify=True)
        print(f"history: {sizes['history']:,} messages imported in {secs:.1f} s")
    print(f"one more day: {sizes['day']:,} messages (40 shops); one shop's day: {sizes['shop_day']:,} messages")
    from insight.scenarios.model import load_model

    load_model()  # loaded once per process: not part of any import's time
    full = work / "full.duckdb"
    cases = (("into the 120-day store", "day", base), ("into an empty store", "day", None),
             ("one shop's day, into the store", "shop_day", base))
    results: dict[str, list] = {case: [] for case, _, _ in cases}
    for _ in range(args.repeat):  # interleaved, so that a noisy moment hits every case alike
        for case, folder, start in cases:
            for p in (full, Path(str(full) + ".wal")):
                p.unlink(missing_ok=True)
            if start is not None:
                shutil.copy(start, full)
            results[case].append(timed_import(full, work / "split" / folder, classify=True))
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    print(f"\nmedian of {args.repeat} runs; usable = committed, every page works; scenarios follow (background in the app)")
    summary = {}
    for case, runs in results.items():
        usable = median([t["until_usable"] for _, t in runs])
        total = median([s for s, _ in runs])
        scen = median([t.get("scenarios", 0.0) for _, t in runs])
        summary[case] = usable
        steps = ", ".join(f"{k} {median([t.get(k, 0.0) for _, t in runs]):.2f}" for k in runs[0][1])
        print(f"{case:<34} usable {usable:6.2f} s   scenarios {scen:5.2f} s   total {total:6.2f} s\n    ({steps})")
    ratio = summary["into the 120-day store"] / summary["into an empty store"]
    print(f"ratio store/empty until usable: {ratio:.2f}× (target ≤ 1.5×)")
    print(json.dumps({"sizes": sizes}))


if __name__ == "__main__":
    main()
