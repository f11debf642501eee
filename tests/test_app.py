"""The Streamlit app runs headless on the shipped models (Streamlit's AppTest)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_app_classifies_a_typed_phrase():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    at.text_area[0].input("a wonderful , moving film").run()
    assert not at.exception
    metrics = at.metric
    assert metrics, "no prediction shown"
    assert all(0.0 <= float(m.value) <= 1.0 for m in metrics)


@pytest.mark.parametrize("text", ["", "   ", "zzqx unknownword", "!!! ???", "a" * 5000])
def test_app_handles_odd_input(text):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_area[0].input(text).run()
    assert not at.exception


def test_app_pairs_the_rnn_with_its_augmented_bow():
    """Choosing an RNN defaults the comparison to the context-augmented BoW built from it, whose
    per-token contributions carry the modifier and position factors."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.sidebar.selectbox[0].set_value("sst2-gru").run()
    assert at.sidebar.selectbox[1].value == "sst2-aug"
    at.text_area[0].input("not a good movie").run()
    assert not at.exception and len(at.metric) == 2
    assert any("f_t g(t)" in c.value for c in at.caption)
    # an RNN without an augmented BoW of its own is not paired with another RNN's
    at.sidebar.selectbox[0].set_value("toy-gru").run()
    assert not at.exception and at.sidebar.selectbox[1].value not in ("sst2-aug", "imdb-aug")
