"""实时监控 and 大屏 in Chromium while a demo day is replayed as live events into `python -m insight serve`;
screenshots to tests/screenshots/."""

import threading

import pytest

from insight import Store, accounts
from insight.ingest.replay import day_events, http_poster, replay

from browser import chromium, insight_server, wait_rendered
from conftest import REPO, demo_store

SHOTS = REPO / "tests" / "screenshots"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    db = demo_store(folder, shops=3, days=4, seed=8, sessions_per_day=10)
    with Store(db) as store:
        accounts.add_user(store.con, "boss", "admin", "correct horse")
        token = accounts.issue_token(store.con, "boss")
        link = accounts.issue_login_link(store.con, "boss")
    with insight_server(db) as url:
        yield url, token, link, folder / "demo"


def test_the_monitor_and_the_big_screen_during_a_replay(served):
    url, token, link, demo = served
    _, events = day_events(demo)
    totals = {}
    feeder = threading.Thread(target=lambda: totals.update(replay(events, http_poster(url, token), speed=20_000,
                                                                  tick=0.5)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(1500, 1100) as page:
        page.goto(f"{url}/auth/link?token={link}")
        wait_rendered(page)
        feeder.start()
        page.goto(f"{url}/live?shop=S001")
        wait_rendered(page)
        page.wait_for_selector("text=排队买家", timeout=60_000)
        feeder.join(timeout=120)
        assert totals.get("rejected") == 0 and totals.get("posted") == len(events)
        page.wait_for_timeout(11_000)  # one refresh of the fragment after the last events
        assert "截至最新事件" in page.inner_text("body")
        page.screenshot(path=str(SHOTS / "live-monitor.png"), full_page=True)
        page.goto(f"{url}/bigscreen?shop=S001")
        page.wait_for_selector("text=大促实时大屏", timeout=60_000)
        page.wait_for_selector("text=今日接待人数", timeout=60_000)
        assert page.locator('[data-testid="stSidebar"]').is_hidden()
        page.screenshot(path=str(SHOTS / "live-bigscreen.png"), full_page=True)
