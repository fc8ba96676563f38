"""Peer benchmarks never let a scoped viewer solve another shop's figures (issue 24, item 4).

The attack: a supervisor of 3 of the 5 shops of a peer group knows their own 3 values; P60 and P90 over
the 5 (linear interpolation) are two equations in the 2 unknown values. And a supervisor who may import
can move their own shops' values at will and watch the percentiles move. The rule: a scoped viewer's
percentiles are taken over the group's shops outside their scope only, at least MIN_PEERS of them with a
value; an admin (who sees every shop anyway) keeps METRICS.md's group, the shop itself included."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from insight import accounts, import_paths, web
from insight.core.access import Viewer
from insight.core.filters import Filters
from insight.core.periods import Period
from insight.metrics.engine import MIN_PEERS, MetricEngine

from conftest import peer_store, write_dataset

DAY = dt.date(2024, 5, 10)
PERIOD = Period(DAY, DAY)


def satisfaction(i: int) -> float:
    return i / (i + 1)  # peer_store's shop Pi


def test_three_of_five_cannot_see_a_benchmark_that_would_give_the_other_two_away(tmp_path):
    store = peer_store(tmp_path, 5)
    lead = Viewer("lead", "supervisor", frozenset({"P0", "P1", "P2"}))
    admin = MetricEngine(store).peers("P0", PERIOD)["satisfaction_rate"]
    assert admin["peer_avg"] == pytest.approx(np.percentile([satisfaction(i) for i in range(5)], 60))
    theirs = MetricEngine(store).scoped(lead).peers("P0", PERIOD)
    for entry in theirs.values():
        assert entry["peer_avg"] is None and entry["peer_excellent"] is None
    assert "权限以外" in theirs["satisfaction_rate"]["reason"] and theirs["satisfaction_rate"]["n_shops"] == 2
    trend = MetricEngine(store).scoped(lead).peer_trend("P0", "day", DAY, ["satisfaction_rate"])
    assert trend["satisfaction_rate"].isna().all().all()


def test_a_scoped_benchmark_is_over_the_others_alone_so_moving_ones_own_shops_moves_nothing(tmp_path):
    store = peer_store(tmp_path, 8)
    lead = Viewer("lead", "supervisor", frozenset({"P0", "P1", "P2"}))
    engine = MetricEngine(store).scoped(lead)
    others = [satisfaction(i) for i in range(3, 8)]
    got = engine.peers("P0", PERIOD)["satisfaction_rate"]
    assert got["n_shops"] == MIN_PEERS
    assert (got["peer_avg"], got["peer_excellent"]) == pytest.approx((np.percentile(others, 60),
                                                                      np.percentile(others, 90)))
    # The supervisor rates every chat of their own shops 1 star: the benchmark they see does not move.
    evals = [{"session_id": f"P{i}-c{j}", "shop_id": f"P{i}", "buyer_id": f"P{i}-b{j}", "invited_by": "agent",
              "invited_at": "2024-05-10 11:00:00", "rating": 1, "rated_at": "2024-05-10 12:00:00"}
             for i in range(3) for j in range(i + 1)]
    report = import_paths(store, [write_dataset(tmp_path / "mine", evaluations=evals)], allowed_shops=lead.shops)
    assert report.tables["evaluations"].updated == len(evals)
    again = MetricEngine(store).scoped(lead).peers("P0", PERIOD)["satisfaction_rate"]
    assert (again["peer_avg"], again["peer_excellent"]) == (got["peer_avg"], got["peer_excellent"])
    trend = MetricEngine(store).scoped(lead).peer_trend("P0", "day", DAY, ["satisfaction_rate"])
    assert trend["satisfaction_rate"].loc[DAY, "peer_avg"] == pytest.approx(got["peer_avg"])
    # An agent of P0 sees the 7 others.
    agent = Viewer("p0", "agent", frozenset({"P0"}), agent_id="A1")
    seven = [satisfaction(i) for i in range(1, 8)]
    mine = MetricEngine(store).scoped(agent).peers("P0", PERIOD, Filters())["satisfaction_rate"]
    assert mine["peer_avg"] == pytest.approx(np.percentile(seven, 60))


def test_the_scenario_tables_benchmark_follows_the_same_rule(tmp_path):
    from insight.scenarios.model import taxonomy
    from insight.scenarios.store import refresh_parts, scenario_table

    store = peer_store(tmp_path, 5)
    code = sorted(taxonomy().names)[-1]
    store.con.execute("DELETE FROM session_scenarios")  # every chat in one scenario: each shop has it
    store.con.execute("INSERT INTO session_scenarios SELECT shop_id, session_id, ?, 0.9, NULL, 'test' FROM f_sessions",
                      [code])
    refresh_parts(store.con, [f"P{i}" for i in range(5)])
    lead = Viewer("lead", "supervisor", frozenset({"P0", "P1", "P2"}))
    engine = MetricEngine(store)
    admin = scenario_table(store.con, "P0", engine.benchmark_shops("P0"), PERIOD, Filters(), 3, taxonomy(), viewer=lead)
    theirs = scenario_table(store.con, "P0", engine.scoped(lead).benchmark_shops("P0"), PERIOD, Filters(), 3,
                            taxonomy(), viewer=lead)
    assert admin["peer_sat_avg"].notna().all() and theirs["peer_sat_avg"].isna().all()


def test_the_api_gives_a_supervisor_no_benchmark_from_too_few_others(tmp_path):
    db = tmp_path / "peers.duckdb"
    peer_store(tmp_path, 5, db=db).close()
    from insight import Store

    with Store(db) as store:
        accounts.add_user(store.con, "boss", "admin", "correct horse")
        accounts.add_user(store.con, "lead", "supervisor", "correct horse", shops=["P0", "P1", "P2"])
        tokens = {n: accounts.issue_token(store.con, n) for n in ("boss", "lead")}
    app = Starlette(routes=web.routes(str(db)), middleware=[Middleware(web.AuthMiddleware, db_path=str(db))])
    client = TestClient(app, base_url="http://insight.test", client=("10.0.0.5", 40000))
    try:
        got = {}
        for name, token in tokens.items():
            r = client.get("/api/v1/metrics", params={"shop": "P0", "start": str(DAY), "end": str(DAY)},
                           headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
            got[name] = r.json()
        assert got["boss"]["peers"]["satisfaction_rate"]["peer_avg"] is not None
        assert got["lead"]["peers"]["satisfaction_rate"]["peer_avg"] is None
        assert "权限以外" in got["lead"]["peers_info"]["satisfaction_rate"]["reason"]
    finally:
        web.close_all()
