"""The explorer's pages (Phrase, Modifiers, Dynamics) run headless on the shipped toy GRU (Streamlit's AppTest).

The toy GRU is analysed with its default neutral input, as in test_context.py. Analyses go
to a temporary disk cache shared by the tests of this module, never the repository's .cache/.
"""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parent.parent / "pages"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("analysis-cache")


@pytest.fixture(autouse=True)
def private_cache(cache_dir, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(cache_dir))


def open_page(name: str, neutral: str = "") -> AppTest:
    """Run a page with toy-gru and the given neutral input chosen in the sidebar."""
    at = AppTest.from_file(str(PAGES / name), default_timeout=300)
    # The pages remember the model across pages in session state; starting there keeps the first run from
    # analysing the default (large) model.
    at.session_state["_rnn"] = "toy-gru"
    at.session_state["_seeds"] = 300
    at.run()
    assert not at.exception
    at.sidebar.selectbox(key="model").select("toy-gru")
    if neutral:
        at.sidebar.text_input(key="neutral").input(neutral)
    at.run()
    assert at.sidebar.selectbox(key="model").value == "toy-gru"
    assert at.sidebar.text_input(key="neutral").value == neutral
    return at


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return found[0]


def test_phrase_page_reads_not_good():
    at = open_page("1_Phrase.py")
    at.text_area(key="phrase").input("not good").run()
    assert not at.exception and not at.error
    p = float(metric(at, "P(positive)"))
    assert 0.0 <= p < 0.5  # toy language: "not" flips "good"
    table = at.dataframe[0].value
    assert list(table["token"]) == ["not", "good"]
    assert table["v_relax"].notna().all()  # short text: exact v_relax on by default
    assert {"dy", "v", "v0", "m", "deflection", "top modes"} <= set(table.columns)
    # Mode ablation (default: the modes the first token excites) reports P(positive) before and after.
    assert float(metric(at, "P(positive) before")) == pytest.approx(p, abs=1e-3)
    assert 0.0 <= float(metric(at, "P(positive) after ablation")) <= 1.0
    assert metric(at, "Modes removed") != "none"
    at.radio(key="how").set_value("chosen").run()
    at.multiselect(key="modes").set_value([1, 2]).run()
    assert not at.exception and not at.error
    assert 0.0 <= float(metric(at, "P(positive) after ablation")) <= 1.0
    assert set(metric(at, "Modes removed").split(", ")) >= {"1", "2"}  # plus complex partners, if any
    at.checkbox[0].uncheck().run()
    assert not at.exception and at.dataframe[0].value["v_relax"].isna().all()


def test_phrase_page_empty_text_shows_info():
    at = open_page("1_Phrase.py")
    at.text_area(key="phrase").input("   ").run()
    assert not at.exception and not at.error
    assert at.info and "Type a phrase" in at.info[0].value


@pytest.mark.parametrize("page", ["1_Phrase.py", "2_Modifiers.py", "3_Dynamics.py"])
def test_unknown_filler_word_shows_error(page):
    at = open_page(page, neutral="qqqzzz")
    assert not at.exception
    assert at.error and "qqqzzz" in at.error[0].value


def test_modifiers_page_finds_not():
    at = open_page("2_Modifiers.py")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert "not" in list(table["word"])
    assert table.set_index("word").loc["not", "class"] == "negator"
    assert at.multiselect[0].value == list(table["word"][:5])  # curves of the top 5 by default
    at.text_input(key="words").input("very, not").run()
    assert not at.exception and not at.error
    assert set(at.dataframe[0].value["word"]) == {"very", "not"}
    at.text_input(key="words").input("not, zzzq").run()
    assert not at.exception
    assert at.error and "zzzq" in at.error[0].value


def test_dynamics_page_shows_fixed_points():
    at = open_page("3_Dynamics.py")
    assert not at.exception and not at.error
    n, stable = metric(at, "Fixed points").replace("(", "").split()[:2]
    assert int(n) > 0 and 0 <= int(stable) <= int(n)
    conv, total = (int(v) for v in metric(at, "Converged seeds").split(" / "))
    assert total == 300 and 0 < conv <= total
    assert metric(at, "Reference point h*_ref").startswith("y = ")
    assert int(metric(at, "Slow points")) >= 0 and metric(at, "Drift (neutral tokens per logit)")
    assert len(at.get("vega_lite_chart")) == 3


def test_page_after_another_page_kept_the_default_neutral_input():
    """A page opened after another one finds the shared neutral setting stored as None (the model's default)
    and must not crash on it (it did: None.strip() on the second page of a session)."""
    at = AppTest.from_file(str(PAGES / "3_Dynamics.py"), default_timeout=300)
    at.session_state["_rnn"] = "toy-gru"
    at.session_state["_seeds"] = 300
    at.session_state["_neutral"] = None
    at.run()
    assert not at.exception and at.sidebar.text_input(key="neutral").value == ""
