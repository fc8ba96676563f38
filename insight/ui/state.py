"""The sidebar filters every analysis page shares. Each value lives in the session (it survives
a page switch) and in the URL query string with its code (``?shop=S003&period=last7&channel=manual``),
so a copied link reproduces the view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from insight.core.filters import CHANNELS, HOURS, STAGES, Filters
from insight.core.periods import PRESETS, Period, complete_anchor, preset
from insight.core.schema import PLATFORM_LABELS
from insight.core.settings import ATTRIBUTION_RULES, SalesSettings, work_hours_label
from insight.present.formatting import markdown_text
from insight.ui import data

__all__ = ["View", "synced", "refuse_unseen", "shop_labels", "page_view", "sidebar_view", "stage_switch", "sales_settings", "ATTRIBUTION_LABELS",
           "URL_KEYS"]

ATTRIBUTION_LABELS = {"order": "下单判定", "payment": "付款判定", "order_first": "下单优先判定"}


@dataclass(frozen=True)
class View:
    path: str
    version: str
    shop_id: str
    shop_label: str
    period: Period
    preset: str
    filters: Filters
    data_start: dt.date
    data_end: dt.date

    @property
    def filter_label(self) -> str:
        f = self.filters
        return f"{CHANNELS[f.channel]}·{STAGES[f.stage]}·{HOURS[f.hours]}"

    @property
    def file_stem(self) -> str:
        return f"{self.shop_id}_{self.period.start}~{self.period.end}"


def _shop_label(row) -> str:
    """Name, id and peers group: typing either the name or the id (S040) finds the shop."""
    shop_id = row["shop_id"]
    name = row["shop_name"] if isinstance(row["shop_name"], str) and row["shop_name"] else shop_id
    platform = PLATFORM_LABELS.get(row["platform"], row["platform"])
    named = f"{name} · {shop_id}" if name != shop_id else shop_id
    return f"{named}（{platform}·{row['category']}·第{row['tier']}层）"


# Every key a shared link may carry; anything else in a link is named and ignored.
URL_KEYS = {"shop": "店铺", "period": "周期", "date": "日期", "range": "日期范围", "channel": "接待方式",
            "stage": "售前/售后", "hours": "时段", "attr": "销售额归属判定", "valid": "询单有效时长",
            "followup": "客服主动跟进", "agent": "客服"}


def _notice(text: str) -> None:
    """A link parameter that could not be used: said on the page, where the user reads."""
    st.warning(markdown_text(text), icon=":material/link_off:")


def _acceptable(value, options, valid) -> bool:
    try:
        return (options is None or value in options) and (valid is None or bool(valid(value)))
    except (TypeError, ValueError, LookupError):
        return False


def synced(widget, key: str, options: list | None, default, parse=str, to_text=str, valid=None,
           shown=None, **kwargs):
    """A widget whose value lives in the session (so it survives a page switch, where Streamlit
    drops page-local widget state) and in the URL query string (so a link reproduces it).

    A link's value that cannot be parsed, is not among ``options`` or fails ``valid`` (a date
    outside the data, a reversed range, a number out of bounds) falls back to ``default`` with a
    visible notice; a session value that became invalid (another shop's range) falls back quietly.
    """
    values = st.session_state.setdefault("_filters", {})
    if key not in values:  # first run of this browser session: the link decides
        raw = st.query_params.get(key)
        value = default
        if raw is not None:
            try:
                value = parse(raw)
            except (ValueError, TypeError, LookupError):
                value = None
            if value is None or not _acceptable(value, options, valid):
                label = URL_KEYS.get(key, key)
                _notice(f"链接中的{label}“{raw[:40]}”无效或超出范围，已改用 {(shown or to_text)(default)}")
                value = default
        values[key] = value
    if not _acceptable(values[key], options, valid):  # e.g. another shop's agent or date range
        values[key] = default
    # The widget starts from the session's value: Streamlit gives a widget on another page a
    # fresh state, so the value is passed in rather than kept in widget state.
    if options is not None:
        value = widget(options=options, index=options.index(values[key]), key=key, **kwargs)
    else:
        value = widget(value=values[key], key=key, **kwargs)
    values[key] = value
    text = to_text(value)
    if st.query_params.get(key) != text:
        st.query_params[key] = text
    return value


def refuse_unseen(key: str, options, what: str) -> None:
    """A link naming a shop or agent outside a scoped viewer's reach shows 无权查看 and nothing of it
    (whether it exists is not said either); an admin's unknown value falls back with a notice."""
    from insight.ui import auth

    raw = st.query_params.get(key)
    if raw is None or raw in options or st.session_state.get("_filters", {}).get(key) is not None:
        return
    if not auth.run_viewer().is_admin:
        st.query_params.clear()
        auth.refuse(f"{what} {markdown_text(raw, limit=40)} 不在您的权限范围内。[返回首页](/)")


def shop_labels() -> dict[str, str]:
    """The viewer's shops, {id: name}, for a page that picks one itself (the live pages): without any the
    page shows what to do and stops; a link naming another shop shows 无权查看."""
    from insight.ui import widgets

    rd = widgets.guarded_store(data.reader)
    shops = data.shops(data.store_path(), rd.version) if rd else None
    if shops is None or shops.empty:
        widgets.no_data_page()
    labels = dict(zip(shops["shop_id"], shops["shop_name"].fillna(shops["shop_id"])))
    refuse_unseen("shop", labels, "店铺")
    return labels


def _date_text(value) -> str:
    if isinstance(value, (tuple, list)):
        return "~".join(str(v) for v in value)
    return str(value)


def _parse_range(text: str):
    a, b = text.split("~")
    return (dt.date.fromisoformat(a), dt.date.fromisoformat(b))


def sidebar_view(stage_in_sidebar: bool = True) -> View | None:
    """Render the shared filters; None when there is no data to filter."""
    rd = data.reader()
    if rd is None:
        return None
    shops = data.shops(data.store_path(), rd.version)
    shops = shops[shops["data_end"].notna()]
    if shops.empty:
        return None
    labels = {r["shop_id"]: _shop_label(r) for _, r in shops.iterrows()}
    refuse_unseen("shop", labels, "店铺")
    if "_filters" not in st.session_state:  # the first run of a browser session reads the link
        unknown = [k for k in st.query_params if k not in URL_KEYS]
        if unknown:
            _notice("已忽略链接中无法识别的参数：" + "、".join(k[:30] for k in unknown[:5]))
    side = st.sidebar
    side.markdown("### 筛选")
    shop_id = synced(side.selectbox, "shop", list(labels), next(iter(labels)), label="店铺", format_func=labels.get,
                     shown=labels.get)
    row = shops.set_index("shop_id").loc[shop_id]
    first, last = row["data_start"], row["data_end"]
    kind = synced(side.selectbox, "period", list(PRESETS), "last30", label="周期", format_func=PRESETS.get)
    if kind == "custom":
        default = (max(first, last - dt.timedelta(days=29)), last)
        picked = synced(side.date_input, "range", None, default, parse=_parse_range, to_text=_date_text,
                        valid=lambda r: all(first <= d <= last for d in r) and r[0] <= r[-1],
                        label="日期范围", min_value=first, max_value=last)
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            period = Period(max(picked[0], first), min(picked[1], last))
        else:  # the first click of a range: wait for the second
            start = picked[0] if isinstance(picked, (tuple, list)) and picked else last
            period = Period(start, start)
    else:
        label = {"day": "日期", "week": "所在周的任一天", "month": "所在月的任一天"}.get(kind, "截止日期")
        # Until the user picks a day, the day follows the period kind: 自然周/自然月 open on the last complete one.
        default = complete_anchor(kind, first, last)
        values = st.session_state.setdefault("_filters", {})
        first_run, linked = "date" not in values, st.query_params.get("date")
        if values.get("_date_auto") and values.get("date") != default:
            values["date"] = default
            st.session_state.pop("date", None)  # the widget starts again from it (its own state would win)
        anchor = synced(side.date_input, "date", None, default, parse=dt.date.fromisoformat, label=label,
                        valid=lambda d: first <= d <= last, min_value=first, max_value=last)
        anchor = min(max(anchor, first), last)
        values["_date_auto"] = anchor == default and (linked in (None, str(default)) if first_run
                                                      else values.get("_date_auto", False))
        period = preset(kind, anchor)
        if values["_date_auto"] and default != last:
            side.caption(f"默认为最近一个完整的{PRESETS[kind]}：数据截至 {last}，所在的{PRESETS[kind]}还不完整")
    side.caption(f"本期 {period.label}（{period.days} 天）· 上期 {period.previous().label}")
    channel = synced(side.radio, "channel", list(CHANNELS), "all", label="接待方式", format_func=CHANNELS.get,
                      horizontal=True)
    stage = st.session_state.get("_filters", {}).get("stage", "all")
    if stage_in_sidebar:
        stage = synced(side.radio, "stage", list(STAGES), "all", label="售前/售后", format_func=STAGES.get,
                        horizontal=True)
    hours = synced(side.radio, "hours", list(HOURS), "all", label="时段", format_func=HOURS.get, horizontal=True,
                    help=f"工作时间 = {work_hours_label()}（店铺当地时间）")
    side.caption(f"数据覆盖 {first} ~ {last} · 筛选保存在地址栏，复制链接即可分享当前视图")
    return View(data.store_path(), rd.version, shop_id, labels[shop_id], period, kind,
                Filters(channel, stage, hours), first, last)


def page_view(title: str, stage_in_sidebar: bool = True) -> View:
    """Every analysis page's start: navigation guard, title, the shared filters; without data the
    page shows where to get some and stops."""
    from insight.ui import widgets
    from insight.ui.boot import require_navigation

    require_navigation()
    st.title(title)
    view = widgets.guarded_store(lambda: sidebar_view(stage_in_sidebar))
    if view is None:
        widgets.no_data_page()
    _describe_exports(view)
    widgets.weekly_downloads(view)
    return view


def _describe_exports(view: View) -> None:
    """What this run's exports are about (their header block): shop, period, filters."""
    from insight.ui import widgets

    widgets.set_export_about([("店铺", view.shop_label), ("周期", view.period.label), ("筛选", view.filter_label)])


def stage_switch(view: View) -> View:
    """全部/售前/售后 as a switch on the page itself (服务能力诊断 shows it above the indicators)."""
    stage = synced(st.radio, "stage", list(STAGES), "all", label="售前/售后", format_func=STAGES.get,
                    horizontal=True, label_visibility="collapsed")
    f = view.filters
    switched = View(view.path, view.version, view.shop_id, view.shop_label, view.period, view.preset,
                    Filters(f.channel, stage, f.hours), view.data_start, view.data_end)
    _describe_exports(switched)
    return switched


def sales_settings(container=None) -> SalesSettings:
    """客服绩效 settings (attribution rule, valid days, follow-up rule), applied live."""
    box = container or st.sidebar
    box.markdown("### 绩效口径")
    attribution = synced(box.selectbox, "attr", list(ATTRIBUTION_RULES), "order_first", label="销售额归属判定",
                          format_func=ATTRIBUTION_LABELS.get,
                          help="已付款订单算作哪位客服的销售额（客服销售额、静默销售额、客服付款人数）："
                               "下单判定 = 下单前最后一位发过消息的客服；付款判定 = 付款前最后一位；"
                               "下单优先 = 先按下单找，找不到再按付款。询单→下单、询单→付款等转化率本身不受它影响"
                               "（它们看的是买家是否下单/付款，与归属无关）。")
    valid = synced(box.number_input, "valid", None, 2, parse=int, valid=lambda v: 1 <= v <= 30,
                   label="询单有效时长（天）", min_value=1,
                    max_value=30, step=1, help="询单后多少天内的下单/付款算作转化（METRICS.md 默认 2 天）")
    followup = synced(box.toggle, "followup", None, True, parse=lambda t: {"1": True, "0": False}[t],
                       to_text=lambda v: "1" if v else "0", label="客服主动跟进不计为询单流失")
    return SalesSettings(attribution, int(valid), bool(followup))
