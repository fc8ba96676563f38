"""服务洞察 · Service Insight — the library behind the app and the CLI.

Import data into a DuckDB store, derive the additive parts, and compute every
metric of ``shared/METRICS.md`` for any period and filters. The packages follow the
pipeline (docs/architecture.md); this module is the public API.
"""

from insight.core.errors import ConfigError, DataError, ImportFailed, InsightError, StoreBusy, StoreError, UsageError
from insight.core.filters import Filters
from insight.core.periods import Period, preset
from insight.core.settings import SalesSettings, StoreSettings
from insight.derive import apply_settings
from insight.ingest import ImportReport, SourceFile, import_paths, import_sources
from insight.metrics import MetricEngine, MetricValue, registry
from insight.store import Store, default_db_path

__all__ = [
    "Store",
    "StoreSettings",
    "apply_settings",
    "default_db_path",
    "import_paths",
    "import_sources",
    "ImportReport",
    "SourceFile",
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
    "StoreBusy",
    "ConfigError",
]

__version__ = "0.1.0"
