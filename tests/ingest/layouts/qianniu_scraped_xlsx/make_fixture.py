#!/usr/bin/env python3
"""Regenerate the 千牛 web-chat scrape fixture (khgkk/qianniu-chat-extract layout).

Run:  /work/main/.venv/bin/python make_fixture.py   (deterministic, stdlib only)
"""
# The shared story (chats, agents, truth writers) lives in ../taobao_story.py.
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))
# ---------------------------------------------------------------------------
# Layout: khgkk/qianniu-chat-extract scripts/extract.js (ExcelJS 4.x output)
#   workbook.addWorksheet('聊天记录'); columns 客户ID (width 30) | 聊天记录 (width 80)
#   one row per customer; cell = messages.map(m => `${time}\n${name}: ${text}`).join('\n\n')
#   header row bold white on FF4472C4; column 聊天记录 wrapText + vertical top.
# The XML below mirrors what ExcelJS writes for exactly these calls (checked
# against exceljs@4 output; the theme part is left out).
# ---------------------------------------------------------------------------
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from taobao_story import (  # noqa: E402
    AJIE,
    BUYERS,
    ROBOT,
    XIAOMEI,
    web_rows,
    web_truth,
    write_csv,
    write_shops_agents,
)

HERE = Path(__file__).resolve().parent
OUT_NAME = "千牛聊天记录_11月9日.xlsx"   # as passed via --output in the repo's SKILL.md
FIXED_ZIP_TIME = (2026, 11, 10, 9, 20, 45)  # deterministic archive timestamps
CORE_TIME = "2026-11-10T01:20:45Z"           # ExcelJS writes UTC created/modified


def cell_text(buyer):
    blocks = []
    for _key, t, sender, text in web_rows(buyer):
        blocks.append(f"{t}\n{sender}: {text}")
    return "\n\n".join(blocks) if blocks else "(无聊天内容)"


def xml_text(s):
    return escape(s, {'"': "&quot;", "'": "&apos;"})


def build_xlsx(rows):
    sst, index = [], {}

    def sid(s):
        if s not in index:
            index[s] = len(sst)
            sst.append(s)
        return index[s]

    def sst_count_body():
        parts = []
        for s in sst:
            attr = ' xml:space="preserve"' if re.search(r"^\s|\n|\s$", s) else ""
            parts.append(f"<si><t{attr}>{xml_text(s)}</t></si>")
        return "".join(parts)

    row_xml = [
        f'<row r="1" spans="1:2" s="2" customFormat="1" x14ac:dyDescent="0.25">'
        f'<c r="A1" s="2" t="s"><v>{sid("客户ID")}</v></c><c r="B1" s="3" t="s"><v>{sid("聊天记录")}</v></c></row>'
    ]
    total = 2
    for r, (cid, chat) in enumerate(rows, start=2):
        a, b = sid(cid), sid(chat)
        total += 2
        row_xml.append(f'<row r="{r}" spans="1:2" x14ac:dyDescent="0.25">'
                       f'<c r="A{r}" t="s"><v>{a}</v></c><c r="B{r}" s="1" t="s"><v>{b}</v></c></row>')
    last = len(rows) + 1
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
        'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
        f'<dimension ref="A1:B{last}"/>'
        '<sheetFormatPr defaultRowHeight="15" outlineLevelRow="0" outlineLevelCol="0" x14ac:dyDescent="55"/>'
        '<cols><col min="1" max="1" width="30" customWidth="1"/>'
        '<col min="2" max="2" width="80" style="1" customWidth="1"/></cols>'
        f'<sheetData>{"".join(row_xml)}</sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        '<pageSetup orientation="portrait" horizontalDpi="4294967295" verticalDpi="4294967295" '
        'scale="100" fitToWidth="1" fitToHeight="1"/></worksheet>'
    )
    shared = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{total}" uniqueCount="{len(sst)}">{sst_count_body()}</sst>'
    )
    styles = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="2"><font><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/>'
        '<scheme val="minor"/></font><font><b/><color rgb="FFFFFFFF"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FF4472C4"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
        '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium2" defaultPivotStyle="PivotStyleLight16"/>'
        '</styleSheet>'
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<workbookPr filterPrivacy="1"/><sheets><sheet sheetId="1" name="聊天记录" state="visible" r:id="rId3"/></sheets>'
        '<calcPr calcId="171027"/></workbook>'
    )
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
        '</Relationships>'
    )
    ctypes = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '</Types>'
    )
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>Unknown</dc:creator><dc:title></dc:title><dc:subject></dc:subject><dc:description></dc:description>'
        '<cp:keywords></cp:keywords><cp:category></cp:category><cp:lastModifiedBy>Unknown</cp:lastModifiedBy>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{CORE_TIME}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{CORE_TIME}</dcterms:modified></cp:coreProperties>'
    )
    app = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        '<Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>'
        '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant>'
        '<vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs>'
        '<TitlesOfParts><vt:vector size="1" baseType="lpstr"><vt:lpstr>聊天记录</vt:lpstr></vt:vector></TitlesOfParts>'
        '<Company></Company><Manager></Manager><LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>'
        '<HyperlinksChanged>false</HyperlinksChanged><AppVersion>16.0300</AppVersion></Properties>'
    )
    parts = [
        ("[Content_Types].xml", ctypes), ("_rels/.rels", rels),
        ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/worksheets/sheet1.xml", sheet),
        ("xl/sharedStrings.xml", shared), ("xl/styles.xml", styles),
        ("docProps/app.xml", app), ("docProps/core.xml", core), ("xl/workbook.xml", workbook),
    ]
    path = HERE / OUT_NAME
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.encode("utf-8"))
    return path


def main():
    rows = [(buyer, cell_text(buyer)) for buyer in BUYERS]
    path = build_xlsx(rows)
    keys = {b: [k for k, *_ in web_rows(b)] for b in BUYERS}
    truth = web_truth(keys)
    write_csv(HERE / "truth" / "messages.csv",
              ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "sent_at", "content"],
              truth)
    write_shops_agents(HERE / "truth", [XIAOMEI, AJIE, ROBOT])
    print(f"wrote {path.name}: {len(rows)} rows, {len(truth)} messages")


if __name__ == "__main__":
    main()
