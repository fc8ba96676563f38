"""Every page in Chromium, read as a user reads it: no "None"/"nan", no Streamlit chrome in English
(Deploy, the developer menu, "Made with Streamlit", uploader and selectbox defaults), no plotly toolbar
in English, and no code where a name belongs (platform codes, table names, scenario codes, a model hash)."""

from __future__ import annotations

import json
import re

import pytest

from browser import chromium, streamlit_server, wait_rendered
from conftest import REPO, demo_store

SHOTS = REPO / "tests" / "screenshots"
PAGES = ["", "live", "bigscreen", "overview", "satisfaction", "capability", "agents", "agent", "scenarios", "data",
         "accounts"]
# Words a user must never read: a missing value printed as a programmer's word, or English chrome.
FORBIDDEN = [r"\bNone\b", r"\bnan\b", r"\bNaN\b", r"\bDeploy\b", r"Made with Streamlit", r"Choose an option",
             r"\bUpload\b", r"per file", r"Drag and drop", r"\bempty\b", r"No results",
             # codes where a name belongs
             r"\b(taobao|tmall|douyin|kuaishou|pdd)\b", r"\b[a-z]+\.[a-z_]+\.[a-z_]+\b",
             r"\b(messages|sessions|evaluations|orders|refunds|escalations)\b(?! ?表)",
             r"\b[0-9a-f]{8,}\b", r"product\.spec"]
# What may contain such words on purpose: commands a user copies.
ALLOWED_LINES = [r"python -m insight", r"/api/v1/", r"make run", r"INSIGHT_"]


def _offending(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if any(re.search(a, line) for a in ALLOWED_LINES):
            continue
        for pattern in FORBIDDEN:
            if re.search(pattern, line):
                out.append(f"{pattern!s}: {line.strip()[:120]}")
    return out


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    db = demo_store(tmp_path_factory.mktemp("zh"), shops=6, days=40, seed=12, sessions_per_day=10)
    with streamlit_server(db) as url:
        yield url


def test_every_page_reads_in_chinese(app_url):
    problems = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(1440, 1200) as page:
        for path in PAGES:
            page.goto(f"{app_url}/{path}")
            wait_rendered(page)
            if path in ("satisfaction", "capability", "agents", "scenarios"):
                page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
            text = page.inner_text("body")
            found = _offending(text)
            # the plotly toolbar's buttons speak through their titles
            titles = page.eval_on_selector_all(
                ".modebar-btn", "els => els.filter(e => getComputedStyle(e).display !== 'none')"
                                ".map(e => e.getAttribute('data-title'))")
            found += [f"toolbar: {t}" for t in titles if t and re.search(r"[A-Za-z]{3,}", t.replace("PNG", ""))]
            # the main menu is gone (viewer mode): no developer options
            found += ["main menu shown"] if page.locator('[data-testid="stMainMenu"]').count() else []
            if found:
                problems[path or "home"] = sorted(set(found))[:15]
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
