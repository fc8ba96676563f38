"""账号与审计 (AppTest): an admin creates accounts and reads the audit log; nobody else gets the page."""

import shutil

import pytest

from insight import Store, accounts
from insight.core.access import Viewer
from insight.ui import auth


@pytest.fixture
def db(demo_db, tmp_path):
    path = tmp_path / "store.duckdb"
    shutil.copy(demo_db, path)
    return path


def _create(at, name, role, shops=()):
    at.text_input[0].input(name)
    at.radio[0].set_value(role)
    if shops:
        at.multiselect[0].set_value(list(shops))
    at.text_input[2].input("correct horse")
    [b for b in at.button if b.label == "创建账号"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]


def test_the_first_account_is_an_admin_handed_its_way_in(db, open_app):
    """This machine is the admin only until the first account exists: that account must be an admin, and the
    page says so and hands over a one-time sign-in link instead of a bare "未登录" on the next click."""
    at = open_app(db, "pages/accounts.py")
    assert any("还没有账号" in i.value for i in at.info)
    _create(at, "lead", "supervisor", ["S001"])
    assert any("第一个账号须为管理员" in e.value for e in at.error)
    with Store(db) as store:
        assert not accounts.has_users(store.con)
    _create(at, "boss", "admin")
    assert any("已创建第一个管理员 boss" in s.value for s in at.success)
    links = [e.proto.url for e in at.get("link_button")]
    assert len(links) == 1 and links[0].startswith("/auth/link?token=")
    with Store(db) as store:  # the link is the one a sign-in would accept
        assert accounts.viewer_for(store.con, "boss").role == "admin"
        assert accounts.audit_rows(store.con, action="user.add")["target"].tolist() == ["boss"]


def test_admin_creates_a_supervisor_and_sees_it_in_the_audit_log(db, open_app, monkeypatch):
    with Store(db) as store:
        accounts.add_user(store.con, "boss", "admin", "correct horse")
    monkeypatch.setattr(auth, "_viewer_for_tests", Viewer("boss", "admin", None))
    at = open_app(db, "pages/accounts.py")
    assert "账号与审计" in at.title[0].value
    _create(at, "lead", "supervisor", ["S001", "S002"])
    assert any("已创建 lead" in s.value for s in at.success)  # said after the rerun that lists it
    with Store(db) as store:
        viewer = accounts.viewer_for(store.con, "lead")
        assert viewer.shops == frozenset({"S001", "S002"}) and viewer.role == "supervisor"
        log = accounts.audit_rows(store.con, action="user.add")
        assert list(log.loc[log["target"] == "lead", "user_name"]) == ["boss"]
        assert list(log.loc[log["target"] == "lead", "detail"]) == ["角色 主管（子账号） · 店铺 S001,S002"]
    assert "lead" in at.selectbox(key="manage_user").options


def test_a_new_api_token_is_counted_in_the_table_it_is_shown_beside(db, open_app, monkeypatch):
    with Store(db) as store:
        accounts.add_user(store.con, "boss", "admin", "correct horse")
    monkeypatch.setattr(auth, "_viewer_for_tests", Viewer("boss", "admin", None))
    at = open_app(db, "pages/accounts.py")
    [b for b in at.button if b.label == "生成 API 令牌"][0].click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table.set_index("用户名").loc["boss", "有效 API 令牌"] == 1
    token = at.code[0].value
    with Store(db) as store:
        assert accounts.viewer_for_token(store.con, token).name == "boss"
    [b for b in at.button if b.label == "撤销全部 API 令牌"][0].click().run()
    assert at.dataframe[0].value.set_index("用户名").loc["boss", "有效 API 令牌"] == 0
    assert any("已撤销 boss 的 1 个令牌" in s.value for s in at.success)


def test_the_page_is_the_admins_only(db, open_app, monkeypatch):
    monkeypatch.setattr(auth, "_viewer_for_tests", Viewer("lead", "supervisor", frozenset({"S001"})))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_app(db, "pages/accounts.py")  # not in the supervisor's navigation
