"""Signed-in browser sessions. A sign-in records a session (the hash of a random token) for the account's
random id; the cookie names it, signed with the store's secret. A session ends when it expires, when
its user signs out (the record is ended: the cookie is worthless from then on, even if kept), when the
password or the grants change (the account's epoch moves), or when the account is removed — a
re-created account of the same name has another id, so an old cookie never comes back to life."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from insight.core.access import Viewer
from insight.core.errors import AuthError

from ._users import session_binding, viewer_for

__all__ = ["COOKIE_NAME", "SESSION_HOURS", "session_secret", "sign_session", "viewer_for_session", "end_session"]

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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign_session(con, viewer: Viewer) -> str:
    """Record a new session of ``viewer`` and return the cookie that names it."""
    account, epoch = session_binding(con, viewer.name)
    token, now = secrets.token_urlsafe(32), _now()
    # Sessions long over are forgotten (the table holds the signed-in ones and a day of ended ones).
    con.execute("DELETE FROM web_sessions WHERE expires_at < ? OR ended_at < ?", [now, now - dt.timedelta(days=1)])
    con.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, NULL)",
                [_digest(token), viewer.name, account, now, now + dt.timedelta(hours=SESSION_HOURS)])
    return _serializer(con).dumps({"u": viewer.name, "a": account, "s": token, "e": epoch})


def _claims(con, cookie: str | None, max_hours: float) -> dict:
    if not cookie or len(cookie) > 1000:
        raise AuthError("未登录")
    try:
        data = _serializer(con).loads(cookie, max_age=int(max_hours * 3600))
    except SignatureExpired:
        raise AuthError("登录已过期，请重新登录") from None
    except BadSignature:
        raise AuthError("登录信息无效，请重新登录") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("u", "a", "s")):
        raise AuthError("登录信息无效，请重新登录")  # (a cookie of an older version, too)
    return data


def viewer_for_session(con, cookie: str | None, max_hours: float = SESSION_HOURS) -> Viewer:
    data = _claims(con, cookie, max_hours)
    if session_binding(con, data["u"]) != (data["a"], data.get("e")):
        raise AuthError("登录已失效（密码或权限已更改，或账号已重建），请重新登录")
    live = con.execute("SELECT 1 FROM web_sessions WHERE session_hash = ? AND user_name = ? AND account_id = ? "
                       "AND ended_at IS NULL AND expires_at > ?",
                       [_digest(data["s"]), data["u"], data["a"], _now()]).fetchone()
    if live is None:
        raise AuthError("已退出登录或登录已失效，请重新登录")
    return viewer_for(con, data["u"])


def end_session(con, cookie: str | None) -> str | None:
    """Sign-out: the session the cookie names ends (its user's name, None when it names none)."""
    try:
        data = _claims(con, cookie, SESSION_HOURS)
    except AuthError:
        return None
    ended = con.execute("UPDATE web_sessions SET ended_at = ? WHERE session_hash = ? AND ended_at IS NULL",
                        [_now(), _digest(data["s"])]).fetchone()[0]
    return data["u"] if ended else None
