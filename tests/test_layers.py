"""The package's layers (pyproject.toml, [tool.importlinter]): each layer imports only layers below
it, and only insight.ui imports streamlit. Function-level imports count too."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_broken_layer_is_caught(tmp_path):
    """The check is live: a copy of the package where core imports metrics fails it."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(REPO / "insight", copy / "insight", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    with open(copy / "insight" / "core" / "periods.py", "a", encoding="utf-8") as fh:
        fh.write("\nfrom insight.metrics import registry  # noqa: E402  (a layer violation on purpose)\n")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=copy, capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and "BROKEN" in result.stdout.upper()


def test_code_is_lint_clean():
    """pyflakes (unused imports and names, undefined names) and sorted imports (pyproject.toml)."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "insight", "pages", "tests", "bench", "app.py"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
