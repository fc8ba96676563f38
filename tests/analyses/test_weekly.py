"""周报: every section of a shop's week, numbers as the pages show them, one example chat per worst
scenario, the viewer's scope, and a self-contained file."""

import datetime as dt
import re

import pytest

from insight import MetricEngine, Period
from insight.analyses.weekly import weekly_report
from insight.core.access import LOCAL, Viewer
from insight.core.errors import Forbidden


@pytest.fixture(scope="module")
def week(demo_store_copy):  # a copy: the pages' tests hold the shared demo store open for writing
    end = demo_store_copy.data_range("S001")[1]
    return demo_store_copy, Period(end - dt.timedelta(days=6), end)


def test_the_week_has_every_section_read_as_the_pages_show_it(week):
    store, period = week
    report = weekly_report(MetricEngine(store), "S001", period, viewer=LOCAL)
    kinds = [kind for kind, _ in report.blocks]
    headings = [item for kind, item in report.blocks if kind == "h2"]
    assert headings == ["本期发生了什么", "核心指标", "趋势", "评价标签 TOP10", "满意率最低的咨询场景", "客服"]
    first = next(i for i, (kind, item) in enumerate(report.blocks) if kind == "h2")
    opening = report.blocks[first + 1]
    assert opening[0] == "note" and opening[1].startswith("本期咨询")  # the paragraph, under its heading
    cards = next(item for kind, item in report.blocks if kind == "cards")
    sat = next(c for c in cards if c["name"].startswith("满意率"))
    assert re.fullmatch(r"\d+\.\d\d%", sat["value"]) and any(line.startswith("95% 区间") for line in sat["lines"])
    assert any("环比" in line for line in sat["lines"])
    assert kinds.count("figure") >= 4 and "chat" in kinds
    title, lines = next(item for kind, item in report.blocks if kind == "chat")
    assert "例：" in title and lines and all(len(line) == 3 for line in lines)
    agents = next(item for kind, item in report.blocks if kind == "table")
    assert agents.columns[0] == "客服" and agents["满意率"].str.match(r"(\d+\.\d\d%|—)$").all()
    assert agents["评价数"].str.match(r"\d+$").all()  # n as integers, not 5.0
    html = report.render()
    assert html.count("plotly.js v") == 1 and 'src="http' not in html  # self-contained, nothing fetched
    assert "None" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)


def test_the_week_is_the_viewers(week):
    store, period = week
    with pytest.raises(Forbidden):
        weekly_report(MetricEngine(store), "S002", period, viewer=Viewer("lead", "supervisor", frozenset({"S001"})))
    agent = store.con.execute("SELECT agent_id FROM agents WHERE shop_id = 'S001' ORDER BY 1 LIMIT 1").fetchone()[0]
    report = weekly_report(MetricEngine(store), "S001", period, viewer=Viewer("a", "agent", frozenset({"S001"}),
                                                                              agent_id=agent))
    agents = next(item for kind, item in report.blocks if kind == "table")
    names = dict(store.con.execute("SELECT agent_id, agent_name FROM agents WHERE shop_id = 'S001'").fetchall())
    assert list(agents["客服"]) in ([names[agent]], [])  # their own row only
