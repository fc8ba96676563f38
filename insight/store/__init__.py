"""The store: one DuckDB file, opened, versioned and given its schema. Imports ``core`` only."""

from ._store import SCHEMA_VERSION, Store, default_db_path, transaction

__all__ = ["Store", "default_db_path", "transaction", "SCHEMA_VERSION"]
