"""Metrics: the registry (one definition per metric) and the engine that sums parts for any period
and filters."""

from .engine import MIN_PEERS, MetricEngine, MetricValue
from .registry import Metric, registry

__all__ = ["MetricEngine", "MetricValue", "MIN_PEERS", "Metric", "registry"]
