"""The derivation itself: batching, incremental refresh of the touched shops, settings re-derivation."""

from insight import Store, StoreSettings, import_paths
from insight.demo.generator import DemoConfig, write_demo
from insight.derive import _derive as derive
from insight.derive import apply_settings

TABLES = ("parts", "parts_sales", "parts_tags", "f_sessions")


def _snapshot(store):
    return {t: store.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def test_batched_derivation_equals_one_batch(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    write_demo(folder, DemoConfig(shops=6, days=10, seed=9, sessions_per_day=6))

    def build():
        store = Store(None)
        import_paths(store, [folder], classify=False)
        return _snapshot(store)

    whole = build()
    monkeypatch.setattr(derive, "BATCH_MESSAGES", 50)  # one shop per batch
    assert build() == whole


def test_a_full_refresh_changes_nothing_and_settings_round_trip(tmp_path):
    folder = tmp_path / "tiny"
    write_demo(folder, DemoConfig(shops=5, days=8, seed=2, sessions_per_day=5))
    store = Store(None)
    import_paths(store, [folder], classify=False)
    before = _snapshot(store)
    derive.refresh(store.con, shops=None, settings=store.settings)  # all shops again: same rows
    assert _snapshot(store) == before
    apply_settings(store, StoreSettings(stage_window_days=3))
    assert _snapshot(store) != before
    apply_settings(store, StoreSettings(stage_window_days=21))
    assert _snapshot(store) == before
