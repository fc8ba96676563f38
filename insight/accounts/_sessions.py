"""Signed session cookies: the user's name and session epoch, signed with the store's secret; they
expire, and a password change, a change of grants or a sign-out everywhere ends them (the epoch moves)."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from insight.core.access import Viewer
from insight.core.errors import AuthError

from ._users import session_epoch, viewer_for

__all__ = ["COOKIE_NAME", "SESSION_HOURS", "session_secret", "sign_session", "viewer_for_session"]

COOKIE_NAME = "insight_session"
SESSION_HOURS = 12


def session_secret(con) -> str:
    """The store's signing secret, made on first use (whoever holds the store file holds the data anyway)."""
    row = con.execute("SELECT value FROM meta WHERE key = 'session_secret'").fetchone()
    if row:
        return row[0]
    secret = secrets.token_urlsafe(48)
    con.execute("INSERT OR IGNORE INTO meta VALUES ('session_secret', ?)", [secret])
    return con.execute("SELECT value FROM meta WHERE key = 'session_secret'").fetchone()[0]


def _serializer(con) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(con), salt="insight-session")


def sign_session(con, viewer: Viewer) -> str:
    return _serializer(con).dumps({"u": viewer.name, "e": session_epoch(con, viewer.name)})


def viewer_for_session(con, cookie: str | None, max_hours: float = SESSION_HOURS) -> Viewer:
    if not cookie or len(cookie) > 1000:
        raise AuthError("未登录")
    try:
        data = _serializer(con).loads(cookie, max_age=int(max_hours * 3600))
    except SignatureExpired:
        raise AuthError("登录已过期，请重新登录") from None
    except BadSignature:
        raise AuthError("登录信息无效，请重新登录") from None
    if not isinstance(data, dict) or session_epoch(con, str(data.get("u"))) != data.get("e"):
        raise AuthError("登录已失效（密码或权限已更改），请重新登录")
    return viewer_for(con, data["u"])
