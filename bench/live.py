"""Live ingest benchmark: events posted to a running server (``python -m insight serve``) over the
120-day, 40-shop store of bench/incremental.py — sustained events/s, the answer's latency (after the
commit), freshness (a probe's event posted → counted by /api/v1/metrics, while the load runs), a
metrics query's latency meanwhile, and a kill -9 of the server under load: after a restart, every
accepted event is there once.

Prints figures; asserts nothing.

    python bench/live.py                 # 4 clients × 1000-event requests for 30 s
    python bench/live.py --seconds 10 --batch 200 --clients 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]


def _serve(db: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "insight", "serve", "--db", str(db), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def _events(client: int, n: int, start: int, day: str, shops: list[str]) -> list[str]:
    """``n`` messages of new sessions: a buyer asks, an agent answers 40 s later."""
    out = []
    for i in range(start, start + n, 2):
        shop = shops[i % len(shops)]
        sid = f"live-{client}-{i}"
        t = f"{day} {10 + (i // 3600) % 12:02d}:{(i // 60) % 60:02d}:{i % 60:02d}"
        common = {"table": "messages", "shop_id": shop, "session_id": sid, "buyer_id": f"lb-{client}-{i}"}
        out.append(json.dumps({**common, "message_id": f"{sid}-b", "sender_role": "buyer", "sent_at": t,
                               "content": "在吗"}))
        out.append(json.dumps({**common, "message_id": f"{sid}-a", "sender_role": "agent",
                               "agent_id": f"{shop}-A01", "sent_at": t, "content": "在的"}))
    return out


def _post(port: int, token: str, lines: list[str]) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/events", data="\n".join(lines).encode(),
                                 method="POST", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    from insight import Store, accounts

    from browser import free_port

    base = REPO / "bench" / "out" / "incremental" / "base.duckdb"
    if not base.exists():
        raise SystemExit("run python bench/incremental.py first (it builds the 120-day store)")
    work = REPO / "bench" / "out" / "live"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "store.duckdb"
    shutil.copy(base, db)
    with Store(db) as store:
        accounts.add_user(store.con, "bench", "admin", "bench-password")
        token = accounts.issue_token(store.con, "bench")
        shops = [r[0] for r in store.con.execute("SELECT shop_id FROM shops ORDER BY 1").fetchall()]
        last = store.con.execute("SELECT CAST(max(sent_at) AS DATE) FROM messages").fetchone()[0]
        before = store.con.execute("SELECT count(*) FROM messages").fetchone()[0]
    day = str(last)
    port = free_port()
    proc = _serve(db, port)
    probe_shop, shops = shops[-1], shops[:-1]  # the probe's shop gets no other events
    latencies, query_ms, accepted, sent_ids, fresh = [], [], [0], [], []
    lock = threading.Lock()
    stop = time.time() + args.seconds

    def client(k: int) -> None:
        i = 0
        while time.time() < stop:
            lines = _events(k, args.batch, i, day, shops)
            t = time.perf_counter()
            answer = _post(port, token, lines)
            with lock:
                latencies.append(time.perf_counter() - t)
                accepted[0] += answer["accepted"]
                sent_ids.extend(json.loads(x)["message_id"] for x in lines)
            i += args.batch

    def reader() -> None:
        while time.time() < stop:
            t = time.perf_counter()
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/metrics?shop={shops[0]}&start={day}&end={day}",
                headers={"Authorization": f"Bearer {token}"}), timeout=60).read()
            query_ms.append((time.perf_counter() - t) * 1000)
            # what 实时监控 reads on each refresh (its page asks every 5–60 s; here every second)
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/live?shop={shops[0]}",
                headers={"Authorization": f"Bearer {token}"}), timeout=60).read()
            time.sleep(1)

    def count(shop: str) -> float:
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/metrics?shop={shop}&start={day}&end={day}",
                headers={"Authorization": f"Bearer {token}"}), timeout=60) as resp:
            return json.loads(resp.read())["metrics"]["buyer_messages"] or 0

    def probe() -> None:
        """One new chat at a time into the probe's shop: posted → counted by /api/v1/metrics."""
        i = 0
        while time.time() < stop - 6:
            before = count(probe_shop)
            t = time.perf_counter()
            _post(port, token, _events(8, 2, 20_000_000 + i, day, [probe_shop]))
            while count(probe_shop) < before + 1 and time.perf_counter() - t < 30:
                time.sleep(0.05)
            fresh.append(time.perf_counter() - t)
            i += 2
            time.sleep(0.5)

    started = time.time()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    threads += [threading.Thread(target=reader), threading.Thread(target=probe)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.time() - started
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"machine: {os.cpu_count()} cores; store: 40 shops × 120 days ({before:,} messages); "
          f"{args.clients} clients × {args.batch}-event requests for {args.seconds:g} s")
    print(f"sustained ingest   {accepted[0] / elapsed:8.0f} events/s   ({accepted[0]:,} accepted in {elapsed:.1f} s, "
          f"{len(latencies)} requests)")
    print(f"answer latency     p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s (after the commit)")
    fresh.sort()
    print(f"freshness          p50 {statistics.median(fresh):.2f} s, p95 {fresh[max(0, int(len(fresh) * 0.95) - 1)]:.2f} s, "
          f"max {fresh[-1]:.2f} s over {len(fresh)} probes (posted → counted by /api/v1/metrics)")
    print(f"metrics query meanwhile  median {statistics.median(query_ms):.0f} ms, max {max(query_ms):.0f} ms")

    # kill -9 under load: answered events must all be there, once, after a restart
    answered: list[str] = []
    stop = time.time() + 5

    def loader() -> None:
        i = 10_000_000
        while time.time() < stop:
            lines = _events(9, args.batch, i, day, shops)
            try:
                _post(port, token, lines)
            except OSError:
                return
            answered.extend(json.loads(x)["message_id"] for x in lines)
            i += args.batch
    th = threading.Thread(target=loader)
    th.start()
    time.sleep(3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    th.join()
    proc = _serve(db, port)
    time.sleep(3)  # the writer imports the spool left by the kill
    proc.terminate()
    proc.wait()
    with Store(db, read_only=True) as store:
        ids = answered + sent_ids
        found = store.con.execute("SELECT count(*), count(DISTINCT message_id) FROM messages "
                                  "WHERE message_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchone()
    lost = len(set(ids)) - found[1]
    print(f"kill -9 under load: {len(answered):,} events answered in the last 5 s; after restart lost {lost}, "
          f"doubled {found[0] - found[1]}")


if __name__ == "__main__":
    main()
