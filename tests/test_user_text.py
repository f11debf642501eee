"""What the user types, as the pages show it (issue 18): typed words, phrases and a neutral input never become
Markdown, the Modifiers words box reads words as the model does, the phrase box is one line (Enter applies it; no
line break reaches the URL), a model-wide warning is one compact line per page, the long-text notice says what the
model reads, metric values are short and token charts name every token. AppTest (one session per test, app.py);
the browser side is tests/test_browser_text.py."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.models.store import load_model
from ui.charts import spaced_labels, token_axis
from ui.format import literal
from tests.helpers import open_app

# What a user typed that Markdown would read (bold, a link, an image, an emoji, LaTeX, HTML).
PAYLOADS = ("**very**", "[click me](https://example.com/x)", "![img](https://example.com/a.png)", ":smile:", "$x$",
            "<b>hi</b>")
MAX_METRIC_VALUE = 14   # characters: a number with its unit (longer values are cut on a narrow window)


pytestmark = pytest.mark.usefixtures("no_data")   # a temporary analysis cache, no dataset (conftest.py)


def markdown_shown(at: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown: messages, captions, metric labels and helps, expander
    labels (st.text and table cells are shown as they are and left out)."""
    out = [e.value for kind in ("markdown", "caption", "warning", "info", "error", "success") for e in at.get(kind)]
    out += [m.label for m in at.metric] + [m.help or "" for m in at.metric] + [e.label for e in at.expander]
    return out


def raw_payloads(at: AppTest, payloads=PAYLOADS) -> list[str]:
    """The payloads (and their tokens' Markdown) that reach Markdown unescaped."""
    return [f"{p!r} in {s[:120]!r}" for s in markdown_shown(at) for p in payloads if p in s]


# ---- user text is never Markdown ------------------------------------------------------------------------------
def test_phrase_page_shows_the_phrases_words_literally():
    text = "not " + " ".join(PAYLOADS) + " good"
    at = open_app("phrase", text=text)
    assert not at.exception and not [e.value for e in at.error]
    assert not raw_payloads(at)
    vocab = load_model("models/toy-gru").vocab
    unknown = sorted({t for t in at.dataframe[0].value["token"] if t not in vocab})
    assert "*" in unknown and "[" in unknown and "$" in unknown   # the payloads' Markdown, as tokens
    notes = [c.value for c in at.caption if c.value.startswith("Not in the vocabulary")]
    # Listed escaped (their Markdown characters and the <unk> token itself): as typed, never as Markdown.
    assert notes == [f"Not in the vocabulary (read as {literal('<unk>')}): {literal(', '.join(unknown[:20]))}"]


def test_a_typed_neutral_input_is_shown_literally_in_the_error():
    at = open_app("phrase")
    at.sidebar.text_input(key="neutral::toy-gru").input("**the**").run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert shown and any(literal("**the**") in e for e in shown), shown
    assert not raw_payloads(at, ("**the**",))


def test_modifiers_words_are_read_as_the_model_reads_them_and_shown_literally():
    """`**very**` looks up the model's token "very" (core.data.text.tokenize), says so, and measures it; a link
    and an emoji shortcode are read as their tokens, never rendered; unknown tokens are listed as plain text."""
    at = open_app("modifiers")
    at.text_input(key="words").input("**very**, [click me](https://example.com/x), :smile:, NOT").run()
    assert not at.exception and not [e.value for e in at.error]
    assert set(at.dataframe[0].value["word"]) == {"very", "not"}
    said = [t.value for t in at.text]
    assert any(s.startswith("**very** → very · [click me](https://example.com/x) → click me https example com x")
               for s in said), said
    assert any("click" in s and "smile" in s for s in said if "→" not in s), said   # unknown, as plain text
    assert not raw_payloads(at)


# ---- the phrase box -------------------------------------------------------------------------------------------
def test_the_phrase_box_is_one_line_and_no_line_break_reaches_the_url():
    at = open_app("phrase")
    assert not at.text_area and at.text_input(key="text").value
    assert "Enter" in at.text_input(key="text").help
    at.text_input(key="text").input("not\ngood\r\n  at all").run()
    assert not at.exception
    assert at.query_params["text"] in ("not good at all", ["not good at all"])
    assert list(at.dataframe[0].value["token"]) == ["not", "good", "at", "all"]
    assert at.text_input(key="text").value == "not good at all"


def test_a_link_with_line_breaks_opens_on_one_line():
    at = open_app("phrase", text="not\ngood")
    assert at.text_input(key="text").value == "not good"
    assert at.query_params["text"] in ("not good", ["not good"])


# ---- a model-wide warning: once per page, one compact line ----------------------------------------------------
@pytest.mark.parametrize("page", ["phrase", "modifiers", "dynamics", "position"])
def test_a_model_wide_warning_is_one_compact_line_per_page(page):
    """imdb-gru's reference point sits at readout +2.2: valences are compressed. Each page says so once, in an
    expander naming it, which holds the full explanation and the Method link; no yellow banner."""
    at = open_app(page, model="imdb-gru")
    assert not at.exception
    lines = [e for e in at.expander if e.label.startswith("Reference point")]
    assert len(lines) == 1, [e.label for e in at.expander]
    assert lines[0].label == "Reference point: valences are compressed on this model"
    inside = " ".join(m.value for m in lines[0].markdown) + " ".join(c.value for c in lines[0].caption)
    assert "within 1 logit of readout 0" in inside and "#reference)" in inside
    assert not [w.value for w in at.warning if "Reference point" in w.value or "reference point" in w.value]


# ---- the long-text notice -------------------------------------------------------------------------------------
def test_long_text_notice_says_the_analysis_covers_what_the_model_reads():
    """imdb-gru reads the last 500 tokens: a 30,000-character paste is cut to its last 20,000 characters, which
    still hold those 500 tokens, so the analysis covers exactly what the model reads and P(positive) is the model's
    prediction for the whole text (as `python -m core predict` gives it)."""
    text = "".join(f"Scene {i} was good, then not bad at all. " for i in range(800))
    assert len(text) > 20000
    at = open_app("phrase", model="imdb-gru")
    at.text_input(key="text").input(text).run()
    assert not at.exception and not [e.value for e in at.error]
    notes = [i.value for i in at.info]
    assert any("covers exactly the tokens the model reads" in n for n in notes), notes
    assert not any("not the model's prediction" in n for n in notes), notes
    p = float(next(m.value for m in at.metric if m.label == "P(positive)"))
    assert p == pytest.approx(float(load_model("models/imdb-gru").predict_proba([text])[0]), abs=2e-3)


# ---- short metric values, every token named -------------------------------------------------------------------
@pytest.mark.parametrize("page", ["phrase", "dynamics", "modifiers"])
def test_metric_values_are_short(page):
    at = open_app(page, model="imdb-gru")
    long = [(m.label, m.value) for m in at.metric if len(str(m.value)) > MAX_METRIC_VALUE]
    assert not long, long


def test_phrase_token_charts_name_every_token_and_the_table_shows_modes_in_full():
    at = open_app("phrase", text="the acting was not good and the plot was not very interesting either but i "
                                 "liked the music a lot")
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for layer in spec.get("layer", [spec]):
            x = layer.get("encoding", {}).get("x", {})
            if x.get("title") == "token":
                assert x["axis"]["labelOverlap"] is False and x["axis"]["labelAngle"] == -90, x
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["top modes"]["width"] == "large"


def test_token_axis_names_every_token():
    import pandas as pd
    few, many = (pd.DataFrame({"label": [f"{i}: w" for i in range(n)]}) for n in (5, 40))
    assert token_axis(few).to_dict()["axis"] == {"labelOverlap": False, "labelAngle": -45, "labelLimit": 200}
    assert token_axis(many).to_dict()["axis"]["labelOverlap"] is False
    assert token_axis(many).to_dict()["axis"]["labelAngle"] == -90


def test_spaced_labels_name_a_pile_once():
    """A path that stays in one place (a run of neutral tokens) names its first token there; points apart keep
    their names; a name is never dropped for one that comes later."""
    x = [0.0, 0.001, 0.002, 5.0, 5.0, 0.0]
    y = [0.0, 0.0, 0.001, 0.0, 3.0, 0.0]
    names = ["0: the", "1: the", "2: the", "3: good", "4: bad", "5: the"]
    assert spaced_labels(x, y, names, extent=((0, 10), (0, 3))) == [True, False, False, True, True, False]
