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


def test_admin_creates_a_supervisor_and_sees_it_in_the_audit_log(db, open_app):
    at = open_app(db, "pages/accounts.py")
    assert "账号与审计" in at.title[0].value
    assert any("还没有账号" in i.value for i in at.info)
    at.text_input[0].input("lead")
    at.radio[0].set_value("supervisor")
    at.multiselect[0].set_value(["S001", "S002"])
    at.text_input[2].input("correct horse")
    form_button = [b for b in at.button if b.label == "创建账号"][0]
    form_button.click().run()
    assert not at.exception, [e.message for e in at.exception]
    with Store(db) as store:
        viewer = accounts.viewer_for(store.con, "lead")
        assert viewer.shops == frozenset({"S001", "S002"}) and viewer.role == "supervisor"
        log = accounts.audit_rows(store.con, action="user.add")
        assert list(log["target"]) == ["lead"] and list(log["user_name"]) == ["本机"]
    assert at.selectbox(key="manage_user").value == "lead"


def test_the_page_is_the_admins_only(db, open_app, monkeypatch):
    monkeypatch.setattr(auth, "_viewer_for_tests", Viewer("lead", "supervisor", frozenset({"S001"})))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_app(db, "pages/accounts.py")  # not in the supervisor's navigation
