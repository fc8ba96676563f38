"""Page building blocks: metric cards, charts and tables with their downloads, the page's
HTML report, empty states. Every chart and table drawn here also goes into the report."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from insight.core.filters import Filters
from insight.core.periods import GRAIN_LABELS, trend_grains
from insight.core.settings import SalesSettings
from insight.metrics.engine import MIN_PEERS
from insight.metrics.registry import registry
from insight.metrics.stats import SMALL_SAMPLE
from insight.present import charts
from insight.present.charts import png_config
from insight.present.exports import HtmlReport, safe_filename, table_csv, table_xlsx
from insight.present.formatting import format_value, markdown_text
from insight.ui import auth, data
from insight.ui.columns import as_shown

__all__ = ["set_export_about", "export_about", "forget_export_about", "guarded_store", "release_uploads", "peer_definition", "house_style", "metric_card", "agent_card", "change_notice", "what_happened", "chart", "table", "report_download", "weekly_downloads", "empty_state", "no_data_page", "small_sample_note",
           "transcript_view", "trend_section", "format_metric", "SMALL_N"]

SMALL_N = SMALL_SAMPLE  # below this many units a rate is labelled as a small sample



# The header block of this run's exports (shop, period, filters): set by the page's view (state.page_view),
# read by every download; app.py forgets it at the start of each run.
EXPORT_ABOUT_KEY = "_export_about"


def set_export_about(about: list[tuple[str, str]]) -> None:
    st.session_state[EXPORT_ABOUT_KEY] = list(about)


def export_about() -> list[tuple[str, str]]:
    """The header block of this run's exports (empty on a page without a shop and period)."""
    return list(st.session_state.get(EXPORT_ABOUT_KEY) or [])


def forget_export_about() -> None:
    """Every run starts without one: a page that sets no view must not inherit another page's."""
    st.session_state.pop(EXPORT_ABOUT_KEY, None)


def format_metric(metric, value) -> str:
    """format_value, with NaN (a missing part in a frame) shown as unavailable too."""
    if value is None or value != value:
        return "—"
    return format_value(metric, float(value))


def small_sample_note(n) -> str:
    if n is None:
        return ""
    return f"n = {int(n):,}" + ("（样本少，谨慎解读）" if n < SMALL_N else "")


# The house style, our own constant CSS (never data), for English that Streamlit cannot translate: the
# "Fullscreen" button it adds to every plotly toolbar (the element toolbar above a chart offers full
# screen as well), and the uploader's "Upload" / "… per file" (the uploader's label says both in Chinese) —
# on its browse button only, not on an uploaded file's remove button (which it used to label and cover); and
# a select box's "No results" when nothing matches what was typed (the one option without a key).
_HOUSE_CSS = """<style>
.modebar-btn[data-title="Fullscreen"], .modebar-btn[data-title="Close fullscreen"] { display: none !important; }
[data-testid="stFileUploaderDropzoneInstructions"] { display: none !important; }
[data-testid="stFileUploaderDropzone"] button:not([data-testid="stFileChipDeleteBtn"] *, [data-testid="stFileChipDeleteBtn"])
  [data-testid="stMarkdownContainer"] { display: none !important; }
[data-testid="stFileUploaderDropzone"] button:not([data-testid="stFileChipDeleteBtn"] *, [data-testid="stFileChipDeleteBtn"])::after {
  content: "选择文件"; white-space: nowrap; }
[role="option"]:not([data-key]) > span { visibility: hidden; font-size: 0 !important; }
[role="option"]:not([data-key]) > span::after { visibility: visible; content: "没有匹配项"; font-size: 0.875rem; }
</style>"""


# A help icon's label for screen readers is Streamlit's English "Help for <label>" (no option changes it):
# rewritten to Chinese wherever one appears, by one observer per browser tab (our own constant script).
_HOUSE_SCRIPT = """<script>
(() => {
  if (window.__insightAria) return;
  window.__insightAria = true;
  const fix = (root) => root.querySelectorAll('[aria-label^="Help"]').forEach((e) => {
    const label = e.getAttribute('aria-label');
    if (label === 'Help') e.setAttribute('aria-label', '说明');
    else if (label.startsWith('Help for ')) e.setAttribute('aria-label', label.slice(9) + ' 的说明');
  });
  fix(document);
  new MutationObserver(() => fix(document)).observe(document.body, {subtree: true, childList: true,
                                                                    attributes: true, attributeFilter: ['aria-label']});
})();
</script>"""


def house_style() -> None:
    st.html(_HOUSE_CSS)
    st.html(_HOUSE_SCRIPT, unsafe_allow_javascript=True)


def metric_card(container, row: pd.Series | dict, compared: str | None = None) -> None:
    """A metric with 环比 (grey when within chance), what it is compared with (``compared``; default
    the peers' average and excellent), its interval and n, and the 环比's verdict — or, when
    unavailable, why."""
    m = registry()[row["key"]]
    delta = None if row["change"] is None or row["change"] != row["change"] else row["环比"]
    # a change within chance is shown grey: an arrow's colour is a claim
    quiet = m.direction == "none" or row.get("change_significant") is False
    container.metric(
        f"{m.name} {m.arrow}".strip(), row["本期"], delta=delta,
        delta_color="off" if quiet else ("inverse" if m.direction == "down" else "normal"),
        help=f"{m.description}\n\n上期：{row['上期']}", border=True)
    if row["value"] is None or row["value"] != row["value"]:
        container.caption(f"⚠️ 无法计算：{markdown_text(row['说明'] or '—')}")
        return
    lines = []
    if compared is not None:
        lines.append(compared)
    elif row["peer_avg"] is not None and row["peer_avg"] == row["peer_avg"]:
        lines.append(f"同行平均 {row['同行平均']} · 优秀 {row['同行优秀']}")
    elif m.direction != "none":
        lines.append(f"同行基准不可用：{markdown_text(row['说明'] or '—')}")
    if row.get("interval") is not None:
        lines.append(f"95% 区间 {row['区间']} · {small_sample_note(row['n'])}")
    elif m.type in ("ratio", "mean"):
        lines.append(small_sample_note(row["n"]))
    if row.get("环比说明") and not row.get("partial"):  # a partial period is said once, above the cards
        lines.append(markdown_text(row["环比说明"]))
    container.caption("  \n".join(x for x in lines if x))


def what_happened(report: dict) -> None:
    """本期发生了什么: the 周报's opening paragraph (``analyses.weekly.what_happened``) where a review starts."""
    from insight.analyses.weekly import what_happened as summary

    st.markdown(f"**本期发生了什么**　{markdown_text(summary(report, say_why_no_change=False))}")


def change_notice(report: dict) -> None:
    """Why this view has no 环比 (the data covers the previous period only in part), said once."""
    if report.get("change_reason"):
        st.info(markdown_text(report["change_reason"]), icon=":material/info:")


def agent_card(container, row: dict) -> None:
    """An agent's metric (``diagnosis.agent_vs_shop``): the card, compared with the shop's figure and
    whether the gap is beyond the agent's interval."""
    metric_card(container, row, compared=row["对比全店说明"] or f"全店 {row['全店']}")


def chart(fig, filename: str, report: HtmlReport | None = None, key: str | None = None) -> None:
    st.plotly_chart(fig, config=png_config(safe_filename(filename)), key=key)
    if report is not None:
        report.figure(fig)


_ROW_PX = 35  # st.dataframe's row (and header) height


def table(frame: pd.DataFrame, name: str, key: str, report: HtmlReport | None = None,
          column_config: dict | None = None, height="auto", export: pd.DataFrame | None = None,
          **kwargs):
    """A table with CSV and XLSX downloads of ``export`` (default: the table as shown; the HTML report shows
    the table as the page does)."""
    # A missing value reads "—", never "None" (the page says why a figure is unavailable).
    shown, shown_config = as_shown(frame, column_config)
    if isinstance(height, int):  # a fixed height never leaves blank rows under a short table
        height = min(height, _ROW_PX * (len(frame) + 1) + 3)
    event = st.dataframe(shown, hide_index=True, column_config=shown_config, height=height, key=key,
                         placeholder="—", **kwargs)
    out = frame if export is None else export
    stem = safe_filename(name)
    who = auth.run_viewer().name
    # each column's number format as the page shows it: for the report and the spreadsheet
    formats = {col: (cfg.get("type_config") or {}).get("format") for col, cfg in (column_config or {}).items()
               if isinstance(cfg, dict)}
    formats = {c: f for c, f in formats.items() if f}
    about = export_about()

    def exported(build, suffix):
        def run():
            auth.record(who, "export", f"{stem}.{suffix}", f"{len(out)} 行")
            return build(out)
        return run
    row = st.container(horizontal=True)
    row.download_button("下载 CSV", data=exported(table_csv, "csv"), file_name=f"{stem}.csv", mime="text/csv",
                       key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    row.download_button("下载 Excel", data=exported(lambda f: table_xlsx(f, formats=formats, about=about), "xlsx"),
                        file_name=f"{stem}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}_xlsx", on_click="ignore", icon=":material/download:")
    if report is not None:
        report.table(frame, formats)
    return event


def report_download(report: HtmlReport, filename: str, container=None) -> None:
    """The whole page as one self-contained HTML file (built only when clicked)."""
    box = container or st.sidebar
    who, name = auth.run_viewer().name, f"{safe_filename(filename)}.html"

    def render():
        auth.record(who, "export", name, "HTML 报告")
        return report.render()
    box.download_button("导出本页 HTML 报告", data=render, file_name=name,
                        mime="text/html", key="export_html", on_click="ignore", icon=":material/description:",
                        type="primary", width="stretch")


def weekly_downloads(view, container=None) -> None:
    """周报 of the view's shop and period, as HTML and as PDF (each built only when clicked). Not for a 客服:
    the 周报 is the whole shop's, and their pages are their own."""
    box = container or st.sidebar
    viewer = auth.run_viewer()  # taken now: the report is built when clicked, outside any page run
    if viewer.role == "agent":
        return
    stem = safe_filename("周报", view.shop_id, f"{view.period.start}~{view.period.end}")

    def build(kind):
        def run():
            auth.record(viewer.name, "export", f"{stem}.{kind}", "周报")
            if kind == "pdf":  # one print at a time in the process, kept for the data version
                return data.weekly_pdf(view.path, view.version, view.shop_id, view.period, viewer=viewer)
            return data.weekly(view.path, view.version, view.shop_id, view.period, viewer=viewer).encode("utf-8")
        return run
    row = box.container(horizontal=True)
    row.download_button("周报 HTML", data=build("html"), file_name=f"{stem}.html", mime="text/html",
                        key="weekly_html", on_click="ignore", icon=":material/summarize:")
    row.download_button("周报 PDF", data=build("pdf"), file_name=f"{stem}.pdf", mime="application/pdf",
                        key="weekly_pdf", on_click="ignore", icon=":material/picture_as_pdf:")
    box.caption("周报：核心指标（区间、样本量、环比是否显著）、趋势、评价标签、最差场景与例子、客服。")


def peer_definition(what: str = "") -> str:
    """What 同行 means on this page, for this viewer: one wording on every page (``what``: what the
    shops must have, e.g. 该场景)."""
    from insight.metrics.engine import MIN_PEERS, PEER_PERCENTILES

    (up_avg, up_exc), (down_avg, down_exc) = PEER_PERCENTILES["up"], PEER_PERCENTILES["down"]
    scoped = "，不含您权限内的店铺" if auth.run_viewer().shops is not None else ""
    return (f"同行 = 同平台同类目同层级店铺{scoped}：越高越好的指标平均 P{up_avg}、优秀 P{up_exc}，越低越好的 "
            f"P{down_avg}/P{down_exc}；少于 {MIN_PEERS} 家{'有' + what if what else '有数据'}时不设基准")


def release_uploads(uploads) -> None:
    """Drop uploaded files from Streamlit's memory once their bytes are saved and imported: Streamlit keeps
    every upload of a browser session until the session ends, even after its uploader is gone (four 109 MB
    uploads held 436 MB for as long as the tab stayed open)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    remove = getattr(getattr(ctx, "uploaded_file_mgr", None), "remove_file", None)
    if ctx is None or remove is None:  # (an upload manager that keeps nothing in memory)
        return
    for up in uploads:
        remove(session_id=ctx.session_id, file_id=up.file_id)


def guarded_store(load):
    """``load()`` (anything that opens the store); a store held by an import shows 正在导入… with a
    retry button, a store that cannot be opened says why — never a traceback."""
    from insight.core.errors import StoreBusy, StoreError

    try:
        return load()
    except StoreBusy:
        st.warning("正在导入…… 数据库正被另一个程序（如命令行导入）使用，完成后即可查看。", icon=":material/hourglass_top:")
        if st.button("重试", key="store_retry", icon=":material/refresh:"):
            st.rerun()
    except StoreError as exc:
        st.error(f"无法打开数据库：{markdown_text(exc)}", icon=":material/error:")
    st.stop()


def empty_state(message: str, hint: str | None = None) -> None:
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/info:")


def no_data_page() -> None:
    """What a page shows when the store has no chats to analyse: where to get them, and what it does hold
    (platform reports or reception lists alone feed no figure of these pages)."""
    held = data.held_without_chats()
    if held:
        st.info(f"已导入{'、'.join(held)}，但还没有聊天记录（messages）：本页的指标都需要逐条聊天消息，导入聊天记录后才能计算"
                "（不会显示为 0）。请到 **数据管理** 导入店铺的聊天记录（支持千牛、生意参谋、拼多多等原样文件）。",
                icon=":material/upload_file:")
    else:
        st.info("还没有可分析的数据。请到 **数据管理** 上传店铺导出的文件，或一键载入演示数据。", icon=":material/upload_file:")
    st.page_link("pages/data.py", label="前往数据管理", icon=":material/database:")
    st.stop()


_ROLE = {"buyer": ("买家", ":material/person:"), "agent": ("客服", ":material/support_agent:"),
         "robot": ("机器人", ":material/smart_toy:"), "system": ("系统", ":material/settings:")}


def _marked(text: str, tokens: list[str]) -> str:
    """A trigger sentence: yellow background, its strongest words in bold. Drawn with st.html
    (no Markdown), every piece of the chat HTML-escaped."""
    out = html.escape(text)
    for token in sorted(tokens, key=len, reverse=True):
        if token and token in text:
            out = out.replace(html.escape(token), f"<b>{html.escape(token)}</b>")
    return (f"<span style='background:#fef08a;padding:1px 3px;border-radius:3px;white-space:pre-wrap'>{out}</span>")


def transcript_view(frame: pd.DataFrame, triggers: dict[int, dict] | None = None) -> None:
    """A chat transcript: who, when, what (system notices in grey). ``triggers``: message index →
    a scenario trigger ({"score", "tokens": [{"token", "weight"}]}), drawn highlighted."""
    if frame.empty:
        st.caption("该会话没有消息记录（messages 表中找不到这个会话）。")
        return
    for i, msg in enumerate(frame.itertuples(index=False)):
        label, avatar = _ROLE.get(msg.sender_role, (msg.sender_role, ":material/chat:"))
        who = label if msg.sender_role != "agent" or not isinstance(msg.agent_name, str) else f"客服 {msg.agent_name}"
        with st.chat_message("user" if msg.sender_role == "buyer" else "assistant", avatar=avatar):
            st.caption(f"{markdown_text(who)} · {pd.Timestamp(msg.sent_at):%m-%d %H:%M:%S}")
            text = msg.content if isinstance(msg.content, str) else f"[{msg.content_type}]"
            # Chat text is data: drawn as text, never as Markdown or HTML (no links, no images).
            if triggers and i in triggers:
                tokens = [t["token"] for t in triggers[i]["tokens"]]
                st.html(_marked(text, tokens) + f" <small style='color:#92400e'>触发 {triggers[i]['score']:.2f}</small>")
            elif msg.sender_role == "system":
                st.html(f"<span style='color:#6b7280;white-space:pre-wrap'>{html.escape(text)}</span>")
            else:
                st.text(text)


def trend_section(view, keys, default: str, report: HtmlReport | None, key: str, agent: str | None = None,
                  settings=None) -> None:
    """A metric picker, a 日/周/月 switch, and the trend with the peer lines (shop view only)."""
    reg = registry()
    c1, c2 = st.columns([2, 3])
    metric_key = c1.selectbox("趋势指标", list(keys), index=list(keys).index(default), format_func=lambda k: reg[k].name,
                              key=f"{key}_metric")
    # The trend covers the chosen period (at least a few buckets), by the grains that suit its length.
    grains = trend_grains(view.period)
    if st.session_state.get(f"{key}_grain") not in grains:
        st.session_state[f"{key}_grain"] = grains[0]
    grain = c2.radio("粒度", grains, format_func=GRAIN_LABELS.get,
                     horizontal=True, key=f"{key}_grain")
    f = view.filters
    filters = Filters(f.channel, f.stage, f.hours, agent)
    start = view.period.start
    values, reasons, n = data.trend(view.path, view.version, view.shop_id, grain, view.period.end, filters,
                                    settings or SalesSettings(), start)
    peers = None
    if agent is None:
        peers = data.peer_trend(view.path, view.version, view.shop_id, grain, view.period.end, (metric_key,),
                                view.filters, start)[metric_key]
    metric = reg[metric_key]
    pending = [b for b in values.index if values[metric_key].get(b) != values[metric_key].get(b)
               and "观察期" in str(reasons[metric_key].get(b) or "")]
    series = values[metric_key]
    if series.notna().sum() == 0:
        reason = next((r for r in reasons[metric_key] if r), "所选范围内没有数据")
        empty_state(f"{metric.name}在这段时间里没有可画的数值：{reason}", "可以换一个周期、店铺或放宽筛选。")
        return
    fig = charts.trend_figure(metric, series, grain, peers, n[metric_key], shop_label=agent and "该客服" or "本店",
                              pending=pending)
    chart(fig, f"{metric.name}趋势_{view.shop_id}_{grain}_{view.period.end}", report, key=f"{key}_chart")
    if peers is not None and metric.direction != "none":
        unit = {"day": "天", "week": "周", "month": "月"}[grain]
        missing = int(peers["peer_avg"].isna().sum())
        if missing == len(peers):
            st.caption(f"没有同行线：每{unit}有该指标的同行店铺都不足 {MIN_PEERS} 家。")
        elif missing:
            st.caption(f"同行线断开的 {missing} 个{unit}：当{unit}有该指标的同行店铺不足 {MIN_PEERS} 家（同行基准至少需要 "
                       f"{MIN_PEERS} 家，不足时不画，以免把一两家店当作同行水平）。")


def classification_banner() -> bool:
    """场景识别中…: the background classification's progress, refreshed every 2 s; the page reruns
    when it ends (its figures then include the new scenarios). True while it runs."""
    from insight.ui import data

    if not data.classification_progress()["running"]:
        return False

    @st.fragment(run_every=2)
    def _progress() -> None:
        p = data.classification_progress()
        if not p["running"]:
            st.rerun()
        share = p["done"] / p["total"] if p["total"] else 0.0
        counted = f"{p['done']:,} / {p['total']:,} 个会话" if p["total"] else "准备中"
        st.progress(share, text=f"场景识别中… {counted}（导入的数据已可查看；场景指标在识别完成后自动更新）")

    _progress()
    return True
