"""The web layer without Streamlit: the middleware in front of a stand-in page, the sign-in pages and the API."""

from __future__ import annotations

import json
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


def _login(client, name, password=PASSWORD, next_path="/"):
    return client.post("/auth/login", data={"name": name, "password": password, "next": next_path},
                       headers={"Origin": "http://insight.test"})


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
    assert client.get("/auth/logout").status_code == 303
    assert client.get("/").status_code == 303


def test_no_account_yet_means_local_only(tmp_path):
    db = str(tmp_path / "empty.duckdb")
    Store(db).close()
    assert _client(db, "127.0.0.1").get("/").text == "本机:admin"
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
