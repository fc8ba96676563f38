"""Library pieces behind the pages: charts, exports, peer status, column mapping, peer trends."""

import datetime as dt
import io
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from insight import Filters, MetricEngine, Period, SalesSettings, Store, import_sources
from insight.analyses.diagnosis import CAPABILITY_GROUPS, metric_rows, peer_status
from insight.core.errors import UsageError
from insight.ingest.mapping import check_mapping, list_presets, load_preset, save_preset, suggest_mapping, suggest_table
from insight.ingest.readers import SourceFile, read_preview
from insight.metrics.registry import registry
from insight.present.charts import (
    arrivals_figure,
    funnel_figure,
    png_config,
    rating_mix_figure,
    split_figure,
    tag_top_figure,
    trend_figure,
    worst_scenarios_figure,
)
from insight.present.exports import HtmlReport, safe_filename, table_csv, table_xlsx

from conftest import SHOP, Chat, load, messages_of, peer_store, write_csv

REG = registry()
DAY = dt.date(2024, 5, 10)


# -- charts ------------------------------------------------------------------------------------
def test_trend_keeps_empty_buckets_as_gaps_and_draws_peer_lines():
    idx = [dt.date(2024, 5, d) for d in (1, 2, 3)]
    values = pd.Series([0.8, np.nan, 0.9], index=idx)
    peers = pd.DataFrame({"peer_avg": [0.7, 0.7, np.nan], "peer_excellent": [0.95, 0.9, np.nan]}, index=idx)
    fig = trend_figure(REG["satisfaction_rate"], values, "day", peers, n=pd.Series([10, 0, 40], index=idx),
                       pending=[idx[2]])
    shop, avg, exc = fig.data
    assert shop.name == "本店" and avg.name == "同行平均" and exc.name == "同行优秀"
    assert math.isnan(shop.y[1])  # a gap, never 0
    assert list(shop.customdata[0]) == ["80.00%", "n = 10"]
    assert "满意率趋势" in fig.layout.title.text and fig.layout.yaxis.tickformat == ".1%"
    # the axis spans the drawn 70–95 % with room, not 0–100 % (a 90–100 % trend would read flat)
    low, high = fig.layout.yaxis.range
    assert 0.6 < low < 0.7 and 0.95 < high <= 1.0
    assert fig.layout.shapes[0].x0 == "2024-05-03"  # the pending bucket is shaded
    no_peers = trend_figure(REG["first_response_time"], values, "week", None)
    assert len(no_peers.data) == 1 and "秒" in no_peers.layout.yaxis.title.text


@pytest.mark.parametrize("grain,buckets,step", [
    ("day", 7, 86_400_000), ("day", 30, 3 * 86_400_000), ("day", 120, 14 * 86_400_000),
    ("week", 12, 7 * 86_400_000), ("week", 26, 21 * 86_400_000), ("month", 12, "M1"), ("month", 36, "M4"),
])
def test_trend_ticks_label_every_bucket_of_a_short_period_and_about_ten_of_a_long_one(grain, buckets, step):
    start = pd.Timestamp("2024-01-01")
    idx = [(start + pd.DateOffset(**{f"{grain}s": i})).date() for i in range(buckets)]
    fig = trend_figure(REG["satisfaction_rate"], pd.Series(0.9, index=idx), grain)
    assert fig.layout.xaxis.dtick == step


def test_rating_mix_hover_carries_both_periods_and_the_share_of_change():
    mix = pd.DataFrame({"rating": [1, 2, 3, 4, 5], "label": ["a", "b", "c", "d", "e"],
                        "count": [1, 1, 2, 6, 10], "share": [0.05, 0.05, 0.1, 0.3, 0.5],
                        "prev_count": [2, 2, 2, 4, 10], "prev_share": [0.1, 0.1, 0.1, 0.2, 0.5],
                        "contribution": [0.05, 0.05, 0.0, 0.1, 0.0], "share_of_change": [0.5, 0.5, 0.0, 1.0, 0.0]})
    fig = rating_mix_figure(mix)
    prev, bad, good = fig.data
    assert (prev.name, bad.name, good.name) == ("上期", "本期 1–3 分", "本期 4–5 分")
    # each legend entry has its bars' one colour, and 本期's two traces share one slot per rating
    assert bad.marker.color == "#ef4444" and good.marker.color == "#2563eb" and bad.offsetgroup == good.offsetgroup
    assert list(bad.x) == [0.05, 0.05, 0.1, None, None] and list(good.x) == [None, None, None, 0.3, 0.5]
    assert list(good.customdata[3]) == [6, 4, "30.0%", "20.0%", "+10.00个百分点", "100.0%"]
    assert "占满意率变化" in good.hovertemplate
    # the longest bar's label ("50.0%") has room inside the axis and is never clipped
    assert fig.layout.xaxis.range[1] >= 0.5 * 1.15 and good.cliponaxis is False
    no_ratings = rating_mix_figure(mix.assign(share=np.nan, prev_share=np.nan))
    assert no_ratings.layout.xaxis.range[1] == 1.2


def test_worst_scenarios_figure_ranks_top_down_with_intervals_and_a_legend_clear_of_the_axis():
    frame = pd.DataFrame({"name": ["售后 / 转人工 / 无人应答", "物流 / 发货 / 催发货"], "rate": [0.0, 0.5],
                          "rate_lo": [0.0, 0.1], "rate_hi": [0.56, 0.9], "bad": [3, 2], "sat_n": [3, 4],
                          "estimate": [0.55, 0.7], "excess_bad": [1.1, 0.6], "prior": [0.64, 0.64],
                          "peer_sat_avg": [np.nan, 0.8]})
    fig = worst_scenarios_figure(frame)
    bars, peers = fig.data
    assert list(bars.y) == ["物流 / 发货 / 催发货", "售后 / 转人工 / 无人应答"]  # plotly's last category is the top
    assert list(bars.error_x.array) == pytest.approx([0.4, 0.56]) and list(bars.error_x.arrayminus) == [0.4, 0.0]
    assert [a.text for a in fig.layout.annotations][:2] == ["50%（2/4 条不满意，比预期多 0.6 条）",
                                                           "0%（3/3 条不满意，比预期多 1.1 条）"]
    assert fig.layout.shapes[0].x0 == 0.64 and list(peers.x)[1] != list(peers.x)[1]  # no peers: no marker
    # the legend sits at the figure's bottom, in a margin of its own, never over the axis title
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0 and fig.layout.margin.b >= 60


def test_tag_top_puts_the_largest_on_top_and_split_marks_unavailable_cells():
    tags = pd.DataFrame({"tag": ["慢", "差"], "count": [3, 9], "prev_count": [0, 4], "change_count": [np.nan, 1.25],
                         "share_bad": [0.3, 0.9]})
    fig = tag_top_figure(tags)
    assert list(fig.data[1].y) == ["慢", "差"]  # plotly draws the last category on top
    assert fig.data[1].customdata[0][2].startswith("—")
    frame = pd.DataFrame({"channel": ["人工", "人工", "机器人", "机器人"], "stage": ["全部", "售后", "全部", "售后"],
                          "value": [0.9, np.nan, 0.8, 0.5], "n": [100, 0, 50, 2]})
    split = split_figure(REG["satisfaction_rate"], frame)
    assert [t.name for t in split.data] == ["全部", "售后"]
    assert split.data[1].text[0] == "不可用" and "n=2" in split.data[1].text[1]


def test_funnel_and_png_config():
    fig = funnel_figure(100, 40, 30)
    assert list(fig.data[0].x) == [100, 40, 30] and fig.data[0].y[0] == "询单人数"
    assert png_config("满意率趋势_S1")["toImageButtonOptions"]["filename"] == "满意率趋势_S1"


def test_arrivals_draw_last_week_only_where_the_data_covers_it():
    buckets = pd.to_datetime(["2024-05-10 10:00", "2024-05-10 10:05"])
    fig = arrivals_figure(pd.DataFrame({"bucket": buckets, "arrivals": [3, 5], "last_week": [2, 0]}))
    assert [t.name for t in fig.data] == ["今天", "上周同一天"] and list(fig.data[1].y) == [2, 0]
    fig = arrivals_figure(pd.DataFrame({"bucket": buckets, "arrivals": [3, 5], "last_week": [None, None]}))
    assert [t.name for t in fig.data] == ["今天"] and "数据未覆盖上周同一天" in fig.layout.title.text


# -- exports -----------------------------------------------------------------------------------
def test_csv_has_a_bom_and_xlsx_round_trips():
    frame = pd.DataFrame({"指标": ["满意率"], "本期": [0.85], "时间": [pd.Timestamp("2024-05-10 10:00", tz="UTC")]})
    assert table_csv(frame).startswith("\ufeff指标,本期".encode("utf-8"))
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(frame)))
    rows = list(book.active.iter_rows(values_only=True))
    head = rows.index(("指标", "本期", "时间"))
    assert rows[head + 1][:2] == ("满意率", 0.85) and rows[0][0] == "导出时间"
    assert safe_filename("满意度监测", "S1", "2024-05-01~2024-05-31") == "满意度监测_S1_2024-05-01~2024-05-31"
    assert "/" not in safe_filename("a/b", "c d")


def test_xlsx_is_a_report_with_formats_units_a_frozen_header_and_widths():
    frame = pd.DataFrame({"客服": ["小美", "阿杰"], "满意率": [0.8333, None], "首次响应时长": [12.5, 40.0],
                          "客服销售额": [1234.5, 0.0], "满意率环比": [-17.82, 2.0], "评价数": [6.0, 0.0]})
    formats = {"满意率": "percent", "首次响应时长": "%.1f 秒", "客服销售额": "¥%.2f", "满意率环比": "%+.2f 个百分点",
               "评价数": "%d"}
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(
        frame, formats=formats, about=[("店铺", "云朵服饰小店"), ("周期", "2026-10-26 ~ 2026-11-01"), ("筛选", "全部")])))
    ws = book.active
    assert [ws.cell(row=r, column=1).value for r in range(1, 6)] == ["店铺", "周期", "筛选", "导出时间", "来源"]
    head = next(c.row for c in ws["A"] if c.value == "客服")
    header = [c.value for c in ws[head]]
    assert header == ["客服", "满意率（%）", "首次响应时长（秒）", "客服销售额（元）", "满意率环比（百分点）", "评价数"]
    first = {name: ws.cell(row=head + 1, column=i + 1) for i, name in enumerate(header)}
    assert first["满意率（%）"].value == 0.8333 and first["满意率（%）"].number_format == "0.00%"
    assert first["首次响应时长（秒）"].number_format.endswith('" 秒"') and first["客服销售额（元）"].number_format == '"¥"#,##0.00'
    assert "个百分点" in first["满意率环比（百分点）"].number_format and first["评价数"].value == 6
    assert ws.freeze_panes == f"A{head + 1}" and ws[f"A{head}"].font.bold
    assert ws.column_dimensions["B"].width >= 10  # "满意率（%）" is 11 display columns wide
    # CSV: counts as integers, not 50.0
    assert table_csv(frame).decode("utf-8-sig").splitlines()[1].endswith(",6")


def test_report_tables_read_as_the_page_shows_them():
    from insight.present.formatting import format_cell

    frame = pd.DataFrame({"满意率": [0.277778, None], "n": [50.0, 3.0], "金额": [1234.5, 0.0], "环比": [-17.8234, 2.0],
                          "客服": ["小美", None]})
    report = HtmlReport("t")
    report.table(frame, {"满意率": "percent", "金额": "¥%.2f", "环比": "%+.2f 个百分点"})
    shown = report.blocks[0][1]
    assert list(shown["满意率"]) == ["27.78%", "—"] and list(shown["n"]) == ["50", "3"]
    assert list(shown["金额"]) == ["¥1234.50", "¥0.00"] and shown["环比"][0] == "-17.82 个百分点"
    assert list(shown["客服"]) == ["小美", "—"]
    assert format_cell(12.5, "%d") == "12" and format_cell(0.5) == "0.50" and format_cell(True) == "True"
    assert format_cell(0.1667, "percent_change") == "+16.67%" and format_cell(-0.25, "percent_change") == "-25.00%"
    workbook = openpyxl.load_workbook(io.BytesIO(table_xlsx(pd.DataFrame({"次数环比": [0.1667]}),
                                                            formats={"次数环比": "percent_change"})))
    cell = next(c for row in workbook.active.iter_rows() for c in row if c.value == 0.1667)
    assert cell.number_format == "+0.00%;-0.00%;0.00%"


def test_html_report_is_self_contained_with_plotly_inlined_once():
    report = HtmlReport("满意度监测", "店铺A")
    report.heading("趋势")
    report.figure(funnel_figure(10, 5, 2))
    report.figure(funnel_figure(10, 5, 1))
    report.table(pd.DataFrame({"指标": ["<满意率>"], "本期": [None]}))
    html = report.render()
    assert html.startswith("<!DOCTYPE html>") and "<h2>趋势</h2>" in html
    assert html.count("plotly.js v") == 1  # the library's banner: inlined exactly once for two figures
    assert html.count('class="plotly-graph-div"') == 2
    assert "src=\"http" not in html  # nothing fetched from the network
    assert "&lt;满意率&gt;" in html and "—" in html


# -- diagnosis ---------------------------------------------------------------------------------
@pytest.mark.parametrize("key,value,expected", [
    ("satisfaction_rate", 0.95, "excellent"), ("satisfaction_rate", 0.85, "between"),
    ("satisfaction_rate", 0.70, "below"), ("first_response_time", 5.0, "excellent"),
    ("first_response_time", 15.0, "between"), ("first_response_time", 40.0, "below"),
    ("satisfaction_rate", None, "unavailable"),
])
def test_peer_status_follows_the_direction(key, value, expected):
    bars = {"satisfaction_rate": (0.8, 0.9), "first_response_time": (20.0, 10.0)}[key]
    assert peer_status(REG[key], value, *bars) == expected
    assert peer_status(REG[key], 0.5, None, None) == "no_peers"


def test_peer_status_has_a_tolerance_and_tests_the_gap():
    sat = REG["satisfaction_rate"]
    assert peer_status(sat, 0.98001, 0.98004, 0.99) == "level"  # both 98.00 % as shown: not "below"
    assert peer_status(sat, 0.9800, 0.9801, 0.99, (0.93, 0.995)) == "near"  # 98.00 % of 50 vs 98.01 %
    assert peer_status(sat, 0.989951, 0.97, 0.99) == "excellent"  # 99.00 % as shown reaches 99.00 %
    assert peer_status(sat, 0.70, 0.80, 0.90, (0.55, 0.82)) == "near"  # the average is inside the interval
    assert peer_status(sat, 0.70, 0.80, 0.90, (0.60, 0.75)) == "below"
    assert peer_status(sat, 0.85, 0.80, 0.90, (0.70, 0.95)) == "near"
    assert peer_status(sat, 0.85, 0.80, 0.90, (0.82, 0.88)) == "between"
    from insight.analyses.diagnosis import status_note
    assert status_note(sat, "near", 0.7, 0.8, (0.55, 0.82)) == \
        "本店 70.00%（95% 区间 55.00%–82.00%），同行平均 80.00%：与同行平均相当（差距在误差范围内）"


def test_capability_groups_name_registry_metrics_and_rows_carry_reasons(tmp_path):
    assert all(k in REG.metrics for keys in CAPABILITY_GROUPS.values() for k in keys)
    store = peer_store(tmp_path, 4)
    rep = MetricEngine(store).report("P1", Period(DAY, DAY))
    rows = metric_rows(rep, ["satisfaction_rate", "avg_refund_duration"]).set_index("key")
    assert rows.loc["satisfaction_rate", "本期"] == "50.00%"
    assert rows.loc["satisfaction_rate", "status"] == "no_peers"
    assert "不足 5 家" in rows.loc["satisfaction_rate", "说明"]
    assert rows.loc["avg_refund_duration", "本期"] == "—" and "refunds" in rows.loc["avg_refund_duration", "说明"]


# -- peer trends and live settings ----------------------------------------------------------------
def test_peer_trend_needs_five_shops_per_bucket(tmp_path):
    store = peer_store(tmp_path, 5)
    trend = MetricEngine(store).peer_trend("P0", "day", DAY, ["satisfaction_rate", "manual_sessions"])
    sat = trend["satisfaction_rate"]
    # Shop values 0, 1/2, 2/3, 3/4, 4/5 → P60 and P90 as np.percentile gives them.
    vals = [0, 1 / 2, 2 / 3, 3 / 4, 4 / 5]
    assert sat.loc[DAY, "peer_avg"] == pytest.approx(np.percentile(vals, 60))
    assert sat.loc[DAY, "peer_excellent"] == pytest.approx(np.percentile(vals, 90))
    assert sat.drop(DAY).isna().all().all()  # other days: no shop has a value
    assert trend["manual_sessions"].isna().all().all()  # no direction, no benchmark
    (tmp_path / "four").mkdir()
    four = MetricEngine(peer_store(tmp_path / "four", 4)).peer_trend("P0", "day", DAY, ["satisfaction_rate"])
    assert four["satisfaction_rate"].isna().all().all()


def test_trend_with_n_gives_denominators(tmp_path):
    store = peer_store(tmp_path, 3, with_other_group=False)
    values, _, n = MetricEngine(store).trend("P2", "day", DAY, with_n=True)
    assert n.loc[DAY, "satisfaction_rate"] == 3 and values.loc[DAY, "satisfaction_rate"] == pytest.approx(2 / 3)
    assert n.loc[DAY, "manual_sessions"] == 3  # a count is its own n


def test_live_sales_settings_are_derived_per_shop_on_demand(tmp_path):
    chats = [Chat("c1", "b1", "2024-05-10").buyer("10:00:00", "有货吗").agent("10:00:10", "有的")]
    orders = [{"order_id": "o1", "shop_id": "S1", "buyer_id": "b1", "created_at": "2024-05-12 09:00:00",
               "paid_at": "2024-05-12 09:01:00", "amount": "100.00"}]
    store = load(tmp_path, messages=messages_of(*chats), orders=orders)
    engine = MetricEngine(store)
    period = Period(DAY, DAY)
    assert engine.compute("S1", period)["inquiry_pay_rate"].value == 0  # 2-day window: day 12 is late
    wide = engine.compute("S1", period, settings=SalesSettings(valid_days=3))["inquiry_pay_rate"].value
    assert wide == 1
    assert engine._live_sales[SalesSettings(valid_days=3).key] == {"S1"}


# -- column mapping --------------------------------------------------------------------------------
def test_suggest_maps_platform_headers_and_guesses_the_table():
    headers = ["消息编号", "店铺编号", "会话ID", "买家昵称", "发送方", "子账号", "发送时间", "聊天内容"]
    assert suggest_table("聊天记录导出.csv", headers) == "messages"
    assert suggest_table("orders_2024-05.xlsx", ["x"]) == "orders"
    mapping = suggest_mapping("messages", headers)
    assert mapping["message_id"] == "消息编号" and mapping["buyer_id"] == "买家昵称"
    assert mapping["agent_id"] == "子账号" and mapping["content"] == "聊天内容"
    assert mapping["content_type"] is None
    assert check_mapping("messages", mapping) == []
    broken = dict(mapping, sent_at=None, content="发送方")
    problems = check_mapping("messages", broken)
    assert any("sent_at" in p for p in problems) and any("多个字段" in p for p in problems)
    with pytest.raises(UsageError):
        suggest_mapping("nope", headers)


def test_presets_round_trip_and_drop_missing_headers(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(UsageError):
        save_preset(store.con, " ", "shops", {})
    save_preset(store.con, "淘宝店铺导出", "shops", {"shop_id": "店铺编号", "platform": "平台", "tier": None})
    assert list_presets(store.con, "shops") == [("淘宝店铺导出", "shops")]
    assert list_presets(store.con)[0] == ("淘宝店铺导出", "shops")  # saved ones first, then the built-in ones
    loaded = load_preset(store.con, "淘宝店铺导出", "shops", headers=["店铺编号"])
    assert loaded["shop_id"] == "店铺编号" and loaded["platform"] is None
    with pytest.raises(UsageError):
        load_preset(store.con, "别的", "shops")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_import_with_a_column_mapping(tmp_path, fmt):
    shops = pd.DataFrame([{"店铺编号": "S1", "店铺名": "测试店", "平台": "taobao", "主营类目": "服饰", "店铺层级": "3"}])
    msgs = pd.DataFrame([
        {"消息编号": "m1", "店铺编号": "S1", "会话ID": "c1", "买家昵称": "b1", "发送方": "buyer", "子账号": "",
         "发送时间": "2024-05-10 10:00:00", "聊天内容": "在吗", "shop_id": "stray"},
        {"消息编号": "m2", "店铺编号": "S1", "会话ID": "c1", "买家昵称": "b1", "发送方": "agent", "子账号": "A1",
         "发送时间": "2024-05-10 10:00:30", "聊天内容": "在的", "shop_id": "stray"},
    ])
    paths = {}
    for name, frame in (("店铺", shops), ("聊天", msgs)):
        path = tmp_path / f"{name}导出.{fmt}"
        {"csv": lambda p: frame.to_csv(p, index=False), "xlsx": lambda p: frame.to_excel(p, index=False),
         "parquet": lambda p: frame.to_parquet(p, index=False)}[fmt](path)
        paths[name] = path
    headers, rows = read_preview(paths["聊天"])
    assert headers[:2] == ["消息编号", "店铺编号"] and rows[0][0] == "m1"
    sources = []
    for name, table in (("店铺", "shops"), ("聊天", "messages")):
        h, _ = read_preview(paths[name])
        mapping = suggest_mapping(table, h)
        if table == "messages":  # the exact name wins a suggestion; the user picks the other column
            assert mapping["shop_id"] == "shop_id"
            mapping["shop_id"] = "店铺编号"
        sources.append(SourceFile(paths[name], table, tuple((src, dst) for dst, src in mapping.items() if src)))
    store = Store(None)
    try:
        report = import_sources(store, sources)
    except Exception as exc:
        raise AssertionError(exc.report.summary()) from exc
    assert report.rejected == 0, report.summary()
    assert store.con.execute("SELECT shop_id, agent_id, content FROM messages ORDER BY message_id").fetchall() == [
        ("S1", None, "在吗"), ("S1", "A1", "在的")]  # the stray shop_id column was set aside, not used
    assert MetricEngine(store).compute("S1", Period(DAY, DAY))["reply_3min_rate_msg"].value == 1
    again = import_sources(store, sources)
    assert not again.changed


def test_progress_protocol_for_the_app(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP])
    write_csv(folder / "messages.csv", messages_of(Chat("c1").buyer("10:00:00").agent("10:00:05")))

    class Bar:
        total, done, labels = 0, 0, []

        def update(self, n=1):
            self.done += n

        def set_description_str(self, text):
            self.labels.append(text)

    bar = Bar()
    import_sources(Store(None), [SourceFile(folder / "shops.csv", "shops"), SourceFile(folder / "messages.csv", "messages")],
                   progress=bar)
    assert bar.total == 5 and bar.done == bar.total and bar.labels


def test_split_from_one_grouped_sum_equals_each_filtered_computation(tmp_path):
    chats = [Chat("c1", "b1").buyer("10:00:00").agent("10:00:10"),
             Chat("c2", "b2").buyer("11:00:00").robot("11:00:01"),
             Chat("c3", "b3").buyer("12:00:00").agent("12:05:00")]
    evals = [{"session_id": s, "shop_id": "S1", "buyer_id": b, "invited_by": "agent", "invited_at": f"2024-05-10 {h}:30:00",
              "rating": r, "rated_at": f"2024-05-10 {h}:31:00"}
             for s, b, h, r in (("c1", "b1", 10, 5), ("c2", "b2", 11, 2), ("c3", "b3", 12, 4))]
    orders = [{"order_id": "o1", "shop_id": "S1", "buyer_id": "b3", "created_at": "2024-05-01 09:00:00",
               "paid_at": "2024-05-01 09:01:00", "amount": "10.00"}]
    store = load(tmp_path, messages=messages_of(*chats), evaluations=evals, orders=orders)
    engine = MetricEngine(store)
    period = Period(DAY, DAY)
    for key in ("satisfaction_rate", "reply_3min_rate_msg", "inquiry_buyers"):
        split = engine.split("S1", period, key)
        for row in split.itertuples():
            channel = {"人工": "manual", "机器人": "robot"}[row.channel]
            stage = {"全部": "all", "售前": "presale", "售后": "aftersale"}[row.stage]
            expected = engine.compute("S1", period, Filters(channel, stage))[key]
            assert (row.value if row.value == row.value else None) == expected.value, (key, channel, stage)
            assert (row.reason if isinstance(row.reason, str) else None) == expected.reason
