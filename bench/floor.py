"""The floor of import → parts on this machine: the bare copy of the messages file (the reference of
bench/pipeline.py) against a skeleton that does only what any derivation of METRICS.md's reply
metrics must do — copy the messages, order each session's messages once (one window pass), sum them
per session, give the sessions their attributes (imported sessions, stage from paid orders), join the
messages back to their sessions, aggregate, write the derived sessions and the parts, commit.

One pass that checks the rows and one ASOF join for 客服销售额 stand for validation and attribution;
no reject reasons, rounds, FCR, buyer-days, evaluations, tags or inquiries: what
the skeleton costs above 1× is a lower bound for the real pipeline's, measured in the same run.
Prints figures; asserts nothing.

    python bench/floor.py                 # the 10M demo (bench/pipeline.py builds it)
    python bench/floor.py --size 1m
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]

STEPS = {
    "copy the messages (= the reference)": "CREATE TABLE messages AS SELECT * FROM read_parquet(?)",
    # DATA.md: every row checked, a reason per rejected line (here: only the lines, nothing rejected)
    "check every row (required values, roles)": """
        CREATE TEMP TABLE bad AS SELECT file_row_number FROM read_parquet(?, file_row_number = true)
        WHERE nullif(trim(message_id), '') IS NULL OR nullif(trim(shop_id), '') IS NULL
           OR nullif(trim(session_id), '') IS NULL OR sent_at IS NULL
           OR sender_role NOT IN ('buyer', 'agent', 'robot', 'system')""",
    "copy sessions and orders": None,  # two statements, below
    "order each session's messages (window)": """
        CREATE TEMP TABLE w AS SELECT shop_id, session_id, buyer_id, sender_role AS role, agent_id, sent_at,
            row_number() OVER s AS ord,
            min(CASE WHEN sender_role = 'agent' THEN sent_at END)
                OVER (s ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_reply_at
        FROM messages WINDOW s AS (PARTITION BY shop_id, session_id ORDER BY sent_at)""",
    "sum per session": """
        CREATE TEMP TABLE sm AS SELECT shop_id, session_id, arg_min(buyer_id, ord) AS buyer_id,
            min(sent_at) AS started_at, max(sent_at) AS ended_at, count(*) AS n_messages,
            arg_min(agent_id, ord) FILTER (WHERE role = 'agent') AS first_agent_id
        FROM w GROUP BY ALL""",
    "session attributes (imported sessions, stage)": """
        CREATE TEMP TABLE sa AS
        WITH paid AS (SELECT DISTINCT shop_id, buyer_id, CAST(paid_at AS DATE) AS d FROM orders WHERE paid_at IS NOT NULL)
        SELECT m.*, s.transferred_at, coalesce(s.agent_id, m.first_agent_id) AS agent,
            CASE WHEN s.transferred_at IS NOT NULL THEN 'manual' ELSE 'robot' END AS channel,
            CASE WHEN EXISTS (SELECT 1 FROM paid p WHERE p.shop_id = m.shop_id AND p.buyer_id = m.buyer_id
                 AND p.d BETWEEN CAST(m.started_at AS DATE) - 21 AND CAST(m.started_at AS DATE) - 1)
                 THEN 'aftersale' ELSE 'presale' END AS stage
        FROM sm m LEFT JOIN sessions s ON s.session_id = m.session_id""",
    "join the messages back to their sessions": """
        CREATE TEMP TABLE mf AS SELECT w.shop_id, w.sent_at, w.role, sa.agent, sa.stage,
            (w.role = 'buyer' AND w.sent_at >= sa.transferred_at) AS is_mp,
            epoch(w.next_reply_at) - epoch(w.sent_at) AS wait
        FROM w JOIN sa USING (shop_id, session_id) WHERE sa.channel = 'manual'""",
    "write the derived sessions": "CREATE TABLE f_sessions AS SELECT * FROM sa",
    # 客服销售额: each paid order to the last agent message before it (one ASOF join)
    "attribute paid orders (ASOF)": """
        CREATE TEMP TABLE attr AS SELECT o.order_id, a.agent_id FROM orders o ASOF LEFT JOIN
            (SELECT shop_id, buyer_id, agent_id, sent_at FROM messages WHERE sender_role = 'agent') a
            ON a.shop_id = o.shop_id AND a.buyer_id = o.buyer_id AND a.sent_at < o.paid_at
        WHERE o.paid_at IS NOT NULL""",
    "aggregate and write the parts": """
        CREATE TABLE parts AS
        SELECT shop_id, agent, day, stage, sum(a) AS a, sum(b) AS b, sum(c) AS c FROM (
            SELECT shop_id, agent, CAST(sent_at AS DATE) AS day, stage, count(*) FILTER (WHERE is_mp) AS a,
                count(*) FILTER (WHERE is_mp AND wait <= 180) AS b, 0 AS c FROM mf GROUP BY ALL
            UNION ALL
            SELECT shop_id, agent, CAST(started_at AS DATE), stage, 0, 0, count(*) FROM sa GROUP BY ALL)
        GROUP BY ALL""",
    "commit (checkpoint)": "CHECKPOINT",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="10m")
    parser.add_argument("--memory-limit", default="1200MB")
    args = parser.parse_args()
    data = REPO / "bench" / "out" / f"{args.size}-parquet" / "data"
    if not (data / "messages.parquet").exists():
        raise SystemExit(f"{data} has no messages.parquet: run python bench/pipeline.py --sizes {args.size} first")
    db = REPO / "bench" / "out" / "floor.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = ?", [args.memory_limit])
    con.execute("SET temp_directory = ?", [str(db) + ".tmp"])
    print(f"machine: {os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}; {data}")
    times = {}
    for label, sql in STEPS.items():
        t = time.time()
        if sql is None:
            for name in ("sessions", "orders"):
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet(?)", [str(data / f"{name}.parquet")])
        elif "?" in sql:
            con.execute(sql, [str(data / "messages.parquet")])
        else:
            con.execute(sql)
        times[label] = time.time() - t
    con.close()
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    ref = times["copy the messages (= the reference)"]
    total = sum(times.values())
    for label, secs in times.items():
        print(f"{label:<48}{secs:8.2f} s  {secs / ref:5.2f}×")
    print(f"{'skeleton, import → parts':<48}{total:8.2f} s  {total / ref:5.2f}× the bare copy")


if __name__ == "__main__":
    main()
