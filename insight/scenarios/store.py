"""Scenarios in the store: every session's main scenario (``session_scenarios``), users'
corrections (``scenario_corrections``), and additive evaluation parts by scenario
(``parts_scenario``: shop × day × channel × stage × hours × code), plus the views the
咨询场景洞察 page needs. A correction overrides the model's code everywhere."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time

import numpy as np
import pandas as pd

from insight.core.access import Viewer
from insight.core.errors import UsageError
from insight.core.filters import Filters, evaluation_where
from insight.core.limits import parse_size
from insight.core.periods import Period
from insight.core.privacy import mask_frame
from insight.core.schema import EFFECTIVE_CODE_SQL, SCENARIO_MEASURES, scenario_parts_sql
from insight.metrics.engine import peer_percentiles
from insight.metrics.registry import registry
from insight.metrics.stats import beta_interval, beta_prior, changed, shrink, wilson
from insight.scenarios.model import OTHER, usable_cores
from insight.store import transaction

__all__ = ["classify_pending", "scenario_workers", "WORKERS_ENV", "forget_scenarios", "pending_sessions", "classify_sessions", "reclassify", "scenario_status", "stale_notice", "worst_scenarios", "scenario_tree", "refresh_parts", "correct", "record_correction", "corrections_for_training", "training_pairs",
           "scenario_table", "scenario_chats", "EFFECTIVE_CODE_SQL"]

BATCH_SESSIONS = 20_000


def _scope_sql(shops) -> tuple[str, list]:
    if shops is None:
        return "", []
    return " AND shop_id IN (SELECT unnest(?::VARCHAR[]))", [list(shops)]


def classify_sessions(con, model, shops=None, progress=None, commit_each_batch: bool = False) -> dict:
    """Classify sessions of ``shops`` (all when None) that have no result from this model version.

    Messages are read in batches in transcript order; the model runs on the batch at once, on
    ``scenario_workers()`` processes. Triggers are stored without their words (the page explains the
    chats it shows). ``commit_each_batch``: each batch's results are written in a short transaction of
    their own (the model runs outside any), so that other writers (live events, imports) wait for one
    batch's insert at most, never for the whole classification.
    """
    t0 = time.perf_counter()
    scope, params = _scope_sql(shops)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _todo AS
        SELECT f.shop_id, f.session_id FROM f_sessions f
        LEFT JOIN session_scenarios s USING (shop_id, session_id)
        WHERE (s.session_id IS NULL OR s.model_version <> ?) {scope.replace('shop_id', 'f.shop_id')}
        ORDER BY f.shop_id, f.session_id""", [model.version, *params])
    total = con.execute("SELECT count(*) FROM _todo").fetchone()[0]
    done = 0
    while done < total:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _batch AS SELECT * FROM _todo LIMIT {BATCH_SESSIONS} OFFSET {done}")
        msgs = con.execute("""
            SELECT b.shop_id, b.session_id, m.sender_role, m.content
            FROM _batch b JOIN messages m ON m.shop_id = b.shop_id AND m.session_id = b.session_id
            ORDER BY b.shop_id, b.session_id, m.sent_at, m._seq""").fetchnumpy()
        keys = np.char.add(np.char.add(msgs["shop_id"].astype(str), "\x1f"), msgs["session_id"].astype(str)) \
            if len(msgs["shop_id"]) else np.array([], dtype=str)
        cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1 if len(keys) else np.array([], dtype=int)
        starts = np.concatenate([[0], cut]) if len(keys) else np.array([], dtype=int)
        roles, contents = msgs["sender_role"], msgs["content"]
        chats = [[{"role": r, "content": c} for r, c in zip(roles[a:b], contents[a:b])]
                 for a, b in zip(starts, np.append(starts[1:], len(keys)))]
        results = model.classify_parallel(chats, workers=scenario_workers(), explain=False)
        frame = pd.DataFrame({
            "shop_id": [keys[a].split("\x1f", 1)[0] for a in starts],
            "session_id": [keys[a].split("\x1f", 1)[1] for a in starts],
            "code": [r.code for r in results],
            "confidence": [r.confidence for r in results],
            "triggers": [json.dumps([t.to_dict() for t in r.triggers], ensure_ascii=False) for r in results],
            "model_version": model.version,
        })
        con.register("_classified", frame)
        with transaction(con) if commit_each_batch else contextlib.nullcontext():
            con.execute("INSERT OR REPLACE INTO session_scenarios SELECT * FROM _classified")
        con.unregister("_classified")
        done += BATCH_SESSIONS
        if progress is not None:
            progress(min(done, total), total)
    with transaction(con) if commit_each_batch else contextlib.nullcontext():
        refresh_parts(con, shops)
    return {"sessions": int(total), "seconds": time.perf_counter() - t0}


def refresh_parts(con, shops=None) -> None:
    """Rebuild ``parts_scenario`` for ``shops``: evaluations by invited_at with the session's channel,
    stage and effective scenario (a correction wins)."""
    scope, params = _scope_sql(shops)
    con.execute(f"DELETE FROM parts_scenario WHERE true {scope}", params)
    con.execute(scenario_parts_sql(scope.replace("shop_id", "e.shop_id")), params)


def reclassify(con, model, shops=None, progress=None) -> dict:
    """``classify_sessions`` as one transaction: an interrupted run leaves the previous results."""
    with transaction(con):
        return classify_sessions(con, model, shops=shops, progress=progress)


WORKERS_ENV = "INSIGHT_SCENARIO_WORKERS"


def scenario_workers() -> int:
    """Processes for bulk classification: ``INSIGHT_SCENARIO_WORKERS`` (0 = every core this process may
    use). Default 1: a server forks nothing from its threads; the command line sets 0 for import and
    train (single-threaded processes, where forking the loaded model is safe)."""
    raw = os.environ.get(WORKERS_ENV, "1")
    try:
        value = int(raw)
    except ValueError:
        return 1
    return usable_cores() if value <= 0 else value


def classify_pending(store, model, shops=None, progress=None) -> dict:
    """Classify the sessions an import left without a scenario, after the import committed (pages
    work meanwhile; the scenario page shows the progress). DuckDB gives back half of its memory while
    the model runs, so that the two peaks do not add up."""
    half = parse_size(store.memory_limit, "memory_limit") // 2
    store.con.execute("SET memory_limit = ?", [f"{half >> 20}MiB"])
    try:  # batch by batch: an interrupted run keeps what it classified, and the next run resumes there
        return classify_sessions(store.con, model, shops=shops, progress=progress, commit_each_batch=True)
    finally:
        store.con.execute("SET memory_limit = ?", [store.memory_limit])


def forget_scenarios(con, sessions_sql: str, params=()) -> None:
    """Drop the scenarios of the sessions ``sessions_sql`` selects (shop_id, session_id): their
    messages changed, so they wait to be classified again."""
    con.execute(f"DELETE FROM session_scenarios WHERE (shop_id, session_id) IN ({sessions_sql})", list(params))


def pending_sessions(con) -> int:
    """Sessions without a scenario yet (classification still to run or running)."""
    return int(con.execute("""SELECT count(*) FROM f_sessions f WHERE NOT EXISTS (
        SELECT 1 FROM session_scenarios s WHERE s.shop_id = f.shop_id AND s.session_id = f.session_id)""").fetchone()[0])


def correct(con, shop_id: str, session_id: str, code: str, taxonomy) -> None:
    """Store a user's scenario for a chat; the shop's scenario parts follow at once (one transaction)."""
    if code not in taxonomy.names:
        raise UsageError(f"未知场景代码 {code!r}")
    with transaction(con):
        record_correction(con, shop_id, session_id, code, dt.datetime.now())
        refresh_parts(con, [shop_id])


def record_correction(con, shop_id: str, session_id: str, code: str, at: dt.datetime) -> None:
    """One correction row, with the code the model had given (inside the caller's transaction; the caller
    refreshes the shop's parts)."""
    row = con.execute("SELECT code FROM session_scenarios WHERE shop_id = ? AND session_id = ?",
                      [shop_id, session_id]).fetchall()
    con.execute("INSERT OR REPLACE INTO scenario_corrections VALUES (?, ?, ?, ?, ?)",
                [shop_id, session_id, code, row[0][0] if row else None, at])


def corrections_for_training(con, model=None) -> list[tuple[str, str]]:
    """(buyer sentence, corrected code) for the next training (``training_pairs`` of the corrected chats)."""
    rows = con.execute("""
        SELECT m.content, c.code FROM scenario_corrections c
        JOIN messages m ON m.shop_id = c.shop_id AND m.session_id = c.session_id
        WHERE m.sender_role = 'buyer' AND length(trim(coalesce(m.content, ''))) > 0""").fetchall()
    return training_pairs([(text, code) for text, code in rows], model)


def training_pairs(sentences: list[tuple[str, str]], model=None) -> list[tuple[str, str]]:
    """A corrected chat's buyer sentences, each with the chat's code, as training examples. With a model,
    sentences it reads as chit-chat are left out (a 好的 in a 退款 chat is not about 退款)."""
    pairs = [(text, code) for text, code in sentences if text and text.strip()]
    if model is not None and pairs:
        keep = [p != "chitchat" for p in model.predict_turns([t for t, _ in pairs])]
        pairs = [pair for pair, k in zip(pairs, keep) if k]
    return pairs


# -- views for the page ---------------------------------------------------------------------------
def _sums(con, shops, period: Period, filters: Filters, level: int) -> pd.DataFrame:
    where, params = Filters(filters.channel, filters.stage, filters.hours).sql_where()
    key = "code" if level == 3 else f"array_to_string(string_split(code, '.')[1:{level}], '.')"
    sums = ", ".join(f"sum({m}) AS {m}" for m in SCENARIO_MEASURES)
    sql = f"""SELECT shop_id, {key} AS key, {sums}
              FROM parts_scenario
              WHERE day BETWEEN ? AND ? AND shop_id IN (SELECT unnest(?::VARCHAR[]))
                    {''.join(' AND ' + w for w in where)}
              GROUP BY ALL"""
    return con.execute(sql, [period.start, period.end, list(shops), *params]).df()


def _ratio(frame: pd.DataFrame, metric) -> pd.Series:
    """A registry metric from summed measures: Σ numerator / Σ denominator, NaN where the denominator is 0."""
    num = frame[list(metric.numerator)].sum(axis=1)
    den = frame[list(metric.denominator)].sum(axis=1)
    return num / den.where(den > 0)


def scenario_table(con, shop_id: str, peers: list[str], period: Period, filters: Filters, level: int,
                   taxonomy, *, viewer: Viewer) -> pd.DataFrame:
    """Per scenario key of ``level``: evaluated sessions, share of them, 满意率 (the registry's
    definition, with its numerator ``sat_k`` and denominator ``sat_n``), with the previous period and
    the peers' average / excellent of share and 满意率 over ``peers`` — the viewer's benchmark shops
    (``MetricEngine.benchmark_shops``), at least ``MIN_PEERS`` of which have the scenario."""
    viewer.require_shop(shop_id)  # the peers come back only as percentiles over ≥ MIN_PEERS shops
    satisfaction = registry()["satisfaction_rate"]
    benchmark = set(peers)
    now = _sums(con, sorted(benchmark | {shop_id}), period, filters, level)
    before = _sums(con, [shop_id], period.previous(), filters, level)
    cols = ["key", "name", "evaluated", "rated", "share", "satisfaction", "sat_k", "sat_n", "prev_satisfaction", "change",
            "change_real", "peer_share_avg", "peer_share_excellent", "peer_sat_avg", "peer_sat_excellent", "peer_shops"]
    if now.empty:
        return pd.DataFrame(columns=cols)
    for frame in (now, before):
        frame["sat"] = _ratio(frame, satisfaction)
    totals = now.groupby("shop_id")["ev_invited"].transform("sum")
    now["share"] = now["ev_invited"] / totals
    mine = now[now["shop_id"] == shop_id].set_index("key")
    prev = before.set_index("key")
    rows = []
    for key, row in mine.iterrows():
        peer = now[(now["key"] == key) & now["shop_id"].isin(benchmark)]
        share_avg, share_exc = _pct(peer["share"].dropna(), satisfaction.direction)
        sat_avg, sat_exc = _pct(peer["sat"].dropna(), satisfaction.direction)
        prev_sat = float(prev.loc[key, "sat"]) if key in prev.index else np.nan
        k1, n1 = float(row[list(satisfaction.numerator)].sum()), float(row[list(satisfaction.denominator)].sum())
        k0, n0 = ((float(prev.loc[key, list(satisfaction.numerator)].sum()),
                   float(prev.loc[key, list(satisfaction.denominator)].sum())) if key in prev.index else (0.0, 0.0))
        rows.append({
            "key": key, "name": _name(taxonomy, key), "evaluated": int(row["ev_invited"]),
            "rated": int(row["ev_rated"]), "share": float(row["share"]), "satisfaction": float(row["sat"]),
            "sat_k": k1, "sat_n": n1,
            "prev_satisfaction": prev_sat, "change": float(row["sat"]) - prev_sat,
            "change_real": changed(k1, n1, k0, n0),  # the cards' verdict: -100 points on 2 ratings is 波动内
            "peer_share_avg": share_avg, "peer_share_excellent": share_exc,
            "peer_sat_avg": sat_avg, "peer_sat_excellent": sat_exc,
            "peer_shops": int(len(peer)),
        })
    out = pd.DataFrame(rows)
    return out.sort_values(["evaluated", "key"], ascending=[False, True]).reset_index(drop=True)


def _pct(values, direction: str) -> tuple[float, float]:
    """The benchmark's percentiles, NaN (a table cell) where there are too few shops."""
    avg, excellent = peer_percentiles(values, direction)
    return (float("nan"), float("nan")) if avg is None else (avg, excellent)


def _name(taxonomy, key: str) -> str:
    level = key.count(".") + 1
    names = [taxonomy.label(".".join(key.split(".")[:i])) for i in range(1, level + 1)]
    return " / ".join(names)


def scenario_chats(con, shop_id: str, period: Period, filters: Filters, prefix: str, limit: int = 50, *,
                   viewer: Viewer) -> pd.DataFrame:
    """Evaluated chats whose (effective) scenario starts with ``prefix``, lowest rating first (an agent
    viewer's own; comments masked for a viewer without the PII permission)."""
    viewer.require_shop(shop_id)
    where, params = evaluation_where(filters.without_agent(), "f.")
    if viewer.role == "agent":
        where.append("f.agent_id = ?")
        params.append(viewer.agent_id)
    sql = f"""SELECT e.session_id, e.rating, e.tags, e.comment, e.invited_at, f.agent_id, a.agent_name,
                     {EFFECTIVE_CODE_SQL} AS code, ss.code AS model_code, ss.confidence, ss.triggers,
                     c.code IS NOT NULL AS corrected
              FROM evaluations e
              JOIN f_sessions f ON f.shop_id = e.shop_id AND f.session_id = e.session_id
              JOIN session_scenarios ss ON ss.shop_id = e.shop_id AND ss.session_id = e.session_id
              LEFT JOIN scenario_corrections c ON c.shop_id = e.shop_id AND c.session_id = e.session_id
              LEFT JOIN agents a ON a.agent_id = f.agent_id
              WHERE e.shop_id = ? AND CAST(e.invited_at AS DATE) BETWEEN ? AND ? AND e.rating IS NOT NULL
                AND ({EFFECTIVE_CODE_SQL} = ? OR starts_with({EFFECTIVE_CODE_SQL}, ? || '.'))
                {''.join(' AND ' + w for w in where)}
              ORDER BY e.rating, e.invited_at DESC LIMIT {int(limit)}"""
    frame = con.execute(sql, [shop_id, period.start, period.end, prefix, prefix, *params]).df()
    return frame if viewer.pii else mask_frame(frame, ["comment"])


def scenario_status(con, model_version: str) -> dict:
    """How far the store's sessions are classified: counts, how many of them the current model
    (``model_version``) classified, corrections."""
    classified, current = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE model_version = ?) FROM session_scenarios", [model_version]).fetchone()
    return {"classified": int(classified), "sessions": int(con.execute("SELECT count(*) FROM f_sessions").fetchone()[0]),
            "current": int(current),
            "corrections": int(con.execute("SELECT count(*) FROM scenario_corrections").fetchone()[0])}


def stale_notice(status: dict, model_label: str) -> str | None:
    """What the page says when some sessions' scenarios are not the current model's (``status`` from
    ``scenario_status`` with the model's version): how many an older model decided, how many none has."""
    older = status["classified"] - status["current"]
    missing = status["sessions"] - status["classified"]
    if older <= 0 and missing <= 0:
        return None
    parts = ([f"{older:,} 个会话的场景由旧模型判定"] if older > 0 else []) + (
        [f"{missing:,} 个会话尚未判定"] if missing > 0 else [])
    return f"{'，'.join(parts)}（共 {status['sessions']:,} 个会话）；当前模型为 {model_label}，重新判定后本页按它统计。"


def worst_scenarios(table: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The ``top`` scenarios most likely to satisfy worst: ranked by 满意率 shrunk toward the shop's
    overall rate (empirical Bayes: a Beta prior fitted to all the shop's scenarios, ``stats.beta_prior``),
    so three bad ratings rank by what three ratings can show, and a large sample keeps its own rate.
    Candidates are the scenarios doing worse than the shop (more unsatisfied ratings than its rate
    predicts) — or, when none is, those with an unsatisfied rating: none is "worst" without a bad
    rating, and the list is never empty while one exists; 其他 is never ranked. Adds ``estimate`` (shrunk), ``lo``/``hi`` (its 95 % posterior
    interval), ``bad`` (unsatisfied ratings), ``prior`` (the shop's rate), ``rate`` with its Wilson
    interval ``rate_lo``/``rate_hi``, and ``excess_bad`` (unsatisfied beyond what the shop's rate
    predicts for that many ratings). With little data the estimates crowd near the shop's rate — the
    order is then by excess unsatisfied ratings, which is what a week can show.)"""
    rated = table[table["sat_n"] > 0]
    if rated.empty:
        return table.iloc[0:0].assign(estimate=[], lo=[], hi=[], bad=[], prior=[])
    mean, strength = beta_prior(rated["sat_k"], rated["sat_n"])
    candidates = rated[(rated["sat_n"] > rated["sat_k"]) & (rated["key"] != OTHER)].copy()
    candidates["estimate"] = shrink(candidates["sat_k"], candidates["sat_n"], mean, strength)
    lo, hi = beta_interval(candidates["sat_k"], candidates["sat_n"], mean, strength)
    candidates["lo"], candidates["hi"] = lo, hi
    candidates["bad"] = (candidates["sat_n"] - candidates["sat_k"]).astype(int)
    candidates["prior"] = mean
    # what a reader sees: the scenario's own rate with its Wilson interval, and how many more unsatisfied
    # ratings it had than the shop's rate would lead one to expect
    candidates["rate"] = candidates["sat_k"] / candidates["sat_n"]
    bounds = [wilson(k, n) for k, n in zip(candidates["sat_k"], candidates["sat_n"])]
    candidates["rate_lo"], candidates["rate_hi"] = [b[0] for b in bounds], [b[1] for b in bounds]
    candidates["excess_bad"] = candidates["bad"] - (1 - mean) * candidates["sat_n"]
    # doing worse than the shop, if any scenario is: a scenario at or above the shop's rate is not "worst"
    worse = candidates[candidates["excess_bad"] > 1e-9]
    ranked = (worse if len(worse) else candidates).sort_values(["estimate", "sat_n", "key"], ascending=[True, False, True])
    return ranked.head(top).reset_index(drop=True)


def scenario_tree(levels: list[pd.DataFrame]) -> pd.DataFrame:
    """Tables of levels 1…n as one tree: parents before children, each level by evaluated volume
    (a key sorts by its ancestors' volumes, then its own), with a ``level`` column."""
    tree = pd.concat([f.assign(level=lvl) for lvl, f in enumerate(levels, start=1)], ignore_index=True)
    volume = dict(zip(tree["key"], tree["evaluated"]))
    order = [tuple((-volume.get(".".join(k.split(".")[:i]), 0), ".".join(k.split(".")[:i]))
                   for i in range(1, k.count(".") + 2)) for k in tree["key"]]
    return tree.iloc[sorted(range(len(tree)), key=order.__getitem__)].reset_index(drop=True)
