"""The store: one DuckDB file, opened, versioned and given its schema. Imports ``core`` only."""

from ._store import SCHEMA_VERSION, Store, default_db_path, table_exists, transaction

__all__ = ["Store", "default_db_path", "transaction", "table_exists", "SCHEMA_VERSION"]
