"""Streamlit pages render (AppTest), on an empty store and on demo data."""

from streamlit.testing.v1 import AppTest

from insight import Store, import_paths
from insight.demo.generator import DemoConfig, write_demo

from conftest import REPO

APP = str(REPO / "app.py")


def test_home_on_an_empty_store_tells_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("还没有数据" in i.value for i in at.info)


def test_home_on_demo_data(tmp_path, monkeypatch):
    folder = tmp_path / "demo"
    write_demo(folder, DemoConfig(shops=5, days=7, seed=2, sessions_per_day=6))
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [folder])
    monkeypatch.setenv("INSIGHT_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert [m.label for m in at.metric][:3] == ["店铺数", "会话数", "消息数"]
    assert at.metric[0].value == "5"


def test_home_on_a_store_from_an_older_version_says_what_to_do(tmp_path, monkeypatch):
    db = tmp_path / "old.duckdb"
    with Store(db) as store:
        store.set_meta("schema_version", "0")
    monkeypatch.setenv("INSIGHT_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("重新导入" in e.value for e in at.error)
