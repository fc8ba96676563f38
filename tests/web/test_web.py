"""The web layer without Streamlit: the middleware in front of a stand-in page, the sign-in pages and the API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from insight import accounts, web
from insight.store import Store

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("web") / "store.duckdb"
    shutil.copy(demo_db, path)
    with Store(path) as store:
        accounts.add_user(store.con, "boss", "admin", PASSWORD)
        accounts.add_user(store.con, "lead", "supervisor", PASSWORD, shops=["S001", "S002"])
        accounts.add_user(store.con, "xiaoyi", "agent", PASSWORD, agent_id="S001-A01")
    yield str(path)
    web.close_all()


def _app(db_path: str) -> Starlette:
    async def page(request):  # stands for Streamlit's pages: shows who the middleware let in
        viewer = web.viewer_of(request.scope)
        return PlainTextResponse(f"{viewer.name}:{viewer.role}")

    async def socket(websocket):
        await websocket.accept()
        await websocket.send_text(web.viewer_of(websocket.scope).name)
        await websocket.close()

    return Starlette(routes=web.routes(db_path) + [Route("/", page), Route("/shop", page),
                                                      WebSocketRoute("/_stcore/stream", socket)],
                     middleware=[Middleware(web.AuthMiddleware, db_path=db_path)])


@pytest.fixture(scope="module")
def tokens(db):
    with Store(db) as store:
        return {name: accounts.issue_token(store.con, name) for name in ("boss", "lead", "xiaoyi")}


def _client(db, host="10.1.2.3"):
    return TestClient(_app(db), base_url="http://insight.test", client=(host, 50000), follow_redirects=False)


def _form_token(client, path="/auth/login") -> str:
    """The sign-in form's token, as a browser gets it with the form (and its cookie)."""
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def _login(client, name, password=PASSWORD, next_path="/", origin="http://insight.test"):
    data = {"name": name, "password": password, "next": next_path, "csrf": _form_token(client)}
    return client.post("/auth/login", data=data, headers={"Origin": origin} if origin else {})


def _logout(client, origin="http://insight.test"):
    return client.post("/auth/logout", data={"csrf": _form_token(client, "/auth/logout")},
                       headers={"Origin": origin} if origin else {})


def test_pages_need_a_session(db):
    client = _client(db)
    r = client.get("/shop?shop=S003")
    assert r.status_code == 303 and r.headers["location"] == "/auth/login?next=%2Fshop%3Fshop%3DS003"
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text and 'value="/shop?shop=S003"' in form.text
    r = _login(client, "lead", next_path="/shop?shop=S003")
    assert r.status_code == 303 and r.headers["location"] == "/shop?shop=S003"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert client.get("/").text == "lead:supervisor"


def test_wrong_password_and_throttling(db):
    client = _client(db, "10.9.9.9")
    r = _login(client, "boss", "wrong")
    assert r.status_code == 401 and "用户名或密码错误" in r.text and "set-cookie" not in r.headers
    for _ in range(accounts.MAX_FAILURES):
        _login(client, "nobody-here", "wrong")
    assert "次数过多" in _login(client, "nobody-here", PASSWORD).text
    with Store(db) as store:  # the failures are audited with the client
        rows = accounts.audit_rows(store.con, user="nobody-here", action="login")
        assert set(rows["target"]) == {"10.9.9.9"} and not rows["ok"].any()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_no_open_redirect_after_login(db, target):
    r = _login(_client(db), "boss", next_path=target)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_forged_and_expired_cookies_are_refused(db):
    client = _client(db)
    good = _login(client, "lead").cookies[accounts.COOKIE_NAME]
    for bad in ("garbage", good[:-3] + "abc", good.replace(".", "..", 1)):
        fresh = _client(db)
        fresh.cookies.set(accounts.COOKIE_NAME, bad)
        assert fresh.get("/").status_code == 303
    with Store(db) as store:  # a password change ends the session
        accounts.set_password(store.con, "lead", PASSWORD)
    client.cookies.set(accounts.COOKIE_NAME, good)
    assert client.get("/").status_code == 303


def test_cross_site_login_post_is_refused(db):
    r = _client(db).post("/auth/login", data={"name": "boss", "password": PASSWORD},
                         headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_websocket_handshake_is_authenticated(db):
    client = _client(db)
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/_stcore/stream"):
            pass
    cookie = _login(client, "boss").cookies[accounts.COOKIE_NAME]
    with client.websocket_connect("/_stcore/stream", headers={"cookie": f"{accounts.COOKIE_NAME}={cookie}"}) as ws:
        assert ws.receive_text() == "boss"


def test_one_time_link_and_logout(db):
    with Store(db) as store:
        token = accounts.issue_login_link(store.con, "xiaoyi")
    client = _client(db)
    r = client.get(f"/auth/link?token={token}")
    assert r.status_code == 303 and client.get("/").text == "xiaoyi:agent"
    assert client.get(f"/auth/link?token={token}").status_code == 401  # used
    assert client.get("/auth/logout").status_code == 200 and client.get("/").text == "xiaoyi:agent"  # it asks
    assert _logout(client).status_code == 303
    assert client.get("/").status_code == 303


def test_no_account_yet_means_local_only(tmp_path):
    db = str(tmp_path / "empty.duckdb")
    Store(db).close()
    local = TestClient(_app(db), base_url="http://127.0.0.1:8501", client=("127.0.0.1", 50000), follow_redirects=False)
    assert local.get("/").text == "本机:admin"
    # DNS rebinding: a site whose name now resolves to 127.0.0.1 asks with its own name as Host
    for host in ("evil.example", "evil.example:8501", "127.0.0.1.evil.example"):
        r = local.get("/", headers={"Host": host})
        assert r.status_code == 403 and "仅本机" in r.text, host
    for host in ("localhost:8501", "[::1]:8501", "127.0.0.1"):
        assert local.get("/", headers={"Host": host}).text == "本机:admin", host
    r = _client(db, "192.168.1.20").get("/")
    assert r.status_code == 403 and "仅本机" in r.text
    assert _client(db, "192.168.1.20").get("/api/v1/metrics").status_code == 401
    # a reverse proxy on this machine forwards other machines' requests: not local
    proxied = _client(db, "127.0.0.1").get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403



# -- the API -----------------------------------------------------------------------------------------

def _api(db, token, **params):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return _client(db).get("/api/v1/metrics", params=params, headers=headers)


PERIOD = {"start": "2024-01-01", "end": "2030-12-31"}


def test_api_status_codes_per_role(db, tokens):
    cases = [
        (None, {"shop": "S001"}, 401), ("si_forged", {"shop": "S001"}, 401),
        (tokens["boss"], {"shop": "S003"}, 200), (tokens["boss"], {"shop": "S999"}, 404),
        (tokens["lead"], {"shop": "S002"}, 200), (tokens["lead"], {"shop": "S003"}, 403),
        (tokens["lead"], {"shop": "S999"}, 403),  # outside the scope: no telling whether it exists
        (tokens["lead"], {"shop": "S001", "agent": "S003-A01"}, 403),
        (tokens["xiaoyi"], {"shop": "S001", "agent": "S001-A01"}, 200),
        (tokens["xiaoyi"], {"shop": "S001"}, 403), (tokens["xiaoyi"], {"shop": "S001", "agent": "S001-A02"}, 403),
        (tokens["xiaoyi"], {"shop": "S002", "agent": "S001-A01"}, 403),
        (tokens["boss"], {"shop": "S001", "start": "2024-13-01"}, 400),
        (tokens["boss"], {"shop": "S001", "channel": "fax"}, 400),
        (tokens["boss"], {"shop": "S001", "bogus": "1"}, 400),
    ]
    for token, params, status in cases:
        r = _api(db, token, **{**PERIOD, **params})
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"].startswith("application/json")
        if status != 200:
            assert json.loads(r.text)["error"]


def test_api_returns_exactly_what_the_cli_prints(db, tokens):
    with Store(db) as store:
        first, last = store.data_range("S002")
    params = {"shop": "S002", "start": str(last.replace(day=1)), "end": str(last), "channel": "manual",
              "stage": "presale", "attribution": "payment", "valid_days": "3"}
    r = _api(db, tokens["boss"], **params)
    lead = _api(db, tokens["lead"], **params).json()
    web.close_all()  # the CLI opens the file in another process
    cli = subprocess.run([sys.executable, "-m", "insight", "metrics", "--db", db, "--shop", "S002", "--start",
                          params["start"], "--end", params["end"], "--channel", "manual", "--stage", "presale",
                          "--attribution", "payment", "--valid-days", "3", "--json"],
                         capture_output=True, text=True, check=True)
    assert r.text == cli.stdout.strip()
    # A supervisor gets the same figures; only the peer benchmark is over the shops outside their scope.
    printed = json.loads(cli.stdout)
    assert {k: v for k, v in lead.items() if not k.startswith("peers")} == \
        {k: v for k, v in printed.items() if not k.startswith("peers")}


def test_api_errors_are_json_never_html(db, tokens):
    client = _client(db)
    r = client.get("/api/v2/nothing", headers={"Authorization": f"Bearer {tokens['boss']}"})
    assert r.status_code == 404 and "error" in r.json()


def test_a_revoked_token_is_refused(db):
    with Store(db) as store:  # an account of its own: the other tests keep their tokens
        accounts.add_user(store.con, "temp", "supervisor", PASSWORD, shops=["S001"])
        token = accounts.issue_token(store.con, "temp")
    assert _api(db, token, shop="S001", **PERIOD).status_code == 200
    with Store(db) as store:
        accounts.revoke_tokens(store.con, "temp")
    r = _api(db, token, shop="S001", **PERIOD)
    assert r.status_code == 401 and "撤销" in r.json()["error"]


def test_an_unexpected_failure_is_still_json(db, tokens, monkeypatch):
    from insight.metrics.engine import MetricEngine

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(MetricEngine, "report", broken)
    r = _api(db, tokens["boss"], shop="S001", **PERIOD)
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    assert "disk on fire" not in r.text and r.json()["error"]


# -- sessions and sign-in against a hostile site (issue 24, items 10-14, 17) ---------------------------

def test_sign_out_ends_the_session_even_for_a_kept_cookie(db):
    client = _client(db)
    cookie = _login(client, "lead").cookies[accounts.COOKIE_NAME]
    assert _logout(client).status_code == 303
    kept = _client(db)
    kept.cookies.set(accounts.COOKIE_NAME, cookie)
    assert kept.get("/").status_code == 303  # (it worked for up to 12 hours)
    with pytest.raises(WebSocketDisconnect):
        with kept.websocket_connect("/_stcore/stream", headers={"Origin": "http://testserver"}):
            pass


def test_sign_out_from_another_site_does_nothing(db):
    client = _client(db)
    _login(client, "lead")
    token = _form_token(client, "/auth/logout")
    for origin in ("https://evil.example", "null"):
        r = client.post("/auth/logout", data={"csrf": token}, headers={"Origin": origin})
        assert r.status_code == 403, origin
    r = client.post("/auth/logout", data={"csrf": "x" * 43}, headers={"Origin": "http://insight.test"})
    assert r.status_code == 403  # a token that is not the cookie's
    assert client.get("/").text == "lead:supervisor"


def test_sign_in_from_a_sandboxed_or_foreign_page_is_refused(db):
    client = _client(db)
    for origin in ("null", "https://evil.example", "http://insight.test:9999"):
        r = _login(client, "boss", origin=origin)
        assert r.status_code == 403 and accounts.COOKIE_NAME not in r.cookies, origin
    r = client.post("/auth/login", data={"name": "boss", "password": PASSWORD})  # no form token: no cookie
    assert r.status_code == 403
    assert _login(client, "boss").status_code == 303


def test_a_recreated_account_does_not_bring_old_cookies_back(db):
    with Store(db) as store:
        accounts.add_user(store.con, "recreated", "supervisor", PASSWORD, shops=["S001"])
    client = _client(db)
    cookie = _login(client, "recreated").cookies[accounts.COOKIE_NAME]
    assert client.get("/").text == "recreated:supervisor"
    with Store(db) as store:
        accounts.remove_user(store.con, "recreated")
        accounts.add_user(store.con, "recreated", "admin", PASSWORD)  # same name, another person, more rights
    old = _client(db)
    old.cookies.set(accounts.COOKIE_NAME, cookie)
    assert old.get("/").status_code == 303
    with Store(db) as store:
        accounts.remove_user(store.con, "recreated")


def test_a_one_time_link_dies_with_a_password_reset(db):
    with Store(db) as store:
        token = accounts.issue_login_link(store.con, "lead")
        accounts.set_password(store.con, "lead", PASSWORD)
    assert _client(db).get(f"/auth/link?token={token}").status_code == 401


def test_passwords_longer_than_the_form_takes_are_refused_not_cut(db):
    with Store(db) as store, pytest.raises(Exception, match="最多 256"):
        accounts.add_user(store.con, "longpw", "admin", "x" * 300)
    with Store(db) as store:
        accounts.set_password(store.con, "lead", "y" * 256)
    try:
        client = _client(db)
        assert _login(client, "lead", "y" * 256).status_code == 303
        assert _login(_client(db), "lead", "y" * 256 + "z").status_code == 401  # not cut to 256 and let in
    finally:
        with Store(db) as store:
            accounts.set_password(store.con, "lead", PASSWORD)


def test_a_websocket_from_another_port_or_site_is_refused(db):
    client = _client(db)
    cookie = _login(client, "boss").cookies[accounts.COOKIE_NAME]
    headers = {"cookie": f"{accounts.COOKIE_NAME}={cookie}"}
    for origin in ("http://insight.test:8502", "http://127.0.0.1:8501", "https://evil.example", "null"):
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/_stcore/stream", headers={**headers, "Origin": origin}):
                pass
    # (the test client asks websockets for host "testserver")
    with client.websocket_connect("/_stcore/stream", headers={**headers, "Origin": "http://testserver"}) as ws:
        assert ws.receive_text() == "boss"


def test_a_configured_base_url_is_this_site(db, monkeypatch):
    """Behind a proxy that does not pass the Host on, INSIGHT_BASE_URL names the public address."""
    monkeypatch.setenv("INSIGHT_BASE_URL", "https://insight.example.com")
    client = _client(db)
    assert _login(client, "boss", origin="https://insight.example.com").status_code == 303


def test_every_response_forbids_framing_and_remote_content(db, tokens):
    client = _client(db)
    _login(client, "boss")
    for r in (client.get("/auth/login"), client.get("/"), _client(db).get("/"),
              client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {tokens['boss']}"})):
        assert r.headers["x-frame-options"] == "DENY"
        policy = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "img-src 'self' data: blob:" in policy
        assert r.headers["x-content-type-options"] == "nosniff"


def test_serve_sets_every_server_option_itself():
    """`serve` from another folder does not read .streamlit/config.toml: its options are the same, in code."""
    import tomllib

    from insight.ui.server import SERVER_OPTIONS

    from conftest import REPO

    toml = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    declared = {f"{section}.{key}": value for section, values in toml.items() for key, value in values.items()}
    declared.pop("server.address")  # (serve takes --host)
    assert {k: SERVER_OPTIONS.get(k) for k in declared} == declared
    assert SERVER_OPTIONS["client.showErrorDetails"] == "type"


def test_a_password_check_never_holds_up_the_others(db, monkeypatch):
    """A flood of wrong passwords from rotating names and addresses slowed every signed-in request from
    54 ms to 1.8 s: argon2 ran inside the store's lock that every request's check takes. Now it runs
    outside it, two at a time at most; a sign-in that cannot start one soon is told to try again."""
    import threading
    import time

    from insight.accounts import _users

    signed = _client(db)
    _login(signed, "boss")
    real, started = _users._verify, threading.Event()

    def slow(password_hash, password):
        started.set()
        time.sleep(1.0)
        return real(password_hash, password)
    monkeypatch.setattr(_users, "_verify", slow)
    monkeypatch.setattr(_users, "VERIFY_WAIT", 0.2)
    answers: list[int] = []
    flood = [threading.Thread(target=lambda i=i: answers.append(
        _login(_client(db, f"10.7.0.{i}"), f"nobody{i}", "wrong").status_code)) for i in range(4)]
    for t in flood:
        t.start()
    started.wait(5)
    t0 = time.monotonic()
    assert signed.get("/").text == "boss:admin"
    assert time.monotonic() - t0 < 0.5  # (it waited for the hash before)
    for t in flood:
        t.join(10)
    assert sorted(answers) == [401, 401, 401, 401], answers  # two checked, two told to try again
    busy = _login(_client(db, "10.7.1.1"), "nobody", "wrong")
    assert busy.status_code == 401


def test_a_throttled_flood_writes_almost_nothing(db):
    """Each throttled attempt wrote an audit row: 3,174 of them in 15 s from one anonymous client. Now the
    first refusal of a window is recorded, and failures older than the window are forgotten."""
    client = _client(db, "10.8.8.8")
    for i in range(4 * accounts.MAX_FAILURES + 30):
        _login(client, f"ghost{i}", "wrong")
    with Store(db) as store:
        rows = accounts.audit_rows(store.con, action="login")
        throttled = rows[(rows["detail"] == "throttled") & (rows["target"] == "10.8.8.8")]
        assert len(throttled) == 1, len(throttled)
        failures = store.con.execute("SELECT count(*) FROM login_failures WHERE client = '10.8.8.8'").fetchone()[0]
        assert failures == 4 * accounts.MAX_FAILURES
