"""The files shops really have (tests/ingest/layouts: each built from the public program that writes or
reads it, SOURCE.md cites it) import as downloaded with only the shop named, and give the figures of
the same chats in DATA.md form (truth/); reports store no summary row; what cannot be imported is
refused with what is missing."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insight.core.errors import ImportFailed
from insight.core.periods import Period
from insight.ingest._headers import header_key
from insight.ingest.importer import import_paths
from insight.ingest.layouts import (
    SUMMARY_LABELS,
    LayoutContext,
    day_from_name,
    probe_file,
    recognise,
    seconds_from_text,
)
from insight.metrics.engine import MetricEngine
from insight.metrics.registry import registry
from insight.store import Store

LAYOUTS = Path(__file__).parent / "layouts"
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
SHOPS = "shop_id,shop_name,platform,category,tier\nS001,云朵旗舰店,taobao,服饰,3\nS002,云朵京东自营旗舰店,jd,服饰,3\n"

# folder, the files as downloaded, the day asked for (None: only the shop is named)
CHATS = [
    ("qianniu_scraped_xlsx", ["千牛聊天记录_11月9日.xlsx"], None),
    ("qianniu_userscript_xlsx", ["千牛聊天记录_原始逐条_2026-11-10_09-14.xlsx"], dt.date(2026, 11, 9)),
    ("qianniu_copy_txt", ["tb_小鱼2021.txt", "tb_阿花88.txt", "tb_大橙子_cc.txt", "tb_moon酱.txt"], None),
    ("sycm_chatlog_json", ["sycm-2026-11-09.json"], None),
    ("pdd_chat_json", ["pdd_chat_search_20261109"], None),
    ("sycm_invitation_detail", ["chats.json", "eval.json"], None),
    ("sycm_reception_detail", ["reception-list-2026-11-09.json"], None),
]
REPORTS = ["sycm_agent_performance", "feige_agent_performance", "douyin_reception", "kuaishou_assessment",
           "jd_service_workload", "sycm_item_consult_xls"]


def _store(tmp_path: Path, name: str) -> Store:
    folder = tmp_path / name
    folder.mkdir()
    return Store(folder / "store.duckdb")


def _agrees(ours, truth, key: str) -> bool:
    """The issue's bar: counts within 5 %, rates within 0.05, durations within 10 %."""
    if ours is None or truth is None:
        return ours is None and truth is None
    metric = registry()[key]
    if metric.format == "percent":
        return abs(ours - truth) <= 0.05
    if metric.unit in ("秒", "s") or "time" in key or "duration" in key:
        return abs(ours - truth) <= 0.10 * max(abs(truth), 1e-9)
    return abs(ours - truth) <= 0.05 * max(abs(truth), 1e-9)


def _compare_with_truth(tmp_path: Path, folder: Path, files: list[Path], day=None):
    ours = _store(tmp_path, "ours")
    report = import_paths(ours, [folder / "truth" / "shops.csv", *files], shop="S001", classify=False,
                          report_day=day)
    truth = _store(tmp_path, "truth")
    import_paths(truth, [folder / "truth"], classify=False)
    a = MetricEngine(ours).compute("S001", NOVEMBER)
    b = MetricEngine(truth).compute("S001", NOVEMBER)
    off = {k: (a[k].value, b[k].value) for k in a if not _agrees(a[k].value, b[k].value, k)}
    return report, off, a


@pytest.mark.parametrize("name, files, day", CHATS, ids=[c[0] for c in CHATS])
def test_a_chat_layout_imports_as_downloaded_and_agrees_with_the_same_chats_in_data_md_form(tmp_path, name, files, day):
    folder = LAYOUTS / name
    report, off, ours = _compare_with_truth(tmp_path, folder, [folder / f for f in files], day)
    assert not off, off
    assert report.rejected == 0, report.summary()
    layouts = [f for f in report.files if f.get("layout")]
    assert layouts and all(f["read"] > 0 for f in layouts)
    if name != "sycm_reception_detail":
        assert ours["buyer_messages"].value > 0
    else:  # a reception list carries no message: what needs chats says so, never 0
        assert ours["buyer_messages"].value is None and "聊天消息" in ours["buyer_messages"].reason


def test_a_repeated_layout_import_changes_nothing(tmp_path):
    folder = LAYOUTS / "qianniu_copy_txt"
    store = _store(tmp_path, "s")
    files = [folder / "truth" / "shops.csv", *sorted(folder.glob("*.txt"))]
    import_paths(store, files, shop="S001", classify=False)
    again = import_paths(store, files, shop="S001", classify=False)
    assert not again.changed and again.tables["messages"].unchanged == 32


def test_the_import_report_names_the_layout_what_it_read_and_left_out(tmp_path):
    folder = LAYOUTS / "qianniu_copy_txt"
    store = _store(tmp_path, "s")
    report = import_paths(store, [folder / "truth" / "shops.csv", folder / "tb_小鱼2021.txt"], shop="S001",
                          classify=False)
    entry = next(f for f in report.files if f.get("layout"))
    assert entry["layout"] == "千牛复制文本（每位买家一个文件）" and entry["read"] == 14
    assert entry["excluded"] == {"窗口顶部的页面提示（如 当前用户来自…）": 2, "已读/未读/发送中状态行": 4}
    text = report.summary()
    assert "千牛复制文本" in text and "已读/未读/发送中状态行 4" in text
    # the transfer notice, split over two lines in the window, is one system message
    rows = store.con.execute("SELECT content FROM messages WHERE sender_role = 'system'").fetchall()
    assert rows == [("由 服务助手 转交给 小美",)]


def test_a_time_only_export_without_its_day_is_refused_naming_the_day(tmp_path):
    folder = LAYOUTS / "qianniu_userscript_xlsx"
    store = _store(tmp_path, "s")
    with pytest.raises(ImportFailed, match="缺少聊天日期.*--day"):
        import_paths(store, [folder / "truth" / "shops.csv", *folder.glob("*.xlsx")], shop="S001", classify=False)
    assert not store.has_rows("shops")  # a failed import changes nothing


def test_a_scraped_workbook_takes_its_day_from_the_file_name_and_says_the_year(tmp_path):
    folder = LAYOUTS / "qianniu_scraped_xlsx"
    store = _store(tmp_path, "s")
    report = import_paths(store, [folder / "truth" / "shops.csv", *folder.glob("*.xlsx")], shop="S001", classify=False)
    assert any("年份按不晚于今天推断为 2026 年" in n for n in report.notes)
    days = store.con.execute("SELECT DISTINCT CAST(sent_at AS DATE) FROM messages").fetchall()
    assert days == [(dt.date(2026, 11, 9),)]


def test_a_file_without_times_is_refused_naming_what_is_missing(tmp_path):
    folder = LAYOUTS / "jddc_tsv"
    store = _store(tmp_path, "s")
    with pytest.raises(ImportFailed, match="缺少 发送时间"):
        import_paths(store, [folder / "truth" / "shops.csv", folder / "chat.txt"], shop="S001", classify=False)


def test_an_evaluation_list_without_its_chats_rejects_every_row_with_the_reason(tmp_path):
    folder = LAYOUTS / "sycm_invitation_detail"
    store = _store(tmp_path, "s")
    report = import_paths(store, [folder / "truth" / "shops.csv", folder / "chats.json"], shop="S001", classify=False)
    report = import_paths(store, [folder / "eval.json"], shop="S001", classify=False)
    assert report.tables["evaluations"].rejected == 0  # chats imported earlier are found
    bare = _store(tmp_path, "bare")
    import_paths(bare, [folder / "truth" / "shops.csv", LAYOUTS / "qianniu_copy_txt" / "tb_moon酱.txt"], shop="S001",
                 classify=False)
    report = import_paths(bare, [folder / "eval.json"], shop="S001", classify=False)
    rep = report.tables["evaluations"]
    assert (rep.read, rep.rejected) == (4, 4)
    assert all("没有找到该客服" in r.reason and r.column == "session_id" for r in rep.reasons)


def test_a_copied_line_outside_the_time_window_is_rejected_by_its_own_line(tmp_path):
    src = (LAYOUTS / "qianniu_copy_txt" / "tb_moon酱.txt").read_bytes().decode("utf-8").split("\r\n")
    line = next(i for i, x in enumerate(src) if "2026-11-9" in x)
    src[line] = src[line].replace("2026-11-9", "1999-11-9")
    path = tmp_path / "tb_moon酱.txt"
    path.write_bytes("\r\n".join(src).encode("utf-8"))
    store = _store(tmp_path, "s")
    report = import_paths(store, [LAYOUTS / "qianniu_copy_txt" / "truth" / "shops.csv", path], shop="S001",
                          classify=False)
    reasons = report.tables["messages"].reasons
    assert [(r.line, r.column) for r in reasons] == [(line + 1, "sent_at")] and "超出可接受的范围" in reasons[0].reason


# -- who sent it ---------------------------------------------------------------------------------
def test_a_robot_listed_in_the_agent_table_counts_as_a_robot_whatever_the_export_says(tmp_path):
    """The issue's 店小蜜 case: an export that marks the robot's greetings as a person's (sender agent),
    with agents.csv saying 店小蜜 is a robot, gives the figures of the same chats in DATA.md form."""
    folder = LAYOUTS / "qianniu_scraped_xlsx"
    data = tmp_path / "export"
    data.mkdir()
    shutil.copy(folder / "truth" / "shops.csv", data / "shops.csv")
    with open(folder / "truth" / "messages.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r["sender_role"] == "robot":
            r["sender_role"], r["agent_id"] = "agent", "店小蜜"
    with open(data / "messages.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (data / "agents.csv").write_text("agent_id,shop_id,agent_name,kind\n店小蜜,S001,店小蜜,robot\n"
                                     "云朵旗舰店:小美,S001,小美,human\n云朵旗舰店:阿杰,S001,阿杰,human\n", encoding="utf-8")
    ours = _store(tmp_path, "ours")
    import_paths(ours, [data], classify=False)
    truth = _store(tmp_path, "truth")
    import_paths(truth, [folder / "truth"], classify=False)
    a, b = MetricEngine(ours).compute("S001", NOVEMBER), MetricEngine(truth).compute("S001", NOVEMBER)
    for key in ("first_response_time", "buyer_messages", "manual_sessions", "robot_sessions", "qa_ratio"):
        assert a[key].value == b[key].value, key


def test_the_stores_robot_names_decide_nicknamed_senders(tmp_path):
    folder = LAYOUTS / "qianniu_scraped_xlsx"
    store = _store(tmp_path, "s")
    store.save_robot_names(["店小蜜"])  # 服务助手 is no longer a robot in this store
    import_paths(store, [folder / "truth" / "shops.csv", *folder.glob("*.xlsx")], shop="S001", classify=False)
    roles = dict(store.con.execute("SELECT agent_id, any_value(sender_role) FROM messages WHERE agent_id IS NOT NULL "
                                   "GROUP BY 1").fetchall())
    assert roles["云朵旗舰店:服务助手"] == "agent"
    with pytest.raises(Exception, match="机器人名单"):
        store.save_robot_names([""])


# -- reports ---------------------------------------------------------------------------------------
def _report_store(tmp_path, files, shop=None, name="s"):
    shops = tmp_path / "shops.csv"
    shops.write_text(SHOPS, encoding="utf-8")
    store = _store(tmp_path, name)
    return store, import_paths(store, [shops, *files], shop=shop, classify=False)


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_download_lands_without_a_day_and_without_its_summary_rows(tmp_path, name):
    folder = LAYOUTS / name
    path = next(p for p in folder.iterdir() if p.suffix in (".xlsx", ".xls"))
    # 客服绩效's file name names no shop: the shop is named, as a user does on 数据管理
    store, report = _report_store(tmp_path, [path], shop="S001" if name == "sycm_agent_performance" else None)
    assert report.tables["platform_reports"].rejected == 0, report.summary()
    stored = store.con.execute("SELECT shop_id, agent, CAST(day AS VARCHAR), metric, value FROM platform_reports").fetchall()
    with open(folder / "truth.csv", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    level = next(k for k in ("agent", "shop", "item") if k in truth[0])
    ours = {("" if level == "shop" else r[1], r[2], header_key(r[3])): r[4] for r in stored}
    expected = {("" if level == "shop" else t[level], t["day"], header_key(t["metric"])): float(t["value"]) for t in truth}
    assert ours.keys() == expected.keys()
    assert all(abs(ours[k] - v) <= 1e-6 * max(1.0, abs(v)) for k, v in expected.items())
    assert not {r[1] for r in stored} & set(SUMMARY_LABELS)
    if level == "shop":  # named by the shop in the file name (S002 is 云朵京东自营旗舰店)
        assert {r[0] for r in stored} == {"S002" if name.startswith("jd") else "S001"}


def test_several_daily_report_files_each_keep_their_own_day(tmp_path):
    src = next((LAYOUTS / "feige_agent_performance").glob("*.xlsx"))
    files = []
    for day in ("20261107", "20261108", "20261109"):
        target = tmp_path / src.name.replace("20261109", day)
        shutil.copy(src, target)
        files.append(target)
    store, report = _report_store(tmp_path, files)
    rep = report.tables["platform_reports"]
    assert rep.rejected == 0 and rep.inserted == 3 * 4
    days = store.con.execute("SELECT DISTINCT CAST(day AS VARCHAR) FROM platform_reports ORDER BY 1").fetchall()
    assert days == [("2026-11-07",), ("2026-11-08",), ("2026-11-09",)]


def test_a_report_over_several_days_is_refused_unless_a_day_is_named(tmp_path):
    src = next((LAYOUTS / "sycm_agent_performance").glob("*.xlsx"))
    target = tmp_path / src.name.replace("_20261109_20261109_", "_20261101_20261107_")
    shutil.copy(src, target)
    with pytest.raises(ImportFailed, match="多天"):
        _report_store(tmp_path, [target], shop="S001")


def test_a_report_alone_leaves_chat_metrics_unavailable_with_the_reason(tmp_path):
    path = next((LAYOUTS / "feige_agent_performance").glob("*.xlsx"))
    store, _ = _report_store(tmp_path, [path])
    values = MetricEngine(store).compute("S001", NOVEMBER)
    for key in ("manual_sessions", "buyer_messages", "first_response_time"):
        assert values[key].value is None and "没有导入聊天消息" in values[key].reason


def test_summary_labels_in_a_name_column_are_never_stored_as_agents(tmp_path):
    path = next((LAYOUTS / "sycm_agent_performance").glob("*.xlsx"))
    store, report = _report_store(tmp_path, [path], shop="S001")
    entry = next(f for f in report.files if f.get("layout"))
    assert entry["excluded"] == {"汇总/平均/同行行": 6} and entry["read"] == 3
    agents = {r[0] for r in store.con.execute("SELECT DISTINCT agent FROM platform_reports").fetchall()}
    assert agents == {"小美", "阿杰", "小雨"}


# -- parsers ---------------------------------------------------------------------------------------
@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_chinese_durations_read_as_seconds(h, m, s):
    text = (f"{h}小时" if h else "") + (f"{m}分" if m else "") + f"{s}秒"
    assert seconds_from_text(text) == h * 3600 + m * 60 + s
    assert seconds_from_text(f"{h:02d}:{m:02d}:{s:02d}") == h * 3600 + m * 60 + s


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_a_file_name_never_breaks_the_day_reader(name):
    first, last, _ = day_from_name(name + ".xlsx", dt.date(2026, 12, 7))
    assert (first is None) == (last is None)
    assert first is None or first <= last


def test_a_month_day_file_name_takes_the_latest_year_not_after_today():
    assert day_from_name("千牛聊天记录_12月31日.xlsx", dt.date(2026, 12, 7))[0] == dt.date(2025, 12, 31)
    assert day_from_name("千牛聊天记录_月11月9日.xlsx", dt.date(2026, 12, 7))[0] == dt.date(2026, 11, 9)
    assert day_from_name("抖音_20261109_店铺.xlsx", dt.date(2026, 12, 7))[:2] == (dt.date(2026, 11, 9),) * 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=80)), min_size=1, max_size=5))
def test_any_scraped_workbook_imports_or_is_refused_with_a_reason(tmp_path_factory, rows):
    import openpyxl

    folder = tmp_path_factory.mktemp("scraped")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "聊天记录"
    sheet.append(["客户ID", "聊天记录"])
    sheet.append(["tb_a", "09:00:01\ntb_a: 在吗"])  # keeps the layout recognisable
    for buyer, chat in rows:
        clean = lambda t: "".join(c for c in t if c.isprintable() or c == "\n")  # noqa: E731  (what Excel can hold)
        sheet.append([clean(buyer) or None, clean(chat) or None])
    path = folder / "千牛聊天记录_11月9日.xlsx"
    book.save(path)
    found = recognise(path)
    assert found is not None and found.key == "qianniu_scraped_xlsx"
    try:
        out = found.convert(probe_file(path), LayoutContext(today=dt.date(2026, 12, 7)))
    except ImportFailed:
        return
    assert all(r["sent_at"].startswith("2026-11-09 ") for r in out.tables["messages"])


def test_shop_and_item_reports_are_not_read_as_agents(tmp_path):
    from insight.analyses.platform import platform_agent_table
    from insight.core.access import LOCAL
    from insight.core.schema import SHOP_LEVEL_AGENT

    files = [next((LAYOUTS / n).glob("*.xls*")) for n in ("kuaishou_assessment", "sycm_item_consult_xls")]
    store, report = _report_store(tmp_path, files)
    assert report.tables["platform_reports"].rejected == 0
    levels = dict(store.con.execute("SELECT report, any_value(level) FROM platform_reports GROUP BY 1").fetchall())
    assert levels == {"kuaishou_assessment": "shop", "taobao_item_consult": "item"}
    table, _, _ = platform_agent_table(store.con, NOVEMBER, viewer=LOCAL)
    assert list(table["agent"]) == [SHOP_LEVEL_AGENT]  # the items of 商品咨询 are not agents


def test_a_shop_column_holding_the_shops_display_name_imports(tmp_path):
    folder = LAYOUTS / "qianniu_scraped_xlsx"
    with open(folder / "truth" / "messages.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["shop_id"] = "云朵旗舰店"
    path = tmp_path / "messages.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    store = _store(tmp_path, "s")
    report = import_paths(store, [folder / "truth" / "shops.csv", folder / "truth" / "agents.csv", path],
                          classify=False)
    assert report.tables["messages"].inserted == len(rows) and report.rejected == 0
    assert store.con.execute("SELECT DISTINCT shop_id FROM messages").fetchall() == [("S001",)]


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                     max_leaves=12)
_FIELDS = ["gmtCreated", "userNickFrom", "userNickTo", "msg", "msgId", "psnNickName", "buyerId", "from", "to", "ts",
           "content", "msg_id", "csid", "role", "uid", "template_name", "type"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=8), min_size=1, max_size=4),
       st.sampled_from(["sycm", "pdd", "pdd_strings"]))
def test_any_json_dump_converts_or_is_refused_with_a_reason(tmp_path_factory, records, shape):
    """Whatever a dump holds where a field is expected, a layout converts it (bad values are then rejected by
    their line at import) or refuses the file with a reason — never an internal error."""
    import json

    folder = tmp_path_factory.mktemp("json")
    for r in records:
        r.setdefault("gmtCreated", "2026-11-09 10:00:00")
        r.setdefault("userNickFrom", "b")
        r.setdefault("msg", "x")
        r.setdefault("ts", 1794186724)
    if shape == "sycm":
        doc = {"sessions": [{"meta": {"dataId": "x"}, "messages": records}]}
    else:
        items = [json.dumps(r) if shape == "pdd_strings" else r for r in records]
        doc = {"result": {"userInfo": {"uid": 1}, "messageList": items}}
    path = folder / "dump.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    found = recognise(path)
    assert found is not None
    try:
        out = found.convert(probe_file(path), LayoutContext(today=dt.date(2026, 12, 7)))
    except ImportFailed:
        return
    assert all(isinstance(r["_line"], int) for r in out.tables.get("messages", []))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=30), st.sampled_from(["已读", "未读", "由 服务助手 转交给", "小美",
                                                                 "tb_x 撤回了一条消息", "tb_x 2026-11-9 9:58:05",
                                                                 "店:小美 2026-11-09 09:59:05", "当前用户来自 手淘"])),
                min_size=1, max_size=12))
def test_any_copied_window_converts_or_is_refused_with_a_reason(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("txt") / "tb_x.txt"
    path.write_bytes(("tb_x 2026-11-9 9:00:00\r\n在吗\r\n" + "\r\n".join(lines)).encode("utf-8", "surrogatepass"))
    found = recognise(path)
    assert found is not None and found.key == "qianniu_copy_txt"
    try:
        out = found.convert(probe_file(path), LayoutContext(today=dt.date(2026, 12, 7)))
    except ImportFailed:
        return
    assert all(r["sent_at"] for r in out.tables["messages"])


def test_an_evaluation_list_workbook_without_session_ids_attaches_like_the_json(tmp_path):
    """晓多 评价列表 / 邀评明细 downloads as a table (接待时间、邀评时间、买家、客服、评价来源、评价结果; no public
    file was found, see layouts/xiaoduo_evaluations/SOURCE.md): the rows of eval.json written that way, with
    words for codes, give the same evaluations."""
    import json

    import openpyxl

    folder = LAYOUTS / "sycm_invitation_detail"
    rows = json.loads((folder / "eval.json").read_text(encoding="utf-8"))["data"]["dataSource"]
    words = {0: "非常满意", 1: "满意", 2: "一般", 3: "不满意", 4: "非常不满意", None: None}
    sources = {0: "客服邀评", 1: "消费者自主评价", 2: "系统邀评"}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["接待时间", "邀评时间", "买家", "客服", "评价来源", "评价结果"])
    for r in rows:
        sheet.append([r["servTime"], r["sendTime"], r["buyerNick"], r["psnNickName"], sources[r["source"]],
                      words[r["lstEvaScore"]]])
    path = tmp_path / "评价列表_20261109.xlsx"
    book.save(path)
    assert recognise(path).key == "evaluation_list_table"
    report, off, _ = _compare_with_truth(tmp_path, folder, [folder / "chats.json", path])
    assert not off, off
    assert report.tables["evaluations"].inserted == 4 and report.rejected == 0


def test_a_sycm_dump_as_ndjson_without_session_keys_is_cut_by_the_gap_rule(tmp_path):
    import json

    folder = LAYOUTS / "sycm_chatlog_json"
    doc = json.loads((folder / "sycm-2026-11-09.json").read_text(encoding="utf-8"))
    records = [m for s in doc["sessions"] for m in s["messages"]]
    path = tmp_path / "sycm-2026-11-09.ndjson"
    path.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in records), encoding="utf-8")
    report, off, _ = _compare_with_truth(tmp_path, folder, [path])
    assert not off, off
    assert report.rejected == 0 and report.tables["messages"].inserted == len(records)


def test_hostile_layout_files_are_refused_or_rejected_by_their_message(tmp_path):
    """Cases a hostile helper found: a 5,000-digit number in a dump, a message of megabytes, times that are
    no time of day in a scraped cell (each message rejected on its own, the others stored)."""

    import openpyxl

    shops = LAYOUTS / "sycm_chatlog_json" / "truth" / "shops.csv"
    big = tmp_path / "sycm-big.json"
    big.write_text('{"sessions": [{"meta": {}, "messages": [{"gmtCreated": ' + "9" * 5000
                   + ', "userNickFrom": "b", "msg": "x"}]}]}', encoding="utf-8")
    with pytest.raises(ImportFailed, match="sycm-big.json"):
        import_paths(_store(tmp_path, "a"), [shops, big], shop="S001", classify=False)
    long = tmp_path / "tb_x.txt"
    long.write_text("tb_x 2026-11-9 9:00:00\r\n" + "长" * 30_000 + "\r\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="tb_x.txt 第 1 行: 一条消息长 30,000 个字符"):
        import_paths(_store(tmp_path, "b"), [shops, long], shop="S001", classify=False)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "聊天记录"
    sheet.append(["客户ID", "聊天记录"])
    sheet.append(["tb_a", "09:00:01\ntb_a: 在吗\n\n25:99:99\ntb_a: 坏时间\n\n09:00:30\n店:小美: 在的"])
    path = tmp_path / "千牛聊天记录_11月9日.xlsx"
    book.save(path)
    store = _store(tmp_path, "c")
    report = import_paths(store, [shops, path], shop="S001", classify=False)
    rep = report.tables["messages"]
    assert (rep.read, rep.inserted, rep.rejected) == (3, 2, 1)
    assert [(r.line, r.column) for r in rep.reasons] == [(2, "sent_at")]  # the 2nd message of the file
    assert store.con.execute("SELECT count(*) FROM messages").fetchone()[0] == 2


def test_a_buyer_nick_with_a_colon_stays_a_buyer_in_a_sycm_dump(tmp_path):
    import json

    folder = LAYOUTS / "sycm_chatlog_json"
    doc = json.loads((folder / "sycm-2026-11-09.json").read_text(encoding="utf-8"))
    first = doc["sessions"][0]["messages"][0]
    first["userNickFrom"] = "[x](http://evil)"
    path = tmp_path / "sycm.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    store = _store(tmp_path, "s")
    import_paths(store, [folder / "truth" / "shops.csv", path], shop="S001", classify=False)
    assert store.con.execute("SELECT sender_role, agent_id FROM messages WHERE content = ?",
                             [first["msg"]]).fetchone() == ("buyer", None)


def test_two_evaluation_lists_in_one_import_and_stars_in_a_table(tmp_path):
    import json

    import openpyxl

    folder = LAYOUTS / "sycm_invitation_detail"
    rows = json.loads((folder / "eval.json").read_text(encoding="utf-8"))["data"]["dataSource"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["接待时间", "邀评时间", "买家", "客服", "来源", "评价结果"])
    for r, stars in zip(rows[:2], (5, 1)):  # a person's table: 1–5 stars
        sheet.append([r["servTime"], r["sendTime"], r["buyerNick"], r["psnNickName"], "客服邀评", stars])
    table = tmp_path / "评价列表.xlsx"
    book.save(table)
    second = tmp_path / "eval-2.json"
    second.write_text(json.dumps({"data": {"dataSource": rows[2:]}}, ensure_ascii=False), encoding="utf-8")
    store = _store(tmp_path, "s")
    report = import_paths(store, [folder / "truth" / "shops.csv", folder / "chats.json", table, second], shop="S001",
                          classify=False)
    assert report.tables["evaluations"].inserted == 4 and report.rejected == 0
    ratings = sorted(r[0] for r in store.con.execute("SELECT rating FROM evaluations WHERE rating IS NOT NULL").fetchall())
    assert ratings == [1, 2, 5]  # stars 5 and 1 as written; the JSON's code 3 → 2
    assert any("按星级读取" in n for n in report.notes)


def test_copied_headers_with_sender_and_receiver_read_the_sender(tmp_path):
    """readcliper.py's documented shapes: ``用户A --> 用户B 2024-01-15 14:30:25`` and a nick glued to the time."""
    path = tmp_path / "tb_x.txt"
    path.write_bytes("tb_x --> 云朵旗舰店:小美 2026-11-9 9:00:00\r\n在吗\r\n云朵旗舰店:小美 --> tb_x 2026-11-9 9:00:30\r\n"
                     "在的\r\n已读\r\ntb_x2026-11-9 9:01:00\r\n好\r\n".encode("utf-8"))
    out = recognise(path).convert(probe_file(path), LayoutContext(today=dt.date(2026, 12, 7)))
    rows = [(r["buyer_id"], r["sender_role"], r["agent_id"], r["content"]) for r in out.tables["messages"]]
    assert rows == [("tb_x", "buyer", None, "在吗"), ("tb_x", "agent", "云朵旗舰店:小美", "在的"),
                    ("tb_x", "buyer", None, "好")]
