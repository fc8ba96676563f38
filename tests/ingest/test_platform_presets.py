"""Each built-in platform preset, on an export built from the demo with that platform's headers and
values (CSV UTF-8, CSV GBK, XLSX), imports to the same metrics as the same data in DATA.md form."""

from __future__ import annotations

import pandas as pd
import pytest

from insight import Filters, MetricEngine, Period, Store, import_paths
from insight.demo.generator import DemoConfig, write_demo
from insight.ingest.mapping import builtin_presets

SHOP = "S001"
PRESETS = list(builtin_presets())
FORMATS = ("csv", "gbk", "xlsx")
ZH = {
    "sender_role": {"buyer": "用户", "agent": "客服", "robot": "机器人", "system": "系统"},
    "invited_by": {"agent": "客服邀评", "buyer": "买家自主", "system": "系统邀评"},
    "rating": {"1": "非常不满意", "2": "不满意", "3": "一般", "4": "满意", "5": "非常满意"},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder, DemoConfig(shops=1, days=8, seed=12, sessions_per_day=12))
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in folder.glob("*.csv")}


def _gap_sessions(messages: pd.DataFrame) -> pd.Series:
    """METRICS.md's rule, computed here independently: a buyer's messages stay in one session until a
    gap longer than 30 minutes."""
    m = messages.assign(_t=pd.to_datetime(messages["sent_at"]), _i=range(len(messages)))
    m = m.sort_values(["buyer_id", "_t", "_i"])
    opens = (m["buyer_id"] != m["buyer_id"].shift()) | (m["_t"] - m["_t"].shift() > pd.Timedelta(minutes=30))
    return ("g" + opens.cumsum().astype(str)).reindex(messages.index)


def _write(frame: pd.DataFrame, path_stem, fmt: str):
    if fmt == "xlsx":
        path = path_stem.with_suffix(".xlsx")
        frame.to_excel(path, index=False)
    else:
        path = path_stem.with_suffix(".csv")
        frame.to_csv(path, index=False, encoding="gb18030" if fmt == "gbk" else "utf-8")
    return path


def _export(frame: pd.DataFrame, preset: dict, shop_name: str) -> pd.DataFrame:
    """``frame`` (DATA.md columns) as the platform writes it: the preset's headers, Chinese values."""
    out = pd.DataFrame(index=frame.index)
    mapping = preset["mapping"]
    nicknames = "receiver" in mapping
    for column, header in mapping.items():
        if column == "receiver":
            out[header] = frame["buyer_id"].where(frame["sender_role"] != "buyer", shop_name)
        elif column == "sender_role" and nicknames:
            who = {"buyer": frame["buyer_id"], "agent": shop_name + ":" + frame["agent_id"],
                   "robot": pd.Series(shop_name + ":店小蜜", index=frame.index),
                   "system": pd.Series("系统", index=frame.index)}
            out[header] = [who[r][i] for i, r in zip(frame.index, frame["sender_role"])]
        else:
            out[header] = frame[column].map(lambda v, c=column: ZH.get(c, {}).get(v, v))
    return out


def _metrics(store) -> dict:
    first, last = store.data_range()
    report = MetricEngine(store).report(SHOP, Period(first, last), Filters())
    return {k: (round(v, 9) if isinstance(v, float) else v) for k, v in report["metrics"].items()}


def _import(tmp_path, tag: str, tables: dict, export=None, fmt="csv") -> Store:
    folder = tmp_path / tag
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    store = Store(None)
    paths = [folder]
    if export is not None:
        paths.append(_write(export, tmp_path / f"{tag}-平台导出", fmt))
    report = import_paths(store, paths, shop=SHOP, classify=False)
    assert report.rejected == 0, report.summary()
    return store


@pytest.mark.parametrize("key", PRESETS, ids=[f"{n}" for n, _ in PRESETS])
def test_a_platform_export_imports_like_data_md(demo, tmp_path, key):
    name, table = key
    preset = builtin_presets()[key]
    fmt = FORMATS[PRESETS.index(key) % len(FORMATS)]
    base = {"shops": demo["shops"], "agents": demo["agents"], "orders": demo["orders"]}
    if table == "messages":
        messages = demo["messages"].copy()
        if "session_id" not in preset["mapping"]:
            messages["session_id"] = _gap_sessions(messages)
        reference = {**base, "messages": messages}
        export = _export(demo["messages"], preset, demo["shops"]["shop_name"].iloc[0])
        rest = base
    else:
        reference = {k: v for k, v in demo.items() if k != "demo"}
        rest = {k: v for k, v in reference.items() if k != table}
        export = _export(demo[table], preset, demo["shops"]["shop_name"].iloc[0])
    ref = _import(tmp_path, "ref", reference)
    got = _import(tmp_path, "got", rest if table != "messages" else base, export, fmt)
    assert got.row_count(table) == ref.row_count(table)
    assert _metrics(got) == _metrics(ref)


def test_the_export_is_recognised_and_its_preset_named(demo, tmp_path):
    preset = builtin_presets()[("淘宝/天猫 订单", "orders")]
    export = _export(demo["orders"], preset, "云朵服饰小店")
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("shops", "agents", "messages"):
        demo[name].to_csv(folder / f"{name}.csv", index=False)
    export.to_csv(folder / "ExportOrderList.csv", index=False)
    report = import_paths(Store(None), [folder], shop=SHOP, classify=False)
    assert any("淘宝/天猫 订单" in n for n in report.notes), report.notes
    assert report.tables["orders"].rejected == 0


def test_every_built_in_preset_names_its_public_source():
    """Presets follow layouts public code writes or reads (issue 25): none without its source."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "insight" / "ingest" / "presets.yaml").read_text(encoding="utf-8")
    blocks = text.split("  - name: ")[1:]
    previous = text.split("  - name: ")
    for i, (name, _) in enumerate(PRESETS):
        comment = previous[i].rsplit("presets:", 1)[-1]
        assert "code index" in comment or "github" in comment.lower(), f"{name}: no source cited"
    assert len(blocks) == len(PRESETS)


def test_an_edited_preset_saved_in_the_store_wins(tmp_path):
    from insight.ingest.mapping import list_presets, load_preset, save_preset

    store = Store(None)
    key = ("淘宝/天猫 订单", "orders")
    assert key in list_presets(store.con, "orders")
    mapping = {**load_preset(store.con, *key), "created_at": "创建时间"}
    save_preset(store.con, key[0], "orders", mapping)
    assert list_presets(store.con, "orders").count(key) == 1
    assert load_preset(store.con, *key)["created_at"] == "创建时间"
    assert builtin_presets()[key]["mapping"]["created_at"] == "订单创建时间"
