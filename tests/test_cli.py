"""Command lines that used to end in a traceback or do something unasked (issue 24, internal errors):
each now gives one clear line and exit status 2, and changes nothing."""

from __future__ import annotations

import contextlib
import io

import pytest

from insight import Store, accounts, import_paths
from insight.cli import main

from conftest import Chat, messages_of, write_dataset


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "store.duckdb"
    with Store(path) as store:
        import_paths(store, [write_dataset(folder / "ds", messages=messages_of(
            Chat("c0").buyer("09:00:00", "在吗").agent("09:00:30", "在的")))])
        accounts.add_user(store.con, "boss", "admin", "correct horse")
    return path


def _run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("minutes", ["1000000000000", "0", "-5", "20000"])
def test_a_login_link_lives_from_a_minute_to_a_week(db, minutes):
    code, out, err = _run("users", "login-link", "boss", "--db", str(db), "--minutes", minutes)
    assert code == 2 and "1–10080 分钟" in err and "auth/link" not in out, (out, err)  # no dead link printed
    code, out, _ = _run("users", "login-link", "boss", "--db", str(db), "--minutes", "10080")
    assert code == 0 and "/auth/link?token=" in out


@pytest.mark.parametrize("command", [["list"], ["token", "boss"], ["remove", "boss"], ["login-link", "boss"]])
def test_users_commands_do_not_create_a_store(tmp_path, command):
    new = tmp_path / "never.duckdb"
    code, _, err = _run("users", *command, "--db", str(new))
    assert code == 2 and "不存在" in err and not new.exists() and not (tmp_path / "never.duckdb.work").exists()


@pytest.mark.parametrize("out", ["/proc/insight-weekly", "/dev/null/x"])
def test_weekly_to_a_place_that_cannot_be_written_says_so(db, out):
    code, _, err = _run("weekly", "--db", str(db), "--shop", "S1", "--out", out)
    assert code == 2 and "无法读写" in err and "Traceback" not in err, err


def test_a_password_longer_than_the_sign_in_form_takes_is_refused(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("p" * 300 + "\n"))
    code, _, err = _run("users", "add", "verbose", "--role", "admin", "--db", str(db))
    assert code == 2 and "最多 256" in err
