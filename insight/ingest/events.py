"""Events over HTTP (``POST /api/v1/events``): NDJSON, one DATA.md row per line with a ``table`` field,
imported through the same validation, reject reasons and key rules as files — so a repeated event
changes nothing, and a bad one is rejected with its line and why."""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from insight.core.errors import UsageError
from insight.core.schema import TABLES
from insight.ingest.importer import ImportReport, import_sources
from insight.ingest.readers import SourceFile

__all__ = ["EVENT_TABLES", "MAX_EVENT_BYTES", "MAX_EVENTS", "EventBatch", "parse_events", "import_events"]

EVENT_TABLES = ("messages", "sessions", "evaluations", "orders", "refunds", "escalations", "agents")
MAX_EVENT_BYTES = 8 * 1024 * 1024  # one request
MAX_EVENTS = 50_000
_MAX_KEYS, _MAX_KEY_CHARS, _MAX_VALUE_CHARS = 100, 64, 20_000


@dataclass
class EventBatch:
    """Rows per table with the (request, line) each came from; lines refused before validation."""

    rows: dict[str, list[tuple[tuple[int, int], dict]]] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)  # {"request", "line", "table", "column", "reason"}

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


def parse_events(body: bytes, request: int = 0) -> EventBatch:
    """Lines of JSON objects; a line that is not one, names no known table, or holds nested values is
    refused with its reason (the others go on). Raises UsageError for a body that cannot be read at all."""
    if len(body) > MAX_EVENT_BYTES:
        raise UsageError(f"请求过大：{len(body):,} 字节，上限 {MAX_EVENT_BYTES:,}（分批发送）")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("请求体应为 UTF-8 编码的 NDJSON（每行一个 JSON 对象）") from None
    batch = EventBatch()
    # NDJSON lines end at \n only: U+2028, U+0085 and the like are text inside a value (splitlines()
    # cut there and numbered every later line wrong).
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if sum(1 for line in lines if line.strip()) > MAX_EVENTS:
        raise UsageError(f"一次最多 {MAX_EVENTS:,} 个事件（分批发送）")
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue

        def refuse(reason: str, column: str = "", table: str = "") -> None:
            batch.errors.append({"request": request, "line": n, "table": table, "column": column, "reason": reason})
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            refuse(f"不是合法的 JSON：{exc.msg}")
            continue
        except RecursionError:
            refuse("JSON 嵌套过深")
            continue
        except ValueError:  # e.g. an integer of thousands of digits
            refuse("JSON 中的数字过长")
            continue
        if not isinstance(row, dict):
            refuse("每行应为一个 JSON 对象")
            continue
        table = row.pop("table", None)
        if table not in EVENT_TABLES:
            refuse(f"table 应为 {' / '.join(EVENT_TABLES)}", "table", _shown(table) if isinstance(table, str) else "")
            continue
        if len(row) > _MAX_KEYS:
            refuse(f"字段过多（上限 {_MAX_KEYS}）", table=table)
            continue
        bad = next((k for k, v in row.items() if not _KEY.fullmatch(k)
                    or isinstance(v, (dict, list)) or (isinstance(v, str) and len(v) > _MAX_VALUE_CHARS)), None)
        if bad is not None:
            refuse("字段名应为字母、数字或下划线（不超过 64 个），值不能是嵌套对象、列表或超长文本",
                   _shown(bad), table)
            continue
        broken = next((k for k, v in row.items() if isinstance(v, str) and not _encodable(v)), None)
        if broken is not None:
            refuse("包含无效的 Unicode 字符（孤立的代理项，如 \\ud800）", broken, table)
            continue
        batch.rows.setdefault(table, []).append(((request, n), row))
    return batch


_KEY = re.compile(r"[^\W\d]\w{0,63}")  # a field name: letters (any script), digits, underscore


def _shown(value) -> str:
    """A refused name as a reason quotes it: printable, at most 40 characters."""
    return "".join(c if c.isprintable() else "?" for c in str(value)[:40])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def import_events(store, batch: EventBatch, work_dir: Path, *, by: str, allowed_shops=None,
                  defer_derive: bool = False) -> dict:
    """Import a batch (one or several requests') as one transaction; per request: accepted, rejected
    and the reasons (line numbers of the request's body). ``defer_derive``: see ``import_sources``."""
    folder = Path(work_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files, origin = [], {}
    try:
        for table, rows in batch.rows.items():
            known = [c for c in TABLES[table].column_names if any(c in r for _, r in rows)]
            extra = sorted({k for _, r in rows for k in r} - set(known))
            path = folder / f"{table}.csv"
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(known + extra)
                for (_, r) in rows:
                    writer.writerow([_cell(r.get(c)) for c in known + extra])
            origin[f"events:{table}"] = [o for o, _ in rows]
            files.append(SourceFile(path, table, label=f"events:{table}"))
        report = (import_sources(store, files, by=by, allowed_shops=allowed_shops, classify=False, all_reasons=True,
                                 defer_derive=defer_derive)
                  if files else None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _answers(batch, report, origin)


def _answers(batch: EventBatch, report: ImportReport | None, origin: dict) -> dict:
    """Per request: events read minus events rejected; the reasons with the request's own line numbers
    (the first 100, in line order)."""
    out = {req: {"accepted": 0, "rejected": 0, "reasons": []}
           for req in {o[0] for rows in batch.rows.values() for o, _ in rows} | {e["request"] for e in batch.errors}}
    for rows in batch.rows.values():
        for (req, _), _row in rows:
            out[req]["accepted"] += 1
    reasons = list(batch.errors)
    for rej in (report.all_rejects if report is not None else []):
        lines = origin.get(rej["file"])
        if lines and 2 <= rej["line"] <= len(lines) + 1:  # CSV line 2 is the file's first row
            req, line = lines[rej["line"] - 2]
            out[req]["accepted"] -= 1
            reasons.append({"request": req, "line": line, "table": rej["table"], "column": rej["column"],
                            "reason": rej["reason"]})
    for r in sorted(reasons, key=lambda r: (r["request"], r["line"])):
        answer = out[r["request"]]
        answer["rejected"] += 1
        if len(answer["reasons"]) < 100:
            answer["reasons"].append({k: r[k] for k in ("line", "table", "column", "reason")})
    return out
