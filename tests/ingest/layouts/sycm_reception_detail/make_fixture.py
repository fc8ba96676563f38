#!/usr/bin/env python3
"""Regenerate the 生意参谋 接待明细 session list (sycm-cli reception-list --out JSON).

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
# Layout: `sycm-cli reception-list --date 2026-11-09 --limit 20 --out reception-list-2026-11-09.json`
#   preset reception-list = GET /csp/api/ww/consultation/detail/list (orderBy=startTime)
#   --out writes the whole API response: json.dumps(data, ensure_ascii=False, indent=2)
#   rows in data.dataSource, total in data.count; the CLI shows
#   startTime | endTime | buyerNick | psnNickName | isUnReply
# ---------------------------------------------------------------------------
OUT_NAME = f"reception-list-{DAY}.json"


def main():
    rows = [r for r, _c in consultations_desc()]
    resp = {"success": True, "code": 200, "data": {"count": len(rows), "dataSource": rows}}
    (HERE / OUT_NAME).write_text(json.dumps(resp, ensure_ascii=False, indent=2), encoding="utf-8")
    sessions = []
    for agent, buyer, keys, _f, _u in sorted(CONSULTATIONS, key=lambda c: c[2][0]):
        r = list_row(agent, buyer, keys, _f, _u)
        sessions.append([data_id(agent, buyer), SHOP_ID, BUYER_IDS[buyer], r["startTime"], r["endTime"],
                         "", "", agent])
    write_csv(HERE / "truth" / "sessions.csv",
              ["session_id", "shop_id", "buyer_id", "started_at", "ended_at", "transferred_at", "assigned_at", "agent_id"],
              sessions)
    write_shops_agents(HERE / "truth", [XIAOMEI, AJIE])
    print(f"wrote {OUT_NAME}: {len(rows)} consultations")


if __name__ == "__main__":
    main()
