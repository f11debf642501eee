"""The phrase report (core.tools.report, core.tools.svg, the Phrase page's button): one self-contained HTML file,
with no script and nothing from outside it, every user or model string escaped, written atomically; the charts'
geometry checked on a hand-worked case.

Analyses go to a temporary disk cache and the data root is an empty folder, as in tests/test_pages.py.
"""
from __future__ import annotations

import os
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest

from core.models.store import read_json, resolve_model_dir
from core.tools import svg
from core.tools.cli import main
from core.tools.report import phrase_report, write_report

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HOSTILE = "<script>alert(1)</script> **bold** [x](http://e.com) ![i](http://e.com/i.png)"
PHRASE = f"not good {HOSTILE}"
N_CHARTS = 5   # readout, valence, modulation, deflection, attractor


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "report-cache"))
    empty = tmp_path_factory.getbasetemp() / "report-no-data"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(empty))


@pytest.fixture(scope="module")
def toy():
    """(engine, settings, phrase result) of toy-gru on PHRASE, as the CLI measures it."""
    from core.analysis.context import engine
    from core.analysis.settings import Settings
    settings = Settings.of("toy-gru")
    eng = engine(settings)
    return eng, settings, eng.phrase(PHRASE)


class Page(HTMLParser):
    """Every element of a document with its attributes and its text (descendants' included); `open` is what
    was never closed."""
    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source"})

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self.open: list[dict] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(el)
        if tag not in self.VOID:
            self.open.append(el)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        assert self.open and self.open[-1]["tag"] == tag, f"</{tag}> closes <{self.open[-1]['tag']}>"
        self.open.pop()

    def handle_data(self, data):
        for el in self.open:
            el["text"] += data

    def find(self, tag: str | None = None, **attrs) -> list[dict]:
        return [e for e in self.elements if (tag is None or e["tag"] == tag)
                and all(e["attrs"].get(k) == v for k, v in attrs.items())]


def assert_self_contained(html: str) -> Page:
    """The file parses, runs nothing and reaches nothing outside itself."""
    page = Page(html)
    assert page.open == []
    assert not re.search(r"<\s*script", html, re.I)
    for el in page.elements:
        for name, value in el["attrs"].items():
            assert not name.startswith("on"), (el["tag"], name)
            if name in ("src", "href", "xlink:href", "action", "data", "poster"):
                assert not re.match(r"\s*(https?:)?//", value or "", re.I), (el["tag"], name, value)
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html, re.I))
    assert not re.search(r"@import|@font-face", html, re.I)
    return page


# ---- svg ------------------------------------------------------------------------------------------
def test_line_chart_puts_points_where_the_linear_scale_says():
    """Hand-worked: 3 tokens on a 400 x 200 chart. The plot spans x 64..384 (3 bands of 106.67 px, a point at each
    band's centre) and y 154 (the value 0) .. 28 (the value 2): ticks 0, 0.5, .., 2 are the axis's ends."""
    out = svg.line_chart(["a", "b", "c"], [svg.Series("y", [0.0, 1.0, 2.0], "#000")], "t", "y",
                         width=400, height=200)
    page = Page(out)
    circles = page.find("circle")
    assert [float(c["attrs"]["cx"]) for c in circles] == pytest.approx([117.33, 224.0, 330.67], abs=0.06)
    assert [float(c["attrs"]["cy"]) for c in circles] == [154.0, 91.0, 28.0]
    ticks = {e["text"]: float(e["attrs"]["y"]) for e in page.find("text") if e["attrs"].get("text-anchor") == "end"}
    assert ticks == {"0.0": 154.0, "0.5": 122.5, "1.0": 91.0, "1.5": 59.5, "2.0": 28.0}
    labels = [(float(e["attrs"]["x"]), e["text"]) for e in page.find("text", y="168.0")]   # 14 px under the plot
    assert labels == [(117.3, "aa"), (224.0, "bb"), (330.7, "cc")]   # under each point: its <title>, its label
    assert page.find("svg")[0]["text"].startswith("t")        # the chart's accessible <title> comes first
    assert "b\ny = 1.000" in [e["text"] for e in page.find("title")]   # a tooltip per point


def test_every_token_is_labelled_rotated_when_they_do_not_fit_and_text_is_escaped():
    labels = [f"{i}: <word{i}> & more and more" for i in range(40)]   # too long for a band, and for the axis
    out = svg.bar_chart(labels, [svg.Series("v", [float(i % 5 - 2) for i in range(40)], "#123456"),
                                 svg.Series("v0", [None] * 40, "#abcdef")], "t & <b>", "v")
    assert_self_contained(out)
    page = Page(out)
    shown = [e for e in page.find("text") if "rotate(-45)" in e["attrs"].get("transform", "")]
    assert [e["text"] for e in shown] == [lab + lab[:svg.LABEL_CHARS - 1] + "…" for lab in labels]   # title, label
    assert len(page.find("rect")) == 40 + 2                  # no bar for missing values; 2 legend swatches
    assert "<word3>" not in out and "&lt;word3&gt;" in out


def test_nice_ticks_cover_the_values_with_round_steps():
    assert svg.nice_ticks(0, 2) == [0, 0.5, 1, 1.5, 2]
    assert svg.nice_ticks(-0.37, 2.1) == [-0.5, 0, 0.5, 1, 1.5, 2, 2.5]
    assert svg.nice_ticks(3, 3) == [0, 2, 4, 6]


# ---- the report -----------------------------------------------------------------------------------
def test_cli_writes_one_self_contained_report(tmp_path, toy, capsys):
    res = toy[2]
    out = tmp_path / "report.html"
    assert main(["report", "toy-gru", "--text", PHRASE, "--out", str(out)]) == 0
    assert os.listdir(tmp_path) == ["report.html"]            # no temp file left behind
    html = out.read_text(encoding="utf-8")
    page = assert_self_contained(html)
    assert page.find("p", **{"class": "phrase"})[0]["text"] == PHRASE
    assert html.count("<svg") == N_CHARTS
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    p_report = page.find(id="p-pos")[0]["text"]
    assert p_report == f"{res['p_pos']:.3f}" and p_report in capsys.readouterr().out
    assert main(["predict", "toy-gru", PHRASE]) == 0
    assert float(p_report) == pytest.approx(float(capsys.readouterr().out), abs=6e-4)
    cells = [e["text"] for e in page.find("td")]
    tokens = [c.removesuffix(" (unknown)") for c in cells[1::len(page.find("th"))]]   # the table's token column
    assert tokens == [t["token"] for t in res["tokens"]]
    assert "script" in page.find("ul", **{"class": "warnings"})[0]["text"]   # unknown words are named
    command = page.find("pre")[0]["text"]
    assert command.startswith("python -m core report toy-gru --text ") and shlex.quote(PHRASE) in command
    assert shlex.split(command)[shlex.split(command).index("--text") + 1] == PHRASE
    card = page.find("dl")[0]["text"]
    metrics = read_json(resolve_model_dir("toy-gru") / "metrics.json")     # the card reads the model's own metrics
    assert f"{metrics['test_accuracy']:.1%}" in card and metrics["command"] in card and "Reference point" in card


@pytest.mark.parametrize("model, text, out, message", [
    ("toy-gru", "   ", "r.html", "no tokens"),
    ("no-such-model", "good", "r.html", "no-such-model"),
    ("toy-gru", "good", "missing/r.html", "does not exist"),
])
def test_bad_input_says_why_and_writes_nothing(tmp_path, capsys, model, text, out, message):
    assert main(["report", model, "--text", text, "--out", str(tmp_path / out)]) != 0
    assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == []                         # nothing written, no folder created


def test_settings_show_the_start_state_when_the_result_has_one(toy):
    eng, settings, res = toy
    plain = {k: v for k, v in res.items() if k != "start"}
    assert "Start state" not in phrase_report(eng, settings, PHRASE, plain)
    started = dict(res, start={"kind": "readout", "value": 1.5, "readout": 1.49,
                               "description": "the attractor's fixed point whose readout, +1.49, is nearest"})
    page = Page(phrase_report(eng, settings, PHRASE, started, out_name="r.html"))
    assert "Start state h₀the attractor's fixed point whose readout, +1.49, is nearest (readout +1.490)" in \
        page.find("dl")[1]["text"]
    assert page.find("pre")[0]["text"].endswith("--start-readout 1.5")


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    write_report(target, "<p>one</p>")
    assert target.read_text() == "<p>one</p>"
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask    # as open() would make it: readable by whoever gets it

    def fail(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ValueError, match="No space left"):
        write_report(target, "<p>two</p>")
    assert target.read_text() == "<p>one</p>" and os.listdir(tmp_path) == ["r.html"]
    with pytest.raises(ValueError, match="is a folder"):
        write_report(tmp_path, "<p>x</p>")


# ---- the page -------------------------------------------------------------------------------------
def test_phrase_page_offers_the_report_of_its_analysis(monkeypatch):
    """The Phrase page draws the button without an exception; the file it serves when clicked is the report of
    the page's phrase (its deferred callable, captured where Streamlit registers it)."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.testing.v1 import AppTest
    made = []
    real = MediaFileManager.add_deferred

    def spy(self, fn, *args, **kw):
        made.append(fn)
        return real(self, fn, *args, **kw)
    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["model"] = "toy-gru"
    at.query_params["text"] = HOSTILE + " not good"
    at.run()
    at.switch_page("pages/phrase.py").run()
    assert not at.exception, at.exception
    assert [b.label for b in at.download_button if b.label == "Report (HTML)"] == ["Report (HTML)"]
    reports = [data.decode() for data in (f() for f in made) if b"Phrase report: toy-gru" in data]
    assert len(reports) == 1
    page = assert_self_contained(reports[0])
    assert page.find("p", **{"class": "phrase"})[0]["text"] == HOSTILE + " not good"


def test_the_model_card_gives_the_accuracy_over_seeds_where_there_are_seeds(toy):
    """A network shipped in several seeds shows its spread (mean ± sample standard deviation, worked here with the
    statistics module) beside its own accuracy; one trained once does not."""
    import statistics
    from core.analysis.context import engine
    from core.analysis.settings import Settings
    from core.models.store import MODELS_DIR
    from core.tools.report import model_card
    eng, settings, _ = toy
    assert "over" not in dict(model_card(eng, settings))["Test accuracy"]
    seeds = ["sst2-gru"] + sorted(p.name for p in MODELS_DIR.glob("sst2-gru-seed*"))
    if len(seeds) < 2:
        pytest.skip("no seeds of sst2-gru shipped")
    accs = [read_json(MODELS_DIR / n / "metrics.json")["test_accuracy"] for n in seeds]
    s = Settings.of("sst2-gru-seed1")
    acc = dict(model_card(engine(s), s))["Test accuracy"]
    assert acc == (f"{accs[1]:.1%} on sst2:test (this network over {len(accs)} seeds: {statistics.mean(accs):.1%} ± "
                   f"{statistics.stdev(accs):.1%} ({min(accs):.1%}–{max(accs):.1%}))")
