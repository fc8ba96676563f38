"""A shop's facts as known at a moment (实时监控's comparison with yesterday until the same time): rows
after the cutoff are absent, later steps have not happened, the short chat lookback derives what the
whole history derives, and at the end of the data the store's own parts come back."""

import datetime as dt
import random

from insight import Store
from insight.core.schema import GRAIN, PART_MEASURES, SALES_MEASURES
from insight.derive import derive_as_known

from conftest import Chat, load, messages_of, metric_values

TABLES = {"parts": PART_MEASURES, "parts_sales": SALES_MEASURES, "parts_tags": ("n", "n_bad")}


def _day_parts(store: Store, shop: str, day: dt.date) -> dict:
    """The day's parts rows by grain (tags also by tag), rounded to the cent."""
    out = {}
    for table, measures in TABLES.items():
        grain = ", ".join(GRAIN + (("tag",) if table == "parts_tags" else ()))
        sums = ", ".join(f"round(coalesce(sum({m}), 0), 6)" for m in measures)
        out[table] = store.con.execute(
            f"SELECT {grain}, {sums} FROM {table} WHERE shop_id = ? AND day = ? GROUP BY ALL ORDER BY ALL",
            [shop, day]).fetchall()
    return out


def _hand_store(tmp_path):
    chat = Chat("c1", "b1").buyer("10:00:00", "这件有货吗").agent("10:01:00", "有的", "A1").buyer("10:40:00", "好的")
    return load(
        tmp_path, messages=messages_of(chat),
        evaluations=[{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1", "invited_by": "agent",
                      "invited_at": "2024-05-10 10:05:00", "rating": 5, "rated_at": "2024-05-10 12:00:00"}],
        orders=[{"order_id": "o1", "shop_id": "S1", "buyer_id": "b1", "created_at": "2024-05-10 10:20:00",
                 "paid_at": "2024-05-10 11:00:00", "amount": "99.00"}])


def test_rows_after_the_cutoff_and_later_steps_are_absent(tmp_path):
    store = _hand_store(tmp_path)
    day = dt.date(2024, 5, 10)
    with derive_as_known(store, "S1", dt.datetime(2024, 5, 10, 10, 30)) as early:
        got = metric_values(early, str(day))
        assert got["buyer_messages"].value == 1  # the 10:40 message was not sent yet
        assert got["invited_sessions"].value == 1 and got["evaluated_sessions"].value == 0  # rated at 12:00
        assert got["inquiry_order_rate"].value == 1.0 and got["inquiry_pay_rate"].value == 0.0  # paid at 11:00
        assert got["agent_sales_amount"].value == 0
    with derive_as_known(store, "S1", dt.datetime(2024, 5, 10, 11, 30)) as later:
        got = metric_values(later, str(day))
        assert got["buyer_messages"].value == 2 and got["evaluated_sessions"].value == 0
        assert got["inquiry_pay_rate"].value == 1.0 and got["agent_sales_amount"].value == 99
    # the source is read, never written
    assert metric_values(store, str(day))["evaluated_sessions"].value == 1


def test_at_the_end_of_the_data_the_stored_parts_come_back(demo_store_copy):
    store = demo_store_copy
    for shop in ("S001", "S004"):
        end = store.con.execute("SELECT max(sent_at) FROM messages WHERE shop_id = ?", [shop]).fetchone()[0]
        day = end.date()
        with derive_as_known(store, shop, dt.datetime.combine(day, dt.time.max)) as known:
            assert _day_parts(known, shop, day) == _day_parts(store, shop, day)
            assert _day_parts(store, shop, day)["parts"]  # not two empty lists


def test_the_short_chat_lookback_derives_what_the_whole_history_derives(demo_store_copy):
    """Chats are copied from two days back (older only for the day's escalating buyers): on random
    moments of every shop, the day's parts equal those derived from every earlier row."""
    rnd = random.Random(7)
    store = demo_store_copy
    shops = [s for (s,) in store.con.execute("SELECT shop_id FROM shops ORDER BY 1").fetchall()]
    escalated_days = 0
    for shop in shops:
        start, end = store.con.execute(
            "SELECT min(sent_at), max(sent_at) FROM messages WHERE shop_id = ?", [shop]).fetchone()
        for _ in range(2):
            cut = start + dt.timedelta(seconds=rnd.uniform(5 * 86400, (end - start).total_seconds()))
            with derive_as_known(store, shop, cut) as short, \
                    derive_as_known(store, shop, cut, lookback_days=10_000, chat_lookback_days=10_000) as whole:
                assert _day_parts(short, shop, cut.date()) == _day_parts(whole, shop, cut.date()), (shop, cut)
                escalated_days += whole.con.execute(
                    "SELECT count(*) FROM escalations WHERE CAST(created_at AS DATE) = ?", [cut.date()]).fetchone()[0] > 0
    assert escalated_days  # the 解决率 lookback was exercised
