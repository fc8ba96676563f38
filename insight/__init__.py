"""服务洞察 · Service Insight — the library behind the app and the CLI.

Import data into a DuckDB store, derive the additive parts, and compute every
metric of ``shared/METRICS.md`` for any period and filters.
"""

from insight.core.settings import SalesSettings
from insight.core.errors import DataError, ImportFailed, InsightError, StoreError, UsageError
from insight.ingest.importer import ImportReport, import_paths, import_sources
from insight.core.filters import Filters
from insight.metrics.engine import MetricEngine, MetricValue
from insight.core.periods import Period, preset
from insight.metrics.registry import registry
from insight.store import Store, default_db_path
from insight.core.settings import StoreSettings

__all__ = [
    "Store",
    "StoreSettings",
    "default_db_path",
    "import_paths",
    "import_sources",
    "ImportReport",
    "MetricEngine",
    "MetricValue",
    "Filters",
    "SalesSettings",
    "Period",
    "preset",
    "registry",
    "InsightError",
    "UsageError",
    "DataError",
    "ImportFailed",
    "StoreError",
]

__version__ = "0.1.0"
