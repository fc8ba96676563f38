"""The data path's edges (issue 9): replace at the session grain, sessions whose messages were all
rejected, XLSX into an existing store, uploads under generated names, resource bounds, and
no statement with more than one command."""

from __future__ import annotations

import os

import openpyxl
import pytest

from insight import ImportFailed, Store, UsageError, import_paths
from insight.core.errors import InsightError
from insight.core.limits import Limits, parse_size
from insight.ingest.readers import SourceFile, read_preview
from insight.ingest.uploads import UploadFolder, sweep_stale_uploads

from conftest import SHOP, Chat, messages_of, write_csv, write_dataset


def _count(store, sql, params=()):
    return store.con.execute(sql, list(params)).fetchone()[0]


def test_replace_works_at_the_session_grain(tmp_path):
    first = Chat("c1").buyer("10:00:00", "一").agent("10:00:05", "二").buyer("10:01:00", "三")
    store = Store(None)
    import_paths(store, [write_dataset(tmp_path / "a", messages=messages_of(first))])
    # The platform's new export of the same session: one message edited, one gone, one new.
    rows = [dict(r) for r in first.rows[:2]]
    rows[1]["content"] = "二（改）"
    rows.append({**rows[0], "message_id": "new1", "sent_at": "2024-05-10 10:02:00", "content": "四"})
    folder = tmp_path / "b"
    folder.mkdir()
    write_csv(folder / "messages.csv", rows)
    refused = import_paths(store, [folder])
    assert refused.tables["messages"].rejected == 1  # without --replace the edit is a conflict
    report = import_paths(store, [folder], replace=True)
    t = report.tables["messages"]
    assert (t.updated, t.removed) == (1, 1)
    stored = store.con.execute("SELECT message_id, content FROM messages WHERE session_id = 'c1' "
                               "ORDER BY sent_at").fetchall()
    assert [c for _, c in stored] == ["一", "二（改）", "四"]
    assert "删除被替换会话中的旧消息 1" in report.summary()
    # Other sessions are untouched by a replace.
    other = Chat("c2").buyer("11:00:00", "别的会话")
    import_paths(store, [write_dataset(tmp_path / "c", messages=messages_of(other))])
    import_paths(store, [folder], replace=True)
    assert _count(store, "SELECT count(*) FROM messages WHERE session_id = 'c2'") == 1


def test_a_session_whose_messages_were_all_rejected_is_rejected_too(tmp_path):
    bad = Chat("s_bad").buyer("10:00:00").agent("10:00:05")
    for r in bad.rows:
        r["sent_at"] = "不是时间"
    good = Chat("s_ok").buyer("11:00:00").agent("11:00:05")
    sessions = [{"session_id": s, "shop_id": "S1", "buyer_id": "b1", "started_at": f"2024-05-10 {h}:00:00",
                 "ended_at": f"2024-05-10 {h}:10:00"} for s, h in (("s_bad", 10), ("s_ok", 11))]
    store = Store(None)
    report = import_paths(store, [write_dataset(tmp_path / "d", sessions=sessions, messages=messages_of(bad, good))])
    assert report.tables["sessions"].rejected == 1
    assert report.tables["sessions"].reasons[0].reason.startswith("该会话的消息全部被拒绝")
    assert [r[0] for r in store.con.execute("SELECT session_id FROM sessions").fetchall()] == ["s_ok"]
    assert _count(store, "SELECT count(*) FROM f_sessions WHERE session_id = 's_bad'") == 0
    # A sessions file alone (its messages come later) is kept as it is.
    store2 = Store(None)
    import_paths(store2, [write_dataset(tmp_path / "e", sessions=sessions[:1],
                                        messages=messages_of(Chat("x").buyer("12:00:00")))])
    assert _count(store2, "SELECT count(*) FROM sessions") == 1


def test_xlsx_first_into_an_existing_store(tmp_path):
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(tmp_path / "a", messages=messages_of(Chat("c1").buyer("10:00:00")))])
    rows = messages_of(Chat("c2").buyer("11:00:00", "表格里的").agent("11:00:03"))
    book = openpyxl.Workbook()
    cols = list(rows[0])
    book.active.append(cols)
    for r in rows:
        book.active.append([r[c] for c in cols])
    folder = tmp_path / "x"
    folder.mkdir()
    book.save(folder / "messages.xlsx")
    write_csv(folder / "orders.csv", [{"order_id": "o1", "shop_id": "S1", "buyer_id": "b1",
                                       "created_at": "2024-05-10 11:05:00", "amount": "10"}])
    with Store(db) as store:  # a fresh process's store: get_meta before the XLSX is registered
        report = import_paths(store, [folder / "messages.xlsx", folder / "orders.csv"])
    assert report.tables["messages"].inserted == 2 and report.tables["orders"].inserted == 1


def test_a_failed_import_leaves_no_staging_and_no_scratch_files(tmp_path):
    db = tmp_path / "store.duckdb"
    folder = write_dataset(tmp_path / "a", messages=messages_of(Chat("c1").buyer("10:00:00")))
    (folder / "orders.csv").write_text("order_id,shop_id\n1,\"S1\n", encoding="utf-8")
    with Store(db) as store:
        with pytest.raises(ImportFailed, match="引号没有闭合"):
            import_paths(store, [folder])
        assert not store.con.execute("SELECT * FROM duckdb_tables() WHERE table_name LIKE '_stg_%'").fetchall()
        assert not [p for p in store.work_dir.iterdir() if p.name.startswith("import-")]
        assert not store.has_rows("shops")


def test_memory_limit_and_spill_folder_are_set_from_the_machine(tmp_path, monkeypatch):
    with Store(tmp_path / "s.duckdb") as store:
        limit = store.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        temp = store.con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert "MiB" in limit or "GiB" in limit
    assert temp.startswith(str(tmp_path))
    monkeypatch.setenv("INSIGHT_MEMORY_LIMIT", "300MB")
    assert Limits.from_env().memory_limit_bytes == 300_000_000
    for bad in ("1GB'; DROP TABLE x; --", "lots", "-1GB"):
        with pytest.raises(UsageError):
            parse_size(bad, "INSIGHT_MEMORY_LIMIT")
    monkeypatch.setenv("INSIGHT_MEMORY_LIMIT", "1GB; SELECT 1")
    with pytest.raises(UsageError):
        Store(None)


def test_csv_bound_names_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_MAX_FILE_MB", "1")
    folder = tmp_path / "big"
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP])
    write_csv(folder / "messages.csv", [{**Chat("c").buyer("10:00:00", "x" * 1000).rows[0], "message_id": f"m{i}"}
                                        for i in range(1200)])
    with pytest.raises(ImportFailed, match="INSIGHT_MAX_FILE_MB"):
        import_paths(Store(None), [folder])


def test_uploads_get_generated_names_in_a_private_folder(tmp_path):
    uploads = UploadFolder(tmp_path)
    path = uploads.path_for("id1", "../../x/shops.csv")
    assert path.parent == uploads.path and path.name == "upload-001.csv"
    assert uploads.path_for("id2", "/etc/passwd.parquet").name == "upload-002.parquet"
    assert oct(uploads.path.stat().st_mode & 0o777) == "0o700"
    with pytest.raises(ImportFailed):
        uploads.path_for("id3", "evil.py")
    path.write_text("x")
    uploads.keep_only(["id2"])
    assert not path.exists()
    uploads.remove()
    assert not uploads.path.exists()
    old = UploadFolder(tmp_path)
    os.utime(old.path, (0, 0))
    assert sweep_stale_uploads(tmp_path) == 1 and not old.path.exists()


def test_the_upload_label_names_the_file_in_reasons(tmp_path):
    folder = write_dataset(tmp_path / "a", messages=messages_of(Chat("c0").buyer("09:00:00")))
    msgs = messages_of(Chat("c1").buyer("10:00:00"))
    msgs[0]["sent_at"] = "坏"
    write_csv(tmp_path / "upload-001.csv", msgs)
    store = Store(None)
    import_paths(store, [folder])
    from insight import import_sources

    report = import_sources(store, [SourceFile(tmp_path / "upload-001.csv", "messages", label="=聊天记录.csv")])
    assert report.tables["messages"].reasons[0].file == "=聊天记录.csv"
    report_dir = tmp_path / "rep"
    import_sources(store, [SourceFile(tmp_path / "upload-001.csv", "messages", label="=聊天记录.csv")],
                   report_dir=report_dir)
    assert "'=聊天记录.csv" in (report_dir / "rejected_messages.csv").read_text(encoding="utf-8")


def test_gbk_preview_shows_rows(tmp_path):
    path = tmp_path / "聊天.csv"
    path.write_bytes("会话ID,消息内容\nc1,你好\nc1,在吗\n".encode("gb18030"))
    headers, rows = read_preview(path)
    assert headers == ["会话ID", "消息内容"] and rows == [["c1", "你好"], ["c1", "在吗"]]


def test_a_built_statement_with_two_commands_is_refused(tmp_path):
    from insight.ingest.importer import _Importer

    store = Store(None)
    importer = _Importer(store, [], [], replace=False, progress=None)
    assert importer._sql("SELECT 42").fetchone() == (42,)
    with pytest.raises(ImportFailed, match="一条 SQL"):
        importer._sql("SELECT 1; DROP TABLE shops")
    assert store.has_rows("shops") is False and store.row_count("shops") == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_the_mapping_preview_shows_the_first_rows_of_every_encoding(tmp_path, encoding):
    path = tmp_path / "聊天记录.csv"
    text = "买家昵称,发送时间,消息内容,发送方\n新买家甲,2026-10-31 10:00:00,在吗,买家\n新买家甲,2026-10-31 10:00:09,,买家\n"
    if encoding == "utf-16":  # not a supported encoding: said clearly, not shown as an empty preview
        path.write_bytes(text.encode("utf-16"))
        with pytest.raises(InsightError):
            read_preview(path)
        return
    path.write_bytes(text.encode(encoding))
    headers, rows = read_preview(path)
    assert headers == ["买家昵称", "发送时间", "消息内容", "发送方"]
    assert rows[0] == ["新买家甲", "2026-10-31 10:00:00", "在吗", "买家"] and rows[1][0] == "新买家甲"
