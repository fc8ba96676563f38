"""实时监控's snapshot: waiting buyers and the longest wait, breaches of the last hour, who is online,
today's figures from the parts, and an agent's own row only."""

import datetime as dt

import pandas as pd

from insight.analyses.live import live_snapshot
from insight.core.access import LOCAL, Viewer
from insight.metrics.engine import MetricEngine

from conftest import Chat, load, messages_of

AGENTS = [{"agent_id": "A1", "shop_id": "S1", "agent_name": "小一", "kind": "human"},
          {"agent_id": "A2", "shop_id": "S1", "agent_name": "小二", "kind": "human"}]


def _store(tmp_path):
    chats = [
        Chat("c1", "b1").buyer("10:00:00", "在吗").agent("10:01:00", "在的", "A1").buyer("10:05:00", "发货了吗"),
        Chat("c2", "b2").buyer("10:00:00", "你好").agent("10:04:00", "您好", "A2").buyer("10:06:00", "还在吗"),
        Chat("c3", "b3").buyer("08:00:00", "早").agent("08:00:30", "早", "A1").buyer("08:01:00", "谢谢"),  # left long ago
    ]
    return load(tmp_path, messages=messages_of(*chats), agents=AGENTS)


def test_waits_breaches_and_online(tmp_path):
    store = _store(tmp_path)
    snap = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL)
    assert snap["as_of"] == dt.datetime(2024, 5, 10, 10, 6)
    agents = snap["agents"].set_index("agent_id")
    assert agents.at["A1", "buyers_waiting"] == 1 and agents.at["A1", "longest_wait"] == 60.0  # c1 since 10:05
    assert agents.at["A2", "buyers_waiting"] == 1 and agents.at["A2", "longest_wait"] == 0.0
    assert agents.at["A2", "breaches_1h"] == 1 and agents.at["A1", "breaches_1h"] == 0  # c2 waited 4 min
    assert bool(agents.at["A1", "online"]) and bool(agents.at["A2", "online"])
    assert agents.at["A1", "received_buyers"] >= 1
    assert snap["shop"]["buyers_waiting"] == 2 and snap["shop"]["longest_wait"] == 60.0
    assert not snap["shop"]["alert"]
    assert snap["arrivals"]["last_week"].isna().all()  # the data starts today: no line of zeros
    # four minutes later nobody answered: c1's buyer has waited 5 minutes, a red row
    later = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL, as_of=dt.datetime(2024, 5, 10, 10, 10))
    assert later["shop"]["longest_wait"] == 300.0 and later["shop"]["alert"]
    assert later["agents"].set_index("agent_id").at["A1", "breaches_1h"] == 1


def test_an_agent_sees_their_own_row(tmp_path):
    store = _store(tmp_path)
    snap = live_snapshot(MetricEngine(store), "S1", viewer=Viewer("x", "agent", frozenset({"S1"}), agent_id="A2"))
    assert list(snap["agents"]["agent_id"]) == ["A2"]
    everyone = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL)["shop"]["buyer_msgs_1h"]
    assert snap["shop"]["buyer_msgs_1h"] == 2 < everyone  # c2's two buyer messages, not A1's too


def test_today_so_far_against_yesterday_and_last_week_until_the_same_time(tmp_path):
    from insight.analyses.live import so_far

    chats = [Chat("y1", "b1", "2024-05-09").buyer("10:00:00").agent("10:00:30", agent_id="A1"),
             Chat("y2", "b2", "2024-05-09").buyer("15:00:00").agent("15:10:00", agent_id="A1"),  # after 11:00
             Chat("w1", "b3", "2024-05-03").buyer("09:00:00").agent("09:05:00", agent_id="A2"),
             Chat("t1", "b4", "2024-05-10").buyer("10:00:00").agent("10:01:00", agent_id="A1"),
             Chat("t2", "b5", "2024-05-10").buyer("10:30:00").agent("10:30:10", agent_id="A2")]
    store = load(tmp_path, messages=messages_of(*chats), agents=AGENTS)
    frame = so_far(MetricEngine(store), "S1", dt.datetime(2024, 5, 10, 11, 0), viewer=LOCAL).set_index("key")
    assert frame.at["buyer_messages", "today"] == 2 and frame.at["buyer_messages", "yesterday"] == 1
    assert frame.at["buyer_messages", "vs_yesterday"] == 1.0  # +100 %
    assert frame.at["reply_3min_rate_msg", "today"] == 1.0 and frame.at["reply_3min_rate_msg", "yesterday"] == 1.0
    assert frame.at["reply_3min_rate_msg", "last_week"] == 0.0 and frame.at["reply_3min_rate_msg", "last_week_n"] == 1
    assert frame.at["reply_3min_rate_msg", "vs_last_week"] == 1.0  # points for rates
    # 2 of 2 against 0 of 1 is +100 points, and still within chance (Fisher p = 1/3); counts are not tested
    assert frame.at["reply_3min_rate_msg", "vs_last_week_real"] is False
    assert frame.at["buyer_messages", "vs_yesterday_real"] is None
    # the arrivals keep last week's line (the data covers that day), and a day without data would not
    arrivals = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL)["arrivals"]
    assert arrivals["last_week"].notna().all()
    assert pd.isna(frame.at["satisfaction_rate", "today"])  # nothing rated: unavailable, not 0
    assert frame.at["satisfaction_rate", "reason"]
    # an agent viewer reads the shop's totals here, as on every page
    agent = Viewer("x", "agent", frozenset({"S1"}), agent_id="A2")
    assert so_far(MetricEngine(store), "S1", dt.datetime(2024, 5, 10, 11, 0), viewer=agent).set_index(
        "key").at["buyer_messages", "today"] == 2


def test_a_session_the_platform_closed_leaves_the_queue(tmp_path):
    """A buyer whose session the platform ended unserved is no longer waiting (their unanswered message
    stays a breach of the hour): the queue is who can still be answered."""
    chats = [Chat("c1", "b1").buyer("10:00:00", "在吗").agent("10:01:00", "在的", "A1").buyer("10:05:00", "发货了吗"),
             Chat("c2", "b2").buyer("10:02:00", "你好").agent("10:02:30", "您好", "A2").buyer("10:03:00", "还在吗")]
    sessions = [{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1", "started_at": "2024-05-10 10:00:00",
                 "ended_at": "2024-05-10 10:07:00"},  # closed by the platform, the buyer unanswered
                {"session_id": "c2", "shop_id": "S1", "buyer_id": "b2", "started_at": "2024-05-10 10:02:00",
                 "ended_at": "2024-05-10 10:30:00"}]  # still open at 10:10
    store = load(tmp_path, messages=messages_of(*chats), agents=AGENTS, sessions=sessions)
    before = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL, as_of=dt.datetime(2024, 5, 10, 10, 6))
    assert before["agents"].set_index("agent_id").at["A1", "buyers_waiting"] == 1  # open until 10:07
    snap = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL, as_of=dt.datetime(2024, 5, 10, 10, 10))
    agents = snap["agents"].set_index("agent_id")
    assert agents.at["A1", "buyers_waiting"] == 0 and agents.at["A2", "buyers_waiting"] == 1
    assert snap["shop"]["buyers_waiting"] == 1 and snap["shop"]["longest_wait"] == 420.0  # c2 since 10:03
    assert agents.at["A1", "breaches_1h"] == 1  # c1's 10:05 message went unanswered past 3 minutes
