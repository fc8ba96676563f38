"""Replaying a day as live events: the day's rows in time order, paced by speed; and a store fed the
last day as events equals one that imported everything at once (parts included)."""

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from insight import Store, accounts, import_paths, web
from insight.ingest.replay import ANCHORS, day_events, replay


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from insight.demo.generator import DemoConfig, write_demo

    folder = tmp_path_factory.mktemp("replay") / "demo"
    write_demo(folder, DemoConfig(shops=3, days=6, seed=4, sessions_per_day=6))
    last = duckdb.execute(f"SELECT max(CAST(sent_at AS DATE)) FROM read_csv('{folder}/messages.csv')").fetchone()[0]
    return folder, last


def _events_poster(db, folder):
    """``folder`` imported into the store ``db``, and a function posting NDJSON lines to its events endpoint
    (in process) as an admin: what ``replay`` posts through."""
    with Store(db) as store:
        import_paths(store, [folder], classify=False)
        accounts.add_user(store.con, "feeder", "admin", "correct horse")
        token = accounts.issue_token(store.con, "feeder")
    app = Starlette(routes=web.routes(str(db)), middleware=[Middleware(web.AuthMiddleware, db_path=str(db))])
    client = TestClient(app, base_url="http://insight.test")

    def post(lines):
        r = client.post("/api/v1/events", content="\n".join(lines).encode(),
                        headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()
    return post


def test_a_day_in_time_order_with_agents_first(demo):
    folder, last = demo
    day, events = day_events(folder, last)
    assert day == last and events[0][1]["table"] == "agents"
    times = [t for t, _ in events if t is not None]
    assert times == sorted(times) and all(t.date() == last for t in times)
    assert {row["table"] for _, row in events} >= {"agents", "messages", "evaluations", "orders"}


def test_pacing_follows_speed(demo):
    folder, last = demo
    _, events = day_events(folder, last)
    now = [0.0]
    sent: list[list[dict]] = []

    def post(lines):
        sent.append([json.loads(x) for x in lines])
        return {"accepted": len(lines), "rejected": 0}

    def sleep(seconds):
        now[0] += seconds
    totals = replay(events, post, speed=600, tick=1.0, sleep=sleep, clock=lambda: now[0])
    assert totals["posted"] == len(events) == totals["accepted"]
    span = (max(t for t, _ in events if t) - min(t for t, _ in events if t)).total_seconds()
    assert abs(now[0] - span / 600) <= 1.0 + 1e-6  # the day took its span / speed of (simulated) real time
    flat = [row for batch in sent for row in batch]
    assert flat == [row for _, row in events]


def test_a_replayed_day_equals_importing_it(demo, tmp_path):
    folder, last = demo
    history = tmp_path / "history"
    history.mkdir()
    con = duckdb.connect()
    for path in folder.glob("*.csv"):
        anchor = ANCHORS.get(path.stem)
        where = f"WHERE CAST(CAST({anchor} AS TIMESTAMP) AS DATE) < DATE '{last}'" if anchor else ""
        con.execute(f"COPY (SELECT * FROM read_csv('{path}', all_varchar = true) {where}) TO '{history / path.name}'")
    whole, fed = tmp_path / "whole.duckdb", tmp_path / "fed.duckdb"
    with Store(whole) as store:
        import_paths(store, [folder], classify=False)
    post = _events_poster(fed, history)
    # the last day of chats, and the days after it that still hold orders or escalations
    for offset in range(4):
        _, events = day_events(folder, last + dt.timedelta(days=offset))
        totals = replay(events, post, speed=1e9, tick=0)
        assert totals["rejected"] == 0
    web.close_all()
    # Sums of amounts in another order may differ in the last bits: compared to 1e-9, row by row.
    for table in ("parts", "parts_sales", "parts_tags", "f_sessions"):
        frames = []
        for db in (whole, fed):
            with duckdb.connect(str(db), read_only=True) as con:
                frame = con.execute(f"SELECT * FROM {table}").df()
            frames.append(frame.sort_values(list(frame.columns)).reset_index(drop=True))
        pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=False, rtol=1e-9, obj=table)
    columns = "message_id, shop_id, session_id, buyer_id, sender_role, agent_id, sent_at, content"
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{whole}' AS w (READ_ONLY)")
        con.execute(f"ATTACH '{fed}' AS f (READ_ONLY)")
        for table, cols in (("messages", columns), ("orders", "*"), ("evaluations", "*"), ("escalations", "*")):
            cols = cols if cols != "*" else ", ".join(c for c in _data_columns(table))
            assert con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM w.{table} EXCEPT ALL "
                               f"SELECT {cols} FROM f.{table})").fetchone()[0] == 0, table


def _data_columns(table):
    from insight.core.schema import TABLES

    return TABLES[table].column_names


def test_a_day_moved_to_another_lands_beside_the_original(demo, tmp_path):
    """The demo day is in the store already: replayed as it was, every row is a repeat and nothing moves.
    Moved to the next day (``replay --as-day``, today by default), it arrives as that day's rows with
    their own keys — every reference between the tables kept — and 实时监控 follows it."""
    from insight.analyses.live import live_snapshot
    from insight.core.access import LOCAL
    from insight.ingest.replay import moved_to
    from insight.metrics.engine import MetricEngine

    folder, last = demo
    _, events = day_events(folder, last)
    to_day = last + dt.timedelta(days=1)
    moved = moved_to(events, last, to_day)
    assert [t - dt.timedelta(days=1) if t else None for t, _ in moved] == [t for t, _ in events]
    rows = [row for _, row in moved]
    sessions = {r["session_id"] for r in rows if r["table"] == "sessions"}
    assert sessions and all(s.endswith(f"~{to_day:%Y%m%d}") for s in sessions)
    assert all(r["message_id"].endswith(f"~{to_day:%Y%m%d}") and r["session_id"].endswith(f"~{to_day:%Y%m%d}")
               for r in rows if r["table"] == "messages")
    assert {r["session_id"] for r in rows if r["table"] == "evaluations"} <= sessions
    assert [r for _, r in moved if r["table"] == "agents"] == [r for _, r in events if r["table"] == "agents"]
    db = tmp_path / "store.duckdb"
    totals = replay(moved, _events_poster(db, folder), speed=1e9, tick=0)
    web.close_all()
    assert totals["rejected"] == 0 and totals["accepted"] == totals["posted"] == len(moved)
    with Store(db) as store:
        per_day = dict(store.con.execute("SELECT CAST(sent_at AS DATE), count(*) FROM messages "
                                         "WHERE CAST(sent_at AS DATE) IN (?, ?) GROUP BY 1", [last, to_day]).fetchall())
        assert per_day[to_day] == per_day[last] > 0
        snap = live_snapshot(MetricEngine(store), "S001", viewer=LOCAL)
        assert snap["as_of"].date() == to_day
