"""The hostile-input corpus (tests/ingest/hostile): every file imported by the CLI into a copy of a small
valid store; exit status, the message (file, line, column, why), the store unchanged when refused,
read = accepted + rejected, and nothing written outside the store's folder."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from insight import Store, import_paths
from insight.cli import main

from conftest import Chat, fingerprint, messages_of, write_dataset

HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = yaml.safe_load((HOSTILE / "cases.yaml").read_text(encoding="utf-8"))


def listing(root: Path, skip: Path | None = None) -> set[str]:
    return {str(p) for p in root.rglob("*") if skip is None or skip not in p.parents and p != skip}


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    ds = write_dataset(folder / "ds", agents=[{"agent_id": "A1", "shop_id": "S1", "agent_name": "小王", "kind": "human"}],
                       messages=messages_of(Chat("c1").buyer("10:00:00", "在吗").agent("10:00:05", "在的")))
    db = folder / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [ds])
    return db


def test_the_corpus_is_complete():
    files = {p.name for p in (HOSTILE / "files").iterdir()}
    named = {c["file"] for c in CASES}
    assert named == files, f"cases.yaml and files/ differ: {sorted(named ^ files)}"
    assert sum(1 for p in (HOSTILE / "files").rglob("*") if p.is_file()) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_hostile_input(case, base_store, tmp_path, monkeypatch):
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, value)
    # Inputs, store and working directory in separate folders, so a stray write shows up.
    inputs, store_dir, cwd = tmp_path / "in", tmp_path / "store", tmp_path / "cwd"
    for folder in (inputs, store_dir, cwd):
        folder.mkdir()
    source = HOSTILE / "files" / case["file"]
    target = inputs / case["file"]
    (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    db = store_dir / "store.duckdb"
    shutil.copy(base_store, db)
    before, outside_before = fingerprint(db), listing(tmp_path, skip=store_dir)
    monkeypatch.chdir(cwd)

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", "--db", str(db), "--report-dir", str(store_dir / "report"), "--json", str(target)])

    assert listing(tmp_path, skip=store_dir) == outside_before, "a file was written outside the store's folder"
    assert not list(Path(".").rglob("pwned*")) and not list(HOSTILE.rglob("pwned*"))
    after = fingerprint(db)
    assert {"shops", "messages", "sessions"} <= set(after)
    if case["outcome"] == "refused":
        message = err.getvalue().strip()
        assert code == 2, out.getvalue()
        assert len(message.splitlines()) == 1 and "Traceback" not in message
        assert case["file"] in message
        if "line" in case:
            assert f"第 {case['line']} 行" in message
        for text in case.get("says", []):
            assert text in message, message
        assert after == before, "a refused import changed the store"
        return
    assert code == 0, err.getvalue()
    report = json.loads(out.getvalue())
    tables = report["tables"]
    for t in tables.values():
        assert t["read"] == t["accepted"] + t["rejected"]
    rejected = sum(t["rejected"] for t in tables.values())
    accepted = sum(t["accepted"] for t in tables.values())
    reasons = [r for t in tables.values() for r in t["reasons"]]
    text = json.dumps(report, ensure_ascii=False)
    for needle in case.get("says", []):
        assert needle in text, needle
    if case["outcome"] == "imported":
        assert rejected == 0, reasons
        assert accepted == case["accepted"]
    else:
        assert rejected == case["rejected"]
        first = min(reasons, key=lambda r: (r["file"].endswith("sessions.csv"), r["line"]))
        assert first["line"] == case["line"] and first["column"] == case["column"]
        assert Path(first["file"]).name in {p.name for p in target.rglob("*")} | {target.name}
        assert (store_dir / "report" / "report.json").exists()
    if "stored" in case:
        sql, expected = case["stored"]
        con = duckdb.connect(str(db), read_only=True)
        assert con.execute(sql).fetchone()[0] == expected
        con.close()
    if accepted == 0 and case["outcome"] != "partial":
        assert after == before
