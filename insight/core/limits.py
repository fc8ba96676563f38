"""Resource bounds for imports: DuckDB's memory limit and spill folder, and the largest file,
row count and expanded size a single input may have. Defaults follow the machine's memory;
each can be overridden by an environment variable (named in the error that enforces it)."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from insight.core.errors import ImportFailed, UsageError

__all__ = ["Limits", "machine_memory_bytes", "parse_size", "EARLIEST_ALLOWED"]

_MiB = 1 << 20
_GiB = 1 << 30
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
          "kib": 1 << 10, "mib": _MiB, "gib": _GiB, "tib": 1 << 40}


def machine_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        return 4 * _GiB


def parse_size(text: str, what: str) -> int:
    """'1.5GB' → bytes. Only this shape is accepted, so the value can be handed to DuckDB safely."""
    match = _SIZE.match(str(text))
    if not match:
        raise UsageError(f"{what} 应为带单位的大小，如 1GB、800MB，而不是 {str(text)[:40]!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


# No setting may move the time window before this: every date after it is one Python, pandas and the
# pages can hold (a year-10000 timestamp, which DuckDB stores, took every page down).
EARLIEST_ALLOWED = dt.date(1970, 1, 1)


def _env_date(name: str, default: dt.date) -> dt.date:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise UsageError(f"环境变量 {name} 应为 YYYY-MM-DD 格式的日期，而不是 {raw[:40]!r}") from None
    if value < EARLIEST_ALLOWED:
        raise UsageError(f"环境变量 {name} 不能早于 {EARLIEST_ALLOWED}")
    return value


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"环境变量 {name} 应为正整数，而不是 {raw[:40]!r}") from None
    if value <= 0:
        raise UsageError(f"环境变量 {name} 应为正整数")
    return value


@dataclass(frozen=True)
class Limits:
    """Bounds applied to every import (CLI and app)."""

    memory_limit_bytes: int  # DuckDB buffer memory; beyond it DuckDB spills to the store's temp folder
    max_file_bytes: int  # a CSV larger than this is refused before it is read
    max_rows: int  # rows per file
    max_expanded_bytes: int  # Parquet uncompressed size / XLSX unzipped size
    max_upload_mb: int  # the app's upload limit (Streamlit keeps uploads in memory)
    earliest: dt.date = dt.date(2000, 1, 1)  # no imported time before this day
    future_days: int = 1  # nor later than now (UTC) plus this many days (a shop's clock runs up to 14 h ahead)

    @classmethod
    def from_env(cls) -> "Limits":
        ram = machine_memory_bytes()
        # An eighth of the machine, at most 1 GiB: with Python, the scenario model and the
        # app around it, an import stays under 2 GB on this 24 GiB machine.
        memory = min(_GiB, max(256 * _MiB, ram // 8))
        raw = os.environ.get("INSIGHT_MEMORY_LIMIT")
        if raw:
            memory = parse_size(raw, "INSIGHT_MEMORY_LIMIT")
        return cls(
            memory_limit_bytes=memory,
            max_file_bytes=_env_int("INSIGHT_MAX_FILE_MB", 4096) * _MiB,
            max_rows=_env_int("INSIGHT_MAX_ROWS", 30_000_000),
            max_expanded_bytes=_env_int("INSIGHT_MAX_EXPANDED_MB", 8192) * _MiB,
            # Streamlit holds an upload in memory (and writes sizes of 500 MB and more as "1GB").
            max_upload_mb=_env_int("INSIGHT_MAX_UPLOAD_MB", max(100, min(480, ram // (64 * _MiB)))),
            earliest=_env_date("INSIGHT_EARLIEST_DATE", dt.date(2000, 1, 1)),
            future_days=min(_env_int("INSIGHT_FUTURE_DAYS", 1), 366),
        )

    def time_window(self, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
        """The times an import accepts: from ``earliest`` to now (UTC) plus ``future_days``, whole days."""
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        last = (now + dt.timedelta(days=self.future_days)).date()
        return (dt.datetime.combine(self.earliest, dt.time()),
                dt.datetime.combine(last, dt.time(23, 59, 59, 999999)))

    def window_text(self, now: dt.datetime | None = None, hint: bool = True) -> str:
        lo, hi = self.time_window(now)
        return (f"{lo:%Y-%m-%d} 至 {hi:%Y-%m-%d}"
                + ("（可用环境变量 INSIGHT_EARLIEST_DATE、INSIGHT_FUTURE_DAYS 调整）" if hint else ""))

    def check_file_size(self, shown: str, size: int) -> None:
        """A file over the single-file bound is refused, saying which and how to raise it."""
        if size > self.max_file_bytes:
            raise ImportFailed(f"{shown}: 文件 {size / _MiB:,.0f} MB，超过单个文件上限 "
                               f"{self.max_file_bytes / _MiB:,.0f} MB（可用环境变量 INSIGHT_MAX_FILE_MB 调整）")

    def check_expanded(self, shown: str, expanded: int, estimate: bool = False) -> None:
        """A file that expands (a workbook's zip, Parquet's row groups) past the bound is refused."""
        if expanded > self.max_expanded_bytes:
            raise ImportFailed(f"{shown}: 解压后{'约' if estimate else ''} {expanded / _MiB:,.0f} MB，超过上限 "
                               f"{self.max_expanded_bytes / _MiB:,.0f} MB（可用环境变量 INSIGHT_MAX_EXPANDED_MB 调整）")

    @property
    def memory_limit(self) -> str:
        """DuckDB's spelling (a number we produced, never text from outside)."""
        return f"{self.memory_limit_bytes // _MiB}MiB"
