"""``POST /api/v1/events``: one writer per server process (DuckDB has one writer per file).

A request is written ahead to a spool file (fsync) before it waits its turn; the writer takes the
requests waiting with the same account (a micro-batch), validates and commits them as one transaction,
answers each, and removes their spool files. The derivation is deferred: the transaction records which
shops and days changed (``derive_pending``), and the writer derives them incrementally once for all
the requests of the last moment — when the queue has been idle for IDLE_BEFORE_DERIVE, and at least
every DERIVE_AFTER under load — then sends the alerts. An answered event is in the figures within
about DERIVE_AFTER plus one derivation (the contract allows 5 s). Spool files left by a crash are
imported again when the server starts, and what was committed but not derived is derived then: keys
make that idempotent, so nothing accepted is lost and nothing is doubled. A full queue answers 429
with Retry-After. Waiting holds no thread and lasts at most ANSWER_WITHIN; past it the request (spooled)
is answered 202 and written later. Alerts are posted by a thread of their own, each within the webhook
deadline: a slow webhook holds neither the writer nor any request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from insight.core.access import Viewer
from insight.core.errors import InsightError, UsageError
from insight.derive import refresh_pending
from insight.ingest.events import MAX_EVENT_BYTES, MAX_EVENTS, EventBatch, import_events, parse_events
from insight.store import transaction

from ._auth import viewer_of
from ._body import TooLarge, read_body
from ._db import shared_store

__all__ = ["EventWriter", "event_routes", "event_writer", "stop_writers", "Busy"]

MAX_WAITING = 32  # requests queued before 429
PER_ACCOUNT_SHARE = 4  # one account may have at most MAX_WAITING / this waiting (8)
BATCH_EVENTS = 20_000  # events one transaction takes at most
DERIVE_AFTER = 1.0  # seconds: committed events wait at most this long for their derivation under load
IDLE_BEFORE_DERIVE = 0.2  # seconds without a request: derive now
ANSWER_WITHIN = 20.0  # seconds a request waits for its answer at most; then 202 (spooled, written later)


class Busy(Exception):
    """The queue is full: try again after a moment."""


@dataclass
class _Pending:
    spool: Path
    by: str
    shops: tuple[str, ...] | None
    batch: EventBatch
    done: Future


class EventWriter:
    def __init__(self, db_path: str, max_waiting: int = MAX_WAITING):
        self.db_path = db_path
        self.max_waiting = max_waiting
        self.spool_dir = shared_store(db_path).store.work_dir / "events"
        self.spool_dir.mkdir(mode=0o700, exist_ok=True)
        self._pending: list[_Pending] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self.recovered = 0
        self._stopping = False
        self._dirty_since: float | None = None  # committed, not derived yet (monotonic time)
        self._last_served: str | None = None
        store = shared_store(db_path).store
        self.alerts = AlertSender(store.cursor())  # its cursor made here, never from a connection in use
        self._thread = threading.Thread(target=self._run, name="insight-events", daemon=True)
        self._thread.start()

    # -- requests ------------------------------------------------------------------------------------
    def enqueue(self, body: bytes, viewer: Viewer) -> "_Pending":
        """Parse and spool a request (fsync) and queue it; its ``done`` future answers once the events
        are committed or rejected. Raises ``Busy`` when MAX_WAITING requests wait already (independent
        of any thread pool: waiting holds no thread), ``UsageError`` for a body that cannot be read."""
        batch = parse_events(body)
        shops = None if viewer.shops is None else tuple(sorted(viewer.shops))
        with self._cv:
            if self._full_for(viewer.name):
                raise Busy()
        # Written and synced outside the lock: requests spool side by side while the writer works.
        item = _Pending(self._spool(body, viewer.name, shops), viewer.name, shops, batch, Future())
        with self._cv:
            if self._full_for(viewer.name) or self._stopping:  # filled up meanwhile
                item.spool.unlink(missing_ok=True)
                raise Busy()
            self._pending.append(item)
            self._cv.notify()
        return item

    def _full_for(self, by: str) -> bool:
        """(Under the lock.) The queue is full, or this account has its share waiting already: one token
        posting as fast as it can must not leave the others only 429s."""
        return (len(self._pending) >= self.max_waiting
                or sum(1 for p in self._pending if p.by == by) >= max(1, self.max_waiting // PER_ACCOUNT_SHARE))

    def submit(self, body: bytes, viewer: Viewer, timeout: float | None = None) -> dict:
        """``enqueue`` and wait for the answer (for callers with a thread to spare: tests, tools)."""
        return self.enqueue(body, viewer).done.result(timeout)

    def _spool(self, body: bytes, by: str, shops) -> Path:
        # A name that sorts in arrival order (itertools.count is atomic); synced before the request waits.
        path = self.spool_dir / f"{os.getpid()}-{next(self._seq):012d}.ndjson"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(json.dumps({"by": by, "shops": shops}, ensure_ascii=False).encode() + b"\n")
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.rename(path)
        return path

    # -- the writer ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Let the batch in hand (and its alerts) finish, then end the thread."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(timeout=60)
        self.alerts.stop()

    def _run(self) -> None:
        self._recover()
        while True:
            with self._cv:
                action = self._next()
                if action == "stop":
                    for item in self._pending:  # their spool files stay: the next start imports them
                        item.done.set_exception(InsightError("服务正在停止，请重试"))
                    self._pending.clear()
                elif action == "write":
                    taken = self._take()
            if action == "stop":
                self._derive()
                return
            if action == "derive":
                self._derive()
            else:
                self._write(taken)

    def _next(self) -> str:
        """What the writer does next (under the lock): stop, write the waiting requests, or derive
        what was committed — now if the queue stayed idle a moment or DERIVE_AFTER has passed."""
        while True:
            if self._stopping:
                return "stop"
            overdue = self._dirty_since is not None and time.monotonic() - self._dirty_since >= DERIVE_AFTER
            if overdue:
                return "derive"
            if self._pending:
                return "write"
            if self._dirty_since is None:
                self._cv.wait()
                continue
            left = DERIVE_AFTER - (time.monotonic() - self._dirty_since)
            if not self._cv.wait(timeout=max(0.0, min(IDLE_BEFORE_DERIVE, left))) and not self._pending:
                return "derive"

    def _take(self) -> list[_Pending]:
        """The first waiting request of the account served least recently, and those of the same account
        after it, up to BATCH_EVENTS: accounts take turns."""
        first = next((p for p in self._pending if p.by != self._last_served), self._pending[0])
        self._last_served = first.by
        taken, size = [], 0
        for item in list(self._pending):
            if (item.by, item.shops) != (first.by, first.shops) or (taken and size + item.batch.size > BATCH_EVENTS):
                continue
            taken.append(item)
            size += item.batch.size
        for item in taken:
            self._pending.remove(item)
        return taken

    def _write(self, items: list[_Pending]) -> None:
        merged = EventBatch()
        for i, item in enumerate(items):
            for table, rows in item.batch.rows.items():
                merged.rows.setdefault(table, []).extend(((i, line), row) for (_, line), row in rows)
            merged.errors.extend({**e, "request": i} for e in item.batch.errors)
        store = shared_store(self.db_path).store  # its own connection: only this thread writes through it
        try:
            answers = import_events(store, merged, store.scratch_dir("events-"), by=items[0].by,
                                    allowed_shops=items[0].shops, defer_derive=True)
        except InsightError as exc:  # the whole batch refused (e.g. a store busy elsewhere): say why
            for item in items:
                item.spool.unlink(missing_ok=True)
                item.done.set_exception(exc)
            return
        except Exception as exc:  # noqa: BLE001 - one request must not fail the others it was batched with
            if len(items) > 1:
                for item in items:
                    self._write([item])
                return
            logging.getLogger(__name__).exception("events request failed")
            item = items[0]
            # Set aside, never retried at every start (it would fail each batch it joins again).
            item.spool.rename(item.spool.with_suffix(".failed"))
            item.done.set_exception(InsightError(f"这批事件无法写入（{type(exc).__name__}），已另存待查；请检查内容后重发"))
            return
        for i, item in enumerate(items):
            item.spool.unlink(missing_ok=True)
            item.done.set_result(answers.get(i, {"accepted": 0, "rejected": 0, "reasons": []}))
        if self._dirty_since is None and any(a["accepted"] for a in answers.values()):
            self._dirty_since = time.monotonic()

    def _derive(self) -> None:
        """Derive what the committed events changed, then the alerts of those shops."""
        store = shared_store(self.db_path).store
        try:
            with transaction(store.con):
                shops = refresh_pending(store.con, store.settings)
        except Exception:  # noqa: BLE001 - kept in derive_pending: the next round (or start) derives it
            logging.getLogger(__name__).exception("deriving live events")
            self._dirty_since = time.monotonic()
            return
        self._dirty_since = None
        # After the figures: the alerts of the shops these events touched, to their webhooks.
        self._alert(store, shops)

    def _alert(self, store, shops) -> None:
        """Decide the alerts of the shops these events touched (reads, on the writer) and hand the posts
        to the sender thread: a slow webhook never holds the writer, nor any request."""
        from insight.analyses.alerts import evaluate, fresh_alerts, rule_for
        from insight.analyses.live import live_snapshot
        from insight.core.access import LOCAL
        from insight.metrics.engine import MetricEngine

        for shop in sorted(str(s) for s in shops):
            try:
                rule = rule_for(store.con, shop)
                if not rule.webhook_url:
                    continue
                snap = live_snapshot(MetricEngine(store), shop, viewer=LOCAL)
                if snap["as_of"] is None:
                    continue
                fresh = fresh_alerts(store.con, evaluate(store.con, snap, rule), snap["as_of"])
                name = store.con.execute("SELECT coalesce(shop_name, shop_id) FROM shops WHERE shop_id = ?",
                                         [shop]).fetchone()
                if fresh:
                    self.alerts.send(rule, name[0] if name else shop, fresh, snap["as_of"])
            except Exception:  # noqa: BLE001 - an alert must never stop the events
                logging.getLogger(__name__).exception("alerts for %s", shop)

    def _recover(self) -> None:
        """Spool files a crash left behind (accepted, perhaps not committed): imported again, in order.
        Files of this process are requests waiting in its own queue: left alone."""
        mine = f"{os.getpid()}-"
        for path in sorted(self.spool_dir.glob("*.ndjson")):
            if path.name.startswith(mine):
                continue
            raw = path.read_bytes()
            head, _, body = raw.partition(b"\n")
            try:
                meta = json.loads(head)
                batch = parse_events(body)
            except (ValueError, UsageError):
                path.rename(path.with_suffix(".unreadable"))
                continue
            item = _Pending(path, meta.get("by") or "本机", tuple(meta["shops"]) if meta.get("shops") else None,
                            batch, Future())
            self._write([item])
            if item.done.exception() is None:
                self.recovered += 1
        for tmp in self.spool_dir.glob("*.tmp"):  # never answered: the client was not told it was accepted
            if not tmp.name.startswith(mine):
                tmp.unlink(missing_ok=True)
        self._derive()  # what a crash committed without deriving, and what was recovered above


class AlertSender:
    """Posts alerts on a thread of its own, one at a time, each within the webhook deadline; at most
    ``MAX_ALERT_JOBS`` wait (more are recorded as not sent), and an alert already on its way is not
    queued again. Each attempt is recorded through a cursor of its own."""

    MAX_ALERT_JOBS = 64

    def __init__(self, cursor, deadline: float | None = None):
        from insight.analyses.alerts import WEBHOOK_SECONDS

        self.cursor, self.deadline = cursor, deadline or WEBHOOK_SECONDS
        self._jobs: queue.Queue = queue.Queue(self.MAX_ALERT_JOBS)
        self._in_flight: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="insight-alerts", daemon=True)
        self._thread.start()

    def send(self, rule, shop_label: str, alerts: list, at) -> None:
        with self._lock:
            alerts = [a for a in alerts if (a.shop_id, a.key) not in self._in_flight]
            if not alerts:
                return
            try:
                self._jobs.put_nowait((rule, shop_label, alerts, at))
            except queue.Full:
                logging.getLogger(__name__).warning("alert queue full: %d alerts of %s not sent", len(alerts),
                                                    rule.shop_id)
                return
            self._in_flight.update((a.shop_id, a.key) for a in alerts)

    def _run(self) -> None:
        from insight.analyses.alerts import post_webhook, record_attempt, webhook_payload

        while True:
            job = self._jobs.get()
            if job is None:
                self.cursor.close()
                return
            rule, label, alerts, at = job
            try:
                ok, detail = post_webhook(rule.webhook_url, webhook_payload(rule, label, alerts), deadline=self.deadline)
                record_attempt(self.cursor.con, alerts, at, ok, detail)
            except Exception:  # noqa: BLE001 - the sender goes on
                logging.getLogger(__name__).exception("posting alerts of %s", rule.shop_id)
            finally:
                with self._lock:
                    self._in_flight.difference_update((a.shop_id, a.key) for a in alerts)

    def stop(self, timeout: float = 15.0) -> None:
        with contextlib.suppress(queue.Full):
            self._jobs.put(None, timeout=1)
        self._thread.join(timeout)


_writers: dict[str, EventWriter] = {}
_writers_lock = threading.Lock()


def event_writer(db_path: str) -> EventWriter:
    """The process's writer for ``db_path``, started (and the spool recovered) on first use."""
    with _writers_lock:
        if db_path not in _writers:
            _writers[db_path] = EventWriter(db_path)
        return _writers[db_path]


def stop_writers() -> None:
    """End every writer of this process (before its stores are closed)."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.stop()


def event_routes(db_path: str):
    from starlette.routing import Route

    event_writer(db_path)  # at server start: a crash's spool is imported before new events

    async def events(request: Request):
        viewer = viewer_of(request.scope)
        if not viewer.may_import:  # an agent, or a supervisor without the import grant (数据管理 is hidden too)
            return JSONResponse({"error": "本账号没有导入权限，不能写入事件（管理员可授予主管导入权限）"}, status_code=403)
        try:
            body = await read_body(request, MAX_EVENT_BYTES)
        except TooLarge:
            return JSONResponse({"error": f"请求过大：上限 {MAX_EVENT_BYTES:,} 字节、{MAX_EVENTS:,} 个事件，请分批发送"},
                                status_code=413)
        try:  # parsing and the spool's fsync: short, on a thread
            item = await run_in_threadpool(event_writer(db_path).enqueue, body, viewer)
        except Busy:
            return JSONResponse({"error": "写入队列已满，请稍后重试"}, status_code=429, headers={"Retry-After": "1"})
        except UsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except InsightError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "5"})
        # Waiting holds no thread, and never lasts longer than ANSWER_WITHIN: the request is spooled, so
        # past that it is accepted for writing, and a retry is harmless (keys make it idempotent).
        try:
            answer = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(item.done)), ANSWER_WITHIN)
        except asyncio.TimeoutError:
            return JSONResponse({"queued": item.batch.size, "accepted": None, "rejected": None, "reasons": [],
                                 "note": f"服务繁忙，{ANSWER_WITHIN:g} 秒内未写完：事件已保存，稍后写入；"
                                         "重发不会重复计入"}, status_code=202)
        except UsageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except InsightError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse(answer)

    return [Route("/api/v1/events", events, methods=["POST"])]
