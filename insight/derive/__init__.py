"""Derivation as SQL inside the engine: sessions, waits, rounds, FCR, inquiries, attribution, and the
additive parts every metric reads."""

from ._as_known import LOOKBACK_DAYS, derive_as_known
from ._derive import (
    COUNTED_TABLES,
    GAP_SESSION_PREFIX,
    MEASURE_DECIMAL,
    apply_settings,
    defer,
    gap_sessions_sql,
    move_to_cut_sessions,
    refresh,
    refresh_pending,
    refresh_sales,
    settle_pending,
    take_pending,
    whole_steps,
)
from ._engines import (
    BASE_TABLES,
    build_with_duckdb,
    build_with_spark,
    parts_difference,
    read_output,
    spark_session,
    spark_sql,
)

__all__ = ["COUNTED_TABLES", "MEASURE_DECIMAL", "BASE_TABLES", "build_with_duckdb", "build_with_spark", "spark_session", "spark_sql", "parts_difference", "read_output", "derive_as_known", "whole_steps", "LOOKBACK_DAYS", "refresh", "refresh_sales", "defer", "take_pending", "refresh_pending", "settle_pending", "apply_settings", "gap_sessions_sql", "move_to_cut_sessions",
           "GAP_SESSION_PREFIX"]
