"""Hostile text in a real browser: Markdown/HTML payloads in shop and agent names, chat content,
tags and comments render as text and make the browser fetch nothing outside the app (every
request is routed through Playwright and counted); CSV exports of those rows are neutralised."""

from __future__ import annotations

import pytest

from insight import Store, import_paths

from browser import chromium, streamlit_server, visit, wait_rendered
from conftest import REPO, Chat, write_dataset

SHOTS = REPO / "tests" / "screenshots"
TRAP = "127.0.0.1:9"  # nothing listens there; any request to it is a payload that fired
SHOP_NAME = f"![店](http://{TRAP}/shop.png)"
AGENT_NAME = f"<img src=http://{TRAP}/agent.png>[客服](http://{TRAP}/a)"
IMAGE_CHAT = f"![图](http://{TRAP}/pixel.png)"
LINK_CHAT = f"[点我](http://{TRAP}/click) **粗体** :red[红]"
TAGS = f'=HYPERLINK("http://{TRAP}/t","标签");![t](http://{TRAP}/tag.png)'
COMMENT = f"+SUM(1)<img src=http://{TRAP}/c.png onerror=alert(1)>"


@pytest.fixture(scope="module")
def payload_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("payloads")
    chats, evaluations = [], []
    for i in range(12):
        day = f"2024-05-{10 + i % 5:02d}"
        chat = (Chat(f"s{i}", f"b{i}", day=day).buyer("10:00:00", IMAGE_CHAT if i % 2 else "我要退货，怎么退？")
                .agent("10:00:20", LINK_CHAT, agent_id="A1").buyer("10:01:00", "=cmd|' /C calc'!A0"))
        chats.extend(chat.rows)
        evaluations.append({"session_id": f"s{i}", "shop_id": "S1", "buyer_id": f"b{i}", "invited_by": "agent",
                            "invited_at": f"{day} 10:05:00", "rating": 1 + i % 5, "rated_at": f"{day} 10:06:00",
                            "tags": TAGS if i % 5 < 3 else "", "comment": COMMENT})
    ds = write_dataset(folder / "ds",
                       shops=[{"shop_id": "S1", "shop_name": SHOP_NAME, "platform": "taobao", "category": "服饰",
                               "tier": 3}],
                       agents=[{"agent_id": "A1", "shop_id": "S1", "agent_name": AGENT_NAME, "kind": "human"}],
                       messages=chats, evaluations=evaluations)
    db = folder / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [ds])
    with streamlit_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(payload_app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(height=1600) as page:
        outside: list[str] = []

        def route(r):
            if r.request.url.startswith(payload_app):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        page.context.route("**/*", route)
        page.outside_requests = outside
        yield page


def _no_live_payload(page) -> None:
    assert page.locator(f'img[src*="{TRAP}"]').count() == 0
    assert page.locator(f'a[href*="{TRAP}"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0


def test_names_chat_tags_and_comments_render_as_text(payload_app, browser_page):
    page = browser_page
    page.goto(f"{payload_app}/scenarios?period=custom&range=2024-05-10~2024-05-14")
    wait_rendered(page)
    page.get_by_text("查看原声", exact=True).wait_for(timeout=60_000)
    wait_rendered(page)
    expanders = page.locator('[data-testid="stExpander"] summary')
    assert expanders.count() > 0
    expanders.first.click()
    wait_rendered(page)
    page.wait_for_timeout(500)
    # (names in captions carry invisible word joiners that keep GFM from making links of URLs)
    text = page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")
    assert "![店](http://127.0.0.1:9/shop.png)" in text  # the shop name in the caption, literally
    assert "=cmd|' /C calc'!A0" in text and "[点我](http://127.0.0.1:9/click) **粗体** :red[红]" in text
    assert "+SUM(1)<img src=http://127.0.0.1:9/c.png onerror=alert(1)>" in text
    _no_live_payload(page)
    page.screenshot(path=str(SHOTS / "payloads-scenarios.png"), full_page=True)

    page.goto(f"{payload_app}/agent?period=custom&range=2024-05-10~2024-05-14")
    wait_rendered(page)
    page.get_by_text("评分最低的会话").wait_for(timeout=60_000)
    wait_rendered(page)
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    picker = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first
    assert AGENT_NAME in picker.inner_text() + (picker.locator("input").first.get_attribute("value") or "")
    _no_live_payload(page)
    page.screenshot(path=str(SHOTS / "payloads-agent.png"), full_page=True)
    assert page.outside_requests == [], page.outside_requests


def test_exports_of_payload_rows_are_neutralised(payload_app, browser_page, tmp_path):
    page = browser_page
    page.goto(f"{payload_app}/satisfaction?period=custom&range=2024-05-10~2024-05-14")
    wait_rendered(page)
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    _no_live_payload(page)
    with page.expect_download() as info:
        page.locator(".st-key-ev_table_csv button").click()
    path = tmp_path / "ev.csv"
    info.value.save_as(path)
    text = path.read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK(" in text and "'+SUM(1)" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text and ",+SUM" not in text
    page.screenshot(path=str(SHOTS / "payloads-satisfaction.png"), full_page=True)
    assert page.outside_requests == [], page.outside_requests



def test_every_page_fetches_nothing_the_names_point_at(payload_app, browser_page):
    """Each page in Chromium with the hostile names (大屏 and 实时监控 drew the shop name as Markdown:
    a remote image every 10 s, a clickable link): nothing of them becomes a link, an image or a request."""
    page = browser_page
    for path in ("/", "/overview", "/satisfaction?period=custom&range=2024-05-10~2024-05-14", "/capability",
                 "/agents", "/live", "/bigscreen", "/data", "/accounts"):
        visit(page, payload_app, path.removeprefix("/"))
        _no_live_payload(page)
    page.screenshot(path=str(SHOTS / "payloads-bigscreen.png"), full_page=True)
    assert page.outside_requests == [], page.outside_requests
