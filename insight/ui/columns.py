"""Column configs that show registry metrics in their own units inside st.dataframe."""

from __future__ import annotations

import streamlit as st

from insight.metrics.registry import registry

__all__ = ["metric_column_config", "metric_frame"]


# A registry format as st.dataframe writes it.
_NUMBER_FORMAT = {"percent": "percent", "seconds": "%.1f 秒", "yuan": "¥%.2f", "ratio": "%.2f", "count": "%d"}


def metric_column_config(keys) -> dict:
    reg = registry()
    out = {}
    for key in keys:
        m = reg[key]
        out[m.name] = st.column_config.NumberColumn(f"{m.name}{m.arrow}", format=_NUMBER_FORMAT[m.format],
                                                    help=m.description)
    return out


def metric_frame(frame, keys):
    """Rename metric columns to their 中文名 (the exported header as well)."""
    reg = registry()
    return frame.rename(columns={k: reg[k].name for k in keys})


_KIND_FORMAT = {"rate": "percent", "seconds": "%.1f 秒", "amount": "¥%.2f", "count": "%d", "number": "%.2f"}


def platform_column_config(kinds: dict) -> dict:
    """Formats for platform report figures by kind (rates as percentages, seconds, yuan)."""
    return {c: st.column_config.NumberColumn(c, format=_KIND_FORMAT.get(k, "%.2f")) for c, k in kinds.items()}


def beside_column_config(keys) -> dict:
    """Our metric and its 平台口径 column, formatted alike."""
    out = metric_column_config(keys)
    for key in keys:
        m = registry()[key]
        out[f"{m.name}（平台口径）"] = st.column_config.NumberColumn(
            f"{m.name}（平台口径）", format=_NUMBER_FORMAT[m.format], help="平台客服报表导出的值")
    return out
