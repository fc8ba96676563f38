"""Responsiveness metrics on hand-built chats that hit the edges of METRICS.md."""

import pytest

from conftest import Chat, load, messages_of, metric_values, values


def _mixed_chats():
    # c1: robot first; the transfer is the first buyer message after the robot message that
    # precedes the first agent message. A system message inside round 2 must not split it,
    # and round 3 is never answered.
    c1 = (Chat("c1", "b1").buyer("10:00:00", "在吗").robot("10:00:05", "您好").buyer("10:00:30", "转人工")
          .agent("10:01:00", "您好").buyer("10:02:00", "尺码").system("10:02:10", "卡片")
          .buyer("10:02:20", "多大").agent("10:06:00", "M码").buyer("10:07:00", "还在吗"))
    # c2: no robot at all; the first buyer message opens the manual phase.
    c2 = Chat("c2", "b2").buyer("11:00:00").agent("11:01:00").buyer("11:02:00").agent("11:03:00")
    # c3: the robot answers alone.
    c3 = Chat("c3", "b3").buyer("12:00:00").robot("12:00:02")
    return c1, c2, c3


def test_rounds_waits_and_unanswered(tmp_path):
    store = load(tmp_path, messages=messages_of(*_mixed_chats()))
    v = values(store, "2024-05-10")
    assert v["manual_sessions"] == 2
    assert v["robot_sessions"] == 1
    # c1 waits 30, 240, 220, unanswered; c2 waits 60, 60.
    assert v["reply_3min_rate_msg"] == pytest.approx(3 / 6)
    # c1 fails (an unanswered round fails the session); c2's mean 60 s passes.
    assert v["reply_3min_rate_session"] == pytest.approx(1 / 2)
    assert v["reply_3min_rate_buyer"] == pytest.approx(1 / 2)
    assert v["first_response_time"] == pytest.approx((30 + 60) / 2)
    # answered rounds: c1 30 and 240 (from the round's first message), c2 60 and 60.
    assert v["avg_response_time"] == pytest.approx((30 + 240 + 60 + 60) / 4)
    assert v["no_service_rate"] == 0
    assert v["qa_ratio"] == pytest.approx(4 / 6)
    assert v["consult_buyers"] == 2 and v["received_buyers"] == 2


def test_derived_session_attributes(tmp_path):
    store = load(tmp_path, messages=messages_of(*_mixed_chats()))
    rows = store.con.execute(
        "SELECT session_id, channel, CAST(transferred_at AS VARCHAR), agent_id, n_rounds, n_answered "
        "FROM f_sessions ORDER BY 1").fetchall()
    assert rows == [("c1", "manual", "2024-05-10 10:00:30", "A1", 3, 2),
                    ("c2", "manual", "2024-05-10 11:00:00", "A1", 2, 2),
                    ("c3", "robot", None, None, 0, 0)]


def test_robot_filter_makes_human_metrics_not_applicable(tmp_path):
    store = load(tmp_path, messages=messages_of(*_mixed_chats()))
    result = metric_values(store, "2024-05-10", channel="robot")
    assert result["robot_sessions"].value == 1
    for key in ("reply_3min_rate_msg", "first_response_time", "avg_response_time", "manual_sessions"):
        assert result[key].value is None
        assert "机器人" in result[key].reason
    manual = metric_values(store, "2024-05-10", channel="manual")
    assert manual["manual_sessions"].value == 2
    assert manual["robot_sessions"].value is None


def test_queue_time_counts_for_the_shop_not_the_agent(tmp_path):
    sessions = [
        {"session_id": "q1", "shop_id": "S1", "buyer_id": "b1", "started_at": "2024-05-10 09:59:00",
         "ended_at": "2024-05-10 10:06:00", "transferred_at": "2024-05-10 10:00:00",
         "assigned_at": "2024-05-10 10:04:00", "agent_id": "A1"},
        # Transferred, assigned to nobody, never answered: 不服务.
        {"session_id": "q2", "shop_id": "S1", "buyer_id": "b2", "started_at": "2024-05-10 11:00:00",
         "ended_at": "2024-05-10 11:01:00", "transferred_at": "2024-05-10 11:00:00",
         "assigned_at": None, "agent_id": None},
    ]
    q1 = (Chat("q1", "b1").robot("09:59:00", "机器人").buyer("10:00:00", "转人工").agent("10:04:30", "您好")
          .buyer("10:05:00", "问题").agent("10:05:30", "回答"))
    q2 = Chat("q2", "b2").buyer("11:00:00").buyer("11:01:00")
    store = load(tmp_path, sessions=sessions, messages=messages_of(q1, q2))
    shop = values(store, "2024-05-10")
    assert shop["manual_sessions"] == 2
    assert shop["no_service_rate"] == pytest.approx(0.5)
    assert shop["first_response_time"] == pytest.approx(270)  # includes 4 minutes in the queue
    assert shop["reply_3min_rate_msg"] == pytest.approx(1 / 4)
    agent = values(store, "2024-05-10", agent="A1")
    assert agent["first_response_time"] == pytest.approx(30)  # from assignment at 10:04:00
    assert agent["reply_3min_rate_msg"] == pytest.approx(1.0)
    assert agent["manual_sessions"] == 1


@pytest.mark.parametrize("time, bucket", [
    ("07:59:59", "off"), ("08:00:00", "work"), ("22:59:59", "work"), ("23:00:00", "off")])
def test_working_hour_boundaries(tmp_path, time, bucket):
    chat = Chat("h1", "b1").buyer(time).agent(f"2024-05-10 {time[:6]}59" if time != "23:00:00" else
                                              "2024-05-10 23:00:30")
    store = load(tmp_path, messages=messages_of(chat))
    other = "off" if bucket == "work" else "work"
    assert values(store, "2024-05-10", hours=bucket)["manual_sessions"] == 1
    assert values(store, "2024-05-10", hours=other)["manual_sessions"] == 0
    assert values(store, "2024-05-10", hours=other)["reply_3min_rate_msg"] is None


def test_buyer_day_pairs_span_sessions(tmp_path):
    ok = Chat("p1", "b1").buyer("09:00:00").agent("09:00:30")
    slow = Chat("p2", "b1").buyer("15:00:00").agent("15:03:20")  # 200 s
    other = Chat("p3", "b2").buyer("16:00:00").agent("16:01:00")
    store = load(tmp_path, messages=messages_of(ok, slow, other))
    v = values(store, "2024-05-10")
    assert v["reply_3min_rate_buyer"] == pytest.approx(1 / 2)  # b1's day fails on one slow round
    assert v["reply_3min_rate_session"] == pytest.approx(2 / 3)
    assert v["reply_3min_rate_msg"] == pytest.approx(2 / 3)


def test_message_order_ties_follow_file_order(tmp_path):
    # The agent's reply carries the same second as the buyer's message but comes after it in
    # the file, so it answers it (wait 0); a reply listed before would not.
    chat = Chat("t1", "b1").buyer("10:00:00").agent("10:00:00").buyer("10:01:00").agent("10:01:30")
    store = load(tmp_path, messages=messages_of(chat))
    v = values(store, "2024-05-10")
    assert v["first_response_time"] == 0
    assert v["avg_response_time"] == pytest.approx(15)


def test_agent_view_counts_unanswered_messages_and_rounds(tmp_path):
    """Agent view (waits from assignment): an unanswered message or round is a miss, never a 0 s wait."""
    def session(sid, buyer, hour, assigned):
        return {"session_id": sid, "shop_id": "S1", "buyer_id": buyer, "started_at": f"2024-05-10 {hour}:00:00",
                "ended_at": f"2024-05-10 {hour}:30:00", "transferred_at": f"2024-05-10 {hour}:00:00",
                "assigned_at": f"2024-05-10 {assigned}", "agent_id": "A1"}
    # a1: queued 60 s, answered 60 s after assignment, then a second round nobody answers.
    a1 = Chat("a1", "b1").buyer("10:00:00").agent("10:02:00").buyer("10:03:00")
    # a2: assigned, never answered at all.
    a2 = Chat("a2", "b2").buyer("11:00:00")
    # a3: answered in 30 s, then in 240 s (mean 135 s: the session passes, the buyer-day does not).
    a3 = Chat("a3", "b3").buyer("12:00:00").agent("12:00:30").buyer("12:05:00").agent("12:09:00")
    sessions = [session("a1", "b1", "10", "10:01:00"), session("a2", "b2", "11", "11:00:00"),
                session("a3", "b3", "12", "12:00:00")]
    store = load(tmp_path, sessions=sessions, messages=messages_of(a1, a2, a3))
    agent = values(store, "2024-05-10", agent="A1")
    # buyer messages in the manual phase: 10:00 ok (60 s), 10:03 missed, 11:00 missed, 12:00 ok, 12:05 late
    assert agent["reply_3min_rate_msg"] == pytest.approx(2 / 5)
    # sessions: a1 and a2 have an unanswered round; a3's mean wait is 135 s
    assert agent["reply_3min_rate_session"] == pytest.approx(1 / 3)
    # buyer-days: b1 and b2 have a missed round, b3 a 240 s round
    assert agent["reply_3min_rate_buyer"] == 0
    # first response from assignment, over sessions whose first round was answered: a1 60 s, a3 30 s
    assert agent["first_response_time"] == pytest.approx((60 + 30) / 2)
    # answered rounds only: 60, 30, 240
    assert agent["avg_response_time"] == pytest.approx((60 + 30 + 240) / 3)
    shop = values(store, "2024-05-10")
    assert shop["reply_3min_rate_msg"] == pytest.approx(2 / 5)  # 10:00 waited 120 s in the shop view
    assert shop["first_response_time"] == pytest.approx((120 + 30) / 2)
