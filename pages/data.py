"""数据管理: upload exports (with a column-mapping step), read the import report, see what the
store holds, or load the demo dataset."""

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from insight.core.errors import InsightError
from insight.core.limits import Limits
from insight.core.schema import REPORT_TABLE, TABLES, table_label
from insight.demo.generator import DemoConfig, demo_refusal, write_demo
from insight.ingest.importer import import_paths, import_sources
from insight.ingest.mapping import needs_review
from insight.ingest.readers import ACCEPTED_SUFFIXES, mapped_source, read_preview
from insight.ingest.reports import (
    EDITOR_COLUMNS,
    USES,
    editor_frame,
    report_def_from_rows,
    rows_from_editor,
)
from insight.ingest.roles import ROLE_CODES, RoleRule
from insight.ingest.uploads import UploadFolder
from insight.metrics.registry import registry
from insight.present.exports import HtmlReport
from insight.present.formatting import markdown_text as md
from insight.ui import auth, data, widgets
from insight.ui.boot import require_navigation

require_navigation()
st.title("数据管理")
st.caption("支持 CSV（UTF-8 / GBK）、Excel（.xlsx / .xls）、Parquet，以及店铺手里常见的原样文件：千牛聊天记录（抓取的"
           "表格、油猴脚本导出、客户端复制的文本）、生意参谋 JSON、拼多多聊天记录 JSON、各平台客服报表下载（见 docs/import.md）。"
           "按内容自动识别；列名与 DATA.md 不同时，在下方逐列对应并可保存为方案。导入是原子的：失败时数据库不变；"
           "重复导入不会产生重复数据。")


built = data.parts_source()
if built is not None:
    st.info(f"此服务读取部件目录：指标由 build-parts 在别处计算（引擎 {built.get('engine', '—')}，"
            f"{str(built.get('built_at', '—')).replace('T', ' ')}），这里不能导入。要更新数据，请在构建部件的流程中"
            "导入新文件并重新 build-parts；要在本机导入，请不带 --parts 启动服务。")
    st.stop()


class _Progress:
    """The importer's progress protocol on a Streamlit progress bar."""

    def __init__(self, bar):
        self.bar, self.total, self.done, self.text = bar, 1, 0, "准备导入"

    def set_description_str(self, text):
        self.text = text
        self.bar.progress(min(self.done / max(self.total, 1), 1.0), text=text)

    def update(self, n=1):
        self.done += n
        self.bar.progress(min(self.done / max(self.total, 1), 1.0), text=self.text)


def _report_dir() -> Path:
    return Path(data.store_path()).parent / "imports" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _run(label: str, job) -> None:
    """Run an import through the app's own database, then show its report."""
    data.pause_background_classification()
    store = data.open_store(create=True).cursor()
    bar = st.progress(0.0, text=label)
    try:
        result = job(store, _Progress(bar))
    except InsightError as exc:
        bar.empty()
        st.session_state["last_import"] = {"error": str(exc), "report": getattr(exc, "report", None)}
        return
    finally:
        store.close()
    bar.progress(1.0, text="导入完成")
    st.session_state["last_import"] = {"error": None, "report": result}
    data.clear_caches()
    if result.affected_shops:
        data.classify_in_background()


def _show_last_import(report: HtmlReport) -> None:
    last = st.session_state.get("last_import")
    if not last:
        return
    st.subheader("导入报告")
    if last["error"]:
        st.error(f"导入失败，数据库没有任何改变：{md(last['error'])}", icon=":material/error:")
    rep = last["report"]
    if rep is None:
        return
    if not last["error"]:
        if rep.rejected:
            st.warning(f"导入完成，{rep.rejected:,} 行被拒绝（其余行已导入）。", icon=":material/warning:")
        elif rep.changed:
            st.success("导入完成，所有行都已接受。", icon=":material/check_circle:")
        else:
            st.info("数据库没有变化：这些行之前都已导入过。", icon=":material/info:")
    summary = pd.DataFrame([{"表": t.table, "说明": table_label(t.table), "读取": t.read, "接受": t.accepted,
                             "新增": t.inserted, "更新": t.updated, "未变": t.unchanged, "拒绝": t.rejected,
                             "忽略的列": "、".join(t.ignored_columns)} for t in rep.tables.values()])
    widgets.table(summary, "导入报告", key="import_summary", report=report)
    layouts = [f for f in rep.files if f.get("layout")]
    if layouts:  # files in a real layout: what each was read as, and what was left out and assumed
        per_file = pd.DataFrame([{
            "文件": Path(f["file"]).name, "识别为": f["layout"], "读取": f"{f['read']:,} {f['unit']}",
            "日期": f.get("dates") or "—",
            "未导入": "；".join(f"{why} {n:,}" for why, n in f["excluded"].items()) or "—",
            "假设与说明": "；".join(f["assumptions"]) or "—"} for f in layouts])
        st.caption("各文件的读取情况：识别为哪种文件、读了多少、覆盖哪几天、哪些行没有导入及原因、做了哪些假设")
        widgets.table(per_file, "各文件的读取情况", key="import_files", report=report)
    shown = {Path(f["file"]).name for f in layouts}
    for t in rep.tables.values():
        if not t.rejected:
            continue
        with st.expander(f"{t.table}（{table_label(t.table)}）被拒绝 {t.rejected:,} 行 · 前几条原因"):
            st.dataframe(pd.DataFrame([{"文件": Path(r.file).name, "行": r.line, "列": r.column, "原因": r.reason}
                                       for r in t.reasons]), hide_index=True, placeholder="")
            path = Path(rep.rejected_dir or "") / f"rejected_{t.table}.csv"
            if rep.rejected_dir and path.exists():
                st.download_button(f"下载全部被拒绝的 {t.table} 行（CSV）", data=path.read_bytes(),
                                   file_name=path.name, mime="text/csv", key=f"rej_{t.table}", on_click="ignore")
    for note in rep.notes:
        if note.split(": ", 1)[0] not in shown:  # those are in the table above
            st.caption(md(note))


def _role_rule_editor(fid: str, preset: str | None) -> RoleRule | None:
    """发送方判定: how a chat export tells who wrote each message (a preset's rule, editable)."""
    start = data.preset_roles(preset, "messages") or RoleRule()
    with st.popover("发送方判定规则", icon=":material/rule:"):
        st.caption("发送方一列写的是角色词（买家/客服/机器人/系统）时直接使用；写 0/1 等代码时按下面的代码表；"
                   "写昵称时：含店铺账号标志（如 店铺名:子账号）的是客服，机器人昵称或含机器人标志的是机器人，其余是买家，"
                   "客服消息的买家取“接收人”列。")
        codes = st.text_input("代码表（代码=角色，逗号分隔；角色为 buyer/agent/robot/system）",
                              start.codes_text(), key=f"roles_codes_{fid}_{preset}")
        marker = st.text_input("店铺账号标志", start.agent_marker, key=f"roles_marker_{fid}_{preset}", max_chars=10)
        robots = st.text_input("机器人昵称（逗号分隔）", ", ".join(start.robots), key=f"roles_robots_{fid}_{preset}")
        robot_marker = st.text_input("机器人标志（昵称包含即为机器人，可留空）", start.robot_marker,
                                     key=f"roles_robot_marker_{fid}_{preset}", max_chars=20)
    values, bad = RoleRule.parse_codes(codes)
    for item in bad:
        st.warning(f"代码表中的“{md(item)}”应写成 代码=角色（角色为 {', '.join(ROLE_CODES)}），已忽略",
                   icon=":material/warning:")
    try:
        return RoleRule(values, marker or ":", tuple(r.strip() for r in robots.replace("，", ",").split(",") if r.strip()),
                        robot_marker.strip()).validate()
    except InsightError as exc:
        st.warning(md(str(exc)), icon=":material/warning:")
        return start


def _report_editor(fid: str, defn, headers: list[str]) -> None:
    """What each column of a platform report is (when the platform renamed or added columns), saved
    in the store under the report's name."""
    if st.toggle("编辑报表列", key=f"rep_edit_on_{fid}", help="平台改了列名或增加了列时，在这里说明每一列是什么"):
        cols = EDITOR_COLUMNS
        edited = st.data_editor(editor_frame(defn, headers), hide_index=True, key=f"rep_edit_{fid}", placeholder="",
                                column_config={
            cols["header"]: st.column_config.TextColumn(disabled=True),
            cols["use"]: st.column_config.SelectboxColumn(options=list(USES.values()), required=True),
            cols["matches"]: st.column_config.SelectboxColumn(options=[m.name for m in registry()],
                                                              help="与本工具的哪个指标可对照（平台口径对照）"),
            cols["weight"]: st.column_config.SelectboxColumn(options=headers,
                                                             help="比率或均价的分母列：有分母才能跨日合并"),
        })
        if st.button(f"保存为“{md(defn.name)}”", key=f"rep_save_{fid}"):
            try:
                data.save_report_definition(report_def_from_rows(defn, rows_from_editor(edited)))
            except InsightError as exc:
                st.warning(md(str(exc)), icon=":material/warning:")
            else:
                st.toast(f"已保存“{md(defn.name)}”的列说明")
                st.rerun()


def _layout_panel(src, shown: str, fid: str, shop, day, problems: list, days: list) -> None:
    """A file in a real-world layout: what it was recognised as, its first rows as they will be imported,
    what is left out and why, the assumptions made — before anything is written."""
    look = data.layout_preview(src, shop, day)
    is_report = look["table"] == REPORT_TABLE
    what = f"平台客服报表（{look['layout']}）" if is_report else look["layout"]
    with st.expander(f"{shown} · 识别为{md(what)}", expanded=True):
        if is_report:
            st.caption("平台口径的数据：按客服（或全店、商品）和日期保存平台导出的数值，显示在“客服绩效”页的平台口径对照中，"
                       "不混入本工具按聊天记录计算的指标。")
        if look["needs_day"]:
            days.append(Path(src.shown).name)
            st.info(md(look["problem"]) + "（在下方选择日期）", icon=":material/event:")
            return
        if look["problem"]:
            problems.append(look["problem"])
            st.warning(md(look["problem"]), icon=":material/warning:")
            return
        if look["day_used"]:  # keeps the day field on the page while this file needs it
            days.append(Path(src.shown).name)
        left = "；".join(f"{why} {n:,}" for why, n in look["excluded"].items())
        st.caption(f"读取 {look['read']:,} {look['unit']}" + (f"；不导入: {md(left)}" if left else "")
                   + f"。以下是前 {len(look['frame'])} 行将导入的样子（导入前不会写入任何数据）：")
        if look["frame"] is not None and not look["frame"].empty:
            st.dataframe(look["frame"].astype("string"), hide_index=True, height=200, placeholder="")
        for note in look["notes"]:
            st.caption(f"ℹ️ {md(note)}")
        if is_report and src.path.suffix.lower() in (".csv", ".xlsx"):
            headers = read_preview(src.path, rows=1, label=src.shown)[0]
            defn = data.detect_report(headers)
            if defn is not None:  # header in the first row: its columns can be described here
                _report_editor(fid, defn, headers)


viewer = auth.run_viewer()
report = HtmlReport("数据管理", f"数据库 {data.store_path()}")
widgets.guarded_store(data.reader)
widgets.report_download(report, "数据管理_数据概览")

# -- upload --------------------------------------------------------------------------------
st.subheader("上传文件")
if not viewer.is_admin:
    st.caption(f"本账号可导入授权店铺（{'、'.join(sorted(viewer.shops or ()))}）的数据；其他店铺的行会被拒绝并列出原因。")
limit_mb = min(int(st.get_option("server.maxUploadSize")), Limits.from_env().max_upload_mb)
round_no = st.session_state.setdefault("upload_round", 0)  # a new uploader after each import frees its memory
uploads = st.file_uploader(f"拖入或选择文件（可多选，单个文件不超过 {limit_mb:,} MB）",
                           type=[s.lstrip(".") for s in ACCEPTED_SUFFIXES], accept_multiple_files=True,
                           key=f"uploads_{round_no}", max_upload_size=limit_mb)
if uploads:
    sources, problems, report_days = [], [], []
    rd = data.reader()
    known_shops = data.shops(data.store_path(), rd.version) if rd else None
    shop_ids = [] if known_shops is None else list(known_shops["shop_id"])
    shop_names = {} if known_shops is None else dict(zip(known_shops["shop_id"], known_shops["shop_name"]))
    shop = st.selectbox("没有店铺列的文件（平台按店铺导出的聊天记录、评价、订单）属于哪个店铺", [None, *shop_ids],
                        format_func=lambda s: "（文件自带店铺列）" if s is None
                        else f"{shop_names[s]} · {s}" if isinstance(shop_names.get(s), str) and shop_names[s] != s else s,
                        key="upload_shop",
                        help="平台导出的文件通常没有店铺ID：选一个店铺，这些文件的每一行都归到它（命令行：--shop）。"
                             "新店铺请先导入 shops 表。")
    folder = st.session_state.get("upload_folder")
    if folder is None or not folder.path.exists():
        folder = st.session_state["upload_folder"] = UploadFolder(data.open_store(create=True).work_dir)
    folder.keep_only(up.file_id for up in uploads)
    for up in uploads:
        # The browser's file name is only a label: the bytes are saved under a generated name.
        try:
            path = folder.path_for(up.file_id, up.name)
        except InsightError as exc:
            problems.append(str(exc))
            continue
        if not path.exists() or path.stat().st_size != up.size:
            path.write_bytes(up.getbuffer())
        shown = md(up.name, limit=80)
        fid = up.file_id
        try:
            found = data.layout_source(path, up.name)
        except InsightError as exc:
            problems.append(str(exc))
            continue
        if found is not None:
            # A real-world layout (scraped chats, JSON dumps, report downloads): shown as it will be imported.
            _layout_panel(found, shown, fid, shop, st.session_state.get("report_day"), problems, report_days)
            sources.append(found)
            continue
        try:
            headers, preview = read_preview(path, label=up.name)
        except InsightError as exc:
            problems.append(str(exc))
            continue
        guess, needs_work = needs_review(up.name, headers, shop_given=shop is not None)
        with st.expander(f"{shown} · {len(headers)} 列 · " + (f"识别为 {guess}" if guess else "请选择表"),
                         expanded=needs_work):
            tables = list(TABLES)
            table = st.selectbox("这是哪张表", tables, index=tables.index(guess) if guess else None,
                                 format_func=lambda t: f"{t}（{TABLES[t].label}）", key=f"tbl_{fid}",
                                 placeholder="请选择表")
            if table is None:
                problems.append(f"{up.name}: 请选择这是哪张表")
                continue
            presets = [None, *data.mapping_presets(table)]
            found = data.preset_for_headers(table, headers)
            chosen = st.selectbox("套用映射方案（内置的平台方案可修改后以同名保存）", presets, key=f"preset_{fid}_{table}",
                                  index=presets.index(found) if found in presets else 0,
                                  format_func=lambda p: "（自动建议）" if p is None else p)
            mapping = data.start_mapping(table, headers, chosen)
            st.dataframe(pd.DataFrame(preview, columns=headers[:len(preview[0])] if preview else headers),
                         hide_index=True, height=150, placeholder="")
            cols = st.columns(3)
            final = {}
            for i, col in enumerate(TABLES[table].columns):
                need = "（必填）" if col.required and col.default is None else ""
                options = [None, *headers]
                final[col.name] = cols[i % 3].selectbox(
                    f"{col.name} {col.label}{need}", options,
                    index=options.index(mapping.get(col.name)) if mapping.get(col.name) in options else 0,
                    format_func=lambda h: "（不导入）" if h is None else h, key=f"map_{fid}_{table}_{chosen}_{col.name}")
            roles = _role_rule_editor(fid, chosen) if table == "messages" else None
            source, issues = mapped_source(path, table, final, up.name, shop_given=shop is not None, roles=roles)
            for issue in issues:
                st.warning(md(issue), icon=":material/warning:")
            c1, c2 = st.columns([3, 1])
            name = c1.text_input("保存为映射方案（如“淘宝聊天记录导出”）", key=f"pname_{fid}", max_chars=60)
            if c2.button("保存方案", key=f"psave_{fid}", disabled=not name):
                data.save_mapping_preset(name, table, final, roles)
                st.toast(f"已保存映射方案“{md(name)}”")
            if issues:
                problems.append(f"{up.name}: " + "；".join(issues))
            else:
                sources.append(source)
    report_day = None
    if report_days:
        report_day = st.date_input(f"日期（{md('、'.join(report_days), limit=120)} 的数据没有日期）", value=None,
                                   key="report_day", format="YYYY-MM-DD",
                                   help="时间只有时分秒的聊天记录、没有日期列的报表：它们是哪一天的（命令行：--day YYYY-MM-DD）")
        if report_day is None:
            problems.append("请选择没有日期的文件是哪一天的")
    for p in problems:
        st.caption(f"⚠️ {md(p)}")
    replace = st.checkbox("用新文件覆盖已存在但内容不同的行（--replace）", key="replace",
                          help="默认不覆盖：与已导入的行主键相同但内容不同的行会被拒绝并列出。覆盖时，新文件中出现的会话以新文件为准。")
    if st.button(f"开始导入 {len(sources)} 个文件", type="primary", disabled=bool(problems) or not sources,
                 key="start_import", icon=":material/upload:"):
        _run("正在导入…", lambda s, progress: import_sources(
            s, sources, replace=replace, report_dir=_report_dir(), shop=shop, progress=progress, classify=False,
            report_day=report_day, by=viewer.name, allowed_shops=None if viewer.is_admin else viewer.shops))
        st.session_state.pop("upload_folder").remove()
        widgets.release_uploads(uploads)
        st.session_state["upload_round"] = round_no + 1
        st.rerun()
_show_last_import(report)
widgets.classification_banner()

# -- demo ----------------------------------------------------------------------------------
if viewer.is_admin:  # demo shops are new shops: the 主账号's decision
    st.subheader("演示数据")
    c1, c2, c3 = st.columns([1, 1, 2])
    shops_n = c1.number_input("店铺数", 5, 200, 40, key="demo_shops")
    days_n = c2.number_input("天数", 7, 365, 120, key="demo_days")
    c3.caption("生成一个跨平台、多类目的演示数据集（聊天、评价、订单、退款、平台介入），并导入当前数据库。"
               "40 家店 × 120 天约 120 万条消息，在 2 核机器上生成并导入约需 4–5 分钟；店铺或天数少些会快得多。")
    existing = data.open_store()
    real_shops = demo_refusal(existing) if existing is not None else None
    if real_shops:
        c3.warning(md(real_shops), icon=":material/block:")
    elif st.session_state.get("confirm_demo"):
        c3.warning("演示数据是虚构的店铺和聊天，会加入当前数据库。确定载入吗？", icon=":material/help:")
        yes, no = c3.columns(2)
        if yes.button("确认载入", key="demo_yes", type="primary"):
            st.session_state["confirm_demo"] = False
            out = Path(data.store_path()).parent / "demo"

            def _demo(store, progress):
                with st.spinner("正在生成演示数据…"):
                    write_demo(out, DemoConfig(shops=int(shops_n), days=int(days_n)))
                return import_paths(store, [out], report_dir=_report_dir(), progress=progress, classify=False,
                                    by=auth.run_viewer().name)

            _run("正在生成并导入演示数据…", _demo)
            st.rerun()
        if no.button("取消", key="demo_no"):
            st.session_state["confirm_demo"] = False
            st.rerun()
    elif c3.button("载入演示数据", key="load_demo", icon=":material/auto_awesome:"):
        st.session_state["confirm_demo"] = True
        st.rerun()


# -- overview ------------------------------------------------------------------------------
st.subheader("数据概览")
rd = data.reader()
info = data.overview(data.store_path(), rd.version) if rd else None
if info is None:
    widgets.empty_state("数据库还是空的。", "上传店铺导出的文件，或点击“载入演示数据”。")
else:
    c = st.columns(4)
    c[0].metric("店铺", f"{info['shops']:,}")
    c[1].metric("会话（分析口径）", f"{info['sessions']:,}",
                help="导入的会话记录，加上只在聊天消息中出现、按规则切分出的会话；下表“各表行数”里的会话只数导入的记录")
    c[2].metric("消息", f"{info['messages']:,}")
    c[3].metric("覆盖天数", f"{info['days']:,}", help=f"{info['start']} ~ {info['end']}（店铺当地日期）")
    # peers are optional: without an imported peer table the benchmarks come from this store's own shops
    missing = [t for t in TABLES if t not in info["present"] and t != "peers"]
    if missing:
        st.caption("尚未导入：" + "、".join(f"{TABLES[t].label}（{t}）" for t in missing) + "。相关指标会显示为不可用并说明原因。")
    left, right = st.columns([1, 2])
    with left:
        widgets.table(info["tables"], "各表行数", key="ov_tables", report=report)
    with right:
        widgets.table(info["per_shop"], "店铺数据覆盖", key="ov_shops", height=300, report=report)
    if viewer.is_admin:  # a batch can span shops: the 主账号's record
        with st.expander("导入历史"):
            hist, events = data.imports_history(data.store_path(), rd.version)
            if hist.empty:
                st.caption("还没有文件导入。")
            else:
                widgets.table(hist, "导入历史", key="hist", report=report)
            if events["batches"]:
                st.caption(f"另有 {events['batches']:,} 批实时事件（POST /api/v1/events），最近一批 "
                           f"{events['latest']:%Y-%m-%d %H:%M:%S}；不逐批列出。")
