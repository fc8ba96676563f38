"""A report as PDF, offline: the machine's Chromium prints the self-contained HTML (its charts drawn by
the inlined plotly.js first). No network, no extra service; the same browser the tests drive."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from insight.core.errors import ConfigError, UsageError

__all__ = ["html_to_pdf", "chromium_path", "PRINT_WIDTH_PX"]

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
          "--run-all-compositor-stages-before-draw", "--window-size=1240,1754",
          # let the page's scripts (plotly) draw before printing, without waiting in real time
          "--virtual-time-budget=20000"]


def chromium_path() -> str | None:
    """Chromium to print with: ``INSIGHT_CHROMIUM``, else chromium on the PATH, else Debian's."""
    for candidate in (os.environ.get("INSIGHT_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


# A4 at 96 dpi less the print margins (``exports._CSS``: 12 mm each side): what a chart may be wide.
PRINT_WIDTH_PX = 690


# One Chromium prints at a time in a process (each takes a core and a few hundred MB): six clicks in six
# tabs started six at once, and everyone else's downloads waited 15 s behind them. A print that cannot
# start within PRINT_WAIT seconds is refused with the reason.
MAX_PRINTING = 1
PRINT_WAIT = 60.0
_printing = threading.BoundedSemaphore(MAX_PRINTING)


def html_to_pdf(html_text: str, *, timeout: float = 120.0) -> bytes:
    """The PDF of a self-contained HTML report (A4, as its print CSS lays it out; render the report
    with ``figure_width=PRINT_WIDTH_PX`` so that its charts fit the page)."""
    if not _printing.acquire(timeout=PRINT_WAIT):
        raise UsageError(f"正在生成其他 PDF，{PRINT_WAIT:.0f} 秒内没有轮到，请稍后再试（HTML 版周报不需要等待）")
    try:
        return _print(html_text, timeout)
    finally:
        _printing.release()


def _print(html_text: str, timeout: float) -> bytes:
    exe = chromium_path()
    if exe is None:
        raise ConfigError("找不到 Chromium，无法生成 PDF（Debian: apt install chromium；或设置 INSIGHT_CHROMIUM）。"
                          "HTML 版周报不需要它。")
    with tempfile.TemporaryDirectory(prefix="insight-pdf-") as tmp:
        folder = Path(tmp)
        source, target = folder / "report.html", folder / "report.pdf"
        source.write_text(html_text, encoding="utf-8")
        cmd = [exe, *_FLAGS, f"--user-data-dir={folder / 'profile'}", f"--print-to-pdf={target}", source.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"Chromium 在 {timeout:.0f} 秒内没有生成 PDF") from None
        if not target.exists() or target.stat().st_size == 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise ConfigError(f"Chromium 未能生成 PDF（退出码 {done.returncode}）：{detail[0][:200]}")
        return target.read_bytes()
