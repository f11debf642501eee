"""Two phrases side by side: the token alignment and the differences (core.analysis.pair) on hand-worked cases,
the `pair` command, and the Compare page (AppTest on the page file, no dataset on the machine)."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.analysis.context import NEUTRAL_TOKEN, engine
from core.analysis.pair import (
    align,
    compare_phrases,
    minimal_edit,
    neutral_replacement,
    replace_token,
)
from core.analysis.settings import Settings
from core.analysis.start import Start
from core.tools.cli import main

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "compare.py")


pytestmark = pytest.mark.usefixtures("no_data")   # a temporary analysis cache, no dataset (conftest.py)


@pytest.fixture(scope="module")
def eng(cache_dir):
    mp = pytest.MonkeyPatch()
    mp.setenv("SENTIMENT_CACHE_DIR", str(cache_dir))
    yield engine(Settings.of("toy-gru"))
    mp.undo()


# ---- alignment ----------------------------------------------------------------------------------
def ops(rows: list[dict]) -> list[tuple]:
    return [(r["op"], r["a"], r["b"]) for r in rows]


def test_identical_token_lists_align_as_equal():
    assert ops(align(["a", "b", "b"], ["a", "b", "b"])) == [("equal", 0, 0), ("equal", 1, 1), ("equal", 2, 2)]


def test_not_good_is_one_insertion():
    assert ops(align(["good"], ["not", "good"])) == [("insert", None, 0), ("equal", 0, 1)]
    assert ops(align(["not", "good"], ["good"])) == [("delete", 0, None), ("equal", 1, 0)]


def test_a_replacement_and_an_uneven_one():
    assert ops(align(["a", "good", "film"], ["a", "bad", "film"])) == [("equal", 0, 0), ("replace", 1, 1),
                                                                       ("equal", 2, 2)]
    assert ops(align(["a", "b", "c", "d"], ["a", "x", "d"])) == [("equal", 0, 0), ("replace", 1, 1),
                                                                 ("delete", 2, None), ("equal", 3, 2)]
    assert ops(align([], ["x"])) == [("insert", None, 0)]


# ---- differences --------------------------------------------------------------------------------
def test_identical_texts_differ_in_nothing(eng):
    res = compare_phrases(eng, "not very good film", "not very good film")
    assert res["n_changed"] == 0 and all(r["op"] == "equal" for r in res["alignment"])
    assert all(r["dv"] == 0 and r["dv_relax"] == 0 for r in res["alignment"])
    assert res["p_pos"]["diff"] == 0 and res["logit"]["diff"] == 0


def test_good_and_not_good(eng):
    """One insertion: its difference is the whole valence of "not" in B; the equal "good" differs by v_B - v_A,
    and the toy's "not" flips it."""
    res = compare_phrases(eng, "good", "not good")
    ins, good = res["alignment"]
    a, b = res["a"]["tokens"], res["b"]["tokens"]
    assert (ins["op"], ins["token_b"], ins["token_a"]) == ("insert", "not", None)
    assert ins["dv"] == b[0]["v"] and ins["dv_relax"] == b[0]["v_relax"]
    assert good["op"] == "equal" and good["dv"] == b[1]["v"] - a[0]["v"] and good["dv"] < 0 < a[0]["v"]
    assert good["dv_relax"] == b[1]["v_relax"] - a[0]["v_relax"]
    assert res["p_pos"]["diff"] == res["p_pos"]["b"] - res["p_pos"]["a"] < 0
    assert res["n_changed"] == 1


def test_a_replaced_word(eng):
    """The first token is equal and read from the same state: no difference; the replaced one differs by
    v(bad) - v(good); a deleted token counts minus its valence; without exact, no dv_relax."""
    res = compare_phrases(eng, "a good film", "a bad film", exact=False)
    first, swapped, _ = res["alignment"]
    assert first["op"] == "equal" and first["dv"] == 0
    assert swapped["op"] == "replace" and (swapped["token_a"], swapped["token_b"]) == ("good", "bad")
    assert swapped["dv"] == res["b"]["tokens"][1]["v"] - res["a"]["tokens"][1]["v"] < 0
    assert all(r["dv_relax"] is None for r in res["alignment"])
    gone = compare_phrases(eng, "not good", "good", exact=False)["alignment"][0]
    assert gone["op"] == "delete" and gone["dv"] == -gone["v_a"]


def test_both_phrases_read_from_one_start(eng):
    start = Start("after", "awesome good")
    res = compare_phrases(eng, "good", "not good", start=start, exact=False)
    assert res["start"] == res["a"]["start"] == res["b"]["start"] and res["start"]["kind"] == "after"
    assert res["logit"]["b"] == pytest.approx(eng.phrase("awesome good not good", exact=False)["logit"], abs=1e-12)


def test_swapping_a_token_for_the_neutral_input(eng):
    token, label = neutral_replacement(eng)
    assert token == NEUTRAL_TOKEN and eng.neutral in label
    text = replace_token("Not GOOD!", 1, token)
    assert text == f"not {NEUTRAL_TOKEN} !"
    res = eng.phrase(text, exact=False)
    assert [t["token"] for t in res["tokens"]] == ["not", NEUTRAL_TOKEN, "!"]
    assert res["tokens"][1]["v"] == 0 and res["tokens"][1]["v0"] == 0 and res["tokens"][1]["known"]
    assert replace_token("a good film", 1, "very bad") == "a very bad film"
    with pytest.raises(ValueError, match="token index"):
        replace_token("a good film", 3, "bad")
    with pytest.raises(ValueError, match="no tokens"):
        replace_token("a good film", 1, "  ")


@pytest.mark.parametrize("text, edit", [("good", "not good"), ("I didn't like it", "i did like it"),
                                        ("not bad, not good", "bad , not good")])
def test_minimal_edit(text, edit):
    assert minimal_edit(text) == edit


def test_cli_pair(capsys):
    assert main(["pair", "toy-gru", "--a", "good", "--b", "not good", "--fast", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["op"] for r in res["alignment"]] == ["insert", "equal"] and res["p_pos"]["diff"] < 0
    assert main(["pair", "toy-gru", "--a", "good", "--b", "not good", "--fast", "--start-readout", "3"]) == 0
    out = capsys.readouterr().out
    assert "B - A" in out and "insert" in out and "nearest the +3.00 asked" in out


# ---- the page -----------------------------------------------------------------------------------
def open_page(model: str, **query: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params["model"] = model
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    assert not [e.value for e in at.error]
    return at


@pytest.mark.parametrize("model", ["toy-gru", "sst2-lstm"])
def test_the_page_renders(model):
    at = open_page(model)
    labels = [m.label for m in at.metric]
    assert {"P(positive) A", "P(positive) B", "B − A"} <= set(labels)
    assert at.text_input(key="text2").value == minimal_edit(at.text_input(key="text").value)
    assert "text2" in at.query_params
    assert len(at.get("vega_lite_chart")) == 3


def test_phrase_b_follows_phrase_a_until_it_is_edited():
    """B starts as the one-token edit of A and follows A when A changes (another phrase typed, on this page or
    Phrase); once B is typed, it stays."""
    at = open_page("toy-gru", text="good movie")
    assert at.text_input(key="text2").value == minimal_edit("good movie")
    at.text_input(key="text").set_value("bad film").run()
    assert at.text_input(key="text2").value == minimal_edit("bad film")
    at.text_input(key="text2").set_value("very bad film").run()
    at.text_input(key="text").set_value("awful").run()
    assert at.text_input(key="text2").value == "very bad film"


def test_the_link_carries_both_texts_and_the_start():
    at = open_page("toy-gru", text="good", text2="not good", start="after:awesome")
    assert at.text_input(key="text").value == "good" and at.text_input(key="text2").value == "not good"
    table = at.dataframe[0].value
    assert list(table["op"]) == ["insert", "equal"] and list(table["token B"]) == ["not", "good"]
    assert at.radio(key="start_kind").value == "after" and at.text_input(key="start_after").value == "awesome"
    assert any("awesome" in i.value for i in at.info)   # the start, said above the charts


def test_one_click_swaps_a_word():
    at = open_page("toy-gru", text="a good film", text2="a good film")
    at.selectbox(key="swap_index").set_value(1).run()
    at.button(key="swap_go").click().run()   # the neutral input by default
    assert not at.exception and at.text_input(key="text2").value == f"a {NEUTRAL_TOKEN} film"
    at.radio(key="swap_how").set_value("word").run()
    at.text_input(key="swap_word").input("*awful*").run()
    at.button(key="swap_go").click().run()
    assert not at.exception and not at.error
    assert at.text_input(key="text2").value == "a * awful * film"
    assert at.query_params["text2"] in ("a * awful * film", ["a * awful * film"])
    assert "replace" in list(at.dataframe[0].value["op"])
