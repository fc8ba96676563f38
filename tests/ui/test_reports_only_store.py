"""A shop whose chats are not exported: a store of platform reports alone (issue 25). Every page opens; the
figures that need chats say so instead of showing 0."""

from pathlib import Path

import pytest

from insight.ingest.importer import import_paths
from insight.store import Store

LAYOUTS = Path(__file__).resolve().parents[1] / "ingest" / "layouts"
PAGES = ["pages/home.py", "pages/overview.py", "pages/satisfaction.py", "pages/capability.py", "pages/agents.py",
         "pages/scenarios.py", "pages/data.py"]


@pytest.fixture(scope="module")
def reports_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports_only")
    (folder / "shops.csv").write_text("shop_id,shop_name,platform,category,tier\nS001,云朵旗舰店,douyin,服饰,3\n",
                                      encoding="utf-8")
    db = folder / "store.duckdb"
    with Store(db) as store:
        import_paths(store, [folder / "shops.csv", *(LAYOUTS / "feige_agent_performance").glob("*.xlsx")],
                     classify=False)
    return db


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_a_store_of_reports_alone(open_app, reports_db, page):
    at = open_app(reports_db, page, {"shop": "S001", "period": "custom", "start": "2026-11-09", "end": "2026-11-09"})
    text = " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.warning])
    if page not in ("pages/home.py", "pages/data.py"):  # what it holds, and that its figures need chats
        assert "已导入平台客服报表数字 110 个" in text and "还没有聊天记录" in text, text
