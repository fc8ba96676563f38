"""周报 as a user gets it: `python -m insight weekly … --pdf` writes the HTML and the PDF; the HTML opened in
Chromium has readable axes (tick labels drawn, not cut to "%"), the PDF renders to PNG pages (pdftoppm)
that carry ink. Screenshots and pages to tests/screenshots/."""

import datetime as dt
import os
import re
import shutil
import subprocess
import sys

import pytest

from insight import Store

from browser import chromium
from conftest import REPO

SHOTS = REPO / "tests" / "screenshots"


@pytest.fixture(scope="module")
def written(demo_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("weekly")
    db = out / "store.duckdb"  # a copy: another test may hold the shared demo store open
    shutil.copy(demo_db, db)
    with Store(db, read_only=True) as store:
        end = store.data_range("S001")[1]
    done = subprocess.run([sys.executable, "-m", "insight", "weekly", "--db", str(db), "--shop", "S001",
                           "--end", str(end), "--out", str(out), "--pdf"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    start = end - dt.timedelta(days=6)
    html, pdf = out / f"周报_S001_{start}~{end}.html", out / f"周报_S001_{start}~{end}.pdf"
    assert done.stdout.split() == [str(html), str(pdf)]
    return html, pdf


def test_the_html_has_readable_axes(written):
    html, _ = written
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(1280, 1000) as page:
        page.goto(html.as_uri())
        page.wait_for_selector(".main-svg", timeout=60_000)
        ticks = page.eval_on_selector_all(".ytick text", "els => els.map(e => e.textContent)")
        assert any(re.fullmatch(r"\d+(\.\d+)?%", t) for t in ticks), ticks  # "80%" or "82.5%", not a bare "%"
        categories = page.eval_on_selector_all(".ytick text", "els => els.map(e => e.getBoundingClientRect().left)")
        assert min(categories) >= 0  # no label pushed off the left edge
        page.screenshot(path=str(SHOTS / "weekly-html.png"), full_page=True)


def test_the_pdf_renders_to_pages_with_ink(written, tmp_path):
    from PIL import Image

    if shutil.which("pdftoppm") is None:  # make test installs poppler-utils; in CI its absence is a failure
        (pytest.fail if os.environ.get("CI") else pytest.skip)("pdftoppm (poppler-utils) is not installed")
    _, pdf = written
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3  # cards, trends, tags, scenarios with examples, agents
    for page in pages:
        histogram = Image.open(page).convert("L").histogram()
        dark = sum(histogram[:128])
        assert dark > 500, page.name  # text and charts, not a blank page
    shutil.copy(pages[0], SHOTS / "weekly-pdf-1.png")
    shutil.copy(pages[-1], SHOTS / "weekly-pdf-last.png")
