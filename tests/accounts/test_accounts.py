"""Accounts: users and scopes, password hashing, throttling, tokens, one-time links, session cookies, audit."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from insight import accounts
from insight.accounts import _users
from insight.core.access import LOCAL, Viewer
from insight.core.errors import AuthError, Forbidden, UsageError
from insight.store import Store


@pytest.fixture
def con():
    with Store(None) as store:
        store.con.execute("INSERT INTO shops (shop_id, shop_name, platform) VALUES ('S1', '一店', 'taobao'), "
                          "('S2', '二店', 'douyin'), ('S3', '三店', 'jd')")
        store.con.execute("INSERT INTO agents (agent_id, shop_id, agent_name, kind) VALUES "
                          "('S1-A1', 'S1', '小一', 'human'), ('S2-A1', 'S2', '小二', 'human')")
        yield store.con


def test_roles_and_scopes(con):
    admin = accounts.add_user(con, "boss", "admin", "correct horse")
    assert admin.shops is None and admin.pii and admin.may_import
    sup = accounts.add_user(con, "lead", "supervisor", "correct horse", shops=["S2", "S1"])
    assert sup.shops == frozenset({"S1", "S2"}) and not sup.pii and not sup.may_import
    agent = accounts.add_user(con, "xiaoyi", "agent", "correct horse", agent_id="S1-A1")
    assert agent.shops == frozenset({"S1"}) and agent.agent_id == "S1-A1"
    assert sup.visible_shops(["S1", "S2", "S3"]) == ["S1", "S2"]
    with pytest.raises(Forbidden):
        sup.require_shop("S3")
    agent.require_agent("S1", "S1-A1")
    with pytest.raises(Forbidden):
        agent.require_agent("S1", None)  # the shop's own view is the shop's, not the agent's
    with pytest.raises(Forbidden):
        agent.require_agent("S1", "S1-A2")
    sql, params = sup.scope_sql("shop_id")
    assert [r[0] for r in con.execute(f"SELECT shop_id FROM shops WHERE {sql} ORDER BY 1", params).fetchall()] == ["S1", "S2"]
    assert admin.scope_sql("x") == ("TRUE", [])
    listed = accounts.list_users(con)
    assert list(listed["name"]) == ["boss", "xiaoyi", "lead"] or set(listed["name"]) == {"boss", "lead", "xiaoyi"}


@pytest.mark.parametrize("kwargs, message", [
    ({"role": "supervisor"}, "至少一个店铺"),
    ({"role": "supervisor", "shops": ["S9"]}, "未知店铺"),
    ({"role": "agent"}, "客服ID"),
    ({"role": "agent", "agent_id": "nobody"}, "未知客服"),
    ({"role": "agent", "agent_id": "S1-A1", "shops": ["S2"]}, "属于店铺 S1"),
    ({"role": "admin", "agent_id": "S1-A1"}, "不绑定客服"),
    ({"role": "owner"}, "角色"),
])
def test_bad_scopes_are_refused(con, kwargs, message):
    role = kwargs.pop("role")
    with pytest.raises(UsageError, match=message):
        accounts.add_user(con, "u1", role, "long enough", **kwargs)
    assert not accounts.has_users(con)


def test_names_and_passwords_are_checked(con):
    for bad in ("", "a b", "x" * 65, "'; DROP TABLE users; --"):
        with pytest.raises(UsageError):
            accounts.add_user(con, bad, "admin", "long enough")
    with pytest.raises(UsageError, match="至少"):
        accounts.add_user(con, "boss", "admin", "short")
    accounts.add_user(con, "boss", "admin", "long enough")
    with pytest.raises(UsageError, match="已存在"):
        accounts.add_user(con, "boss", "admin", "long enough")


def test_passwords_are_argon2_hashes_and_verify(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    stored = con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.authenticate(con, "boss", "correct horse", "10.0.0.1").name == "boss"
    with pytest.raises(AuthError, match="用户名或密码错误"):
        accounts.authenticate(con, "boss", "wrong horse", "10.0.0.1")
    with pytest.raises(AuthError, match="用户名或密码错误"):  # the same answer for an unknown name
        accounts.authenticate(con, "nobody", "correct horse", "10.0.0.1")


def test_throttling_refuses_even_the_right_password(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(AuthError):
            accounts.authenticate(con, "boss", "guess", "10.0.0.2")
    with pytest.raises(AuthError, match="次数过多"):
        accounts.authenticate(con, "boss", "correct horse", "10.0.0.2")
    # once the window has passed, the right password works again
    con.execute("UPDATE login_failures SET failed_at = failed_at - INTERVAL 1 HOUR")
    assert accounts.authenticate(con, "boss", "correct horse", "10.0.0.2").name == "boss"


def test_one_client_guessing_many_names_is_throttled(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    for i in range(4 * accounts.MAX_FAILURES):
        with pytest.raises(AuthError):
            accounts.authenticate(con, f"name{i}", "guess", "10.0.0.3")
    with pytest.raises(AuthError, match="次数过多"):
        accounts.authenticate(con, "boss", "correct horse", "10.0.0.3")
    assert accounts.authenticate(con, "boss", "correct horse", "10.0.0.4").name == "boss"


def test_password_change_ends_sessions(con):
    boss = accounts.add_user(con, "boss", "admin", "correct horse")
    cookie = accounts.sign_session(con, boss)
    assert accounts.viewer_for_session(con, cookie) == boss
    with pytest.raises(AuthError, match="旧密码"):
        accounts.set_password(con, "boss", "battery staple", old_password="not it")
    accounts.set_password(con, "boss", "battery staple", old_password="correct horse")
    with pytest.raises(AuthError, match="已失效"):
        accounts.viewer_for_session(con, cookie)
    assert accounts.authenticate(con, "boss", "battery staple").name == "boss"


def test_session_cookies_expire_and_cannot_be_forged(con, monkeypatch):
    boss = accounts.add_user(con, "boss", "admin", "correct horse")
    lead = accounts.add_user(con, "lead", "supervisor", "correct horse", shops=["S1"])
    cookie = accounts.sign_session(con, lead)
    flipped = cookie[:3] + ("A" if cookie[3] != "A" else "B") + cookie[4:]
    for forged in ("", "x" * 2000, cookie[:-2] + ("xx" if not cookie.endswith("xx") else "yy"), flipped,
                   accounts.sign_session(con, boss).split(".")[0] + "." + ".".join(cookie.split(".")[1:])):
        with pytest.raises(AuthError):
            accounts.viewer_for_session(con, forged)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + accounts.SESSION_HOURS * 3600 + 5)
    with pytest.raises(AuthError, match="过期"):
        accounts.viewer_for_session(con, cookie)


def test_grants_changed_end_sessions(con):
    lead = accounts.add_user(con, "lead", "supervisor", "correct horse", shops=["S1"])
    cookie = accounts.sign_session(con, lead)
    wider = accounts.update_user(con, "lead", shops=["S1", "S2"])
    assert wider.shops == frozenset({"S1", "S2"}) and not wider.may_import
    assert accounts.update_user(con, "lead", can_import=True).may_import
    with pytest.raises(AuthError):
        accounts.viewer_for_session(con, cookie)


def test_api_tokens_are_hashed_and_revocable(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    token = accounts.issue_token(con, "boss")
    assert token.startswith("si_") and token not in str(con.execute("SELECT * FROM api_tokens").fetchall())
    assert accounts.viewer_for_token(con, token).name == "boss"
    for bad in ("", "si_nope", token + "x", "x" * 500):
        with pytest.raises(AuthError):
            accounts.viewer_for_token(con, bad)
    assert accounts.revoke_tokens(con, "boss") == 1
    with pytest.raises(AuthError, match="撤销"):
        accounts.viewer_for_token(con, token)


def test_login_links_are_one_time_and_expire(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    token = accounts.issue_login_link(con, "boss", minutes=5)
    assert accounts.redeem_login_link(con, token, "127.0.0.1").name == "boss"
    with pytest.raises(AuthError, match="已使用"):
        accounts.redeem_login_link(con, token)
    late = accounts.issue_login_link(con, "boss", minutes=5)
    con.execute("UPDATE login_links SET expires_at = ? WHERE used_at IS NULL",
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=1)])
    with pytest.raises(AuthError, match="过期"):
        accounts.redeem_login_link(con, late)


def test_removing_a_user_revokes_everything_and_keeps_an_admin(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    accounts.add_user(con, "lead", "supervisor", "correct horse", shops=["S1"])
    token = accounts.issue_token(con, "lead")
    link = accounts.issue_login_link(con, "lead")
    cookie = accounts.sign_session(con, accounts.viewer_for(con, "lead"))
    accounts.remove_user(con, "lead", by="boss")
    for check in (lambda: accounts.viewer_for_token(con, token), lambda: accounts.redeem_login_link(con, link),
                  lambda: accounts.viewer_for_session(con, cookie)):
        with pytest.raises(AuthError):
            check()
    with pytest.raises(UsageError, match="最后一个管理员"):
        accounts.remove_user(con, "boss")


def test_audit_log_records_who_did_what(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    accounts.add_user(con, "lead", "supervisor", "correct horse", shops=["S1"], by="boss")
    with pytest.raises(AuthError):
        accounts.authenticate(con, "lead", "wrong", "10.0.0.9")
    accounts.authenticate(con, "lead", "correct horse", "10.0.0.9")
    accounts.issue_token(con, "lead", by="boss")
    rows = accounts.audit_rows(con)
    seen = list(zip(rows["user_name"], rows["action"], rows["target"], rows["ok"]))
    assert ("boss", "user.add", "lead", True) in seen
    assert ("lead", "login", "10.0.0.9", False) in seen and ("lead", "login", "10.0.0.9", True) in seen
    assert ("boss", "token.issue", "lead", True) in seen
    assert list(accounts.audit_rows(con, user="lead", action="login")["ok"]) == [True, False]  # newest first
    assert "correct horse" not in str(con.execute("SELECT * FROM audit_log").fetchall())


def test_viewer_invariants():
    with pytest.raises(ValueError):
        Viewer("x", "supervisor")  # a supervisor without shops would see everything
    with pytest.raises(ValueError):
        Viewer("x", "agent", frozenset({"S1"}))
    assert LOCAL.is_admin and LOCAL.sees_shop("anything")


def test_unknown_names_take_as_long_as_wrong_passwords(con):
    accounts.add_user(con, "boss", "admin", "correct horse")
    assert _users._DUMMY_HASH.startswith("$argon2id$")

    def timed(name):
        t = time.perf_counter()
        with pytest.raises(AuthError):
            accounts.authenticate(con, name, "guess")
        return time.perf_counter() - t

    known, unknown = min(timed("boss") for _ in range(2)), min(timed("ghost") for _ in range(2))
    assert unknown > known / 4  # both verify one argon2 hash; a skipped hash would be ~100× faster


def test_users_cli(tmp_path, monkeypatch, capsys):
    import io

    from insight.cli import main

    db = str(tmp_path / "s.duckdb")

    def run(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["users", *argv, "--db", db])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("list")
    assert code == 2 and "不存在" in err  # (listing made an empty store)
    assert run("add", "boss", "--role", "admin", stdin="correct horse\n")[0] == 0
    assert "boss" in run("list")[1]
    code, _, err = run("add", "lead", "--role", "supervisor", stdin="correct horse\n")
    assert code == 2 and "至少一个店铺" in err
    code, out, _ = run("login-link", "boss", "--base-url", "https://insight.example.com/")
    assert code == 0 and out.startswith("https://insight.example.com/auth/link?token=")
    token = run("token", "boss")[1].strip()
    with Store(db) as store:
        assert accounts.viewer_for_token(store.con, token).name == "boss"
        link_token = out.strip().split("token=")[1]
        assert accounts.redeem_login_link(store.con, link_token).name == "boss"
    assert run("revoke-tokens", "boss")[1].startswith("已撤销 1")
    assert run("set-password", "boss", stdin="battery staple\n")[0] == 0
    with Store(db) as store:
        assert accounts.authenticate(store.con, "boss", "battery staple").name == "boss"
    code, _, err = run("remove", "boss")
    assert code == 2 and "最后一个管理员" in err


def test_imports_are_audited_failed_ones_too(tmp_path):
    from insight import import_paths
    from insight.core.errors import ImportFailed

    from conftest import SHOP, Chat, messages_of, write_dataset

    with Store(None) as store:
        good = write_dataset(tmp_path / "good", shops=[SHOP],
                             messages=messages_of(Chat("c1").buyer("10:00:00", "在吗").agent("10:01:00", "在的")))
        import_paths(store, [good], by="lead")
        bad = tmp_path / "bad"
        bad.mkdir()
        (bad / "messages.csv").write_text("nothing,useful\n1,2\n", encoding="utf-8")
        with pytest.raises(ImportFailed):
            import_paths(store, [bad], by="lead")
        rows = accounts.audit_rows(store.con, user="lead", action="import")
        assert list(rows["ok"]) == [False, True]
        assert "messages.csv" in rows["target"].iloc[1] and "读取" in rows["detail"].iloc[1]
        assert rows["detail"].iloc[0]


def test_a_supervisors_import_keeps_to_their_shops(tmp_path):
    from insight import import_paths
    from insight.core.errors import ImportFailed

    from conftest import SHOP, Chat, messages_of, write_dataset

    other = {**SHOP, "shop_id": "S2", "shop_name": "别人的店"}
    with Store(None) as store:
        base = write_dataset(tmp_path / "base", shops=[SHOP, other],
                             messages=messages_of(Chat("c0").buyer("09:00:00", "在吗").agent("09:01:00", "在的")))
        import_paths(store, [base])
        theirs = write_dataset(tmp_path / "mixed", shops=[SHOP, other],
                               messages=messages_of(Chat("c1").buyer("10:00:00", "在吗").agent("10:01:00", "在的"),
                                                    Chat("c2", shop_id="S2").buyer("11:00:00", "你好")),
                               peers=[{"platform": "taobao", "category": "服饰", "tier": 3, "metric": "satisfaction_rate",
                                       "period_start": "2024-05-01", "period_end": "2024-05-31", "peer_avg": 0.9,
                                       "peer_excellent": 0.95}])
        report = import_paths(store, [theirs], by="lead", allowed_shops={"S1"})
        reasons = {(r.column, r.reason.split("（")[0]) for t in report.tables.values() for r in t.reasons}
        assert ("shop_id", "无权导入店铺 'S2'") in reasons
        assert any("仅管理员" in r for _, r in reasons)  # peers belong to no shop
        assert store.con.execute("SELECT count(*) FROM messages WHERE shop_id = 'S2'").fetchone()[0] == 0
        assert store.con.execute("SELECT count(*) FROM messages WHERE session_id = 'c1'").fetchone()[0] == 2
        assert store.con.execute("SELECT count(*) FROM peers").fetchone()[0] == 0
        with pytest.raises(ImportFailed, match="无权导入店铺 'S2'"):
            import_paths(store, [theirs], allowed_shops={"S1"}, shop="S2")
