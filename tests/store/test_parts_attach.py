"""A store file reading a parts folder built elsewhere (``serve --parts``): the same figures as an import,
on the store's connection and on its cursors, imports refused, the file left as it was."""

import datetime as dt
import json

import pytest

from insight.core.errors import ImportFailed
from insight.core.filters import Filters
from insight.core.periods import Period
from insight.ingest.importer import import_paths
from insight.ingest.parts import build_parts
from insight.metrics.engine import MetricEngine
from insight.present.exports import report_json
from insight.store import Store, open_served

from conftest import fingerprint


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from insight.demo.generator import DemoConfig, write_demo

    root = tmp_path_factory.mktemp("attach")
    write_demo(root / "demo", DemoConfig(shops=2, days=12, seed=4, sessions_per_day=8, end=dt.date(2024, 6, 9)))
    build_parts(str(root / "demo"), str(root / "parts"), settings=None)
    return root


def _metrics(store, shop="S001"):
    period = Period(dt.date(2024, 6, 1), dt.date(2024, 6, 9))
    return json.loads(report_json(MetricEngine(store).report(shop, period, Filters())))["metrics"]


def test_attached_folder_gives_the_imported_figures_and_leaves_the_file(built, tmp_path, monkeypatch):
    imported = Store(None)
    import_paths(imported, [built / "demo"], classify=False)
    db = tmp_path / "app.duckdb"
    Store(db).close()
    before = fingerprint(db)
    monkeypatch.setenv("INSIGHT_PARTS", str(built / "parts"))
    with imported, open_served(db) as store:
        expected = _metrics(imported)
        assert expected["satisfaction_rate"] is not None
        assert _metrics(store) == expected
        assert list(store.shops()["shop_id"]) == ["S001", "S002"]
        cursor = store.cursor()  # another thread's connection sees the folder too
        assert _metrics(cursor, "S002") == _metrics(imported, "S002")
        cursor.close()
        with pytest.raises(ImportFailed, match="部件目录"):
            import_paths(store, [built / "demo"], classify=False)
    assert fingerprint(db) == before


def test_a_folder_that_is_not_one_is_refused_before_the_server_starts(tmp_path, monkeypatch):
    from insight.core.errors import UsageError

    monkeypatch.setenv("INSIGHT_PARTS", str(tmp_path))
    with pytest.raises(UsageError, match="manifest"):
        open_served(tmp_path / "app.duckdb")


def test_the_overview_counts_what_the_build_counted_per_viewer(built, tmp_path, monkeypatch):
    from insight.analyses.tables import store_overview
    from insight.core.access import LOCAL, Viewer

    imported = Store(None)
    import_paths(imported, [built / "demo"], classify=False)
    monkeypatch.setenv("INSIGHT_PARTS", str(built / "parts"))
    supervisor = Viewer(name="s", role="supervisor", shops=frozenset({"S002"}))
    with imported, open_served(tmp_path / "app.duckdb") as store:
        for viewer in (LOCAL, supervisor):
            want, got = store_overview(imported, viewer=viewer), store_overview(store, viewer=viewer)
            for key in ("shops", "sessions", "messages", "start", "end", "days", "present"):
                assert got[key] == want[key], (viewer.name, key)
            assert got["tables"].equals(want["tables"]), viewer.name
            assert got["per_shop"].equals(want["per_shop"]), viewer.name
        assert store_overview(store, viewer=supervisor)["messages"] < store_overview(store, viewer=LOCAL)["messages"]
