"""Every page with AppTest: demo data, an empty store, every filter value, links, page switches."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from insight import Store, import_paths
from insight.core.filters import CHANNELS, HOURS, STAGES
from insight.core.periods import PRESETS

from conftest import REPO, Chat, messages_of, write_dataset

APP = str(REPO / "app.py")
ANALYSIS = ["pages/satisfaction.py", "pages/capability.py", "pages/agents.py", "pages/agent.py", "pages/scenarios.py"]
ALL_PAGES = ["pages/home.py", *ANALYSIS, "pages/data.py"]


def _param(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value



@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_renders_on_demo_data(demo_db, page, open_app):
    at = open_app(demo_db, page)
    assert not at.error, [e.value for e in at.error]
    if page != "pages/scenarios.py":  # (咨询场景洞察 has no metric cards)
        assert at.metric, "the page shows figures"
    if page in ANALYSIS:
        assert at.get("plotly_chart"), "analysis pages draw charts"
        assert at.selectbox(key="shop").value == "S001"
        assert at.get("download_button"), "the page has its downloads"


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_on_an_empty_store_says_what_to_do(tmp_path, page, open_app):
    at = open_app(tmp_path / "empty.duckdb", page)
    text = " ".join(i.value for i in at.info)
    expected = {"pages/home.py": "还没有数据", "pages/data.py": "数据库还是空的"}.get(page, "还没有可分析的数据")
    assert expected in text, text
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("page", ANALYSIS)
def test_every_filter_value_renders(demo_db, page, open_app):
    at = open_app(demo_db, page)
    for key, values in (("channel", CHANNELS), ("stage", STAGES), ("hours", HOURS)):
        for value in values:
            at.radio(key=key).set_value(value).run()
            assert not at.exception, (key, value, [e.message for e in at.exception])
            assert _param(at, key) == value
        at.radio(key=key).set_value("all").run()
    for kind in PRESETS:
        at.selectbox(key="period").set_value(kind).run()
        assert not at.exception, (kind, [e.message for e in at.exception])
    for shop in ("S002", "S007"):
        at.selectbox(key="shop").set_value(shop).run()
        assert not at.exception, (shop, [e.message for e in at.exception])


def test_a_link_reproduces_the_view(demo_db, open_app):
    at = open_app(demo_db, "pages/satisfaction.py",
               {"shop": "S003", "period": "last7", "date": "2026-10-20", "channel": "manual", "hours": "work"})
    assert at.selectbox(key="shop").value == "S003"
    assert at.radio(key="channel").value == "manual" and at.radio(key="hours").value == "work"
    caption = " ".join(c.value for c in at.caption)
    assert "2026-10-14 ~ 2026-10-20" in caption and "人工" in caption and "工作时间" in caption


def test_filters_survive_a_page_switch(demo_db, open_app):
    at = open_app(demo_db, "pages/satisfaction.py")
    at.radio(key="channel").set_value("robot").run()
    at.selectbox(key="shop").set_value("S004").run()
    at.switch_page("pages/agents.py").run()
    assert not at.exception
    assert at.radio(key="channel").value == "robot" and at.selectbox(key="shop").value == "S004"
    assert _param(at, "shop") == "S004"


def test_sales_settings_apply_live(demo_db, open_app):
    at = open_app(demo_db, "pages/agents.py")
    before = {m.label: m.value for m in at.metric}
    at.number_input(key="valid").set_value(7).run()
    at.selectbox(key="attr").set_value("payment").run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    assert before["询单转化率 ↑"] != after["询单转化率 ↑"]
    assert "付款判定" in " ".join(c.value for c in at.caption)


def test_agent_page_follows_the_link(demo_db, open_app):
    with Store(demo_db) as store:  # the app holds it read-write: same configuration
        agent = store.con.execute("SELECT agent_id FROM agents WHERE shop_id = 'S002' AND kind = 'human' "
                                  "ORDER BY agent_id LIMIT 1 OFFSET 1").fetchone()[0]
    at = open_app(demo_db, "pages/agent.py", {"shop": "S002", "agent": agent})
    assert at.selectbox(key="agent").value == agent


def test_unavailable_metrics_say_why(tmp_path, open_app):
    folder = write_dataset(tmp_path / "d", messages=messages_of(Chat("c1").buyer("10:00:00").agent("10:00:05")))
    with Store(tmp_path / "store.duckdb") as store:
        import_paths(store, [folder])
    at = open_app(tmp_path / "store.duckdb", "pages/capability.py")
    captions = " ".join(c.value for c in at.caption)
    assert "无法计算" in captions and "refunds" in captions
    assert "同行基准不可用" in captions  # one shop is no peer group
    assert all(m.value != "0" for m in at.metric if "退款" in m.label)


def test_data_page_loads_the_demo_into_an_empty_store(tmp_path, open_app):
    at = open_app(tmp_path / "new.duckdb", "pages/data.py")
    at.number_input(key="demo_shops").set_value(5).run()
    at.number_input(key="demo_days").set_value(7).run()
    at.button(key="load_demo").click().run()
    assert not at.metric, "nothing is loaded before the confirmation"
    at.button(key="demo_yes").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert {m.label: m.value for m in at.metric}["店铺"] == "5"
    at.switch_page("pages/satisfaction.py").run()
    assert not at.exception and at.metric


def test_demo_is_refused_on_a_store_with_real_shops(tmp_path, open_app):
    folder = write_dataset(tmp_path / "d", messages=messages_of(Chat("c1").buyer("10:00:00").agent("10:00:05")))
    with Store(tmp_path / "store.duckdb") as store:
        import_paths(store, [folder])
    at = open_app(tmp_path / "store.duckdb", "pages/data.py")
    assert not at.exception
    assert not [b for b in at.button if b.key == "load_demo"]
    assert any("真实店铺" in w.value for w in at.warning)


def test_scenario_page_drills_down_and_saves_a_correction(demo_db, open_app):
    at = open_app(demo_db, "pages/scenarios.py")
    assert at.get("plotly_chart") and at.selectbox(key="drill").value
    # the drill-down opens on the ranking's first scenario; the ranking carries n and an interval
    ranking = next(d.value for d in at.dataframe if "排名" in d.value.columns)
    drill = at.selectbox(key="drill")
    assert ranking["场景"].iloc[0] in drill.options[drill.index] and "已评分" in drill.options[drill.index]
    assert ranking["实际满意率（95% 区间）"].str.contains("–").all()
    assert ranking["不满意 / 已评分"].str.match(r"[1-9]\d* / \d+").all()
    before = at.selectbox(key="drill").value
    fix = next(s for s in at.selectbox if s.key and s.key.startswith("fix_"))
    session = fix.key[len("fix_"):]
    new_code = "service.complaint.complaint" if fix.value != "service.complaint.complaint" else "service.review.review"
    fix.set_value(new_code).run()
    at.button(key=f"save_{session}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Store(demo_db) as store:
        assert store.con.execute("SELECT code FROM scenario_corrections WHERE session_id = ?", [session]).fetchone() \
            == (new_code,)
    assert at.selectbox(key="drill").value == before
    assert any("人工纠正" in c.value for c in at.caption)


def test_a_store_held_by_an_import_says_so_and_offers_a_retry(tmp_path, monkeypatch):
    import subprocess
    import sys

    db = tmp_path / "busy.duckdb"
    folder = write_dataset(tmp_path / "d", messages=messages_of(Chat("c1").buyer("10:00:00")))
    with Store(db) as store:
        import_paths(store, [folder])
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(db)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        for page in ("pages/home.py", "pages/satisfaction.py", "pages/data.py"):
            monkeypatch.setenv("INSIGHT_DB", str(db))
            at = AppTest.from_file(APP, default_timeout=60).run()
            if page != "pages/home.py":
                at.switch_page(page).run()
            assert not at.exception, [e.message for e in at.exception]
            assert any("正在导入" in w.value for w in at.warning)
            assert [b for b in at.button if b.key == "store_retry"]
    finally:
        holder.kill()
        holder.wait()


def test_agents_page_shows_platform_figures_beside_ours_and_across_shops(tmp_path, open_app):
    from conftest import demo_store, write_csv

    db = demo_store(tmp_path, shops=2, days=10, seed=4, sessions_per_day=8)
    with Store(db) as store:
        last = store.data_range()[1]
        rows = [{"日期": str(last), "旺旺昵称": name, "有效接待人数": "50", "当日询单人数": "20", "销售人数": "8",
                 "客户满意率": "93.5%", "平均响应时长(秒)": "21", "询单最终付款转化率": "40%"}
                for name in ("小美", "阿杰")]
        import_paths(store, [write_csv(tmp_path / "客服绩效.csv", rows)], shop="S001", classify=False)
    at = open_app(db, "pages/agents.py", {"shop": "S001", "start": str(last), "end": str(last)})
    frames = [df.value for df in at.dataframe]
    beside = next(v for v in frames if "满意率（平台口径）" in v.columns)
    assert set(beside["客服"]) >= {"小美", "阿杰"}
    # shown in percent, as the cards write it (93.50%); the export keeps the fraction
    assert beside.loc[beside["客服"] == "小美", "满意率（平台口径）"].iloc[0] == pytest.approx(93.5)
    cross = next(v for v in frames if "平台" in v.columns and "客服" in v.columns)
    assert list(cross["平台"]) == ["taobao", "taobao"]


def test_one_word_for_invited_sessions_on_the_scenario_page(demo_db, open_app):
    """咨询场景洞察 counts invited sessions: it says 邀评会话 (the registry's name), never 评价会话 — which on
    满意度监测 means the rated ones."""
    from insight.metrics.registry import registry

    invited, rated = registry()["invited_sessions"].name, registry()["evaluated_sessions"].name
    at = open_app(demo_db, "pages/scenarios.py")
    columns = [c for frame in at.dataframe for c in frame.value.columns]
    assert invited in columns and rated not in columns and "评价会话" not in columns
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    assert any(t.startswith(invited.removesuffix("数")) for t in titles), titles


def test_the_scenario_chats_come_ten_at_a_time(tmp_path, open_app):
    """咨询场景洞察's 查看原声: ten chats a page (each a transcript and a 纠正 picker), the rest a click away."""
    chats, evaluations = [], []
    for i in range(14):
        chats.extend(Chat(f"s{i:02d}", f"b{i}").buyer("10:00:00", "我要退货，怎么退？退货地址发我一下")
                     .agent("10:00:20", "亲，可以在订单里申请退货", agent_id="A1").rows)
        evaluations.append({"session_id": f"s{i:02d}", "shop_id": "S1", "buyer_id": f"b{i}", "invited_by": "agent",
                            "invited_at": "2024-05-10 10:05:00", "rating": 1 + i % 5,
                            "rated_at": "2024-05-10 10:06:00"})
    db = tmp_path / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=chats, evaluations=evaluations)])
    at = open_app(db, "pages/scenarios.py", {"period": "custom", "range": "2024-05-10~2024-05-10"})
    first = [e.label for e in at.expander]
    assert len(first) == 10 and at.get("button_group")  # fourteen rated chats of one scenario
    at.session_state[f"chat_page_{at.selectbox(key='drill').value}"] = 10  # 第 11–14 个
    at.run()
    second = [e.label for e in at.expander]
    assert len(second) == 4 and set(second).isdisjoint(first)
