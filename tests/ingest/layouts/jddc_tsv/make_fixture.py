"""Regenerate the JDDC-style chat.txt fixture and its truth.

Layout (see SOURCE.md): UTF-8 text, one message per line, TAB-separated, no header line, 7 fields:

    session_id \t user_id \t waiter_send \t is_transfer \t is_repeat \t sku \t content

session_id = 32 hex chars; user_id = "USERID_<8 digits>"; waiter_send 0 = the customer wrote, 1 = the
shop's agent wrote; is_transfer / is_repeat are 0/1 flags (constant within a session); sku is empty
(or a product id on customer lines that carry one). No timestamps, no agent identity, no shop column.
Sessions are NOT separated by blank lines: a session is the run of consecutive lines with the same
session_id. Numbers, names, addresses, order ids... are desensitised into placeholders such as
[数字x] [订单x] [金额x] [姓名x] [地址x] [站点x]. Real dumps have a few lines where the content itself
contained a TAB and so splits into 8 fields; one such line is reproduced here on purpose.

Run:  /work/main/.venv/bin/python make_fixture.py     (deterministic; rewrites chat.txt and truth/)
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "truth"
SHOP_ID = "S001"

# (session key, user_id, is_transfer, is_repeat, [(waiter_send, sku, content)])
SESSIONS = [
    ("size", "USERID_10418276", 0, 0, [
        (0, "100038563271", "[链接x] 这款儿童加绒卫衣孩子身高[数字x]体重[数字x]斤穿什么码"),
        (1, "", "您好，很高兴为您服务，请问有什么可以帮您?"),
        (1, "", "按您说的身高体重建议选[数字x]码哦，这款版型偏修身"),
        (0, "", "会不会太大 明年还能穿吗"),
        (1, "", "袖子稍长一点，挽一下就好，明年穿刚好的"),
        (0, "100038563271", "粉色那个码还有货吗"),
        (1, "", "有现货的亲，今天[时间x]前下单当天出库"),
        (0, "", "好的 我下单了"),
        (1, "", "感谢您对京东的支持，祝您生活愉快，再见!"),
    ]),
    ("ship", "USERID_10735102", 0, 1, [
        (0, "", "咨询订单号:[订单x] 订单金额:[金额x] 下单时间:[日期x]"),
        (1, "", "亲爱哒，请问有什么问题小妹可以帮您处理或解决的呢?"),
        (0, "", "什么时候发货 孩子周末要穿"),
        (1, "", "这边看到订单已经打包了，预计今天出库，[地址x]一般[数字x]-[数字x]天送达"),
        (0, "", "能发京东快递吗"),
        (1, "", "商家仓发货默认是合作快递哦，出库后可以在订单详情看到物流单号"),
        (0, "", "好吧 尽快发"),
        (1, "", "好的亲，已经帮您备注加急了 请问还有其他还可以帮到您的吗?"),
        (0, "", "没有了"),
    ]),
    ("refund", "USERID_10592847", 1, 0, [
        (0, "", "我要退款"),
        (1, "", "您好 亲爱的，麻烦提供一下需要售后的订单号哦"),
        (0, "", "[订单x] 卫衣尺码偏小 孩子穿不上"),
        (1, "", "给您带来不便非常抱歉，请问吊牌还在吗，商品没有下水吧"),
        (0, "", "吊牌还在 没洗过"),
        (1, "", "好的 可以给您申请退货退款，也可以换大一码，您看需要哪种呢"),
        (0, "", "直接退吧 不换了"),
        (1, "", "已为您提交退货申请 预计[数字x]-[数字x]天有配送师傅上门取件\t取件前会电话联系您"),
        (0, "", "钱多久到账"),
        (1, "", "商品取回检测后[数字x]-[数字x]个工作日原路退回哦"),
        (0, "", "好的 谢谢"),
        (1, "", "不客气 辛苦您点击聊天框中的[站点x]给我一个评价哦"),
    ]),
]


def session_id(key: str) -> str:
    return hashlib.md5(f"S001-jddc-{key}".encode()).hexdigest()


def main() -> None:
    TRUTH.mkdir(exist_ok=True)
    lines, truth = [], []
    for key, user, transfer, repeat, msgs in SESSIONS:
        sid = session_id(key)
        for waiter, sku, content in msgs:
            # content is written raw: an embedded TAB makes that line 8 fields, as in the real release
            lines.append("\t".join([sid, user, str(waiter), str(transfer), str(repeat), sku, content]))
            truth.append({"message_id": f"chat.txt:{len(lines)}", "shop_id": SHOP_ID, "session_id": sid,
                          "buyer_id": user, "sender_role": "agent" if waiter else "buyer", "agent_id": "",
                          "content": content})
    (HERE / "chat.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    header = ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "content"]
    write_csv(TRUTH / "messages.csv", header, truth)
    write_csv(TRUTH / "shops.csv", ["shop_id", "shop_name", "platform", "category", "tier"],
              [{"shop_id": SHOP_ID, "shop_name": "云朵旗舰店", "platform": "jd", "category": "童装", "tier": 2}])
    write_csv(TRUTH / "agents.csv", ["agent_id", "shop_id", "agent_name", "kind"], [])


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
