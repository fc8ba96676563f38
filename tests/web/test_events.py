"""POST /api/v1/events: validation and reasons with line numbers, idempotency, scope, back-pressure,
and recovery of what a crash left in the spool."""

from __future__ import annotations

import json
import threading
import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from insight import Store, accounts, import_paths, web
from insight.web._events import EventWriter

from conftest import SHOP, Chat, messages_of, write_dataset

PASSWORD = "correct horse"
DAY = "2024-05-10"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "live.duckdb"
    other = {**SHOP, "shop_id": "S2", "shop_name": "二店"}
    agents = [{"agent_id": "A1", "shop_id": "S1", "agent_name": "小一", "kind": "human"}]
    with Store(path) as store:
        import_paths(store, [write_dataset(tmp_path / "base", shops=[SHOP, other], agents=agents,
                                           messages=messages_of(Chat("c0").buyer("09:00:00", "在吗")
                                                                .agent("09:00:30", "在的")))])
        accounts.add_user(store.con, "boss", "admin", PASSWORD)
        accounts.add_user(store.con, "lead", "supervisor", PASSWORD, shops=["S1"], can_import=True)
        accounts.add_user(store.con, "reader", "supervisor", PASSWORD, shops=["S1"])  # no import grant
        accounts.add_user(store.con, "xiaoyi", "agent", PASSWORD, agent_id="A1")
        tokens = {n: accounts.issue_token(store.con, n) for n in ("boss", "lead", "xiaoyi", "reader")}
    yield str(path), tokens
    web.close_all()


def _client(db_path):
    app = Starlette(routes=web.routes(db_path), middleware=[Middleware(web.AuthMiddleware, db_path=db_path)])
    return TestClient(app, base_url="http://insight.test", client=("10.0.0.5", 40000))


def _message(mid, role, at, shop="S1", session="live1", **extra):
    row = {"table": "messages", "message_id": mid, "shop_id": shop, "session_id": session, "buyer_id": "bx",
           "sender_role": role, "sent_at": f"{DAY} {at}", "content": "你好", **extra}
    if role == "agent":
        row.setdefault("agent_id", "A1")
    return json.dumps(row, ensure_ascii=False)


def _post(client, token, lines):
    return client.post("/api/v1/events", content="\n".join(lines).encode(),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})


def _metrics(client, token):
    r = client.get("/api/v1/metrics", params={"shop": "S1", "start": DAY, "end": DAY},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def _eventually(read, ok, seconds=5.0):
    """``read()`` once ``ok(value)``, polled for at most ``seconds`` (the contract: an answered event
    is in the figures within 5 s); its last value otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_events_are_validated_answered_by_line_and_visible_within_seconds(db):
    path, tokens = db
    client = _client(path)
    before = _metrics(client, tokens["boss"])["metrics"]["buyer_messages"]
    lines = [_message("e1", "buyer", "10:00:00"), _message("e2", "agent", "10:01:00"), "not json",
             json.dumps({"table": "shops", "shop_id": "S9"}), _message("e3", "alien", "10:02:00"),
             _message("e4", "buyer", "10:03:00", sent_at="yesterday-ish")]
    r = _post(client, tokens["boss"], lines)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["accepted"] == 2 and answer["rejected"] == 4
    assert [x["line"] for x in answer["reasons"]] == [3, 4, 5, 6]
    assert answer["reasons"][2]["column"] == "sender_role" and "alien" in answer["reasons"][2]["reason"]
    answered = time.monotonic()
    count = _eventually(lambda: _metrics(client, tokens["boss"])["metrics"]["buyer_messages"],
                        lambda n: n == (before or 0) + 1)
    assert count == (before or 0) + 1 and time.monotonic() - answered < 5
    # the same events again change nothing
    again = _post(client, tokens["boss"], lines).json()
    assert again["accepted"] == 2
    time.sleep(1.5)  # past the writer's next derivation
    assert _metrics(client, tokens["boss"])["metrics"]["buyer_messages"] == count


def test_who_may_post(db):
    path, tokens = db
    client = _client(path)
    assert client.post("/api/v1/events", content=b"{}").status_code == 401
    assert _post(client, tokens["xiaoyi"], [_message("a1", "buyer", "11:00:00")]).status_code == 403
    # a supervisor without the import grant writes nothing either (it wrote orders of ¥99,999)
    r = _post(client, tokens["reader"], [_message("r1", "buyer", "11:00:00")])
    assert r.status_code == 403 and "导入权限" in r.json()["error"]
    answer = _post(client, tokens["lead"], [_message("l1", "buyer", "11:00:00"),
                                            _message("l2", "buyer", "11:00:00", shop="S2", session="x2")]).json()
    assert answer["accepted"] == 1 and "无权导入店铺 'S2'" in answer["reasons"][0]["reason"]
    assert _post(client, tokens["boss"], ["x" * 10]).status_code == 200  # a bad line is a reason, not an error
    r = client.post("/api/v1/events", content=b"\xff\xfe bad", headers={"Authorization": f"Bearer {tokens['boss']}"})
    assert r.status_code == 400 and r.json()["error"]


def test_a_full_queue_answers_429_with_retry_after(db, monkeypatch):
    path, tokens = db
    client = _client(path)
    monkeypatch.setattr(web.event_writer(path), "max_waiting", 0)
    r = _post(client, tokens["boss"], [_message("q1", "buyer", "12:00:00")])
    assert r.status_code == 429 and r.headers["Retry-After"] == "1" and r.json()["error"]


def test_a_crash_leaves_nothing_lost_and_nothing_doubled(db):
    path, tokens = db
    client = _client(path)
    writer = web.event_writer(path)
    # What a crash between the spool write and the commit leaves behind: the request's spool file.
    body = "\n".join([_message("k1", "buyer", "13:00:00"), _message("k2", "agent", "13:00:40")]).encode()
    for spooled in (writer._spool(body, "boss", None), writer._spool(body, "boss", None)):  # and a retry
        spooled.rename(spooled.with_name("4194304-" + spooled.name.split("-", 1)[1]))  # a process now gone
    writer.stop()  # that process's writer is gone (one writer per store and process)
    restarted = EventWriter(path)  # the next server start recovers the spool before new events
    for _ in range(200):
        if restarted.recovered == 2:
            break
        time.sleep(0.05)
    restarted.stop()
    assert restarted.recovered == 2 and not list(restarted.spool_dir.glob("*.ndjson"))
    with Store(path) as store:
        n = store.con.execute("SELECT count(*) FROM messages WHERE message_id IN ('k1', 'k2')").fetchone()[0]
        assert n == 2
        log = accounts.audit_rows(store.con, action="import")
        assert "events:messages" in " ".join(log["target"])
    assert _eventually(lambda: _metrics(client, tokens["boss"])["metrics"]["buyer_messages"], lambda n: n == 2) == 2


def test_a_crash_between_commit_and_derivation_is_derived_at_the_next_start(db):
    """The rows and the record of what to derive commit together: a server killed before its writer
    derived them derives them when it starts again (and a file import meanwhile would too)."""
    from insight.ingest.events import import_events, parse_events

    path, tokens = db
    with Store(path) as store:
        body = "\n".join([_message("p1", "buyer", "15:00:00", session="p"), _message("p2", "agent", "15:00:30",
                                                                                     session="p")]).encode()
        import_events(store, parse_events(body), store.scratch_dir("t-"), by="boss", defer_derive=True)
        assert store.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0] == 1
        parts = "SELECT coalesce(sum(msg_buyer_mp), 0) FROM parts WHERE shop_id = 'S1' AND day = ?"
        before = store.con.execute(parts, [DAY]).fetchone()[0]
    EventWriter(path).stop()  # a start: recovers, derives, and stops
    with Store(path) as store:
        assert store.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0] == 0
        assert store.con.execute(parts, [DAY]).fetchone()[0] == before + 1


def _strict_json(response):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")
    return json.loads(response.text, parse_constant=refuse)


def test_live_snapshot_follows_the_events(db):
    path, tokens = db
    client = _client(path)
    headers = {"Authorization": f"Bearer {tokens['boss']}"}
    _post(client, tokens["boss"], [_message("w1", "buyer", "14:00:00", session="w"),
                                   _message("w2", "agent", "14:00:20", session="w"),
                                   _message("w3", "buyer", "14:02:00", session="w")])
    live = _strict_json(client.get("/api/v1/live", params={"shop": "S1"}, headers=headers))
    assert live["as_of"].startswith(f"{DAY} 14:02:00") and live["shop"]["buyers_waiting"] == 1
    assert any(a["agent_id"] == "A1" and a["buyers_waiting"] == 1 for a in live["agents"])
    # strict JSON: no bare NaN, a flag is true/false (not "False"), a count an integer (not 1.0)
    assert live["shop"]["alert"] is False and type(live["shop"]["buyers_waiting"]) is int
    for agent in live["agents"]:
        assert all(type(v) is int for k, v in agent.items() if k.startswith(("buyers_", "sessions")) and v is not None)
        assert all(type(v) is bool for k, v in agent.items() if k in ("alert", "online"))
    _post(client, tokens["boss"], [_message("w4", "agent", "14:02:30", session="w")])
    live = client.get("/api/v1/live", params={"shop": "S1"}, headers=headers).json()
    assert live["shop"]["buyers_waiting"] == 0
    assert client.get("/api/v1/live", params={"shop": "S2"},
                      headers={"Authorization": f"Bearer {tokens['lead']}"}).status_code == 403
    # compare=1: today so far against yesterday and last week until the same time (the data starts today)
    def compared():
        live = _strict_json(client.get("/api/v1/live", params={"shop": "S1", "compare": "1"}, headers=headers))
        return {r["key"]: r for r in live["so_far"]}
    rows = _eventually(compared, lambda r: r["buyer_messages"]["today"] == 3)  # derived after the answer
    assert rows["buyer_messages"]["today"] == 3 and rows["buyer_messages"]["yesterday"] is None
    assert rows["buyer_messages"]["yesterday_reason"].startswith("店铺数据从 2024-05-10 开始")
    assert rows["buyer_messages"]["vs_yesterday"] is None
    assert rows["satisfaction_rate"]["today"] is None and rows["satisfaction_rate"]["reason"]
    assert client.get("/api/v1/live", params={"shop": "S1", "compare": "yes"}, headers=headers).status_code == 400


def _blocked_writer(monkeypatch):
    """The writer stalls in its import (as behind a slow webhook, a long derivation or a busy disk)
    until the returned event is set."""
    from insight.web import _events

    gate = threading.Event()
    real = _events.import_events

    def slow(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)
    monkeypatch.setattr(_events, "import_events", slow)
    return gate


def test_waiting_requests_hold_no_thread_so_429_and_sign_in_still_answer(db, monkeypatch):
    """With 4 worker threads (Streamlit's pool is smaller than the queue), 12 requests behind a stalled
    writer: 8 wait (max_waiting), the rest get 429 at once, and the sign-in page answers meanwhile —
    waiting held a thread each before, so the pool ran out and nothing answered."""
    import anyio

    from insight.web import _events

    path, tokens = db
    gate = _blocked_writer(monkeypatch)
    monkeypatch.setattr(web.event_writer(path), "max_waiting", 8)
    monkeypatch.setattr(_events, "PER_ACCOUNT_SHARE", 1)  # (one account may fill the queue here)
    with _client(path) as client:
        client.portal.call(lambda: setattr(anyio.to_thread.current_default_thread_limiter(), "total_tokens", 4))
        codes: list[int] = []
        posters = [threading.Thread(target=lambda i=i: codes.append(
            _post(client, tokens["boss"], [_message(f"t{i}", "buyer", "16:00:00", session=f"t{i}")]).status_code))
            for i in range(12)]
        for t in posters:
            t.start()
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while codes.count(429) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        assert client.get("/auth/login").status_code == 200
        assert time.monotonic() - started < 2
        assert codes.count(429) == 3, codes
        gate.set()
        for t in posters:
            t.join(30)
        assert sorted(codes) == [200] * 9 + [429] * 3, codes


def test_no_request_waits_longer_than_the_stated_bound(db, monkeypatch):
    """Past ANSWER_WITHIN a request is answered 202: it is spooled and is written once the writer can."""
    from insight.web import _events

    path, tokens = db
    gate = _blocked_writer(monkeypatch)
    monkeypatch.setattr(_events, "ANSWER_WITHIN", 0.5)
    client = _client(path)
    started = time.monotonic()
    r = _post(client, tokens["boss"], [_message("late", "buyer", "17:00:00", session="late"),
                                       _message("late2", "agent", "17:00:20", session="late")])
    assert r.status_code == 202 and r.json()["queued"] == 2 and time.monotonic() - started < 3, r.text
    gate.set()
    written = _eventually(lambda: _metrics(client, tokens["boss"])["metrics"]["buyer_messages"], lambda n: n == 2)
    assert written == 2  # c0's buyer message and the late one


@pytest.mark.parametrize("line, column, says", [
    (json.dumps({"table": "messages", "message_id": "n1", "shop\u0000id": "S1"}), "shop?id", "字段名"),
    ('{"table": "messages", "content": ' + "[" * 100_000 + "]" * 100_000 + "}", "", "嵌套过深"),
    ('{"table": "messages", "message_id": ' + "9" * 5000 + "}", "", "数字过长"),
    ('{"table": "messages", "message_id": "s1", "content": "\\ud800"}', "content", "代理项"),
])
def test_hostile_lines_are_refused_by_line_and_poison_nothing(db, line, column, says):
    """Each used to be an internal error (500), a 503 asking to retry a permanent error, or a spool file
    that failed every batch it joined at every restart."""
    path, tokens = db
    client = _client(path)
    good = _message("fine1", "buyer", "18:00:00", session="fine")
    r = _post(client, tokens["boss"], [line, good])
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["accepted"] == 1 and answer["reasons"][0]["line"] == 1, answer
    assert answer["reasons"][0]["column"] == column and says in answer["reasons"][0]["reason"], answer
    writer = web.event_writer(path)
    assert not list(writer.spool_dir.glob("*.ndjson")) and not list(writer.spool_dir.glob("*.failed"))


def test_line_separators_inside_values_keep_the_line_numbers(db):
    path, tokens = db
    client = _client(path)
    lines = [_message("u1", "buyer", "19:00:00", session="u", content="第一行\u2028第二行\u0085第三行"),
             _message("u2", "alien", "19:00:01", session="u")]
    answer = _post(client, tokens["boss"], lines).json()
    assert answer["accepted"] == 1 and [r["line"] for r in answer["reasons"]] == [2], answer


def test_a_request_that_breaks_the_import_is_set_aside_not_retried_forever(db, monkeypatch):
    """An unexpected failure fails its own request only (retried alone), and its spool file is kept aside
    (.failed), not imported again at every start with every batch it joins."""
    from insight.web import _events

    path, tokens = db
    real = _events.import_events

    def fragile(store, batch, *args, **kwargs):
        if any(row.get("content") == "boom" for rows in batch.rows.values() for _, row in rows):
            raise RuntimeError("unexpected")
        return real(store, batch, *args, **kwargs)
    monkeypatch.setattr(_events, "import_events", fragile)
    client = _client(path)
    r = _post(client, tokens["boss"], [_message("b1", "buyer", "20:00:00", session="b", content="boom")])
    assert r.status_code == 503 and "另存待查" in r.json()["error"]
    assert _post(client, tokens["boss"], [_message("b2", "buyer", "20:00:01", session="b2")]).json()["accepted"] == 1
    writer = web.event_writer(path)
    assert len(list(writer.spool_dir.glob("*.failed"))) == 1 and not list(writer.spool_dir.glob("*.ndjson"))


def test_an_import_from_the_page_while_events_flow_takes_its_turn(db, tmp_path):
    """数据管理 imports through the app's own store while the events writer commits through the server's:
    two connections of one process writing one file. They used to fail with "TransactionContext Error:
    Conflict on update!"; now every transaction of the process takes the file's write lock."""
    from insight.store import open_served

    path, tokens = db
    client = _client(path)
    stop, answers = threading.Event(), []

    def flow():
        n = 0
        while not stop.is_set():
            n += 1
            lines = [_message(f"f{n}-{i}", "buyer" if i % 2 == 0 else "agent", f"21:{n % 60:02d}:{i:02d}",
                              session=f"flow{n}") for i in range(20)]
            answers.append(_post(client, tokens["boss"], lines).status_code)
    feeder = threading.Thread(target=flow)
    feeder.start()
    app_store = open_served(path)  # what the pages open (insight.ui.data)
    try:
        for k in range(6):
            chats = [Chat(f"page{k}-{j}", f"pb{j}").buyer("22:00:00", "在吗").agent("22:00:30", "在的")
                     for j in range(30)]
            folder = write_dataset(tmp_path / f"page{k}", messages=messages_of(*chats))
            cursor = app_store.cursor()
            try:
                report = import_paths(cursor, [folder], classify=False)
            finally:
                cursor.close()
            assert report.tables["messages"].inserted == 60, report.summary()
    finally:
        stop.set()
        feeder.join(60)
        app_store.close()
    assert answers and set(answers) == {200}, answers


def test_one_account_cannot_fill_the_queue_for_the_others(db, monkeypatch):
    """One token posting as fast as it can got the others only 429s (7 of the admin's 8 posts): an account
    has at most a quarter of the queue waiting, and accounts take turns."""
    path, tokens = db
    gate = _blocked_writer(monkeypatch)
    with _client(path) as client:
        codes: dict[str, list[int]] = {"lead": [], "boss": []}

        def post(name, i):
            line = _message(f"{name}-q{i}", "buyer", "16:30:00", session=f"{name}-q{i}")
            codes[name].append(_post(client, tokens[name], [line]).status_code)
        flood = [threading.Thread(target=post, args=("lead", i)) for i in range(14)]
        for t in flood:
            t.start()
        deadline = time.monotonic() + 10
        while len(codes["lead"]) < 5 and time.monotonic() < deadline:  # 1 taken, 8 waiting, 5 refused
            time.sleep(0.05)
        admin = threading.Thread(target=post, args=("boss", 0))
        admin.start()
        time.sleep(0.5)
        gate.set()
        for t in [*flood, admin]:
            t.join(30)
    assert codes["boss"] == [200], codes
    assert sorted(codes["lead"]).count(429) == 5 and sorted(codes["lead"]).count(200) == 9, codes
