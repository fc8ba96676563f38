"""Every command that opens the store works while `python -m insight serve` holds it (DuckDB locks every
other process out of the file): the command line finds the note the server left beside the store and the
server runs the command — the same output and exit code, files where the caller asked. Nobody but this
machine's caller holding the note's secret may use that endpoint; without a server the command runs itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from insight import Store, accounts, import_paths
from insight.store import served_by

from browser import insight_server
from conftest import REPO, Chat, write_dataset

DAY = "2024-05-10"


def _dataset(folder, prefix: str):
    chats = []
    for i in range(6):
        chat = (Chat(f"{prefix}{i}", f"b{prefix}{i}", day=DAY).buyer("10:00:00", "我要退货，怎么退？")
                .agent("10:00:20", "亲，可以申请的", agent_id="A1"))
        chats.extend(chat.rows)
    return write_dataset(folder, messages=chats, agents=[{"agent_id": "A1", "shop_id": "S1", "agent_name": "小一",
                                                          "kind": "human"}])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("beside")
    db = folder / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [_dataset(folder / "first", "c")])
        accounts.add_user(store.con, "boss", "admin", "correct horse")
    caller = folder / "caller"  # the command line's working directory: relative paths mean this folder
    caller.mkdir()
    _dataset(caller / "more", "d")
    with insight_server(db) as url:
        yield SimpleNamespace(db=db, url=url, caller=caller)
    assert served_by(db) is None  # the server took its note away when it stopped


def _cli(served, *args, stdin: str | None = None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("INSIGHT_DB", None)
    return subprocess.run([sys.executable, "-m", "insight", *args], cwd=served.caller, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_the_server_left_a_note_only_its_user_may_read(served):
    note = served_by(served.db)
    assert note is not None and note.url == served.url
    assert oct(os.stat(served.db.with_name(f".{served.db.name}.serving.json")).st_mode & 0o777) == "0o600"


def test_accounts_are_managed_beside_the_server(served):
    db = str(served.db)
    done = _cli(served, "users", "add", "lead", "--role", "supervisor", "--shops", "S1", "--db", db,
                stdin="another horse\n")
    assert done.returncode == 0 and "已新增 lead" in done.stdout and "经由该服务执行" in done.stderr, done
    listed = _cli(served, "users", "list", "--db", db)
    assert listed.returncode == 0 and "lead" in listed.stdout and "boss" in listed.stdout
    link = _cli(served, "users", "login-link", "boss", "--db", db, "--base-url", served.url)
    assert link.returncode == 0, link
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as signed_in:  # the link signs in: a redirect with the cookie
        opener.open(link.stdout.strip(), timeout=30)
    assert signed_in.value.code in (302, 303) and "insight_session" in str(signed_in.value.headers)
    wrong = _cli(served, "users", "remove", "nobody", "--db", db)  # the command's own error, as without a server
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines()[-1].startswith("错误") and not wrong.stdout


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_reports_settings_and_metrics_beside_the_server(served):
    db = str(served.db)
    weekly = _cli(served, "weekly", "--db", db, "--shop", "S1", "--end", DAY, "--out", "reports")
    assert weekly.returncode == 0, weekly
    written = list((served.caller / "reports").glob("*.html"))  # in the caller's folder, not the server's
    assert len(written) == 1 and "S1" in written[0].read_text(encoding="utf-8")
    metrics = _cli(served, "metrics", "--db", db, "--shop", "S1", "--start", DAY, "--end", DAY, "--json")
    assert metrics.returncode == 0 and json.loads(metrics.stdout)["metrics"]["consult_buyers"] == 6, metrics
    settings = _cli(served, "settings", "--db", db)
    assert settings.returncode == 0 and "stage_window_days" in settings.stdout, settings
    alerts = _cli(served, "alerts", "--shop", "S1", "--db", db, "--wait-seconds", "120")
    assert alerts.returncode == 0 and json.loads(alerts.stdout)["wait_seconds"] == 120, alerts


def test_import_and_training_beside_the_server(served):
    db = str(served.db)
    imported = _cli(served, "import", "more", "--db", db, "--json")  # a folder relative to the caller
    assert imported.returncode == 0, imported
    assert json.loads(imported.stdout)["tables"]["messages"]["accepted"] == 12
    metrics = _cli(served, "metrics", "--db", db, "--shop", "S1", "--start", DAY, "--end", DAY, "--json")
    assert json.loads(metrics.stdout)["metrics"]["consult_buyers"] == 12  # the server's pages see it too
    trained = _cli(served, "train", "--db", db, "--out", "model.joblib")
    assert trained.returncode == 0 and json.loads(trained.stdout)["corrections"] == 0, trained
    assert (served.caller / "model.joblib").exists()
    # the chats worth confirming, and the answers given on standard input, beside the server
    suggested = _cli(served, "scenarios", "suggest", "--db", db, "--shop", "S1", "--n", "2")
    assert suggested.returncode == 0, suggested
    ids = [json.loads(line)["session_id"] for line in suggested.stdout.splitlines()]
    answers = "".join(json.dumps({"session_id": i, "code": "aftersale.return.policy"}) + "\n" for i in ids)
    corrected = _cli(served, "scenarios", "correct", "--db", db, stdin=answers)
    assert corrected.returncode == 0 and json.loads(corrected.stdout)["corrected"] == len(ids) == 2, corrected


def test_the_endpoint_refuses_anyone_without_the_secret(served):
    note = served_by(served.db)
    body = json.dumps({"argv": ["users", "list", "--db", str(served.db)], "cwd": "/"}).encode()
    for headers in ({}, {"X-Insight-Secret": "guess"},
                    {"X-Insight-Secret": note.secret, "X-Forwarded-For": "203.0.113.9"}):  # through a proxy
        request = urllib.request.Request(f"{served.url}/api/v1/local/command", data=body,
                                         headers={"Content-Type": "application/json", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
    other = json.dumps({"argv": ["users", "list", "--db", str(served.caller / "other.duckdb")], "cwd": "/"}).encode()
    request = urllib.request.Request(f"{served.url}/api/v1/local/command", data=other,
                                     headers={"Content-Type": "application/json", "X-Insight-Secret": note.secret})
    with urllib.request.urlopen(request, timeout=30) as response:  # only the store it serves
        result = json.loads(response.read())
    assert result["code"] == 2 and "不是此服务的数据库" in result["stderr"]
    assert not (served.caller / "other.duckdb").exists()


def test_a_day_replayed_beside_the_server_moves_to_today_and_says_how_it_goes(served):
    """README's replay on a store that holds the day: sent as today's rows (new keys), accepted, with
    progress lines in a log (not a terminal) and the totals."""
    token = _cli(served, "users", "token", "boss", "--db", str(served.db))
    assert token.returncode == 0, token
    replayed = _cli(served, "replay", "more", "--url", served.url, "--token", token.stdout.strip(), "--speed", "1e6")
    assert replayed.returncode == 0, replayed
    totals = json.loads(replayed.stdout)
    assert totals["as_day"] != DAY and totals["accepted"] == totals["posted"] > 0 and totals["rejected"] == 0
    assert "当作" in replayed.stderr and "已发送" in replayed.stderr

