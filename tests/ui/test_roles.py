"""Each role on every page (AppTest): what is shown, what is refused. The viewer is set in-process,
where the server's cookie check would put it."""

import pytest

from insight import Store
from insight.core.access import Viewer
from insight.ui import auth

SUPERVISOR = Viewer("lead", "supervisor", frozenset({"S001", "S002"}))
AGENT = Viewer("xiaoyi", "agent", frozenset({"S001"}), agent_id="S001-A01")
ANALYSIS = ["pages/satisfaction.py", "pages/capability.py", "pages/agents.py", "pages/agent.py", "pages/scenarios.py"]


@pytest.fixture
def as_viewer(monkeypatch, open_app):
    def run(viewer, db, page, params=None):
        monkeypatch.setattr(auth, "_viewer_for_tests", viewer)
        return open_app(db, page, params)
    return run


@pytest.mark.parametrize("page", ANALYSIS)
def test_supervisor_sees_only_granted_shops(demo_db, as_viewer, page):
    at = as_viewer(SUPERVISOR, demo_db, page, {"shop": "S002"})
    assert not at.error, [e.value for e in at.error]
    shops = at.selectbox(key="shop")
    with Store(demo_db) as store:  # (the app in this process has the file open for writing)
        names = dict(store.con.execute("SELECT shop_id, shop_name FROM shops").fetchall())
    assert shops.value == "S002"
    assert sorted(o.split("（")[0] for o in shops.options) == [f"{names[s]} · {s}" for s in ("S001", "S002")]


@pytest.mark.parametrize("page", ANALYSIS)
def test_a_link_to_another_shop_shows_no_right_and_nothing_of_it(demo_db, as_viewer, page):
    at = as_viewer(SUPERVISOR, demo_db, page, {"shop": "S003"})
    assert any("无权查看" in e.value for e in at.error)
    assert not at.metric and not at.get("plotly_chart") and not at.get("download_button")
    assert "S003" not in " ".join(str(o) for s in at.selectbox for o in s.options)


def test_supervisor_home_counts_only_their_shops(demo_db, as_viewer):
    at = as_viewer(SUPERVISOR, demo_db, "pages/home.py")
    assert not at.error
    shown = {m.label: m.value for m in at.metric}
    assert any(v == "2" for v in shown.values()), shown  # 店铺数 of the overview


def test_data_page_is_the_admins(demo_db, as_viewer):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        as_viewer(SUPERVISOR, demo_db, "pages/data.py")


def test_agent_sees_their_own_figures_only(demo_db, as_viewer):
    at = as_viewer(AGENT, demo_db, "pages/agent.py")
    assert not at.error, [e.value for e in at.error]
    options = at.selectbox(key="agent").options
    assert len(options) == 1 and "S001-A01" in options[0]
    assert at.selectbox(key="agent").value == "S001-A01"
    assert not [b for b in at.get("download_button") if "周报" in b.proto.label]  # the whole shop's report
    at = as_viewer(AGENT, demo_db, "pages/agent.py", {"agent": "S001-A02"})
    assert any("无权查看" in e.value for e in at.error) and not at.metric


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/satisfaction.py", "pages/capability.py",
                                  "pages/agents.py", "pages/scenarios.py", "pages/data.py", "pages/accounts.py"])
def test_agent_has_no_shop_pages(demo_db, as_viewer, page):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        as_viewer(AGENT, demo_db, page)


def test_a_supervisor_granted_imports_gets_the_data_page_for_their_shops(demo_db, as_viewer):
    importer = Viewer("lead", "supervisor", frozenset({"S001", "S002"}), can_import=True)
    at = as_viewer(importer, demo_db, "pages/data.py")
    assert not at.error, [e.value for e in at.error]
    assert "授权店铺（S001、S002）" in " ".join(c.value for c in at.caption)
    assert not any(b.key == "load_demo" for b in at.button)  # the demo is the admin's
    assert {m.value for m in at.metric if m.label == "店铺"} == {"2"}


def test_agent_home_shows_their_shop_and_their_pages_only(demo_db, as_viewer):
    at = as_viewer(AGENT, demo_db, "pages/home.py")
    assert not at.error
    assert {m.value for m in at.metric if m.label == "店铺数"} == {"1"}
    links = " ".join(str(el.proto) for el in at.get("page_link"))
    assert "客服个人" in links and "满意度监测" not in links and "数据管理" not in links
