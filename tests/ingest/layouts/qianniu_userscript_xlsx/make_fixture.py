#!/usr/bin/env python3
"""Regenerate the 千牛聊天记录导出器 Excel (userscript) fixture.

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
