"""Users, passwords, API tokens and one-time sign-in links, kept in the store."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from insight.core.access import ROLE_LABELS, ROLES, Viewer
from insight.core.errors import AuthError, UsageError
from insight.store import transaction

from ._audit import audit

__all__ = ["add_user", "remove_user", "set_password", "update_user", "list_users", "viewer_for", "has_users",
           "authenticate", "check_sign_in", "verify_password", "record_sign_in", "issue_token", "revoke_tokens", "viewer_for_token", "issue_login_link",
           "redeem_login_link", "session_binding", "MIN_PASSWORD", "MAX_FAILURES", "THROTTLE_MINUTES"]

MIN_PASSWORD = 8
MAX_PASSWORD = 256
# Sign-in throttling: this many failures for a name (or 4× as many from one client) within the window
# refuse further attempts, right or wrong, until the window has passed.
MAX_FAILURES = 5
THROTTLE_MINUTES = 15
LINK_MINUTES = 15
MAX_LINK_MINUTES = 7 * 24 * 60

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Compared against when the name is unknown, so that an unknown name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("insight-no-such-user")
_NAME = re.compile(r"[A-Za-z0-9_.@\-\u4e00-\u9fff]{1,64}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise UsageError("用户名须为 1–64 个字母、数字、汉字或 _ . @ -")
    return name


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UsageError(f"密码至少 {MIN_PASSWORD} 个字符")
    if len(password) > MAX_PASSWORD:  # what the sign-in form takes (it used to cut longer ones silently)
        raise UsageError(f"密码最多 {MAX_PASSWORD} 个字符")


def has_users(con) -> bool:
    return con.execute("SELECT count(*) FROM users").fetchone()[0] > 0


def _row(con, name: str):
    return con.execute("SELECT name, role, shops, agent_id, pii, can_import, password_hash, session_epoch "
                       "FROM users WHERE name = ?", [name]).fetchone()


def _viewer(row) -> Viewer:
    name, role, shops, agent_id, pii, can_import = row[:6]
    return Viewer(name=name, role=role, shops=None if role == "admin" else frozenset(shops or ()),
                  agent_id=agent_id, pii=bool(pii), can_import=bool(can_import))


def _scope_for(con, role: str, shops, agent_id) -> tuple[list[str] | None, str | None]:
    """Validate a role's scope against the store: shops that exist; an agent's one shop from the agents table."""
    if role not in ROLES:
        raise UsageError(f"角色须为 {' / '.join(ROLES)}")
    known = {r[0] for r in con.execute("SELECT shop_id FROM shops").fetchall()}
    shops = [s.strip() for s in (shops or []) if s and s.strip()]
    unknown = [s for s in shops if s not in known]
    if unknown:
        raise UsageError(f"未知店铺: {', '.join(unknown[:5])}（请先导入店铺，或检查店铺ID）")
    if role == "admin":
        if agent_id:
            raise UsageError("管理员账号不绑定客服")
        return None, None
    if role == "supervisor":
        if not shops:
            raise UsageError("主管账号须授权至少一个店铺（--shops S1,S2）")
        if agent_id:
            raise UsageError("主管账号不绑定客服；客服账号请用 --role agent")
        return sorted(set(shops)), None
    if not agent_id:
        raise UsageError("客服账号须指定本人的客服ID（--agent ID）")
    row = con.execute("SELECT shop_id FROM agents WHERE agent_id = ?", [agent_id]).fetchone()
    if row is None:
        raise UsageError(f"未知客服 {agent_id}（请先导入客服名单）")
    if shops and shops != [row[0]]:
        raise UsageError(f"客服 {agent_id} 属于店铺 {row[0]}")
    return [row[0]], agent_id


def add_user(con, name: str, role: str, password: str, *, shops=None, agent_id=None, pii=False,
             can_import=False, by: str = "本机") -> Viewer:
    _check_name(name)
    _check_password(password)
    if role == "admin":
        pii, can_import = True, True  # the 主账号 grants these, it always holds them
    with transaction(con):
        if _row(con, name) is not None:
            raise UsageError(f"用户 {name} 已存在")
        shop_list, agent = _scope_for(con, role, shops, agent_id)
        con.execute("INSERT INTO users (name, role, shops, agent_id, pii, can_import, password_hash, session_epoch, "
                    "created_at, password_changed_at, account_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    [name, role, shop_list, agent, bool(pii), bool(can_import), _hasher.hash(password), _now(), _now(),
                     secrets.token_urlsafe(16)])
        audit(con, by, "user.add", name, _scope_text(role, shop_list, agent, pii, can_import))
    return viewer_for(con, name)


def _scope_text(role: str, shops, agent: str | None = None, pii: bool = False, can_import: bool = False) -> str:
    """An account's grant as the audit log reads it: 角色 主管（子账号） · 店铺 S001,S002 · 可导入."""
    parts = [f"角色 {ROLE_LABELS.get(role, role)}", f"店铺 {','.join(shops) if shops else '全部'}"]
    parts += [f"客服账号 {agent}"] * bool(agent) + ["可看买家信息"] * bool(pii) + ["可导入"] * bool(can_import)
    return " · ".join(parts)


def update_user(con, name: str, *, role=None, shops=None, agent_id=None, pii=None, can_import=None,
                by: str = "本机") -> Viewer:
    """Change a user's role or grants; their open sessions end (the scope they were signed in with is gone)."""
    row = _row(con, name)
    if row is None:
        raise UsageError(f"没有用户 {name}")
    role = role or row[1]
    shops = shops if shops is not None else (row[2] if role != "admin" else None)
    agent_id = agent_id if agent_id is not None else (row[3] if role == "agent" else None)
    pii = row[4] if pii is None else pii
    can_import = row[5] if can_import is None else can_import
    if role == "admin":
        pii, can_import = True, True
    with transaction(con):
        shop_list, agent = _scope_for(con, role, shops, agent_id)
        con.execute("UPDATE users SET role = ?, shops = ?, agent_id = ?, pii = ?, can_import = ?, "
                    "session_epoch = session_epoch + 1 WHERE name = ?",
                    [role, shop_list, agent, bool(pii), bool(can_import), name])
        audit(con, by, "user.update", name, _scope_text(role, shop_list))
    return viewer_for(con, name)


def remove_user(con, name: str, by: str = "本机") -> None:
    with transaction(con):
        if _row(con, name) is None:
            raise UsageError(f"没有用户 {name}")
        remaining_admins = con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND name <> ?",
                                       [name]).fetchone()[0]
        if con.execute("SELECT role FROM users WHERE name = ?", [name]).fetchone()[0] == "admin" and not remaining_admins:
            raise UsageError("不能删除最后一个管理员")
        con.execute("DELETE FROM users WHERE name = ?", [name])
        con.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL", [_now(), name])
        con.execute("UPDATE login_links SET used_at = ? WHERE user_name = ? AND used_at IS NULL", [_now(), name])
        audit(con, by, "user.remove", name)


def set_password(con, name: str, password: str, *, old_password: str | None = None, by: str = "本机") -> None:
    """A new password; every session of the user ends. ``old_password``: a user changing their own."""
    _check_password(password)
    row = _row(con, name)
    if row is None:
        raise UsageError(f"没有用户 {name}")
    if old_password is not None and not _verify(row[6], old_password):
        audit(con, by, "user.password", name, "旧密码错误", ok=False)
        raise AuthError("旧密码不正确")
    with transaction(con):
        con.execute("UPDATE users SET password_hash = ?, password_changed_at = ?, session_epoch = session_epoch + 1 "
                    "WHERE name = ?", [_hasher.hash(password), _now(), name])
        # A one-time link issued before the reset would sign in without the new password.
        con.execute("UPDATE login_links SET used_at = ? WHERE user_name = ? AND used_at IS NULL", [_now(), name])
        audit(con, by, "user.password", name)


def list_users(con):
    return con.execute(
        """SELECT u.name, u.role, CASE WHEN u.role = 'admin' THEN '全部' ELSE array_to_string(u.shops, ',') END AS shops,
                  u.agent_id, u.pii, u.can_import, u.created_at,
                  (SELECT count(*) FROM api_tokens t WHERE t.user_name = u.name AND t.revoked_at IS NULL) AS tokens
           FROM users u ORDER BY u.role, u.name""").df()


def viewer_for(con, name: str) -> Viewer:
    row = _row(con, name)
    if row is None:
        raise AuthError("账号不存在或已被删除")
    return _viewer(row)


def session_binding(con, name: str) -> tuple[str | None, int | None]:
    """(account id, session epoch) of ``name``: what a session of theirs must still match."""
    row = con.execute("SELECT account_id, session_epoch FROM users WHERE name = ?", [name]).fetchone()
    return (None, None) if row is None else (row[0], int(row[1]))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Password checks (argon2id: ~0.1 s of a core and 64 MiB each) run at most this many at a time in a
# process; a sign-in that cannot start one within VERIFY_WAIT seconds is told to try again. A flood of
# sign-ins from rotating names and addresses then costs a bounded share of the machine.
MAX_VERIFYING = 2
VERIFY_WAIT = 3.0
_verifying = threading.BoundedSemaphore(MAX_VERIFYING)


def _throttled(con, name: str, client: str) -> bool:
    """Whether sign-ins for ``name`` or from ``client`` are refused for now. The first refusal of a
    window is audited; the next ones are not (each was a write: an anonymous flood filled the log)."""
    since = _now() - dt.timedelta(minutes=THROTTLE_MINUTES)
    by_name, by_client = con.execute(
        "SELECT count(*) FILTER (WHERE user_name = ?), count(*) FILTER (WHERE client = ? AND client <> '') "
        "FROM login_failures WHERE failed_at >= ?", [name, client, since]).fetchone()
    if by_name < MAX_FAILURES and by_client < 4 * MAX_FAILURES:
        return False
    said = con.execute("SELECT 1 FROM audit_log WHERE action = 'login' AND detail = 'throttled' AND logged_at >= ? "
                       "AND (user_name = ? OR (target = ? AND target <> '')) LIMIT 1",
                       [since, name[:64], client[:64]]).fetchone()
    if said is None:
        audit(con, name[:64], "login", client, "throttled", ok=False)
    return True


def check_sign_in(con, name: str, client: str = "") -> str | None:
    """The first step of a sign-in, on the store: raises ``AuthError`` when throttled; the password hash
    to verify (None for an unknown or malformed name, which is verified against a dummy all the same)."""
    if _throttled(con, name, client):
        raise AuthError(f"登录失败次数过多，请 {THROTTLE_MINUTES} 分钟后再试")
    row = _row(con, name) if _NAME.fullmatch(name or "") else None
    return row[6] if row else None


def verify_password(password_hash: str | None, password: str) -> bool:
    """The second step, without the store (callers run it outside any lock): at most ``MAX_VERIFYING``
    at a time; ``AuthError`` when the process is too busy to start one within ``VERIFY_WAIT``."""
    if not _verifying.acquire(timeout=VERIFY_WAIT):
        raise AuthError("登录请求过多，请稍后再试")
    try:
        return _verify(password_hash, password or "")
    finally:
        _verifying.release()


def record_sign_in(con, name: str, password: str, client: str, ok: bool) -> Viewer:
    """The last step, on the store: a failure is recorded (and the records older than the throttling
    window go) and raises ``AuthError``; a success clears the name's failures and returns its viewer."""
    now = _now()
    if not ok:
        con.execute("DELETE FROM login_failures WHERE failed_at < ?", [now - dt.timedelta(minutes=THROTTLE_MINUTES)])
        con.execute("INSERT INTO login_failures VALUES (?, ?, ?)", [name[:64], client[:64], now])
        audit(con, name[:64], "login", client, "用户名或密码错误", ok=False)
        raise AuthError("用户名或密码错误")
    row = _row(con, name)
    if row is None:  # removed between the steps
        raise AuthError("用户名或密码错误")
    if _hasher.check_needs_rehash(row[6]):
        con.execute("UPDATE users SET password_hash = ? WHERE name = ?", [_hasher.hash(password), name])
    con.execute("DELETE FROM login_failures WHERE user_name = ?", [name])
    audit(con, name, "login", client)
    return _viewer(row)


def authenticate(con, name: str, password: str, client: str = "") -> Viewer:
    """Check a password, with throttling per name and per client; attempts are audited. The three steps
    in one call (the sign-in page runs them apart, the check outside the store's lock)."""
    password_hash = check_sign_in(con, name, client)
    ok = verify_password(password_hash, password) and password_hash is not None
    return record_sign_in(con, name, password, client, ok)


def issue_token(con, name: str, by: str = "本机") -> str:
    """A new API token for ``name`` (shown once; only its hash is kept)."""
    viewer_for(con, name)
    token = "si_" + secrets.token_urlsafe(32)
    con.execute("INSERT INTO api_tokens VALUES (?, ?, ?, NULL, NULL)", [_digest(token), name, _now()])
    audit(con, by, "token.issue", name)
    return token


def revoke_tokens(con, name: str, by: str = "本机") -> int:
    n = con.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL",
                    [_now(), name]).fetchone()[0]
    audit(con, by, "token.revoke", name, f"{n} 个")
    return int(n)


def viewer_for_token(con, token: str) -> Viewer:
    if not token or len(token) > 200:
        raise AuthError("缺少或无效的 API 令牌")
    row = con.execute("SELECT user_name FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                      [_digest(token)]).fetchone()
    if row is None:
        raise AuthError("无效或已撤销的 API 令牌")
    con.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?", [_now(), _digest(token)])
    return viewer_for(con, row[0])


def issue_login_link(con, name: str, minutes: int = LINK_MINUTES, by: str = "本机") -> str:
    """A one-time sign-in token for ``name``, valid ``minutes`` (1 minute to 7 days); the caller builds the link."""
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_LINK_MINUTES:
        raise UsageError(f"登录链接有效期应为 1–{MAX_LINK_MINUTES} 分钟（7 天）")
    viewer_for(con, name)
    token = secrets.token_urlsafe(32)
    con.execute("INSERT INTO login_links VALUES (?, ?, ?, ?, NULL)",
                [_digest(token), name, _now(), _now() + dt.timedelta(minutes=int(minutes))])
    audit(con, by, "login_link.issue", name, f"{int(minutes)} 分钟")
    return token


def redeem_login_link(con, token: str, client: str = "") -> Viewer:
    with transaction(con):
        row = con.execute("SELECT user_name, expires_at, used_at FROM login_links WHERE token_hash = ?",
                          [_digest(token or "")]).fetchone()
        if row is None or row[2] is not None or row[1] < _now():
            audit(con, row[0] if row else "", "login", client, "登录链接无效、已使用或已过期", ok=False)
            raise AuthError("登录链接无效、已使用或已过期，请重新获取")
        con.execute("UPDATE login_links SET used_at = ? WHERE token_hash = ?", [_now(), _digest(token)])
        audit(con, row[0], "login", client, "一次性链接")
    return viewer_for(con, row[0])
