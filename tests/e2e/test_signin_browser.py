"""Accounts in a real browser: `python -m insight serve` on a free localhost port, Debian's Chromium.
Signs in as each role, tries another shop's link, checks a download holds only the viewer's shop,
and that the API answers each role as it may; screenshots to tests/screenshots/."""

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from insight import Store, accounts

from browser import chromium, insight_server, wait_rendered
from conftest import REPO, demo_store

SHOTS = REPO / "tests" / "screenshots"
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = demo_store(tmp_path_factory.mktemp("accounts"), shops=8, days=30, seed=3, sessions_per_day=8)
    with Store(db) as store:
        accounts.add_user(store.con, "boss", "admin", PASSWORD)
        accounts.add_user(store.con, "lead", "supervisor", PASSWORD, shops=["S002"])
        accounts.add_user(store.con, "xiaoyi", "agent", PASSWORD, agent_id="S001-A01")
        tokens = {name: accounts.issue_token(store.con, name) for name in ("boss", "lead", "xiaoyi")}
        link = accounts.issue_login_link(store.con, "boss")
    with insight_server(db) as url:
        yield url, tokens, link


def _sign_in(page, url, name, target="/"):
    page.goto(url + target)
    page.wait_for_selector("input[name=password]")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    wait_rendered(page)


def _signed_in_cookie(url: str, name: str) -> str:
    """A session cookie as a browser gets it: the form (its token and cookie), then the post."""
    import http.cookiejar
    import re

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = re.search(r'name="csrf" value="([^"]+)"', opener.open(url + "/auth/login").read().decode()).group(1)
    body = urllib.parse.urlencode({"name": name, "password": PASSWORD, "csrf": token}).encode()
    opener.open(urllib.request.Request(url + "/auth/login", data=body, headers={"Origin": url}))
    return next(f"{c.name}={c.value}" for c in jar if c.name == accounts.COOKIE_NAME)


def _nav(page) -> list[str]:
    return [t.strip() for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def test_supervisor_sees_their_shop_and_no_other(server, tmp_path):
    url, _, _ = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(height=1200) as page:
        _sign_in(page, url, "lead", "/agents?period=last30")
        assert "客服绩效" in page.locator("h1").first.inner_text()
        assert not any("数据管理" in n for n in _nav(page))
        assert "当前账号" in page.locator('[data-testid="stSidebar"]').inner_text()
        button = page.get_by_role("button", name="下载 CSV").first
        with page.expect_download() as info:
            button.click()
        path = tmp_path / "agents.csv"
        info.value.save_as(path)
        shop_row, *rows = path.read_bytes().decode("utf-8-sig").splitlines()[1:]
        assert shop_row.startswith("（全店）") and rows and all(r.startswith("S002-A") for r in rows)
        page.screenshot(path=str(SHOTS / "accounts-supervisor.png"), full_page=True)
        page.goto(url + "/satisfaction?shop=S003")
        page.wait_for_selector("text=无权查看", timeout=60_000)
        assert page.locator('[data-testid="stMetric"]').count() == 0
        page.screenshot(path=str(SHOTS / "accounts-refused.png"), full_page=True)
        # 周报 HTML and PDF from the sidebar, built when clicked (outside the page run: they used to fail
        # for every user, with no viewer to ask)
        page.goto(url + "/satisfaction?shop=S002&period=last7")
        wait_rendered(page)
        for kind in ("HTML", "PDF"):
            with page.expect_download(timeout=120_000) as info:
                page.get_by_role("button", name=f"周报 {kind}").click()
            path = tmp_path / f"weekly.{kind.lower()}"
            info.value.save_as(path)
            body = path.read_bytes()
            assert body.startswith(b"%PDF") if kind == "PDF" else "周报" in body.decode("utf-8"), kind
        # signing out: the sidebar's link asks, the button signs out, and the cookie is worthless after
        cookie = next(c for c in page.context.cookies() if c["name"] == accounts.COOKIE_NAME)
        page.goto(url + "/auth/logout")
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_selector("input[name=password]")
        request = urllib.request.Request(url + "/satisfaction",
                                         headers={"Cookie": f"{accounts.COOKIE_NAME}={cookie['value']}"})
        with urllib.request.urlopen(request, timeout=30) as resp:  # (redirected to the sign-in page)
            assert "/auth/login" in resp.url


def test_agent_has_their_own_page_only(server):
    url, _, _ = server
    with chromium() as page:
        _sign_in(page, url, "xiaoyi", "/agent")
        assert "客服个人" in page.locator("h1").first.inner_text()
        nav = " ".join(_nav(page))
        assert "客服个人" in nav and "客服绩效" not in nav and "满意度监测" not in nav
        page.goto(url + "/agent?shop=S001&agent=S001-A02")
        page.wait_for_selector("text=无权查看", timeout=60_000)
        page.screenshot(path=str(SHOTS / "accounts-agent-refused.png"), full_page=True)
        for path, title in (("overview", "店铺总览"), ("accounts", "账号与审计")):  # a page the role does not open
            page.goto(f"{url}/{path}")
            wait_rendered(page)
            body = page.inner_text("body")
            assert title in page.locator("h1").first.inner_text() and "无权查看" in body, body[:300]
            assert "Page not found" not in body and title not in " ".join(_nav(page))
        page.screenshot(path=str(SHOTS / "accounts-agent-page-refused.png"), full_page=True)


def test_one_time_link_signs_the_admin_in_once_and_the_audit_log_has_the_exports(server, tmp_path):
    url, _, link = server
    with chromium(height=1400) as page:
        page.goto(f"{url}/auth/link?token={link}")
        wait_rendered(page)
        assert any("数据管理" in n for n in _nav(page)) and any("账号与审计" in n for n in _nav(page))
        page.goto(f"{url}/accounts")
        wait_rendered(page)
        page.screenshot(path=str(SHOTS / "accounts-admin.png"), full_page=True)
        with page.expect_download() as info:
            page.get_by_role("button", name="下载 CSV").last.click()
        path = tmp_path / "audit.csv"
        info.value.save_as(path)
        log = path.read_bytes().decode("utf-8-sig")
        assert "lead" in log and "导出" in log and "客服绩效" in log  # the supervisor's download, recorded
        assert "登录" in log and "一次性链接" in log
    with chromium() as page:
        page.goto(f"{url}/auth/link?token={link}")
        assert "已使用" in page.inner_text("body")


def _api(url, token, query):
    request = urllib.request.Request(f"{url}/api/v1/metrics?{query}",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_api_answers_each_role_as_it_may(server):
    url, tokens, _ = server
    period = "start=2020-01-01&end=2030-12-31"
    assert _api(url, None, f"shop=S002&{period}")[0] == 401
    status, body = _api(url, tokens["lead"], f"shop=S002&{period}")
    assert status == 200 and body["shop_id"] == "S002" and "satisfaction_rate" in body["metrics"]
    assert _api(url, tokens["lead"], f"shop=S001&{period}")[0] == 403
    assert _api(url, tokens["xiaoyi"], f"shop=S001&agent=S001-A01&{period}")[0] == 200
    assert _api(url, tokens["xiaoyi"], f"shop=S001&{period}")[0] == 403
    assert _api(url, tokens["boss"], f"shop=S005&{period}")[0] == 200


def test_the_real_server_refuses_foreign_origins_and_forbids_framing(server):
    """What Streamlit alone would allow: a websocket from another port of this host, a page framed by
    another site, a sign-in posted from a sandboxed page."""
    import http.client

    url, _, _ = server
    with urllib.request.urlopen(url + "/auth/login", timeout=30) as resp:
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    host, port = url.split("//")[1].split(":")
    session = _signed_in_cookie(url, "boss")

    def handshake(origin: str) -> int:
        conn = http.client.HTTPConnection(host, int(port), timeout=20)
        conn.request("GET", "/_stcore/stream", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin, "Cookie": session})
        status = conn.getresponse().status
        conn.close()
        return status
    assert handshake(f"http://{host}:{port}") == 101  # this site, signed in
    for origin in (f"http://127.0.0.1:{int(port) + 1}", "http://localhost:1", "null", "https://evil.example"):
        assert handshake(origin) == 403, origin
    form = urllib.request.Request(url + "/auth/login", data=b"name=boss&password=x&csrf=x", method="POST",
                                  headers={"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(form, timeout=30)
    assert refused.value.code == 403
