"""Every page in Chromium, read as a user reads it: no "None"/"nan", no Streamlit chrome in English
(Deploy, the developer menu, "Made with Streamlit", uploader and selectbox defaults), no plotly toolbar
in English, and no code where a name belongs (platform codes, table names, scenario codes, a model hash)."""

from __future__ import annotations

import json

import pytest

from browser import chromium, reading_problems, streamlit_server, wait_rendered
from conftest import REPO, demo_store

SHOTS = REPO / "tests" / "screenshots"
PAGES = ["", "live", "bigscreen", "overview", "satisfaction", "capability", "agents", "agent", "scenarios", "data",
         "accounts"]


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
            found = reading_problems(page)
            if found:
                problems[path or "home"] = sorted(set(found))[:15]
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
