#!/usr/bin/env python3
"""Regenerate the 生意参谋 旺旺咨询明细 chat dump (sycm-cli fetch-recent JSON).

Run:  /work/main/.venv/bin/python make_fixture.py   (deterministic, stdlib only)
"""
# The shared story (chats, agents, truth writers) lives in ../taobao_story.py.
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))
# ---------------------------------------------------------------------------
# 生意参谋 旺旺咨询明细 as pulled by rakei076/sycm-cli (see SOURCE.md).
# One consultation = one (day, sub-account, buyer); dataId =
# f"{dateId}_{sellerId}_{accountId}_{buyerId}".  Only the human reception is
# in these reports: robot (服务助手) turns, the 转人工 notice and the recall
# notice are not included.  IDs below are synthetic.
# ---------------------------------------------------------------------------
import json
from pathlib import Path

from taobao_story import (  # noqa: E402
    AJIE,
    B1,
    B2,
    B3,
    B4,
    DAY,
    SHOP_ID,
    STORY,
    XIAOMEI,
    write_csv,
    write_shops_agents,
)

HERE = Path(__file__).resolve().parent
DATE_ID = DAY.replace("-", "")
SELLER_ID = "2206512345678"
ACCOUNT_IDS = {XIAOMEI: "2206598760011", AJIE: "2206598760012"}
BUYER_IDS = {B1: "1701234501", B2: "2213574802", B3: "3398765103", B4: "2200456704"}

# consultation -> (agent, buyer, story keys, isSellerFst, isUnReply)
CONSULTATIONS = [
    (XIAOMEI, B1, list(range(7, 15)), "买家发起", "已回复"),
    (AJIE, B2, [15, 16, 17, 19, 20, 21, 22, 23, 24], "买家发起", "已回复"),
    (AJIE, B3, list(range(25, 32)), "买家发起", "已回复"),
    (XIAOMEI, B4, [32, 33], "买家发起", "未回复"),
]


def masked(nick):
    # list/meta buyerNick is masked in sycm ("x**" in the tool's docs)
    return nick[0] + "**"


def data_id(agent, buyer):
    return f"{DATE_ID}_{SELLER_ID}_{ACCOUNT_IDS[agent]}_{BUYER_IDS[buyer]}"


def list_row(agent, buyer, keys, fst, unreply):
    story = {s[0]: s for s in STORY}
    times = [story[k][2] for k in keys]
    return {
        "dateId": DATE_ID,
        "sellerId": SELLER_ID,
        "accountId": ACCOUNT_IDS[agent],
        "buyerId": BUYER_IDS[buyer],
        "accountNick": agent.split(":", 1)[1],
        "psnNickName": agent,
        "buyerNick": masked(buyer),
        "startTime": f"{DAY} {min(times)}",
        "endTime": f"{DAY} {max(times)}",
        "isSellerFst": fst,
        "isUnReply": unreply,
    }


def consultations_desc():
    """The list endpoint is called with orderBy=startTime; the tool's own
    sample shows the latest session first, so rows are newest-first here."""
    rows = [(list_row(*c), c) for c in CONSULTATIONS]
    rows.sort(key=lambda rc: rc[0]["startTime"], reverse=True)
    return rows

# ---------------------------------------------------------------------------
# Layout: `sycm-cli fetch-recent --date 2026-11-09 --limit 10 --out sycm-2026-11-09.json`
#   out = {fetchedAt, date, totalOnServer, fetched, sessions:[{meta:{...}, messages:[...]}]}
#   written with Path.write_text(json.dumps(out, ensure_ascii=False, indent=2))
#   (no trailing newline; UTF-8 on macOS, where the tool reads Chrome cookies)
#   messages are the raw rows of /csp/api/detail/list (10 per page, concatenated)
#   gmtCreated "YYYY-MM-DD HH:MM:SS.000"; userNickFrom "<店铺>:<客服>" | "<买家旺旺>"
# ---------------------------------------------------------------------------
OUT_NAME = f"sycm-{DAY}.json"
FETCHED_AT = "2026-11-10T09:30:12.418533"   # datetime.now().isoformat()
MSG_ID_BASE = 8612004450031100


def message_rows(agent, buyer, keys):
    story = {s[0]: s for s in STORY}
    out = []
    for k in keys:
        _, b, t, role, acct, kind, text = story[k]
        frm, to = (agent, buyer) if role == "agent" else (buyer, agent)
        out.append({
            "dateId": DATE_ID,
            "accountId": ACCOUNT_IDS[agent],
            "buyerId": BUYER_IDS[buyer],
            "accountNick": agent.split(":", 1)[1],
            "psnNickName": agent,
            "buyerNick": masked(buyer),
            "gmtCreated": f"{DAY} {t}.000",
            "userNickFrom": frm,
            "userNickTo": to,
            "msg": text,          # the buyer's photo comes through as its image URL
            "msgId": str(MSG_ID_BASE + k * 7),
        })
    return out


def main():
    sessions, truth, n = [], [], 0
    for row, (agent, buyer, keys, fst, unreply) in consultations_desc():
        did = data_id(agent, buyer)
        msgs = message_rows(agent, buyer, keys)
        sessions.append({
            "meta": {
                "dataId": did,
                "buyerNick": row["buyerNick"],
                "psnNickName": row["psnNickName"],
                "accountNick": row["accountNick"],
                "startTime": row["startTime"],
                "endTime": row["endTime"],
                "isSellerFst": row["isSellerFst"],
                "isUnReply": row["isUnReply"],
            },
            "messages": msgs,
        })
    out = {"fetchedAt": FETCHED_AT, "date": DAY, "totalOnServer": len(sessions),
           "fetched": len(sessions), "sessions": sessions}
    (HERE / OUT_NAME).write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")

    # truth in chronological order
    story = {s[0]: s for s in STORY}
    for agent, buyer, keys, _f, _u in sorted(CONSULTATIONS, key=lambda c: c[2][0]):
        for k in keys:
            _, b, t, role, acct, kind, text = story[k]
            n += 1
            truth.append([f"M{n:04d}", SHOP_ID, data_id(agent, buyer), buyer, role,
                          agent if role == "agent" else "", f"{DAY} {t}", text])
    write_csv(HERE / "truth" / "messages.csv",
              ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "sent_at", "content"],
              truth)
    write_shops_agents(HERE / "truth", [XIAOMEI, AJIE])
    print(f"wrote {OUT_NAME}: {len(sessions)} sessions, {len(truth)} messages")


if __name__ == "__main__":
    main()
