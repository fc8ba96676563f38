"""The store: schema, versions and migrations, settings, table-name guard, busy and read-only opens."""

from __future__ import annotations

import subprocess
import sys

import pytest

from insight import StoreError, StoreSettings, UsageError, import_paths
from insight.core.errors import StoreBusy
from insight.derive import apply_settings
from insight.store import SCHEMA_VERSION, Store

from conftest import Chat, messages_of, write_dataset


def _store(tmp_path, evaluations=True):
    chat = Chat("c1", "b1").buyer("10:00:00", "快递到哪了").agent("10:00:20", "在路上")
    evals = [{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1", "invited_by": "agent",
              "invited_at": "2024-05-10 10:05:00", "rating": 4, "rated_at": "2024-05-10 10:06:00"}]
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=messages_of(chat),
                                           evaluations=evals if evaluations else [])])
    return db


def test_a_version_2_store_is_migrated_on_open(tmp_path):
    db = _store(tmp_path)
    with Store(db) as store:  # make it look like a version-2 store: the old scenario parts layout
        store.con.execute("DROP TABLE parts_scenario")
        store.con.execute("""CREATE TABLE parts_scenario (shop_id VARCHAR, day DATE, channel VARCHAR, stage VARCHAR,
            hours VARCHAR, code VARCHAR, ev_invited DOUBLE, ev_rated DOUBLE, ev_satisfied DOUBLE, ev_very DOUBLE,
            ev_bad DOUBLE)""")
        store.set_meta("schema_version", "2")
    with Store(db) as store:
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        cols = [r[0] for r in store.con.execute("DESCRIBE parts_scenario").fetchall()]
        assert "ev_r4" in cols and "ev_satisfied" not in cols
        assert store.con.execute("SELECT sum(ev_rated), sum(ev_r4) FROM parts_scenario").fetchone() == (1, 1)


def test_an_unknown_version_is_refused(tmp_path):
    db = _store(tmp_path, evaluations=False)
    with Store(db) as store:
        store.set_meta("schema_version", "1")
    with pytest.raises(StoreError, match="不一致"):
        Store(db)


def test_settings_are_saved_and_rederive(tmp_path):
    db = _store(tmp_path, evaluations=False)
    with Store(db) as store:
        apply_settings(store, StoreSettings(stage_window_days=7))
        assert store.settings == StoreSettings(7)
        with pytest.raises(UsageError):
            apply_settings(store, StoreSettings(stage_window_days=0))
        assert store.settings == StoreSettings(7)


def test_table_names_are_checked(tmp_path):
    store = Store(None)
    assert store.row_count("shops") == 0
    for bad in ("shops; DROP TABLE meta", "Shops", "x y"):
        with pytest.raises(UsageError):
            store.has_rows(bad)


def test_read_only_open_of_a_missing_file_says_how_to_create_it(tmp_path):
    with pytest.raises(StoreError, match="python -m insight import"):
        Store(tmp_path / "none.duckdb", read_only=True)


def test_a_store_held_by_another_process_is_busy(tmp_path):
    db = _store(tmp_path, evaluations=False)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(db)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        with pytest.raises(StoreBusy, match="正被另一个程序使用"):
            Store(db)
    finally:
        holder.kill()
        holder.wait()


def test_in_memory_store_scratch_folder_goes_with_it():
    store = Store(None)
    folder = store.scratch_dir("x-")
    assert folder.exists() and folder.parent == store.work_dir
    cursor = store.cursor()
    assert cursor.work_dir == store.work_dir
    store.close()
    assert not folder.exists()


def test_a_chat_past_midnight_does_not_make_the_next_day_the_last_day(tmp_path):
    """A shop's last day is the day its last conversation started: the tail of a chat at 00:03 makes
    neither the shop's periods nor the store's span end on an otherwise empty day."""
    from insight.analyses.tables import store_overview
    from insight.core.access import LOCAL

    late = Chat("c1", "b1").buyer("23:58:00", "在吗").agent("2024-05-11 00:03:00", "在的")
    early = Chat("c2", "b2", day="2024-05-09").buyer("10:00:00", "发货了吗").agent("10:00:30", "发了")
    with Store(None) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=messages_of(late, early))])
        assert store.con.execute("SELECT CAST(data_end AS DATE) FROM f_shop_span").fetchone()[0].isoformat() \
            == "2024-05-11"  # the data itself does run past midnight (FCR's observation window uses it)
        spans = store.shops_with_span(viewer=LOCAL)
        assert [d.isoformat() for d in spans["data_start"]] == ["2024-05-09"]
        assert [d.isoformat() for d in spans["data_end"]] == ["2024-05-10"]
        overview = store_overview(store, viewer=LOCAL)
        assert (overview["start"].isoformat(), overview["end"].isoformat(), overview["days"]) == \
            ("2024-05-09", "2024-05-10", 2)
        assert [d.isoformat() for d in overview["per_shop"]["数据结束"]] == ["2024-05-10"]


def test_a_version_4_store_gains_the_squares_and_derives_them_whole(tmp_path):
    """Parts from before the durations' squares were kept: opening adds the columns (zeros) and records every
    shop for a whole derivation; until then a mean's interval is unavailable (never made up from zeros),
    after it the same as a store imported afresh."""
    import datetime as dt

    from insight import MetricEngine, Period
    from insight.core.schema import SQUARE_UNIT_SECONDS
    from insight.derive import refresh_pending
    from insight.store import transaction

    chats = [Chat(f"c{i}", f"b{i}").buyer("10:00:00", "快递到哪了").agent(f"10:00:{w}", "在路上")
             for i, w in enumerate((10, 25, 40))]
    db = tmp_path / "v4.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=messages_of(*chats))])
    day = Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10))
    with Store(db) as store:
        fresh = MetricEngine(store).report("S1", day)["interval"]["avg_response_time"]
        for m in SQUARE_UNIT_SECONDS:
            store.con.execute(f"ALTER TABLE parts DROP COLUMN {m}")
        store.set_meta("schema_version", "4")
    with Store(db) as store:
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        assert store.con.execute("SELECT count(*) FROM derive_pending WHERE since IS NULL").fetchone()[0] == 1
        assert MetricEngine(store).report("S1", day)["interval"]["avg_response_time"] is None
        with transaction(store.con):
            assert refresh_pending(store.con, store.settings) == ["S1"]
        assert fresh is not None and MetricEngine(store).report("S1", day)["interval"]["avg_response_time"] == fresh


def test_an_in_memory_store_dropped_without_close_leaves_no_folder_behind():
    """Its scratch folder goes with it (a caller that forgets close() must not fill /tmp), never before
    the cursors that share it."""
    import gc

    store = Store(None)
    folder = store.work_dir
    cursor = store.cursor()
    del store
    gc.collect()
    assert folder.exists() and cursor.work_dir == folder  # a cursor keeps its store's folder
    del cursor
    gc.collect()
    assert not folder.exists()
    closed = Store(None)
    folder = closed.work_dir
    closed.close()
    assert not folder.exists()


def test_the_import_history_reads_as_imports_with_event_batches_summed(tmp_path):
    """数据管理's 导入历史: a file import as when, how long, which files, rows accepted and rejected (not the
    raw JSON record); live event batches, hundreds during a promotion, summed in one line."""
    import json

    from insight.ingest.events import import_events, parse_events

    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=messages_of(
            Chat("c1").buyer("09:00:00", "在吗").agent("09:00:30", "在的")))])
        for n in range(3):
            row = {"table": "messages", "message_id": f"e{n}", "shop_id": "S1", "session_id": "live",
                   "buyer_id": "bx", "sender_role": "buyer", "sent_at": f"2024-05-10 10:0{n}:00", "content": "你好"}
            import_events(store, parse_events(json.dumps(row).encode()), store.scratch_dir("t-"), by="boss")
        history, events = store.import_history()
    assert len(history) == 1 and events["batches"] == 3 and events["latest"] is not None
    row = history.iloc[0]
    assert row["文件"] == "messages.csv、shops.csv" and row["接受行数"] == 3 and row["拒绝行数"] == 0
    assert "聊天消息 2" in row["各表"] and len(row["开始时间"]) == 19  # to the second
    assert not any("{" in str(v) for v in row.values)  # no raw record
