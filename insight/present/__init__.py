"""Presentation without streamlit: charts as figures, exports (CSV, XLSX, HTML), formats, the metric reference (docs/metrics.md)."""
