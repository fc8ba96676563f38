"""Every imported time lies in a window (2000-01-01 … now + 1 day, configurable): one event at year
10000 took every page and the API down (issue 24, item 5). A store that already holds such rows moves
them aside when opened for writing, derives again, and every page reads; a reader says what to do; dates
asked for outside 1970–2199 get a clear answer, not an overflow."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil

import duckdb
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from insight import Store, accounts, import_paths, web
from insight.cli import main

from conftest import Chat, messages_of, write_csv, write_dataset

FAR = ["10000-01-01 00:00:00", "9999-12-31 23:59:59", "0001-01-01 00:00:00", "294247-01-01 00:00:00",
       "1999-12-31 23:59:59", "9999-12-31T23:00:00+08:00"]


def _tomorrow_plus(days: int) -> str:
    return f"{dt.date.today() + dt.timedelta(days=days)} 10:00:00"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "window.duckdb"
    with Store(path) as store:
        import_paths(store, [write_dataset(tmp_path / "base", messages=messages_of(
            Chat("c0").buyer("09:00:00", "在吗").agent("09:00:30", "在的")))])
        accounts.add_user(store.con, "boss", "admin", "correct horse")
        token = accounts.issue_token(store.con, "boss")
    yield path, token
    web.close_all()


def _client(path):
    app = Starlette(routes=web.routes(str(path)), middleware=[Middleware(web.AuthMiddleware, db_path=str(path))])
    return TestClient(app, base_url="http://insight.test", client=("10.0.0.5", 40000))


def test_events_outside_the_window_are_refused_with_the_reason(db):
    path, token = db
    client = _client(path)
    times = FAR + [_tomorrow_plus(3)]
    lines = [json.dumps({"table": "messages", "message_id": f"far{i}", "shop_id": "S1", "session_id": f"far{i}",
                         "buyer_id": "bf", "sender_role": "buyer", "sent_at": at, "content": "x"}) for i, at in enumerate(times)]
    lines.append(json.dumps({"table": "messages", "message_id": "ok", "shop_id": "S1", "session_id": "ok",
                             "buyer_id": "bf", "sender_role": "buyer", "sent_at": _tomorrow_plus(0), "content": "x"}))
    lines.append(json.dumps({"table": "evaluations", "session_id": "c0", "shop_id": "S1", "buyer_id": "b1",
                             "invited_by": "agent", "invited_at": "2024-05-10 09:10:00", "rating": 1,
                             "rated_at": "9999-01-01 00:00:00"}))
    r = client.post("/api/v1/events", content="\n".join(lines).encode(), headers={"Authorization": f"Bearer {token}"})
    answer = r.json()
    assert r.status_code == 200 and answer["accepted"] == 1, answer
    for reason in answer["reasons"]:
        assert reason["column"] in ("sent_at", "rated_at") and "超出可接受的范围 2000-01-01 至" in reason["reason"], reason
    assert len(answer["reasons"]) == len(times) + 1
    for params in ({"shop": "S1", "start": "2024-05-10", "end": "2024-05-10"},
                   {"shop": "S1", "start": str(dt.date.today()), "end": str(dt.date.today() + dt.timedelta(days=1))}):
        assert client.get("/api/v1/metrics", params=params, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_window_is_configurable(tmp_path, monkeypatch):
    from insight.core.errors import ImportFailed

    monkeypatch.setenv("INSIGHT_EARLIEST_DATE", "2025-01-01")
    with Store(None) as store, pytest.raises(ImportFailed) as failed:
        import_paths(store, [write_dataset(tmp_path / "old", messages=messages_of(
            Chat("c0").buyer("09:00:00", "在吗")))])  # conftest's day: 2024-05-10
    reasons = failed.value.report.tables["messages"].reasons
    assert "超出可接受的范围 2025-01-01 至" in reasons[0].reason, reasons
    monkeypatch.setenv("INSIGHT_EARLIEST_DATE", "0001-01-01")
    with pytest.raises(Exception, match="不能早于 1970-01-01"):
        Store(None)


def test_a_platform_reports_day_outside_the_window_is_refused(tmp_path):
    from test_platform_reports import TAOBAO  # a 淘宝 子账号 report in its real layout (sources cited there)

    rows = [{**TAOBAO[0], "日期": "9999-01-01"}, TAOBAO[1]]
    path = write_csv(tmp_path / "客服绩效.csv", rows)
    with Store(None) as store:
        import_paths(store, [write_dataset(tmp_path / "base", messages=messages_of(Chat("c0").buyer("09:00:00")))])
        report = import_paths(store, [path], shop="S1")
    rep = report.tables["platform_reports"]
    assert (rep.read, rep.rejected) == (2, 1), report.summary()
    assert rep.reasons[0].column == "day" and "超出可接受的范围" in rep.reasons[0].reason


def test_a_store_holding_far_times_moves_them_aside_and_every_reader_copes(db, tmp_path):
    path, token = db
    web.close_all()
    broken = tmp_path / "broken.duckdb"
    shutil.copy(path, broken)
    con = duckdb.connect(str(broken))
    con.execute("INSERT INTO messages (message_id, shop_id, session_id, buyer_id, sender_role, sent_at, content, "
                "content_type, _import_id, _seq) VALUES ('far', 'S1', 'far', 'bf', 'buyer', "
                "CAST('10000-01-01' AS TIMESTAMP), 'x', 'text', 1, 99999)")
    con.execute("INSERT INTO f_shop_span VALUES ('S1', TIMESTAMP '2024-05-10', CAST('10000-01-01' AS TIMESTAMP))")
    con.close()
    # A reader cannot move them: one clear line, exit 2.
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["metrics", "--db", str(broken), "--shop", "S1", "--start", "2024-05-10", "--end", "2024-05-10"])
    assert code == 2 and "超出" in err.getvalue() and "Traceback" not in err.getvalue()
    # The server's store (and the app's) moves them aside, derives again and answers.
    client = _client(broken)
    r = client.get("/api/v1/metrics", params={"shop": "S1", "start": "2024-05-10", "end": "2024-05-10"},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    web.close_all()
    con = duckdb.connect(str(broken), read_only=True)
    assert con.execute("SELECT count(*) FROM messages WHERE message_id = 'far'").fetchone()[0] == 0
    kept = con.execute("SELECT column_name, reason, raw FROM import_rejects WHERE file = '（数据库中已有的行）'").fetchall()
    assert len(kept) == 1 and kept[0][0] == "sent_at" and "10000-01-01" in kept[0][2]
    assert con.execute("SELECT max(data_end) FROM f_shop_span").fetchone()[0] < dt.datetime(2100, 1, 1)
    con.close()


@pytest.mark.parametrize("start", ["0001-01-01", "1969-12-31", "9999-12-31", "2200-01-01"])
def test_dates_asked_for_outside_the_range_get_a_clear_answer(db, start):
    path, token = db
    end = "9999-12-31" if start > "2100" else "2024-05-10"
    r = _client(path).get("/api/v1/metrics", params={"shop": "S1", "start": start, "end": end},
                          headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and "超出可分析的范围" in r.json()["error"], r.text
    web.close_all()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["metrics", "--db", str(path), "--shop", "S1", "--start", start, "--end", end])
    assert code == 2 and "超出可分析的范围" in err.getvalue(), err.getvalue()


EVERY_PAGE = ["pages/home.py", "pages/overview.py", "pages/satisfaction.py", "pages/capability.py",
              "pages/agents.py", "pages/agent.py", "pages/scenarios.py", "pages/live.py", "pages/bigscreen.py",
              "pages/data.py", "pages/accounts.py"]


def test_every_page_opens_on_a_store_that_held_year_10000(demo_db, tmp_path, open_app):
    """What the admin saw: one far event, then every page an internal error until the data was fixed."""
    broken = tmp_path / "broken.duckdb"
    shutil.copy(demo_db, broken)
    con = duckdb.connect(str(broken))
    for i, at in enumerate(["10000-01-01 00:00:00", "294247-01-01 00:00:00", "0001-01-01 00:00:00"]):
        con.execute("INSERT INTO messages (message_id, shop_id, session_id, buyer_id, sender_role, sent_at, content, "
                    "content_type, _import_id, _seq) VALUES (?, 'S001', ?, 'bf', 'buyer', CAST(? AS TIMESTAMP), 'x', "
                    "'text', 1, 99999)", [f"far{i}", f"far{i}", at])
    con.execute("UPDATE f_shop_span SET data_end = CAST('294247-01-01' AS TIMESTAMP) WHERE shop_id = 'S001'")
    con.close()
    for page in EVERY_PAGE:
        at = open_app(broken, page)  # (fails on any exception)
        assert not at.error, (page, [e.value for e in at.error])
