"""Two processes (or test workers) that find no model train it once: the other waits and loads it."""

import threading
import time
from types import SimpleNamespace

from insight.scenarios import model as scenarios


def test_a_missing_model_is_trained_once_by_concurrent_loaders(tmp_path, monkeypatch):
    import joblib

    calls = []
    pipeline = {"fitted": True}
    # the artifact's contents do not matter here, only who trains and who waits
    monkeypatch.setattr(scenarios, "ScenarioModel", lambda p, version, at, n: SimpleNamespace(version=version))

    def fake_train(corrections=(), out=None):
        calls.append(out)
        time.sleep(0.5)  # long enough for the other loader to arrive
        blob = {"pipeline": pipeline, "version": "v1", "trained_at": "now", "n_examples": 1, "corrections": 0}
        partial = out.with_name(f".{out.name}.partial")
        joblib.dump(blob, partial)
        partial.replace(out)
        return SimpleNamespace(version="v1")

    monkeypatch.setattr(scenarios, "train", fake_train)
    path = tmp_path / "model.joblib"
    got = []
    threads = [threading.Thread(target=lambda: got.append(scenarios.load_model(path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and [m.version for m in got] == ["v1", "v1"]
    assert not list(tmp_path.glob(".*.partial"))
