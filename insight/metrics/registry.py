"""Load and check the metric registry (``registry.yaml``): one declaration per metric."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from insight.core.errors import ConfigError
from insight.core.schema import PART_MEASURES, SALES_MEASURES, SQUARE_UNIT_SECONDS

__all__ = ["Measure", "Metric", "Registry", "registry", "FORMATS", "DIRECTIONS"]

FORMATS = ("count", "percent", "seconds", "yuan", "ratio")
DIRECTIONS = {"up": "↑", "down": "↓", "none": ""}
TYPES = ("count", "sum", "ratio", "mean")
FILTER_NAMES = ("channel", "stage", "hours", "agent")
CHANNEL_VALUES, STAGE_VALUES, HOURS_VALUES = ("manual", "robot"), ("presale", "aftersale"), ("work", "off")


@dataclass(frozen=True)
class Measure:
    name: str
    table: str
    description: str
    agent_variant: str | None = None


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    family: str
    type: str
    unit: str
    direction: str
    format: str
    description: str
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    complement: bool = False
    pending: str | None = None
    squares: str | None = None  # a mean's Σ of squared values (its interval and test), see SQUARE_UNIT_SECONDS
    base: str = ""
    requires: tuple[str, ...] = ()
    not_applicable: dict = field(default_factory=dict)

    @property
    def is_rate(self) -> bool:
        """Rates change by percentage points; everything else by relative change."""
        return self.format == "percent"

    @property
    def measures(self) -> tuple[str, ...]:
        return (self.numerator + self.denominator + ((self.pending,) if self.pending else ())
                + ((self.squares,) if self.squares else ()))

    @property
    def arrow(self) -> str:
        return DIRECTIONS[self.direction]



class Registry:
    def __init__(self, measures: dict[str, Measure], metrics: list[Metric], families: dict[str, str]):
        self.measures = measures
        self.metrics = {m.key: m for m in metrics}
        self.families = families

    def __iter__(self):
        return iter(self.metrics.values())

    def __getitem__(self, key: str) -> Metric:
        return self.metrics[key]

    def keys(self) -> list[str]:
        return list(self.metrics)

    def by_family(self, family: str) -> list[Metric]:
        return [m for m in self if m.family == family]


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _require(condition, what) -> None:
    """A registry rule; unlike ``assert`` it holds under ``python -O`` and is an InsightError."""
    if not condition:
        raise ConfigError(f"registry.yaml: {what}")


def _check(measures: dict[str, Measure], metrics: list[Metric]) -> None:
    known = {"parts": set(PART_MEASURES), "parts_sales": set(SALES_MEASURES)}
    for m in measures.values():
        _require(m.name in known.get(m.table, ()), f"measure {m.name} is not a column of {m.table}")
        _require(m.agent_variant is None or m.agent_variant in measures, f"{m.name}: unknown variant")
    seen = set()
    for metric in metrics:
        _require(metric.key not in seen, f"duplicate metric {metric.key}")
        seen.add(metric.key)
        _require(metric.type in TYPES and metric.format in FORMATS and metric.direction in DIRECTIONS, metric.key)
        _require(metric.numerator, f"{metric.key}: no measure")
        if metric.type in ("ratio", "mean"):
            _require(metric.denominator, f"{metric.key}: ratio without denominator")
        if metric.squares:
            _require(metric.type == "mean" and metric.squares in SQUARE_UNIT_SECONDS,
                     f"{metric.key}: squares belong to a mean and need a unit")
        for name in metric.measures:
            _require(name in measures, f"{metric.key}: unknown measure {name}")
        tables = {measures[n].table for n in metric.measures}
        _require(len(tables) == 1, f"{metric.key}: measures from several tables")
        _require(set(metric.not_applicable) <= set(FILTER_NAMES), metric.key)
        for dim, bad in metric.not_applicable.items():
            # YAML 1.1 reads a bare `off` as False: every filter value must stay a known string.
            allowed = {"channel": CHANNEL_VALUES, "stage": STAGE_VALUES, "hours": HOURS_VALUES}.get(dim)
            _require((bad is True) if dim == "agent" else all(v in allowed for v in bad), (metric.key, dim, bad))


@lru_cache(maxsize=1)
def registry() -> Registry:
    raw = yaml.safe_load((Path(__file__).with_name("registry.yaml")).read_text(encoding="utf-8"))
    measures = {name: Measure(name=name, **spec) for name, spec in raw["measures"].items()}
    metrics = []
    for spec in raw["metrics"]:
        spec = dict(spec)
        if "measure" in spec:
            spec["numerator"] = spec.pop("measure")
        for k in ("numerator", "denominator", "requires"):
            spec[k] = _as_tuple(spec.get(k))
        spec["not_applicable"] = dict(spec.get("not_applicable") or {})
        metrics.append(Metric(**spec))
    _check(measures, metrics)
    return Registry(measures, metrics, raw["families"])
