"""The app in a real browser: `streamlit run` on a free localhost port, Debian's Chromium driven
by Playwright. Opens every page and reads it as a user does, changes a filter through the sidebar,
downloads a CSV and checks it, uploads a file with platform headers, and saves screenshots to
tests/screenshots/."""

import json
import re
import shutil
import urllib.parse

import pytest

from browser import chromium, reading_problems, streamlit_server, upload_and_import, visit, wait_rendered
from conftest import REPO

SHOTS = REPO / "tests" / "screenshots"
# page → its path and the title it opens with (大屏 has none: it is a screen, not a page to read)
PAGES = {"home": ("", "服务洞察"), "live": ("live", "实时监控"), "bigscreen": ("bigscreen", None),
         "overview": ("overview", "店铺总览"), "satisfaction": ("satisfaction", "满意度监测"),
         "capability": ("capability", "服务能力诊断"), "agents": ("agents", "客服绩效"), "agent": ("agent", "客服个人"),
         "scenarios": ("scenarios", "咨询场景洞察"), "data": ("data", "数据管理"), "accounts": ("accounts", "账号与审计")}
CHARTED = ("satisfaction", "capability", "agents", "agent", "scenarios")


@pytest.fixture(scope="module")
def app_url(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "store.duckdb"  # a copy: the tests below import into it
    shutil.copy(demo_db, db)
    with streamlit_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(height=1400) as pg:
        yield pg


def test_every_page_opens_with_its_title_no_error_and_reads_in_chinese(app_url, page):
    """Read as a user reads it: no "None"/"nan", no Streamlit chrome in English (Deploy, the developer menu,
    "Made with Streamlit", uploader and selectbox defaults), no plotly toolbar in English, and no code where a
    name belongs (platform codes, table names, scenario codes, a model hash)."""
    problems = {}
    for name, (path, title) in PAGES.items():
        visit(page, app_url, path)
        if title:
            assert title in page.locator("h1").first.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0, name
        if name in CHARTED:
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
        if found := reading_problems(page):
            problems[name] = sorted(set(found))[:15]
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def test_a_sidebar_filter_changes_the_view_and_the_link(app_url, page):
    page.goto(f"{app_url}/satisfaction")
    wait_rendered(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("人工", exact=True).click()
    wait_rendered(page)
    page.wait_for_function("() => location.search.includes('channel=manual')", timeout=30_000)
    assert "人工" in page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
    link = page.url
    page.goto(link)  # the link reproduces the view in a new session
    wait_rendered(page)
    checked = page.locator('[data-testid="stSidebar"] [role="radiogroup"] input:checked').first
    assert checked.evaluate("e => e.closest('label').innerText").strip() == "人工"
    page.screenshot(path=str(SHOTS / "satisfaction-manual.png"), full_page=True)
    # typing a shop that matches nothing: 没有匹配项, not Streamlit's English "No results"
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input').first.click()
    page.keyboard.type("zzzz")
    page.wait_for_selector('[role="option"]:not([data-key]) > span', state="attached", timeout=10_000)
    assert "No results" not in page.inner_text("body")
    assert page.eval_on_selector('[role="option"]:not([data-key]) > span',
                                 "e => getComputedStyle(e, '::after').content") == '"没有匹配项"'
    page.keyboard.press("Escape")


def test_a_table_downloads_as_csv_with_its_content(app_url, page, tmp_path):
    page.goto(f"{app_url}/agents?" + urllib.parse.urlencode({"period": "last30"}))
    wait_rendered(page)
    button = page.get_by_role("button", name="下载 CSV").first
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith("客服绩效_S001_") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "agents.csv"
    download.save_as(path)
    text = path.read_bytes().decode("utf-8-sig")
    header, shop, first = text.splitlines()[:3]
    assert header.startswith("客服账号,客服,分组,咨询人数,接待人数")
    assert shop.startswith("（全店）,全店合计") and first.startswith("S001-A")  # the shop's row, then the agents'
    assert "满意率环比" in header


def test_the_page_report_reads_in_chromium(app_url, page, tmp_path):
    """导出本页 HTML 报告 of 满意度监测, opened as a file: axes with their tick labels ("80%", not a bare "%"),
    tables as the page shows them (percentages, integers, — for missing), nothing fetched."""
    page.goto(f"{app_url}/satisfaction?period=last30")
    wait_rendered(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="导出本页 HTML 报告").click()
    report = tmp_path / "report.html"
    info.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    assert 'src="http' not in html and "0.27777" not in html
    page.goto(report.as_uri())  # the same browser: the file opens offline
    page.wait_for_selector(".main-svg", timeout=60_000)
    ticks = page.eval_on_selector_all(".ytick text", "els => els.map(e => e.textContent)")
    assert any(t.endswith("%") and t[:-1].isdigit() for t in ticks)
    cells = page.eval_on_selector_all("td", "els => els.map(e => e.textContent)")
    assert any(re.fullmatch(r"\d+\.\d\d%", c) for c in cells) and not any(re.fullmatch(r"\d+\.0", c) for c in cells)
    page.screenshot(path=str(SHOTS / "satisfaction-report.png"), full_page=True)


def test_an_upload_with_platform_headers_gets_a_mapping(app_url, page, tmp_path):
    upload = tmp_path / "店铺导出.csv"
    upload.write_text("店铺编号,店铺名,平台,主营类目,店铺层级\nS001,云朵,taobao,服饰,3\n", encoding="utf-8")
    page.goto(f"{app_url}/data")
    wait_rendered(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("识别为 shops").wait_for(timeout=30_000)
    wait_rendered(page)
    assert page.get_by_role("button", name="开始导入 1 个文件").is_visible()
    # "选择文件" labels the uploader's add button only, not the file's remove button (it covered the name)
    after = "els => els.map(e => getComputedStyle(e, '::after').content)"
    assert set(page.eval_on_selector_all('[data-testid="stFileChipDeleteBtn"], [data-testid="stFileChipDeleteBtn"] *',
                                         after)) <= {"none", "normal"}
    assert '"选择文件"' in page.eval_on_selector_all('[data-testid="stFileUploaderDropzone"] button', after)
    page.screenshot(path=str(SHOTS / "data-upload.png"), full_page=True)


def test_a_platform_chat_export_imports_with_a_shop_picked(app_url, page, tmp_path):
    """Chinese headers, no message or session ids, no shop column: pick the shop, import, done."""
    upload = tmp_path / "聊天记录.csv"
    upload.write_text("买家昵称,客服账号,发送时间,消息内容,发送方\n"
                      "新买家甲,,2026-10-31 10:00:00,在吗,买家\n"
                      "新买家甲,S001-A01,2026-10-31 10:00:30,在的亲,客服\n", encoding="gb18030")
    page.goto(f"{app_url}/data")
    wait_rendered(page)
    upload_and_import(page, upload, "S001")
    page.screenshot(path=str(SHOTS / "data-platform-import.png"), full_page=True)
    assert page.get_by_text("导入失败").count() == 0


def test_a_scraped_qianniu_workbook_is_shown_as_it_will_be_imported_then_lands(app_url, page, tmp_path):
    """A real layout (tests/ingest/layouts/qianniu_scraped_xlsx): recognised by content, its first messages
    shown before anything is written, the day taken from the file name; then imported for the shop.
    Named for the demo's last day and imported for S002, so that the other tests' periods stay as they were."""
    path = tmp_path / "千牛聊天记录_10月31日.xlsx"
    shutil.copy(REPO / "tests" / "ingest" / "layouts" / "qianniu_scraped_xlsx" / "千牛聊天记录_11月9日.xlsx", path)
    page.goto(f"{app_url}/data")
    wait_rendered(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text("识别为千牛聊天记录（每位买家一行）").wait_for(timeout=30_000)
    wait_rendered(page)
    body = page.inner_text("body")
    assert "读取 32 条消息" in body and "年份按不晚于今天推断为" in body
    page.locator(".st-key-upload_shop input").first.click()
    page.get_by_role("option", name="S002").click()
    wait_rendered(page)
    page.screenshot(path=str(SHOTS / "data-layout-preview.png"), full_page=True)
    page.get_by_role("button", name="开始导入 1 个文件").click()
    page.get_by_text("导入完成，所有行都已接受").first.wait_for(timeout=120_000)
    wait_rendered(page, timeout_ms=120_000)
    assert page.get_by_text("各文件的读取情况").count() >= 1  # the per-file table (drawn on a canvas) and its caption
    page.screenshot(path=str(SHOTS / "data-layout-imported.png"), full_page=True)


def test_a_platform_report_without_a_date_asks_for_the_day_and_lands_as_platform_figures(app_url, page, tmp_path):
    """飞鸽客服数据: recognised as a platform report, no mapping step; the day is picked; the figures then
    show beside ours on 客服绩效."""
    upload = tmp_path / "飞鸽客服数据.csv"
    upload.write_text("客服昵称,人工已接待人数,人工已接待会话量,3分钟人工回复率(会话),满意率\n小美,40,50,92%,95%\n",
                      encoding="gb18030")
    page.goto(f"{app_url}/data")
    wait_rendered(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
    page.get_by_text("识别为平台客服报表").wait_for(timeout=30_000)
    wait_rendered(page)
    assert page.get_by_role("button", name="开始导入 1 个文件").is_disabled()  # no shop, no day yet
    page.locator(".st-key-upload_shop input").first.click()
    page.get_by_role("option", name="S001").click()
    wait_rendered(page)
    page.locator(".st-key-report_day input").first.fill("2026-10-31")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_role("heading", name="上传文件").click()  # leave the field: the value is committed
    wait_rendered(page)
    page.screenshot(path=str(SHOTS / "data-platform-report-ready.png"), full_page=True)
    page.get_by_role("button", name="开始导入 1 个文件").click()
    page.get_by_text("导入完成").first.wait_for(timeout=120_000)
    wait_rendered(page)
    assert page.get_by_text("导入失败").count() == 0
    page.screenshot(path=str(SHOTS / "data-platform-report.png"), full_page=True)
    page.goto(f"{app_url}/agents?shop=S001&period=last7")
    wait_rendered(page)
    page.get_by_text("平台口径对照").first.scroll_into_view_if_needed()
    wait_rendered(page)
    # the tables are drawn on a canvas: the empty states say whether there is anything to show
    assert page.get_by_text("本期没有与本店客服对应的平台客服报表").count() == 0
    assert page.get_by_text("本期没有平台客服报表").count() == 0
    page.screenshot(path=str(SHOTS / "agents-platform.png"))
