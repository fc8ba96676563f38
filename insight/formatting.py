"""Display formats for metric values (percent, seconds, yuan, counts, ratios)."""

from __future__ import annotations

__all__ = ["format_value", "format_change", "format_seconds"]


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


def format_change(metric, delta) -> str:
    """环比 as shown: percentage points for rates, relative change otherwise."""
    if delta is None:
        return "—"
    if metric.is_rate:
        return f"{delta * 100:+.2f}个百分点"
    return f"{delta * 100:+.1f}%"
