"""Derivation as SQL inside the engine: sessions, waits, rounds, FCR, inquiries, attribution, and the
additive parts every metric reads."""

from ._as_known import LOOKBACK_DAYS, derive_as_known
from ._derive import (
    GAP_SESSION_PREFIX,
    apply_settings,
    defer,
    gap_sessions_sql,
    move_to_cut_sessions,
    refresh,
    refresh_pending,
    refresh_sales,
    take_pending,
)

__all__ = ["derive_as_known", "LOOKBACK_DAYS", "refresh", "refresh_sales", "defer", "take_pending", "refresh_pending", "apply_settings", "gap_sessions_sql", "move_to_cut_sessions",
           "GAP_SESSION_PREFIX"]
