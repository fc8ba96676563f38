"""Load one input file (CSV in any of the accepted encodings, XLSX, Parquet) as a staging
relation with normalised column names plus ``_line``, the line a user sees in the file.

CSV and XLSX are staged as VARCHAR tables; Parquet stays a view over the file with its
own column types, so a large file is read once, by the validation query.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import ImportFailed
from .schema import table_for_file_stem

__all__ = ["SourceFile", "discover", "load_staging", "read_preview", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass(frozen=True)
class SourceFile:
    path: Path
    table: str
    # Column mapping for files whose headers differ from DATA.md: ((source header, column), ...).
    mapping: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        return self.path.suffix.lower().lstrip(".")


def discover(paths) -> tuple[list[SourceFile], list[str]]:
    """Files to import from folders and single files; plus notes on files passed over.

    A named file whose name is not a table is an error (the user meant it); in a
    folder such files are passed over with a note (reports, READMEs…).
    """
    found: list[SourceFile] = []
    notes: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if not child.is_file() or child.name.startswith("."):
                    continue
                table = table_for_file_stem(child.stem)
                if child.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue  # reports, READMEs, demo.json…
                if table:
                    found.append(SourceFile(child, table))
                else:
                    notes.append(f"已跳过 {child.name}: 文件名不是表名（应为 shops、messages、orders 等）")
        elif path.is_file():
            table = table_for_file_stem(path.stem)
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise ImportFailed(f"{path}: 不支持的文件格式 {path.suffix!r}，请使用 .csv、.xlsx 或 .parquet")
            if table is None:
                raise ImportFailed(
                    f"{path}: 无法从文件名判断是哪张表，文件名应以表名开头，如 messages.csv、orders_2024-05.xlsx")
            found.append(SourceFile(path, table))
        else:
            raise ImportFailed(f"{path}: 文件或目录不存在")
    return found, notes


def _normalise_header(name: str) -> str:
    name = (name or "").strip().lstrip("\ufeff").strip().lower()
    return re.sub(r"\s+", "_", name)


def _rename_columns(con, staging: str) -> list[str]:
    cols = [r[0] for r in con.execute(f"DESCRIBE {staging}").fetchall()]
    out = []
    for col in cols:
        new = _normalise_header(col)
        if new != col and new not in cols:
            con.execute(f'ALTER TABLE {staging} RENAME COLUMN "{col}" TO "{new}"')
            out.append(new)
        else:
            out.append(col)
    return out


def _transcode_to_utf8(path: Path) -> Path:
    """GBK/GB18030 → a temporary UTF-8 file, streamed (files can be gigabytes)."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="insight-utf8-")
    decoder = codecs.getincrementaldecoder("gb18030")(errors="strict")
    try:
        with open(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(1 << 22):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        os.unlink(tmp)
        raise ImportFailed(
            f"{path}: 无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030，第 {exc.start} 字节附近），"
            "请另存为 UTF-8 CSV") from exc
    return Path(tmp)


_DELIMITERS = (",", "\t", ";", "|")


def _header(path: Path) -> tuple[str, list[str]]:
    """Delimiter and column names from the first line, so that a ragged row later in the file is
    reported as such (with its line) instead of confusing the reader's dialect sniffing."""
    with open(path, "rb") as fh:
        first = fh.readline()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = first.decode(encoding).rstrip("\r\n")
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFailed(f"{path}: 无法识别第 1 行（列名）的编码")
    delim = max(_DELIMITERS, key=text.count)
    import csv

    names = next(csv.reader([text], delimiter=delim), [])
    if not names or not any(n.strip() for n in names):
        raise ImportFailed(f"{path}: 第 1 行应为列名")
    return delim, names


def _csv_sql(path: Path, delim: str, names: list[str]) -> str:
    quoted = str(path).replace("'", "''")
    columns = "{" + ", ".join("'" + n.replace("'", "''") + "': 'VARCHAR'" for n in names) + "}"
    d = delim.replace("\t", "\\t") if delim == "\t" else delim
    # Every value is read as text and validated by our own rules, never guessed by the reader.
    return (f"SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS _line "
            f"FROM read_csv('{quoted}', columns = {columns}, header = true, delim = '{d}', quote = '\"', "
            f"escape = '\"', auto_detect = false, strict_mode = true, null_padding = false)")


def _is_encoding_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "unicode" in text or "utf-8" in text or "utf8" in text or "encoding" in text


def _load_csv(con, src: SourceFile, staging: str) -> str:
    """Returns the encoding that was detected."""
    delim, names = _header(src.path)
    try:
        con.execute(f"CREATE TEMP TABLE {staging} AS {_csv_sql(src.path, delim, names)}")
        return "utf-8"
    except duckdb.Error as exc:
        if not _is_encoding_error(exc):
            raise _csv_error(src.path, exc) from exc
    tmp = _transcode_to_utf8(src.path)
    try:
        con.execute(f"CREATE TEMP TABLE {staging} AS {_csv_sql(tmp, delim, names)}")
    except duckdb.Error as exc:
        raise _csv_error(src.path, exc) from exc
    finally:
        os.unlink(tmp)
    return "gb18030"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _csv_error(path: Path, exc: Exception) -> ImportFailed:
    """DuckDB's CSV error, cut to what a user can act on: the line, the row, and what was expected."""
    lines = str(exc).strip().splitlines()
    line = next((x.rsplit("Line:", 1)[1].strip() for x in lines if "CSV Error on Line:" in x), None)
    row = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("Original Line")), None)
    counts = next((x for x in lines if x.startswith("Expected Number of Columns")), None)
    if line and counts:
        expected, found = counts.replace("Expected Number of Columns:", "").split("Found:")
        return ImportFailed(f"{path} 第 {line} 行: 应有 {expected.strip()} 列，实际 {found.strip()} 列"
                            f"（{(row or '')[:80]}），请检查分隔符或引号")
    return ImportFailed(f"{path}: CSV 格式错误: {_first_line(exc)}")


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _load_xlsx(con, src: SourceFile, staging: str) -> str:
    import openpyxl
    import pyarrow as pa

    try:
        book = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise ImportFailed(f"{src.path}: 无法读取 Excel 文件: {exc}") from exc
    try:
        sheet = book[src.table] if src.table in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise ImportFailed(f"{src.path}: 工作表为空，第一行应为列名")
        names = [_normalise_header(str(h)) if h is not None else f"column{i + 1}" for i, h in enumerate(header)]
        columns: list[list] = [[] for _ in names]
        lines: list[int] = []
        for excel_row, values in enumerate(rows, start=2):
            if values is None or all(v is None for v in values):
                continue  # Excel keeps formatted empty rows; they are not data
            lines.append(excel_row)
            for i in range(len(names)):
                columns[i].append(_cell_text(values[i]) if i < len(values) else None)
    finally:
        book.close()
    arrays = {name: pa.array(col, type=pa.string()) for name, col in zip(names, columns)}
    arrays["_line"] = pa.array(lines, type=pa.int64())
    con.register(f"{staging}_arrow", pa.table(arrays))
    con.execute(f"CREATE TEMP TABLE {staging} AS SELECT * FROM {staging}_arrow")
    con.unregister(f"{staging}_arrow")
    return "xlsx"


def _mapped_names(names: list[str], mapping) -> list[str]:
    """Normalised names after a column mapping; a column displaced by a mapped one is renamed aside."""
    renames = {_normalise_header(s): t for s, t in mapping}
    out = [renames.get(n, n) for n in names]
    targets = set(renames.values())
    return [f"_unmapped_{n}" if n in targets and names[i] not in renames else n
            for i, n in enumerate(out)]


def _load_parquet(con, src: SourceFile, staging: str) -> str:
    quoted = str(src.path).replace("'", "''")
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{quoted}')").fetchall()]
        names = _mapped_names([_normalise_header(c) for c in cols], src.mapping)
        select = ", ".join(f'"{c}" AS "{n}"' for c, n in zip(cols, names))
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {staging} AS SELECT {select}, CAST(file_row_number + 1 AS BIGINT) AS _line "
            f"FROM read_parquet('{quoted}', file_row_number = true)")
    except duckdb.Error as exc:
        raise ImportFailed(f"{src.path}: 无法读取 Parquet 文件: {_first_line(exc)}") from exc
    return "parquet"


def load_staging(con, src: SourceFile, staging: str) -> tuple[dict[str, str], str]:
    """Create ``staging`` from ``src``; return {normalised column: SQL type} and the format read."""
    loader = {"csv": _load_csv, "xlsx": _load_xlsx, "parquet": _load_parquet}[src.kind]
    fmt = loader(con, src, staging)
    if fmt != "parquet":
        names = _rename_columns(con, staging)
        if src.mapping:
            for old, new in zip(names, _mapped_names(names, src.mapping)):
                if old != new:
                    con.execute(f'ALTER TABLE {staging} RENAME COLUMN "{old}" TO "{new}__m"')
            for old, new in zip(names, _mapped_names(names, src.mapping)):
                if old != new:  # two steps, so that swapped names never collide
                    con.execute(f'ALTER TABLE {staging} RENAME COLUMN "{new}__m" TO "{new}"')
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {staging}").fetchall() if r[0] != "_line"}
    return types, fmt


def read_preview(path: str | os.PathLike, rows: int = 5) -> tuple[list[str], list[list[str | None]]]:
    """The header and first rows of a file as text, for the column-mapping step."""
    path = Path(path)
    con = duckdb.connect()
    try:
        src = SourceFile(path, "preview")
        if src.kind == "csv":
            delim, names = _header(path)
            try:
                rel = con.execute(f"{_csv_sql(path, delim, names)} LIMIT {int(rows)}")
                data = rel.fetchall()
            except duckdb.Error:  # GBK file, or a ragged row: the import will say exactly what
                data = []
            return names, [[None if v is None else str(v) for v in r[:len(names)]] for r in data]
        if src.kind == "xlsx":
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                it = book.worksheets[0].iter_rows(values_only=True)
                header = [str(h) if h is not None else f"column{i + 1}" for i, h in enumerate(next(it, ()) or ())]
                body = []
                for values in it:
                    if len(body) >= rows:
                        break
                    body.append([_cell_text(v) for v in values[:len(header)]])
            finally:
                book.close()
            return header, body
        if src.kind == "parquet":
            quoted = str(path).replace("'", "''")
            rel = con.execute(f"SELECT * FROM read_parquet('{quoted}') LIMIT {int(rows)}")
            names = [d[0] for d in rel.description]
            return names, [[None if v is None else str(v) for v in r] for r in rel.fetchall()]
        raise ImportFailed(f"{path}: 不支持的文件格式 {path.suffix!r}，请使用 .csv、.xlsx 或 .parquet")
    finally:
        con.close()
