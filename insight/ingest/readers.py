"""Load one input file (CSV in any of the accepted encodings, XLSX, Parquet) as a staging
relation plus ``_line``, the line a user sees in the file.

Nothing a file says becomes SQL text: its columns are staged under generated names
(``c0``, ``c1``, …) and the header text stays in Python, where it is matched to DATA.md
columns; file paths are passed to DuckDB as parameters or through its Python API.
CSV and XLSX are staged as VARCHAR tables; Parquet stays a view over the file with its
own column types, so a large file is read once, by the validation query.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from insight.core.errors import ImportFailed, InsightError
from insight.core.limits import Limits
from insight.core.schema import REPORT_TABLE, TABLES, table_for_file_stem
from insight.ingest.roles import RoleRule

__all__ = ["SourceFile", "Staged", "discover", "load_staging", "read_preview", "SUPPORTED_SUFFIXES",
           "ARCHIVE_SUFFIXES", "ACCEPTED_SUFFIXES", "LAYOUT_ONLY_SUFFIXES", "normalise_header", "source_for", "mapped_source"]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")
# Read only through a layout (layouts/): chat text, JSON dumps, old Excel reports.
LAYOUT_ONLY_SUFFIXES = (".txt", ".tsv", ".json", ".ndjson", ".jsonl", ".xls")
ACCEPTED_SUFFIXES = SUPPORTED_SUFFIXES + LAYOUT_ONLY_SUFFIXES
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz")
MAX_COLUMNS = 1000
MAX_HEADER_CHARS = 500
_XLSX_CHUNK = 50_000


@dataclass(frozen=True)
class SourceFile:
    path: Path
    table: str
    # Column mapping for files whose headers differ from DATA.md: ((source header, column), ...).
    mapping: tuple[tuple[str, str], ...] = ()
    # What the user calls the file (an upload's own name); the path may be a generated one.
    label: str | None = None
    # How a chat export says who sent a message (messages only; None: the default rule).
    roles: RoleRule | None = None
    # A real-world layout (layouts.LAYOUTS key) that is converted to DATA.md rows before staging.
    layout: str | None = None

    @property
    def kind(self) -> str:
        return self.path.suffix.lower().lstrip(".")

    @property
    def shown(self) -> str:
        """The file as named in messages and reports."""
        return self.label or str(self.path)


@dataclass
class Staged:
    """A staged file: DATA.md column → (generated column, SQL type); the other columns aside."""

    relation: str
    is_view: bool
    columns: dict[str, tuple[str, str]]
    extras: dict[str, str]  # generated column → header as written in the file
    fmt: str  # utf-8 | gb18030 | xlsx | parquet
    headers: list[str] = field(default_factory=list)


# -- which files -------------------------------------------------------------------------------
def _table_by_header(path: Path, con=None) -> str | None:
    """The table a file holds judged by its header (platform exports are not named after tables);
    a missing shop column does not decide it (the shop may be named at import, else it is said then)."""
    from insight.ingest.mapping import suggest_table
    from insight.ingest.reports import detect_report

    try:
        headers, _ = read_preview(path, rows=1)
    except ImportFailed:
        return None
    if detect_report(headers, con) is not None:
        return REPORT_TABLE
    return suggest_table(path.name, headers, shop_given=True)


def source_for(path: Path, con=None, label: str | None = None) -> tuple[SourceFile | None, str | None]:
    """How one file is read: by its name (messages_10月.csv), else by its content — a real-world layout
    (layouts/: scraped chats, JSON dumps, report downloads) or a header that names a table. Returns
    (the source, a note on how it was recognised) or (None, why not)."""
    from insight.ingest.layouts import recognise
    from insight.ingest.reports import report_defs

    name = label or path.name
    suffix = Path(name).suffix.lower() or path.suffix.lower()
    table = table_for_file_stem(Path(name).stem) if suffix in SUPPORTED_SUFFIXES else None
    if table:
        return SourceFile(path, table, label=label), None
    if suffix in (".xlsx", ".xls", ".csv") + LAYOUT_ONLY_SUFFIXES:
        try:
            found = recognise(path, name, report_defs(con))
        except InsightError:
            found = None
        if found is not None:  # the import report says which layout, with what it read
            return SourceFile(path, found.table, label=label, layout=found.key), None
    if suffix in SUPPORTED_SUFFIXES and (table := _table_by_header(path, con)):
        if table == REPORT_TABLE:
            return SourceFile(path, table, label=label, layout="platform_report"), \
                f"{Path(name).name}: 按列名识别为平台客服报表（平台口径）"
        return SourceFile(path, table, label=label), f"{Path(name).name}: 按列名识别为{table} 表"
    return None, None


def discover(paths, con=None) -> tuple[list[SourceFile], list[str]]:
    """Files to import from folders and single files; plus notes on files passed over.

    A file is a table by its name (messages_10月.csv) or, failing that, by its content (``source_for``).
    A named file that is neither is an error (the user meant it); in a folder it is passed over with a
    note. With the store's connection ``con``, platform report definitions edited there are recognised too.
    """
    found: list[SourceFile] = []
    notes: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            skipped, archives = [], []
            for child in sorted(path.iterdir()):
                if not child.is_file() or child.name.startswith("."):
                    continue
                suffix = child.suffix.lower()
                if suffix in ARCHIVE_SUFFIXES:
                    archives.append(child.name)
                    continue
                if suffix not in ACCEPTED_SUFFIXES:
                    skipped.append(child.name)
                    continue
                if child.name == "demo.json":  # the demo generator's own summary
                    continue
                src, note = source_for(child, con)
                if note:
                    notes.append(note)
                if src:
                    found.append(src)
                elif suffix in SUPPORTED_SUFFIXES:
                    notes.append(f"已跳过 {child.name}: 文件名和内容都不像任何一张表（应为 shops、messages、orders 等）"
                                 "或已知的聊天记录、平台报表格式")
                else:
                    notes.append(f"已跳过 {child.name}: 内容不是已知的聊天记录或平台报表格式")
            if archives:
                notes.append(f"已跳过压缩包 {', '.join(archives)}: 不会自动解压，请先解压再导入其中的文件")
            if skipped:
                notes.append(f"已跳过 {', '.join(skipped)}: 不是支持的数据文件（.csv、.xlsx、.xls、.parquet、.txt、.json）")
        elif path.is_file():
            suffix = path.suffix.lower()
            if suffix in ARCHIVE_SUFFIXES:
                raise ImportFailed(f"{path}: 是压缩包，不会自动解压，请先解压再导入其中的文件")
            if suffix not in ACCEPTED_SUFFIXES:
                raise ImportFailed(f"{path}: 不支持的文件格式 {path.suffix!r}，请使用 .csv、.xlsx、.xls、.parquet、"
                                   ".txt 或 .json")
            src, note = source_for(path, con)
            if src is None:
                if suffix == ".xls":
                    raise ImportFailed(f"{path}: 不是已知的平台报表下载；旧版 Excel（.xls）的数据表请在 Excel 中另存为 .xlsx "
                                       "后导入（支持的格式见 docs/import.md）")
                if suffix in LAYOUT_ONLY_SUFFIXES:
                    raise ImportFailed(f"{path}: 内容不是已知的聊天记录或平台报表格式（支持的格式见 docs/import.md）")
                raise ImportFailed(
                    f"{path}: 无法从文件名或内容判断是哪张表：文件名应以表名开头（如 messages.csv），"
                    "或列名应为 DATA.md 的列名或平台导出的常见列名（如 会话ID、买家昵称、发送时间、消息内容），"
                    "或为已知的聊天记录、平台报表格式（见 docs/import.md）")
            if note:
                notes.append(note)
            found.append(src)
        else:
            raise ImportFailed(f"{path}: 文件或目录不存在")
    return found, notes


# -- headers -----------------------------------------------------------------------------------
def normalise_header(name: str) -> str:
    name = (name or "").strip().lstrip("\ufeff").strip().lower()
    return re.sub(r"\s+", "_", name)


def _check_headers(shown: str, headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise ImportFailed(f"{shown} 第 1 行: 有 {len(headers):,} 列，超过上限 {MAX_COLUMNS} 列")
    for i, h in enumerate(headers, start=1):
        if "\x00" in h:
            raise ImportFailed(f"{shown} 第 1 行第 {i} 列: 列名包含不可见的 NUL 字符，请检查文件是否损坏")
        if len(h) > MAX_HEADER_CHARS:
            raise ImportFailed(f"{shown} 第 1 行第 {i} 列: 列名长 {len(h):,} 个字符，超过上限 {MAX_HEADER_CHARS}")


def _assign(shown: str, table: str, headers: list[str], mapping) -> tuple[dict[str, int], dict[int, str]]:
    """Which file column (by position) feeds which DATA.md column; the others are kept aside.

    A mapped header wins; a column whose own name is a mapping's target is set aside. Two file
    columns that would feed one DATA.md column make the file ambiguous: it is refused.
    """
    known = set(TABLES[table].column_names) if table in TABLES else set()
    mapped = {normalise_header(s): t for s, t in mapping}
    targets = set(mapped.values())
    columns: dict[str, int] = {}
    extras: dict[int, str] = {}
    for i, header in enumerate(headers):
        norm = normalise_header(header)
        target = mapped.get(norm)
        if target is None and norm in known and norm not in targets:
            target = norm
        if target is None:
            extras[i] = header
            continue
        if target in columns:
            first = columns[target]
            raise ImportFailed(
                f"{shown} 第 1 行: 第 {first + 1} 列“{headers[first]}”和第 {i + 1} 列“{header}”都对应 {target}"
                "（列名重复），请删除或改名其中一列")
        columns[target] = i
    return columns, extras


# -- CSV -------------------------------------------------------------------------------------
_DELIMITERS = (",", "\t", ";", "|")


def _first_line(path: Path, shown: str) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    ends = [i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0]
    if not ends:
        if len(head) >= 1 << 20:
            raise ImportFailed(f"{shown} 第 1 行: 超过 1 MB 仍没有换行，这不像 CSV 的列名行")
        return head
    return head[:min(ends)]


def _header(path: Path, shown: str) -> tuple[str, list[str]]:
    """Delimiter and column names from the first line, so that a ragged row later in the file is
    reported as such (with its line) instead of confusing the reader's dialect sniffing.
    Lines may end in LF, CRLF or CR alone (old Mac exports)."""
    first = _first_line(path, shown)
    if not first.strip():
        raise ImportFailed(f"{shown} 第 1 行: 应为列名，但文件为空或第 1 行是空行")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = first.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFailed(f"{shown} 第 1 行: 无法识别列名的编码（应为 UTF-8 或 GBK）")
    delim = max(_DELIMITERS, key=text.count)
    try:
        names = next(csv.reader([text], delimiter=delim, strict=True), [])
    except csv.Error as exc:
        raise ImportFailed(f"{shown} 第 1 行: 列名行的引号不成对（{exc}）") from None
    if not names or not any(n.strip() for n in names):
        raise ImportFailed(f"{shown} 第 1 行: 应为列名")
    names = [n if n.strip() else f"column{i + 1}" for i, n in enumerate(names)]
    _check_headers(shown, names)
    return delim, names


_CSV_SQL = ("CREATE TEMP TABLE {staging} AS SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS _line "
            "FROM read_csv(?, columns = ?, header = true, delim = ?, quote = '\"', escape = '\"', "
            "auto_detect = false, strict_mode = true, null_padding = false)")


def _read_csv(con, staging: str, path: Path, delim: str, n: int) -> None:
    # Every value is read as text and validated by our own rules, never guessed by the reader.
    con.execute(_CSV_SQL.format(staging=staging), [str(path), {f"c{i}": "VARCHAR" for i in range(n)}, delim])


def _is_encoding_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "unicode" in text or "utf-8" in text or "utf8" in text or "encoding" in text


def _scan_encoding(path: Path, shown: str) -> None:
    """Called when the file is not valid UTF-8: decide whether it is GBK throughout or a UTF-8
    file with a few foreign lines (pasted from another export), and say which line."""
    utf8_lines, bad_lines, first_bad = 0, 0, None
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.isascii():
                continue
            try:
                raw.decode("utf-8")
                utf8_lines += 1
            except UnicodeDecodeError:
                bad_lines += 1
                first_bad = first_bad or number
    # A GBK line is almost never valid UTF-8 by chance, so a majority of UTF-8 lines means a
    # UTF-8 file with foreign lines; otherwise the file is GBK throughout.
    if first_bad and utf8_lines > bad_lines:
        raise ImportFailed(
            f"{shown} 第 {first_bad} 行: 不是 UTF-8 编码，而文件的其他行是 UTF-8"
            f"（共 {bad_lines:,} 行如此，可能是从 GBK 文件粘贴来的），请把整个文件另存为 UTF-8 后重新导入")


def _transcode_to_utf8(path: Path, shown: str, workdir: Path) -> Path:
    """GBK/GB18030 → a UTF-8 file in the import's private folder, streamed line by line so that
    an undecodable byte is reported with its line."""
    target = workdir / f"utf8-{os.urandom(6).hex()}.csv"
    decoder = codecs.getincrementaldecoder("gb18030")(errors="strict")
    number = 0
    try:
        with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
            for number, raw in enumerate(src, start=1):
                dst.write(decoder.decode(raw))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        target.unlink(missing_ok=True)
        raise ImportFailed(f"{shown} 第 {max(number, 1)} 行: 无法识别的编码（既不是 UTF-8 也不是 GBK/GB18030），"
                           "请另存为 UTF-8 CSV") from None
    return target


_CSV_REASONS = (
    ("unterminated quote", "引号没有闭合：文件可能被截断，或某个值里有不成对的双引号"),
    ("quote should be followed by", "引号后面应紧跟分隔符或换行：某个值里有多余的双引号"),
    ("maximum line size", "这一行过长，可能是引号没有闭合"),
    ("invalid unicode", "包含无法识别的字符编码"),
)


def _csv_error(shown: str, exc: Exception) -> ImportFailed:
    """DuckDB's CSV error, cut to what a user can act on: the line, the row, and why."""
    text = str(exc)
    lines = text.strip().splitlines()
    line = next((x.rsplit("Line:", 1)[1].strip() for x in lines if "CSV Error on Line:" in x), None)
    row = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("Original Line")), None)
    counts = next((x for x in lines if x.startswith("Expected Number of Columns")), None)
    where = f"{shown} 第 {line} 行" if line else shown
    if counts:
        expected, found = counts.replace("Expected Number of Columns:", "").split("Found:")
        return ImportFailed(f"{where}: 应有 {expected.strip()} 列，实际 {found.strip()} 列"
                            f"（{(row or '')[:80]}），请检查分隔符或引号")
    low = text.lower()
    for needle, reason in _CSV_REASONS:
        if needle in low:
            return ImportFailed(f"{where}: {reason}")
    detail = next((x.strip() for x in lines[1:] if x.strip() and not x.startswith(("Original Line", "Possible"))),
                  lines[0] if lines else "")
    return ImportFailed(f"{where}: CSV 格式错误（{detail[:200]}）")


def _load_csv(con, src: SourceFile, staging: str, limits: Limits, workdir: Path) -> tuple[list[str], str]:
    limits.check_file_size(src.shown, src.path.stat().st_size)
    delim, names = _header(src.path, src.shown)
    try:
        _read_csv(con, staging, src.path, delim, len(names))
        return names, "utf-8"
    except duckdb.Error as exc:
        if not _is_encoding_error(exc):
            raise _csv_error(src.shown, exc) from None
    _scan_encoding(src.path, src.shown)
    tmp = _transcode_to_utf8(src.path, src.shown, workdir)
    try:
        _read_csv(con, staging, tmp, delim, len(names))
    except duckdb.Error as exc:
        raise _csv_error(src.shown, exc) from None
    finally:
        tmp.unlink(missing_ok=True)
    return names, "gb18030"


# -- XLSX ------------------------------------------------------------------------------------
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


def _open_workbook(path: Path, shown: str, limits: Limits | None):
    import openpyxl

    if not zipfile.is_zipfile(path):
        raise ImportFailed(f"{shown}: 不是有效的 .xlsx 文件（可能是旧版 .xls、CSV 改了扩展名或已损坏），"
                           "请在 Excel 中另存为 .xlsx")
    if limits is not None:
        with zipfile.ZipFile(path) as archive:
            limits.check_expanded(shown, sum(info.file_size for info in archive.infolist()))
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for bad files
        raise ImportFailed(f"{shown}: 无法读取 Excel 文件（{type(exc).__name__}: {str(exc)[:120]}）") from None


def _load_xlsx(con, src: SourceFile, staging: str, limits: Limits, workdir: Path) -> tuple[list[str], str]:
    import pyarrow as pa

    book = _open_workbook(src.path, src.shown, limits)
    try:
        sheet = book[src.table] if src.table in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or all(h is None for h in header):
            raise ImportFailed(f"{src.shown} 第 1 行: 工作表为空，第一行应为列名")
        names = [str(h) if h is not None and str(h).strip() else f"column{i + 1}" for i, h in enumerate(header)]
        _check_headers(src.shown, names)
        gen = [f"c{i}" for i in range(len(names))]
        con.execute(f"CREATE TEMP TABLE {staging} ({', '.join(f'{g} VARCHAR' for g in gen)}, _line BIGINT)")
        columns: list[list] = [[] for _ in names]
        lines: list[int] = []
        total = 0

        def flush() -> None:
            if not lines:
                return
            arrays = {g: pa.array(col, type=pa.string()) for g, col in zip(gen, columns)}
            arrays["_line"] = pa.array(lines, type=pa.int64())
            _settle(con)
            con.from_arrow(pa.table(arrays)).insert_into(staging)
            for col in columns:
                col.clear()
            lines.clear()

        for excel_row, values in enumerate(rows, start=2):
            if values is None or all(v is None for v in values):
                continue  # Excel keeps formatted empty rows; they are not data
            total += 1
            if total > limits.max_rows:
                raise ImportFailed(f"{src.shown}: 超过单个文件的行数上限 {limits.max_rows:,} 行"
                                   "（可用环境变量 INSIGHT_MAX_ROWS 调整）")
            lines.append(excel_row)
            for i in range(len(names)):
                columns[i].append(_cell_text(values[i]) if i < len(values) else None)
            if len(lines) >= _XLSX_CHUNK:
                flush()
        flush()
    finally:
        book.close()
    return names, "xlsx"


# -- Parquet -----------------------------------------------------------------------------------
def _load_parquet(con, src: SourceFile, staging: str, limits: Limits, workdir: Path) -> tuple[list[str], str]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(src.path)
        meta, names = parquet.metadata, [str(n) for n in parquet.schema_arrow.names]
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError… for files that are not Parquet
        raise ImportFailed(f"{src.shown}: 无法读取 Parquet 文件（{str(exc)[:160]}）") from None
    if meta.num_rows > limits.max_rows:
        raise ImportFailed(f"{src.shown}: 有 {meta.num_rows:,} 行，超过单个文件的行数上限 {limits.max_rows:,} 行"
                           "（可用环境变量 INSIGHT_MAX_ROWS 调整）")
    limits.check_expanded(src.shown, sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
                          estimate=True)
    if not names:
        raise ImportFailed(f"{src.shown}: Parquet 文件没有列")
    _check_headers(src.shown, names)
    try:
        # Columns by position under generated names; the path goes through the API, not SQL text.
        _settle(con)
        rel = con.read_parquet(str(src.path), file_row_number=True)
        select = ", ".join(f"#{i + 1} AS c{i}" for i in range(len(names)))
        rel.project(f"{select}, CAST(#{len(names) + 1} + 1 AS BIGINT) AS _line").create_view(staging)
    except duckdb.Error as exc:
        raise ImportFailed(f"{src.shown}: 无法读取 Parquet 文件（{str(exc).splitlines()[0][:160]}）") from None
    return names, "parquet"


def _settle(con) -> None:
    """DuckDB refuses Python-API reads (``read_parquet``, ``from_arrow``) while an earlier
    ``execute()`` result on the connection is unfinished (a ``fetchone()`` elsewhere): a new,
    fully fetched statement closes it."""
    con.execute("SELECT 1").fetchall()


_LOADERS = {"csv": _load_csv, "xlsx": _load_xlsx, "parquet": _load_parquet}


def _plain_path(path: Path, workdir: Path) -> Path:
    """DuckDB expands glob characters in paths it reads: such a file is read through a link
    with a generated name."""
    path = path.resolve()
    if re.search(r"[*?\[\]{}]", str(path)):
        link = workdir / f"src-{os.urandom(6).hex()}{path.suffix.lower()}"
        link.symlink_to(path)
        return link
    return path


def load_staging(con, src: SourceFile, staging: str, limits: Limits, workdir: Path) -> Staged:
    """Create ``staging`` (a generated name) from ``src``: columns ``c0…cN`` and ``_line``."""
    if src.kind not in _LOADERS:
        raise ImportFailed(f"{src.shown}: 不支持的文件格式，请使用 .csv、.xlsx 或 .parquet")
    if not src.path.is_file():
        raise ImportFailed(f"{src.shown}: 文件不存在")
    readable = SourceFile(_plain_path(src.path, workdir), src.table, src.mapping, src.shown, src.roles, src.layout)
    headers, fmt = _LOADERS[src.kind](con, readable, staging, limits, workdir)
    mapping = src.mapping
    if not mapping and src.table in TABLES:  # no hand-made mapping: names and known synonyms
        from insight.ingest.mapping import known_header_mapping

        mapping = known_header_mapping(src.table, headers)
    columns, extras = _assign(src.shown, src.table, headers, mapping)
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {staging}").fetchall()}
    return Staged(staging, fmt == "parquet", {col: (f"c{i}", types[f"c{i}"]) for col, i in columns.items()},
                  {f"c{i}": h for i, h in extras.items()}, fmt, headers)


# -- preview for the mapping step --------------------------------------------------------------
def _csv_preview(path: Path, shown: str, rows: int) -> tuple[list[str], list[list[str | None]]]:
    delim, names = _header(path, shown)
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a character at the end of the block is not an encoding problem.
        text = head[:exc.start].decode("utf-8-sig") if exc.start > len(head) - 4 else head.decode(
            "gb18030", errors="replace")
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")), delimiter=delim)
    body = []
    try:
        next(reader, None)
        for values in reader:
            if len(body) >= rows:
                break
            body.append([v for v in values[:len(names)]] + [None] * (len(names) - len(values)))
    except csv.Error:  # the import will say exactly what is wrong, with the line
        pass
    return names, body


def read_preview(path: str | os.PathLike, rows: int = 5, label: str | None = None
                 ) -> tuple[list[str], list[list[str | None]]]:
    """The header and first rows of a file as text, for the column-mapping step."""
    path = Path(path)
    shown = label or str(path)
    kind = path.suffix.lower().lstrip(".")
    if kind == "csv":
        return _csv_preview(path, shown, rows)
    if kind == "xlsx":
        book = _open_workbook(path, shown, None)
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
        _check_headers(shown, header)
        return header, body
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
            names = [str(n) for n in pf.schema_arrow.names]
            batch = next(pf.iter_batches(batch_size=rows), None)
        except Exception as exc:
            raise ImportFailed(f"{shown}: 无法读取 Parquet 文件（{str(exc)[:160]}）") from None
        _check_headers(shown, names)
        body = [] if batch is None else [[None if v is None else str(v) for v in row.values()]
                                         for row in batch.to_pylist()[:rows]]
        return names, body
    raise ImportFailed(f"{shown}: 不支持的文件格式 {path.suffix!r}，请使用 .csv、.xlsx 或 .parquet")


def mapped_source(path, table: str, mapping: dict[str, str | None], label: str, shop_given: bool = False,
                  roles=None):
    """(a SourceFile importing ``path`` as ``table`` with ``mapping``, None) or (None, the problems)."""
    from insight.ingest.mapping import AUX_SYNONYMS, aux_mapping, check_mapping

    headers = read_preview(path, rows=1)[0] if table in AUX_SYNONYMS else []
    problems = check_mapping(table, mapping, shop_given, headers)
    if problems:
        return None, problems
    pairs = tuple((src, dst) for dst, src in mapping.items() if src and src != dst)
    pairs += aux_mapping(table, headers, used={src for src, _ in pairs})
    return SourceFile(Path(path), table, pairs, label=label, roles=roles), []
