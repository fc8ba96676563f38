"""Writes the hostile-input corpus (tests/ingest/hostile/files/), one file or folder per case of
cases.yaml. Run it again after changing a case: `python tests/ingest/hostile/make_corpus.py`.

Every file is imported by tests/test_hostile.py into a copy of a small valid store (shop S1
with a few chats); the expected outcome of each is in cases.yaml.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "files"
HEADER = ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "sent_at", "content"]
SQLI = 'A" TO "b"; DROP TABLE shops; COPY (SELECT 42) TO \'pwned_x.csv\'; --'
SQLI_PY = "x\" FROM (SELECT 1); COPY (SELECT 'import os') TO 'pwned.py'; --"


def row(n: int, content: str = "在吗", role: str = "buyer", session: str = "h1", sent: str | None = None,
        **over) -> list[str]:
    r = {"message_id": f"hm{n:03d}", "shop_id": "S1", "session_id": session, "buyer_id": "hb1",
         "sender_role": role, "agent_id": "A1" if role in ("agent", "robot") else "",
         "sent_at": sent or f"2024-05-10 10:{n % 60:02d}:00", "content": content}
    r.update(over)
    return [r[c] for c in HEADER]


def csv_text(header: list[str], rows: list[list[str]], delim: str = ",", newline: str = "\n") -> str:
    def cell(v: str) -> str:
        if any(ch in v for ch in (delim, '"', "\n", "\r")):
            return '"' + v.replace('"', '""') + '"'
        return v
    return newline.join(delim.join(cell(v) for v in r) for r in [header, *rows]) + newline


def chat(start: int = 1, session: str = "h1") -> list[list[str]]:
    return [row(start, "你好，在吗", session=session), row(start + 1, "在的，亲", "agent", session=session)]


def write(name: str, data: str | bytes, encoding: str = "utf-8") -> None:
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))


def parquet(name: str, table: pa.Table, **kw) -> None:
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **kw)


def xlsx(name: str, rows: list[list]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    write(name, buf.getvalue())


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    # -- code in names and values ----------------------------------------------------------
    write("messages_sqli_header.csv", csv_text(HEADER + [SQLI], [r + ["x"] for r in chat()]))
    write("messages_sqli_known_header.csv",
          csv_text(HEADER[:-1] + ['content"; DROP TABLE messages; --'], chat(3)) .replace("在的，亲", "在的"))
    write("messages_sqli_values.csv", csv_text(HEADER, [
        row(5, "'; DROP TABLE shops; --"), row(6, "\"); COPY (SELECT 1) TO 'pwned_v.csv'; --", "agent"),
        row(7, "x", session="h2'; DROP TABLE sessions; --")]))
    parquet("messages_sqli_column.parquet", pa.table(
        {**{c: [v] for c, v in zip(HEADER, row(8, "好的"))}, SQLI_PY: ["1"]}))
    xlsx("messages_sqli_header.xlsx", [HEADER + [SQLI], row(9, "xlsx 里的消息"), row(10, "收到", "agent")])
    write("shops_sqli_timezone.csv", csv_text(
        ["shop_id", "shop_name", "platform", "category", "tier", "timezone"],
        [["S9", "注入店", "taobao", "服饰", "2", "Asia/Shanghai'; DROP TABLE shops; --"],
         ["S8", "正常店", "taobao", "服饰", "2", "Asia/Shanghai"]]))
    write("messages_glob_[a-z]*.csv", csv_text(HEADER, chat(11, "h3")))
    write("messages_quote'name.csv", csv_text(HEADER, chat(13, "h4")))
    write("messages_formula.csv", csv_text(HEADER, [
        row(15, "=cmd|' /C calc'!A0"), row(16, "+SUM(1)", "agent"), row(17, "@x"), row(18, "-2+3", "agent"),
        row(19, "\t=1+1")]))
    write("messages_formula_header.csv", csv_text(HEADER + ['=HYPERLINK("http://127.0.0.1:9/x","点我")'],
                                                  [r + ["=1+1"] for r in chat(20, "h5")]))
    write("messages_markdown.csv", csv_text(HEADER, [
        row(22, "![图](http://127.0.0.1:9/pixel.png)"), row(23, "[点我](javascript:alert(1))", "agent"),
        row(24, "<img src=http://127.0.0.1:9/x.png onerror=alert(1)>"), row(25, "**粗体** :red[红字] $x^2$", "agent")]))
    write("agents_markdown.csv", csv_text(["agent_id", "shop_id", "agent_name", "kind"], [
        ["A7", "S1", "![a](http://127.0.0.1:9/a.png)", "human"], ["A8", "S1", "<b>客服</b>", "human"]]))

    # -- encodings ---------------------------------------------------------------------------
    good = csv_text(HEADER, chat(26, "h6") + [row(28, "第三条中文消息")])
    lines = good.encode("utf-8").split(b"\n")
    lines[3] = "hm029,S1,h6,hb1,buyer,,2024-05-10 10:29:00,这一行是 GBK".encode("gb18030")
    write("messages_utf8_one_gbk_row.csv", b"\n".join(lines))
    write("messages_gbk.csv", csv_text(HEADER, chat(30, "h7")), encoding="gb18030")
    write("messages_bom.csv", "\ufeff" + csv_text(HEADER, chat(32, "h8")))
    write("messages_utf16.csv", csv_text(HEADER, chat(34)), encoding="utf-16")
    write("messages_binary.csv", bytes(range(256)) * 8)

    # -- structure ---------------------------------------------------------------------------
    write("messages_truncated.csv", csv_text(HEADER, chat(36, "h9"))
          + 'hm038,S1,h9,hb1,buyer,,2024-05-10 10:38:00,"这条消息被截')
    write("messages_cr_only.csv", csv_text(HEADER, chat(39, "h10"), newline="\r"))
    write("messages_ragged.csv", csv_text(HEADER, chat(41, "h11")) + "hm043,S1,h11,hb1,buyer,,2024-05-10 10:43:00,多,了,列\n")
    write("messages_duplicate_header.csv", csv_text(HEADER + ["content"], [r + ["又一列"] for r in chat(44)]))
    write("messages_duplicate_extra_header.csv", csv_text(HEADER + ["备注", "备注"], [r + ["a", "b"] for r in chat(46, "h12")]))
    write("messages_empty.csv", b"")
    write("messages_header_only.csv", csv_text(HEADER, []))
    write("messages_missing_column.csv", csv_text([c for c in HEADER if c != "sent_at"],
                                                  [[v for c, v in zip(HEADER, r) if c != "sent_at"] for r in chat(48)]))
    write("messages_nul_in_cells.csv", csv_text(HEADER, [
        row(50, "正常消息", session="h13"), row(51, "x", session="h13", message_id="hm0\x0051"),
        row(52, "内容里有\x00NUL", "agent", session="h13")]))
    write("messages_nul_header.csv", csv_text(HEADER[:-1] + ["con\x00tent"], chat(53)))
    write("messages_long_cell.csv", csv_text(HEADER, [row(55, "长" * 100_000, session="h14"),
                                                      row(56, "x", "agent", session="h14", sent_at="9" * 5000)]))
    write("messages_bad_values.csv", csv_text(HEADER, [
        row(57, "时间不对", session="h15", sent_at="昨天下午"), row(58, "角色不对", session="h15", sender_role="老板"),
        row(59, "店铺不对", session="h15", shop_id="S404"), row(60, "这一行没问题", session="h15")]))
    write("messages_multiline.csv", csv_text(HEADER, [row(61, "第一行\n第二行\r\n第三行", session="h16"),
                                                      row(62, "好的", "agent", session="h16")]))
    write("messages_tab.csv", csv_text(HEADER, chat(63, "h17"), delim="\t"))
    write("messages_semicolon.csv", csv_text(HEADER, chat(65, "h18"), delim=";"))
    write("messages_too_many_columns.csv", csv_text(HEADER + [f"x{i}" for i in range(1000)],
                                                    [r + [""] * 1000 for r in chat(67)]))
    write("messages_chinese_headers.csv", csv_text(
        ["消息ID", "店铺", "会话ID", "买家昵称", "发送方", "客服账号", "发送时间", "消息内容"], chat(69)))
    write("messages_huge_header_name.csv", csv_text(HEADER + ["列" * 600], [r + ["x"] for r in chat(71)]))

    # -- xlsx --------------------------------------------------------------------------------
    write("messages_not_really.xlsx", csv_text(HEADER, chat(73)))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (80 << 20))
    write("messages_zip_bomb.xlsx", bomb.getvalue())
    xlsx("messages_formulas.xlsx", [HEADER, row(75, "=1+1", session="h19"), row(76, "=HYPERLINK(\"http://127.0.0.1:9\")",
                                                                                 "agent", session="h19")])
    xlsx("messages_empty_sheet.xlsx", [])

    # -- parquet -----------------------------------------------------------------------------
    n = 10_000_000
    one = row(900, "同一条消息一千万次", session="h900")
    parquet("messages_row_bomb.parquet", pa.table({c: pa.array([v]).take(pa.array([0] * n)) for c, v in zip(HEADER, one)}),
            compression="zstd", row_group_size=1 << 20)
    write("messages_not_really.parquet", csv_text(HEADER, chat(77)))
    parquet("messages_nested.parquet", pa.table({
        **{c: [v, w] for c, v, w in zip(HEADER, row(79, "嵌套列", session="h20"), row(80, "收到", "agent", session="h20"))},
        "extra_struct": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], "extra_list": [[1, 2], [3]]}))
    parquet("messages_wrong_types.parquet", pa.table({
        **{c: [v] for c, v in zip(HEADER, row(81, "时间是数字", session="h21")) if c != "sent_at"},
        "sent_at": pa.array([1715306400], type=pa.int64())}))

    # -- files and folders -------------------------------------------------------------------
    write("with_archive/messages.csv", csv_text(HEADER, chat(82, "h22")))
    with zipfile.ZipFile(OUT / "with_archive" / "orders.zip", "w") as archive:
        archive.writestr("orders.csv", "order_id\n")
    write("with_archive/notes.txt", "not data")
    write("messages.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    with zipfile.ZipFile(OUT / "export.zip", "w") as archive:
        archive.writestr("messages.csv", csv_text(HEADER, chat(84)))
    write("orphan_session/sessions.csv", csv_text(
        ["session_id", "shop_id", "buyer_id", "started_at", "ended_at"],
        [["h30", "S1", "hb1", "2024-05-11 09:00:00", "2024-05-11 09:10:00"],
         ["h31", "S1", "hb1", "2024-05-11 11:00:00", "2024-05-11 11:10:00"]]))
    write("orphan_session/messages.csv", csv_text(HEADER, [
        row(90, "时间坏了", session="h30", sent="坏时间"), row(91, "也坏了", "agent", session="h30", sent="坏"),
        row(92, "你好", session="h31", sent="2024-05-11 11:00:00"),
        row(93, "您好", "agent", session="h31", sent="2024-05-11 11:00:30")]))

    # -- times and text the live events met (issue 24): refused by their line, the rest imported ----------
    write("messages_far_times.csv", csv_text(HEADER, [
        row(94, "一万年", session="h32", sent="10000-01-01 00:00:00"),
        row(95, "时区远未来", session="h32", sent="9999-12-31T23:00:00+08:00"),
        row(96, "公元一年", session="h32", sent="0001-01-01 00:00:00"),
        row(97, "正常", session="h33", sent="2024-05-10 12:00:00"),
        row(98, "正常回复", "agent", session="h33", sent="2024-05-10 12:00:30")]))
    write("evaluations_far_rating.csv", csv_text(
        ["session_id", "shop_id", "buyer_id", "invited_by", "invited_at", "rating", "rated_at"],
        [["c1", "S1", "b1", "agent", "2024-05-10 10:10:00", "1", "2999-01-01 00:00:00"]]))
    write("messages_line_separators.csv", csv_text(HEADER, [
        row(99, "第一行\u2028第二行\u0085第三行\u2029完", session="h34"),
        row(100, "收到", "agent", session="h34")]))


if __name__ == "__main__":
    main()
    print(f"{sum(1 for p in OUT.rglob('*') if p.is_file())} files in {OUT}")
