"""Data is shown and exported as text: Markdown escaped, plotly labels as entities, spreadsheet
formulas neutralised (OWASP's CSV-injection rule), numbers still numbers."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from insight.present import charts
from insight.present.exports import HtmlReport, neutralise, table_csv, table_xlsx
from insight.present.formatting import markdown_text, plot_text

FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1)", "-2+3", "@x", "\t=1", "\r=1"]


@pytest.mark.parametrize("payload", FORMULAS)
def test_formula_cells_are_neutralised_in_csv_and_xlsx(payload):
    frame = pd.DataFrame({"内容": [payload, "正常"], "数量": [-3, 5], payload: ["x", "y"]})
    csv_text = table_csv(frame).decode("utf-8-sig")
    assert f"'{payload}" in csv_text and ",-3," in csv_text
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(frame, about=[("店铺", payload)])))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    head = next(c.row for c in book.active["A"] if c.value == "内容")  # the table under the header block
    # XML stores a CR as a line feed: compare the text after the apostrophe without it
    assert book.active[f"A{head + 1}"].value.replace("\n", "\r") == "'" + payload.replace("\n", "\r")
    assert book.active[f"B{head + 1}"].value == -3
    assert book.active[f"C{head}"].value.startswith("'")
    assert book.active["B1"].value.startswith("'")  # the header block's values too


def test_plain_text_and_numbers_are_kept():
    assert neutralise("正常文本") == "正常文本" and neutralise(-1) == -1 and neutralise(None) is None
    frame = pd.DataFrame({"a": ["a=b", "1+1"], "b": [1.5, None]})
    assert table_csv(frame).decode("utf-8-sig").splitlines() == ["a,b", "a=b,1.5", "1+1,"]


@pytest.mark.parametrize("payload", [
    "![图](http://127.0.0.1:9/x.png)", "[点我](javascript:alert(1))", "<img src=x onerror=alert(1)>",
    ":red[红字] :material/home: $x^2$", "**粗** _斜_ `代码` ~~删~~", "# 标题\n- 列表\n> 引用", "www.example.com",
])
def test_markdown_text_leaves_no_markup(payload):
    out = markdown_text(payload)
    for ch in "[]()<>*_`~#$:!":
        assert ch not in out.replace("\\" + ch, ""), (ch, out)
    assert "\n" not in out


def test_markdown_text_cuts_long_values():
    assert markdown_text("长" * 100, limit=10) == "长" * 10 + "…"


def test_plotly_labels_are_entities():
    assert plot_text('<a href="http://x">点</a>') == '&lt;a href="http://x"&gt;点&lt;/a&gt;'
    tags = pd.DataFrame({"tag": ["<b>坏</b>", "慢"], "count": [3, 2], "prev_count": [1, 1],
                         "change_count": [2.0, 1.0], "share_bad": [0.5, 0.3]})
    fig = charts.tag_top_figure(tags)
    assert "&lt;b&gt;坏&lt;/b&gt;" in fig.data[0].y


def test_html_report_escapes_data():
    report = HtmlReport("<script>alert(1)</script>", "店铺 <img src=x>")
    report.table(pd.DataFrame({"客服": ["<img src=http://127.0.0.1:9/x.png>"]}))
    html = report.render()
    assert "<img src=" not in html and "<script>alert" not in html


def test_exports_write_numbers_as_numbers_and_flags_in_chinese():
    """A long table's 本期 mixes counts and rates: 127 is written 127 (not 127.0), 0.4632 stays; a flag reads
    是/否 (not True/False); missing stays empty."""
    import numpy as np

    frame = pd.DataFrame({"本期": [127.0, 0.4632, np.nan], "可导入": [True, False, None], "说明": ["x", "-", ""]})
    lines = table_csv(frame).decode("utf-8-sig").splitlines()
    assert lines == ["本期,可导入,说明", "127,是,x", "0.4632,否,'-", ",,"]
    sheet = openpyxl.load_workbook(io.BytesIO(table_xlsx(frame))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows() if any(c.value is not None for c in row)]
    assert ["是", "否"] == [r[1] for r in rows if r[1] in ("是", "否")]
    assert 127 in [r[0] for r in rows] and 0.4632 in [r[0] for r in rows]


def test_audit_details_read_as_words():
    from insight.present.formatting import readable_detail

    assert readable_detail("role=agent shops=S001") == "角色=客服 shops=S001"
    assert readable_detail("logistics.shipping.urge").endswith("（logistics.shipping.urge）")
    assert "/" in readable_detail("logistics.shipping.urge")
    assert readable_detail("version 1.2.3 of a.b") == "version 1.2.3 of a.b"  # not a scenario code
    assert readable_detail(None) == ""


def test_a_ranking_of_rates_carries_n_interval_and_small_sample_shading():
    """各客服满意率: 25% on 4 ratings is not ranked bare at the bottom — its bar says n=4, is pale (fewer than
    30), and its 95% interval (Wilson) reaches far up."""
    from insight.metrics.registry import registry
    from insight.metrics.stats import wilson

    metric = registry()["satisfaction_rate"]
    frame = pd.DataFrame({"name": ["甲", "乙"], "satisfaction_rate": [0.25, 0.9], "n_satisfaction_rate": [4, 200]})
    trace = charts.distribution_figure(metric, frame, "name", "各客服满意率", n_col="n_satisfaction_rate").data[0]
    assert list(trace.y) == ["甲", "乙"] and trace.text[0].endswith("（n=4）") and trace.text[1].endswith("（n=200）")
    assert trace.marker.color[0] == charts.COLORS["prev"] and trace.marker.color[1] == charts.COLORS["shop"]
    low, high = wilson(1, 4)
    assert trace.error_x.array[0] == pytest.approx(high - 0.25) and trace.error_x.arrayminus[0] == pytest.approx(0.25 - low)
    plain = charts.distribution_figure(metric, frame, "name", "各客服满意率").data[0]
    assert plain.text is None  # without n nothing is claimed
