"""How a file's header is compared with known names (the bottom of ``ingest``: mapping, reports and layouts
all read headers this way)."""

from __future__ import annotations

import re

__all__ = ["header_key"]


def header_key(text: str) -> str:
    """A header as compared with known names: case, spaces, brackets, colons, slashes and a BOM do not count."""
    return re.sub(r"[\s_\-()（）:：/]+", "", str(text).strip().lstrip("\ufeff").lower())
