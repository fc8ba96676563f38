"""Authentication in front of every request: the session cookie (pages and their websocket), a bearer
token (the API), or — while the store has no account yet — the local machine only."""

from __future__ import annotations

import hmac
import html
import ipaddress
import os
import secrets
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from insight import accounts
from insight.core.access import LOCAL, Viewer
from insight.core.errors import AuthError, StoreError

from ._body import TooLarge, read_body
from ._db import shared_store

__all__ = ["AuthMiddleware", "auth_routes", "VIEWER_KEY", "viewer_of", "is_local", "local_request", "identify",
           "LocalOnly", "origin_allowed", "base_urls", "SECURITY_HEADERS"]

VIEWER_KEY = "insight_viewer"  # where the middleware leaves the viewer in the ASGI scope's state
# Reachable without signing in: the sign-in pages and Streamlit's health probe (no data in either).
# A command line beside the server (``_local``): it proves itself with the serving note's secret, not an account.
LOCAL_COMMAND_PATH = "/api/v1/local/command"
_OPEN_PATHS = ("/auth/login", "/auth/link", "/auth/logout", "/_stcore/health", "/healthz", LOCAL_COMMAND_PATH)
_MAX_FORM_BYTES = 4096


def is_loopback(host: str | None) -> bool:
    try:
        return bool(host) and (host == "localhost" or ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return False


_FORWARDED = ("x-forwarded-for", "forwarded", "x-real-ip")


def is_local(client: str | None, header_names) -> bool:
    """A request from this machine itself — not merely through a proxy running on it (a forwarded
    request names its real client in one of these headers)."""
    return is_loopback(client) and not any(str(h).lower() in _FORWARDED for h in header_names)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _host_name(netloc: str | None) -> str:
    return (urlsplit(f"//{netloc}").hostname or "") if netloc else ""


def base_urls() -> list[str]:
    """``INSIGHT_BASE_URL`` (comma-separated): the addresses the app is reached at through a proxy, e.g.
    https://insight.example.com — accepted as Origin, and as Host of a local-only server."""
    return [u.strip().rstrip("/") for u in os.environ.get("INSIGHT_BASE_URL", "").split(",") if u.strip()]


def local_request(client: str | None, headers: dict[str, str]) -> bool:
    """The local machine: a loopback peer, not forwarded by a proxy, asking for this machine by name (a page
    of another site whose name re-resolves to 127.0.0.1 — DNS rebinding — sends its own name as Host).
    ``headers``: lower-case names."""
    if not is_local(client, headers):
        return False
    host = _host_name(headers.get("host"))
    return host in _LOCAL_HOSTS or host in {urlsplit(u).hostname for u in base_urls()}


def _local_client(scope) -> bool:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
    return local_request((scope.get("client") or ("", 0))[0], headers)


def origin_allowed(scope) -> bool:
    """A browser request's Origin is this site: the Host it asked for, or a configured base URL. A
    request without Origin (not a browser, or a same-origin GET) passes; ``null`` (a sandboxed page, a
    file) does not."""
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc
    return bool(netloc) and origin != "null" and (
        netloc == _header(scope, b"host") or any(origin.rstrip("/") == u for u in base_urls()))


class LocalOnly(AuthError):
    """No account can be checked — none exists yet, or the store cannot be opened: this machine only."""


def identify(db_path: str, *, local: bool, cookie: str | None = None, token: str | None = None,
             api: bool = False) -> Viewer:
    """Who is asking — the one rule for the middleware (every request) and the pages (every run):
    the local machine while no account exists (or the store cannot be opened), else the API's bearer
    token or the pages' signed session cookie. Raises ``LocalOnly`` or ``AuthError``."""
    try:
        store = shared_store(db_path)
    except StoreError:
        if local:
            return LOCAL
        raise LocalOnly("数据库无法打开，仅本机可以访问（请在服务器上处理）") from None
    with store.lock:
        if not accounts.has_users(store.con):
            if local:
                return LOCAL
            raise LocalOnly("尚未创建账号：仅本机（127.0.0.1）可以访问。请在服务器上运行 "
                            "python -m insight users add 名字 --role admin")
        if api:
            return accounts.viewer_for_token(store.con, token or "")
        return accounts.viewer_for_session(store.con, cookie)


def viewer_of(scope) -> Viewer:
    return scope["state"][VIEWER_KEY]


def _cookie(scope) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                if name == accounts.COOKIE_NAME:
                    return val
    return None


def _bearer(scope) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" else None
    return None


# Every response: never framed by another site (clickjacking), no content sniffing, and a content policy
# that fits Streamlit (its scripts, inline styles and websocket) while data can load no remote image,
# script or frame.
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; media-src 'self' data: blob:; "
     b"frame-src 'self' blob: data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
     b"form-action 'self'; frame-ancestors 'none'"),
]


def _with_security_headers(send):
    async def sending(message):
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers") or []}
            message = {**message, "headers": [*(message.get("headers") or []),
                                              *((k, v) for k, v in SECURITY_HEADERS if k not in present)]}
        await send(message)
    return sending


class AuthMiddleware:
    """Pure ASGI middleware: runs before Streamlit for every HTTP request and websocket handshake."""

    def __init__(self, app, db_path: str):
        self.app, self.db_path = app, db_path

    def _identify(self, scope) -> Viewer:
        return identify(self.db_path, local=_local_client(scope), cookie=_cookie(scope), token=_bearer(scope),
                        api=scope["path"].startswith("/api/"))

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if scope["type"] == "http":
            send = _with_security_headers(send)
        # A websocket or a state-changing request from another site (another port of this host included:
        # Streamlit's own allow-list takes any port of localhost) never reaches the app with the cookie.
        if (scope["type"] == "websocket" or scope["method"] not in ("GET", "HEAD", "OPTIONS")) \
                and not scope["path"].startswith("/api/") and not origin_allowed(scope):
            return await self._refuse(scope, receive, send, AuthError("请求来源不符，已拒绝"), status=403)
        if scope["path"] in _OPEN_PATHS:
            return await self.app(scope, receive, send)
        try:
            viewer = await run_in_threadpool(self._identify, scope)
        except AuthError as exc:
            return await self._refuse(scope, receive, send, exc)
        scope.setdefault("state", {})[VIEWER_KEY] = viewer
        return await self.app(scope, receive, send)

    async def _refuse(self, scope, receive, send, exc: AuthError, status: int | None = None):
        message = str(exc)
        if scope["type"] == "websocket":  # refused before the handshake completes: the browser sees 403
            return await send({"type": "websocket.close", "code": 1008, "reason": "unauthenticated"})
        if status is not None:
            response: Response = HTMLResponse(_page("无法访问", f'<p class="err">{html.escape(message)}</p>'),
                                              status_code=status)
        elif scope["path"].startswith("/api/"):
            response = JSONResponse({"error": message}, status_code=401,
                                              headers={"WWW-Authenticate": 'Bearer realm="insight"'})
        elif scope["method"] == "GET" and not isinstance(exc, LocalOnly):  # signing in cannot help a LocalOnly
            target = scope["path"] + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
            response = RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303)
        else:
            response = HTMLResponse(_page("无法访问", f'<p class="err">{html.escape(message)}</p>'), status_code=403)
        return await response(scope, receive, send)


# -- sign-in pages -----------------------------------------------------------------------------------

def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)} · 服务洞察</title>
<style>body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;background:#f6f7f9;margin:0}}
main{{max-width:360px;margin:12vh auto;background:#fff;padding:32px;border-radius:12px;box-shadow:0 2px 12px #0001}}
h1{{font-size:22px;margin:0 0 4px}}p.sub{{color:#666;margin:0 0 24px}}label{{display:block;margin:14px 0 6px;color:#333}}
input{{width:100%;box-sizing:border-box;padding:10px;border:1px solid #ccd;border-radius:8px;font-size:15px}}
button{{margin-top:22px;width:100%;padding:11px;border:0;border-radius:8px;background:#ff4b4b;color:#fff;font-size:16px}}
.err{{color:#b00020;background:#fdecee;padding:10px;border-radius:8px}}.note{{color:#666;font-size:13px;margin-top:18px}}</style>
</head><body><main><h1>服务洞察</h1><p class="sub">{html.escape(title)}</p>{body}</main></body></html>"""


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //evil.example): anything else goes home."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


CSRF_COOKIE = "insight_csrf"


def _form_token(request: Request) -> tuple[str, bool]:
    """The sign-in forms' token (double submit: the same random value in a cookie only this site can set
    and in the form), and whether it is new (then the response sets the cookie)."""
    token = request.cookies.get(CSRF_COOKIE) or ""
    if len(token) == 43 and token.replace("-", "").replace("_", "").isalnum():
        return token, False
    return secrets.token_urlsafe(32), True


def _form_response(request: Request, body: str, status: int = 200) -> HTMLResponse:
    token, new = _form_token(request)
    response = HTMLResponse(body.replace("{csrf}", token), status_code=status)
    if new:
        response.set_cookie(CSRF_COOKIE, token, path="/auth", httponly=True, samesite="strict",
                            secure=_secure(request))
    return response


def _form_ok(request: Request, form: dict) -> bool:
    """A sign-in form posted from this site: its Origin (when sent) is this site and its token matches
    the cookie (a sandboxed page sends Origin: null and has no cookie of ours)."""
    cookie, sent = request.cookies.get(CSRF_COOKIE) or "", form.get("csrf", "")
    return origin_allowed(request.scope) and bool(cookie) and hmac.compare_digest(cookie, sent)


def _login_form(next_path: str, error: str = "", name: str = "") -> str:
    err = f'<p class="err">{html.escape(error)}</p>' if error else ""
    return _page("登录", f"""{err}<form method="post" action="/auth/login">
<input type="hidden" name="next" value="{html.escape(next_path)}"><input type="hidden" name="csrf" value="{{csrf}}">
<label for="name">用户名</label><input id="name" name="name" autocomplete="username" value="{html.escape(name)}" required>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button></form>
<p class="note">忘记密码请联系管理员；管理员可在服务器上运行 python -m insight users login-link 名字 获取一次性登录链接。</p>""")


def _logout_form() -> str:
    return _page("退出登录", """<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="{csrf}">
<p>确定退出登录吗？退出后本浏览器需要重新登录。</p><button type="submit">退出登录</button></form>
<p class="note"><a href="/">返回首页</a></p>""")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _signed_in(request: Request, viewer: Viewer, target: str, db_path: str) -> Response:
    store = shared_store(db_path)
    with store.lock:
        cookie = accounts.sign_session(store.con, viewer)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(accounts.COOKIE_NAME, cookie, max_age=accounts.SESSION_HOURS * 3600, path="/",
                        httponly=True, samesite="lax", secure=_secure(request))
    return response


async def _read_form(request: Request) -> dict | None:
    try:
        body = await read_body(request, _MAX_FORM_BYTES)
    except TooLarge:
        return None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def auth_routes(db_path: str):
    from starlette.routing import Route

    async def login_page(request: Request):
        return _form_response(request, _login_form(_safe_next(request.query_params.get("next"))))

    async def login_submit(request: Request):
        form = await _read_form(request)
        if form is None:
            return _form_response(request, _login_form("/", "请求过大"), status=413)
        target = form.get("next", "/")
        if not _form_ok(request, form):
            return _form_response(request, _login_form(_safe_next(target), "请求来源不符或表单已过期，请在本页重新登录"),
                                  status=403)
        # A password is at most 256 characters (accounts refuse longer ones): a longer one is wrong, not cut.
        name, password = form.get("name", "")[:64], form.get("password", "")[:1024]

        def check():
            # The store's lock (every request's sign-in check takes it) is held for the reads and the
            # record, never for the password hash: 0.1 s of argon2 each held it, and a flood of wrong
            # passwords from rotating names and addresses slowed every signed-in request 30-fold.
            store, client = shared_store(db_path), _client(request)
            with store.lock:
                password_hash = accounts.check_sign_in(store.con, name, client)
            ok = accounts.verify_password(password_hash, password)
            with store.lock:
                return accounts.record_sign_in(store.con, name, password, client, ok)
        try:
            viewer = await run_in_threadpool(check)
        except AuthError as exc:
            return _form_response(request, _login_form(_safe_next(target), str(exc), name), status=401)
        return _signed_in(request, viewer, target, db_path)

    async def link(request: Request):
        def redeem():
            store = shared_store(db_path)
            with store.lock:
                return accounts.redeem_login_link(store.con, request.query_params.get("token", "")[:200],
                                                  _client(request))
        try:
            viewer = await run_in_threadpool(redeem)
        except AuthError as exc:
            return _form_response(request, _login_form("/", str(exc)), status=401)
        return _signed_in(request, viewer, "/", db_path)

    async def logout_page(request: Request):
        """A link (the sidebar's 退出登录) asks; only a form posted from this site signs out (a GET that
        signed out let any site sign a user out)."""
        return _form_response(request, _logout_form())

    async def logout(request: Request):
        form = await _read_form(request)
        if form is None or not _form_ok(request, form):
            return _form_response(request, _logout_form().replace(
                "<form", '<p class="err">请求来源不符或表单已过期，请再点一次</p><form', 1), status=403)

        def forget():
            store = shared_store(db_path)
            with store.lock:
                name = accounts.end_session(store.con, request.cookies.get(accounts.COOKIE_NAME))
                if name:
                    accounts.audit(store.con, name, "logout", _client(request))
        await run_in_threadpool(forget)
        response = RedirectResponse("/auth/login", status_code=303)
        response.delete_cookie(accounts.COOKIE_NAME, path="/")
        return response

    return [Route("/auth/login", login_page, methods=["GET"]), Route("/auth/login", login_submit, methods=["POST"]),
            Route("/auth/link", link, methods=["GET"]), Route("/auth/logout", logout_page, methods=["GET"]),
            Route("/auth/logout", logout, methods=["POST"])]
