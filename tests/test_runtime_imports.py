"""`make run` installs requirements.txt only: no module of the app may need a test, lint, browser or Spark
package to import (those are imported lazily where they are used, and say how to install them)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV_ONLY = ["pyspark", "py4j", "sqlglot", "pytest", "hypothesis", "playwright", "importlinter", "httpx", "xdist"]

PROGRAM = f"""
import importlib, pkgutil, sys
for name in {DEV_ONLY!r}:
    sys.modules[name] = None  # importing it raises ImportError, as on a runtime-only install
import insight
for module in pkgutil.walk_packages(insight.__path__, "insight."):
    if module.name != "insight.__main__":  # runs the command line
        importlib.import_module(module.name)
print("ok")
"""


def test_every_app_module_imports_without_the_dev_and_spark_packages():
    out = subprocess.run([sys.executable, "-c", PROGRAM], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
