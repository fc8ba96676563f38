"""Scenario classification in the background after an app import: pages work meanwhile, the
progress is visible, and every session ends up classified."""

from insight import Store, import_paths
from insight.demo.generator import DemoConfig, write_demo
from insight.scenarios.store import pending_sessions


def test_background_classification_classifies_every_pending_session(tmp_path, monkeypatch):
    write_demo(tmp_path / "demo", DemoConfig(shops=2, days=5, seed=2, sessions_per_day=6))
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [tmp_path / "demo"], classify=False)
        assert pending_sessions(store.con) > 0
    monkeypatch.setenv("INSIGHT_DB", str(db))
    from insight.ui import data

    data.classify_in_background()
    data.classify_in_background()  # a second import meanwhile: one more pass, never two threads
    job = data._classifying(data.store_path())
    while job.thread.is_alive():
        job.thread.join(timeout=60)
    progress = data.classification_progress()
    assert not progress["running"] and progress["error"] is None
    assert progress["done"] == progress["total"] or progress["total"] == 0
    cursor = data.open_store().cursor()
    try:
        assert pending_sessions(cursor.con) == 0
        assert cursor.con.execute("SELECT count(*) FROM parts_scenario").fetchone()[0] > 0
    finally:
        cursor.close()


def test_an_import_pauses_a_running_classification(tmp_path, monkeypatch):
    """Two writers on one table would conflict: the import stops the classification first (it rolls
    back and is started again after the import)."""
    import threading

    import insight.scenarios.store as scenario_store

    started = threading.Event()

    def endless(store, model, shops=None, progress=None):
        started.set()
        for i in range(10_000):
            progress(i, 10_000)
            threading.Event().wait(0.01)
        raise AssertionError("never paused")

    db = tmp_path / "store.duckdb"
    with Store(db):
        pass
    monkeypatch.setenv("INSIGHT_DB", str(db))
    monkeypatch.setattr(scenario_store, "classify_pending", endless)
    from insight.ui import data

    data.classify_in_background()
    assert started.wait(30)
    assert data.classification_progress()["running"]
    data.pause_background_classification(timeout=30)
    progress = data.classification_progress()
    assert not progress["running"] and progress["error"] is None
