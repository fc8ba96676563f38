"""The bottom layer: filters as SQL, the hours bucket, settings validation, labels from the rules."""

import datetime as dt

import duckdb
import pytest

from insight.core.errors import InsightError, UsageError
from insight.core.filters import Filters, evaluation_where, hours_bucket_sql
from insight.core.settings import SalesSettings, StoreSettings, work_hours_label


def test_filters_become_parameters_never_text():
    where, params = Filters("manual", "all", "work", "A'1").sql_where("s.")
    assert where == ["s.channel = ?", "s.hours = ?", "s.agent_id = ?"] and params == ["manual", "work", "A'1"]
    where, params = evaluation_where(Filters("robot", "presale", "off", None), "f.")
    assert where[:2] == ["f.channel = ?", "f.stage = ?"] and "e.invited_at" in where[2] and params[-1] == "off"
    with pytest.raises(UsageError):
        Filters(channel="everything").validate()


@pytest.mark.parametrize("time,bucket", [("07:59:59", "off"), ("08:00:00", "work"), ("22:59:59", "work"),
                                         ("23:00:00", "off")])
def test_hours_bucket_edges(time, bucket):
    sql = hours_bucket_sql("CAST(? AS TIMESTAMP)")
    assert duckdb.execute(f"SELECT {sql}", [f"2024-05-10 {time}"] * 2).fetchone()[0] == bucket
    assert work_hours_label() == "08:00:00–22:59:59"


def test_settings_validate_inside_the_error_tree():
    assert SalesSettings().validate().key == "attr=order_first;valid=2;followup=1"
    for bad in (SalesSettings(attribution="x"), SalesSettings(valid_days=0), SalesSettings(valid_days=31)):
        with pytest.raises(InsightError):
            bad.validate()
    for days in (0, 366, "7"):
        with pytest.raises(UsageError):
            StoreSettings(stage_window_days=days).validate()


def test_coverage_reason_names_the_period_the_data_covers_in_part():
    import datetime as dt

    from insight.core.periods import Period, coverage_reason

    day = dt.date.fromisoformat
    now = Period(day("2024-05-13"), day("2024-05-15"))
    assert coverage_reason(now, now.previous(), day("2024-05-10"), day("2024-05-15")) is None
    assert coverage_reason(now, now.previous(), day("2024-05-11"), day("2024-05-15")).startswith("上期 05-10～05-12")
    assert "截至 2024-05-14" in coverage_reason(now, now.previous(), day("2024-05-01"), day("2024-05-14"))
    assert coverage_reason(now, now.previous(), None, None) is None


@pytest.mark.parametrize("last, kind, expected", [
    ("2024-06-12", "week", "2024-06-09"),   # a Wednesday: the week before, Monday 3rd to Sunday 9th
    ("2024-06-09", "week", "2024-06-09"),   # a Sunday: its own week is complete
    ("2024-06-12", "month", "2024-05-31"),  # mid-June: May
    ("2024-06-30", "month", "2024-06-30"),  # the month's last day: June itself
    ("2024-06-12", "last7", "2024-06-12"),  # rolling periods end at the last day
    ("2024-06-12", "day", "2024-06-12"),
])
def test_week_and_month_open_on_the_last_complete_one(last, kind, expected):
    from insight.core.periods import complete_anchor, preset

    last = dt.date.fromisoformat(last)
    anchor = complete_anchor(kind, dt.date(2024, 1, 1), last)
    assert anchor == dt.date.fromisoformat(expected) and preset(kind, anchor).end <= last


def test_without_a_complete_week_the_last_day_is_kept():
    from insight.core.periods import complete_anchor

    assert complete_anchor("week", dt.date(2024, 6, 11), dt.date(2024, 6, 12)) == dt.date(2024, 6, 12)
    assert complete_anchor("month", dt.date(2024, 6, 2), dt.date(2024, 6, 12)) == dt.date(2024, 6, 12)
