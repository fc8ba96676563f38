"""Property-based fuzzing of the readers and the importer (hypothesis): header names and cell
values with CJK, quotes, semicolons, NUL, newlines and long text. Every file is either imported
(read = accepted + rejected) or refused whole; a refused import changes nothing; no file appears
outside the store's folder. Bounded for CI (a fixed number of examples, derandomised); set
INSIGHT_FUZZ_EXAMPLES for a longer local run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insight import ImportFailed, Store, import_paths

from conftest import fingerprint, write_dataset

EXAMPLES = int(os.environ.get("INSIGHT_FUZZ_EXAMPLES", "20"))  # each a whole import; more with the variable
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PAYLOADS = ['"; DROP TABLE shops; --', "'); COPY (SELECT 1) TO 'pwned.csv'; --", "=cmd|' /C calc'!A0",
            "![x](http://127.0.0.1:9/x.png)", "a\x00b", "第一行\n第二行", "  ", "", "长" * 3000, "\ufeff", "\r",
            "S1", "2024-05-10 10:00:00", "buyer", "messages", "c0", "_line", "#1", "${x}", "*", "[a-z]"]
text = st.one_of(st.sampled_from(PAYLOADS),
                 st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
COLUMNS = ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "sent_at", "content"]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'
    return "\n".join(",".join(cell(v) for v in r) for r in [header, *rows]).encode("utf-8") + b"\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A store holding one chat, imported once: each example starts from a copy."""
    folder = tmp_path_factory.mktemp("fuzz-template")
    db = folder / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [write_dataset(folder / "base", messages=[
            {"message_id": "m0", "shop_id": "S1", "session_id": "c0", "buyer_id": "b", "sender_role": "buyer",
             "agent_id": "", "sent_at": "2024-05-10 09:00:00", "content": "在吗"}])], classify=False)
    return db


def _check(template: Path, make_file) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "store" / "store.duckdb"
        db.parent.mkdir()
        shutil.copyfile(template, db)  # closed, so the file holds everything (no write-ahead log beside it)
        inputs, cwd = tmp / "in", tmp / "cwd"
        inputs.mkdir()
        cwd.mkdir()
        path = make_file(inputs)
        before = fingerprint(db)
        outside = {p for p in tmp.rglob("*") if (tmp / "store") not in p.parents}
        old = os.getcwd()
        os.chdir(cwd)
        try:
            with Store(db) as store:
                report = import_paths(store, [path], classify=False)
        except ImportFailed as exc:
            assert str(exc).strip(), "a refusal says why"
            assert fingerprint(db) == before, "a refused import changed the store"
        else:
            for t in report.tables.values():
                assert t.read == t.accepted + t.rejected
                assert all(r.line >= 1 and r.column and r.reason for r in t.reasons)
        finally:
            os.chdir(old)
        assert {p for p in tmp.rglob("*") if (tmp / "store") not in p.parents} == outside
        assert not list(tmp.rglob("pwned*"))


@FUZZ
@given(extra_headers=st.lists(text, max_size=4), renamed=st.dictionaries(st.sampled_from(COLUMNS), text, max_size=2),
       cells=st.lists(st.lists(text, min_size=0, max_size=10), min_size=0, max_size=5))
def test_csv_headers_and_cells(template, extra_headers, renamed, cells):
    header = [renamed.get(c, c) for c in COLUMNS] + extra_headers
    rows = []
    for i, values in enumerate(cells):
        base = [f"f{i}", "S1", "c1", "b1", "buyer", "", f"2024-05-10 10:0{i}:00", "内容"]
        row = (values + base[len(values):])[:len(header)] if len(values) <= len(header) else values[:len(header)]
        rows.append(row + [""] * (len(header) - len(row)))

    def make(folder: Path) -> Path:
        path = folder / "messages.csv"
        path.write_bytes(_csv(header, rows))
        return path

    _check(template, make)


@FUZZ
@given(names=st.lists(text, min_size=1, max_size=5, unique=True), value=text)
def test_parquet_column_names(template, names, value):
    def make(folder: Path) -> Path:
        columns = {c: [v] for c, v in zip(COLUMNS, ["p1", "S1", "c1", "b1", "buyer", None, "2024-05-10 10:00:00", value])}
        for n in names:
            columns.setdefault(n, [value])
        path = folder / "messages.parquet"
        pq.write_table(pa.table(columns), path)
        return path

    _check(template, make)
