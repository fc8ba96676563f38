"""The file layouts shops really hold, recognised by content and turned into DATA.md tables.

No platform offers a bulk message download, so chats arrive as scraped workbooks, copied text, API
dumps; reports arrive as the platforms' downloads with banners and summary rows. Each layout here
reads one of them (its public source is cited in ``source`` and in ``tests/ingest/layouts``) and
returns rows in DATA.md form with the line each came from; the importer validates them like any
file. A layout that cannot carry what the store needs (no times, no day) refuses with the reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from insight.core.errors import ImportFailed
from insight.core.limits import Limits
from insight.ingest.layouts._base import (
    DEFAULT_ROBOT_NAMES,
    SUMMARY_LABELS,
    Converted,
    Layout,
    LayoutContext,
    MissingDay,
    Probe,
    day_from_name,
    decode_text,
    read_grid,
    read_json,
    seconds_from_text,
)
from insight.ingest.layouts._chats import (
    JddcTsv,
    PddChatJson,
    QianniuCopiedText,
    QianniuScraped,
    QianniuUserscript,
    SycmChatJson,
)
from insight.ingest.layouts._lists import EvaluationListTable, SycmEvaluationList, SycmReceptionList
from insight.ingest.layouts._reports import PlatformReport

__all__ = ["MissingDay", "LAYOUTS", "LAYOUT_SUFFIXES", "Converted", "Layout", "LayoutContext", "Probe", "DEFAULT_ROBOT_NAMES",
           "SUMMARY_LABELS", "probe_file", "recognise", "layout", "day_from_name",
           "seconds_from_text", "PlatformReport"]

# In the order they are tried: the most specific first.
LAYOUTS: tuple[Layout, ...] = (JddcTsv(), QianniuCopiedText(), SycmChatJson(), PddChatJson(), SycmReceptionList(),
                               SycmEvaluationList(), QianniuUserscript(), QianniuScraped(), EvaluationListTable(),
                               PlatformReport())
LAYOUT_SUFFIXES = (".txt", ".tsv", ".json", ".ndjson", ".jsonl", ".xls")
_PROBE_BYTES = 64 * 1024
_PROBE_JSON_BYTES = 64 * 1024 * 1024


def layout(key: str) -> Layout:
    return next(x for x in LAYOUTS if x.key == key)


def probe_file(path: Path, name: str | None = None) -> Probe:
    """What ``recognise`` looks at: the start of a text file, a JSON document, a workbook's first rows."""
    path = Path(path)
    name = name or path.name
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    probe = Probe(path, Path(name).name, suffix)
    if suffix in (".txt", ".tsv"):
        with open(path, "rb") as fh:
            head = fh.read(_PROBE_BYTES)
        try:
            probe.text = decode_text(head, probe.name, partial=True)
        except ImportFailed:
            probe.text = None
    elif suffix in (".json", ".ndjson", ".jsonl"):
        if path.stat().st_size <= _PROBE_JSON_BYTES:
            try:
                probe.json = read_json(path, probe.name)
            except ImportFailed:
                probe.json = None
    elif suffix in (".xlsx", ".xls", ".csv"):
        try:  # bounded like any read: a first look at a zip bomb stops at its expanded size
            probe.sheets = read_grid(path, probe.name, Limits.from_env(), rows=20)
        except ImportFailed:
            probe.sheets = {}
    return probe


def recognise(path: Path, name: str | None = None, defs=None) -> Layout | None:
    """The layout a file is in, judged by its content; None when no layout knows it."""
    probe = probe_file(path, name)
    for candidate in LAYOUTS:
        if isinstance(candidate, PlatformReport) and defs is not None:
            candidate = PlatformReport(defs)
        if candidate.sniff(probe):
            return candidate
    return None


def today() -> dt.date:
    return dt.date.today()
