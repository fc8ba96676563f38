"""Page benchmark: time from a filter change in the browser to a fully rendered page, for every
analysis page, on a 40-shop × 120-day demo store (the `make run` store).

A real `streamlit run` server and headless Chromium (Playwright): each step clicks a sidebar
control and waits until no script is running and no element is stale. "miss" steps ask for a
filter value not seen before (the loaders read the parts); "hit" steps return to a seen one.
Prints figures; asserts nothing (target: under 1 s per page on this machine).

    python bench/pages.py [--db data/insight.duckdb] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from browser import chromium, streamlit_server, wait_rendered  # noqa: E402

PAGES = ["satisfaction", "capability", "agents", "agent", "scenarios"]
# First opens only (no sidebar filter of the shared kind to click through)
OPENED = ["", "overview", "live", "bigscreen", "data"]
# (label to click in the sidebar, kind): a cache miss first, then back to a value already shown.
STEPS = [("人工", "miss"), ("机器人", "miss"), ("全部", "hit"), ("非工作时间", "miss"), ("全天", "hit")]


def _store(db: Path) -> Path:
    if db.exists():
        return db
    from insight import Store, import_paths
    from insight.demo.generator import DemoConfig, write_demo

    folder = REPO / "bench" / "out" / "pages-demo"
    print(f"building the demo store {db} (40 shops × 120 days)…", flush=True)
    write_demo(folder, DemoConfig())
    with Store(db) as store:
        import_paths(store, [folder])
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=str(REPO / "bench" / "out" / "pages.duckdb"))
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the steps per page")
    args = ap.parse_args()
    db = _store(Path(args.db))
    rows = []
    with streamlit_server(db) as url, chromium(height=1400) as page:
        # Times run to the page's last change (wait_rendered's answer), not to the end of its wait for quiet.
        # The server warm: every page served once (the process has imported what it uses, loaded the
        # scenario model and opened the store); then a new browser session opens each page for the first time.
        for name in PAGES + OPENED:
            page.goto(f"{url}/{name}")
            wait_rendered(page, 120_000)
        page.context.clear_cookies()
        page = page.context.new_page()
        # A new tab's first page also pays the browser's start of the front end, and its first chart the
        # loading of plotly.js (together 1–2 s here, whichever page comes first): timed apart on 实时监控 (it
        # has a chart), so that each page's first open below is the page's own cost.
        t0 = time.monotonic()
        page.goto(f"{url}/live")
        tab_start = wait_rendered(page, 120_000) - t0
        for name in PAGES + OPENED:
            t0 = time.monotonic()
            page.goto(f"{url}/{name}")
            cold = wait_rendered(page, 120_000) - t0
            times = {"miss": [], "hit": []}
            sidebar = page.locator('[data-testid="stSidebar"]')
            for _ in range(args.repeat if name in PAGES else 0):
                for label, kind in STEPS:
                    t0 = time.monotonic()
                    sidebar.get_by_text(label, exact=True).first.click()
                    times[kind].append(wait_rendered(page, 120_000) - t0)
            rows.append((name or "home", cold, times))
    print(f"\nstore: {db}")
    print(f"{'page':<14}{'first load s':>14}{'change (new) median s':>24}{'max s':>8}{'change (seen) median s':>25}")
    for name, cold, times in rows:
        miss, hit = times["miss"], times["hit"]
        if not miss:
            print(f"{name:<14}{cold:>14.2f}")
            continue
        print(f"{name:<14}{cold:>14.2f}{statistics.median(miss):>24.2f}{max(miss):>8.2f}{statistics.median(hit):>25.2f}")
    print(f"a new tab's first page (实时监控, with the front end's start and plotly.js): {tab_start:.2f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    print("\n'new' repeats count as misses only in the first round; later rounds hit the cache.")


if __name__ == "__main__":
    main()
