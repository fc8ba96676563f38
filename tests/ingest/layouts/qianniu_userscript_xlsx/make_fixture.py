#!/usr/bin/env python3
"""Regenerate the 千牛聊天记录导出器 Excel (userscript) fixture.

Run:  /work/main/.venv/bin/python make_fixture.py   (deterministic, stdlib only)
"""
# The shared story (chats, agents, truth writers) lives in ../taobao_story.py.
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))
# ---------------------------------------------------------------------------
# Layout: userscript 「千牛聊天记录导出器 Excel」 v5.5 (SheetJS xlsx@0.18.5)
#   sheet 1 '导出汇总' = json_to_sheet(summaryRows)
#       客户名 | 状态 | 消息数 | 是否生成工作表 | 失败原因 | 导出时间
#   then one sheet per customer (only if it has rows), name = safeSheetName(客户名)
#       客户名 | 消息序号 | 发送时间 | 发送内容 | 发送账号 | 账号类型
#   发送时间 is the page's time line only (HH:MM:SS); date lines are dropped.
#   file name: 千牛聊天记录_原始逐条_<export YYYY-MM-DD>_<HH-MM>.xlsx (export time!)
# The sheet XML below reproduces SheetJS 0.18.5 writeFile defaults
# (bookSST=false -> strings as t="str", no compression, zero zip dates);
# checked against the real library, theme/metadata parts left out.
# ---------------------------------------------------------------------------
import re
import zipfile
from pathlib import Path

from taobao_story import (  # noqa: E402
    AJIE,
    B1,
    B2,
    B3,
    B4,
    ROBOT,
    XIAOMEI,
    web_rows,
    web_truth,
    write_csv,
    write_shops_agents,
)

HERE = Path(__file__).resolve().parent
EXPORT_DAY = "2026-11-10"
OUT_NAME = f"千牛聊天记录_原始逐条_{EXPORT_DAY}_09-14.xlsx"
# customer list order on the page, with the time getNowText() returned when the
# script reached each customer; one customer failed (no chat pane found)
FAILED = "tb_路过的猫"
CUSTOMERS = [(B1, "09:14:31"), (B2, "09:14:35"), (FAILED, "09:14:39"), (B3, "09:14:41"), (B4, "09:14:45")]

SERVICE_KEYWORDS = ["客服", "专卖店", "旗舰店", "店铺", "店", "售后", "售前", "接待", "导购", "小二"]


def detect_account_type(sender, customer):
    s, c = sender.strip(), customer.strip()
    if not s:
        return ""
    if c and (s == c or c in s):
        return "客户"
    if any(k in s for k in SERVICE_KEYWORDS):
        return "客服"
    if ":" in s or "：" in s:
        return "客服"
    return "客户"


def safe_sheet_name(name):
    n = re.sub(r"[\\/?*\[\]:]", "_", name or "客户")
    n = re.sub(r"\s+", " ", n).strip() or "客户"
    return n[:31]


# ---- minimal SheetJS-style writer ------------------------------------------
def esc(s):
    s = (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
          .replace('"', "&quot;").replace("'", "&apos;"))
    return re.sub(r"[\x00-\x08\x0b-\x1f]", lambda m: "_x%04x_" % ord(m.group(0)), s)


def col_letter(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def char2width(wch, mdw=6):
    return round((wch * mdw + 5) / mdw * 256) / 256


def sheet_xml(header, records, widths):
    rows = [header] + [[rec[h] for h in header] for rec in records]
    last = f"{col_letter(len(header) - 1)}{len(rows)}"
    out = []
    for r, vals in enumerate(rows, 1):
        cells, row_pre = [], False
        for c, v in enumerate(vals):
            ref = f"{col_letter(c)}{r}"
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                v = str(v)
                pre = bool(re.search(r"(^\s|\s$|\n)", v))
                row_pre |= pre
                sp = ' xml:space="preserve"' if pre else ""
                cells.append(f'<c r="{ref}" t="str"{sp}><v{sp}>{esc(v)}</v></c>')
        rp = ' xml:space="preserve"' if row_pre else ""
        out.append(f'<row r="{r}"{rp}>{"".join(cells)}</row>')
    cols = "".join(f'<col min="{i}" max="{i}" width="{char2width(w)}" customWidth="1"/>'
                   for i, w in enumerate(widths, 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            f'<cols>{cols}</cols><sheetData>{"".join(out)}</sheetData>'
            f'<ignoredErrors><ignoredError numberStoredAsText="1" sqref="A1:{last}"/></ignoredErrors></worksheet>')


def write_workbook(path, sheets):
    """sheets: list of (name, xml). Writes a STORED zip with zero DOS dates like SheetJS."""
    n = len(sheets)
    ctypes = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
              '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types" '
              'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
              '<Default Extension="xml" ContentType="application/xml"/>'
              '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
              '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
              + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
              + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
              '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
              '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
              '</Types>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               + "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
               + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
               '</Relationships>')
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
              '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<fonts count="1"><font><sz val="12"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
              '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
              '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
              '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
              '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleMedium4"/></styleSheet>')
    workbook = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<workbookPr codeName="ThisWorkbook"/><sheets>'
                + "".join(f'<sheet name="{esc(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, (name, _) in enumerate(sheets, 1))
                + '</sheets></workbook>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    app = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           '<Application>SheetJS</Application><HeadingPairs><vt:vector size="2" baseType="variant">'
           f'<vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{n}</vt:i4></vt:variant>'
           f'</vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="{n}" baseType="lpstr">'
           + "".join(f"<vt:lpstr>{esc(name)}</vt:lpstr>" for name, _ in sheets)
           + '</vt:vector></TitlesOfParts></Properties>')
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>')
    parts = [("xl/_rels/workbook.xml.rels", wb_rels), ("xl/styles.xml", styles)]
    parts += [(f"xl/worksheets/sheet{i}.xml", x) for i, (_, x) in enumerate(sheets, 1)]
    parts += [("xl/workbook.xml", workbook), ("_rels/.rels", rels), ("docProps/app.xml", app),
              ("docProps/core.xml", core), ("[Content_Types].xml", ctypes)]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 0, 0, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data.encode("utf-8"))


def main():
    summary, customer_sheets, keys = [], [], {}
    for name, now in CUSTOMERS:
        export_time = f"{EXPORT_DAY} {now}"
        if name == FAILED:
            summary.append({"客户名": name, "状态": "失败", "消息数": 0, "是否生成工作表": "否",
                            "失败原因": "未找到聊天内容区域", "导出时间": export_time})
            continue
        rows = []
        for key, t, sender, text in web_rows(name):
            rows.append({"客户名": name, "消息序号": len(rows) + 1, "发送时间": t, "发送内容": text,
                         "发送账号": sender, "账号类型": detect_account_type(sender, name)})
        keys[name] = [k for k, *_ in web_rows(name)]
        if rows:
            customer_sheets.append((name, rows))
        summary.append({"客户名": name, "状态": "成功", "消息数": len(rows),
                        "是否生成工作表": "是" if rows else "否",
                        "失败原因": "" if rows else "无有效消息", "导出时间": export_time})

    sheets = [("导出汇总", sheet_xml(["客户名", "状态", "消息数", "是否生成工作表", "失败原因", "导出时间"],
                                  summary, [24, 12, 14, 18, 40, 22]))]
    used = {"导出汇总"}
    for name, rows in customer_sheets:
        base = final = safe_sheet_name(name)
        i = 1
        while final in used:
            suffix = f"_{i}"
            final = base[:31 - len(suffix)] + suffix
            i += 1
        used.add(final)
        sheets.append((final, sheet_xml(["客户名", "消息序号", "发送时间", "发送内容", "发送账号", "账号类型"],
                                        rows, [24, 10, 14, 90, 30, 12])))
    path = HERE / OUT_NAME
    write_workbook(path, sheets)
    truth = web_truth(keys)
    write_csv(HERE / "truth" / "messages.csv",
              ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "sent_at", "content"],
              truth)
    write_shops_agents(HERE / "truth", [XIAOMEI, AJIE, ROBOT])
    print(f"wrote {path.name}: {len(sheets)} sheets, {len(truth)} messages")


if __name__ == "__main__":
    main()
