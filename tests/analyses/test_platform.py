"""平台口径 over a period: counts add up, rates with a denominator are re-weighted, rates without one
are never combined across days."""

import datetime as dt

import pandas as pd

from insight import Store, import_paths
from insight.analyses.platform import PER_DAY_ONLY, platform_agent_table, platform_beside_ours, platform_figures
from insight.core.access import LOCAL
from insight.core.periods import Period
from insight.metrics.registry import registry

from conftest import SHOP, Chat, write_csv

ROWS = [  # 抖店 飞鸽, two days of one agent
    {"日期": "2024-05-10", "客服昵称": "小美", "人工已接待会话量": "100", "3分钟人工回复率(会话)": "90%", "满意率": "80%",
     "人工已接待人数": "90"},
    {"日期": "2024-05-11", "客服昵称": "小美", "人工已接待会话量": "300", "3分钟人工回复率(会话)": "50%", "满意率": "100%",
     "人工已接待人数": "250"},
]


def _store(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_csv(folder / "shops.csv", [{**SHOP, "platform": "douyin"}])
    write_csv(folder / "messages.csv", Chat("z1", "z", day="2024-05-01").buyer("09:00:00", "你好").rows)
    write_csv(folder / "飞鸽客服数据.csv", ROWS)
    store = Store(None)
    import_paths(store, [folder], shop="S1", classify=False)
    return store


def test_counts_add_weighted_rates_reweight_and_bare_rates_stay_per_day(tmp_path):
    store = _store(tmp_path)
    both = platform_figures(store.con, Period(dt.date(2024, 5, 10), dt.date(2024, 5, 11)), viewer=LOCAL).set_index("metric")
    assert both.loc["人工已接待会话量", "value"] == 400
    # (0.9 × 100 + 0.5 × 300) / 400, not the mean of 90% and 50%
    assert both.loc["3分钟人工回复率(会话)", "value"] == 0.6
    assert pd.isna(both.loc["满意率", "value"]) and both.loc["满意率", "reason"] == PER_DAY_ONLY
    one = platform_figures(store.con, Period(dt.date(2024, 5, 11), dt.date(2024, 5, 11)), viewer=LOCAL).set_index("metric")
    assert one.loc["满意率", "value"] == 1.0 and one.loc["满意率", "days"] == 1


def test_cross_platform_table_uses_registry_names_and_agents_match_by_name(tmp_path):
    store = _store(tmp_path)
    period = Period(dt.date(2024, 5, 10), dt.date(2024, 5, 11))
    table, reasons, kinds = platform_agent_table(store.con, period, viewer=LOCAL)
    assert kinds["3分钟回复率(会话)"] == "rate" and kinds[registry()["manual_sessions"].name] == "count"
    assert list(table["agent"]) == ["小美"]
    assert "3分钟回复率(会话)" in table.columns and table["3分钟回复率(会话)"].iloc[0] == 0.6
    assert reasons == {"满意率": PER_DAY_ONLY}
    beside = platform_beside_ours(store.con, "S1", period, pd.DataFrame({"agent_id": ["S1-A1"], "agent_name": ["小美"]}), viewer=LOCAL)
    assert beside.loc["S1-A1", "reply_3min_rate_session"] == 0.6


def test_no_reports_no_rows(tmp_path):
    store = Store(None)
    assert platform_figures(store.con, Period(dt.date(2024, 5, 10), dt.date(2024, 5, 11)), viewer=LOCAL).empty
