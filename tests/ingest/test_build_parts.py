"""``build-parts`` on DuckDB as a user runs it: the same metrics as an import, rejected rows kept, hostile
shop ids, a repeated build, clear errors."""

import datetime as dt
import json
import shutil
import subprocess
import sys

import pytest

from insight.core.errors import UsageError
from insight.core.filters import Filters
from insight.core.periods import Period
from insight.ingest.importer import import_paths
from insight.ingest.parts import BASE_MARK, build_parts
from insight.metrics.engine import MetricEngine
from insight.present.exports import report_json
from insight.store import Store, open_parts

from conftest import Chat, messages_of, write_dataset

DAY = Period(dt.date(2024, 5, 10), dt.date(2024, 5, 10))
HOSTILE = ["../../etc", "'; DROP TABLE parts; --", "=HYPERLINK(\"http://x\")", "店铺/一"]


def _dataset(tmp_path):
    shops, chats, evals = [], [], []
    for i, shop in enumerate(HOSTILE):
        shops.append({"shop_id": shop, "shop_name": shop, "platform": "taobao", "category": "服饰", "tier": 1})
        for j in range(3 + i):
            session = f"s{i}-{j}"
            chats.append(Chat(session, f"b{i}{j}", "2024-05-10", shop_id=shop)
                         .buyer("10:00:00", "在吗").agent(f"10:0{j}:30", "在的").buyer("10:05:00", "好的"))
            evals.append({"session_id": session, "shop_id": shop, "buyer_id": f"b{i}{j}", "invited_by": "agent",
                          "invited_at": "2024-05-10 11:00:00", "rating": 5 - (j % 3), "rated_at": "2024-05-10 11:01:00"})
    # Two bad rows: a rating outside 1–5 and an unknown shop.
    evals.append({"session_id": "s0-0x", "shop_id": HOSTILE[0], "buyer_id": "bx", "invited_by": "agent",
                  "invited_at": "2024-05-10 11:00:00", "rating": 9, "rated_at": "2024-05-10 11:01:00"})
    evals.append({"session_id": "s9", "shop_id": "nobody", "buyer_id": "bx", "invited_by": "agent",
                  "invited_at": "2024-05-10 11:00:00", "rating": 4, "rated_at": "2024-05-10 11:01:00"})
    return write_dataset(tmp_path / "data", shops=shops, messages=messages_of(*chats), evaluations=evals)


def _report(store, shop):
    return json.loads(report_json(MetricEngine(store).report(shop, DAY,
                                                             Filters())))["metrics"]


def test_parts_give_the_imported_figures_for_hostile_shop_ids(tmp_path):
    data = _dataset(tmp_path)
    result = build_parts(str(data), str(tmp_path / "parts"))
    assert result.report.rejected == 2 and any((tmp_path / "parts" / "rejects").rglob("*"))
    assert sorted(p.name[:9] for p in (tmp_path / "parts" / "parts").iterdir()) == ["shop_key="] * len(HOSTILE)
    assert not (tmp_path / "etc").exists() and not (tmp_path / "parts" / "etc").exists()
    imported = Store(None)
    import_paths(imported, [data], classify=False)
    with imported, open_parts(tmp_path / "parts") as parts:
        assert sorted(parts.shops()["shop_id"]) == sorted(HOSTILE)
        for shop in HOSTILE:
            expected = _report(imported, shop)
            assert _report(parts, shop) == expected and expected["satisfaction_rate"] is not None


def test_a_repeated_build_and_a_build_from_its_base_change_nothing(tmp_path):
    data = _dataset(tmp_path)
    build_parts(str(data), str(tmp_path / "a"))
    build_parts(str(data), str(tmp_path / "a"), overwrite=True)  # again, into the same folder
    again = build_parts(str(tmp_path / "a" / "base"), str(tmp_path / "b"))  # validated tables: no second check
    assert again.report is None and (tmp_path / "a" / "base" / BASE_MARK).exists()
    from insight.derive import parts_difference

    diffs = parts_difference(tmp_path / "a", tmp_path / "b", tolerance=0)
    assert diffs["parts"]["rows_a"] > 0 and diffs["parts_tags"]["rows_a"] == 0  # no tags in this data
    for name, diff in diffs.items():
        assert diff["rows_a"] == diff["rows_b"] and diff["differing"] == 0, name
    with open_parts(tmp_path / "a") as a, open_parts(tmp_path / "b") as b:
        assert _report(a, HOSTILE[1]) == _report(b, HOSTILE[1])


def test_clear_errors(tmp_path):
    with pytest.raises(UsageError, match="不存在"):
        build_parts(str(tmp_path / "missing"), str(tmp_path / "out"))
    with pytest.raises(UsageError, match="engine"):
        build_parts(str(tmp_path), str(tmp_path / "out"), engine="polars")
    with pytest.raises(UsageError, match="spark"):
        build_parts("s3a://bucket/base", str(tmp_path / "out"), engine="duckdb")
    with pytest.raises(UsageError, match="manifest"):
        open_parts(tmp_path)
    out = subprocess.run([sys.executable, "-m", "insight", "metrics", "--parts", str(tmp_path), "--shop", "S1",
                          "--start", "2024-05-10", "--end", "2024-05-10"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "build-parts" in out.stderr and "Traceback" not in out.stderr


def test_other_sales_settings_are_refused_not_zero(tmp_path):
    build_parts(str(_dataset(tmp_path)), str(tmp_path / "parts"))
    from insight.core.settings import SalesSettings

    with open_parts(tmp_path / "parts") as store, pytest.raises(UsageError, match="销售口径"):
        MetricEngine(store).report(HOSTILE[0], DAY, Filters(),
                                   SalesSettings("payment"))


def test_the_spark_submit_entry_point_leaves_master_and_engine_to_spark_submit(tmp_path):
    from pathlib import Path

    job = Path(__file__).resolve().parents[2] / "deploy" / "spark_job.py"
    for extra in (["--master", "local[2]"], ["--engine", "duckdb"]):
        out = subprocess.run([sys.executable, str(job), "--input", str(tmp_path), "--output", str(tmp_path / "o"),
                              *extra], capture_output=True, text=True, timeout=120,
                             env={"PYTHONPATH": str(job.parents[1]), "PATH": "/usr/bin:/bin"})
        assert out.returncode == 2 and "spark-submit" in out.stderr


def test_a_build_that_fails_half_way_leaves_no_readable_folder(tmp_path, monkeypatch):
    data = _dataset(tmp_path)
    build_parts(str(data), str(tmp_path / "parts"))
    import insight.ingest.parts as parts_module

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(parts_module, "build_with_duckdb", broken)
    with pytest.raises(RuntimeError):
        build_parts(str(data), str(tmp_path / "parts"), overwrite=True)
    with pytest.raises(UsageError, match="manifest"):
        open_parts(tmp_path / "parts")


def test_an_output_folder_is_never_emptied_by_surprise(tmp_path, capsys):
    """A non-empty --output is refused without --overwrite (its folders used to be deleted silently); with
    it, only an earlier build's folder is replaced, and a symbolic link in it is neither followed nor
    removed (it used to end in an OSError)."""
    from insight.cli import main

    data = _dataset(tmp_path)
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("keep me")
    built = tmp_path / "built"
    build_parts(str(data), str(built))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me too")
    linked = tmp_path / "linked"
    build_parts(str(data), str(linked))
    shutil.rmtree(linked / "parts")
    (linked / "parts").symlink_to(elsewhere, target_is_directory=True)
    cases = [(["--output", str(keep)], "已存在且不为空"), (["--output", str(keep), "--overwrite"], "不是部件的内容"),
             (["--output", str(built)], "--overwrite"), (["--output", str(linked), "--overwrite"], "符号链接")]
    for extra, says in cases:
        assert main(["build-parts", "--input", str(data), *extra]) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err, err
    assert (keep / "notes.txt").read_text() == "keep me" and (elsewhere / "precious.txt").exists()
    assert main(["build-parts", "--input", str(data), "--output", str(built), "--overwrite"]) == 0


def test_a_parts_folder_with_a_link_or_a_foreign_file_is_refused_with_the_reason(tmp_path, capsys):
    from insight.cli import main

    out = tmp_path / "parts"
    build_parts(str(_dataset(tmp_path)), str(out))
    args = ["metrics", "--parts", str(out), "--shop", HOSTILE[3], "--start", "2024-05-10", "--end", "2024-05-10"]
    assert main(args) == 0
    capsys.readouterr()
    (out / "parts" / "bogus.parquet").write_text("not parquet")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "无法读取" in err and "Traceback" not in err, err
    (out / "parts" / "bogus.parquet").unlink()
    (out / "peers" / "etc.parquet").symlink_to("/etc/hostname")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "符号链接" in err and "Traceback" not in err, err
