#!/usr/bin/env python3
"""Regenerate the 千牛 client copy-paste text fixture (one CRLF .txt per buyer window).

Run:  /work/main/.venv/bin/python make_fixture.py   (deterministic, stdlib only)
"""
# The shared story (chats, agents, truth writers) lives in ../taobao_story.py.
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))
# ---------------------------------------------------------------------------
# Layout: text copied (Ctrl+A, Ctrl+C) out of one 千牛 client chat window per
# buyer and saved as .txt by an RPA flow; the format is what
# readcliper.py / parse_qianniu_chat_to_json() expects (see SOURCE.md):
#   * lines separated by CRLF (the parser does text.split('\r\n'))
#   * header line  "<昵称> YYYY-M-D H:MM:SS"  (regex \d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}$)
#   * content lines, then optional status line 已读 / 未读 / 发送中 (own side only)
#   * "<昵称> 撤回了一条消息" with no timestamp
#   * system lines without header: 当前用户来自 / 商品详情页 / 由 服务助手 转交给 ...
# This generator uses the unpadded month/day/hour form (2026-11-9 9:58:05).
# Pictures travel as clipboard images, not text, so they are absent here.
# ---------------------------------------------------------------------------
from pathlib import Path

from taobao_story import (  # noqa: E402
    AJIE,
    B1,
    BUYERS,
    DAY,
    ROBOT,
    SHOP_ID,
    STORY,
    XIAOMEI,
    write_csv,
    write_shops_agents,
)

HERE = Path(__file__).resolve().parent
CRLF = "\r\n"
# status shown under our own (human) messages; the last message 小美 sent to
# tb_小鱼2021 was still unread when the window was copied
UNREAD_KEYS = {14}


def stamp(t):
    h, m, s = t.split(":")
    y, mo, d = DAY.split("-")
    return f"{int(y)}-{int(mo)}-{int(d)} {int(h)}:{m}:{s}"


def buyer_lines(buyer):
    lines, truth_msgs, last_t = [], [], None
    if buyer == B1:
        lines += ["当前用户来自", "商品详情页"]
    for key, b, t, role, acct, kind, text in STORY:
        if b != buyer:
            continue
        if kind == "image":
            continue                                   # clipboard image, not text
        if kind == "recall":
            lines.append(text)                          # "tb_阿花88 撤回了一条消息"
            truth_msgs.append((key, last_t, role, acct, text))
            continue
        if kind == "transfer":
            lines += ["由 服务助手 转交给", "小美"]          # notice, no header/time
            truth_msgs.append((key, last_t, role, acct, text))
            continue
        nick = acct if role in ("agent", "robot") else buyer
        lines.append(f"{nick} {stamp(t)}")
        lines.append(text)
        if role == "agent":
            lines.append("未读" if key in UNREAD_KEYS else "已读")
        truth_msgs.append((key, t, role, acct, text))
        last_t = t
    return lines, truth_msgs


def main():
    truth, n = [], 0
    for i, buyer in enumerate(BUYERS, 1):
        lines, msgs = buyer_lines(buyer)
        path = HERE / f"{buyer}.txt"
        path.write_bytes((CRLF.join(lines) + CRLF).encode("utf-8"))
        for key, t, role, acct, text in msgs:
            n += 1
            truth.append([f"M{n:04d}", SHOP_ID, f"S001-20261109-{i:02d}", buyer, role,
                          acct or "", f"{DAY} {t}", text])
        print(f"wrote {path.name}: {len(msgs)} messages")
    write_csv(HERE / "truth" / "messages.csv",
              ["message_id", "shop_id", "session_id", "buyer_id", "sender_role", "agent_id", "sent_at", "content"],
              truth)
    write_shops_agents(HERE / "truth", [XIAOMEI, AJIE, ROBOT])


if __name__ == "__main__":
    main()
