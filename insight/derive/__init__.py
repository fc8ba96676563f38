"""Derivation as SQL inside the engine: sessions, waits, rounds, FCR, inquiries, attribution, and the
additive parts every metric reads."""

from ._derive import apply_settings, refresh, refresh_sales

__all__ = ["refresh", "refresh_sales", "apply_settings"]
