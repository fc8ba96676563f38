"""Column configs that show registry metrics in their own units inside st.dataframe."""

from __future__ import annotations

import streamlit as st

from insight.metrics.registry import registry

__all__ = ["metric_column_config", "metric_frame"]


def metric_column_config(keys) -> dict:
    reg = registry()
    out = {}
    for key in keys:
        m = reg[key]
        label = f"{m.name}{m.arrow}"
        fmt = {"percent": "percent", "seconds": "%.1f 秒", "yuan": "¥%.2f", "ratio": "%.2f", "count": "%d"}[m.format]
        out[m.name] = st.column_config.NumberColumn(label, format=fmt, help=m.description)
    return out


def metric_frame(frame, keys):
    """Rename metric columns to their 中文名 (the exported header as well)."""
    reg = registry()
    return frame.rename(columns={k: reg[k].name for k in keys})
