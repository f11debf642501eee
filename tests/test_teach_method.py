"""The Teach and Method pages, run inside the whole app (app.py's st.navigation) with Streamlit's AppTest.

The sidebar starts on the small toy GRU; analyses go to a temporary disk cache (the shipped analyses of the
models are read from models/<name>/analyses, so nothing is solved here).
"""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.navigation import ANCHORS, method_link

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))


def open_page(page: str) -> AppTest:
    """The app on the toy GRU, switched to a page."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["_rnn"] = "toy-gru"
    at.query_params["model"] = "toy-gru"  # a session's first run takes its model from the URL
    at.run()
    assert at.sidebar.selectbox(key="model").value == "toy-gru"
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception
    return at


def step(at: AppTest, i: int) -> AppTest:
    """Go to Teach step i (0-based) and check it ran cleanly."""
    radio = at.radio(key="teach_step")
    radio.set_value(radio.options[i]).run()
    assert not at.exception and not at.error
    return at


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return found[0]


def test_method_page_has_every_section():
    at = open_page("pages/method.py")
    assert [h.proto.anchor for h in at.header] == list(ANCHORS)
    trust = [w for w in at.warning if "When not to trust it" in w.value]
    assert len(trust) == len(ANCHORS)  # every section says when its numbers should not be trusted
    assert len(at.latex) >= len(ANCHORS) - 2  # formulas (the neutral input and reference sections have none)


def test_method_link():
    assert method_link("valence") == "[How to read this](method#valence)"  # outside a session: no query
    assert method_link("bow", "gap recovered") == "[gap recovered](method#bow)"
    with pytest.raises(ValueError, match="no Method section"):
        method_link("nope")


def test_teach_shows_the_flip_and_the_amplification():
    at = open_page("pages/teach.py")
    # The links to the Method page carry the page's query parameters (so the #anchor survives the new session).
    assert any("(method?" in m.value and "model=toy-gru" in m.value and "#readout)" in m.value for m in at.markdown)
    step(at, 2)
    m_not = float(metric(at, "m of “good” after “not”"))
    assert m_not < 0  # the toy GRU flips "good" after "not"
    assert float(metric(at, "P(positive) “not good”")) < 0.5 < float(metric(at, "P(positive) “good”"))
    table = at.dataframe[0].value
    row = table[(table["phrase"] == "not good") & (table["token"] == "good")]
    assert float(row["m"].iloc[0]) == pytest.approx(m_not, abs=0.01)
    step(at, 3)
    assert float(metric(at, "m of “good” after “very”")) > 1  # and amplifies it after "very"


def test_teach_every_step_runs():
    at = open_page("pages/teach.py")
    assert metric(at, "Total by the rules") == "+2"  # "not very bad": not flips the doubled bad
    step(at, 1)
    assert len(at.get("vega_lite_chart")) == 1
    assert float(metric(at, "Slowest timescale (tokens)")) > float(metric(at, "Typical sentence (tokens)"))
    step(at, 4)
    table = at.dataframe[0].value
    assert list(table["distance"]) == list(range(1, len(table) + 1))
    assert (table.loc[table["rules"] < 0, "network (m)"] < 0).all()  # flipped wherever the rules flip
    assert metric(at, "Network: 'good' still flipped up to") == metric(at, "Rules: 'not' reaches")
    step(at, 5)
    real = at.selectbox(key="teach_real")
    assert real.value != "toy-gru" and "toy-gru" not in real.options
    assert len(at.dataframe[0].value) == 3
    # The real network's attractor, by the same rule as the toy's line: its own verdict, not the toy's.
    from core.analysis.api import dynamics
    from core.analysis.attractor import attractor_figures
    from core.analysis.settings import Settings
    from core.models.store import load_model
    s = Settings.of(real.value)
    kind = attractor_figures(dynamics(s), load_model(s.path))["attractor_kind"]
    assert any(f"form: **{kind}**" in md.value for md in at.markdown)
    assert at.button(key="teach_next").disabled  # the last step
    at.button(key="teach_prev").click().run()
    assert not at.exception and at.radio(key="teach_step").value == at.radio(key="teach_step").options[4]


def test_teach_opens_the_phrase_page_on_the_toy_model():
    at = open_page("pages/teach.py")
    step(at, 2)
    at.button(key="teach_open_3").click().run()
    assert not at.exception
    assert at.session_state["_text"] == "not good"
    assert at.session_state["_rnn"] == "toy-gru" and at.sidebar.selectbox(key="model").value == "toy-gru"
    assert not any(t.value.startswith("Teach") for t in at.title)  # switched to the Phrase page
