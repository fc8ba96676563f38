"""A shop's facts as they were known at a moment: its input up to ``cutoff`` derived afresh in a
scratch store. 实时监控 compares today so far with yesterday (and the same day last week) until
the same time of day; the parts have a day grain, so the earlier day is derived again from the
rows that existed at that time — the same definitions, no hour-of-day copy of any rule.

"Known at the cutoff": a row counts when its anchor time (sent, started, invited, created) is at
or before the cutoff; a later step of it did not happen yet (a rating given later is absent, an
order paid later is unpaid, a refund finished later is open, a session ends at the cutoff), as
the same shop's rows look today while the day is still going on."""

from __future__ import annotations

import datetime as dt

from insight.core.settings import RESOLUTION_LOOKBACK_DAYS, SalesSettings, StoreSettings
from insight.derive._derive import refresh
from insight.store import Store, transaction

__all__ = ["LOOKBACK_DAYS", "CHAT_LOOKBACK_DAYS", "derive_as_known"]

# How far back the rules read from a day: the stage (a paid order within the stage window), 解决率
# (an after-sale request within RESOLUTION_LOOKBACK_DAYS), attribution (an agent's message up to
# valid_days earlier); one day more for sessions that started the evening before. Chats are the bulk
# of the rows and only attribution reads them that far back — and 解决率, for the buyers who
# escalated that day: older chats are copied for those buyers only.
LOOKBACK_DAYS = max(StoreSettings().stage_window_days, RESOLUTION_LOOKBACK_DAYS, SalesSettings().valid_days) + 1
CHAT_LOOKBACK_DAYS = SalesSettings().valid_days

_KNOWN = "CASE WHEN {late} IS NULL OR {late} <= $cutoff THEN {col} END AS {col}"


def _known(col: str, late: str | None = None) -> str:
    return _KNOWN.format(late=late or col, col=col)


# Per input table: the anchor column, the later steps as they were at the cutoff, and whether it is a chat
# table (copied from CHAT_LOOKBACK_DAYS, older only for the day's escalating buyers).
_ROWS = {
    "messages": ("sent_at", "", True),
    "sessions": ("started_at", f"REPLACE (least(ended_at, $cutoff) AS ended_at, {_known('transferred_at')}, "
                               f"{_known('assigned_at')})", True),
    "evaluations": ("invited_at", f"REPLACE ({_known('rating', 'rated_at')}, {_known('rated_at')}, "
                                  f"{_known('tags', 'rated_at')}, {_known('comment', 'rated_at')})", False),
    "orders": ("created_at", f"REPLACE ({_known('paid_at')})", False),
    "refunds": ("created_at", f"REPLACE ({_known('finished_at')}, "
                              "CASE WHEN finished_at > $cutoff THEN 'open' ELSE status END AS status)", False),
    "escalations": ("created_at", "", False),
}


def derive_as_known(source, shop_id: str, cutoff: dt.datetime, *, lookback_days: int = LOOKBACK_DAYS,
                    chat_lookback_days: int = CHAT_LOOKBACK_DAYS) -> Store:
    """An in-memory store with ``shop_id``'s rows from ``lookback_days`` before the cutoff's day up to
    ``cutoff`` (later steps as they were then; chats from ``chat_lookback_days``), derived with
    ``source``'s settings. The caller
    closes it. ``source``: the store to read (a connection per thread: DuckDB's rule)."""
    def day_start(back: int) -> dt.datetime:
        return dt.datetime.combine(cutoff.date() - dt.timedelta(days=back), dt.time())
    settings = source.settings
    scratch = Store(None)
    try:
        params = {"shop": shop_id, "cutoff": cutoff, "day": day_start(0), "since": day_start(lookback_days),
                  "chats_since": day_start(min(chat_lookback_days, lookback_days))}
        for table in ("shops", "agents"):
            _copy(source, scratch, table, f"SELECT * FROM {table} WHERE shop_id = $shop", {"shop": shop_id})
        for table, (anchor, later, chat) in _ROWS.items():
            recent = (f"({anchor} >= $chats_since OR buyer_id IN (SELECT buyer_id FROM escalations "
                      f"WHERE shop_id = $shop AND created_at >= $day AND created_at <= $cutoff))") if chat else "true"
            _copy(source, scratch, table,
                  f"SELECT * {later} FROM {table} WHERE shop_id = $shop AND {anchor} >= $since "
                  f"AND {anchor} <= $cutoff AND {recent}", params)
        with transaction(scratch.con):
            scratch.save_settings(settings)
            refresh(scratch.con, [shop_id], settings)
    except BaseException:
        scratch.close()
        raise
    return scratch


def _copy(source, scratch, table: str, select: str, params: dict) -> None:
    rows = source.con.sql(select, params={k: v for k, v in params.items() if f"${k}" in select}).to_arrow_table()
    if rows.num_rows:
        scratch.con.register("_rows", rows)
        scratch.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
        scratch.con.unregister("_rows")
