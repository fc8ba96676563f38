"""Helpers for driving the real app: start it (``streamlit run`` or ``python -m insight serve``) on a free port, open headless
Chromium with Playwright, wait until a page has finished rendering. Used by the browser test
and by bench/pages.py."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Done = no script running, no spinner or skeleton, and no element left stale from the previous run.
RENDERED_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')
    && document.querySelectorAll('[data-stale="true"]').length === 0
    && !!document.querySelector('[data-testid="stMainBlockContainer"] h1')"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db: Path, timeout: float = 60, env: dict | None = None):
    """``streamlit run app.py`` on 127.0.0.1 with ``INSIGHT_DB=db`` (and ``env``); yields the base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with _running(cmd, dict(os.environ, INSIGHT_DB=str(db), **(env or {})), port, timeout) as url:
        yield url


@contextlib.contextmanager
def insight_server(db: Path, timeout: float = 60):
    """``python -m insight serve`` (sign-in, API, permissions) on 127.0.0.1; yields the base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "insight", "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)]
    with _running(cmd, dict(os.environ), port, timeout) as url:
        yield url


@contextlib.contextmanager
def _running(cmd: list[str], env: dict, port: int, timeout: float):
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise RuntimeError(f"the server did not start on {url}:\n{out[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium(width: int = 1440, height: int = 1000):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                                          locale="zh-CN")
            yield context.new_page()
        finally:
            browser.close()


def wait_rendered(page, timeout_ms: int = 60_000, stable_ms: int = 500) -> float:
    """The run has ended (no status widget, nothing stale, a title drawn) and the page's text has not
    changed for ``stable_ms``: elements that arrive after the title (an uploader, a table) are there.
    Returns when (time.monotonic) the page last changed: how long it took, without the wait for quiet."""
    page.wait_for_timeout(150)  # let the rerun start before we look for its end
    page.wait_for_function(RENDERED_JS, timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        text = page.inner_text("body")
        if text != last:
            last, since = text, time.monotonic()
        elif (time.monotonic() - since) * 1000 >= stable_ms and page.evaluate(RENDERED_JS):
            return since
        page.wait_for_timeout(150)
    return since


def visit(page, base: str, path: str) -> None:
    """Open the app's page ``path`` as a user goes there: by its link in the sidebar when the app is already
    open (the app is not loaded again: about 0.7 s less a page), else by its address; wait until drawn."""
    link = page.locator(f'[data-testid="stSidebarNav"] a[href="{base}/{path}"]')
    if "?" not in path and page.url.startswith(base) and link.count() and link.first.is_visible():  # (大屏 hides it)
        link.first.click()
        page.wait_for_url(lambda url: url.split("?")[0] == f"{base}/{path}", timeout=30_000)  # (the view's parameters follow)
    else:
        page.goto(f"{base}/{path}")
    wait_rendered(page)


def upload_and_import(page, path, shop: str, table: str = "messages", timeout_ms: int = 120_000) -> None:
    """On 数据管理: upload ``path``, wait for its table to be recognised, pick the shop it belongs to,
    import, and wait until the report is drawn."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text(f"识别为 {table}").wait_for(timeout=timeout_ms)
    wait_rendered(page)
    page.locator(".st-key-upload_shop input").first.click()
    page.get_by_role("option", name=shop).click()
    wait_rendered(page)
    page.get_by_role("button", name="开始导入 1 个文件").click()
    page.get_by_text("导入完成").first.wait_for(timeout=timeout_ms)
    wait_rendered(page, timeout_ms=timeout_ms)


# Words a user must never read: a missing value printed as a programmer's word, or English chrome.
FORBIDDEN = [r"\bNone\b", r"\bnan\b", r"\bNaN\b", r"\bDeploy\b", r"Made with Streamlit", r"Choose an option",
             r"\bUpload\b", r"per file", r"Drag and drop", r"\bempty\b", r"No results",
             # codes where a name belongs
             r"\b(taobao|tmall|douyin|kuaishou|pdd)\b", r"\b[a-z]+\.[a-z_]+\.[a-z_]+\b",
             r"\b(messages|sessions|evaluations|orders|refunds|escalations)\b(?! ?表)",
             r"\b[0-9a-f]{8,}\b", r"product\.spec"]
# What may contain such words on purpose: commands a user copies.
ALLOWED_LINES = [r"python -m insight", r"/api/v1/", r"make run", r"INSIGHT_"]


def offending(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if any(re.search(a, line) for a in ALLOWED_LINES):
            continue
        for pattern in FORBIDDEN:
            if re.search(pattern, line):
                out.append(f"{pattern!s}: {line.strip()[:120]}")
    return out


def reading_problems(page) -> list[str]:
    """What a user must not read on the drawn page: the words above, English plotly toolbar titles, the
    developer menu."""
    found = offending(page.inner_text("body"))
    # the plotly toolbar's buttons speak through their titles
    titles = page.eval_on_selector_all(
        ".modebar-btn", "els => els.filter(e => getComputedStyle(e).display !== 'none')"
                        ".map(e => e.getAttribute('data-title'))")
    found += [f"toolbar: {t}" for t in titles if t and re.search(r"[A-Za-z]{3,}", t.replace("PNG", ""))]
    # a help icon speaks to screen readers through its label
    labels = page.eval_on_selector_all("[aria-label]", "els => els.map(e => e.getAttribute('aria-label'))")
    found += [f"aria-label: {t}" for t in labels if re.match(r"Help( for |$)", t or "")]
    # the main menu is gone (viewer mode): no developer options
    found += ["main menu shown"] if page.locator('[data-testid="stMainMenu"]').count() else []
    return found
