"""Chat logs as the platforms export them: Chinese headers, no message ids, no session ids, no shop
column (named at import with --shop). Sessions are cut by METRICS.md's gap rule."""

from __future__ import annotations

import contextlib
import csv
import io
import json

from conftest import SHOP, Chat, write_csv

# A store needs shops and messages: an unrelated chat of another buyer, another day.
BASE = Chat("z1", "z", day="2024-05-01").buyer("09:00:00", "你好").rows
from insight import Store, import_paths
from insight.cli import main

# (buyer, role, time, text) — b1: 30 min exactly stays in the session, 40 min opens a new one;
# b2 crosses midnight 20 min apart (one session); b3 comes back after 30 min and 1 s (two sessions).
ROWS = [
    ("b1", "buyer", "2024-05-10 10:00:00", "在吗"), ("b1", "agent", "2024-05-10 10:00:20", "在的"),
    ("b1", "buyer", "2024-05-10 10:30:20", "还有一个问题"), ("b1", "agent", "2024-05-10 10:31:00", "您说"),
    ("b1", "buyer", "2024-05-10 11:11:00", "又来了"), ("b1", "agent", "2024-05-10 11:14:30", "您好"),
    ("b2", "buyer", "2024-05-10 23:50:00", "发货了吗"), ("b2", "agent", "2024-05-10 23:52:00", "明天发"),
    ("b2", "buyer", "2024-05-11 00:12:00", "好的"),
    ("b3", "buyer", "2024-05-11 09:00:00", "有货吗"), ("b3", "agent", "2024-05-11 09:00:40", "有"),
    ("b3", "buyer", "2024-05-11 09:31:01", "那我拍了"),
]
SESSIONS = ["s1", "s1", "s1", "s1", "s2", "s2", "s3", "s3", "s3", "s4", "s4", "s5"]  # by hand, by the rule
ZH_ROLE = {"buyer": "买家", "agent": "客服"}


def _base_store(tmp_path, shops=(SHOP,), classify=False) -> Store:
    folder = tmp_path / "d"
    folder.mkdir()
    write_csv(folder / "shops.csv", list(shops))
    write_csv(folder / "messages.csv", BASE)
    store = Store(None)
    import_paths(store, [folder], classify=classify)
    return store


def _platform_file(path, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(["买家昵称", "客服账号", "发送时间", "消息内容", "发送方"])
        for buyer, role, at, text in rows:
            w.writerow([buyer, "A1" if role == "agent" else "", at, text, ZH_ROLE[role]])
    return path


def _metrics(db) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["metrics", "--db", str(db), "--shop", "S1", "--start", "2024-05-10", "--end", "2024-05-11",
                     "--json"]) == 0
    return json.loads(out.getvalue())


def test_a_platform_chat_export_gives_the_same_metrics_as_data_md(tmp_path):
    ref = tmp_path / "ref"
    ref.mkdir()
    write_csv(ref / "shops.csv", [SHOP])
    write_csv(ref / "messages.csv", [
        {"message_id": f"m{i}", "shop_id": "S1", "session_id": sid, "buyer_id": b, "sender_role": role,
         "agent_id": "A1" if role == "agent" else "", "sent_at": at, "content": text}
        for i, ((b, role, at, text), sid) in enumerate(zip(ROWS, SESSIONS))])
    with Store(tmp_path / "ref.duckdb") as store:
        import_paths(store, [ref], classify=False)

    exp = tmp_path / "export"
    exp.mkdir()
    write_csv(exp / "shops.csv", [SHOP])
    _platform_file(exp / "聊天记录.csv", ROWS, encoding="gb18030")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["import", "--db", str(tmp_path / "exp.duckdb"), "--shop", "S1", str(exp)]) == 0, err.getvalue()
    with Store(tmp_path / "exp.duckdb") as store:
        sessions = store.con.execute("SELECT count(DISTINCT session_id) FROM messages").fetchone()[0]
    assert sessions == 5
    assert _metrics(tmp_path / "exp.duckdb") == _metrics(tmp_path / "ref.duckdb")


def test_export_reimports_and_overlaps_add_only_new_messages(tmp_path):
    store = _base_store(tmp_path)
    first = _platform_file(tmp_path / "聊天1.csv", ROWS[:8])
    report = import_paths(store, [first], shop="S1", classify=False)
    assert report.tables["messages"].inserted == 8
    again = import_paths(store, [first], shop="S1", classify=False)
    assert not again.changed and again.tables["messages"].unchanged == 8
    # The next day's export repeats the evening and adds the night: only the new rows land, and the
    # session of b2 that crosses midnight is one session across both exports.
    second = _platform_file(tmp_path / "聊天2.csv", ROWS[6:])
    report = import_paths(store, [second], shop="S1", classify=False)
    assert report.tables["messages"].inserted == 4 and report.tables["messages"].unchanged == 2
    counts = dict(store.con.execute("SELECT buyer_id, count(DISTINCT session_id) FROM messages GROUP BY 1").fetchall())
    assert counts == {"z": 1, "b1": 2, "b2": 1, "b3": 2}


def test_the_same_buyer_in_two_shops_has_two_sessions(tmp_path):
    store = _base_store(tmp_path, (SHOP, {**SHOP, "shop_id": "S2", "shop_name": "二店"}))
    rows = [("b1", "buyer", "2024-05-10 10:00:00", "在吗"), ("b1", "agent", "2024-05-10 10:00:10", "在")]
    for shop in ("S1", "S2"):
        import_paths(store, [_platform_file(tmp_path / f"{shop}.csv", rows)], shop=shop, classify=False)
    assert store.con.execute("SELECT count(DISTINCT session_id), count(DISTINCT message_id) FROM messages "
                             "WHERE buyer_id = 'b1'").fetchone() == (2, 4)


def test_an_export_that_fills_a_gap_joins_the_stored_sessions(tmp_path):
    store = _base_store(tmp_path, classify=True)
    early = [("b1", "buyer", "2024-05-10 10:00:00", "在吗"), ("b1", "buyer", "2024-05-10 10:50:00", "人呢")]
    import_paths(store, [_platform_file(tmp_path / "a.csv", early)], shop="S1")
    assert store.con.execute("SELECT count(DISTINCT session_id) FROM messages WHERE buyer_id = 'b1'").fetchone()[0] == 2
    middle = [("b1", "agent", "2024-05-10 10:25:00", "在的")]  # 25 min after, 25 min before: bridges them
    report = import_paths(store, [_platform_file(tmp_path / "b.csv", middle)], shop="S1")
    assert report.tables["messages"].inserted == 1 and report.tables["messages"].updated == 1
    assert store.con.execute("SELECT count(DISTINCT session_id) FROM messages WHERE buyer_id = 'b1'").fetchone()[0] == 1
    assert store.con.execute("SELECT count(*) FROM f_sessions WHERE buyer_id = 'b1'").fetchone()[0] == 1
    orphans = store.con.execute("""SELECT count(*) FROM session_scenarios s WHERE NOT EXISTS
        (SELECT 1 FROM f_sessions f WHERE f.shop_id = s.shop_id AND f.session_id = s.session_id)""").fetchone()[0]
    assert orphans == 0


def test_a_new_session_gap_cuts_the_gap_rule_sessions_again(tmp_path):
    from insight import StoreSettings, apply_settings

    store = _base_store(tmp_path)
    import_paths(store, [_platform_file(tmp_path / "a.csv", ROWS)], shop="S1", classify=False)
    count = "SELECT count(DISTINCT session_id) FROM messages WHERE buyer_id <> 'z'"
    assert store.con.execute(count).fetchone()[0] == 5
    apply_settings(store, StoreSettings(session_gap_minutes=45))  # b1's 40 min and b3's 30 min 1 s gaps join
    assert store.con.execute(count).fetchone()[0] == 3
    assert store.con.execute("SELECT count(*) FROM f_sessions WHERE buyer_id <> 'z'").fetchone()[0] == 3
    assert store.con.execute("SELECT session_id FROM messages WHERE buyer_id = 'z'").fetchone()[0] == "z1"
    apply_settings(store, StoreSettings(session_gap_minutes=30))
    assert store.con.execute(count).fetchone()[0] == 5
