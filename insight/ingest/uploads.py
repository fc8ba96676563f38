"""Where uploaded files wait for their import.

The name a browser sends is only a label: bytes are written under generated names in a private
folder (mode 0700) inside the store's work folder, and the folder is removed after the import.
Folders left behind by browser sessions that ended without importing are swept after a day.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from insight.core.errors import ImportFailed
from insight.ingest.readers import ACCEPTED_SUFFIXES

__all__ = ["UploadFolder", "sweep_stale_uploads"]

_PREFIX = "upload-"
STALE_SECONDS = 24 * 3600


def sweep_stale_uploads(root: Path, max_age: float = STALE_SECONDS) -> int:
    """Remove upload folders under ``root`` older than ``max_age`` seconds; how many went."""
    removed = 0
    now = time.time()
    for folder in Path(root).glob(f"{_PREFIX}*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > max_age:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


class UploadFolder:
    """One browser session's uploads: file id → a generated path."""

    def __init__(self, root: Path):
        root = Path(root)
        sweep_stale_uploads(root)
        self.path = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=root))
        self._paths: dict[str, Path] = {}
        self._counter = 0

    def path_for(self, file_id: str, client_name: str) -> Path:
        """The path for an upload; only the suffix of the client's name is used, and only a known one."""
        if file_id in self._paths:
            return self._paths[file_id]
        suffix = Path(str(client_name)).suffix.lower()
        if suffix not in ACCEPTED_SUFFIXES:
            raise ImportFailed(f"{client_name}: 不支持的文件格式，请上传 .csv、.xlsx、.xls、.parquet、.txt 或 .json")
        self._counter += 1
        path = self.path / f"upload-{self._counter:03d}{suffix}"
        self._paths[file_id] = path
        return path

    def keep_only(self, file_ids) -> None:
        """Forget (and delete) uploads the user removed from the uploader."""
        keep = set(file_ids)
        for file_id in [f for f in self._paths if f not in keep]:
            self._paths.pop(file_id).unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._paths.clear()
