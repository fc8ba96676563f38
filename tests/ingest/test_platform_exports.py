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


# -- who sent it ------------------------------------------------------------------------------
def _roles(store) -> list[tuple]:
    return store.con.execute("SELECT buyer_id, sender_role, agent_id, content FROM messages "
                             "WHERE buyer_id <> 'z' ORDER BY sent_at").fetchall()


def test_direction_codes_are_roles(tmp_path):
    store = _base_store(tmp_path)
    path = tmp_path / "聊天.csv"
    write_csv(path, [{"买家昵称": "b1", "客服账号": "", "发送时间": "2024-05-10 10:00:00", "消息内容": "在吗", "消息方向": "0"},
                     {"买家昵称": "b1", "客服账号": "A1", "发送时间": "2024-05-10 10:00:09", "消息内容": "在", "消息方向": "1"}])
    import_paths(store, [path], shop="S1", classify=False)
    assert _roles(store) == [("b1", "buyer", None, "在吗"), ("b1", "agent", "A1", "在")]


def test_nicknames_shop_accounts_robots_and_receivers(tmp_path):
    """千牛-style log: sender and receiver nicknames only. 店铺名:子账号 is an agent, a robot name is a
    robot, anyone else a buyer; an agent's buyer is the receiver."""
    store = _base_store(tmp_path)
    path = tmp_path / "聊天记录.csv"
    rows = [("tb_buyer1", "云朵小店", "10:00:00", "在吗"), ("云朵小店:店小蜜机器人", "tb_buyer1", "10:00:01", "您好，我是机器人"),
            ("tb_buyer1", "云朵小店", "10:00:30", "转人工"), ("云朵小店：小美", "tb_buyer1", "10:01:00", "在的亲")]
    write_csv(path, [{"发送人": s, "接收人": r, "发送时间": f"2024-05-10 {t}", "消息内容": c} for s, r, t, c in rows])
    report = import_paths(store, [path], shop="S1", classify=False)
    assert report.tables["messages"].inserted == 4, report.summary()
    assert _roles(store) == [("tb_buyer1", "buyer", None, "在吗"),
                             ("tb_buyer1", "robot", "云朵小店:店小蜜机器人", "您好，我是机器人"),
                             ("tb_buyer1", "buyer", None, "转人工"),
                             ("tb_buyer1", "agent", "云朵小店：小美", "在的亲")]
    # the transfer is derived: a manual session with its first reply 30 s after the buyer asked
    row = store.con.execute("SELECT channel, first_wait FROM f_sessions WHERE buyer_id = 'tb_buyer1'").fetchone()
    assert row == ("manual", 30.0)


def test_a_preset_role_rule_names_robots_and_codes(tmp_path):
    from insight.ingest import import_sources
    from insight.ingest.readers import SourceFile
    from insight.ingest.roles import RoleRule

    store = _base_store(tmp_path)
    path = tmp_path / "chat.csv"
    write_csv(path, [{"发送人": s, "接收人": r, "发送时间": f"2024-05-10 {t}", "消息内容": c} for s, r, t, c in [
        ("b9", "店", "10:00:00", "在吗"), ("店#小蜜", "b9", "10:00:01", "自动回复"), ("店#阿花", "b9", "10:00:40", "在的")]])
    rule = RoleRule(agent_marker="#", robots=("店#小蜜",), robot_marker="")
    mapping = (("发送人", "sender_role"), ("接收人", "receiver"), ("发送时间", "sent_at"), ("消息内容", "content"))
    import_sources(store, [SourceFile(path, "messages", mapping, roles=rule)], shop="S1", classify=False)
    assert [r[1:3] for r in _roles(store)] == [("buyer", None), ("robot", "店#小蜜"), ("agent", "店#阿花")]


def test_a_role_word_file_with_an_unknown_role_is_still_rejected(tmp_path):
    store = _base_store(tmp_path)
    path = tmp_path / "聊天.csv"
    write_csv(path, [{"买家昵称": "b1", "发送时间": "2024-05-10 10:00:00", "消息内容": "在吗", "发送方": "买家"},
                     {"买家昵称": "b1", "发送时间": "2024-05-10 10:00:09", "消息内容": "？", "发送方": "路人"}])
    report = import_paths(store, [path], shop="S1", classify=False)
    assert report.tables["messages"].rejected == 1
    assert "sender_role" in report.tables["messages"].reasons[0].column


def test_role_codes_as_typed_in_the_data_page():
    from insight.ingest.roles import RoleRule

    values, bad = RoleRule.parse_codes("0=buyer，1=agent, 2=robot, 3=老板, x")
    assert values == {"0": "buyer", "1": "agent", "2": "robot"} and bad == ["3=老板", "x"]
    assert RoleRule(values).codes_text() == "0=buyer, 1=agent, 2=robot"
    assert RoleRule.from_dict(RoleRule(values, robots=("小蜜",)).to_dict()).robots == ("小蜜",)
