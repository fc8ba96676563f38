"""Incremental derivation: importing a dataset in pieces (days in any order of arrival, overlaps,
exports without keys) gives exactly the derived tables of importing it at once."""

import random

import pandas as pd
import pytest

from insight import Store, import_paths
from insight.demo.generator import DemoConfig, write_demo

DERIVED = ("parts", "parts_sales", "parts_tags", "f_sessions", "f_shop_span")
# The time that decides which piece a row arrives in (a daily export cuts by it).
ARRIVAL = {"messages": "sent_at", "sessions": "started_at", "evaluations": "invited_at", "orders": "created_at",
           "refunds": "created_at", "escalations": "created_at"}


def _snapshot(store, tables=DERIVED) -> dict:
    out = {}
    for table in tables:
        rows = store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        # Money sums may add in another order: equal to the cent, not to the last bit.
        out[table] = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder, DemoConfig(shops=4, days=14, seed=3, sessions_per_day=5))
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")}


def _write(frames: dict, folder) -> None:
    folder.mkdir(parents=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def _pieces(frames: dict, rnd: random.Random, k: int, overlap: bool, bounds=None) -> list[dict]:
    """k daily-export-like pieces cut at random times (or at ``bounds``); with ``overlap`` each piece
    also repeats the last rows of the one before (exports that overlap)."""
    if bounds is None:
        times = pd.to_datetime(frames["messages"]["sent_at"])
        bounds = [pd.Timestamp(c) for c in sorted(rnd.uniform(times.min().value, times.max().value)
                                                  for _ in range(k - 1))]
    pieces = [{"shops": frames["shops"], "agents": frames["agents"]} for _ in range(k)]
    for name, column in ARRIVAL.items():
        if name not in frames:
            continue
        frame = frames[name]
        at = pd.to_datetime(frame[column])
        which = sum((at >= b).astype(int) for b in bounds)
        for i in range(k):
            part = frame[which == i]
            if overlap and i:
                part = pd.concat([frame[which == i - 1].tail(7), part])
            pieces[i][name] = part
    return pieces


def _import_pieces(pieces, tmp_path, tag: str, classify: bool = False):
    store = Store(None)
    for i, piece in enumerate(pieces):
        folder = tmp_path / f"{tag}-{i}"
        _write(piece, folder)
        import_paths(store, [folder], classify=classify)
    return store


@pytest.mark.parametrize("seed, k, overlap", [(1, 2, False), (2, 3, True), (3, 5, False)])
def test_import_in_pieces_equals_import_at_once(demo, tmp_path, seed, k, overlap):
    whole = _import_pieces([demo], tmp_path, "whole")
    pieced = _import_pieces(_pieces(demo, random.Random(seed), k, overlap), tmp_path, "pieces")
    assert _snapshot(pieced) == _snapshot(whole)
    assert pieced.row_count("messages") == whole.row_count("messages")


def test_pieces_arriving_out_of_order_and_gap_rule_sessions(demo, tmp_path):
    """Exports without message or session ids (sessions cut by the gap rule), the later days first."""
    frames = {name: frame for name, frame in demo.items() if name not in ("sessions", "evaluations")}
    frames["messages"] = demo["messages"].drop(columns=["message_id", "session_id"])
    whole = _import_pieces([frames], tmp_path, "whole")
    pieces = _pieces(frames, random.Random(7), 4, overlap=True)
    pieced = _import_pieces(pieces[::-1], tmp_path, "pieces")
    assert _snapshot(pieced) == _snapshot(whole)


def test_a_daily_import_derives_only_its_window(demo, tmp_path):
    """One more day re-derives the days it can change, not the shop's history: the stored rows of
    the early days are the very same rows (not deleted and written again)."""
    last = pd.to_datetime(demo["messages"]["sent_at"]).max().normalize()
    pieces = _pieces(demo, random.Random(4), 2, overlap=False, bounds=[last])
    store = _import_pieces(pieces[:1], tmp_path, "first")
    first_day = store.con.execute("SELECT min(day) FROM parts").fetchone()[0]
    rowids = store.con.execute("SELECT rowid FROM parts WHERE day = ? ORDER BY rowid", [first_day]).fetchall()
    _write(pieces[1], tmp_path / "second")
    report = import_paths(store, [tmp_path / "second"], classify=False)
    assert report.affected_shops
    assert store.con.execute("SELECT rowid FROM parts WHERE day = ? ORDER BY rowid", [first_day]).fetchall() == rowids


def test_scenarios_of_sessions_completed_by_a_later_piece_are_classified_again(demo, tmp_path):
    tables = ("session_scenarios", "parts_scenario")
    whole = _import_pieces([demo], tmp_path, "whole", classify=True)
    pieced = _import_pieces(_pieces(demo, random.Random(11), 3, overlap=True), tmp_path, "pieces", classify=True)
    assert _snapshot(pieced, tables) == _snapshot(whole, tables)


def test_deferred_derivations_of_several_pieces_derived_at_once_equal_import_at_once(demo, tmp_path):
    """Live events commit rows and record what to derive (derive_pending); the writer derives many
    such commits at once — or a later file import folds them into its own derivation."""
    from insight import import_sources
    from insight.derive import refresh_pending
    from insight.ingest.readers import discover
    from insight.store import transaction

    whole = _import_pieces([demo], tmp_path, "whole")
    pieces = _pieces(demo, random.Random(5), 4, overlap=True)
    for fold_into_import in (False, True):
        store = _import_pieces(pieces[:1], tmp_path, f"first-{fold_into_import}")
        for i, piece in enumerate(pieces[1:3]):
            folder = tmp_path / f"deferred-{fold_into_import}-{i}"
            _write(piece, folder)
            import_sources(store, discover([folder])[0], classify=False, defer_derive=True)
        assert store.row_count("derive_pending") >= 2
        if not fold_into_import:
            with transaction(store.con):
                assert refresh_pending(store.con, store.settings)
        _write(pieces[3], tmp_path / f"last-{fold_into_import}")
        import_paths(store, [tmp_path / f"last-{fold_into_import}"], classify=False)
        assert store.row_count("derive_pending") == 0
        assert _snapshot(store) == _snapshot(whole), fold_into_import
