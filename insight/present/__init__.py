"""Presentation without streamlit: charts as figures, exports (CSV, XLSX, HTML), formats, README docs."""
