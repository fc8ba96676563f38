"""Benchmarks run each stage in its own process, so that its peak memory is its own: the parent calls
``run``, the child (the same script with ``--child STAGE JSON``) calls ``dispatch``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(script: str, stage: str, args: dict, env: dict | None = None) -> dict:
    """``child_<stage>(args)`` of ``script`` in a new process; what it returned (its last line, JSON)."""
    proc = subprocess.run([sys.executable, script, "--child", stage, json.dumps(args)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dispatch(child: list[str], namespace: dict) -> None:
    """In the child: run ``child_<stage>`` from ``namespace`` (the script's globals) and print its result."""
    stage, payload = child
    print(json.dumps(namespace[f"child_{stage}"](json.loads(payload))))
