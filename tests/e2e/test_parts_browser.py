"""The app over a parts folder built elsewhere (``serve --parts``), read in Chromium: the figures are
there, pages that need chats say so instead of failing, and the import page refuses with the reason."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from browser import chromium, streamlit_server, visit
from conftest import REPO

SHOTS = REPO / "tests" / "screenshots"
PAGES = ["", "overview", "satisfaction", "capability", "agents", "agent", "scenarios", "data"]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from insight.demo.generator import DemoConfig, write_demo
    from insight.ingest.parts import build_parts
    from insight.store import Store

    root = tmp_path_factory.mktemp("parts-app")
    write_demo(root / "demo", DemoConfig(shops=3, days=30, seed=8, sessions_per_day=10, end=dt.date(2024, 6, 9)))
    build_parts(str(root / "demo"), str(root / "parts"))
    Store(root / "app.duckdb").close()  # the app's own store: accounts and settings, no data
    with streamlit_server(root / "app.duckdb", env={"INSIGHT_PARTS": str(root / "parts")}) as url:
        yield url


def test_pages_over_a_parts_folder(app_url):
    SHOTS.mkdir(parents=True, exist_ok=True)
    texts = {}
    with chromium(1440, 1100) as page:
        for path in PAGES:
            visit(page, app_url, path)
            texts[path] = page.inner_text("body")
            page.screenshot(path=str(SHOTS / f"parts-{path or 'home'}.png"), full_page=True)
    for path, text in texts.items():
        assert "Traceback" not in text and "Error" not in text, (path, text[:500])
    assert "满意率" in texts["satisfaction"] and "%" in texts["satisfaction"]
    assert "S001" in texts["overview"] or "店铺" in texts["overview"]
    assert "没有聊天记录" in texts["scenarios"] and "判定咨询场景" not in texts["scenarios"].replace("无法判定咨询场景", "")
    assert "不能导入" in texts["data"]
    counted = re.search(r"消息数\s+([\d,]+)", texts[""])  # the home page counts what the build counted
    assert counted and int(counted.group(1).replace(",", "")) > 1000, texts[""][:300]
