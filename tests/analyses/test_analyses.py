"""Tag TOP10, rating mix, agent table, evaluated sessions and transcripts."""

import datetime as dt

import pytest

from insight import Filters, MetricEngine, Period
from insight.analyses.tables import agent_table, evaluated_sessions, rating_mix, tag_top, transcript
from insight.core.access import LOCAL

from conftest import Chat, load, messages_of

DAY = Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10))


def _store(tmp_path):
    chats, evals = [], []
    spec = {  # day → ratings with tags
        "2024-05-09": [(5, None), (4, None), (2, "回复慢"), (3, "回复慢;态度差")],
        "2024-05-10": [(5, None), (5, None), (4, None), (1, "回复慢;问题没有解决"), (3, "回复慢"), (2, "态度差")],
    }
    for day, ratings in spec.items():
        for i, (rating, tags) in enumerate(ratings):
            sid = f"{day}-{i}"
            agent = "A1" if i % 2 == 0 else "A2"
            chats.append(Chat(sid, f"b{i}", day).buyer("10:00:00", "在吗").agent("10:00:40", "在的", agent_id=agent))
            evals.append({"session_id": sid, "shop_id": "S1", "buyer_id": f"b{i}", "invited_by": "agent",
                          "invited_at": f"{day} 11:00:00", "rating": rating, "rated_at": f"{day} 11:02:00",
                          "tags": tags})
    agents = [{"agent_id": "A1", "shop_id": "S1", "agent_name": "小美", "kind": "human"},
              {"agent_id": "A2", "shop_id": "S1", "agent_name": "阿杰", "kind": "human"}]
    return load(tmp_path, messages=messages_of(*chats), evaluations=evals, agents=agents)


def test_tag_top_with_previous_period(tmp_path):
    engine = MetricEngine(_store(tmp_path))
    top = tag_top(engine, "S1", DAY)
    assert list(top["tag"]) == ["回复慢", "态度差", "问题没有解决"]
    slow = top.iloc[0]
    assert slow["count"] == 2 and slow["share_bad"] == pytest.approx(2 / 3)
    assert slow["prev_count"] == 2 and slow["prev_share_bad"] == pytest.approx(1.0)
    assert slow["change_share"] == pytest.approx(2 / 3 - 1)


def test_rating_mix_explains_the_change_in_satisfaction(tmp_path):
    engine = MetricEngine(_store(tmp_path))
    mix = rating_mix(engine, "S1", DAY).set_index("rating")
    assert mix.loc[5, "share"] == pytest.approx(2 / 6) and mix.loc[5, "prev_share"] == pytest.approx(1 / 4)
    d_sat = (3 / 6) - (2 / 4)
    assert mix.loc[[4, 5], "contribution"].sum() == pytest.approx(d_sat)
    assert mix.loc[[1, 2, 3], "contribution"].sum() == pytest.approx(d_sat)
    # Δsat is 0 here: shares of a zero change are undefined, not numbers.
    assert mix["share_of_change"].isna().all()


def test_agent_table_uses_each_agents_own_units(tmp_path):
    engine = MetricEngine(_store(tmp_path))
    table = agent_table(engine, "S1", DAY).set_index("agent_id")
    assert set(table.index) == {"A1", "A2"}
    assert table.loc["A1", "agent_name"] == "小美"
    assert table.loc["A1", "evaluated_sessions"] == 3 and table.loc["A2", "evaluated_sessions"] == 3
    assert table.loc["A1", "satisfaction_rate"] == pytest.approx(2 / 3)  # ratings 5, 4, 3
    assert table.loc["A2", "satisfaction_rate"] == pytest.approx(1 / 3)  # ratings 5, 1, 2
    assert table.loc["A1", "first_response_time"] == pytest.approx(40)
    # for ranking: 2 of 3 and 1 of 3 are no further apart than chance → both shrink to the pooled 3 of 6
    assert list(table["n_evaluated"]) == [3, 3]
    assert table.loc["A1", "satisfaction_shrunk"] == pytest.approx(0.5, abs=0.01)
    assert table.loc["A1", "satisfaction_shrunk"] >= table.loc["A2", "satisfaction_shrunk"]
    # 环比 per agent against the agent's own previous period: points for a rate, relative for a count
    before, _ = engine.by_agent("S1", DAY.previous())
    for agent in ("A1", "A2"):
        prev = before["satisfaction_rate"].get(agent)
        expected = None if prev is None or prev != prev else table.loc[agent, "satisfaction_rate"] - prev
        got = table.loc[agent, "satisfaction_rate_change"]
        assert (got is None or got != got) if expected is None else got == pytest.approx(expected)
    assert table["satisfaction_rate_change"].notna().any()


def test_evaluated_sessions_and_transcript(tmp_path):
    store = _store(tmp_path)
    rows = evaluated_sessions(store.con, "S1", DAY, ratings=[1, 2, 3], viewer=LOCAL)
    assert list(rows["rating"]) == [1, 2, 3]
    assert list(evaluated_sessions(store.con, "S1", DAY, Filters(agent="A2"), viewer=LOCAL)["rating"]) == [1, 2, 5]
    chat = transcript(store.con, rows.iloc[0]["session_id"], "S1", viewer=LOCAL)
    assert list(chat["sender_role"]) == ["buyer", "agent"] and chat.iloc[1]["agent_name"] in ("小美", "阿杰")


def test_evaluated_sessions_pass_the_hours_filter_by_invitation_time(tmp_path):
    store = _store(tmp_path)  # chats at 10:00, invitations at 11:00: both working hours
    assert len(evaluated_sessions(store.con, "S1", DAY, Filters(hours="work"), viewer=LOCAL)) == 6
    assert len(evaluated_sessions(store.con, "S1", DAY, Filters(hours="off"), viewer=LOCAL)) == 0


def test_agent_table_is_empty_but_well_formed_when_no_agent_qualifies(tmp_path):
    store = load(tmp_path, messages=messages_of(Chat("c1").buyer("10:00:00").agent("10:00:05")))
    table = agent_table(MetricEngine(store), "S1", Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10)),
                        Filters(channel="robot"))
    assert table.empty and "consult_buyers" in table.columns


def test_sales_funnel_counts_are_the_rates_numerators(tmp_path):
    from insight.analyses.tables import sales_funnel

    chats = [Chat(f"f{i}", f"b{i}").buyer("10:00:00", "有货吗").agent("10:00:10", "有的") for i in range(3)]
    orders = [{"order_id": "o1", "shop_id": "S1", "buyer_id": "b0", "created_at": "2024-05-10 11:00:00",
               "paid_at": "2024-05-10 11:05:00", "amount": "99"},
              {"order_id": "o2", "shop_id": "S1", "buyer_id": "b1", "created_at": "2024-05-10 12:00:00",
               "paid_at": None, "amount": "59"}]
    store = load(tmp_path, messages=messages_of(*chats), orders=orders)
    period = Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10))
    assert sales_funnel(MetricEngine(store), "S1", period) == (3, 2, 1)


def test_agent_vs_shop_rows_show_both_with_a_tested_gap(tmp_path):
    """An agent's figures from their own report (环比, interval, n) beside the shop's: a gap within the
    agent's interval is 相当, not 低于; an unavailable figure is — with its reason."""
    from insight.analyses.diagnosis import agent_vs_shop

    engine = MetricEngine(_store(tmp_path))
    shop = engine.report("S1", DAY)
    keys = ("satisfaction_rate", "first_response_time", "agent_sales_amount")
    rows = agent_vs_shop(engine.report("S1", DAY, Filters(agent="A2")), shop, keys=keys).set_index("key")
    sat = rows.loc["satisfaction_rate"]
    assert (sat["本期"], sat["全店"], sat["样本量"]) == ("33.33%", "50.00%", "3")
    assert sat["对比全店"] == "与全店相当（差距在误差范围内）"  # 1 of 3 against 3 of 6
    assert sat["区间"].count("%") == 2 and sat["interval"][0] < 0.5 < sat["interval"][1]
    sales = rows.loc["agent_sales_amount"]
    assert sales["本期"] == "—" and sales["说明"]  # no orders table: unavailable, with why
    # an agent's total is a part of the shop's: shown beside it, never judged 低于全店
    report = {"metrics": {"agent_sales_amount": 100.0}, "previous": {"agent_sales_amount": None},
              "change": {"agent_sales_amount": None}, "n": {"agent_sales_amount": None}, "unavailable": {},
              "peers": {"agent_sales_amount": {"peer_avg": None, "peer_excellent": None}},
              "peers_info": {"agent_sales_amount": {"reason": ""}}}
    total = agent_vs_shop(report, {"metrics": {"agent_sales_amount": 900.0}}, keys=("agent_sales_amount",)).iloc[0]
    assert total["全店"] == "¥900.00" and total["对比全店"] is None


def test_the_metric_table_exports_numbers_in_named_units(tmp_path):
    """服务能力诊断's 指标一览 in a spreadsheet: numbers (not "33.33%"), a rate in %, a time in seconds, the
    环比 of a rate in 个百分点 — the page's figures, each unit named beside it."""
    from insight.analyses.diagnosis import metric_rows, metric_rows_export

    engine = MetricEngine(_store(tmp_path))
    rows = metric_rows(engine.report("S1", DAY), ("satisfaction_rate", "first_response_time", "consult_buyers"))
    export = metric_rows_export(rows).set_index("指标")
    sat, first, buyers = export.iloc[0], export.iloc[1], export.iloc[2]
    assert sat["单位"] == "%" and sat["本期"] == pytest.approx(50.0) and sat["样本量"] == 6
    assert sat["95% 区间下限"] < 50.0 < sat["95% 区间上限"] and sat["环比单位"] == "个百分点"
    assert first["单位"] == "秒" and first["本期"] == pytest.approx(rows.iloc[1]["value"])
    assert buyers["单位"] == "" and float(buyers["本期"]).is_integer()
    assert not any(isinstance(v, str) and v.endswith("%") for v in export[["本期", "上期", "环比"]].to_numpy().ravel())


def test_changes_in_tables_carry_the_cards_verdict(tmp_path):
    """客服绩效 and 周报's per-agent 环比 and the tag TOP10's 次数环比 come with 显著/波动内 by the cards' tests:
    a count 2 → 5 is within chance; a rate's change on a handful of ratings too."""
    from insight.analyses.tables import agent_table, tag_top
    from insight.metrics.stats import counts_changed

    assert counts_changed(5, 2) is False and counts_changed(60, 20) is True and counts_changed(0, 0) is None
    engine = MetricEngine(_store(tmp_path))
    table = agent_table(engine, "S1", DAY)
    assert {"satisfaction_rate_change_real", "consult_buyers_change_real", "n_satisfaction_rate"} <= set(table.columns)
    assert all(v in (True, False, None) for v in table["satisfaction_rate_change_real"])
    tags = tag_top(engine, "S1", DAY)
    assert "change_count_real" in tags.columns


def test_what_happened_says_the_volume_the_real_changes_and_the_rest_within_chance(tmp_path):
    """本期发生了什么 (周报's opening, 满意度监测 and 服务能力诊断): from the cards' own rules — a change beyond
    chance is named with its direction, the others counted as within chance; no 环比 where it is not
    comparable, and the page may leave the why to its own notice."""
    import copy

    from insight.analyses.weekly import what_happened

    engine = MetricEngine(_store(tmp_path))
    rep = engine.report("S1", DAY)
    assert what_happened(rep).startswith(f"本期咨询 {rep['metrics']['consult_buyers']:,.0f} 人")
    partial = {**rep, "change_reason": "店铺数据从 2024-05-10 开始，上期没有完整数据"}
    assert "环比不可比：店铺数据从" in what_happened(partial)
    assert "环比不可比" not in what_happened(partial, say_why_no_change=False)
    moved = copy.deepcopy(rep)
    moved["change_reason"] = None
    for key in moved["change"]:
        moved["change"][key], moved["change_significant"][key] = None, None
    moved["change"]["satisfaction_rate"], moved["change_significant"]["satisfaction_rate"] = -0.2, True
    moved["change"]["first_response_time"], moved["change_significant"]["first_response_time"] = 0.1, False
    text = what_happened(moved)
    assert "满意率" in text and "变差" in text and "另有 1 项指标的环比在正常波动内" in text
