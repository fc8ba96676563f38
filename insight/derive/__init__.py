"""Derivation as SQL inside the engine: sessions, waits, rounds, FCR, inquiries, attribution, and the
additive parts every metric reads."""

from ._derive import GAP_SESSION_PREFIX, apply_settings, gap_sessions_sql, move_to_cut_sessions, refresh, refresh_sales

__all__ = ["refresh", "refresh_sales", "apply_settings", "gap_sessions_sql", "move_to_cut_sessions",
           "GAP_SESSION_PREFIX"]
