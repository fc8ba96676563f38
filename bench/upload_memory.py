"""The server's memory across uploads through 数据管理 (issue 24, item 8): ``python -m insight serve`` on a
small store, Chromium uploads N message files of about M MB one after another and imports each; the
server's resident memory is printed after each import and after an idle pause.

    python bench/upload_memory.py [--files 4] [--mb 100] [--idle 20]

Run on 2026-12-07 (this machine, 4 × 100 MB, measured once the background classification had ended):
the commit before the fix 283 → 1,607 MB; with it 279 → 1,212 MB. The 400 MB were the uploads, which
Streamlit keeps for the browser session even after their uploader is gone (now released after the
import). The rest is bounded: DuckDB's buffer pool, up to its memory_limit (INSIGHT_MEMORY_LIMIT, at
most 1 GiB), keeps the store's blocks cached, and its allocator now gives freed memory back within seconds.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from insight import Store, import_paths  # noqa: E402

from browser import chromium, free_port, upload_and_import, wait_rendered  # noqa: E402


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return -1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, clock ticks


def _busy(pid: int, window: float = 10.0) -> bool:
    """Whether the process used more than 5% of a core over the next ``window`` seconds."""
    before = cpu_seconds(pid)
    time.sleep(window)
    return cpu_seconds(pid) - before > 0.05 * window


def write_messages(path: Path, k: int, mb: int) -> None:
    """A platform-style chat export (no ids, no shop column) of about ``mb`` MB."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["买家昵称", "客服账号", "发送时间", "消息内容", "发送方"])
        i = 0
        while fh.tell() < mb * 2**20:
            buyer = f"买家{k}-{i // 10}"
            role = "买家" if i % 2 == 0 else "客服"
            w.writerow([buyer, "" if role == "买家" else "S001-A01",
                        f"2026-10-{1 + (i // 20000) % 28:02d} {9 + i % 12:02d}:{i % 60:02d}:{(i * 7) % 60:02d}",
                        "你好，请问这个商品什么时候发货，我想尽快收到，谢谢" if role == "买家" else "亲，今天下午就发货哦", role])
            i += 1


def main() -> None:
    import subprocess

    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--idle", type=float, default=20)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    db = root / "store.duckdb"
    (root / "base").mkdir()
    (root / "base" / "shops.csv").write_text("shop_id,shop_name,platform,category,tier\nS001,云朵,taobao,服饰,3\n")
    (root / "base" / "messages.csv").write_text(
        "message_id,shop_id,session_id,buyer_id,sender_role,sent_at\nm0,S001,s0,b0,buyer,2026-10-01 09:00:00\n")
    with Store(db) as store:
        import_paths(store, [root / "base"], classify=False)
    files = []
    for k in range(args.files):
        path = root / f"聊天记录{k}.csv"
        write_messages(path, k, args.mb)
        files.append(path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "insight", "serve", "--db", str(db), "--port", str(port),
                             "--max-upload-mb", str(args.mb + 50)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with chromium() as page:
            page.goto(f"{url}/data")
            wait_rendered(page)
            print(f"server after the first page: {rss_mb(proc.pid):,} MB")
            for path in files:
                upload_and_import(page, path, "S001", timeout_ms=600_000)
                print(f"after importing {path.stat().st_size / 2**20:.0f} MB: {rss_mb(proc.pid):,} MB", flush=True)
            started = time.monotonic()
            while cpu_seconds(proc.pid) < 0 or _busy(proc.pid):  # the background classification runs on
                if time.monotonic() - started > 1800:
                    break
            print(f"work done after {time.monotonic() - started:.0f} s: {rss_mb(proc.pid):,} MB", flush=True)
            time.sleep(args.idle)
            print(f"after {args.idle:g} s idle (tab still open): {rss_mb(proc.pid):,} MB")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
