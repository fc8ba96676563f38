"""The store: one DuckDB file, opened, versioned and given its schema; or a parts folder built elsewhere,
read through views (``open_parts``). Imports ``core`` only."""

from ._open import open_parts, open_served
from ._parts import PARTS_TABLES
from ._served import ServedBy, announce_serving, served_by, withdraw_serving
from ._store import (
                     SCHEMA_VERSION,
                     Store,
                     default_db_path,
                     robot_names,
                     serve_in_this_process,
                     table_exists,
                     transaction,
)

__all__ = ["Store", "open_served", "open_parts", "PARTS_TABLES", "default_db_path", "transaction", "table_exists", "SCHEMA_VERSION",
           "robot_names", "ServedBy", "announce_serving", "served_by", "withdraw_serving",
           "serve_in_this_process"]
