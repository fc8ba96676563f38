"""Scenario classifier throughput: chats per second on one core, with triggers, on demo chats
(short, 6–10 messages) and, when ../shared is present, on the real JD dev dialogues (~27 turns); then
bulk classification as an import runs it (distinct chats, triggers stored without words) on one core
and on every core.

Run it as `make bench` does; it pins BLAS to one thread so the figure is per core. Prints figures.
`--seeds N` also trains the corpus N more times, each a whole bag of augmentations from its own seeds
(1000, 1001, …; 2000, …; in memory, the artifact untouched) and prints the dev-set accuracy per level
over them: one run is one draw, the spread is the error bar.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from insight.demo.generator import DemoConfig, write_demo
from insight.scenarios import model as scenarios


def _demo_chats(n_shops: int = 4) -> list[list[dict]]:
    import pandas as pd

    folder = REPO / "bench" / "out" / "scenario-demo"
    if not (folder / "messages.csv").exists():
        write_demo(folder, DemoConfig(shops=n_shops, days=30, seed=3))
    msgs = pd.read_csv(folder / "messages.csv", usecols=["session_id", "sender_role", "content", "sent_at"])
    msgs = msgs.sort_values(["session_id", "sent_at"], kind="stable")
    return [[{"role": r, "content": c} for r, c in zip(g["sender_role"], g["content"].fillna(""))]
            for _, g in msgs.groupby("session_id", sort=False)]


def _rate(model, chats, label: str) -> None:
    scenarios.normalise.cache_clear()
    scenarios._tokens.cache_clear()
    scenarios._block_tokens.cache_clear()
    t0 = time.perf_counter()
    model.classify(chats)
    cold = len(chats) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.classify(chats)
    warm = len(chats) / (time.perf_counter() - t0)
    turns = sum(1 for c in chats for m in c if m["role"] == "buyer")
    print(f"{label:<28}{len(chats):>8,} chats {turns / len(chats):>6.1f} buyer turns/chat"
          f"{cold:>10,.0f} chats/s (cold caches){warm:>10,.0f} chats/s (warm)")


def _bulk(model, rows: list[dict]) -> None:
    """What an import does: distinct JD-length chats (each dev dialogue ten times, a different character
    appended to every turn so that no cache serves a copy), triggers stored without their words, on one
    process and on every core."""
    suffix = "甲乙丙丁戊己庚辛壬癸"
    chats = [[{**m, "content": f"{m['content']}{suffix[k]}"} for m in r["messages"]] for k in range(10) for r in rows]
    cores = scenarios.usable_cores()
    for label, run in (("one core, words explained", lambda: model.classify(chats)),
                       ("one core, as stored", lambda: model.classify(chats, explain=False)),
                       (f"{cores} processes, as stored",
                        lambda: model.classify_parallel(chats, workers=cores, explain=False))):
        scenarios.normalise.cache_clear()
        scenarios._tokens.cache_clear()
        scenarios._block_tokens.cache_clear()
        t0 = time.perf_counter()
        run()
        print(f"JD-length, distinct: {label:<28}{len(chats) / (time.perf_counter() - t0):>8,.0f} chats/s")


def _seed_spread(rows: list[dict], n_seeds: int) -> None:
    import numpy as np

    corpus = scenarios.load_corpus()
    results = []
    for seed in range(1, n_seeds + 1):
        pipeline, n_examples = scenarios.fit_pipeline(corpus=corpus, seed=seed * 1000)
        model = scenarios.ScenarioModel(pipeline, f"seed{seed}", "", n_examples)
        levels = scenarios.evaluate_dialogues(model, rows)["levels"]
        results.append([levels[k]["accuracy"] for k in (1, 2, 3)])
        print(f"seed {seed:>2}: " + " / ".join(f"{a:.3f}" for a in results[-1]), flush=True)
    acc = np.array(results)
    for name in ("mean", "min", "max"):
        print(f"{name:<8}" + " / ".join(f"{v:.3f}" for v in getattr(acc, name)(axis=0)) + "  (level 1 / 2 / 3)")


def main() -> None:
    every_core = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if every_core:
        os.sched_setaffinity(0, {min(every_core)})  # one core
    t0 = time.perf_counter()
    model = scenarios.load_model()
    print(f"model {model.version} loaded in {time.perf_counter() - t0:.1f} s")
    model.classify([[{"role": "buyer", "content": "预热"}]])  # jieba's dictionary loads once
    _rate(model, _demo_chats(), "demo chats")
    dev = REPO.parent / "shared" / "scenarios" / "jddc_dev.jsonl"
    if dev.exists():
        rows = [json.loads(x) for x in dev.read_text(encoding="utf-8").splitlines() if x.strip()]
        _rate(model, [r["messages"] for r in rows], "JD dev dialogues")
        if every_core:
            os.sched_setaffinity(0, every_core)  # the bulk figures may use every core
        _bulk(model, rows)
        if "--seeds" in sys.argv:
            _seed_spread(rows, int(sys.argv[sys.argv.index("--seeds") + 1]))


if __name__ == "__main__":
    main()
