"""Evaluation, stage, after-sale and sales metrics on hand-built cases."""

import pytest

from insight import SalesSettings, import_paths
from insight.derive import apply_settings

from conftest import Chat, load, messages_of, metric_values, values, write_dataset


def _quick(sid, buyer, day, time="10:00:00", agent="A1", reply="10:00:30"):
    return Chat(sid, buyer, day).buyer(time).agent(reply, agent_id=agent)


def _order(oid, buyer, created, paid=None, amount="100"):
    return {"order_id": oid, "shop_id": "S1", "buyer_id": buyer, "created_at": created, "paid_at": paid,
            "amount": amount}


# ---------------------------------------------------------------- evaluations

def _evaluation(sid, rating, invited="2024-05-10 12:00:00", rated=None, by="agent", tags=None, buyer="b1"):
    return {"session_id": sid, "shop_id": "S1", "buyer_id": buyer, "invited_by": by, "invited_at": invited,
            "rating": rating, "rated_at": rated or (invited if rating is not None else None), "tags": tags}


def test_evaluation_rates_and_invitation_without_rating(tmp_path):
    chats = [_quick(f"e{i}", f"b{i}", "2024-05-10") for i in range(6)]
    evals = [_evaluation("e0", 5), _evaluation("e1", 4, by="system"), _evaluation("e2", 3, tags="回复慢"),
             _evaluation("e3", 1, tags="态度差;回复慢"), _evaluation("e4", None, by="buyer"),
             # invited the next day: belongs to the next day (anchor invited_at)
             _evaluation("e5", 5, invited="2024-05-11 00:00:01")]
    store = load(tmp_path, messages=messages_of(*chats), evaluations=evals)
    v = values(store, "2024-05-10")
    assert v["invited_sessions"] == 5 and v["evaluated_sessions"] == 4
    assert v["invited_by_agent_sessions"] == 3 and v["invited_by_buyer_sessions"] == 1
    assert v["evaluation_rate"] == pytest.approx(0.8)
    assert v["satisfaction_rate"] == pytest.approx(0.5)
    assert v["very_satisfied_rate"] == pytest.approx(0.25)
    assert v["neutral_rate"] == pytest.approx(0.25)
    assert v["bad_rate"] == pytest.approx(0.25)
    assert v["dissatisfaction_rate"] == pytest.approx(0.5)
    assert values(store, "2024-05-11")["invited_sessions"] == 1


def test_no_evaluations_in_period_is_null_with_reason_not_zero(tmp_path):
    store = load(tmp_path, messages=messages_of(_quick("e0", "b0", "2024-05-10")),
                 evaluations=[_evaluation("e0", 5)])
    result = metric_values(store, "2024-05-12")
    assert result["satisfaction_rate"].value is None
    assert "分母为 0" in result["satisfaction_rate"].reason
    assert result["invited_sessions"].value == 0


def test_latest_rating_wins_across_imports(tmp_path):
    store = load(tmp_path, messages=messages_of(_quick("e0", "b0", "2024-05-10")),
                 evaluations=[_evaluation("e0", 2, rated="2024-05-10 12:05:00")])
    newer = write_dataset(tmp_path / "newer", evaluations=[_evaluation("e0", 5, rated="2024-05-11 09:00:00")])
    report = import_paths(store, [newer / "evaluations.csv"])
    assert report.tables["evaluations"].updated == 1
    assert values(store, "2024-05-10")["satisfaction_rate"] == 1.0
    older = write_dataset(tmp_path / "older", evaluations=[_evaluation("e0", 1, rated="2024-05-10 12:01:00")])
    report = import_paths(store, [older / "evaluations.csv"])
    assert report.tables["evaluations"].superseded == 1 and not report.changed
    assert values(store, "2024-05-10")["satisfaction_rate"] == 1.0


def test_three_level_ratings_map_to_one_three_five(tmp_path):
    chats = [_quick(f"e{i}", f"b{i}", "2024-05-10") for i in range(3)]
    evals = [_evaluation("e0", "失望"), _evaluation("e1", "一般"), _evaluation("e2", "满意")]
    store = load(tmp_path, messages=messages_of(*chats), evaluations=evals)
    ratings = store.con.execute("SELECT session_id, rating FROM evaluations ORDER BY 1").fetchall()
    assert ratings == [("e0", 1), ("e1", 3), ("e2", 5)]


# ---------------------------------------------------------------- stage

@pytest.mark.parametrize("paid_day, stage", [
    ("2024-05-09", "aftersale"),   # D−1
    ("2024-04-19", "aftersale"),   # D−21
    ("2024-04-18", "presale"),     # D−22
    ("2024-05-10", "presale"),     # the day itself is excluded
])
def test_stage_window(tmp_path, paid_day, stage):
    store = load(tmp_path, messages=messages_of(_quick("s1", "b1", "2024-05-10")),
                 orders=[_order("o1", "b1", f"{paid_day} 08:00:00", f"{paid_day} 08:30:00")])
    assert store.con.execute("SELECT stage FROM f_sessions").fetchone()[0] == stage
    assert values(store, "2024-05-10", stage=stage)["manual_sessions"] == 1


def test_stage_window_is_a_setting(tmp_path):
    from insight import StoreSettings

    store = load(tmp_path, messages=messages_of(_quick("s1", "b1", "2024-05-10")),
                 orders=[_order("o1", "b1", "2024-04-30 08:00:00", "2024-04-30 08:30:00")])
    assert store.con.execute("SELECT stage FROM f_sessions").fetchone()[0] == "aftersale"
    apply_settings(store, StoreSettings(stage_window_days=7))
    assert store.con.execute("SELECT stage FROM f_sessions").fetchone()[0] == "presale"


def test_stage_filter_without_orders_is_unavailable(tmp_path):
    store = load(tmp_path, messages=messages_of(_quick("s1", "b1", "2024-05-10")))
    result = metric_values(store, "2024-05-10", stage="presale")
    assert result["manual_sessions"].value is None
    assert "orders" in result["manual_sessions"].reason


# ---------------------------------------------------------------- after-sale

def _aftersale_store(tmp_path, extra_chats=(), **tables):
    orders = [_order(f"o{b}", b, "2024-05-01 08:00:00", "2024-05-01 08:05:00") for b in ("b1", "b2", "b3")]
    chats = [
        _quick("a1", "b1", "2024-05-10", "10:00:00", reply="10:01:00"),
        _quick("a2", "b1", "2024-05-12", "09:00:00", reply="09:01:00"),  # 71 h later: a repeat
        _quick("a3", "b2", "2024-05-10", "11:00:00", reply="11:01:00"),
        _quick("z9", "b9", "2024-05-20", "11:00:00", reply="11:01:00"),  # moves the data's end
        *extra_chats,
    ]
    return load(tmp_path, messages=messages_of(*chats), orders=orders, **tables)


def test_fcr_counts_repeat_contacts_within_72_hours(tmp_path):
    store = _aftersale_store(tmp_path)
    v = values(store, "2024-05-10", "2024-05-12", stage="aftersale")
    assert v["fcr_3day"] == pytest.approx(1 - 1 / 3)
    assert values(store, "2024-05-10", "2024-05-12", stage="presale")["fcr_3day"] is None


def test_fcr_pending_sessions_are_left_out(tmp_path):
    # b3's session starts 48 h before the data's end: pending, so it is left out.
    store = _aftersale_store(tmp_path, extra_chats=[_quick("a4", "b3", "2024-05-18", "11:00:00", reply="11:01:00")])
    result = metric_values(store, "2024-05-18")
    assert result["fcr_3day"].value is None
    assert "观察期" in result["fcr_3day"].reason
    assert result["fcr_3day"].pending == 1
    assert values(store, "2024-05-10", "2024-05-18")["fcr_3day"] == pytest.approx(1 - 1 / 3)


def test_aftersale_resolution_rate(tmp_path):
    refunds = [{"refund_id": "r1", "order_id": "ob4", "shop_id": "S1", "buyer_id": "b4", "kind": "refund_only",
                "created_at": "2024-05-10 09:00:00", "finished_at": "2024-05-10 10:00:00", "status": "success"}]
    escalations = [{"escalation_id": "x1", "shop_id": "S1", "buyer_id": "b5", "kind": "dispute",
                    "created_at": "2024-05-10 15:00:00"}]
    store = _aftersale_store(tmp_path, refunds=refunds, escalations=escalations)
    # Demand on 05-10: b1 and b2 (after-sale sessions), b4 (refund), b5 (escalation) → 4; escalated: b5.
    assert values(store, "2024-05-10")["aftersale_resolution_rate"] == pytest.approx(1 - 1 / 4)
    for filters in ({"agent": "A1"}, {"hours": "off"}, {"hours": "work"}, {"channel": "manual"}):
        result = metric_values(store, "2024-05-10", **filters)["aftersale_resolution_rate"]
        assert result.value is None and result.reason, filters


def test_refund_duration_counts_refunds_finished_in_the_period(tmp_path):
    def refund(rid, created, finished, status="success"):
        return {"refund_id": rid, "order_id": "o", "shop_id": "S1", "buyer_id": "b1", "kind": "return_refund",
                "created_at": created, "finished_at": finished, "status": status}
    refunds = [refund("r1", "2024-05-09 10:00:00", "2024-05-10 11:00:00"),   # 25 h
               refund("r2", "2024-05-10 08:00:00", "2024-05-10 09:00:00"),   # 1 h
               refund("r3", "2024-05-10 08:00:00", None, "open"),
               refund("r4", "2024-05-01 08:00:00", "2024-05-02 08:00:00")]
    store = _aftersale_store(tmp_path, refunds=refunds)
    assert values(store, "2024-05-10")["avg_refund_duration"] == pytest.approx((25 + 1) * 3600 / 2)
    store2 = load(tmp_path, messages=messages_of(_quick("s1", "b1", "2024-05-10")))
    assert "refunds" in metric_values(store2, "2024-05-10")["avg_refund_duration"].reason


# ---------------------------------------------------------------- sales

def _sales_store(tmp_path):
    D, D1, D2 = "2024-05-10", "2024-05-11", "2024-05-12"
    chats = [
        Chat("i1", "b1", D).buyer("10:00:00").agent("10:00:30", agent_id="A1"),
        Chat("i2", "b2", D).buyer("11:00:00").agent("11:00:30", agent_id="A2"),
        Chat("i3", "b3", D).agent("12:00:00", "您的订单还没付款哦", agent_id="A1").buyer("12:05:00"),
        Chat("i4", "b4", D).buyer("12:00:00").agent("12:00:30", agent_id="A1"),
        # b1 comes back the next morning: A2 answers before the order, A1 before the payment.
        Chat("i5", "b1", D1).buyer("08:29:00").agent("08:30:00", agent_id="A2").agent("09:02:00", agent_id="A1"),
    ]
    orders = [
        _order("o1", "b1", f"{D1} 09:00:00", f"{D1} 09:05:00", "300"),
        _order("o2", "b2", f"{D2} 10:00:00", f"{D2} 10:05:00", "200"),
        _order("o4", "b4", f"{D} 08:00:00", f"{D} 08:05:00", "50"),    # before the consult
        _order("o9", "b9", f"{D1} 15:00:00", f"{D1} 15:01:00", "80"),  # never chatted: silent
    ]
    return load(tmp_path, messages=messages_of(*chats), orders=orders)


def test_inquiries_and_the_valid_window(tmp_path):
    store = _sales_store(tmp_path)
    v = values(store, "2024-05-10")
    # Inquiries on D: b1, b2, b4 (b3's chat was started by the agent and did not convert).
    assert v["inquiry_buyers"] == 3
    assert v["inquiry_order_rate"] == pytest.approx(1 / 3)   # b2 ordered on D+2: outside 2 days
    assert v["inquiry_pay_rate"] == pytest.approx(1 / 3)
    assert v["order_pay_rate"] == pytest.approx(1.0)
    three = values(store, "2024-05-10", settings=SalesSettings(valid_days=3))
    assert three["inquiry_order_rate"] == pytest.approx(2 / 3)
    rule_off = values(store, "2024-05-10", settings=SalesSettings(followup_not_loss=False))
    assert rule_off["inquiry_buyers"] == 4


@pytest.mark.parametrize("rule, agent", [("order", "A2"), ("payment", "A1"), ("order_first", "A2")])
def test_attribution_rules(tmp_path, rule, agent):
    store = _sales_store(tmp_path)
    settings = SalesSettings(attribution=rule)
    v = values(store, "2024-05-11", settings=settings)
    assert v["agent_sales_amount"] == pytest.approx(300)
    assert v["silent_sales_amount"] == pytest.approx(80)
    assert v["shop_sales_amount"] == pytest.approx(380)
    assert values(store, "2024-05-11", settings=settings, agent=agent)["agent_sales_amount"] == pytest.approx(300)
    other = "A1" if agent == "A2" else "A2"
    assert values(store, "2024-05-11", settings=settings, agent=other)["agent_sales_amount"] == 0


def test_the_attribution_rule_moves_sales_between_agents_not_conversion_rates(tmp_path):
    """What the page's 销售额归属判定 help says: the rule decides whose sales a paid order is; whether an
    inquiry converted does not depend on it."""
    store = _sales_store(tmp_path)
    rates = ("inquiry_order_rate", "order_pay_rate", "inquiry_pay_rate")
    by_rule = {rule: values(store, "2024-05-10", "2024-05-11", settings=SalesSettings(attribution=rule))
               for rule in ("order", "payment", "order_first")}
    assert len({tuple(v[k] for k in rates) for v in by_rule.values()}) == 1
    a2 = {rule: values(store, "2024-05-11", settings=SalesSettings(attribution=rule), agent="A2")["agent_sales_amount"]
          for rule in by_rule}
    assert a2["order"] != a2["payment"]


def test_order_first_falls_back_to_payment_agent_and_window_limits_attribution(tmp_path):
    store = _sales_store(tmp_path)
    # b2 ordered two days after A2's last message: outside a 2-day window → silent; inside 3 days → A2.
    two = values(store, "2024-05-12")
    assert two["agent_sales_amount"] == 0 and two["silent_sales_amount"] == pytest.approx(200)
    three = values(store, "2024-05-12", settings=SalesSettings(valid_days=3))
    assert three["agent_sales_amount"] == pytest.approx(200)
    assert three["avg_order_value"] == pytest.approx(200)


def test_sales_metrics_need_orders(tmp_path):
    store = load(tmp_path, messages=messages_of(_quick("s1", "b1", "2024-05-10")))
    result = metric_values(store, "2024-05-10")
    assert result["inquiry_buyers"].value is None and "orders" in result["inquiry_buyers"].reason
