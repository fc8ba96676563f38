#!/usr/bin/env python3
"""Regenerate the 千牛 web-chat scrape fixture (khgkk/qianniu-chat-extract layout).

Run:  /work/main/.venv/bin/python make_fixture.py   (deterministic, stdlib only)
"""
# ---------------------------------------------------------------------------
# Shared story (same in every Taobao layout generator, kept inline so each
# make_fixture.py is self-contained).  All chats happen on 2026-11-09 in shop
# 云朵旗舰店.  Each entry: (key, buyer, HH:MM:SS, role, sub-account, kind, text)
#   role  : buyer / agent / robot / system
#   kind  : text / link / image / transfer / recall
# The robot is 店小蜜, which Qianniu chat records show under the shop's
# "服务助手" sub-account (see SOURCE.md).
# ---------------------------------------------------------------------------
SHOP = "云朵旗舰店"
SHOP_ID = "S001"
DAY = "2026-11-09"
XIAOMEI = "云朵旗舰店:小美"
AJIE = "云朵旗舰店:阿杰"
ROBOT = "云朵旗舰店:服务助手"
B1, B2, B3, B4 = "tb_小鱼2021", "tb_阿花88", "tb_大橙子_cc", "tb_moon酱"
BUYERS = [B1, B2, B3, B4]
IMAGE_URL = "https://img.alicdn.com/imgextra/i3/2206512345678/O1CN01sX7kQe1yUn0Kx9a2M_!!2206512345678.jpg"
WEB_PLACEHOLDER = "请在客户端查看原始聊天记录，网页版无法展示"

STORY = [
    # B1: pre-sale size + shipping, robot first, then 转人工 to 小美
    (1,  B1, "09:58:05", "buyer",  None,    "text", "你好，这款羽绒服有现货吗"),
    (2,  B1, "09:58:06", "robot",  ROBOT,   "text", "亲，欢迎光临云朵旗舰店~这款目前有现货，付款后48小时内发货哦"),
    (3,  B1, "09:58:31", "buyer",  None,    "text", "我身高165，体重110斤，穿什么码"),
    (4,  B1, "09:58:32", "robot",  ROBOT,   "text", "亲，您可以参考详情页的尺码表选择哦，如需更精准的推荐请回复【人工】"),
    (5,  B1, "09:58:50", "buyer",  None,    "text", "人工"),
    (6,  B1, "09:58:51", "system", None,    "transfer", "由 服务助手 转交给 小美"),
    (7,  B1, "09:59:20", "buyer",  None,    "link", "https://item.taobao.com/item.htm?id=712345678901"),
    (8,  B1, "09:59:48", "agent",  XIAOMEI, "text", "亲，您好，我是客服小美~165cm/110斤建议选M码，喜欢宽松一点可以选L码"),
    (9,  B1, "10:00:15", "buyer",  None,    "text", "M码衣长多少"),
    (10, B1, "10:00:52", "agent",  XIAOMEI, "text", "M码衣长68cm，胸围112cm，可以放心拍哦"),
    (11, B1, "10:01:30", "buyer",  None,    "text", "今天拍什么时候发货？发什么快递"),
    (12, B1, "10:02:02", "agent",  XIAOMEI, "text", "今天16点前付款当天发出，默认发中通，江浙沪一般隔天到"),
    (13, B1, "10:02:40", "buyer",  None,    "text", "好的，那我拍M码了"),
    (14, B1, "10:02:58", "agent",  XIAOMEI, "text", "好的亲，拍下后我这边帮您备注优先发货~"),
    # B2: shipping / address change with 阿杰, one recalled message
    (15, B2, "11:20:10", "buyer",  None,    "text", "在吗，我昨天买的还没发货"),
    (16, B2, "11:20:45", "agent",  AJIE,    "text", "亲，在的，我是客服阿杰，麻烦提供一下订单号哦"),
    (17, B2, "11:21:30", "buyer",  None,    "text", "订单号4012345678901234567"),
    (18, B2, "11:21:58", "system", None,    "recall", "tb_阿花88 撤回了一条消息"),
    (19, B2, "11:22:20", "buyer",  None,    "text", "地址要改成杭州市西湖区文三路100号，可以改吗"),
    (20, B2, "11:23:05", "agent",  AJIE,    "text", "可以的亲，已帮您修改地址，今天下午就安排发出，中通快递"),
    (21, B2, "11:23:25", "buyer",  None,    "text", "大概几天能到杭州"),
    (22, B2, "11:23:33", "agent",  AJIE,    "text", "中通一般1-2天就到杭州了"),
    (23, B2, "11:23:40", "buyer",  None,    "text", "谢谢"),
    (24, B2, "11:23:52", "agent",  AJIE,    "text", "不客气，有问题随时找我哦"),
    # B3: after-sale refund with 阿杰 (buyer sends a photo)
    (25, B3, "15:10:03", "buyer",  None,    "text", "收到的衣服袖口开线了，我要退款"),
    (26, B3, "15:10:20", "buyer",  None,    "image", IMAGE_URL),
    (27, B3, "15:11:02", "agent",  AJIE,    "text", "非常抱歉给您带来不好的体验，图片收到了，确实是质量问题"),
    (28, B3, "15:11:40", "agent",  AJIE,    "text", "您在订单页申请退货退款，原因选\"质量问题\"，运费我们承担"),
    (29, B3, "15:12:30", "buyer",  None,    "text", "申请好了，快点处理哦"),
    (30, B3, "15:13:05", "agent",  AJIE,    "text", "已经帮您同意退货了，寄回时请附上纸条写上旺旺名，仓库收到后24小时内退款"),
    (31, B3, "15:13:30", "buyer",  None,    "text", "好"),
    # B4: late-night question, nobody replied (assigned to 小美 by the system)
    (32, B4, "23:41:12", "buyer",  None,    "text", "这款奶白色还会补货吗"),
    (33, B4, "23:41:40", "buyer",  None,    "text", "想要S码"),
]

AGENT_NAMES = {XIAOMEI: ("小美", "human"), AJIE: ("阿杰", "human"), ROBOT: ("服务助手", "robot")}


def write_csv(path, header, rows):
    """Truth CSVs: UTF-8 (no BOM), LF, minimal quoting."""
    import csv
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_shops_agents(truth_dir, agent_ids):
    write_csv(truth_dir / "shops.csv", ["shop_id", "shop_name", "platform", "category", "tier"],
              [[SHOP_ID, SHOP, "taobao", "服饰", 3]])
    write_csv(truth_dir / "agents.csv", ["agent_id", "shop_id", "agent_name", "kind"],
              [[a, SHOP_ID, AGENT_NAMES[a][0], AGENT_NAMES[a][1]] for a in agent_ids])


def web_rows(buyer):
    """Messages as the Qianniu web 聊天记录查询 page shows them: (time, sender, text).
    Recall events are not shown (unknown on this page); the transfer notice is
    shown under the buyer's name (as in the '3ce' dump quoted in SOURCE.md);
    pictures show the page's placeholder text."""
    out = []
    for key, b, t, role, acct, kind, text in STORY:
        if b != buyer or kind == "recall":
            continue
        if kind == "image":
            text = WEB_PLACEHOLDER
        sender = acct if role in ("agent", "robot") else buyer
        out.append((key, t, sender, text))
    return out


def web_truth(layout_keys_by_buyer):
    """Truth rows for the two web layouts (one session per buyer per day)."""
    rows, n = [], 0
    story = {s[0]: s for s in STORY}
    for i, buyer in enumerate(BUYERS, 1):
        for key in layout_keys_by_buyer.get(buyer, []):
            _, b, t, role, acct, kind, text = story[key]
            if kind == "image":
                text = WEB_PLACEHOLDER
            n += 1
            rows.append([f"M{n:04d}", SHOP_ID, f"S001-20261109-{i:02d}", b, role,
                         acct or "", f"{DAY} {t}", text])
    return rows


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
