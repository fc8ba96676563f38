"""The scenario model's tuning protocol: the 330 real JD dev dialogues split once, by a hash of their
id, into a *decision* half (the only one a change to the corpus, the features or the decoding may be
judged on) and an *untouched* half (never looked at to decide anything; its figures are the ones to
report). Prints the accuracy per level on both halves for the shipped model, trained from the corpus
only (the dev set is never training data).

    python bench/scenario_protocol.py                # the model as shipped (data/scenarios/model.joblib)
    python bench/scenario_protocol.py --retrain      # retrained from the corpus in memory first

Rule for whoever tunes: run with ``--half decision`` while trying things; read the untouched half
once, when a change is kept, and write the figure into the README. The split is fixed (a hash of the
id, ``scenarios.dev_half``), so nobody can pick a convenient one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from insight.scenarios import model as scenarios  # noqa: E402

DEV = REPO.parent / "shared" / "scenarios" / "jddc_dev.jsonl"


def main() -> None:
    if not DEV.exists():
        print(f"{DEV} is not here: nothing to measure")
        return
    rows = [json.loads(x) for x in DEV.read_text(encoding="utf-8").splitlines() if x.strip()]
    if "--retrain" in sys.argv:  # from the corpus, in memory: the shipped artifact is untouched
        pipeline, n_examples = scenarios.fit_pipeline()
        model = scenarios.ScenarioModel(pipeline, "retrained", "", n_examples)
    else:
        model = scenarios.load_model()
    wanted = sys.argv[sys.argv.index("--half") + 1] if "--half" in sys.argv else None
    print(f"model {model.version} ({model.n_examples:,} training examples)")
    for half in ("decision", "untouched"):
        if wanted and half != wanted:
            continue
        part = [r for r in rows if scenarios.dev_half(r["id"]) == half]
        levels = scenarios.evaluate_dialogues(model, part)["levels"]
        print(f"{half:<10} n={len(part):>3}  accuracy L1 {levels[1]['accuracy']:.3f}  L2 {levels[2]['accuracy']:.3f}"
              f"  L3 {levels[3]['accuracy']:.3f}   macro-F1 L3 {levels[3]['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
