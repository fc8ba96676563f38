"""Regenerate the 拼多多 chat-search dump fixture (one JSON per order) and its truth.

Layout (see SOURCE.md): each file is the raw response body of
POST https://mms.pinduoduo.com/latitude/message/getHistoryMessage  {orderSn, startTime, endTime, pageNum, pageSize}
saved as-is, one file per order sn:

    {"success":true,"errorCode":1000000,"errorMsg":null,
     "result":{"total":N,
               "messageList":["<message as a JSON string>", ...],   # newest first
               "userInfo":{"uid":..,"nickName":"云**","avatar":..},
               "mallInfo":{"mallId":..,"mallName":..,"logo":..}}}

Each message: ts = epoch SECONDS as a string, msg_id = 13-digit string, from/to = {role: "user" | "mall_cs", uid, ...};
agents are told apart only by from.csid; the robot by template_name "mall_robot_text_msg" / show_auto.
Buyer nicknames are masked; two different buyers here share the mask "云**" (told apart by uid only).

Run:  /work/main/.venv/bin/python make_fixture.py     (deterministic; rewrites the fixture and truth/)
"""
from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "pdd_chat_search_20261109"
TRUTH = HERE / "truth"
CST = timezone(timedelta(hours=8))

SHOP_ID = "S001"
SHOP_NAME = "云朵童装专营店"
MALL_ID = "712305568"
MALL_LOGO = "https://img.pddpic.com/mms-material-img/2026-03-02/5b1f2a64-0c1e-4d8e-9a51-6d2f1c0b7e31.jpeg"

# agents: csid as the chat carries it -> our agent_id
AGENTS = {
    "小云": {"agent_id": "小云", "agent_name": "小云", "kind": "human", "cs_uid": "AAKX3FQ7ZT5RM2WBNH4JC6UDPE_GEXDA"},
    "小朵": {"agent_id": "小朵", "agent_name": "小朵", "kind": "human", "cs_uid": "AAMP7RD2KW9QX4YTGB3LH8SNVC_GEXDA"},
}

# buyers: real nick (never exported) -> masked nick as exported; uid is the only stable key
BUYERS = {
    "B1": {"uid": "4836201957312", "real": "云朵朵妈", "mask": "云**"},
    "B2": {"uid": "5290418836024", "real": "云小米", "mask": "云**"},      # same mask as B1
    "B3": {"uid": "1307725649881", "real": "tina_2018", "mask": "t******8"},
}

# (order_sn, buyer, [(HH:MM:SS, sender, text)])  sender: "buyer" | agent csid | "robot"
ORDERS = [
    ("261109-530917264810473", "B1", [
        ("09:12:04", "buyer", "你好，这款加绒卫衣孩子身高120体重22公斤穿什么码"),
        ("09:12:31", "小云", "亲，您好，在的哦~"),
        ("09:13:10", "小云", "120身高22公斤建议拍130码哦，这款版型偏修身，冬天里面还要穿打底的话大一码更合适"),
        ("09:14:02", "buyer", "130会不会太大，明年还能穿吗"),
        ("09:14:48", "小云", "130袖长会长一点点，挽一下就好，明年长个子刚好能穿的"),
        ("09:15:20", "buyer", "粉色的130还有货吗"),
        ("09:15:44", "小云", "粉色130有现货的亲，今天16点前拍下当天就能发出"),
        ("09:17:39", "buyer", "好的那我拍了"),
        ("09:21:05", "buyer", "已经拍好了，帮我备注一下尽快发"),
        ("09:21:37", "小云", "收到亲，已经给您备注优先发货了，感谢支持~"),
        ("09:22:10", "buyer", "谢谢"),
    ]),
    ("261109-172804633950286", "B2", [
        ("10:40:16", "buyer", "在吗，今天下单什么时候发货"),
        ("10:40:52", "小朵", "亲，在的，16点前付款当天发，16点后次日发出哦"),
        ("10:41:30", "buyer", "发什么快递？到广州要几天"),
        ("10:42:05", "小朵", "默认发中通，广州一般2-3天能到"),
        ("10:42:48", "buyer", "能发顺丰吗，孩子周末要穿"),
        ("10:43:33", "小朵", "顺丰需要补运费差价10元，亲需要的话我给您发个补差价链接"),
        ("10:44:10", "buyer", "那算了，中通就行，我刚付款了"),
        ("10:44:46", "小朵", "好的亲，已看到您的订单，今天下午就给您发出"),
        ("10:45:02", "buyer", "好的谢谢"),
    ]),
    ("261105-884120537629014", "B3", [
        ("14:03:27", "buyer", "你好 我要退款"),
        ("14:03:28", "robot", "亲，欢迎光临云朵童装专营店，机器人小助手为您服务，请问是哪个订单需要售后呢？"),
        ("14:04:15", "buyer", "收到的卫衣尺码偏小，孩子穿不上"),
        ("14:05:02", "小云", "亲，不好意思让您久等了，我是客服小云，请问您拍的是哪个尺码呢"),
        ("14:05:40", "buyer", "拍的110，孩子平时穿110的"),
        ("14:06:31", "小云", "这款确实偏小一码，给您带来不便了。吊牌没剪、没下水的话可以退货退款，也可以换120"),
        ("14:07:18", "buyer", "不想换了，直接退吧"),
        ("14:08:02", "小云", "好的亲，您在订单页点申请售后，选退货退款，原因选尺码不合适，我这边马上同意"),
        ("14:12:46", "buyer", "申请好了，运费谁出"),
        ("14:13:30", "小云", "亲，您的订单有退货包运费，寄回后运费会自动补贴到您的账户"),
        ("14:14:05", "buyer", "好的"),
        ("14:14:40", "小云", "已经同意您的退货申请了，退货地址在售后详情里，寄出后填写单号就可以，有问题随时找我哦"),
    ]),
]

DAY = (2026, 11, 9)


def epoch(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return int(datetime(*DAY, h, m, s, tzinfo=CST).timestamp())


def message(order_i: int, msg_i: int, buyer: dict, hms: str, sender: str, text: str) -> dict:
    ts = epoch(hms)
    msg_id = str(ts * 1000 + (order_i * 97 + msg_i * 31) % 1000)
    user = {"role": "user", "uid": buyer["uid"]}
    mall = {"role": "mall_cs", "mall_id": MALL_ID, "uid": MALL_ID}
    if sender == "buyer":
        return {"from": user, "to": {"role": "mall_cs", "mall_id": MALL_ID, "uid": MALL_ID}, "content": text,
                "type": 0, "ts": str(ts), "msg_id": msg_id, "nickname": buyer["mask"], "status": "read"}
    if sender == "robot":
        return {"from": mall, "to": user, "content": text, "type": 0, "ts": str(ts), "msg_id": msg_id,
                "template_name": "mall_robot_text_msg", "show_auto": True, "manual_reply": 0, "is_aut": 1,
                "mallName": SHOP_NAME, "status": "read"}
    agent = AGENTS[sender]
    frm = dict(mall, cs_uid=agent["cs_uid"], csid=sender)
    return {"from": frm, "to": user, "content": text, "type": 0, "ts": str(ts), "msg_id": msg_id,
            "manual_reply": 1, "is_aut": 0, "mallName": SHOP_NAME, "status": "read"}


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    TRUTH.mkdir(exist_ok=True)
    truth_rows = []
    for oi, (order_sn, bkey, lines) in enumerate(ORDERS):
        buyer = BUYERS[bkey]
        msgs = [message(oi, mi, buyer, *line) for mi, line in enumerate(lines)]
        # the API returns newest first (see SOURCE.md); each list item is itself a JSON string
        message_list = [json.dumps(m, ensure_ascii=False, separators=(",", ":"))
                        for m in sorted(msgs, key=lambda m: (int(m["ts"]), m["msg_id"]), reverse=True)]
        body = {
            "success": True, "errorCode": 1000000, "errorMsg": None,
            "result": {
                "total": len(message_list),
                "messageList": message_list,
                "userInfo": {"uid": int(buyer["uid"]), "nickName": buyer["mask"],
                             "avatar": f"https://avatar3.pddpic.com/a/Q0{buyer['uid'][-6:]}-avatar.jpeg"},
                "mallInfo": {"mallId": int(MALL_ID), "mallName": SHOP_NAME, "logo": MALL_LOGO},
            },
        }
        (OUT / f"{order_sn}.json").write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                                              encoding="utf-8")
        for m, (hms, sender, text) in zip(msgs, lines):
            role = "buyer" if sender == "buyer" else "robot" if sender == "robot" else "agent"
            truth_rows.append({
                "message_id": m["msg_id"], "shop_id": SHOP_ID, "session_id": order_sn, "buyer_id": buyer["uid"],
                "sender_role": role, "agent_id": AGENTS[sender]["agent_id"] if role == "agent" else "",
                "sent_at": datetime.fromtimestamp(int(m["ts"]), CST).strftime("%Y-%m-%d %H:%M:%S"),
                "content": text,
            })
    write_csv(TRUTH / "messages.csv", ["message_id", "shop_id", "session_id", "buyer_id", "sender_role",
                                       "agent_id", "sent_at", "content"], truth_rows)
    write_csv(TRUTH / "shops.csv", ["shop_id", "shop_name", "platform", "category", "tier"],
              [{"shop_id": SHOP_ID, "shop_name": SHOP_NAME, "platform": "pdd", "category": "童装", "tier": 2}])
    write_csv(TRUTH / "agents.csv", ["agent_id", "shop_id", "agent_name", "kind"],
              [{"agent_id": a["agent_id"], "shop_id": SHOP_ID, "agent_name": a["agent_name"], "kind": a["kind"]}
               for a in AGENTS.values()])


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
