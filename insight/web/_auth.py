"""Authentication in front of every request: the session cookie (pages and their websocket), a bearer
token (the API), or — while the store has no account yet — the local machine only."""

from __future__ import annotations

import html
import ipaddress
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from insight import accounts
from insight.core.access import LOCAL, Viewer
from insight.core.errors import AuthError, StoreError

from ._body import TooLarge, read_body
from ._db import shared_store

__all__ = ["AuthMiddleware", "auth_routes", "VIEWER_KEY", "viewer_of", "is_local", "identify", "LocalOnly"]

VIEWER_KEY = "insight_viewer"  # where the middleware leaves the viewer in the ASGI scope's state
# Reachable without signing in: the sign-in pages and Streamlit's health probe (no data in either).
_OPEN_PATHS = ("/auth/login", "/auth/link", "/auth/logout", "/_stcore/health", "/healthz")
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


def _local_client(scope) -> bool:
    return is_local((scope.get("client") or ("", 0))[0], (k.decode("latin-1") for k, _ in scope.get("headers") or []))


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


class AuthMiddleware:
    """Pure ASGI middleware: runs before Streamlit for every HTTP request and websocket handshake."""

    def __init__(self, app, db_path: str):
        self.app, self.db_path = app, db_path

    def _identify(self, scope) -> Viewer:
        return identify(self.db_path, local=_local_client(scope), cookie=_cookie(scope), token=_bearer(scope),
                        api=scope["path"].startswith("/api/"))

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or scope["path"] in _OPEN_PATHS:
            return await self.app(scope, receive, send)
        try:
            viewer = await run_in_threadpool(self._identify, scope)
        except AuthError as exc:
            return await self._refuse(scope, receive, send, exc)
        scope.setdefault("state", {})[VIEWER_KEY] = viewer
        return await self.app(scope, receive, send)

    async def _refuse(self, scope, receive, send, exc: AuthError):
        message = str(exc)
        if scope["type"] == "websocket":  # refused before the handshake completes: the browser sees 403
            return await send({"type": "websocket.close", "code": 1008, "reason": "unauthenticated"})
        if scope["path"].startswith("/api/"):
            response: Response = JSONResponse({"error": message}, status_code=401,
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


def _login_form(next_path: str, error: str = "", name: str = "") -> str:
    err = f'<p class="err">{html.escape(error)}</p>' if error else ""
    return _page("登录", f"""{err}<form method="post" action="/auth/login">
<input type="hidden" name="next" value="{html.escape(next_path)}">
<label for="name">用户名</label><input id="name" name="name" autocomplete="username" value="{html.escape(name)}" required>
<label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button></form>
<p class="note">忘记密码请联系管理员；管理员可在服务器上运行 python -m insight users login-link 名字 获取一次性登录链接。</p>""")


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _signed_in(request: Request, viewer: Viewer, target: str, db_path: str) -> Response:
    store = shared_store(db_path)
    with store.lock:
        cookie = accounts.sign_session(store.con, viewer)
    response = RedirectResponse(_safe_next(target), status_code=303)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(accounts.COOKIE_NAME, cookie, max_age=accounts.SESSION_HOURS * 3600, path="/",
                        httponly=True, samesite="lax", secure=secure)
    return response


def _same_origin(request: Request) -> bool:
    """A form posted from another site (its Origin names another host) is refused."""
    origin = request.headers.get("origin")
    return not origin or origin == "null" or urlsplit(origin).netloc == request.headers.get("host")


def auth_routes(db_path: str):
    from starlette.routing import Route

    async def login_page(request: Request):
        return HTMLResponse(_login_form(_safe_next(request.query_params.get("next"))))

    async def login_submit(request: Request):
        if not _same_origin(request):
            return HTMLResponse(_page("登录", '<p class="err">请求来源不符，已拒绝</p>'), status_code=403)
        try:
            body = await read_body(request, _MAX_FORM_BYTES)
        except TooLarge:
            return HTMLResponse(_login_form("/", "请求过大"), status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        name, password, target = form.get("name", "")[:64], form.get("password", "")[:256], form.get("next", "/")

        def check():
            store = shared_store(db_path)
            with store.lock:
                return accounts.authenticate(store.con, name, password, _client(request))
        try:
            viewer = await run_in_threadpool(check)
        except AuthError as exc:
            return HTMLResponse(_login_form(_safe_next(target), str(exc), name), status_code=401)
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
            return HTMLResponse(_login_form("/", str(exc)), status_code=401)
        return _signed_in(request, viewer, "/", db_path)

    async def logout(request: Request):
        def forget():
            store = shared_store(db_path)
            with store.lock:
                try:
                    viewer = accounts.viewer_for_session(store.con, request.cookies.get(accounts.COOKIE_NAME))
                except AuthError:
                    return
                accounts.audit(store.con, viewer.name, "logout", _client(request))
        await run_in_threadpool(forget)
        response = RedirectResponse("/auth/login", status_code=303)
        response.delete_cookie(accounts.COOKIE_NAME, path="/")
        return response

    return [Route("/auth/login", login_page, methods=["GET"]), Route("/auth/login", login_submit, methods=["POST"]),
            Route("/auth/link", link, methods=["GET"]), Route("/auth/logout", logout, methods=["GET", "POST"])]
