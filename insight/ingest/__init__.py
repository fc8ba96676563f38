"""Getting data in: reading files, mapping columns, validating and merging in one transaction, uploads."""

from .importer import ImportReport, RejectedRow, TableReport, import_paths, import_sources
from .readers import SourceFile

__all__ = ["import_paths", "import_sources", "ImportReport", "TableReport", "RejectedRow", "SourceFile"]
