"""The platforms' per-agent report exports: recognised by header, kept as 平台口径 figures per (shop,
agent, day), bad values rejected with line and column, repeated imports idempotent, revisions replace."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from insight import Store, import_paths
from insight.core.errors import ImportFailed
from insight.ingest.reports import detect_report

from conftest import SHOP, Chat, write_csv

TAOBAO = [
    {"日期": "2024-05-10", "旺旺昵称": "测试店:小美", "旺旺分组": "售前", "有效接待人数": "120", "当日询单人数": "80",
     "销售人数": "30", "净销售额": "8,800.50", "客单价": "300", "询单流失人数": "50", "首次响应时长(秒)": "12.5",
     "平均响应时长(秒)": "25", "答问比": "1.2", "客户满意率": "95.5%", "销售额": "9000", "询单最终付款转化率": "37.5%"},
    {"日期": "2024-05-11", "旺旺昵称": "测试店:小美", "旺旺分组": "售前", "有效接待人数": "100", "当日询单人数": "20",
     "销售人数": "10", "净销售额": "2000", "客单价": "200", "询单流失人数": "10", "首次响应时长(秒)": "-",
     "平均响应时长(秒)": "30", "答问比": "1.1", "客户满意率": "0.9", "销售额": "2000", "询单最终付款转化率": "50%"},
]


def _store(tmp_path) -> Store:
    folder = tmp_path / "base"
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP])
    write_csv(folder / "messages.csv", Chat("z1", "z", day="2024-05-01").buyer("09:00:00", "你好").rows)
    store = Store(None)
    import_paths(store, [folder], classify=False)
    return store


def _figures(store, metric=None) -> list[tuple]:
    sql = "SELECT agent, day, metric, value FROM platform_reports"
    params = []
    if metric:
        sql += " WHERE metric = ?"
        params.append(metric)
    return store.con.execute(sql + " ORDER BY ALL", params).fetchall()


def test_each_platform_report_is_recognised_by_its_header():
    assert detect_report(list(TAOBAO[0])).key == "taobao_agent_performance"
    assert detect_report(["客服昵称", "账号名称", "人工已接待人数", "3分钟人工回复率(会话)", "满意率"]).key == "douyin_feige_agent"
    assert detect_report(["客服账号", "咨询人数", "询单人数", "3分钟人工回复率(8-23点)"]).key == "pdd_agent"
    assert detect_report(["客服", "接待量", "首次平均响应时间", "30s应答率", "满意率"]).key == "jd_agent"
    assert detect_report(["买家昵称", "发送时间", "消息内容"]) is None


def test_a_taobao_report_gbk_lands_per_agent_and_day_and_reimports_change_nothing(tmp_path):
    store = _store(tmp_path)
    path = write_csv(tmp_path / "客服绩效.csv", TAOBAO, encoding="gb18030")
    report = import_paths(store, [path], shop="S1", classify=False)
    rep = report.tables["platform_reports"]
    assert (rep.read, rep.inserted, rep.rejected) == (2, 2, 0), report.summary()
    assert _figures(store, "客户满意率") == [("测试店:小美", dt.date(2024, 5, 10), "客户满意率", 0.955),
                                       ("测试店:小美", dt.date(2024, 5, 11), "客户满意率", 0.9)]
    assert _figures(store, "净销售额")[0][3] == 8800.5
    # '-' is "not given": no figure, never a zero
    assert [r[1] for r in _figures(store, "首次响应时长(秒)")] == [dt.date(2024, 5, 10)]
    assert "旺旺分组" in rep.ignored_columns
    again = import_paths(store, [path], shop="S1", classify=False)
    assert not again.changed and again.tables["platform_reports"].unchanged == 2
    revised = [dict(TAOBAO[1], **{"客户满意率": "91%"})]
    report = import_paths(store, [write_csv(tmp_path / "客服绩效2.csv", revised)], shop="S1", classify=False)
    assert report.tables["platform_reports"].updated == 1
    assert _figures(store, "客户满意率")[1][3] == 0.91
    assert store.con.execute("SELECT count(*) FROM platform_reports").fetchone()[0] == 12 * 2 - 1  # one "-"


def test_a_report_without_a_date_takes_the_day_named_at_import(tmp_path):
    store = _store(tmp_path)
    path = tmp_path / "飞鸽客服数据.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客服昵称", "账号名称", "人工已接待人数", "人工已接待会话量", "3分钟人工回复率(会话)", "平均响应时长(秒)", "满意率"])
    sheet.append(["小美", "mei01", 50, 60, 0.85, "00:00:35", "96%"])
    book.save(path)
    with pytest.raises(ImportFailed, match="--day"):
        import_paths(store, [path], shop="S1", classify=False)
    import_paths(store, [path], shop="S1", classify=False, report_day=dt.date(2024, 5, 12))
    # The account (账号名称), not the nickname: real 接待量 files name accounts 店铺:子账号 (layouts/douyin_reception).
    assert _figures(store) == [("mei01", dt.date(2024, 5, 12), "3分钟人工回复率(会话)", 0.85),
                               ("mei01", dt.date(2024, 5, 12), "人工已接待人数", 50.0),
                               ("mei01", dt.date(2024, 5, 12), "人工已接待会话量", 60.0),
                               ("mei01", dt.date(2024, 5, 12), "平均响应时长(秒)", 35.0),
                               ("mei01", dt.date(2024, 5, 12), "满意率", 0.96)]


def test_minutes_become_seconds_and_bad_values_reject_their_line(tmp_path):
    store = _store(tmp_path)
    rows = [{"日期": "2024/05/10", "客服账号": "a1", "咨询人数": "10", "询单人数": "5", "平均人工响应时长(分钟)": "1.5",
             "3分钟人工回复率(8-23点)": "90%"},
            {"日期": "2024/05/10", "客服账号": "a2", "咨询人数": "十", "询单人数": "5", "平均人工响应时长(分钟)": "2",
             "3分钟人工回复率(8-23点)": "80%"},
            {"日期": "昨天", "客服账号": "a3", "咨询人数": "1", "询单人数": "1", "平均人工响应时长(分钟)": "2",
             "3分钟人工回复率(8-23点)": "80%"}]
    report = import_paths(store, [write_csv(tmp_path / "pdd.csv", rows)], shop="S1", classify=False)
    rep = report.tables["platform_reports"]
    assert (rep.read, rep.inserted, rep.rejected) == (3, 1, 2)
    reasons = {r.line: (r.column, r.reason) for r in rep.reasons}
    assert reasons[3][0] == "咨询人数" and "十" in reasons[3][1]
    assert reasons[4][0] == "day" and "昨天" in reasons[4][1]
    assert ("a1", dt.date(2024, 5, 10), "平均人工响应时长(分钟)", 90.0) in _figures(store)


def test_a_store_of_shops_and_reports_alone_is_allowed(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_csv(folder / "shops.csv", [SHOP])
    write_csv(folder / "客服绩效.csv", TAOBAO)
    store = Store(None)
    report = import_paths(store, [folder], shop="S1", classify=False)
    assert report.tables["platform_reports"].inserted == 2
    assert any("平台客服报表" in n for n in report.notes)


def test_an_edited_report_definition_reads_renamed_columns_and_is_kept_in_the_store(tmp_path):
    """The platform renamed 客户满意率 to 满意度 and added 转接次数: edited once, saved, read so from then on."""
    from insight.core.errors import UsageError
    from insight.ingest.reports import editor_rows, report_def_from_rows, report_defs, save_report_def

    store = _store(tmp_path)
    rows = [{k if k != "客户满意率" else "满意度": v for k, v in r.items()} | {"转接次数": "3"} for r in TAOBAO]
    headers = list(rows[0])
    base = detect_report(headers)
    assert base.key == "taobao_agent_performance"
    edit = editor_rows(base, headers)
    assert {r["header"]: r["use"] for r in edit}["满意度"] == ""  # not known yet
    for r in edit:
        if r["header"] == "满意度":
            r.update(use="rate", matches="satisfaction_rate")
        if r["header"] == "转接次数":
            r.update(use="count")
    edited = report_def_from_rows(base, edit)
    with pytest.raises(UsageError):
        report_def_from_rows(base, [dict(r, use="" if r["use"] == "agent" else r["use"]) for r in edit])
    save_report_def(store.con, edited)
    assert [d.name for d in report_defs(store.con)].count(base.name) == 1
    report = import_paths(store, [write_csv(tmp_path / "绩效新版.csv", rows)], shop="S1", classify=False)
    assert report.tables["platform_reports"].inserted == 2
    assert _figures(store, "满意度")[0][3] == 0.955 and _figures(store, "转接次数")[0][3] == 3
    assert store.con.execute("SELECT DISTINCT matches FROM platform_reports WHERE metric = '满意度'").fetchone()[0] \
        == "satisfaction_rate"


def test_the_data_page_editor_round_trips():
    from insight.ingest.reports import editor_frame, editor_rows, rows_from_editor

    headers = list(TAOBAO[0])
    defn = detect_report(headers)
    frame = editor_frame(defn, headers)
    assert list(frame.columns) == ["列", "用途", "对应指标", "分母列"]
    assert frame.loc[frame["列"] == "客户满意率", "用途"].iloc[0] == "比率"
    assert frame.loc[frame["列"] == "旺旺分组", "用途"].iloc[0] == "（不导入）"
    assert rows_from_editor(frame) == editor_rows(defn, headers)


def test_a_folder_import_recognises_a_report_by_its_edited_definition(tmp_path):
    """So renamed that the built-in definition no longer knows it: once edited and saved, a folder import
    (the CLI's) recognises it too."""
    from insight.ingest.reports import editor_rows, report_def_from_rows, report_defs, save_report_def

    store = _store(tmp_path)
    rows = [{"日期": "2024-05-10", "旺旺昵称": "测试店:小美", "接待人数(有效)": "120", "满意度": "95%", "转接次数": "3"}]
    headers = list(rows[0])
    assert detect_report(headers) is None
    base = next(d for d in report_defs() if d.key == "taobao_agent_performance")
    edit = editor_rows(base, headers)
    uses = {"接待人数(有效)": ("count", "received_buyers"), "满意度": ("rate", "satisfaction_rate"), "转接次数": ("count", None)}
    for r in edit:
        if r["header"] in uses:
            r["use"], r["matches"] = uses[r["header"]]
    save_report_def(store.con, report_def_from_rows(base, edit))
    folder = tmp_path / "exports"
    folder.mkdir()
    write_csv(folder / "绩效.csv", rows)
    report = import_paths(store, [folder], shop="S1", classify=False)
    assert report.tables["platform_reports"].inserted == 1, report.summary()


def test_a_report_file_over_the_row_bound_is_refused_like_any_file(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_MAX_ROWS", "1")
    store = _store(tmp_path)
    with pytest.raises(ImportFailed, match="INSIGHT_MAX_ROWS"):
        import_paths(store, [write_csv(tmp_path / "客服绩效.csv", TAOBAO)], shop="S1", classify=False)
    assert store.con.execute("SELECT count(*) FROM platform_reports").fetchone()[0] == 0
