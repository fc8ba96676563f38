"""服务洞察 · Service Insight — the library behind the app and the CLI.

Import data into a DuckDB store, derive the additive parts, and compute every
metric of ``shared/METRICS.md`` for any period and filters.
"""

from .derive import SalesSettings
from .errors import DataError, ImportFailed, InsightError, StoreError, UsageError
from .importer import ImportReport, import_paths, import_sources
from .metrics import Filters, MetricEngine, MetricValue
from .periods import Period, preset
from .registry import registry
from .store import Store, StoreSettings, default_db_path

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
