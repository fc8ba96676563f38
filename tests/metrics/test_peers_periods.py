"""Peers (同行同层), periods, previous period and 环比."""

import datetime as dt

import numpy as np
import pytest

from insight import Filters, MetricEngine, Period, preset
from insight.core.errors import UsageError
from insight.core.periods import change, trend_window

from conftest import Chat, load, messages_of, peer_store


def test_too_few_peers_is_null_with_reason(tmp_path):
    store = peer_store(tmp_path, 4)
    peers = MetricEngine(store).peers("P0", Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10)))
    assert peers["satisfaction_rate"]["peer_avg"] is None
    assert "不足 5 家" in peers["satisfaction_rate"]["reason"]
    assert peers["satisfaction_rate"]["n_shops"] == 4


def test_five_peers_give_p60_p90_and_p40_p10(tmp_path):
    store = peer_store(tmp_path, 5)
    period = Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10))
    peers = MetricEngine(store).peers("P0", period)
    sat = [i / (i + 1) for i in range(5)]
    assert peers["satisfaction_rate"]["peer_avg"] == pytest.approx(np.percentile(sat, 60))
    assert peers["satisfaction_rate"]["peer_excellent"] == pytest.approx(np.percentile(sat, 90))
    waits = [10.0 * (i + 1) for i in range(5)]  # ↓ metric: P40 and P10
    assert peers["first_response_time"]["peer_avg"] == pytest.approx(np.percentile(waits, 40))
    assert peers["first_response_time"]["peer_excellent"] == pytest.approx(np.percentile(waits, 10))
    assert peers["manual_sessions"]["peer_avg"] is None  # no direction, no benchmark


def test_imported_peers_take_precedence(tmp_path):
    store = peer_store(tmp_path, 5)
    from insight import import_paths

    from conftest import write_dataset

    folder = write_dataset(tmp_path / "peers", peers=[
        {"platform": "douyin", "category": "美妆", "tier": 2, "metric": "satisfaction_rate",
         "period_start": "2024-05-10", "period_end": "2024-05-10", "peer_avg": 0.8, "peer_excellent": 0.95}])
    import_paths(store, [folder / "peers.csv"])
    peers = MetricEngine(store).peers("P0", Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10)))
    assert peers["satisfaction_rate"]["peer_avg"] == 0.8
    assert peers["satisfaction_rate"]["source"] == "imported"
    assert peers["bad_rate"]["source"] == "computed"


def test_presets_and_previous_period():
    d = dt.date(2024, 5, 15)  # a Wednesday
    assert preset("day", d) == Period(d, d)
    week = preset("week", d)
    assert (week.start, week.end) == (dt.date(2024, 5, 13), dt.date(2024, 5, 19))
    assert week.previous() == Period(dt.date(2024, 5, 6), dt.date(2024, 5, 12))
    month = preset("month", d)
    assert (month.start, month.end) == (dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    assert month.previous() == Period(dt.date(2024, 3, 31), dt.date(2024, 4, 30))  # equal length
    assert preset("last7", d) == Period(dt.date(2024, 5, 9), d)
    assert preset("last30", d).days == 30
    with pytest.raises(UsageError):
        Period(d, d - dt.timedelta(days=1))


def test_change_is_points_for_rates_and_relative_otherwise():
    assert change(0.9, 0.85, is_rate=True) == pytest.approx(0.05)
    assert change(120, 100, is_rate=False) == pytest.approx(0.2)
    assert change(5, 0, is_rate=False) is None
    assert change(None, 3, is_rate=False) is None


def test_trend_windows():
    end = dt.date(2024, 5, 15)
    assert trend_window("day", end).days == 30
    assert trend_window("week", end).start == dt.date(2024, 2, 26)  # 12 Mondays back
    assert trend_window("month", end).start == dt.date(2023, 6, 1)


def test_trend_has_every_bucket_and_nulls_for_empty_ones(tmp_path):
    store = peer_store(tmp_path, 1, with_other_group=False)
    values, reasons = MetricEngine(store).trend("P0", "day", dt.date(2024, 5, 12))
    assert len(values) == 30
    assert values.loc[dt.date(2024, 5, 10), "manual_sessions"] == 1
    assert np.isnan(values.loc[dt.date(2024, 5, 11), "satisfaction_rate"])
    assert "分母为 0" in reasons.loc[dt.date(2024, 5, 11), "satisfaction_rate"]


def test_any_period_is_a_sum_of_parts_not_a_mean_of_ratios(tmp_path):
    # Day 1: 1 of 1 message within 3 min; day 2: 1 of 3. Two days: 2/4, not mean(1, 1/3).
    chats = [Chat("d1", "b1", "2024-05-10").buyer("10:00:00").agent("10:00:10"),
             Chat("d2", "b2", "2024-05-11").buyer("10:00:00").agent("10:00:10").buyer("10:05:00")
             .buyer("10:05:05").agent("10:10:00")]
    store = load(tmp_path, messages=messages_of(*chats))
    engine = MetricEngine(store)
    both = engine.compute("S1", Period(dt.date(2024, 5, 10), dt.date(2024, 5, 11)), Filters())
    assert both["reply_3min_rate_msg"].value == pytest.approx(2 / 4)
    assert both["reply_3min_rate_msg"].denominator == 4


def _rated_days(tmp_path, days: dict[str, list[int]]):
    """One rated chat per rating, on each day."""
    chats, evals = [], []
    for day, ratings in days.items():
        for i, rating in enumerate(ratings):
            sid = f"{day}-{i}"
            chats.append(Chat(sid, f"b{sid}", day).buyer("10:00:00").agent("10:00:30"))
            evals.append({"session_id": sid, "shop_id": "S1", "buyer_id": f"b{sid}", "invited_by": "agent",
                          "invited_at": f"{day} 11:00:00", "rating": rating, "rated_at": f"{day} 11:01:00"})
    return load(tmp_path, messages=messages_of(*chats), evaluations=evals)


def _days(first: str, last: str) -> Period:
    return Period(dt.date.fromisoformat(first), dt.date.fromisoformat(last))


def test_a_change_against_a_period_the_data_covers_in_part_is_not_given(tmp_path):
    store = _rated_days(tmp_path, {f"2024-05-{d}": [5, 4, 2] for d in range(10, 16)})
    engine = MetricEngine(store)
    partial = engine.report("S1", _days("2024-05-12", "2024-05-14"))  # previous: 05-09…05-11, data from 05-10
    assert partial["change_reason"].startswith("上期 05-09～05-11 只有部分日期有数据")
    assert all(v is None for v in partial["change"].values())
    assert partial["previous"]["evaluated_sessions"] == 6  # the figure itself is shown, not compared
    ahead = engine.report("S1", _days("2024-05-14", "2024-05-16"))  # data ends 05-15
    assert "截至 2024-05-15" in ahead["change_reason"]
    whole = engine.report("S1", _days("2024-05-13", "2024-05-15"))
    assert whole["change_reason"] is None and whole["change"]["evaluated_sessions"] == 0.0


def test_rates_carry_a_wilson_interval_and_a_tested_change(tmp_path):
    # 05-10…05-12: 9 of 9 satisfied; 05-13…05-15: 3 of 9 — a real drop; 2 of 3 vs 3 of 3 would not be
    store = _rated_days(tmp_path, {**{f"2024-05-{d}": [5, 5, 4] for d in (10, 11, 12)},
                                   **{f"2024-05-{d}": [5, 2, 1] for d in (13, 14, 15)}})
    rep = MetricEngine(store).report("S1", _days("2024-05-13", "2024-05-15"))
    lo, hi = rep["interval"]["satisfaction_rate"]
    assert (lo, hi) == (pytest.approx(0.1206, abs=1e-4), pytest.approx(0.6458, abs=1e-4))  # Wilson, 3 of 9
    assert rep["change_significant"]["satisfaction_rate"] is True
    assert rep["interval"]["evaluated_sessions"] is None and rep["change_significant"]["evaluated_sessions"] is None
    small = MetricEngine(store).report("S1", _days("2024-05-15", "2024-05-15"))
    assert small["change_significant"]["satisfaction_rate"] is False  # 1 of 3 against 1 of 3
    # a complement (FCR = 1 − repeats / n) gets the interval of the rate shown
    assert rep["interval"]["fcr_3day"] is None or rep["interval"]["fcr_3day"][0] <= rep["metrics"]["fcr_3day"]


def test_duration_means_carry_a_t_interval_and_a_welch_test(tmp_path):
    """First response times 10, 20, 30 s on 05-11 and 40, 50, 60 s on 05-10: the 95 % t interval of the
    mean (as stats computes it by hand), a tested 环比, and the agent's view from the agent's own waits."""
    chats = [Chat(f"a{i}", f"b{i}", day="2024-05-11").buyer("10:00:00", "在吗").agent(f"10:00:{w}", "在的")
             for i, w in enumerate((10, 20, 30))]
    chats += [Chat(f"p{i}", f"c{i}", day="2024-05-10").buyer("10:00:00", "在吗").agent(f"10:00:{w}", "在的")
              for i, w in enumerate((40, 50, 59))]
    store = load(tmp_path, messages=messages_of(*chats))
    rep = MetricEngine(store).report("S1", _days("2024-05-11", "2024-05-11"))
    assert rep["metrics"]["first_response_time"] == pytest.approx(20)
    lo, hi = rep["interval"]["first_response_time"]
    assert lo == 0 and hi == pytest.approx(44.8414, abs=1e-3)
    assert rep["change_significant"]["first_response_time"] is True  # 20 s against 49.7 s, n = 3 each
    assert rep["interval"]["avg_response_time"] is not None and rep["interval"]["manual_sessions"] is None
    agent = MetricEngine(store).report("S1", _days("2024-05-11", "2024-05-11"), Filters(agent="A1"))
    assert agent["interval"]["first_response_time"][1] == pytest.approx(44.8414, abs=1e-3)


def test_the_trend_follows_the_chosen_period():
    from insight.core.periods import trend_grains

    end = dt.date(2024, 5, 12)
    # a week by day: the week itself; a single day: 7 days of context; a quarter by week from its Monday
    assert trend_window("day", end, dt.date(2024, 5, 6)) == Period(dt.date(2024, 5, 6), end)
    assert trend_window("day", end, end).days == 7
    assert trend_window("week", end, dt.date(2024, 2, 14)).start == dt.date(2024, 2, 12)
    assert trend_window("month", end, dt.date(2024, 4, 20)).start == dt.date(2024, 3, 1)  # at least 3 months
    assert trend_grains(Period(dt.date(2024, 5, 6), end)) == ["day"]
    assert trend_grains(Period(dt.date(2024, 4, 13), end)) == ["day", "week"]
    assert trend_grains(Period(dt.date(2024, 1, 1), end)) == ["week", "month"]  # 133 days: no daily bars
    assert trend_grains(Period(dt.date(2023, 1, 1), end)) == ["month", "week"]
