"""Learning a shop's chats from its users: which chats to ask about (``suggest``), and corrections taken
in bulk (``correct_many``, the command line's ``scenarios correct``).

A chat is worth asking about when the model hesitates over it (a small margin between its two
strongest scenarios) and when many of the shop's chats read like it (one answer then teaches about all
of them); the chats asked for are spread over scenarios and unlike each other, so that a handful of
answers does not go to twenty copies of one question.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from insight.core.errors import UsageError
from insight.scenarios.model import taxonomy
from insight.scenarios.store import record_correction, refresh_parts
from insight.store import transaction

__all__ = ["suggest", "correct_many", "shop_chats", "ALIKE", "POOL_LIMIT"]

# Two chats whose buyer text has at least this cosine similarity (word and character tf-idf) read alike.
ALIKE = 0.5
# The chats considered for a suggestion: the shop's most recent ones without a correction (the pairwise
# likeness is a square of this size: 3,000 chats ≈ 70 MB for a moment).
POOL_LIMIT = 3000
# How many of the most similar chats make a chat's density.
DENSITY_NEIGHBOURS = 10


def shop_chats(con, shop_id: str, limit: int = POOL_LIMIT) -> tuple[list[str], list[list[dict]]]:
    """The shop's most recent ``limit`` sessions without a correction: their ids and transcripts
    (``{"role", "content"}`` in order), newest first."""
    con.execute("""CREATE OR REPLACE TEMP TABLE _pool AS
        SELECT f.session_id, f.started_at FROM f_sessions f
        WHERE f.shop_id = ? AND NOT EXISTS (SELECT 1 FROM scenario_corrections c
                                            WHERE c.shop_id = f.shop_id AND c.session_id = f.session_id)
        ORDER BY f.started_at DESC, f.session_id LIMIT ?""", [shop_id, int(limit)])
    rows = con.execute("""SELECT p.session_id, m.sender_role, m.content FROM _pool p
        JOIN messages m ON m.shop_id = ? AND m.session_id = p.session_id
        ORDER BY p.started_at DESC, p.session_id, m.sent_at, m._seq""", [shop_id]).fetchall()
    ids: list[str] = []
    chats: list[list[dict]] = []
    for session_id, role, content in rows:
        if not ids or ids[-1] != session_id:
            ids.append(session_id)
            chats.append([])
        chats[-1].append({"role": role, "content": content})
    return ids, chats


def _selection(shares: np.ndarray, likeness: np.ndarray, n: int) -> list[int]:
    """Greedy: the most useful chat (hesitation × density), discounted by its likeness to the ones already
    picked, at most a few per scenario the model reads."""
    top2 = np.sort(shares, axis=1)[:, -2:]
    margin = np.where(shares.sum(axis=1) > 0, top2[:, 1] - top2[:, 0], 1.0)  # nothing to go on: not asked
    k = min(DENSITY_NEIGHBOURS, max(len(shares) - 1, 1))
    density = np.sort(likeness, axis=1)[:, -k:].mean(axis=1) if len(shares) > 1 else np.zeros(len(shares))
    useful = (1.0 - margin) * (0.2 + density)
    useful[shares.sum(axis=1) == 0] = -1.0
    read_as = shares.argmax(axis=1)
    cap = max(2, math.ceil(n / 5))
    picked: list[int] = []
    per_code = np.zeros(shares.shape[1], dtype=int)
    closest = np.zeros(len(shares))
    while len(picked) < n and len(shares):
        score = np.where(per_code[read_as] >= cap, -np.inf, useful * (1.0 - closest))
        score[picked] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]) or score[best] < 0:
            break
        picked.append(best)
        per_code[read_as[best]] += 1
        closest = np.maximum(closest, likeness[best])
    return picked


def suggest(con, shop_id: str, n: int, model, pool_limit: int = POOL_LIMIT) -> list[dict]:
    """Up to ``n`` of the shop's chats whose answers would teach the model most, best first: each with its
    ``session_id``, the model's ``code``, its ``top`` three scenarios with their share of the evidence,
    the ``margin`` between the first two, and ``alike``: how many other chats of the pool read like it
    (what one answer may move)."""
    if not isinstance(n, int) or n < 1:
        raise UsageError("n 应为正整数")
    ids, chats = shop_chats(con, shop_id, pool_limit)
    if not ids:
        return []
    shares, features = model.chat_evidence(chats)
    likeness = (features @ features.T).toarray()
    np.fill_diagonal(likeness, 0.0)
    tax, codes = taxonomy(), model.codes
    out = []
    picked = _selection(shares, likeness, n)
    for i, decided in zip(picked, model.decided_codes(shares[picked])):
        order = np.argsort(-shares[i])
        top = [decided] + [codes[j] for j in order if codes[j] != decided][:2]
        out.append({"session_id": ids[i], "code": decided,
                    "top": [{"code": c, "name": " / ".join(tax.levels(c)), "share": round(float(shares[i][codes.index(c)]), 4)}
                            for c in top],
                    "margin": round(float(np.diff(np.sort(shares[i])[-2:])[0]), 4),
                    "alike": int((likeness[i] >= ALIKE).sum())})
    return out


def correct_many(con, rows: list[dict], source: str = "输入", shops=None) -> dict:
    """Store ``{"session_id", "code"[, "shop_id"]}`` rows as corrections, all or none: every row is checked
    first (its line named on a refusal: an unknown scenario code, a session that does not exist or exists in
    several shops without ``shop_id``, a shop outside ``shops``). Returns the count per shop."""
    tax = taxonomy()
    resolved: list[tuple[str, str, str]] = []
    for line, row in enumerate(rows, start=1):
        session, code, shop = row.get("session_id"), row.get("code"), row.get("shop_id")
        if not isinstance(session, str) or not session or not isinstance(code, str):
            raise UsageError(f"{source} 第 {line} 行应为 {{\"session_id\": …, \"code\": …}}")
        if code not in tax.names:
            raise UsageError(f"{source} 第 {line} 行：未知场景代码 {code!r}（见 data/scenarios/taxonomy.csv）")
        if shop is not None and not isinstance(shop, str):
            raise UsageError(f"{source} 第 {line} 行：shop_id 应为文本")
        where, params = ("AND shop_id = ?", [shop]) if shop else ("", [])
        found = [r[0] for r in con.execute(f"SELECT shop_id FROM f_sessions WHERE session_id = ? {where} LIMIT 2",
                                           [session, *params]).fetchall()]
        if shops is not None:
            found = [s for s in found if s in shops]
        if not found:
            raise UsageError(f"{source} 第 {line} 行：没有会话 {session!r}")
        if len(found) > 1:
            raise UsageError(f"{source} 第 {line} 行：会话 {session!r} 在多个店铺中都有，请加上 shop_id")
        resolved.append((found[0], session, code))
    now = dt.datetime.now()
    with transaction(con):
        for shop, session, code in resolved:
            record_correction(con, shop, session, code, now)
        touched = sorted({shop for shop, _, _ in resolved})
        if touched:
            refresh_parts(con, touched)
    counts: dict[str, int] = {}
    for shop, _, _ in resolved:
        counts[shop] = counts.get(shop, 0) + 1
    return counts
