"""ui.boot keeps st.navigation in charge of a pages/ folder through one private Streamlit switch
(``PagesManager.uses_pages_directory``); no supported setting does this in Streamlit 1.67. This test
fails when an upgrade removes or renames the switch; tests/e2e/test_browser_payloads.py opens a deep
link (/scenarios?…) as the first request of a fresh server, which is what the switch is for."""

from streamlit.runtime.pages_manager import PagesManager

from insight.ui import boot


def test_the_private_switch_still_exists():
    assert hasattr(PagesManager, "uses_pages_directory")
    assert isinstance(PagesManager.uses_pages_directory, (bool, type(None)))


def test_require_navigation_is_the_only_user_of_the_switch():
    from conftest import REPO

    users = [p for p in (REPO / "insight").rglob("*.py") if "uses_pages_directory" in p.read_text(encoding="utf-8")]
    users += [p for p in (REPO / "pages").glob("*.py") if "uses_pages_directory" in p.read_text(encoding="utf-8")]
    assert users == [REPO / "insight" / "ui" / "boot.py"]
    assert callable(boot.require_navigation)
