"""Learning from a shop's corrections: which chats are asked about (uncertain, common, varied), corrections
taken in bulk (all or none, each refusal naming its line), and the command line's contract."""

import json

import numpy as np
import pytest

from insight.cli import main
from insight.core.errors import UsageError
from insight.scenarios.learning import _selection, correct_many, suggest
from insight.scenarios.model import load_model, shipped_model_path, taxonomy
from insight.scenarios.store import classify_sessions

from conftest import Chat, fingerprint, load, messages_of

SURE = "我买的衣服什么时候发货？快递单号多少？"  # logistics, nothing else
TORN = "这个尺码怎么选，快递什么时候到"  # size and delivery in one question: the model hesitates


def _store(tmp_path, db=None):
    chats = [Chat(f"sure{i}", f"b{i}").buyer("10:00:00", SURE).agent("10:00:20", "亲，今天发出") for i in range(6)]
    chats += [Chat(f"torn{i}", f"t{i}").buyer("11:00:00", TORN + "？" * i).agent("11:00:30", "亲，偏大一码") for i in range(6)]
    chats += [Chat("hello", "h").buyer("12:00:00", "在吗").agent("12:00:05", "在的")]
    store = load(tmp_path, db, messages=messages_of(*chats))
    classify_sessions(store.con, load_model())
    return store


def test_the_chats_asked_about_are_the_uncertain_common_ones_and_not_copies(tmp_path):
    store = _store(tmp_path)
    picked = suggest(store.con, "S1", 3, load_model())
    assert picked[0]["session_id"].startswith("torn")  # the model hesitates there, and five others read alike
    assert picked[0]["margin"] < 0.1 and picked[0]["alike"] >= 4
    assert "hello" not in {p["session_id"] for p in picked}  # greetings only: nothing to learn from
    assert len(picked[0]["top"]) == 3 and all(t["code"] in taxonomy().names for t in picked[0]["top"])
    assert picked[0]["top"][0]["code"] == picked[0]["code"]
    # once answered, a chat is not asked about again
    correct_many(store.con, [{"session_id": picked[0]["session_id"], "code": "product.spec.size"}])
    assert picked[0]["session_id"] not in {p["session_id"] for p in suggest(store.con, "S1", 3, load_model())}


def test_the_selection_spreads_over_unlike_chats_and_scenarios():
    # chats 0–3 are one question in four copies (the most useful), 4 and 5 two others
    shares = np.array([[0.5, 0.5, 0], [0.5, 0.5, 0], [0.5, 0.5, 0], [0.5, 0.5, 0], [0.4, 0, 0.6], [0, 0.45, 0.55]])
    likeness = np.zeros((6, 6))
    likeness[:4, :4] = 0.95
    np.fill_diagonal(likeness, 0)
    picked = _selection(shares, likeness, 3)
    assert picked[0] in range(4) and set(picked[1:]) == {4, 5}  # one of the copies, then the others
    assert _selection(np.zeros((2, 3)), np.zeros((2, 2)), 2) == []  # nothing to go on: nothing asked


def test_corrections_in_bulk_are_all_or_none_and_refusals_name_the_line(tmp_path):
    db = tmp_path / "s.duckdb"
    _store(tmp_path, db).close()
    from insight import Store

    before = fingerprint(db)
    for rows, said in (([{"session_id": "sure0", "code": "logistics.delivery.tracking"},
                         {"session_id": "sure1", "code": "no.such.code"}], "第 2 行：未知场景代码"),
                       ([{"session_id": "sure0", "code": "logistics.delivery.tracking"},
                         {"session_id": "nobody", "code": "logistics.delivery.tracking"}], "第 2 行：没有会话"),
                       ([{"code": "logistics.delivery.tracking"}], "第 1 行应为")):
        with Store(db) as store, pytest.raises(UsageError, match=said):
            correct_many(store.con, rows)
    assert fingerprint(db) == before
    with Store(db) as store:
        assert correct_many(store.con, [{"session_id": "torn0", "code": "price.promotion.coupon"}]) == {"S1": 1}
        assert store.con.execute("SELECT code FROM scenario_corrections").fetchall() == [("price.promotion.coupon",)]


def test_the_command_line_suggests_takes_corrections_and_classifies_with_a_given_model(tmp_path, capsys, monkeypatch):
    import io

    db = tmp_path / "s.duckdb"
    _store(tmp_path, db).close()
    assert main(["scenarios", "suggest", "--db", str(db), "--shop", "S1", "--n", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and all({"session_id", "code", "top", "alike"} <= set(r) for r in rows)
    lines = "\n".join(json.dumps({"session_id": r["session_id"], "code": "product.spec.size"}) for r in rows)
    monkeypatch.setattr("sys.stdin", io.StringIO(lines + "\n"))
    assert main(["scenarios", "correct", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out)["corrected"] == 2
    monkeypatch.setattr("sys.stdin", io.StringIO('{"session_id": "sure0", "code": "x.y.z"}\n'))
    assert main(["scenarios", "correct", "--db", str(db)]) == 2
    assert "标准输入 第 1 行：未知场景代码" in capsys.readouterr().err
    assert main(["scenarios", "suggest", "--db", str(db), "--shop", "S9", "--n", "2"]) == 2
    # classify with the model file named, not the installed one
    chats = tmp_path / "chats.jsonl"
    chats.write_text(json.dumps({"id": "x", "messages": [{"role": "buyer", "content": SURE}]}) + "\n", encoding="utf-8")
    assert main(["classify", "--model", str(shipped_model_path()), "--input", str(chats)]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"].startswith("logistics.")
    assert main(["classify", "--model", str(tmp_path / "none.joblib"), "--input", str(chats)]) == 2
    assert "没有找到场景模型" in capsys.readouterr().err
