"""Accounts: users with roles and shop scopes, passwords (argon2id), API tokens, one-time sign-in
links, signed session cookies, throttling and the audit log. Imports ``store`` and ``core`` only."""

from ._audit import ACTION_LABELS, audit, audit_rows
from ._sessions import COOKIE_NAME, SESSION_HOURS, end_session, session_secret, sign_session, viewer_for_session
from ._users import (
    MAX_FAILURES,
    MIN_PASSWORD,
    THROTTLE_MINUTES,
    add_user,
    authenticate,
    check_sign_in,
    has_users,
    issue_login_link,
    issue_token,
    list_users,
    record_sign_in,
    redeem_login_link,
    remove_user,
    revoke_tokens,
    set_password,
    update_user,
    verify_password,
    viewer_for,
    viewer_for_token,
)

__all__ = ["add_user", "update_user", "remove_user", "set_password", "list_users", "viewer_for", "has_users",
           "authenticate", "check_sign_in", "verify_password", "record_sign_in", "issue_token", "revoke_tokens", "viewer_for_token", "issue_login_link",
           "redeem_login_link", "audit", "audit_rows", "ACTION_LABELS", "COOKIE_NAME", "SESSION_HOURS",
           "session_secret", "sign_session", "viewer_for_session", "end_session", "MIN_PASSWORD", "MAX_FAILURES",
           "THROTTLE_MINUTES"]
