"""Demo dataset in DATA.md format that behaves like real shops.

Several platforms, categories and tiers (every peer group has ≥5 shops), human agents
and a robot per shop, a daily traffic curve with an evening peak and a promotion
spike, robot→manual transfers with queues, unanswered and off-hours sessions, Chinese
dialogues covering every scenario code, ratings that depend on waiting and scenario,
tags on ratings 1–3, and orders, refunds and escalations consistent with the chats.

Generation is vectorised with numpy (no Python loop over sessions or messages), so it
scales to 10M+ messages; output is deterministic for a given configuration.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insight.core.errors import UsageError
from insight.demo import text as T

__all__ = ["DemoConfig", "write_demo", "DEFAULT_END"]

DEFAULT_END = dt.date(2026, 10, 31)  # fixed, so the same seed always gives the same files

# (platform, category, tier): each peer group gets at least five shops.
PEER_GROUPS = [
    ("taobao", "服饰", 3), ("tmall", "美妆", 5), ("douyin", "服饰", 3), ("jd", "数码", 4),
    ("kuaishou", "食品", 2), ("pdd", "家居", 2), ("taobao", "食品", 4), ("douyin", "美妆", 3),
]
BRANDS = ["云朵", "森屿", "半糖", "拾光", "橙意", "木槿", "星河", "初见", "青禾", "小熊", "北岸", "栗子",
          "南风", "白鹿", "鲸落", "知夏", "麦田", "暖阳", "山茶", "蓝莓"]
AGENT_NAMES = ["小美", "阿杰", "糖糖", "小七", "安安", "小鹿", "豆豆", "乐乐", "晴天", "木木", "悠悠", "小雨",
               "阿楠", "果果", "一一", "小北"]
# Relative chat traffic by hour: quiet nights, a late-morning bump and an evening peak.
HOURLY = np.array([1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.8, 3.5, 5.2, 6.3, 6.0, 4.6, 4.8, 5.4, 5.5,
                   5.3, 5.0, 5.2, 6.2, 7.6, 8.4, 7.4, 3.6])
AMOUNT_MEDIAN = {"服饰": 159.0, "美妆": 199.0, "食品": 69.0, "数码": 299.0, "家居": 259.0}

# Message kinds (what a message says) and roles.
K_SCEN, K_CHIT, K_TRANSFER, K_QUEUE, K_GREET, K_AGENT, K_ROBOT, K_FOLLOW, K_CLOSE = range(9)
R_BUYER, R_AGENT, R_ROBOT, R_SYSTEM = range(4)
ROLE_NAMES = np.array(["buyer", "agent", "robot", "system"], dtype=object)


@dataclass(frozen=True)
class DemoConfig:
    shops: int = 40
    days: int = 120
    seed: int = 7
    end: dt.date | None = None
    sessions_per_day: float | None = None  # mean per shop; default 25
    fmt: str = "csv"

    def validate(self) -> "DemoConfig":
        if self.shops < 1 or self.days < 1:
            raise UsageError("--shops 和 --days 必须是正整数")
        if self.fmt not in ("csv", "parquet"):
            raise UsageError("--format 应为 csv 或 parquet")
        return self


class _Pool:
    """All rendered texts in one object array; (kind, sub) → slice, so picking is vectorised."""

    def __init__(self):
        self.texts: list[str] = []
        self.index: dict[tuple, tuple[int, int]] = {}

    def add(self, key: tuple, texts: list[str]) -> None:
        self.index[key] = (len(self.texts), len(texts))
        self.texts.extend(texts)

    def pick(self, keys_start: np.ndarray, keys_count: np.ndarray, rng) -> np.ndarray:
        return keys_start + (rng.random(len(keys_start)) * keys_count).astype(np.int64)


def _render(template: str, rng, category: str, n: int) -> list[str]:
    out = set()
    for _ in range(n * 3):
        text = template
        for slot, values in T.SLOTS.items():
            if "{" + slot + "}" in text:
                value = values[rng.integers(len(values))]
                if slot == "order":
                    value = value.format(rng.integers(10))
                text = text.replace("{" + slot + "}", value)
        if "{item}" in text:
            items = T.ITEMS[category]
            text = text.replace("{item}", items[rng.integers(len(items))])
        if "{agent}" in text:
            text = text.replace("{agent}", AGENT_NAMES[rng.integers(len(AGENT_NAMES))])
        out.add(text)
        if len(out) >= n:
            break
    return sorted(out)


def _build_pool(rng, categories: list[str], codes: list[str]) -> tuple[_Pool, np.ndarray, np.ndarray]:
    """Pool plus lookup arrays start/count indexed by [kind, category, sub]."""
    pool = _Pool()
    groups = list(T.AGENT)
    n_sub = max(len(codes), len(groups))
    start = np.zeros((9, len(categories), n_sub), dtype=np.int64)
    count = np.ones((9, len(categories), n_sub), dtype=np.int64)

    def put(kind, ci, sub, texts):
        pool.add((kind, ci, sub), texts)
        start[kind, ci, sub], count[kind, ci, sub] = pool.index[(kind, ci, sub)]

    for ci, cat in enumerate(categories):
        for si, code in enumerate(codes):
            texts = [t for tpl in T.BUYER[code] for t in _render(tpl, rng, cat, 4)]
            put(K_SCEN, ci, si, texts)
            group = groups.index(code.split(".")[0])
            put(K_AGENT, ci, si, [t for tpl in T.AGENT[T_GROUP[group]] for t in _render(tpl, rng, cat, 2)])
            put(K_ROBOT, ci, si, T.ROBOT[T_GROUP[group]])
        for kind, texts in ((K_CHIT, T.CHITCHAT), (K_TRANSFER, T.TRANSFER), (K_CLOSE, T.CLOSING)):
            put(kind, ci, 0, texts)
        put(K_QUEUE, ci, 0, [t for tpl in T.QUEUE for t in _render(tpl, rng, cat, 4)])
        put(K_GREET, ci, 0, [t for tpl in T.GREETING for t in _render(tpl, rng, cat, 6)])
        put(K_FOLLOW, ci, 0, [t for tpl in T.FOLLOWUP for t in _render(tpl, rng, cat, 4)])
    return pool, start, count


T_GROUP = list(T.AGENT)


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first element of each group in an np.repeat expansion."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]])


def _rank_in_group(counts: np.ndarray) -> np.ndarray:
    total = int(counts.sum())
    return np.arange(total) - np.repeat(_segment_starts(counts), counts)


def _ids(prefix: str, numbers: np.ndarray, width: int = 0) -> pa.Array:
    arr = pa.array(numbers.astype(np.int64)).cast(pa.string())
    if width:
        arr = pc.utf8_lpad(arr, width=width, padding="0")
    return pc.binary_join_element_wise(prefix, arr, "")


def _ts(seconds: np.ndarray, origin: np.datetime64) -> pa.Array:
    return pa.array(origin + seconds.astype("timedelta64[s]"))


def _ts_masked(seconds: np.ndarray, mask: np.ndarray, origin: np.datetime64) -> pa.Array:
    values = origin + seconds.astype("timedelta64[s]")
    return pa.array(values, mask=~mask)


def _write(table: pa.Table, out: Path, name: str, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, out / f"{name}.parquet")
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, out / f"{name}.csv")


def write_demo(out_dir, cfg: DemoConfig = DemoConfig()) -> dict:
    """Write the demo dataset to ``out_dir``; return a summary (row counts, period)."""
    cfg.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    end = cfg.end or DEFAULT_END
    first_day = end - dt.timedelta(days=cfg.days - 1)
    origin = np.datetime64(first_day.isoformat() + "T00:00:00", "s")
    day_s = 86400

    # ---- shops and agents ---------------------------------------------------------------
    n_groups = max(1, min(len(PEER_GROUPS), cfg.shops // 5))
    shop_group = np.arange(cfg.shops) % n_groups
    platforms = np.array([PEER_GROUPS[g][0] for g in shop_group], dtype=object)
    categories_all = sorted({g[1] for g in PEER_GROUPS})
    shop_cat = np.array([categories_all.index(PEER_GROUPS[g][1]) for g in shop_group])
    tiers = np.array([PEER_GROUPS[g][2] for g in shop_group])
    size = rng.lognormal(0.0, 0.45, cfg.shops) * (0.6 + 0.15 * tiers)
    quality = rng.lognormal(0.0, 0.35, cfg.shops)  # >1: slower service
    spd = cfg.sessions_per_day or 25.0
    shop_ids = [f"S{i + 1:03d}" for i in range(cfg.shops)]
    shop_names = [f"{BRANDS[i % len(BRANDS)]}{PEER_GROUPS[g][1]}{'旗舰店' if tiers[i] >= 4 else '小店'}"
                  + (f"{i // len(BRANDS) + 1}" if i >= len(BRANDS) else "")
                  for i, g in enumerate(shop_group)]
    _write(pa.table({
        "shop_id": shop_ids, "shop_name": shop_names, "platform": list(platforms),
        "category": [categories_all[c] for c in shop_cat], "tier": tiers.tolist(),
        "timezone": ["Asia/Shanghai"] * cfg.shops,
    }), out, "shops", cfg.fmt)

    n_agents = np.clip((3 + size * 5).astype(int), 3, 16)
    agent_shop = np.repeat(np.arange(cfg.shops), n_agents)
    agent_rank = _rank_in_group(n_agents)
    agent_speed = rng.lognormal(0.0, 0.35, len(agent_shop))
    agent_first = _segment_starts(n_agents)
    agent_ids = [f"{shop_ids[s]}-A{r + 1:02d}" for s, r in zip(agent_shop, agent_rank)]
    robot_ids = [f"{s}-BOT" for s in shop_ids]
    _write(pa.table({
        "agent_id": agent_ids + robot_ids,
        "shop_id": [shop_ids[s] for s in agent_shop] + shop_ids,
        "agent_name": [f"{AGENT_NAMES[r % len(AGENT_NAMES)]}{'' if r < len(AGENT_NAMES) else r}"
                       for r in agent_rank] + ["智能助手"] * cfg.shops,
        "kind": ["human"] * len(agent_ids) + ["robot"] * cfg.shops,
        "team": [("售后组" if r % 3 == 2 else "售前组") for r in agent_rank] + [""] * cfg.shops,
    }), out, "agents", cfg.fmt)

    # ---- sessions ---------------------------------------------------------------------
    days = np.arange(cfg.days)
    weekday = (np.datetime64(first_day) + days).astype("datetime64[D]").view("int64")
    weekday = (weekday + 3) % 7  # 1970-01-01 was a Thursday
    spike_start = int(cfg.days * 0.6)
    spike = (days >= spike_start) & (days < spike_start + 3)
    day_factor = (1.0 + 0.2 * days / max(1, cfg.days - 1)) * np.where(weekday >= 5, 1.15, 1.0)
    day_factor = day_factor * np.where(spike, 2.6, 1.0) * rng.lognormal(0, 0.08, cfg.days)
    lam = spd * size[:, None] * day_factor[None, :]
    per_shop_day = rng.poisson(lam)
    s_shop = np.repeat(np.arange(cfg.shops), per_shop_day.sum(axis=1))
    s_day = np.concatenate([np.repeat(days, per_shop_day[i]) for i in range(cfg.shops)])
    n_s = len(s_shop)
    hour = rng.choice(24, size=n_s, p=HOURLY / HOURLY.sum())
    start = s_day * day_s + hour * 3600 + rng.integers(0, 3600, n_s)
    order_ = np.lexsort((start, s_shop))
    s_shop, s_day, hour, start = s_shop[order_], s_day[order_], hour[order_], start[order_]
    off_hours = (hour < 8) | (hour >= 23)
    in_spike = spike[s_day]
    load = np.where(in_spike, 2.4, 1.0) * np.where((hour >= 19) & (hour <= 22), 1.5, 1.0) * np.where(
        off_hours, 2.5, 1.0)

    # Buyers: a per-shop pool where a few buyers come back often.
    per_shop = np.bincount(s_shop, minlength=cfg.shops)
    pool_size = np.maximum(40, (per_shop * 0.55).astype(int))
    buyer_local = (pool_size[s_shop] * rng.random(n_s) ** 1.7).astype(np.int64)
    buyer_num = s_shop.astype(np.int64) * 10_000_000 + buyer_local

    # Intended stage and scenario (the stage the engine derives comes from the orders below).
    codes = list(T.BUYER)
    aftersale = rng.random(n_s) < np.where(s_day > spike_start + 3, 0.42, 0.32)
    scen = np.empty(n_s, dtype=np.int64)
    for stage_name, mask in (("presale", ~aftersale), ("aftersale", aftersale)):
        weights = T.SCENARIO_WEIGHTS[stage_name]
        w = np.array([weights.get(c, 0.0) for c in codes])
        scen[mask] = rng.choice(len(codes), size=int(mask.sum()), p=w / w.sum())
    second = np.empty(n_s, dtype=np.int64)
    for stage_name, mask in (("presale", ~aftersale), ("aftersale", aftersale)):
        w = np.array([T.SCENARIO_WEIGHTS[stage_name].get(c, 0.0) for c in codes])
        second[mask] = rng.choice(len(codes), size=int(mask.sum()), p=w / w.sum())
    group_of = np.array([T_GROUP.index(c.split(".")[0]) for c in codes])
    scen_l1 = group_of[scen]
    human_code = codes.index("service.contact.human")

    followup = (~aftersale) & (rng.random(n_s) < 0.04) & ~off_hours
    p_manual = np.where(aftersale, 0.74, 0.58)
    p_manual = np.where(scen == human_code, 0.97, p_manual)
    manual = followup | (rng.random(n_s) < p_manual)
    p_noserve = 0.015 + 0.12 * off_hours + 0.05 * in_spike
    served = manual & (followup | (rng.random(n_s) < 1 - p_noserve))
    # Night shift: only the first two agents of a shop take off-hours chats.
    agent_pick = np.where(off_hours, rng.integers(0, 2, n_s), (rng.random(n_s) * n_agents[s_shop]).astype(int))
    agent_pick = np.minimum(agent_pick, n_agents[s_shop] - 1)
    s_agent = agent_first[s_shop] + agent_pick
    queue = np.where(followup, 0, rng.exponential(18.0, n_s) * load * quality[s_shop]).astype(np.int64)

    # ---- message layout ---------------------------------------------------------------
    # Prefix: robot sessions: buyer, robot [buyer, robot]; manual: buyer, robot, buyer 转人工,
    # system queue notice [agent greeting]; follow-ups: agent message, buyer reply.
    robot_more = ~manual & (rng.random(n_s) < 0.55)
    t_open = start
    t_robot = start + rng.integers(1, 5, n_s)
    t_transfer = t_robot + rng.integers(8, 45, n_s)
    t_queue_msg = t_transfer + 1
    assigned = t_transfer + queue
    t_greet = assigned + rng.integers(2, 10, n_s)

    segs = []  # (session, time, role, kind, sub)

    def seg(mask, times, role, kind, sub=None):
        idx = np.nonzero(mask)[0]
        sub_arr = scen[idx] if sub is None else (sub[idx] if isinstance(sub, np.ndarray) else np.full(len(idx), sub))
        segs.append((idx, times[idx], np.full(len(idx), role), np.full(len(idx), kind), sub_arr))

    normal = ~followup
    seg(normal, t_open, R_BUYER, K_SCEN)
    seg(normal, t_robot, R_ROBOT, K_ROBOT)
    seg(~manual & robot_more, t_transfer, R_BUYER, K_SCEN, second)
    seg(~manual & robot_more, t_transfer + rng.integers(1, 4, n_s), R_ROBOT, K_ROBOT, second)
    seg(manual & normal, t_transfer, R_BUYER, K_TRANSFER, 0)
    seg(manual & normal, t_queue_msg, R_SYSTEM, K_QUEUE, 0)
    seg(served & normal, t_greet, R_AGENT, K_GREET, 0)
    seg(followup, t_open, R_AGENT, K_FOLLOW, 0)

    # Rounds of manual sessions: 1–3 buyer messages then (usually) an agent reply.
    n_rounds = np.where(manual, 1 + np.minimum(rng.poisson(1.7, n_s), 7), 0)
    n_rounds = np.where(manual & ~served, 1 + rng.integers(0, 2, n_s), n_rounds)
    r_sess = np.repeat(np.arange(n_s), n_rounds)
    r_k = _rank_in_group(n_rounds)
    n_r = len(r_sess)
    r_nb = 1 + rng.binomial(2, 0.3, n_r)
    r_gap = rng.integers(3, 25, n_r)
    median_wait = 22.0 * agent_speed[s_agent[r_sess]] * load[r_sess] * quality[s_shop[r_sess]]
    r_wait = np.maximum(rng.lognormal(np.log(median_wait), 0.8), (r_nb - 1) * r_gap + 2).astype(np.int64)
    last_round = r_k == n_rounds[r_sess] - 1
    r_answered = served[r_sess] & ~(last_round & (rng.random(n_r) < 0.03 + 0.1 * off_hours[r_sess]))
    r_think = rng.integers(10, 150, n_r)
    r_dur = (r_nb - 1) * r_gap + np.where(r_answered, r_wait, 30) + r_think
    base = np.where(followup, t_open + rng.integers(30, 600, n_s), np.where(served, t_greet, t_queue_msg) + 5)
    csum = np.cumsum(r_dur)
    group_before = (csum - r_dur)[_segment_starts(n_rounds)[n_rounds > 0]]
    offsets = np.zeros(n_s, dtype=np.int64)
    offsets[n_rounds > 0] = group_before
    r_start = base[r_sess] + (csum - r_dur) - offsets[r_sess]
    # Later rounds: chit-chat, the main scenario or, now and then, a second topic.
    r_kind = np.where((r_k == 0) | (rng.random(n_r) < 0.55), K_SCEN, K_CHIT)
    r_kind = np.where(last_round & (r_k > 0) & (rng.random(n_r) < 0.5), K_CLOSE, r_kind)
    r_sub = np.where(rng.random(n_r) < 0.22, second[r_sess], scen[r_sess])

    mb_round = np.repeat(np.arange(n_r), r_nb)
    mb_j = _rank_in_group(r_nb)
    mb_kind = np.where(mb_j == 0, r_kind[mb_round], np.where(rng.random(len(mb_round)) < 0.5, K_CHIT, K_SCEN))
    segs.append((r_sess[mb_round], r_start[mb_round] + mb_j * r_gap[mb_round],
                 np.full(len(mb_round), R_BUYER), mb_kind, r_sub[mb_round]))
    ans = np.nonzero(r_answered)[0]
    segs.append((r_sess[ans], r_start[ans] + r_wait[ans], np.full(len(ans), R_AGENT),
                 np.full(len(ans), K_AGENT), r_sub[ans]))

    m_sess = np.concatenate([s[0] for s in segs])
    m_time = np.concatenate([s[1] for s in segs]).astype(np.int64)
    m_role = np.concatenate([s[2] for s in segs])
    m_kind = np.concatenate([s[3] for s in segs])
    m_sub = np.concatenate([s[4] for s in segs])
    order_ = np.lexsort((m_time, m_sess))
    m_sess, m_time, m_role, m_kind, m_sub = (a[order_] for a in (m_sess, m_time, m_role, m_kind, m_sub))
    n_m = len(m_sess)

    pool, p_start, p_count = _build_pool(rng, categories_all, codes)
    cat_of_msg = shop_cat[s_shop[m_sess]]
    sub_idx = np.where(np.isin(m_kind, [K_SCEN, K_AGENT, K_ROBOT]), m_sub, 0)
    text_idx = pool.pick(p_start[m_kind, cat_of_msg, sub_idx], p_count[m_kind, cat_of_msg, sub_idx], rng)
    texts = np.array(pool.texts, dtype=object)

    s_end = np.maximum.reduceat(m_time, _segment_starts(np.bincount(m_sess, minlength=n_s)))
    sess_ids = _ids("C", np.arange(n_s) + 1, 8)
    buyer_ids = _ids("U", buyer_num)
    msg_agent = np.where(m_role == R_AGENT, s_agent[m_sess], -1)
    agent_names_arr = np.array(agent_ids + robot_ids, dtype=object)
    m_agent = np.where(m_role == R_AGENT, agent_names_arr[np.maximum(msg_agent, 0)],
                       np.where(m_role == R_ROBOT, agent_names_arr[len(agent_ids) + s_shop[m_sess]], None))
    shop_arr = np.array(shop_ids, dtype=object)
    ctype = np.where(texts[text_idx] == "[图片]", "image", "text")
    _write(pa.table({
        "message_id": _ids("M", np.arange(n_m) + 1, 9),
        "shop_id": pa.array(shop_arr[s_shop[m_sess]], type=pa.string()),
        "session_id": sess_ids.take(pa.array(m_sess)),
        "buyer_id": buyer_ids.take(pa.array(m_sess)),
        "sender_role": pa.array(ROLE_NAMES[m_role], type=pa.string()),
        "agent_id": pa.array(m_agent, type=pa.string()),
        "sent_at": _ts(m_time, origin),
        "content_type": pa.array(ctype, type=pa.string()),
        "content": pa.array(texts[text_idx], type=pa.string()),
    }), out, "messages", cfg.fmt)

    # Every fourth shop exports no sessions table: its sessions are derived from messages.
    has_table = (s_shop % 4) != 3
    idx = np.nonzero(has_table)[0]
    transfer_at = np.where(followup, t_open, t_transfer)
    agent_of_session = np.where(served | (rng.random(n_s) < 0.5), s_agent, -1)
    _write(pa.table({
        "session_id": sess_ids.take(pa.array(idx)),
        "shop_id": pa.array(shop_arr[s_shop[idx]], type=pa.string()),
        "buyer_id": buyer_ids.take(pa.array(idx)),
        "started_at": _ts(start[idx], origin),
        "ended_at": _ts(s_end[idx], origin),
        "transferred_at": _ts_masked(transfer_at[idx], manual[idx], origin),
        "assigned_at": _ts_masked(np.where(followup, t_open, assigned)[idx],
                                  manual[idx] & (agent_of_session[idx] >= 0), origin),
        "agent_id": pa.array(np.where(manual[idx] & (agent_of_session[idx] >= 0),
                                      agent_names_arr[np.maximum(agent_of_session[idx], 0)], None),
                             type=pa.string()),
    }), out, "sessions", cfg.fmt)

    # ---- evaluations --------------------------------------------------------------------
    mean_wait = np.zeros(n_s)
    np.add.at(mean_wait, r_sess, np.where(r_answered, r_wait, 900))
    mean_wait = np.where(n_rounds > 0, mean_wait / np.maximum(n_rounds, 1), 0)
    unanswered = np.zeros(n_s, dtype=bool)
    np.logical_or.at(unanswered, r_sess, ~r_answered)
    scen_adj = np.zeros(len(codes))
    for i, c in enumerate(codes):
        if c.startswith(("aftersale.quality", "service.complaint")):
            scen_adj[i] = -1.0
        elif c in ("logistics.shipping.urge", "logistics.delivery.tracking", "aftersale.refund.progress",
                   "logistics.receipt.exception"):
            scen_adj[i] = -0.55
        elif c.startswith(("product", "price")):
            scen_adj[i] = 0.2
    score = (5.0 + scen_adj[scen] - 0.5 * np.log1p(np.maximum(0, mean_wait - 60) / 60)
             - 1.8 * unanswered - 0.3 * quality[s_shop] + rng.normal(0, 0.7, n_s))
    score = np.where(manual, score, 4.2 + 0.6 * scen_adj[scen] + rng.normal(0, 0.9, n_s))
    rating = np.clip(np.rint(score), 1, 5).astype(np.int64)
    invited = np.where(manual, rng.random(n_s) < np.where(served, 0.62, 0.3), rng.random(n_s) < 0.22)
    inv_by = np.where(manual, np.where(rng.random(n_s) < 0.7, 0, 2), 2)
    inv_by = np.where(rng.random(n_s) < 0.05, 1, inv_by)
    rated = invited & (rng.random(n_s) < 0.48 + 0.1 * (rating <= 2))
    e_idx = np.nonzero(invited)[0]
    inv_at = s_end + rng.integers(3, 90, n_s)
    rated_at = inv_at + (rng.exponential(1800, n_s)).astype(np.int64) + 5
    cause = np.where(unanswered, "unanswered", np.where(mean_wait > 180, "slow", np.where(
        scen_l1 == T_GROUP.index("aftersale"), "unsolved", np.where(rng.random(n_s) < 0.5, "attitude", "product"))))
    tag_lists = {k: np.array(v, dtype=object) for k, v in T.TAGS.items()}
    tags = np.full(n_s, None, dtype=object)
    for name, values in tag_lists.items():
        mask = rated & (rating <= 3) & (cause == name)
        first = values[rng.integers(0, len(values), n_s)]
        extra = tag_lists["unsolved"][rng.integers(0, len(tag_lists["unsolved"]), n_s)]
        two = rng.random(n_s) < 0.3
        combined = np.where(two & (first != extra), first + ";" + extra, first)
        tags[mask] = combined[mask]
    comments = np.array([None, "回复太慢了", "问题还没解决", "服务很好", "很耐心", "一直没人理", "态度不错"],
                        dtype=object)
    comment = np.where(rated & (rng.random(n_s) < 0.2),
                       np.where(rating >= 4, comments[rng.choice([3, 4, 6], n_s)],
                                comments[rng.choice([1, 2, 5], n_s)]), None)
    _write(pa.table({
        "session_id": sess_ids.take(pa.array(e_idx)),
        "shop_id": pa.array(shop_arr[s_shop[e_idx]], type=pa.string()),
        "buyer_id": buyer_ids.take(pa.array(e_idx)),
        "invited_by": pa.array(np.array(["agent", "buyer", "system"], dtype=object)[inv_by[e_idx]], type=pa.string()),
        "invited_at": _ts(inv_at[e_idx], origin),
        "rating": pa.array(rating[e_idx], mask=~rated[e_idx], type=pa.int64()),
        "rated_at": _ts_masked(rated_at[e_idx], rated[e_idx], origin),
        "tags": pa.array(tags[e_idx], type=pa.string()),
        "comment": pa.array(comment[e_idx], type=pa.string()),
    }), out, "evaluations", cfg.fmt)

    # ---- orders ----------------------------------------------------------------------------
    median_amt = np.array([AMOUNT_MEDIAN[c] for c in categories_all])
    # After-sale buyers bought 1–19 days before the chat.
    prior = aftersale
    prior_created = start - rng.integers(1, 20, n_s) * day_s - rng.integers(600, 36000, n_s)
    prior_paid = prior_created + rng.integers(30, 1800, n_s)
    # Pre-sale chats convert more often when answered fast.
    p_conv = np.where(manual, np.where(served, 0.42 - 0.08 * np.log1p(mean_wait / 120), 0.08), 0.18)
    p_conv = np.where(followup, 0.32, p_conv)
    conv = ~aftersale & (rng.random(n_s) < np.clip(p_conv, 0.03, 0.8))
    conv_created = s_end + np.where(rng.random(n_s) < 0.8, rng.integers(60, 5400, n_s),
                                    rng.integers(5400, 40 * 3600, n_s))
    conv_paid_ok = rng.random(n_s) < 0.86
    conv_paid = conv_created + rng.integers(20, 3600, n_s)
    o_sess = np.concatenate([np.nonzero(prior)[0], np.nonzero(conv)[0]])
    o_created = np.concatenate([prior_created[prior], conv_created[conv]])
    o_paid = np.concatenate([prior_paid[prior], conv_paid[conv]])
    o_paid_ok = np.concatenate([np.ones(int(prior.sum()), bool), conv_paid_ok[conv]])
    o_shop = s_shop[o_sess]
    o_buyer = buyer_num[o_sess]
    # Silent orders: bought without chatting.
    silent_n = rng.poisson(spd * 0.9 * size[:, None] * day_factor[None, :])
    q_shop = np.repeat(np.arange(cfg.shops), silent_n.sum(axis=1))
    q_day = np.concatenate([np.repeat(days, silent_n[i]) for i in range(cfg.shops)])
    q_created = q_day * day_s + rng.choice(24, len(q_shop), p=HOURLY / HOURLY.sum()) * 3600 + rng.integers(
        0, 3600, len(q_shop))
    q_buyer = q_shop.astype(np.int64) * 10_000_000 + 5_000_000 + rng.integers(0, 10 ** 6, len(q_shop))
    o_shop = np.concatenate([o_shop, q_shop])
    o_buyer = np.concatenate([o_buyer, q_buyer])
    o_created = np.concatenate([o_created, q_created])
    o_paid = np.concatenate([o_paid, q_created + rng.integers(20, 900, len(q_shop))])
    o_paid_ok = np.concatenate([o_paid_ok, rng.random(len(q_shop)) < 0.95])
    n_o = len(o_shop)
    amount = np.round(rng.lognormal(np.log(median_amt[shop_cat[o_shop]]), 0.55), 2)
    order_num = np.arange(n_o) + 1
    order_ids = _ids("O", order_num, 9)
    _write(pa.table({
        "order_id": order_ids,
        "shop_id": pa.array(shop_arr[o_shop], type=pa.string()),
        "buyer_id": _ids("U", o_buyer),
        "created_at": _ts(o_created, origin),
        "paid_at": _ts_masked(o_paid, o_paid_ok, origin),
        "amount": pa.array(amount),
        "status": pa.array(np.where(o_paid_ok, "paid", "unpaid"), type=pa.string()),
    }), out, "orders", cfg.fmt)

    # ---- refunds and escalations (after-sale sessions, against the prior order) ---------------
    prior_idx = np.nonzero(prior)[0]
    prior_order_of = np.full(n_s, -1, dtype=np.int64)
    prior_order_of[prior_idx] = np.arange(len(prior_idx))  # prior orders come first in the order list
    refund_codes = [i for i, c in enumerate(codes) if c.startswith(("aftersale.refund", "aftersale.return",
                                                                    "aftersale.quality", "logistics.receipt"))]
    wants_refund = prior & np.isin(scen, refund_codes) & (rng.random(n_s) < 0.75)
    f_idx = np.nonzero(wants_refund)[0]
    f_created = start[f_idx] + rng.integers(120, 1800, len(f_idx))
    f_duration = np.clip(rng.lognormal(np.log(20 * 3600), 0.9, len(f_idx)), 1800, 9 * day_s).astype(np.int64)
    data_end = cfg.days * day_s
    f_finished = f_created + f_duration
    f_open = f_finished >= data_end
    f_kind = np.where(np.isin(scen[f_idx], [codes.index("aftersale.refund.apply"),
                                             codes.index("aftersale.refund.progress"),
                                             codes.index("aftersale.quality.missing"),
                                             codes.index("logistics.receipt.exception")]),
                      "refund_only", np.where(rng.random(len(f_idx)) < 0.25, "exchange", "return_refund"))
    f_status = np.where(f_open, "open", np.where(rng.random(len(f_idx)) < 0.86, "success", "closed"))
    reason_map = np.array(["七天无理由", "质量问题", "与描述不符", "少件/错发", "物流破损", "不想要了"],
                          dtype=object)
    _write(pa.table({
        "refund_id": _ids("R", np.arange(len(f_idx)) + 1, 8),
        "order_id": order_ids.take(pa.array(prior_order_of[f_idx])),
        "shop_id": pa.array(shop_arr[s_shop[f_idx]], type=pa.string()),
        "buyer_id": buyer_ids.take(pa.array(f_idx)),
        "kind": pa.array(f_kind, type=pa.string()),
        "created_at": _ts(f_created, origin),
        "finished_at": _ts_masked(f_finished, ~f_open, origin),
        "status": pa.array(f_status, type=pa.string()),
        "reason": pa.array(reason_map[rng.integers(0, len(reason_map), len(f_idx))], type=pa.string()),
    }), out, "refunds", cfg.fmt)

    dispute_code = codes.index("service.complaint.dispute")
    bad = (rated & (rating <= 2)) | (manual & ~served) | unanswered
    p_esc = np.where(scen == dispute_code, 0.6, np.where(bad, 0.22, 0.01))
    esc = prior & (rng.random(n_s) < p_esc)
    x_idx = np.nonzero(esc)[0]
    _write(pa.table({
        "escalation_id": _ids("E", np.arange(len(x_idx)) + 1, 7),
        "shop_id": pa.array(shop_arr[s_shop[x_idx]], type=pa.string()),
        "buyer_id": buyer_ids.take(pa.array(x_idx)),
        "order_id": order_ids.take(pa.array(prior_order_of[x_idx])),
        "kind": pa.array(np.array(["dispute", "complaint", "platform_consult"], dtype=object)[
            rng.choice(3, len(x_idx), p=[0.4, 0.3, 0.3])], type=pa.string()),
        "created_at": _ts(s_end[x_idx] + rng.integers(600, 2 * day_s, len(x_idx)), origin),
    }), out, "escalations", cfg.fmt)

    summary = {"out": str(out), "config": {**asdict(cfg), "end": str(end)}, "first_day": str(first_day),
               "last_day": str(end), "shops": cfg.shops, "agents": len(agent_ids), "sessions": n_s,
               "messages": n_m, "evaluations": len(e_idx), "orders": n_o, "refunds": len(f_idx),
               "escalations": len(x_idx)}
    (out / "demo.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


# -- demo shops in a real store ------------------------------------------------------------------
DEMO_MARKER = "demo.json"
_DEMO_META = "demo_shops"


def is_demo_folder(path) -> bool:
    """A folder written by ``write_demo`` (its summary file names the demo's own keys)."""
    marker = Path(path) / DEMO_MARKER
    if not marker.is_file():
        return False
    try:
        summary = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and {"config", "shops", "messages"} <= set(summary)


def mark_demo_shops(con, shop_ids) -> None:
    """Remember which shops are fictional (inside the import's transaction)."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [_DEMO_META]).fetchall()
    known = set(json.loads(rows[0][0])) if rows else set()
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [_DEMO_META, json.dumps(sorted(known | set(shop_ids)), ensure_ascii=False)])


def demo_refusal(store) -> str | None:
    """Why demo data may not be loaded into ``store`` (it holds real shops), or None."""
    rows = store.con.execute("SELECT value FROM meta WHERE key = ?", [_DEMO_META]).fetchall()
    demo = set(json.loads(rows[0][0])) if rows else set()
    real = [r[0] for r in store.con.execute("SELECT shop_id FROM shops ORDER BY shop_id").fetchall()
            if r[0] not in demo]
    if not real:
        return None
    return (f"数据库里已有 {len(real)} 家真实店铺（如 {real[0]}），不能再载入虚构的演示店铺，"
            "以免混进同行对比和报表。请换一个空数据库体验演示数据（例如 INSIGHT_DB=data/demo.duckdb make run）。")
