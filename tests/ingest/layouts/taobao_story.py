"""The story every Taobao layout generator tells (make_fixture.py of qianniu_scraped_xlsx, qianniu_userscript_xlsx,
qianniu_copy_txt, sycm_chatlog_json, sycm_reception_detail): the same chats, written in each layout, and the
truth writers. Deterministic, stdlib only."""
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
