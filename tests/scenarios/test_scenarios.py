"""Consultation scenarios: text normalisation, corpus, the classifier's contract, the store
integration (classification at import, corrections, scenario parts) and the dev-set figures."""

import csv
import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insight import Filters, MetricEngine, Period
from insight.core.access import LOCAL
from insight.scenarios.model import (
    CHITCHAT,
    OTHER,
    TRAINING_PARAMS,
    augment,
    dev_half,
    evaluate_dialogues,
    fit_pipeline,
    load_corpus,
    load_model,
    normalise,
    taxonomy,
    tokenize,
)
from insight.scenarios.store import (
    correct,
    corrections_for_training,
    scenario_chats,
    scenario_status,
    scenario_table,
    stale_notice,
)

from conftest import REPO, SHARED, Chat, load, messages_of, require_shared

DAY = dt.date(2024, 5, 10)


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_placeholders_become_single_tokens():
    order, emoji, phone, amount = "\ue002", "\ue001", "\ue005", "\ue006"
    assert normalise("订单[ORDERID_10124449]到哪了#E-s[数字x]") == f"订单 {order} 到哪了 {emoji}"
    assert normalise("我的电话13812345678，付了¥99.5") == f"我的电话 {phone} ,付了 {amount}"
    assert normalise("单号 773012345678901 查不到") == f"单号 {order} 查不到"
    assert normalise("<订单号> 好的<表情>") == f"{order} 好的 {emoji}"
    assert tokenize("<订单号>到哪了")[0] == order
    assert "补差价" in tokenize("降价了能补差价吗") and "价保" in tokenize("申请价保")


def test_taxonomy_travels_with_the_project_and_the_corpus_covers_it():
    tax = taxonomy()
    assert len(tax.codes) == 41 and OTHER in tax.codes
    assert all(tax.descriptions[c] for c in tax.codes)
    if (SHARED / "scenarios" / "taxonomy.csv").exists():
        with open(SHARED / "scenarios" / "taxonomy.csv", encoding="utf-8") as fh:
            shared = {r["code"]: (r["l1"], r["l2"], r["l3"]) for r in csv.DictReader(fh)}
        assert shared == tax.names
    counts = {}
    for _, code in load_corpus():
        counts[code] = counts.get(code, 0) + 1
    assert set(counts) == set(tax.codes) | {CHITCHAT}
    assert min(counts.values()) >= 15 and counts[CHITCHAT] >= 100


def test_corpus_errors_name_the_line(tmp_path):
    bad = tmp_path / "c.txt"
    bad.write_text("## nope.nope\n你好\n", encoding="utf-8")
    with pytest.raises(Exception, match="第 1 行"):
        load_corpus(bad)


def test_augmentation_is_deterministic_and_keeps_labels():
    pairs = [("能开发票吗", "order.invoice.issue"), ("好的", CHITCHAT), ("多久到", "logistics.delivery.eta")]
    a, b = augment(pairs, 5, seed=1), augment(pairs, 5, seed=1)
    assert a == b and len(a) == 18 and a[:3] == pairs
    assert {code for _, code in a} == {code for _, code in pairs}


def test_the_classifier_is_the_average_of_its_bag_members():
    """Each member is fitted on the corpus augmented with its own seed, over the first member's vocabulary;
    the shipped classifier's log-odds are their mean (checked against members fitted here by hand)."""
    from sklearn.base import clone

    corpus = [("能开发票吗", "order.invoice.issue"), ("发票开错了", "order.invoice.issue"), ("好的", CHITCHAT),
              ("谢谢", CHITCHAT), ("多久到", "logistics.delivery.eta"), ("什么时候能到", "logistics.delivery.eta")]
    corrections = [("票呢", "order.invoice.issue")]
    pipeline, n_examples = fit_pipeline(corrections, corpus=corpus, seed=5)
    features, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    members = []
    for member in range(TRAINING_PARAMS["bag"]):
        texts, labels = zip(*(augment(corpus, TRAINING_PARAMS["augment"], seed=5 + member) + corrections * 3))
        members.append(clone(clf).fit(features.transform(list(texts)), list(labels)))
    assert TRAINING_PARAMS["bag"] > 1 and n_examples == len(corpus) * (1 + TRAINING_PARAMS["augment"]) + 3
    assert np.allclose(clf.coef_, np.mean([m.coef_ for m in members], axis=0))
    assert np.allclose(clf.intercept_, np.mean([m.intercept_ for m in members], axis=0))
    assert not np.allclose(members[0].coef_, members[1].coef_)  # the seeds really differ
    assert list(pipeline.predict(["发票能开吗", "几天能到"])) == ["order.invoice.issue", "logistics.delivery.eta"]


@pytest.mark.parametrize("text,code", [
    ("我买的手机降价了 能补差价吗", "price.protection.refund_difference"),
    ("能开增值税专用发票吗 公司报销用", "order.invoice.issue"),
    ("快递三天没更新了 到哪了", "logistics.delivery.tracking"),
    ("收到的杯子是碎的 包装也破了", "logistics.receipt.exception"),
    ("身高170体重130斤穿什么码", "product.spec.size"),
    ("退款什么时候到账", "aftersale.refund.progress"),
    ("转人工 我要找真人客服", "service.contact.human"),
])
def test_clear_chats_get_their_scenario_with_consistent_levels_and_triggers(model, text, code):
    chat = [{"role": "buyer", "content": "你好 在吗"}, {"role": "agent", "content": "在的亲"},
            {"role": "buyer", "content": text}, {"role": "buyer", "content": "好的谢谢"}]
    result = model.classify([chat])[0].to_dict("x")
    assert result["scenario"] == code
    assert (result["l1"], result["l2"], result["l3"]) == taxonomy().levels(code)
    assert 0 < result["confidence"] <= 1
    assert [t["index"] for t in result["triggers"]] == [2]
    trigger = result["triggers"][0]
    assert trigger["text"] == text and trigger["score"] > 0
    assert trigger["tokens"] and all(t["token"] in text.lower() for t in trigger["tokens"][:2])


def test_chit_chat_only_is_other_with_no_confidence(model):
    results = model.classify([[{"role": "buyer", "content": "在吗"}, {"role": "buyer", "content": "[ORDERID_1234567]"},
                               {"role": "buyer", "content": "好的谢谢"}], [], [{"role": "agent", "content": "您好"}]])
    assert [(r.code, r.confidence, r.triggers) for r in results] == [(OTHER, 0.0, [])] * 3


def test_classify_cli_contract(tmp_path):
    lines = [{"id": "a", "messages": [{"role": "buyer", "content": "这个有黑色的吗"}, {"role": "agent", "content": "有的"}]},
             {"id": 7, "messages": [{"role": "system", "content": "会话开始"}, {"role": "buyer", "content": "发票开错了 重开一下"}]}]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "insight", "classify", "--input", str(src)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [json.loads(x) for x in out]
    assert [r["id"] for r in rows] == ["a", 7]
    for r in rows:
        assert {"id", "scenario", "l1", "l2", "l3", "confidence", "triggers"} <= set(r)
        for t in r["triggers"]:
            assert {"index", "text", "score"} <= set(t)
    assert rows[1]["scenario"] == "order.invoice.modify" and rows[1]["triggers"][0]["index"] == 1
    piped = subprocess.run([sys.executable, "-m", "insight", "classify"], cwd=REPO, input=src.read_text(encoding="utf-8"),
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert [json.loads(x)["scenario"] for x in piped] == [r["scenario"] for r in rows]
    bad = subprocess.run([sys.executable, "-m", "insight", "classify"], cwd=REPO, input='{"id": 1}\n',
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "第 1 行" in bad.stderr


def test_evaluate_cli_prints_levels_and_confusions(tmp_path):
    rows = [{"id": "1", "scenario": "order.invoice.issue", "messages": [{"role": "buyer", "content": "能开发票吗"}]},
            {"id": "2", "scenario": "logistics.delivery.eta", "messages": [{"role": "buyer", "content": "几天能到北京"}]}]
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "insight", "evaluate", "--data", str(path), "--json"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["n"] == 2 and set(result["levels"]) == {"1", "2", "3"}
    assert result["levels"]["3"]["accuracy"] == 1.0


# -- store --------------------------------------------------------------------------------------------
def _scenario_store(tmp_path):
    chats = [Chat("c1", "b1").buyer("10:00:00", "我的快递三天没更新了 到哪了").agent("10:00:10", "帮您查下"),
             Chat("c2", "b2").buyer("11:00:00", "能开增值税专票吗").agent("11:00:20", "可以的"),
             Chat("c3", "b3").buyer("12:00:00", "在吗").agent("12:00:05", "在的")]
    evals = [{"session_id": s, "shop_id": "S1", "buyer_id": b, "invited_by": "agent", "invited_at": f"2024-05-10 {h}:30:00",
              "rating": r, "rated_at": f"2024-05-10 {h}:31:00"}
             for s, b, h, r in (("c1", "b1", 10, 2), ("c2", "b2", 11, 5), ("c3", "b3", 12, 4))]
    return load(tmp_path, messages=messages_of(*chats), evaluations=evals)


def test_import_classifies_every_session_and_builds_scenario_parts(tmp_path):
    store = _scenario_store(tmp_path)
    rows = dict(store.con.execute("SELECT session_id, code FROM session_scenarios").fetchall())
    assert rows == {"c1": "logistics.delivery.tracking", "c2": "order.invoice.issue", "c3": OTHER}
    assert store.con.execute("SELECT sum(ev_invited), sum(ev_rated), sum(ev_r4 + ev_r5) FROM parts_scenario").fetchone() \
        == (3, 3, 2)
    period = Period(DAY, DAY)
    table = scenario_table(store.con, "S1", ["S1"], period, Filters(), 1, taxonomy(), viewer=LOCAL).set_index("key")
    assert table.loc["logistics", "satisfaction"] == 0 and table.loc["order", "share"] == pytest.approx(1 / 3)
    assert table["peer_sat_avg"].isna().all()  # one shop is not a peer group
    chats = scenario_chats(store.con, "S1", period, Filters(), "logistics", viewer=LOCAL)
    assert list(chats["session_id"]) == ["c1"]
    assert json.loads(chats["triggers"][0])[0]["index"] == 0


def test_the_page_says_how_many_sessions_an_older_model_decided_and_how_many_none(tmp_path, model):
    store = _scenario_store(tmp_path)
    current = scenario_status(store.con, model.version)
    assert (current["classified"], current["current"], current["sessions"]) == (3, 3, 3)
    assert stale_notice(current, model.label) is None
    store.con.execute("UPDATE session_scenarios SET model_version = 'old' WHERE session_id = 'c1'")
    store.con.execute("DELETE FROM session_scenarios WHERE session_id = 'c2'")
    status = scenario_status(store.con, model.version)
    assert (status["classified"], status["current"], status["sessions"]) == (2, 1, 3)
    assert stale_notice(status, "今天训练") == ("1 个会话的场景由旧模型判定，1 个会话尚未判定（共 3 个会话）；"
                                              "当前模型为 今天训练，重新判定后本页按它统计。")
    store.con.execute("DELETE FROM session_scenarios WHERE session_id <> 'c1'")
    assert stale_notice(scenario_status(store.con, model.version), "M").startswith("1 个会话的场景由旧模型判定，2 个会话尚未判定")


def test_a_correction_wins_everywhere_and_feeds_the_next_training(tmp_path, model):
    store = _scenario_store(tmp_path)
    correct(store.con, "S1", "c1", "aftersale.quality.missing", taxonomy())
    period = Period(DAY, DAY)
    table = scenario_table(store.con, "S1", ["S1"], period, Filters(), 3, taxonomy(), viewer=LOCAL).set_index("key")
    assert "logistics.delivery.tracking" not in table.index
    assert table.loc["aftersale.quality.missing", "evaluated"] == 1
    assert corrections_for_training(store.con, model) == [("我的快递三天没更新了 到哪了", "aftersale.quality.missing")]
    with pytest.raises(Exception, match="未知场景"):
        correct(store.con, "S1", "c1", "nope", taxonomy())


def test_scenario_parts_filter_like_the_metric_parts(tmp_path):
    store = _scenario_store(tmp_path)
    period = Period(DAY, DAY)
    engine_invited = MetricEngine(store).compute("S1", period, Filters(channel="manual"))["invited_sessions"].value
    table = scenario_table(store.con, "S1", ["S1"], period, Filters(channel="manual"), 1, taxonomy(), viewer=LOCAL)
    assert table["evaluated"].sum() == engine_invited == 3


# -- dev set ----------------------------------------------------------------------------------------
DEV = SHARED / "scenarios" / "jddc_dev.jsonl"


def test_dev_set_accuracy_does_not_regress(model):
    """Real JD dialogues the model never saw. Targets are 0.75 (level 1) and 0.60 (level 3), on the
    protocol's untouched half (no decision since the protocol began was judged on it): reached 0.763 / 0.706 / 0.627 there, and
    0.785 / 0.694 / 0.615 on all 330 (README). Each guard is two or three dialogues below its figure, so
    a BLAS build that breaks a near-tie differently does not fail the suite while a real regression does."""
    require_shared(DEV)
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    levels = {k: v["accuracy"] for k, v in evaluate_dialogues(model, rows)["levels"].items()}
    untouched = [r for r in rows if dev_half(r["id"]) == "untouched"]
    held_out = {k: v["accuracy"] for k, v in evaluate_dialogues(model, untouched)["levels"].items()}
    print("dev-set accuracy", levels, "untouched half", held_out)
    assert len(untouched) == 177
    assert levels[1] >= 0.775 and levels[2] >= 0.685 and levels[3] >= 0.605
    assert held_out[1] >= 0.75 and held_out[3] >= 0.60


def test_counting_then_weighting_equals_the_vectorizer(model):
    """Session decoding sums a chat's turn counts before tf-idf weighting, through public scikit-learn
    halves of each fitted vectorizer that read normalised text: they must give exactly what the
    vectorizer gives on the raw text."""
    texts = ["快递到哪了 三天没更新", "能开专票吗", "好的", "身高170体重130斤穿什么码 谢谢", "ＡＢＣ订单[ORDERID_1]呢？？"]
    feats = model.pipeline.named_steps["features"]
    for (_, vec), (counter, weighting) in zip(feats.transformer_list, model._counting):
        whole = vec.transform(texts)
        halves = weighting.transform(counter.transform([normalise(t) for t in texts]))
        assert abs(whole - halves).max() < 1e-12


_CHAT_TEXT = st.lists(st.sampled_from(list("我想问下快递到哪了发票能开专票吗好的谢谢退货换货尺码170ab ，。？！~#%-_.\n")
                                      + ["[ORDERID_12]", "#E-s[数字x]", "<订单号>", "亲亲", "在吗"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_CHAT_TEXT)
def test_tokens_cut_block_by_block_equal_jieba_on_the_sentence(text):
    """Words are cut per jieba block and cached per block (blocks repeat far more than sentences): the
    words must be exactly those jieba gives for the whole normalised sentence."""
    from insight.scenarios.model import _PUNCT, _tokenizer

    normalised = normalise(text)
    whole = [t for t in _tokenizer().lcut(normalised, HMM=False) if t.strip() and not _PUNCT.match(t)]
    assert tokenize(text) == whole


def test_worst_scenarios_rank_by_shrunk_satisfaction():
    """A week of one shop (S040-like): the scenario where 3 of 3 buyers were unhappy ranks first, ahead of
    a 1-of-1 and of large samples a little below the shop; a scenario without a bad rating is never
    "worst"; 其他 is never ranked."""
    from insight.scenarios.store import worst_scenarios

    table = pd.DataFrame({
        "key": ["pre.stock.ask", "after.transfer.human", "after.refund.speed", "pre.size.ask", "log.ship.when",
                OTHER, "pre.price.coupon"],
        "sat_k": [0, 0, 30, 40, 1, 0, 5], "sat_n": [1, 3, 40, 45, 4, 10, 5]})
    table["rated"] = table["sat_n"]
    worst = worst_scenarios(table, top=4)
    assert worst["key"].iloc[0] == "after.transfer.human"
    assert "pre.price.coupon" not in set(worst["key"]) and OTHER not in set(worst["key"])  # 5/5: no bad rating
    assert (worst["bad"] > 0).all() and (worst["lo"] <= worst["estimate"]).all() and (worst["estimate"] <= worst["hi"]).all()
    # the shrunk estimates lie between each scenario's own rate and the shop's
    own = worst["sat_k"] / worst["sat_n"]
    assert ((worst["estimate"] - own) * (worst["prior"] - worst["estimate"]) >= -1e-12).all()
    assert worst["prior"].iloc[0] == pytest.approx(76 / 108)
    first = worst.iloc[0]  # 0 of 3: its own rate, Wilson's interval, and 3 − 3·(32/108) more unsatisfied than expected
    assert first["rate"] == 0 and first["rate_lo"] == 0 and first["rate_hi"] == pytest.approx(0.5615, abs=1e-4)
    assert first["excess_bad"] == pytest.approx(3 - 3 * 32 / 108)
    # never empty while some rating is bad, however few ratings there are
    tiny = pd.DataFrame({"key": ["a.b.c", "d.e.f"], "sat_k": [1, 0], "sat_n": [1, 1], "rated": [1, 1]})
    assert list(worst_scenarios(tiny)["key"]) == ["d.e.f"]
    assert worst_scenarios(tiny.assign(sat_k=[1, 1])).empty  # all satisfied: nothing is "worst"


def test_scenario_tree_puts_parents_first_and_sorts_by_volume():
    from insight.scenarios.store import scenario_tree

    l1 = pd.DataFrame({"key": ["a", "b"], "evaluated": [5, 9]})
    l2 = pd.DataFrame({"key": ["a.x", "a.y", "b.z"], "evaluated": [1, 4, 9]})
    tree = scenario_tree([l1, l2])
    assert list(tree["key"]) == ["b", "b.z", "a", "a.y", "a.x"] and list(tree["level"]) == [1, 2, 1, 2, 2]


def test_parallel_and_unexplained_classification_give_the_same_scenarios(model, monkeypatch):
    """Bulk classification forks the loaded model onto the cores and stores triggers without their words:
    the same codes, confidences and trigger turns as one process with words."""
    from insight.scenarios import model as scenarios
    from insight.scenarios.store import scenario_workers

    corpus = scenarios.load_corpus()
    chats = [[{"role": "buyer", "content": corpus[i % len(corpus)][0]}, {"role": "agent", "content": "好的"},
              {"role": "buyer", "content": corpus[(i * 7) % len(corpus)][0]}] for i in range(1200)]
    one = model.classify(chats)
    forked = model.classify_parallel(chats, workers=2, explain=False)
    assert [r.code for r in forked] == [r.code for r in one]
    assert [r.confidence for r in forked] == pytest.approx([r.confidence for r in one])
    assert [[t.index for t in r.triggers] for r in forked] == [[t.index for t in r.triggers] for r in one]
    assert all(not t.tokens for r in forked for t in r.triggers) and any(t.tokens for r in one for t in r.triggers)
    monkeypatch.setenv("INSIGHT_SCENARIO_WORKERS", "0")
    assert scenario_workers() >= 1
    monkeypatch.setenv("INSIGHT_SCENARIO_WORKERS", "x")
    assert scenario_workers() == 1
