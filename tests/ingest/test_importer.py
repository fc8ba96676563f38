"""The importer: every bad-input rule, encodings and formats, idempotency, atomicity."""

import os
import signal
import subprocess
import sys
import time

import pytest

from insight import ImportFailed, Store, import_paths

from conftest import REPO, SHOP, Chat, messages_of, write_csv, write_dataset


def _base(tmp_path, name="base", **tables):
    tables.setdefault("messages", messages_of(Chat("c1", "b1").buyer("10:00:00").agent("10:00:20")))
    return write_dataset(tmp_path / name, **tables)


def _snapshot(store: Store) -> dict:
    tables = ["shops", "messages", "sessions", "evaluations", "orders", "parts", "f_sessions", "imports",
              "parts_sales"]
    return {t: store.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


def _reasons(report, table):
    return [(r.line, r.column, r.reason) for r in report.tables[table].reasons]


def test_bad_rows_are_rejected_with_file_line_column_and_reason(tmp_path):
    good = Chat("c1", "b1").buyer("10:00:00").agent("10:00:20")
    rows = messages_of(good) + [
        {"message_id": "x1", "shop_id": "NOPE", "session_id": "c9", "buyer_id": "b1", "sender_role": "buyer",
         "sent_at": "2024-05-10 10:00:00"},                                  # line 4: unknown shop
        {"message_id": "x2", "shop_id": "S1", "session_id": "c9", "buyer_id": "b1", "sender_role": "buyer",
         "sent_at": "2024-13-40 10:00:00"},                                  # line 5: bad time
        {"message_id": "x3", "shop_id": "S1", "session_id": "c9", "buyer_id": "b1", "sender_role": "客服",
         "sent_at": "2024-05-10 10:00:00"},                                  # line 6: agent without agent_id
        {"message_id": "x4", "shop_id": "S1", "session_id": "c9", "buyer_id": "b1", "sender_role": "boss",
         "sent_at": "2024-05-10 10:00:00"},                                  # line 7: unknown role
        {"message_id": "", "shop_id": "S1", "session_id": "c9", "buyer_id": "b1", "sender_role": "buyer",
         "sent_at": "2024-05-10 10:00:00"},                                  # line 8: empty key
    ]
    evals = [{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1", "invited_by": "agent",
              "invited_at": "2024-05-10 11:00:00", "rating": 7}]
    folder = write_dataset(tmp_path / "d", messages=rows, evaluations=evals)
    store = Store(None)
    report = import_paths(store, [folder], report_dir=tmp_path / "report")
    msg = report.tables["messages"]
    assert (msg.read, msg.inserted, msg.rejected) == (7, 2, 5)
    got = _reasons(report, "messages")
    assert [(line, col) for line, col, _ in got] == [
        (4, "shop_id"), (5, "sent_at"), (6, "agent_id"), (7, "sender_role"), (8, "message_id")]
    assert "未知店铺" in got[0][2] and "2024-13-40" in got[1][2]
    assert report.tables["evaluations"].rejected == 1
    assert "rating" == report.tables["evaluations"].reasons[0].column
    rejected = (tmp_path / "report" / "rejected_messages.csv").read_text(encoding="utf-8")
    assert rejected.count("\n") == 6 and "NOPE" in rejected
    assert (tmp_path / "report" / "report.json").exists()
    stored = store.con.execute("SELECT count(*) FROM import_rejects").fetchone()[0]
    assert stored == 6


def test_message_before_its_session_and_duplicate_keys(tmp_path):
    sessions = [{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1", "started_at": "2024-05-10 10:00:00",
                 "ended_at": "2024-05-10 10:30:00", "transferred_at": "2024-05-10 10:00:00"}]
    rows = messages_of(Chat("c1", "b1").buyer("09:59:00").buyer("10:00:00").agent("10:00:20"))
    rows.append(dict(rows[1]))                      # identical repeat: harmless
    rows.append(dict(rows[2], content="不同内容"))  # same key, other content: rejected
    folder = write_dataset(tmp_path / "d", sessions=sessions, messages=rows)
    store = Store(None)
    report = import_paths(store, [folder])
    reasons = _reasons(report, "messages")
    assert reasons[0][0] == 2 and "早于会话开始时间" in reasons[0][2]
    assert sum("出现多次且内容不同" in r for _, _, r in reasons) == 2
    assert report.tables["messages"].inserted == 1
    assert report.tables["messages"].unchanged == 1


def test_conflict_with_stored_row_is_rejected_unless_replace(tmp_path):
    store = Store(None)
    import_paths(store, [_base(tmp_path)])
    changed = write_dataset(tmp_path / "changed", shops=[dict(SHOP, shop_name="新名字")])
    report = import_paths(store, [changed / "shops.csv"])
    assert report.tables["shops"].rejected == 1 and "--replace" in report.tables["shops"].reasons[0].reason
    assert store.con.execute("SELECT shop_name FROM shops").fetchone()[0] == "测试店"
    report = import_paths(store, [changed / "shops.csv"], replace=True)
    assert report.tables["shops"].updated == 1
    assert store.con.execute("SELECT shop_name FROM shops").fetchone()[0] == "新名字"


def test_importing_the_same_files_twice_changes_nothing(tmp_path):
    folder = _base(tmp_path, evaluations=[{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1",
                                           "invited_by": "agent", "invited_at": "2024-05-10 11:00:00",
                                           "rating": 5, "rated_at": "2024-05-10 11:00:10"}])
    store = Store(None)
    import_paths(store, [folder])
    before = _snapshot(store)
    report = import_paths(store, [folder])
    assert not report.changed
    assert report.tables["messages"].unchanged == 2
    assert _snapshot(store) == before


def test_missing_required_column_fails_the_whole_import(tmp_path):
    store = Store(None)
    import_paths(store, [_base(tmp_path)])
    before = _snapshot(store)
    bad = tmp_path / "bad"
    bad.mkdir()
    write_csv(bad / "orders.csv", [{"order_id": "o1", "shop_id": "S1", "buyer_id": "b1",
                                    "created_at": "2024-05-10 10:00:00"}])  # no amount
    write_csv(bad / "evaluations.csv", [{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1",
                                         "invited_by": "agent", "invited_at": "2024-05-10 11:00:00"}])
    with pytest.raises(ImportFailed, match="amount"):
        import_paths(store, [bad])
    assert _snapshot(store) == before


def test_dataset_needs_shops_and_messages(tmp_path):
    folder = tmp_path / "only_shops"
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP])
    store = Store(None)
    with pytest.raises(ImportFailed, match="messages"):
        import_paths(store, [folder])
    assert store.row_count("shops") == 0


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path, encoding):
    folder = tmp_path / encoding
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP], encoding=encoding)
    write_csv(folder / "messages.csv", messages_of(Chat("c1", "b1").buyer("10:00:00", "这件衣服有货吗")
                                                   .agent("10:00:20", "有的亲")), encoding=encoding)
    store = Store(None)
    import_paths(store, [folder])
    assert store.con.execute("SELECT shop_name FROM shops").fetchone()[0] == "测试店"
    assert store.con.execute("SELECT content FROM messages ORDER BY sent_at").fetchone()[0] == "这件衣服有货吗"


def test_xlsx_and_parquet(tmp_path):
    import openpyxl
    import pandas as pd

    folder = tmp_path / "mixed"
    folder.mkdir()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(SHOP))
    sheet.append(list(SHOP.values()))
    book.save(folder / "shops.xlsx")
    rows = messages_of(Chat("c1", "b1").buyer("10:00:00").agent("10:00:20"))
    frame = pd.DataFrame(rows)
    frame["sent_at"] = pd.to_datetime(frame["sent_at"])
    frame.to_parquet(folder / "messages.parquet")
    # An XLSX evaluation whose times are real Excel datetimes.
    import datetime as dt
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["session_id", "shop_id", "buyer_id", "invited_by", "invited_at", "rating", "rated_at"])
    sheet.append(["c1", "S1", "b1", "agent", dt.datetime(2024, 5, 10, 11), 4.0, dt.datetime(2024, 5, 10, 11, 5)])
    sheet.append(["c1", "S1", "b1", "agent", "not a time", 4, None])
    book.save(folder / "evaluations.xlsx")
    store = Store(None)
    report = import_paths(store, [folder])
    assert report.tables["shops"].inserted == 1
    assert report.tables["messages"].inserted == 2
    ev = report.tables["evaluations"]
    assert ev.inserted == 1 and ev.rejected == 1 and ev.reasons[0].line == 3
    assert store.con.execute("SELECT rating FROM evaluations").fetchone()[0] == 4


def test_iso_offsets_are_converted_to_the_shop_timezone(tmp_path):
    shops = [SHOP, {"shop_id": "S2", "shop_name": "纽约店", "platform": "other", "category": "服饰", "tier": 1,
                    "timezone": "America/New_York"}]
    rows = messages_of(Chat("c1", "b1").buyer("2024-05-10T02:00:00Z").agent("2024-05-10T10:00:30+08:00"),
                       Chat("c2", "b2", shop_id="S2").buyer("2024-05-10T14:00:00Z"))
    store = Store(None)
    import_paths(store, [write_dataset(tmp_path / "tz", shops=shops, messages=rows)])
    got = store.con.execute("SELECT message_id, CAST(sent_at AS VARCHAR) FROM messages ORDER BY 1").fetchall()
    assert [t for _, t in got] == ["2024-05-10 10:00:00", "2024-05-10 10:00:30", "2024-05-10 10:00:00"]


def test_unknown_timezone_and_platform_are_rejected(tmp_path):
    shops = [dict(SHOP, shop_id="S9", timezone="Mars/Base"), dict(SHOP, shop_id="S8", platform="ebay"), SHOP]
    store = Store(None)
    report = import_paths(store, [_base(tmp_path, shops=shops)])
    cols = sorted(r.column for r in report.tables["shops"].reasons)
    assert cols == ["platform", "timezone"]


def test_a_killed_import_leaves_the_store_as_it_was(tmp_path):
    db = tmp_path / "store.duckdb"
    first = _base(tmp_path, "first")
    with Store(db) as store:
        import_paths(store, [first])
        before = _snapshot(store)
    second = write_dataset(tmp_path / "second", messages=messages_of(
        Chat("c2", "b2", "2024-05-11").buyer("10:00:00").agent("10:00:20")))
    env = dict(os.environ, INSIGHT_IMPORT_PAUSE_BEFORE_COMMIT="30")
    proc = subprocess.Popen([sys.executable, "-m", "insight", "import", "--db", str(db), str(second)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    line = ""
    while time.time() < deadline and "about to commit" not in line:
        line = proc.stdout.readline()
    assert "about to commit" in line, proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with Store(db) as store:
        assert _snapshot(store) == before
        report = import_paths(store, [second])  # and the import still works afterwards
        assert report.tables["messages"].inserted == 2


def test_parts_are_refreshed_incrementally_per_shop(tmp_path):
    shops = [SHOP, dict(SHOP, shop_id="S2", shop_name="二店")]
    first = write_dataset(tmp_path / "first", shops=shops, messages=messages_of(
        Chat("a1", "b1").buyer("10:00:00").agent("10:00:20"),
        Chat("b1", "b9", shop_id="S2").buyer("10:00:00").agent("10:00:20")))
    store = Store(None)
    import_paths(store, [first])
    s1_before = store.con.execute("SELECT * FROM parts WHERE shop_id = 'S1' ORDER BY ALL").fetchall()
    more = write_dataset(tmp_path / "more", shops=shops, messages=messages_of(
        Chat("b2", "b8", shop_id="S2").buyer("11:00:00").agent("11:05:00")))
    report = import_paths(store, [more])
    assert report.affected_shops == ["S2"]
    assert store.con.execute("SELECT * FROM parts WHERE shop_id = 'S1' ORDER BY ALL").fetchall() == s1_before
    assert store.con.execute("SELECT sum(ses_manual), sum(msg_3min_ok) FROM parts WHERE shop_id = 'S2'"
                             ).fetchone() == (2.0, 1.0)


def test_a_ragged_csv_row_fails_the_import_with_its_line(tmp_path):
    folder = tmp_path / "ragged"
    folder.mkdir()
    (folder / "shops.csv").write_text("shop_id,shop_name,platform,category,tier\nS1,a,taobao,x,1\n"
                                      "S2,b,taobao,x,1,EXTRA\n", encoding="utf-8")
    write_csv(folder / "messages.csv", messages_of(Chat("c1", "b1").buyer("10:00:00")))
    store = Store(None)
    with pytest.raises(ImportFailed, match="第 3 行: 应有 5 列，实际 6 列"):
        import_paths(store, [folder])
    assert store.row_count("shops") == 0


def test_semicolon_and_tab_delimited_csv(tmp_path):
    folder = tmp_path / "delims"
    folder.mkdir()
    (folder / "shops.csv").write_text("shop_id;shop_name;platform;category;tier\nS1;店;taobao;服饰;3\n",
                                      encoding="utf-8")
    rows = messages_of(Chat("c1", "b1").buyer("10:00:00", "你好, 在吗").agent("10:00:20"))
    cols = list(rows[0])
    text = "\t".join(cols) + "\n" + "\n".join("\t".join(str(r.get(c) or "") for c in cols) for r in rows) + "\n"
    (folder / "messages.csv").write_text(text, encoding="utf-8")
    store = Store(None)
    import_paths(store, [folder])
    assert store.con.execute("SELECT content FROM messages ORDER BY sent_at").fetchone()[0] == "你好, 在吗"


def test_upload_mapping_plan_review_and_source(tmp_path):
    from insight.ingest.mapping import needs_review, save_preset, start_mapping
    from insight.ingest.readers import mapped_source

    headers = ["店铺编号", "店铺名", "平台", "主营类目", "店铺层级"]
    assert needs_review("店铺导出.csv", headers) == ("shops", False)
    assert needs_review("随便.csv", ["甲", "乙"]) == (None, True)
    store = Store(None)
    mapping = start_mapping(store.con, "shops", headers)
    assert mapping["shop_id"] == "店铺编号" and mapping["tier"] == "店铺层级"
    save_preset(store.con, "我的方案", "shops", {**mapping, "shop_name": None})
    assert start_mapping(store.con, "shops", headers, "我的方案")["shop_name"] is None
    source, problems = mapped_source(tmp_path / "x.csv", "shops", mapping, "店铺导出.csv")
    assert problems == [] and source.label == "店铺导出.csv" and ("店铺编号", "shop_id") in source.mapping
    source, problems = mapped_source(tmp_path / "x.csv", "shops", {**mapping, "shop_id": None}, "店铺导出.csv")
    assert source is None and any("shop_id" in p for p in problems)


def test_classification_follows_the_commit_and_its_failure_loses_nothing(tmp_path, monkeypatch):
    """The figures do not wait for the scenario model: the import commits first; a model that cannot
    load leaves the sessions unclassified, says so, and keeps every imported row."""
    import insight.scenarios.model as model
    from insight.core.errors import UsageError
    from insight.scenarios.store import pending_sessions

    from conftest import SHOP, Chat, write_csv

    def broken(*args, **kwargs):
        raise UsageError("模型文件损坏")

    monkeypatch.setattr(model, "load_model", broken)
    folder = tmp_path / "d"
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP])
    write_csv(folder / "messages.csv", Chat("s1", "b1").buyer("10:00:00", "在吗").agent("10:00:30", "在").rows)
    store = Store(None)
    report = import_paths(store, [folder])
    assert report.tables["messages"].inserted == 2 and report.import_id
    assert any("咨询场景尚未判定" in n for n in report.notes)
    assert pending_sessions(store.con) == 1
    assert "until_usable" in report.timings and "scenarios" in report.timings
