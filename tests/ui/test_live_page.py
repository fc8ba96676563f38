"""实时监控 (AppTest): the queue, waits and agents of the newest events; an agent sees their own row."""

from insight.core.access import Viewer
from insight.present.formatting import format_seconds
from insight.ui import auth

from conftest import Chat, messages_of, write_dataset

AGENTS = [{"agent_id": "A1", "shop_id": "S1", "agent_name": "小一", "kind": "human"},
          {"agent_id": "A2", "shop_id": "S1", "agent_name": "小二", "kind": "human"}]


def _db(tmp_path, earlier=()):
    from insight import Store, import_paths

    chats = [Chat("c1", "b1").buyer("10:00:00", "在吗").agent("10:01:00", "在的", "A1").buyer("10:05:00", "发货了吗"),
             Chat("c2", "b2").buyer("10:00:00", "你好").agent("10:04:00", "您好", "A2").buyer("10:09:00", "还在吗"),
             *earlier]
    db = tmp_path / "live.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=messages_of(*chats), agents=AGENTS)])
    return db


def test_monitor_shows_the_queue_and_a_red_row(tmp_path, open_app):
    at = open_app(_db(tmp_path), "pages/live.py")
    assert all("等待" in e.value for e in at.error)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["排队买家"] == "2" and metrics["最长等待"] == format_seconds(240)  # c1 since 10:05
    assert any("已等待 4" in e.value for e in at.error)  # c1 buyer has waited 4 minutes at 10:09
    assert at.dataframe and at.get("plotly_chart")


def test_an_agent_sees_their_row(tmp_path, open_app, monkeypatch):
    monkeypatch.setattr(auth, "_viewer_for_tests", Viewer("x", "agent", frozenset({"S1"}), agent_id="A2"))
    at = open_app(_db(tmp_path), "pages/live.py")
    frame = at.dataframe[0].value
    assert list(frame["客服账号"]) == ["A2"]
    # their own cards: their state, not "在线客服 0/1" read as the shop's count
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["我的状态"] == "在线" and "在线客服" not in metrics and metrics["排队买家（我的）"] == "1"


def test_big_screen_shows_the_day_in_large_numbers(tmp_path, open_app):
    at = open_app(_db(tmp_path), "pages/bigscreen.py", {"shop": "S1"})
    assert not at.exception
    labels = {m.label for m in at.metric}
    assert {"今日接待人数", "排队买家", "最长等待", "在线客服"} <= labels
    assert any(label.startswith("3分钟回复率（消息） · n=") for label in labels)  # a rate carries its n
    assert any("大屏" in m.value for m in at.markdown)
    assert any("超过 3 分钟" in e.value for e in at.error)


def test_today_so_far_against_yesterday_until_the_same_time(tmp_path, open_app):
    yesterday = [Chat("y1", "b3", "2024-05-09").buyer("09:00:00", "在吗").agent("09:00:20", "在的", "A1"),
                 Chat("y2", "b4", "2024-05-09").buyer("15:00:00", "在吗").agent("15:00:20", "在的", "A1")]
    at = open_app(_db(tmp_path, yesterday), "pages/live.py")
    assert any("今日至此（截至 10:09）" in h.value for h in at.subheader)
    table = next(d.value for d in at.dataframe if "较昨日" in d.value.columns).set_index("指标")
    row = table.loc["买家消息数"]
    # today 4 buyer messages until 10:09; yesterday 1 until 10:09 (the 15:00 one came later); no data a week ago
    assert (row["今日至此"], row["昨日同时段"], row["较昨日"]) == ("4", "1", "+300.0%")
    # the data starts yesterday: last week is not a quiet day but a day the data does not cover
    assert row["上周同日同时段"] == "—" and row["较上周"] == "—" and row["样本量 今日/昨日/上周"] == "4 / 1 / —"
    assert any("上周同日：店铺数据从 2024-05-09 开始，不含 2024-05-03" in c.value for c in at.caption)
    assert table.loc["客服销售额", "样本量 今日/昨日/上周"] == "— / — / —"  # an amount has no n
    # a rate's change in points, with whether the data supports it (a handful of messages: within chance)
    assert table.loc["3分钟人工回复率(消息)", "较昨日"].endswith("个百分点（波动内）")
    assert table.loc["满意率", "今日至此"] == "—"  # nothing rated: unavailable, not 0
    assert any("暂不可计算：满意率" in c.value for c in at.caption)


def test_big_screen_opened_from_the_menu_has_a_shop_picker_and_a_way_back(tmp_path, open_app):
    at = open_app(_db(tmp_path), "pages/bigscreen.py")  # no ?shop= in the link
    picker = at.selectbox(key="shop")
    assert picker.value == "S1" and picker.options
    assert [e.proto.page for e in at.get("page_link")] == ["live"]  # 退出大屏
    assert at.query_params["shop"] in ("S1", ["S1"])  # the TV's link, once picked
