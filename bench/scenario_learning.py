"""The scenario model learning a shop from its corrections, simulated on the dev set: one half of the JD
dialogues is the shop's pool (its chats, whose true scenario a user gives when asked), the other half is
judged. For each number of corrections, the chats are chosen by the product (``learning._selection`` on the
shipped model's evidence, as ``scenarios suggest`` does) or at random (each seed), the model is trained the
way ``train --db`` trains (``fit_pipeline`` with ``training_pairs`` of the corrected chats), and the judged
half is classified. Prints the learning curve (accuracy at levels 1 and 3, mean over seeds) and each fit's time.

    python bench/scenario_learning.py [--points 0,25,50,100,150] [--seeds 3] [--strategies product,random]

The dev set is never training data of the shipped model; here its pool half stands for a shop's answers.
Each fit is a full training of the bag (≈ 55 s on 2 cores): the whole curve takes a while.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from insight.scenarios import model as scenarios  # noqa: E402
from insight.scenarios.learning import _selection  # noqa: E402
from insight.scenarios.store import training_pairs  # noqa: E402

DEV = REPO.parent / "shared" / "scenarios" / "jddc_dev.jsonl"


def _accuracy(model, dialogues) -> tuple[float, float]:
    result = scenarios.evaluate_dialogues(model, dialogues)["levels"]
    return result[1]["accuracy"], result[3]["accuracy"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="0,25,50,100,150")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--strategies", default="product,random")
    args = ap.parse_args()
    if not DEV.exists():
        print(f"{DEV} is not here: nothing to measure")
        return
    dialogues = [json.loads(x) for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
    pool = [d for d in dialogues if scenarios.dev_half(d["id"]) == "decision"]
    judged = [d for d in dialogues if scenarios.dev_half(d["id"]) != "decision"]
    base = scenarios.load_model(scenarios.shipped_model_path(), train_if_missing=False)
    shares, features = base.chat_evidence([d["messages"] for d in pool])
    likeness = (features @ features.T).toarray()
    for i in range(len(pool)):
        likeness[i, i] = 0.0
    points = [int(p) for p in args.points.split(",")]
    print(f"pool {len(pool)} chats, judged {len(judged)}; base model {base.version}")
    print(f"{'strategy':<10}{'n':>5}{'L1':>8}{'L3':>8}{'fit s':>8}")
    for strategy in args.strategies.split(","):
        for n in points:
            results, seconds = [], []
            for seed in range(args.seeds if strategy == "random" else 1):  # the product's choice has no seed
                if n == 0:
                    results.append(_accuracy(base, judged))
                    break
                if strategy == "product":
                    chosen = _selection(shares, likeness, n)
                else:
                    chosen = random.Random(seed).sample(range(len(pool)), min(n, len(pool)))
                sentences = [(m["content"], pool[i]["scenario"]) for i in chosen for m in pool[i]["messages"]
                             if m["role"] == "buyer"]
                t0 = time.perf_counter()
                pipeline, examples = scenarios.fit_pipeline(training_pairs(sentences, base))
                seconds.append(time.perf_counter() - t0)
                results.append(_accuracy(scenarios.ScenarioModel(pipeline, "bench", "", examples), judged))
            l1 = statistics.mean(r[0] for r in results)
            l3 = statistics.mean(r[1] for r in results)
            fit = f"{statistics.mean(seconds):8.1f}" if seconds else f"{'—':>8}"
            print(f"{strategy:<10}{n:>5}{l1:>8.3f}{l3:>8.3f}{fit}", flush=True)


if __name__ == "__main__":
    main()
