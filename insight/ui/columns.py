"""Column configs that show registry metrics in their own units inside st.dataframe."""

from __future__ import annotations

import streamlit as st

from insight.metrics.registry import registry

__all__ = ["metric_column_config", "metric_frame", "as_shown"]


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


def as_shown(frame, column_config: dict | None):
    """The frame and column config as st.dataframe shows them, written as the cards write numbers:
    percentages ×100 with two decimals — st.dataframe's own "percent" drops trailing zeros (80%, 20.7%,
    26.21% in one column) — and a relative change ("percent_change", a 环比) with its sign; counts with thousands separators
    (1,189,225), whether configured "%d" or plain integer columns. Exports keep the raw values and
    the configured formats."""
    import pandas as pd

    config, shown = dict(column_config or {}), None
    for col in frame.columns:
        cfg = config.get(col)
        type_config = cfg.get("type_config") if isinstance(cfg, dict) else None
        fmt = (type_config or {}).get("format")
        if fmt in ("percent", "percent_change"):
            shown = frame.copy() if shown is None else shown
            shown[col] = shown[col] * 100
            config[col] = {**cfg, "type_config": {**type_config, "format": "%.2f%%" if fmt == "percent" else "%+.2f%%"}}
        elif fmt == "%d":
            config[col] = {**cfg, "type_config": {**type_config, "format": "localized"}}
        elif cfg is None and pd.api.types.is_integer_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            config[col] = st.column_config.NumberColumn(format="localized")
    return (frame if shown is None else shown), (config or column_config)
