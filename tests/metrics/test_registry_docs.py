"""The registry covers METRICS.md, and docs/metrics.md is generated from it."""

import re

from insight.metrics import registry
from insight.present.docs import BEGIN, END, metric_reference

from conftest import REPO


def test_every_metric_of_metrics_md_is_declared(shared_dir):
    text = (shared_dir / "METRICS.md").read_text(encoding="utf-8")
    keys = set(re.findall(r"^\| ([a-z0-9_]+) \|", text, flags=re.M)) - {"key"}
    assert len(keys) >= 25
    assert keys <= set(registry().keys())
    for extra in ("consult_buyers", "received_buyers", "reply_rate"):
        assert extra in registry().keys()


def test_registry_entries_are_complete():
    for metric in registry():
        assert metric.name and metric.unit and metric.description and metric.format
        assert metric.direction in ("up", "down", "none")
        if metric.type in ("ratio", "mean"):
            assert metric.base, metric.key


def test_readme_metric_reference_is_generated_from_the_registry():
    readme = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == metric_reference().strip(), "run: python -m insight docs"
