"""ui.state: the shared filters read from a link fall back, with a visible notice, when a value cannot
be used — never a traceback (``demo_db`` and ``open_app`` are in tests/conftest.py)."""

import pytest


@pytest.mark.parametrize("page,params", [
    ("pages/satisfaction.py", {"date": "1900-01-01"}),
    ("pages/satisfaction.py", {"date": "not-a-date"}),
    ("pages/satisfaction.py", {"period": "custom", "range": "2026-10-20~2026-10-01"}),
    ("pages/satisfaction.py", {"period": "custom", "range": "1900-01-01~2999-01-01"}),
    ("pages/satisfaction.py", {"shop": "NOPE"}),
    ("pages/satisfaction.py", {"period": "forever", "channel": "x", "hours": "'; DROP TABLE shops; --"}),
    ("pages/agents.py", {"valid": "-5"}),
    ("pages/agents.py", {"valid": "99999", "attr": "nope", "followup": "maybe"}),
    ("pages/agent.py", {"agent": "![x](http://127.0.0.1:9/x.png)"}),
    ("pages/capability.py", {"foo": "1", "stage": "x"}),
])
def test_bad_link_parameters_fall_back_with_a_notice(demo_db, page, params, open_app):
    at = open_app(demo_db, page, params)
    warnings = " ".join(w.value for w in at.warning)
    assert "链接" in warnings, warnings
    assert "Traceback" not in warnings and "http://" not in warnings.replace("http\\:", "")
    assert at.metric or at.get("plotly_chart") or at.dataframe


def test_a_session_value_invalid_for_another_shop_falls_back_quietly(demo_db, open_app):
    at = open_app(demo_db, "pages/satisfaction.py", {"period": "custom", "range": "2026-10-01~2026-10-31"})
    at.selectbox(key="shop").set_value("S002").run()
    assert not at.exception and not at.warning


def test_a_natural_week_opens_on_the_last_complete_week_until_a_day_is_picked(demo_db, open_app):
    """自然周 with the default day was the current, partial week (no 环比 anywhere): it opens on the last
    complete week and says so; a day the user picks stays; back to 近30天 the default ends at the last day."""
    import datetime as dt
    import re

    from insight.core.periods import complete_anchor, preset

    at = open_app(demo_db, "pages/satisfaction.py", {"shop": "S001"})
    covered = re.search(r"数据覆盖 (\S+) ~ (\S+)", " ".join(c.value for c in at.sidebar.caption))
    first, last = (dt.date.fromisoformat(d) for d in covered.groups())
    at.selectbox(key="period").set_value("week").run()
    week = preset("week", complete_anchor("week", first, last))
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert f"本期 {week.label}" in captions and week.end <= last
    if week.end < last:
        assert "默认为最近一个完整的自然周" in captions
    assert at.date_input(key="date").value == week.end
    picked = last - dt.timedelta(days=1)
    at.date_input(key="date").set_value(picked).run()
    at.selectbox(key="period").set_value("month").run()
    assert at.date_input(key="date").value == picked  # the user's day is not replaced
    assert not at.exception
