"""The viewer's scope on every library read: shops outside it raise Forbidden, an agent reads their own
figures and chats (and their shop's totals), peers stay percentiles, personal data is masked."""


import pytest

from insight.analyses import platform, tables
from insight.core.access import LOCAL, Viewer
from insight.core.errors import Forbidden
from insight.core.filters import Filters
from insight.core.periods import Period
from insight.metrics.engine import MetricEngine
from insight.scenarios import store as scenarios

LEAD = Viewer("lead", "supervisor", frozenset({"S001", "S002"}))
XIAOYI = Viewer("xiaoyi", "agent", frozenset({"S001"}), agent_id="S001-A01")


@pytest.fixture(scope="module")
def store(demo_store_copy):
    return demo_store_copy


@pytest.fixture(scope="module")
def period(store):
    first, last = store.data_range()
    return Period(first, last)


def test_engine_reads_only_the_viewers_shops(store, period):
    engine = MetricEngine(store)
    lead = engine.scoped(LEAD)
    assert lead.compute("S002", period)["satisfaction_rate"].value == engine.compute("S002", period)["satisfaction_rate"].value
    for read in (lambda e: e.compute("S003", period), lambda e: e.report("S003", period),
                 lambda e: e.trend("S003", "day", period.end), lambda e: e.split("S003", period, "satisfaction_rate"),
                 lambda e: e.by_agent("S003", period), lambda e: e.peers("S003", period),
                 lambda e: e.peer_trend("S003", "week", period.end, ["satisfaction_rate"]),
                 lambda e: e.sums(["S001", "S003"], period, Filters()), lambda e: e.peer_shops("S003")):
        with pytest.raises(Forbidden):
            read(lead)
        read(engine)  # the local process reads everything
    # "every shop" means the viewer's shops
    keys, _ = lead.sum_arrays(None, period, Filters(), group_by="shop")
    assert set(keys) == {"S001", "S002"}


def test_peers_are_percentiles_never_another_shops_figure(store, period):
    peers = MetricEngine(store).scoped(LEAD).peers("S001", period)
    for entry in peers.values():
        assert set(entry) == {"peer_avg", "peer_excellent", "n_shops", "source", "reason"}
        assert entry["peer_avg"] is None or entry["n_shops"] >= 5 or entry["source"] == "imported"


def test_agent_reads_own_figures_and_shop_totals(store, period):
    engine = MetricEngine(store).scoped(XIAOYI)
    engine.compute("S001", period)  # the shop's totals: the agent's comparison
    engine.compute("S001", period, Filters(agent="S001-A01"))
    with pytest.raises(Forbidden):
        engine.compute("S001", period, Filters(agent="S001-A02"))
    values, _ = engine.by_agent("S001", period)
    assert list(values.index) == ["S001-A01"]
    agents = tables.agent_table(engine, "S001", period)
    assert list(agents["agent_id"]) == ["S001-A01"]
    with pytest.raises(Forbidden):
        engine.compute("S002", period)


def test_chats_are_scoped_and_masked(store, period):
    con = store.con
    sessions = tables.evaluated_sessions(con, "S001", period, viewer=XIAOYI)
    assert len(sessions) and set(sessions["agent_id"]) == {"S001-A01"}
    everyone = tables.evaluated_sessions(con, "S001", period, viewer=LOCAL)
    assert len(set(everyone["agent_id"])) > 1
    own = sessions.iloc[0]["session_id"]
    other = everyone[everyone["agent_id"] != "S001-A01"].iloc[0]["session_id"]
    assert len(tables.transcript(con, own, "S001", viewer=XIAOYI))
    with pytest.raises(Forbidden):
        tables.transcript(con, other, "S001", viewer=XIAOYI)
    with pytest.raises(Forbidden):
        tables.transcript(con, other, "S003", viewer=LEAD)
    with pytest.raises(Forbidden):
        tables.evaluated_sessions(con, "S003", period, viewer=LEAD)
    assert set(tables.evaluated_agents(con, "S001", period, viewer=XIAOYI)) == {"S001-A01"}

    # a phone number a buyer typed: masked for a viewer without the PII permission
    con.execute("UPDATE messages SET content = '我的电话 13812345678，地址 杭州市西湖区文三路123号' "
                "WHERE session_id = ? AND sender_role = 'buyer'", [own])
    masked = " ".join(tables.transcript(con, own, "S001", viewer=XIAOYI)["content"].dropna())
    assert "13812345678" not in masked and "138＊＊＊＊5678" in masked and "文三路" not in masked
    granted = Viewer("xiaoyi", "agent", frozenset({"S001"}), agent_id="S001-A01", pii=True)
    assert "13812345678" in " ".join(tables.transcript(con, own, "S001", viewer=granted)["content"].dropna())


def test_overview_counts_only_the_viewers_shops(store):
    everything = tables.store_overview(store, viewer=LOCAL)
    mine = tables.store_overview(store, viewer=LEAD)
    assert mine["shops"] == 2 and everything["shops"] == 10
    assert set(mine["per_shop"]["店铺ID"]) == {"S001", "S002"}
    assert 0 < mine["messages"] < everything["messages"]
    assert list(store.shops_with_span(viewer=LEAD)["shop_id"]) == ["S001", "S002"]


def test_platform_reports_and_scenarios_are_scoped(store, period):
    with pytest.raises(Forbidden):
        platform.platform_figures(store.con, period, ["S003"], viewer=LEAD)
    with pytest.raises(Forbidden):
        platform.platform_agent_table(store.con, period, viewer=XIAOYI)
    from insight.scenarios.model import taxonomy

    with pytest.raises(Forbidden):
        scenarios.scenario_table(store.con, "S003", ["S003"], period, Filters(), 1, taxonomy(), viewer=LEAD)
    with pytest.raises(Forbidden):
        scenarios.scenario_chats(store.con, "S003", period, Filters(), "logistics", viewer=LEAD)
    top = store.con.execute("SELECT split_part(code, '.', 1) FROM session_scenarios WHERE shop_id = 'S001' "
                            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    everyone = scenarios.scenario_chats(store.con, "S001", period, Filters(), top, 500, viewer=LOCAL)
    own = scenarios.scenario_chats(store.con, "S001", period, Filters(), top, 500, viewer=XIAOYI)
    assert len(set(everyone["agent_id"])) > 1 and len(own) and set(own["agent_id"]) == {"S001-A01"}
