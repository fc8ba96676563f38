"""The audit log: who did what, when — sign-ins (and failures), imports, exports, corrections, user
changes, settings."""

from __future__ import annotations

import datetime as dt

__all__ = ["audit", "audit_rows", "ACTION_LABELS"]

ACTION_LABELS = {
    "login": "登录", "logout": "退出", "user.add": "新增用户", "user.update": "修改权限", "user.remove": "删除用户",
    "user.password": "修改密码", "token.issue": "生成 API 令牌", "token.revoke": "撤销 API 令牌",
    "login_link.issue": "生成登录链接", "import": "导入数据", "export": "导出", "correction": "更正场景",
    "settings": "修改设置", "model": "训练模型", "preset": "保存预设", "api": "API 请求",
}


def audit(con, user: str, action: str, target: str = "", detail: str = "", ok: bool = True) -> None:
    """One entry (inside the caller's transaction when there is one: a rolled-back change leaves no entry)."""
    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)",
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), user or "", action, target or "",
                 (detail or "")[:500], bool(ok)])


def audit_rows(con, *, user: str | None = None, action: str | None = None, since=None, limit: int = 1000):
    """Newest first; times in UTC."""
    where, params = [], []
    if user:
        where.append("user_name = ?")
        params.append(user)
    if action:
        where.append("action = ?")
        params.append(action)
    if since is not None:
        where.append("logged_at >= ?")
        params.append(since)
    sql = ("SELECT logged_at, user_name, action, target, detail, ok FROM audit_log"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY logged_at DESC LIMIT ?")
    return con.execute(sql, params + [int(limit)]).df()
