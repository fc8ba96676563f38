"""Display formats for metric values (percent, seconds, yuan, counts, ratios)."""

from __future__ import annotations

import html
import re

__all__ = ["format_value", "format_change", "format_seconds", "markdown_text", "plot_text", "format_cell"]

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; escaping them all turns
# links, images, emphasis, HTML, directives (:red[…]) and LaTeX ($…$) into literal characters.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINK = re.compile(r"(?i)(?::/|www\.|@)")


def markdown_text(value, limit: int | None = None) -> str:
    """Text from data (names, file names, chat, tags) for a place that renders Markdown: shown
    literally, on one line, optionally cut to ``limit`` characters."""
    text = " ".join(str(value).split()) if value is not None else "—"
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    # GFM turns bare URLs, www. names and e-mail addresses into links after escapes are read:
    # an invisible word joiner breaks each pattern without changing what the user reads.
    text = _AUTOLINK.sub(lambda m: m.group(0) + "\u2060" if m.group(0) == "@"
                         else m.group(0)[:-1] + "\u2060" + m.group(0)[-1], text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def plot_text(value) -> str:
    """Text from data for a plotly label: plotly reads a few HTML tags (<a href>, <b>, <br>) in
    labels, so the text goes in as entities and is drawn as written."""
    return html.escape(str(value), quote=False) if value is not None else "—"


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}秒"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}分{sec:02d}秒"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}小时{minutes:02d}分"
    return f"{hours / 24:.1f}天"


def format_value(metric, value) -> str:
    if value is None:
        return "—"
    fmt = metric.format
    if fmt == "percent":
        return f"{value * 100:.2f}%"
    if fmt == "seconds":
        return format_seconds(value)
    if fmt == "yuan":
        return f"¥{value:,.2f}"
    if fmt == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"


_OLD_GRANT = re.compile(r"\brole=(admin|supervisor|agent)\b")
_SCENARIO_CODE = re.compile(r"(?<![\w.])([a-z_]+\.[a-z_]+\.[a-z_]+)(?![\w.])")


def readable_detail(text) -> str:
    """An audit log's detail as a person reads it: a role by its name (role=agent → 角色=客服, in rows written
    before details were worded), a scenario code with its three levels beside it."""
    if not isinstance(text, str) or not text:
        return "" if text is None or text != text else str(text)
    from insight.core.access import ROLE_LABELS
    from insight.scenarios.model import taxonomy

    codes = set(taxonomy().codes)
    text = _OLD_GRANT.sub(lambda m: f"角色={ROLE_LABELS[m.group(1)]}", text)
    if "（" in text:  # worded already: 物流 / 发货 / 催发货（logistics.shipping.urge）
        return text
    return _SCENARIO_CODE.sub(lambda m: f"{' / '.join(taxonomy().levels(m.group(1)))}（{m.group(1)}）"
                              if m.group(1) in codes else m.group(1), text)


VERDICTS = {True: "显著", False: "波动内"}


def verdict_text(real) -> str:
    """A change's verdict as the cards word it: 显著 (beyond chance), 波动内 (within it), — (nothing to test)."""
    return "—" if real is None or real != real else VERDICTS[bool(real)]


def format_change(metric, delta) -> str:
    """环比 as shown: percentage points for rates, relative change otherwise."""
    if delta is None:
        return "—"
    if metric.is_rate:
        return f"{delta * 100:+.2f}个百分点"
    return f"{delta * 100:+.1f}%"


def format_cell(value, fmt: str | None = None) -> str:
    """A table cell as the page shows it: ``fmt`` is a number format of the page's column ("percent",
    "percent_change" for a relative change, or printf-style such as "%d", "¥%.2f", "%.1f 秒", "%+.2f 个百分点"); missing is —; without a format
    a whole number is an integer (n = 50, not 50.0) and other floats keep 2 decimals."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:  # numpy scalars
            value = value.item()
        except AttributeError:
            return str(value)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return str(value)
    if fmt == "percent":
        return f"{value * 100:.2f}%"
    if fmt == "percent_change":  # a relative change (环比) as a fraction
        return f"{value * 100:+.2f}%"
    if fmt:
        try:
            return fmt % (round(value) if re.search(r"%[+ ]?[,]?d", fmt) else value)
        except (TypeError, ValueError):
            pass
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"
