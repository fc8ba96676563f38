"""Periods (日/自然周/自然月/近7天/近30天/自定义), the previous period, trend buckets, 环比."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from insight.core.errors import UsageError

__all__ = ["Period", "FIRST_DAY", "LAST_DAY", "PRESETS", "preset", "complete_anchor", "parse_date", "change", "trend_window", "trend_grains", "coverage_reason", "TREND_GRAINS", "GRAIN_LABELS",
           "MIN_TREND_BUCKETS"]

PRESETS = {"day": "日", "week": "自然周", "month": "自然月", "last7": "近7天", "last30": "近30天",
           "custom": "自定义"}
# grain -> (label, number of buckets, SQL bucket expression over a DATE column ``day``)
TREND_GRAINS = {
    "day": ("按日（近30天）", 30, "day"),
    "week": ("按周（近12周）", 12, "CAST(date_trunc('week', day) AS DATE)"),
    "month": ("按月（近12个月）", 12, "CAST(date_trunc('month', day) AS DATE)"),
}


# Dates a caller may ask for (CLI, API): wide enough for any data (imports take 2000 on), narrow enough
# that the previous period, a trend window and every date computed from them stay representable
# (0001-01-01 made Period.previous overflow). A Period itself refuses only what Python cannot hold.
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2199, 12, 31)
_REPRESENTABLE = (dt.date(1000, 1, 1), dt.date(8999, 12, 31))


def parse_date(text: str | dt.date, what: str = "日期") -> dt.date:
    if isinstance(text, dt.date):
        day = text
    else:
        try:
            day = dt.date.fromisoformat(str(text).strip())
        except ValueError:
            raise UsageError(f"{what} {str(text)[:40]!r} 不是 YYYY-MM-DD 格式的日期") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(f"{what} {day} 超出可分析的范围（{FIRST_DAY} 至 {LAST_DAY}）")
    return day


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    def __post_init__(self):
        for day in (self.start, self.end):
            if not _REPRESENTABLE[0] <= day <= _REPRESENTABLE[1]:
                raise UsageError(f"日期 {day} 超出可分析的范围（{FIRST_DAY} 至 {LAST_DAY}）")
        if self.end < self.start:
            raise UsageError(f"结束日期 {self.end} 早于开始日期 {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """上期: the period of equal length right before (METRICS.md)."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    @property
    def label(self) -> str:
        return str(self.start) if self.days == 1 else f"{self.start} ~ {self.end}"


def preset(kind: str, anchor: dt.date, start: dt.date | None = None, end: dt.date | None = None) -> Period:
    """The period of preset ``kind`` that contains (or, for 近N天, ends at) ``anchor``."""
    if kind == "day":
        return Period(anchor, anchor)
    if kind == "week":
        monday = anchor - dt.timedelta(days=anchor.weekday())
        return Period(monday, monday + dt.timedelta(days=6))
    if kind == "month":
        first = anchor.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return Period(first, nxt - dt.timedelta(days=1))
    if kind in ("last7", "last30"):
        n = 7 if kind == "last7" else 30
        return Period(anchor - dt.timedelta(days=n - 1), anchor)
    if kind == "custom":
        if start is None or end is None:
            raise UsageError("自定义周期需要开始和结束日期")
        return Period(start, end)
    raise UsageError(f"未知的周期类型 {kind!r}，应为 {'/'.join(PRESETS)}")


def complete_anchor(kind: str, first: dt.date, last: dt.date) -> dt.date:
    """The default day of a preset over data from ``first`` to ``last``: for 自然周/自然月 a day of the last
    *complete* week or month (the one ending on or before ``last``; its 上期 is complete too) — the current
    one has days without data yet and no 环比 to speak of; the last day for the others. When the data holds
    no complete week or month, the last day."""
    if kind == "week":
        end = last - dt.timedelta(days=(last.weekday() + 1) % 7)  # the Sunday on or before ``last``
    elif kind == "month":
        end = last if (last + dt.timedelta(days=1)).day == 1 else last.replace(day=1) - dt.timedelta(days=1)
    else:
        return last
    return end if preset(kind, end).start >= first else last


GRAIN_LABELS = {"day": "按日", "week": "按周", "month": "按月"}

# A trend that follows the chosen period: at least this many buckets, so a short period still shows
# its context; grains offered for a period of so many days (a 7-day period by month is one bar).
MIN_TREND_BUCKETS = {"day": 7, "week": 4, "month": 3}
TREND_GRAIN_DAYS = {"day": (1, 92), "week": (14, 731), "month": (60, 100_000)}


def trend_grains(period: Period) -> list[str]:
    """The grains that suit ``period``, the default first: by day up to a month, by week up to half a
    year, by month beyond."""
    suited = [g for g, (lo, hi) in TREND_GRAIN_DAYS.items() if lo <= period.days <= hi] or ["day"]
    default = "day" if period.days <= 31 else ("week" if period.days <= 183 else "month")
    return [default] + [g for g in suited if g != default]


def _bucket_start(grain: str, day: dt.date) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def trend_window(grain: str, end: dt.date, start: dt.date | None = None) -> Period:
    """The span of a trend chart that ends with the bucket containing ``end``: from the bucket holding
    ``start`` (the chosen period's first day; at least MIN_TREND_BUCKETS buckets), or without
    ``start`` the grain's fixed span (30 days, 12 weeks, 12 months)."""
    if grain not in TREND_GRAINS:
        raise UsageError(f"未知的趋势粒度 {grain!r}")
    if start is not None:
        least = _shift_back(grain, _bucket_start(grain, end), MIN_TREND_BUCKETS[grain] - 1)
        return Period(min(_bucket_start(grain, start), least), end)
    return Period(_shift_back(grain, _bucket_start(grain, end), TREND_GRAINS[grain][1] - 1), end)


def _shift_back(grain: str, bucket: dt.date, k: int) -> dt.date:
    """The bucket ``k`` buckets before ``bucket`` (a bucket's first day)."""
    if grain == "day":
        return bucket - dt.timedelta(days=k)
    if grain == "week":
        return bucket - dt.timedelta(weeks=k)
    month = bucket.year * 12 + bucket.month - 1 - k
    return dt.date(month // 12, month % 12 + 1, 1)


def coverage_reason(period: "Period", previous: "Period", data_start, data_end) -> str | None:
    """Why ``period`` and ``previous`` cannot be compared: the data (first and last day) covers one of
    them only in part — a 30-day 环比 on 40 days of data would compare 30 days with 10. None when both
    are covered (or nothing is known of the data)."""
    if data_start is None or data_end is None:
        return None
    if previous.start < data_start:
        return (f"上期 {previous.start:%m-%d}～{previous.end:%m-%d} 只有部分日期有数据（店铺数据从 {data_start:%Y-%m-%d} "
                "开始），环比不可比")
    if period.end > data_end:
        return (f"本期 {period.start:%m-%d}～{period.end:%m-%d} 只有部分日期有数据（店铺数据截至 {data_end:%Y-%m-%d}），"
                "环比不可比")
    return None


def change(current, previous, *, is_rate: bool):
    """环比: points for rates (current − previous), relative change for everything else.

    None when either side is missing, or (relative) when the previous value is 0.
    """
    if current is None or previous is None or _nan(current) or _nan(previous):
        return None
    if is_rate:
        return current - previous
    if previous == 0:
        return None
    return current / previous - 1


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)
