"""Streamlit-facing helpers (caching, widgets, state). The only place that imports streamlit."""
