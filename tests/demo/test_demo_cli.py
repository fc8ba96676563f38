"""Demo data (determinism, coverage, plausible metrics) and the CLI contract."""

import contextlib
import datetime as dt
import filecmp
import io
import json
import os
import subprocess
import sys

import pytest

from insight import Filters, MetricEngine, Period, Store, import_paths
from insight.cli import main
from insight.core.settings import DEFAULT_ROBOT_NAMES
from insight.demo.generator import DemoConfig, write_demo
from insight.demo.text import BUYER
from insight.metrics import registry

from conftest import REPO

SMALL = DemoConfig(shops=10, days=28, seed=3, sessions_per_day=14)
LAST_WEEK = Period(dt.date(2026, 10, 25), dt.date(2026, 10, 31))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    summary = write_demo(folder, SMALL)
    db = folder / "store.duckdb"
    with Store(db) as store:
        report = import_paths(store, [folder])
    return folder, db, summary, report


def _process(*args):
    """``python -m insight …`` as a user runs it (the entry point, a process of its own)."""
    return subprocess.run([sys.executable, "-m", "insight", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def _run(*args):
    """The same command line through ``main`` in this process (what it prints, its exit code), without a
    Python start per call; the environment a command sets for itself is put back."""
    out, err, saved = io.StringIO(), io.StringIO(), dict(os.environ)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_demo_is_deterministic_per_seed(tmp_path):
    cfg = DemoConfig(shops=5, days=7, seed=11, sessions_per_day=8)
    write_demo(tmp_path / "a", cfg)
    write_demo(tmp_path / "b", cfg)
    write_demo(tmp_path / "c", DemoConfig(shops=5, days=7, seed=12, sessions_per_day=8))
    for name in ("messages.csv", "evaluations.csv", "orders.csv", "sessions.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False)
    assert not filecmp.cmp(tmp_path / "a" / "messages.csv", tmp_path / "c" / "messages.csv", shallow=False)


def test_demo_imports_cleanly_and_covers_every_scenario(demo):
    folder, db, summary, report = demo
    assert report.rejected == 0
    assert summary["messages"] == report.tables["messages"].inserted
    contents = set((folder / "messages.csv").read_text(encoding="utf-8").split('"'))
    for code, templates in BUYER.items():
        fixed = [t for t in templates if "{" not in t]
        assert any(t in contents for t in fixed), code


def test_demo_metrics_are_plausible(demo):
    _, db, _, _ = demo
    with Store(db, read_only=True) as store:
        engine = MetricEngine(store)
        shops = list(store.shops()["shop_id"])
        groups = store.shops().groupby(["platform", "category", "tier"]).size()
        assert (groups >= 5).all()
        sums = engine.sums(shops, LAST_WEEK, Filters(), group_by="shop")
        values, reasons, _, _ = engine.evaluate(sums, Filters())
        ranges = {
            "satisfaction_rate": (0.55, 0.99), "evaluation_rate": (0.3, 0.8),
            "reply_3min_rate_msg": (0.6, 0.995), "reply_3min_rate_session": (0.5, 0.995),
            "first_response_time": (5, 400), "no_service_rate": (0.0, 0.2), "fcr_3day": (0.4, 0.99),
            "aftersale_resolution_rate": (0.8, 1.0), "inquiry_pay_rate": (0.08, 0.7),
            "avg_refund_duration": (3600, 5 * 86400), "qa_ratio": (0.3, 2.5),
        }
        for key, (lo, hi) in ranges.items():
            col = values[key].dropna()
            assert len(col) == len(shops), (key, reasons[key].dropna().unique())
            assert lo <= col.median() <= hi, (key, col.median())
        total = sums.sum()
        assert 0.35 < total["ses_manual"] / (total["ses_manual"] + total["ses_robot"]) < 0.85
        assert total["ses_no_service"] > 0
        off = engine.sums(shops, LAST_WEEK, Filters(hours="off"))
        assert off["ses_manual"].iloc[0] > 0
        derived = store.con.execute("SELECT count(*) FROM f_sessions WHERE source = 'derived'").fetchone()[0]
        assert derived > 0  # every fourth shop exports no sessions table


def test_cli_metrics_json_contract(demo):
    _, db, _, _ = demo
    proc = _process("metrics", "--db", str(db), "--shop", "S001", "--start", "2026-10-25", "--end", "2026-10-31",
                    "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    keys = set(registry().keys())
    assert set(out["metrics"]) == keys and set(out["previous"]) == keys and set(out["peers"]) == keys
    assert all(set(p) == {"peer_avg", "peer_excellent"} for p in out["peers"].values())
    assert set(out["unavailable"]) <= keys
    for key, value in out["metrics"].items():
        assert (value is None) == (key in out["unavailable"]), key
    assert out["peers"]["satisfaction_rate"]["peer_avg"] is not None


def test_cli_filters_and_settings(demo):
    _, db, _, _ = demo
    base = ["metrics", "--db", str(db), "--shop", "S001", "--start", "2026-10-25", "--end", "2026-10-31", "--json"]
    robot = json.loads(_run(*base, "--channel", "robot").stdout)
    assert robot["metrics"]["reply_3min_rate_msg"] is None and "reply_3min_rate_msg" in robot["unavailable"]
    pay = json.loads(_run(*base, "--attribution", "payment", "--valid-days", "3").stdout)
    assert pay["settings"] == {"attribution": "payment", "valid_days": 3, "followup_not_loss": True}
    agent = json.loads(_run(*base, "--agent", "S001-A01").stdout)
    assert agent["metrics"]["silent_sales_amount"] is None


def test_cli_data_folder(tmp_path):
    folder = tmp_path / "tiny"
    write_demo(folder, DemoConfig(shops=5, days=5, seed=1, sessions_per_day=5))
    proc = _run("metrics", "--data", str(folder), "--shop", "S002", "--start", "2026-10-27", "--end",
                "2026-10-31", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["manual_sessions"] > 0


@pytest.mark.parametrize("args, fragment", [
    (["--shop", "NOPE", "--start", "2026-10-25", "--end", "2026-10-31"], "未知店铺"),
    (["--shop", "S001", "--start", "2026-13-01", "--end", "2026-10-31"], "--start"),
    (["--shop", "S001", "--start", "2026-10-31", "--end", "2026-10-01"], "早于"),
    (["--shop", "S001", "--start", "2026-10-25", "--end", "2026-10-31", "--channel", "human"], "--channel"),
    (["--shop", "S001", "--start", "2026-10-25", "--end", "2026-10-31", "--valid-days", "0"], "--valid-days"),
])
def test_cli_errors_are_one_line_and_non_zero(demo, args, fragment):
    _, db, _, _ = demo
    proc = _run("metrics", "--db", str(db), *args, "--json")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert proc.stdout == ""


def test_cli_missing_db_and_data(tmp_path):
    proc = _run("metrics", "--db", str(tmp_path / "none.duckdb"), "--shop", "S1", "--start", "2026-01-01",
                "--end", "2026-01-02", "--json")
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    proc = _run("import", "--db", str(tmp_path / "x.duckdb"), str(tmp_path / "missing"))
    assert proc.returncode != 0 and "不存在" in proc.stderr


def test_cli_settings_changes_the_stage_window(tmp_path):
    folder = tmp_path / "tiny"
    write_demo(folder, DemoConfig(shops=5, days=10, seed=4, sessions_per_day=5))
    db = tmp_path / "s.duckdb"
    assert _run("import", "--db", str(db), str(folder)).returncode == 0
    before = json.loads(_run("settings", "--db", str(db)).stdout)
    assert before == {"stage_window_days": 21, "session_gap_minutes": 30, "robot_names": list(DEFAULT_ROBOT_NAMES)}
    with Store(db, read_only=True) as store:
        after_21 = store.con.execute("SELECT count(*) FROM f_sessions WHERE stage = 'aftersale'").fetchone()[0]
    assert json.loads(_run("settings", "--db", str(db), "--stage-window-days", "3").stdout) == {
        "stage_window_days": 3, "session_gap_minutes": 30, "robot_names": list(DEFAULT_ROBOT_NAMES)}
    with Store(db, read_only=True) as store:
        after_3 = store.con.execute("SELECT count(*) FROM f_sessions WHERE stage = 'aftersale'").fetchone()[0]
    assert after_3 < after_21
