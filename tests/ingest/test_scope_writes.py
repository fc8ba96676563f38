"""A write may touch a stored row only if the writer may write that row's shop as well as the new one
(issue 24, items 1–3), through both entry points that write: the events API (HTTP, a supervisor's token)
and the import that 数据管理 runs (``import_paths(..., replace=True, allowed_shops=...)``). Every keyed
table, every path that rewrites stored rows (update by key, --replace of a session, the gap rule's
re-cut), and no reason that names another shop's keys or says whether another shop exists."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from insight import Store, accounts, import_paths, web

from conftest import SHOP, Chat, messages_of, write_csv, write_dataset

PASSWORD = "correct horse"
S2 = {**SHOP, "shop_id": "S2", "shop_name": "二店"}
# Keys of S2's rows, one per keyed table; a supervisor of S1 tries to write each of them.
S2_ROWS = {
    "agents": {"agent_id": "B1", "shop_id": "S2", "agent_name": "二店小张", "kind": "human"},
    "sessions": {"session_id": "s2-c1", "shop_id": "S2", "buyer_id": "s2b", "started_at": "2024-05-10 10:00:00",
                 "ended_at": "2024-05-10 10:05:00", "transferred_at": "2024-05-10 10:00:00", "agent_id": "B1"},
    "evaluations": {"session_id": "s2-c1", "shop_id": "S2", "buyer_id": "s2b", "invited_by": "agent",
                    "invited_at": "2024-05-10 10:06:00", "rating": 5, "rated_at": "2024-05-10 10:07:00"},
    "orders": {"order_id": "O2", "shop_id": "S2", "buyer_id": "s2b", "created_at": "2024-05-10 10:03:00",
               "paid_at": "2024-05-10 10:04:00", "amount": "99.00"},
    "refunds": {"refund_id": "R2", "order_id": "O2", "shop_id": "S2", "buyer_id": "s2b", "kind": "refund_only",
                "created_at": "2024-05-10 12:00:00", "finished_at": "2024-05-10 13:00:00", "status": "success"},
    "escalations": {"escalation_id": "E2", "shop_id": "S2", "buyer_id": "s2b", "kind": "dispute",
                    "created_at": "2024-05-10 14:00:00"},
}
S2_SECRETS = ("S2", "二店", "s2b", "B1", "二店小张")  # never in a reason given to the supervisor of S1


S2_CHAT = Chat("s2-c1", "s2b", shop_id="S2").buyer("10:00:00", "二店的买家").agent("10:00:30", "二店回复", "B1")


def _s2_gap_chat() -> list[dict]:
    """S2 messages without session ids (the gap rule cuts them), with explicit message ids."""
    rows = Chat("x", "s2g", shop_id="S2").buyer("11:00:00", "无会话号").agent("11:00:20", "好的", "B1").rows
    for i, row in enumerate(rows):
        row.pop("session_id")
        row["message_id"] = f"s2-gap-{i}"
    return rows


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "two-shops.duckdb"
    agents = [{"agent_id": "A1", "shop_id": "S1", "agent_name": "小一", "kind": "human"}, S2_ROWS["agents"]]
    tables = {name: [row] for name, row in S2_ROWS.items() if name != "agents"}
    with Store(path) as store:
        import_paths(store, [write_dataset(tmp_path / "base", shops=[SHOP, S2], agents=agents,
                                           messages=messages_of(Chat("c0").buyer("09:00:00", "在吗")
                                                                .agent("09:00:30", "在的"), S2_CHAT),
                                           **tables)])
        gap = tmp_path / "gap2"
        gap.mkdir()
        write_csv(gap / "messages.csv", _s2_gap_chat())
        import_paths(store, [gap])
        accounts.add_user(store.con, "lead", "supervisor", PASSWORD, shops=["S1"], can_import=True)
        token = accounts.issue_token(store.con, "lead")
    yield path, token
    web.close_all()


def s2_state(path) -> dict:
    """Everything stored for S2, table by table (rows as text, sorted)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in ("agents", "messages", "sessions", "evaluations", "orders", "refunds", "escalations",
                      "parts", "f_sessions"):
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in ("_import_id",)]
            out[table] = sorted(map(str, con.execute(
                f"SELECT {', '.join(cols)} FROM {table} WHERE shop_id = 'S2'").fetchall()))
        return out
    finally:
        con.close()


def _hostile_rows() -> dict[str, list[dict]]:
    """Each S2 key, claimed for S1 (later ratings, other content), plus the paths that rewrite stored rows."""
    rows = {name: [{**row, "shop_id": "S1"}] for name, row in S2_ROWS.items()}
    rows["evaluations"][0].update(rating=1, rated_at="2024-05-10 23:00:00")
    rows["sessions"][0]["agent_id"] = "A1"
    rows["orders"][0]["amount"] = "1.00"
    # A message that reuses S2's session (S2's other messages would go under --replace) and one that
    # reuses a message id of S2's (an update by key).
    rows["messages"] = [
        {"message_id": "m-new-1", "shop_id": "S1", "session_id": "s2-c1", "buyer_id": "s2b",
         "sender_role": "buyer", "sent_at": "2024-05-10 10:00:00", "content": "冒充"},
        {"message_id": S2_CHAT.rows[0]["message_id"], "shop_id": "S1", "session_id": "c-mine",
         "buyer_id": "b9", "sender_role": "buyer", "sent_at": "2024-05-10 12:00:00", "content": "改写"},
    ]
    return rows


def _gap_rows() -> list[dict]:
    """Messages without session ids whose message ids are S2's: the gap rule must not move S2's."""
    rows = _s2_gap_chat()
    for row in rows:
        row.update(shop_id="S1", buyer_id="b-mine")
    return rows


def _assert_private(reasons) -> None:
    for reason in reasons:
        text = json.dumps(reason, ensure_ascii=False)
        leaked = [s for s in S2_SECRETS if s in text.replace("s2-c1", "")]
        assert not leaked, f"a reason names S2's data ({leaked}): {text}"


def test_events_cannot_overwrite_or_move_another_shops_rows(db):
    path, token = db
    before = s2_state(path)
    app = Starlette(routes=web.routes(str(path)), middleware=[Middleware(web.AuthMiddleware, db_path=str(path))])
    client = TestClient(app, base_url="http://insight.test", client=("10.0.0.5", 40000))
    keyed = [{"table": t, **row} for t, rows in _hostile_rows().items() for row in rows]
    gap = [{"table": "messages", **row} for row in _gap_rows()]  # a request of its own: no session_id column
    for events in (keyed, gap):
        body = "\n".join(json.dumps(e, ensure_ascii=False) for e in events).encode()
        r = client.post("/api/v1/events", content=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert (answer["accepted"], answer["rejected"]) == (0, len(events)), json.dumps(answer, ensure_ascii=False)
        _assert_private(answer["reasons"])
        assert {x["table"] for x in answer["reasons"]} == {e["table"] for e in events}
    web.close_all()
    assert s2_state(path) == before


@pytest.mark.parametrize("replace", [False, True])
def test_a_supervisors_import_cannot_overwrite_or_move_another_shops_rows(db, tmp_path, replace):
    path, _ = db
    before = s2_state(path)
    folder = tmp_path / "hostile"
    folder.mkdir()
    for table, rows in _hostile_rows().items():
        write_csv(folder / f"{table}.csv", rows)
    gap = tmp_path / "hostile-gap"
    gap.mkdir()
    write_csv(gap / "messages.csv", _gap_rows())
    viewer = accounts.viewer_for_token
    with Store(path) as store:
        lead = viewer(store.con, db[1])
        for source in (folder, gap):
            report = import_paths(store, [source], replace=replace, allowed_shops=lead.shops, by=lead.name)
            reasons = [r.__dict__ for t in report.tables.values() for r in t.reasons]
            _assert_private(reasons)
            if source == folder:
                assert all(t.rejected == t.read for t in report.tables.values() if t.table != "shops"), \
                    report.summary()
    assert s2_state(path) == before


def test_unknown_and_other_shops_get_the_same_reason(db, tmp_path):
    """Whether a shop outside the grant exists is not said (未知店铺 would tell)."""
    path, _ = db
    folder = tmp_path / "probe"
    folder.mkdir()
    write_csv(folder / "orders.csv", [{**S2_ROWS["orders"], "order_id": "P1"},
                                      {**S2_ROWS["orders"], "order_id": "P2", "shop_id": "NO-SUCH-SHOP"}])
    with Store(path) as store:
        report = import_paths(store, [folder], allowed_shops=["S1"])
    reasons = [r.reason for r in report.tables["orders"].reasons]
    assert reasons == ["无权导入店铺 'S2'（不在本账号授权的店铺中）",
                       "无权导入店铺 'NO-SUCH-SHOP'（不在本账号授权的店铺中）"], reasons


def test_an_admin_may_move_a_row_between_shops_with_replace(db, tmp_path):
    """The rule binds scoped writers: an admin writes every shop, so --replace moves an order."""
    path, _ = db
    folder = tmp_path / "admin"
    folder.mkdir()
    write_csv(folder / "orders.csv", [{**S2_ROWS["orders"], "shop_id": "S1"}])
    with Store(path) as store:
        report = import_paths(store, [folder], replace=True)
        assert report.tables["orders"].updated == 1, report.summary()
        assert store.con.execute("SELECT shop_id FROM orders WHERE order_id = 'O2'").fetchone()[0] == "S1"


def test_a_session_id_belongs_to_one_shop_for_every_writer(db, tmp_path):
    """Even an admin cannot give S2's session to S1's messages or evaluations: sessions key on the id."""
    path, _ = db
    before = s2_state(path)
    folder = tmp_path / "admin-sessions"
    folder.mkdir()
    write_csv(folder / "messages.csv", [_hostile_rows()["messages"][0]])
    write_csv(folder / "evaluations.csv", [{**S2_ROWS["evaluations"], "shop_id": "S1", "buyer_id": "b1"}])
    with Store(path) as store:
        report = import_paths(store, [folder], replace=True)
    assert report.tables["messages"].rejected == 1 and report.tables["evaluations"].rejected == 1
    assert "已被占用" in report.tables["messages"].reasons[0].reason
    assert s2_state(path) == before
