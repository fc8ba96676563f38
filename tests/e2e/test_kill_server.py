"""kill -9 of `python -m insight serve` while events are being posted: after a restart every event the
server answered is in the store exactly once (write-ahead spool, idempotent replay)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from insight import Store, accounts, import_paths

from browser import free_port
from conftest import REPO, Chat, messages_of, write_dataset


def _start(db, port):
    proc = subprocess.Popen([sys.executable, "-m", "insight", "serve", "--db", str(db), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def test_kill_9_under_load_loses_and_doubles_nothing(tmp_path):
    db = tmp_path / "crash.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(tmp_path / "d", messages=messages_of(Chat("c0").buyer("09:00:00", "在吗")))])
        accounts.add_user(store.con, "boss", "admin", "correct horse")
        token = accounts.issue_token(store.con, "boss")
    port = free_port()
    proc = _start(db, port)
    answered: list[str] = []

    def load():
        for n in range(10_000):
            ids = [f"k{n}-{i}" for i in range(200)]
            body = "\n".join(json.dumps({"table": "messages", "message_id": m, "shop_id": "S1", "session_id": f"s{n}",
                                         "buyer_id": "bk", "sender_role": "buyer",
                                         "sent_at": f"2024-05-10 10:{i // 60:02d}:{i % 60:02d}"})
                             for i, m in enumerate(ids)).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/events", data=body, method="POST",
                                             headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    if json.loads(resp.read())["accepted"] == len(ids):
                        answered.extend(ids)
            except (urllib.error.URLError, OSError, ConnectionError):
                return  # the server is gone
    feeder = threading.Thread(target=load)
    feeder.start()
    time.sleep(4)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    feeder.join(timeout=60)
    assert answered, "some events were answered before the kill"
    proc = _start(db, port)  # the next start imports what the dead process had spooled
    spool_dir = tmp_path / "crash.duckdb.work" / "events"
    deadline = time.time() + 60
    while list(spool_dir.glob("*.ndjson")) and time.time() < deadline:
        time.sleep(0.3)
    proc.terminate()
    proc.wait(timeout=30)
    with Store(db, read_only=True) as store:
        n, distinct = store.con.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE message_id IN (SELECT unnest(?::VARCHAR[]))",
            [answered]).fetchone()
        spool = list(spool_dir.glob("*.ndjson"))
    assert distinct == len(set(answered)) and n == distinct and not spool
