"""Replay a dataset's day as live events (``python -m insight replay``): the rows of a DATA.md folder,
in the order they happened, posted to ``/api/v1/events`` at ``speed``× real time — so a user, and the
tests, can watch 实时监控 move during a promotion day of the demo."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb

from insight.core.errors import UsageError
from insight.ingest.events import EVENT_TABLES

__all__ = ["day_events", "replay", "http_poster", "ANCHORS", "moved_to"]

# When each table's row happens (DATA.md's anchor times); agents are sent first, as they are.
ANCHORS = {"messages": "sent_at", "sessions": "started_at", "evaluations": "coalesce(rated_at, invited_at)",
           "orders": "coalesce(paid_at, created_at)", "refunds": "created_at", "escalations": "created_at"}
_READERS = {".csv": "read_csv(?, all_varchar = true)", ".parquet": "read_parquet(?)"}


def day_events(folder, day: dt.date | None = None) -> tuple[dt.date, list[tuple[dt.datetime | None, dict]]]:
    """(the day, its events in time order as (time, row with ``table``)); the day defaults to the
    busiest day of the messages."""
    folder = Path(folder)
    sources = {}  # table → (its reader, with a parameter for the path; the path)
    for table in EVENT_TABLES:
        for suffix, reader in _READERS.items():
            if (folder / f"{table}{suffix}").exists():
                sources[table] = (reader, str(folder / f"{table}{suffix}"))
    if "messages" not in sources:
        raise UsageError(f"{folder} 里没有 messages.csv 或 messages.parquet")
    with duckdb.connect() as con:
        def select(table: str, what: str = "*", where: str = "TRUE", params=()) -> list[dict]:
            reader, path = sources[table]
            result = con.execute(f"SELECT {what} FROM {reader} WHERE {where}", [path, *params])
            cols = [d[0] for d in result.description]
            return [dict(zip(cols, values)) for values in result.fetchall()]  # (all of it: the next query waits)

        if day is None:
            counts = select("messages", "CAST(CAST(sent_at AS TIMESTAMP) AS DATE) AS d, count(*) AS n",
                            "TRUE GROUP BY d")
            day = min(counts, key=lambda r: (-r["n"], r["d"]))["d"]
        events: list[tuple[dt.datetime | None, dict]] = []
        if "agents" in sources:
            events += [(None, {"table": "agents", **_present(row)}) for row in select("agents")]
        for table, anchor in ANCHORS.items():
            if table in sources:
                for row in select(table, f"*, CAST({anchor} AS TIMESTAMP) AS _t",
                                  f"CAST(CAST({anchor} AS TIMESTAMP) AS DATE) = ?", [day]):
                    t = row.pop("_t")
                    events.append((t, {"table": table, **_present(row)}))
    events.sort(key=lambda e: (e[0] is not None, e[0] or dt.datetime.min))
    return day, events


# The keys of the event tables' rows and what refers to them: a day moved to another gets its own keys (the
# original day's rows may be in the store already, and a key with other content would be refused).
_KEYS = ("message_id", "session_id", "order_id", "refund_id", "escalation_id")


def moved_to(events: list[tuple[dt.datetime | None, dict]], day: dt.date, to_day: dt.date):
    """``day``'s events as if they happened on ``to_day``: every time moved by the days between (the hour
    kept), every key given that day's suffix (``m123~20261207``), agents unchanged."""
    delta, suffix = to_day - day, f"~{to_day:%Y%m%d}"

    def move(row: dict) -> dict:
        out = {}
        for key, value in row.items():
            if key in _KEYS and value not in (None, ""):
                value = f"{value}{suffix}"
            elif key.endswith("_at") and value not in (None, ""):
                value = _plain(dt.datetime.fromisoformat(str(value)) + delta)
            out[key] = value
        return out

    return [(None if t is None else t + delta, row if row["table"] == "agents" else move(row)) for t, row in events]


def _present(row: dict) -> dict:
    """A row's given values, dates as ISO text (what the events endpoint reads)."""
    return {k: _plain(v) for k, v in row.items() if v is not None}


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def http_poster(url: str, token: str, timeout: float = 60.0):
    """A function that posts one NDJSON body to ``url``/api/v1/events, retrying on 429 and 503."""
    endpoint = url.rstrip("/") + "/api/v1/events"

    def post(lines: list[str]) -> dict:
        body = "\n".join(lines).encode("utf-8")
        for _ in range(30):
            request = urllib.request.Request(endpoint, data=body, method="POST", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as err:
                if err.code in (429, 503):
                    time.sleep(float(err.headers.get("Retry-After") or 1))
                    continue
                detail = err.read().decode("utf-8", "replace")[:300]
                raise UsageError(f"{endpoint} 返回 {err.code}: {detail}") from None
            except urllib.error.URLError as err:
                raise UsageError(f"无法连接 {endpoint}: {err.reason}") from None
        raise UsageError(f"{endpoint} 持续繁忙（429），已放弃")
    return post


def replay(events, post, speed: float = 60.0, tick: float = 1.0, sleep=time.sleep, clock=time.monotonic,
           progress=None) -> dict:
    """Post ``events`` (time-ordered) so that an event at t goes out (t − t0) / speed after the start,
    in one request per ``tick`` of real time. Returns the totals of the answers."""
    if speed <= 0:
        raise UsageError("--speed 应大于 0")
    timed = [e for e in events if e[0] is not None]
    t0 = timed[0][0] if timed else None
    start = clock()
    totals = {"posted": 0, "accepted": 0, "rejected": 0, "queued": 0, "requests": 0}
    pending = list(events)
    while pending:
        elapsed = (clock() - start) * speed
        n = 0
        while n < len(pending) and (pending[n][0] is None or (pending[n][0] - t0).total_seconds() <= elapsed):
            n += 1
        due, pending = pending[:n], pending[n:]
        if due:
            answer = post([json.dumps(row, ensure_ascii=False, default=str) for _, row in due])
            totals["posted"] += len(due)
            totals["accepted"] += answer.get("accepted") or 0  # (None: a busy server queued them, 202)
            totals["rejected"] += answer.get("rejected") or 0
            totals["queued"] += answer.get("queued") or 0
            totals["requests"] += 1
            if progress:
                progress(totals, due[-1][0])
        if pending:
            sleep(tick)
    return totals
