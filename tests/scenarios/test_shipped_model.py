"""The model trained on the corpus alone is committed (data/scenarios/shipped-model.joblib): a missing or
outdated installed model is replaced by it instead of trained, and it must be what training would give."""

import shutil
from types import SimpleNamespace

import joblib
import pytest

from insight.core.errors import UsageError
from insight.scenarios import model as scenarios


def test_the_committed_shipped_model_is_current():
    blob = joblib.load(scenarios.shipped_model_path())
    assert blob["corrections"] == 0
    assert blob["version"] == scenarios._fingerprint([]), (
        "data/scenarios/shipped-model.joblib is behind the corpus, taxonomy, dictionary or parameters: run "
        "python -m insight train --out data/scenarios/shipped-model.joblib and commit it")


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data/scenarios folder of its own: the real corpus files, a stand-in shipped model, no trainer."""
    for name in ("corpus.txt", "taxonomy.csv", "userdict.txt"):
        shutil.copyfile(scenarios.DATA / name, tmp_path / name)
    monkeypatch.setattr(scenarios, "DATA", tmp_path)
    monkeypatch.setattr(scenarios, "ScenarioModel", lambda p, version, at, n: SimpleNamespace(version=version))
    current, trained = scenarios._fingerprint([]), []

    def write(path, version, corrections=0):
        joblib.dump({"pipeline": {}, "version": version, "trained_at": "now", "n_examples": 1,
                     "corrections": corrections}, path)

    def train(corrections=(), out=None):
        trained.append(out)
        write(out, current)

    monkeypatch.setattr(scenarios, "train", train)

    return SimpleNamespace(folder=tmp_path, current=current, write=write, trained=trained)


@pytest.mark.parametrize("train_if_missing", [True, False])
def test_a_missing_model_is_the_shipped_one_not_a_training(data, train_if_missing):
    data.write(scenarios.shipped_model_path(), data.current)
    assert scenarios.load_model(train_if_missing=train_if_missing).version == data.current
    assert scenarios.model_path().exists() and not data.trained
    assert not list(data.folder.glob(".*.partial"))


@pytest.mark.parametrize("train_if_missing", [True, False])
def test_an_outdated_or_unreadable_model_is_replaced_by_the_shipped_one(data, train_if_missing):
    data.write(scenarios.shipped_model_path(), data.current)
    data.write(scenarios.model_path(), "older")
    assert scenarios.load_model(train_if_missing=train_if_missing).version == data.current
    scenarios.model_path().write_bytes(b"not a pickle")
    assert scenarios.load_model(train_if_missing=train_if_missing).version == data.current
    assert not data.trained


def test_a_model_that_learnt_corrections_is_kept(data):
    data.write(scenarios.shipped_model_path(), data.current)
    data.write(scenarios.model_path(), "learnt", corrections=5)
    assert scenarios.load_model().version == "learnt" and not data.trained


def test_an_outdated_shipped_model_is_not_used(data):
    data.write(scenarios.shipped_model_path(), "older")
    with pytest.raises(UsageError, match="python -m insight train"):
        scenarios.load_model(train_if_missing=False)
    assert not scenarios.model_path().exists()
    scenarios.load_model()  # trains instead
    assert data.trained == [scenarios.model_path()]
