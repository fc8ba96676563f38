"""店铺总览 (AppTest and the analysis behind it): every shop in scope, peers, export, heat map."""


import pytest

from insight.analyses.overview import OVERVIEW_METRICS, shops_overview
from insight.core.access import LOCAL, Viewer
from insight.core.filters import Filters
from insight.core.periods import Period
from insight.metrics.engine import MetricEngine
from insight.metrics.registry import registry
from insight.present.charts import overview_heatmap
from insight.ui import auth

LEAD = Viewer("lead", "supervisor", frozenset({"S001", "S002", "S003"}))


@pytest.fixture(scope="module")
def store(demo_store_copy):
    return demo_store_copy


def test_overview_matches_each_shops_own_report(store):
    first, last = store.data_range()
    period = Period(first, last)
    engine = MetricEngine(store)
    frame = shops_overview(engine.scoped(LEAD), period, Filters(channel="manual"))
    assert set(frame["shop_id"]) == {"S001", "S002", "S003"}
    assert len(frame) == 3 * len(OVERVIEW_METRICS)
    report = engine.scoped(LEAD).report("S002", period, Filters(channel="manual"))  # what LEAD reads
    mine = frame[frame["shop_id"] == "S002"].set_index("metric")
    def same(a, b):  # None and NaN both mean "no value"
        if a is None or a != a:
            return b is None or b != b
        return b is not None and a == pytest.approx(b)

    from insight.analyses.diagnosis import metric_rows

    statuses = metric_rows(report, OVERVIEW_METRICS).set_index("key")["status"]
    for key in OVERVIEW_METRICS:
        assert same(mine.at[key, "value"], report["metrics"][key]), key
        assert same(mine.at[key, "peer_avg"], report["peers"][key]["peer_avg"]), key
        assert same(mine.at[key, "change"], report["change"][key]), key
        # the heat map's standing is the shop page's: intervals of rates and of duration means alike
        if registry()[key].direction != "none":
            assert mine.at[key, "status"] == statuses[key], key
    assert len(shops_overview(engine.scoped(LOCAL), period)["shop_id"].unique()) == 10
    # one day: small samples, where an interval decides between 相当 and 差于
    day = Period(last, last)
    everyone = shops_overview(engine.scoped(LOCAL), day).set_index(["shop_id", "metric"])["status"]
    for shop in sorted({s for s, _ in everyone.index}):
        rows = metric_rows(engine.report(shop, day), OVERVIEW_METRICS).set_index("key")["status"]
        for key in OVERVIEW_METRICS:
            if registry()[key].direction != "none":
                assert everyone[(shop, key)] == rows[key], (shop, key)


def test_heatmap_has_a_cell_per_shop_and_metric_with_title_and_hover(store):
    first, last = store.data_range()
    frame = shops_overview(MetricEngine(store).scoped(LEAD), Period(first, last))
    metrics = [registry()[k] for k in OVERVIEW_METRICS]
    fig = overview_heatmap(frame, metrics, {"S001": "一店"})
    trace = fig.data[0]
    assert len(trace.z) == 3 and all(len(row) == len(metrics) for row in trace.z)
    assert trace.y[0] == "一店" and "满意率" in "".join(trace.x).replace("<br>", "")
    assert "相对同行" in fig.layout.title.text
    assert set(v for row in trace.z for v in row) <= {0, 1, 2, None}
    assert "同行" in trace.customdata[0][1]


def test_heatmap_without_any_peer_benchmark_still_shows_every_value(store):
    first, last = store.data_range()
    frame = shops_overview(MetricEngine(store).scoped(LEAD), Period(first, last))
    frame = frame.assign(status=None)  # no peer group of 5 shops: no status anywhere
    metrics = [registry()[k] for k in OVERVIEW_METRICS]
    trace = overview_heatmap(frame, metrics, {}).data[0]
    assert all(v is not None for row in trace.z for v in row)  # plotly would draw nothing at all
    assert len({color for _, color in trace.colorscale}) == 1  # one grey: no status is implied
    assert sum(t not in ("", "—") for row in trace.text for t in row) >= 3 * len(metrics) // 2


def test_overview_page_for_a_supervisor(demo_db, open_app, monkeypatch):
    monkeypatch.setattr(auth, "_viewer_for_tests", LEAD)
    at = open_app(demo_db, "pages/overview.py")
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "店铺总览"
    assert at.get("plotly_chart") and at.get("download_button")
    assert "3 个店铺" in " ".join(c.value for c in at.caption)


def test_agents_have_no_overview(demo_db, open_app, monkeypatch):
    monkeypatch.setattr(auth, "_viewer_for_tests", Viewer("x", "agent", frozenset({"S001"}), agent_id="S001-A01"))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_app(demo_db, "pages/overview.py")


def test_each_shop_is_shown_up_to_its_own_last_day(tmp_path):
    """One shop got newer data than another: 近7天 of each ends at its own last day (截至各店最新数据日), so
    the other keeps its 7 full days, its figures and its 环比 — not 4 empty days and a lost comparison."""
    import datetime as dt

    from insight.core.periods import preset

    from conftest import SHOP, Chat, load, messages_of

    chats = []
    for offset in range(20):
        day = dt.date(2024, 5, 1) + dt.timedelta(days=offset)
        for shop in ("S1", "S2"):
            if shop == "S2" and offset > 15:
                continue  # S2's data ends four days earlier
            chats.append(Chat(f"{shop}-{offset}", f"b{shop}{offset}", day=str(day), shop_id=shop)
                         .buyer("10:00:00", "在吗").agent("10:00:30", "在的", agent_id=f"{shop}-A"))
    store = load(tmp_path, messages=messages_of(*chats),
                 shops=[SHOP, {**SHOP, "shop_id": "S2", "shop_name": "二店"}])
    engine = MetricEngine(store)
    frame = shops_overview(engine.scoped(LOCAL), lambda end: preset("last7", end)).set_index(["shop_id", "metric"])
    own = {"S1": Period(dt.date(2024, 5, 14), dt.date(2024, 5, 20)), "S2": Period(dt.date(2024, 5, 10), dt.date(2024, 5, 16))}
    for shop, period in own.items():
        row = frame.loc[(shop, "consult_buyers")]
        assert (row["period_start"], row["period_end"]) == (period.start, period.end)
        assert row["value"] == engine.report(shop, period)["metrics"]["consult_buyers"] == 7
        assert row["change"] == 0 and row["change"] is not None  # a whole previous week: the same 7 buyers
