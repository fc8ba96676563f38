"""Regenerate the 生意参谋 邀评明细 fixture (plus the chats it rates) and its truth.

Both files are what rakei076/sycm-cli writes (see SOURCE.md):

* eval.json   - `sycm-cli evaluation-list --date 2026-11-09 --out eval.json`: the raw response of
  GET https://sycm.taobao.com/csp/api/evaluation/detail/list (orderBy=servTime), dumped with
  json.dumps(..., ensure_ascii=False, indent=2). Rows carry servTime (接待时间), sendTime (邀评时间),
  buyerNick (masked "x**"), psnNickName ("<店铺>:<客服名>"), source, lstEvaScore - and NO session id.
* chats.json  - `sycm-cli fetch-recent --date 2026-11-09 --out chats.json`: the same day's 旺旺 sessions
  (meta.dataId = "<YYYYMMDD>_<sellerId>_<accountId>_<buyerId>") with their messages.

The values of `source` and `lstEvaScore` are NOT documented by sycm-cli; this fixture uses the codes of
the Taobao open API taobao.qianniu.kefueval.get (source 0 客服邀评 / 1 消费者自主评价 / 2 系统邀评;
eval_code 0 非常满意 / 1 满意 / 2 一般 / 3 不满意 / 4 非常不满意). An invitation not yet rated has
lstEvaScore null. Two different buyers share the mask "小**".

Run:  /work/main/.venv/bin/python make_fixture.py     (deterministic; rewrites both files and truth/)
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "truth"
SHOP_ID = "S001"
SHOP = "云朵旗舰店"
SELLER_ID = "2206713358492"
DATE = "2026-11-09"

AGENTS = {  # 客服名 -> accountId
    "小云": "2208817450331",
    "小朵": "2208817450562",
}
# eval_code (taobao.qianniu.kefueval.get) -> our 1-5 rating
CODE_TO_RATING = {0: 5, 1: 4, 2: 3, 3: 2, 4: 1}
SOURCE_TO_INVITED_BY = {0: "agent", 1: "buyer", 2: "system"}

# buyerId, masked nick, agent, [(HH:MM:SS, sender, text)], evaluation (source, sendTime, eval_code|None)
SESSIONS = [
    ("2201458837615", "小**", "小云", [
        ("09:30:12", "buyer", "你好，这款儿童加绒卫衣120的身高穿什么码"),
        ("09:30:40", "agent", "亲，您好~请问宝贝体重多少呢"),
        ("09:31:05", "buyer", "44斤"),
        ("09:31:50", "agent", "建议拍130码哦，这款偏修身，冬天里面穿打底刚好"),
        ("09:32:36", "buyer", "会不会太长"),
        ("09:33:10", "agent", "袖子会长一点点，挽一下就好，明年还能穿"),
        ("09:34:02", "buyer", "好的我拍130"),
        ("09:34:31", "agent", "好的亲，拍下后16点前付款当天发货哦"),
    ], (0, "09:36:20", 0)),
    ("3312006592741", "小**", "小朵", [
        ("11:02:18", "buyer", "在吗 今天下单什么时候发"),
        ("11:02:47", "agent", "在的亲，16点前付款当天发出，之后的次日发"),
        ("11:03:30", "buyer", "发什么快递 到北京几天"),
        ("11:04:02", "agent", "默认韵达，北京一般2天左右到"),
        ("11:05:15", "buyer", "可以指定顺丰吗"),
        ("11:05:49", "agent", "顺丰需要补10元运费差价，亲需要的话我发您补差价链接"),
        ("11:06:33", "buyer", "不用了 韵达就行"),
        ("11:07:01", "agent", "好的亲，付款后今天就给您安排发出"),
    ], (1, "11:20:05", 1)),
    ("1870923345108", "t**", "小云", [
        ("15:10:09", "buyer", "我要退货退款"),
        ("15:10:42", "agent", "亲，您好，请问是哪里不满意呢"),
        ("15:11:30", "buyer", "卫衣尺码偏小，孩子穿不上，还有线头"),
        ("15:12:25", "agent", "非常抱歉给您带来不好的体验，吊牌没剪的话可以退货退款，也可以换大一码"),
        ("15:13:10", "buyer", "不换了 直接退"),
        ("15:14:02", "agent", "好的，您在订单里申请退货退款，原因选尺码不合适，我这边马上同意"),
        ("15:18:40", "buyer", "申请了 运费谁出"),
        ("15:19:22", "agent", "您订单有运费险的，寄回后运费险会赔付到您支付宝"),
        ("15:21:03", "buyer", "质量太一般了"),
        ("15:22:11", "agent", "抱歉亲，线头问题我们反馈给仓库加强质检了，已同意您的退货申请"),
    ], (2, "15:52:00", 3)),
    ("4490215768332", "云**", "小朵", [
        ("19:45:27", "buyer", "这款羽绒服是什么填充的"),
        ("19:46:03", "agent", "亲，是90%白鸭绒填充的，充绒量120克"),
        ("19:46:58", "buyer", "会跑毛吗"),
        ("19:47:40", "agent", "面料是防钻绒处理的，正常穿着不会跑毛哦"),
        ("19:48:35", "buyer", "好的我考虑下"),
        ("19:49:02", "agent", "好的亲，有需要随时联系我~"),
    ], (0, "19:49:30", None)),
]


def ts(hms: str) -> str:
    return f"{DATE} {hms}"


def main() -> None:
    TRUTH.mkdir(exist_ok=True)
    sessions_out, eval_rows, truth_msgs, truth_evals = [], [], [], []
    msg_seq = 0
    for buyer_id, nick, agent, lines, (source, send_hms, code) in SESSIONS:
        account_id = AGENTS[agent]
        psn = f"{SHOP}:{agent}"
        data_id = f"{DATE.replace('-', '')}_{SELLER_ID}_{account_id}_{buyer_id}"
        messages = []
        for hms, sender, text in lines:
            msg_seq += 1
            msg_id = f"{int(DATE.replace('-', '')) * 1000000 + msg_seq:d}"
            frm, to = (nick, psn) if sender == "buyer" else (psn, nick)
            messages.append({"gmtCreated": f"{ts(hms)}.000", "userNickFrom": frm, "userNickTo": to, "msg": text,
                             "msgId": msg_id, "buyerNick": nick, "accountNick": agent})
            truth_msgs.append({"message_id": msg_id, "shop_id": SHOP_ID, "session_id": data_id, "buyer_id": buyer_id,
                               "sender_role": sender, "agent_id": psn if sender == "agent" else "",
                               "sent_at": ts(hms), "content": text})
        sessions_out.append({
            "meta": {"dataId": data_id, "buyerNick": nick, "psnNickName": psn, "accountNick": agent,
                     "startTime": ts(lines[0][0]), "endTime": ts(lines[-1][0]),
                     "isSellerFst": "买家发起", "isUnReply": "已回复"},
            "messages": messages,
        })
        eval_rows.append({"servTime": ts(lines[0][0]), "sendTime": ts(send_hms), "buyerNick": nick,
                          "psnNickName": psn, "source": source, "lstEvaScore": code})
        truth_evals.append({"session_id": data_id, "shop_id": SHOP_ID, "buyer_id": buyer_id,
                            "invited_by": SOURCE_TO_INVITED_BY[source], "invited_at": ts(send_hms),
                            "rating": "" if code is None else CODE_TO_RATING[code], "rated_at": "",
                            "tags": "", "comment": ""})

    chats = {"fetchedAt": "2026-11-10T09:30:12.418305", "date": DATE, "totalOnServer": len(sessions_out),
             "fetched": len(sessions_out), "sessions": sessions_out}
    (HERE / "chats.json").write_text(json.dumps(chats, ensure_ascii=False, indent=2), encoding="utf-8")
    evaluation = {"success": True, "code": 200, "data": {"count": len(eval_rows), "dataSource": eval_rows}}
    (HERE / "eval.json").write_text(json.dumps(evaluation, ensure_ascii=False, indent=2), encoding="utf-8")

    write_csv(TRUTH / "messages.csv", ["message_id", "shop_id", "session_id", "buyer_id", "sender_role",
                                       "agent_id", "sent_at", "content"], truth_msgs)
    write_csv(TRUTH / "evaluations.csv", ["session_id", "shop_id", "buyer_id", "invited_by", "invited_at",
                                          "rating", "rated_at", "tags", "comment"], truth_evals)
    write_csv(TRUTH / "shops.csv", ["shop_id", "shop_name", "platform", "category", "tier"],
              [{"shop_id": SHOP_ID, "shop_name": SHOP, "platform": "tmall", "category": "童装", "tier": 2}])
    write_csv(TRUTH / "agents.csv", ["agent_id", "shop_id", "agent_name", "kind"],
              [{"agent_id": f"{SHOP}:{a}", "shop_id": SHOP_ID, "agent_name": a, "kind": "human"} for a in AGENTS])


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
