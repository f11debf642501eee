"""Reading a phrase from a chosen state (core.analysis.start, ContextEngine.phrase(start=...)), with known answers:
reading A and then B from A's end state is reading A+B; a fixed point fed the neutral input stays put; a readout
start is the attractor point with the nearest readout; the default start is the model's own reading."""
import json

import pytest
import torch

from core.analysis.context import NEUTRAL_TOKEN, engine
from core.analysis.settings import Settings
from core.analysis.start import MAX_START_TOKENS, Start
from core.tools.cli import main


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    """The toy GRU's engine on its shipped analyses (a private disk cache: nothing written to the repository)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SENTIMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield engine(Settings.of("toy-gru"))
    mp.undo()


def test_after_a_then_b_is_reading_a_and_b(eng):
    """Every per-token quantity of B read after A is that of B's tokens in A+B read from h0 (the same states;
    the readouts to the last bit but for the order of a matrix product's sums)."""
    a, b = "awesome good the", "not good bad"
    after = eng.phrase(b, start=Start("after", a))
    both = eng.phrase(f"{a} {b}")
    tail = both["tokens"][3:]
    assert after["logit"] == pytest.approx(both["logit"], abs=1e-12)
    assert after["p_pos"] == pytest.approx(both["p_pos"], abs=1e-12)
    assert after["start"]["readout"] == pytest.approx(both["tokens"][2]["y"], abs=1e-12)
    for t, u in zip(after["tokens"], tail):
        for k in ("y", "dy", "v", "v_relax", "m", "deflection"):
            assert t[k] == pytest.approx(u[k], abs=1e-12), (t["token"], k)
    assert torch.tensor(after["trajectory_pc"]).allclose(torch.tensor(both["trajectory_pc"][3:]), rtol=0, atol=1e-12)
    assert after["start"]["kind"] == "after" and after["start"]["n_tokens"] == 3
    # the change the phrase makes is the sum of its tokens' dy: from where it started to where it ends
    assert after["change"] == pytest.approx(sum(t["dy"] for t in after["tokens"]), abs=1e-12)
    assert after["change"] == pytest.approx(both["logit"] - both["tokens"][2]["y"], abs=1e-12)


def test_default_start_is_the_models_own_reading(eng):
    text = "not very good , the awful film"
    res, default = eng.phrase(text), eng.phrase(text, start=Start())
    assert res == default
    assert res["start"] == {"kind": "default", "value": None, "description": "the model's initial state h0",
                            "readout": pytest.approx(float(eng.y(eng.model.h0.double())), abs=1e-12)}
    # the model's own prediction (its float32 fused path, from its h0)
    assert res["p_pos"] == pytest.approx(float(eng.clf.predict_proba([text])[0]), abs=1e-5)
    # the readouts are those of the model's step function run from h0
    h, ys = eng.model.h0.double(), []
    for i in eng.vocab.encode(text.split()):
        h = eng.model.step(h, eng.embed[i])
        ys.append(float(eng.y(h)))
    assert [t["y"] for t in res["tokens"]] == pytest.approx(ys, abs=1e-12)


def test_a_fixed_point_fed_the_neutral_input_stays_there(eng):
    """From a stable fixed point of F(h, x*), reading x* itself (NEUTRAL_TOKEN) leaves the readout in place (up to
    the solver's tolerance: its stored points move about 1e-3 logit a step), where one valence word moves it."""
    n_fixed = len(eng.points) - int(eng.summary["n_slow_points"])
    k = int(torch.argmin(eng.modes_lam[:n_fixed].abs().max(-1).values))   # the most strongly attracting one
    y = float(eng.y(eng.points[k]))
    res = eng.phrase(" ".join([NEUTRAL_TOKEN] * 10), start=Start("readout", y), exact=False)
    assert res["start"]["point"] == k and res["start"]["point_kind"] == "fixed point"
    assert res["start"]["readout"] == pytest.approx(y, abs=1e-12) and not res["start"]["clamped"]
    assert all(abs(t["y"] - y) < 0.05 for t in res["tokens"])
    assert all(t["v"] == 0 and t["v0"] == 0 and t["deflection"] < 1e-2 for t in res["tokens"])
    assert abs(eng.phrase("good", start=Start("readout", y), exact=False)["tokens"][0]["dy"]) > 0.5


@pytest.mark.parametrize("target", [-9.3, -1.0, 0.0, 2.5, 11.1])
def test_a_readout_start_is_the_attractor_point_with_the_nearest_readout(eng, target):
    h, info = eng.start_state(Start("readout", target))
    ys = eng.y(eng.points)
    k = info["point"]
    assert torch.equal(h, eng.points[k])
    assert abs(float(ys[k]) - target) == pytest.approx(float((ys - target).abs().min()), abs=1e-12)
    assert info["readout"] == pytest.approx(float(ys[k]), abs=1e-12)
    assert info["point_kind"] == ("fixed point" if k < len(eng.points) - eng.summary["n_slow_points"] else "slow point")
    res = eng.phrase("good", start=Start("readout", target), exact=False)
    assert res["tokens"][0]["y"] - res["tokens"][0]["dy"] == pytest.approx(info["readout"], abs=1e-12)


def test_a_readout_beyond_the_attractor_is_clamped_and_said(eng):
    lo, hi = eng.readout_range()
    for target, end in ((hi + 100, hi), (lo - 100, lo)):
        _, info = eng.start_state(Start("readout", target))
        assert info["clamped"] and info["readout"] == pytest.approx(end, abs=1e-12)
        assert "nearest end" in info["description"] and info["range"] == [lo, hi]


def test_the_start_reaches_the_ablation(eng):
    """Removing no mode after a token leaves the run as it was: from the chosen start, not from h0."""
    res = eng.phrase("not good", ablate_after=0, modes=[], start=Start("readout", 5.0), exact=False)
    assert res["ablation"]["y"] == pytest.approx([t["y"] for t in res["tokens"]], abs=1e-12)


@pytest.mark.parametrize("spec", ["default", "readout:2.5", "readout:-0.125", "after:not good", "after:a: b :c"])
def test_spec_round_trip(spec):
    s = Start.parse(spec)
    assert s.spec == spec and Start.parse(s.spec) == s
    assert Start.parse("") == Start.parse(None) == Start()


@pytest.mark.parametrize("kind, value, match", [
    ("sideways", None, "one of default, readout, after"),
    ("default", 1.0, "takes no value"),
    ("readout", float("nan"), "finite number"),
    ("readout", "2.5", "finite number"),
    ("readout", True, "finite number"),
    ("after", "", "no tokens"),
    ("after", "   ", "no tokens"),
    ("after", None, "needs a text"),
])
def test_bad_starts_are_refused_clearly(kind, value, match):
    with pytest.raises(ValueError, match=match):
        Start(kind, value)


@pytest.mark.parametrize("spec", ["readout:abc", "readout:", "sideways:1", "after", "readout:inf", "after:  "])
def test_bad_specs_are_refused_clearly(spec):
    with pytest.raises(ValueError):
        Start.parse(spec)


def test_a_too_long_text_to_read_first_is_refused(eng):
    with pytest.raises(ValueError, match="at most"):
        eng.phrase("good", start=Start("after", "the " * (MAX_START_TOKENS + 1)))


def test_cli_phrase_with_a_start(eng, capsys):
    assert main(["phrase", "toy-gru", "not good", "--fast", "--json", "--start-readout", "4"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["start"]["kind"] == "readout" and res["start"]["value"] == 4.0
    assert res["start"]["readout"] == pytest.approx(4.0, abs=0.5)
    assert main(["phrase", "toy-gru", "not good", "--fast", "--json", "--start-after", "awesome good"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["start"]["kind"] == "after"
    assert res["logit"] == pytest.approx(eng.phrase("awesome good not good", exact=False)["logit"], abs=1e-12)
    assert main(["phrase", "toy-gru", "good", "--fast", "--start-after", "  "]) == 2
    assert "no tokens" in capsys.readouterr().err
    with pytest.raises(SystemExit):   # one start or the other
        main(["phrase", "toy-gru", "good", "--start-after", "bad", "--start-readout", "1"])


def test_the_teach_tour_reads_the_same_words_after_two_openings(tmp_path, monkeypatch):
    """Teach step 2: "not good" from the model's start and after a glowing and a scathing opening; the button
    opens the Phrase page with that start (in the session and the URL)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    at.query_params["model"] = "toy-gru"
    at.run()
    at.switch_page("pages/teach.py").run()
    radio = at.radio(key="teach_step")
    radio.set_value(radio.options[1]).run()
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert len(table) == 3 and table["score at the start"].iloc[1] > 0 > table["score at the start"].iloc[2]
    assert table["P(positive)"].iloc[1] > 0.5 > table["P(positive)"].iloc[2]   # the opening decides the verdict
    assert any(m.value.startswith("What to notice") for m in at.markdown)
    at.button(key="teach_open_2_scathing").click().run()
    assert not at.exception
    assert at.session_state["_text"] == "not good" and at.session_state["_start_kind"] == "after"
    assert at.query_params["start"] in ("after:awful bad awful", ["after:awful bad awful"])


@pytest.mark.parametrize("spec, kind", [("readout:5", "readout"), ("after:awesome good", "after"),
                                        ("readout:abc", "default"), ("after:", "default"), ("nonsense", "default")])
def test_the_phrase_page_takes_its_start_from_the_link(tmp_path, monkeypatch, spec, kind):
    """A link's start is chosen (a bad one is left at the default, with no error), said in one line above the
    charts and kept in the URL."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path / "empty"))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "phrase.py"), default_timeout=300)
    at.query_params.update(model="toy-gru", text="not good", start=spec)
    at.run()
    assert not at.exception and not at.error
    assert at.radio(key="start_kind").value == kind
    said = [i.value for i in at.info if i.value.startswith("Read from")]
    assert len(said) == (kind != "default")
    assert at.query_params.get("start") in ((None,) if kind == "default" else (spec, [spec], f"{spec}.0", [f"{spec}.0"]))


@pytest.mark.parametrize("lo, hi", [(-0.99, -0.99), (2.3, 2.3)])
def test_start_box_on_an_attractor_whose_readouts_are_all_equal(lo, hi):
    """No slider step fits inside the range: the start is the range's low end itself (not a rounded value outside
    it, which the engine would clamp back and call 'beyond the attractor's readouts'), and the caption says so."""
    from streamlit.testing.v1 import AppTest

    def page(lo: float, hi: float) -> None:
        import streamlit as st

        from ui.state import start_box
        st.session_state["_start_kind"] = "readout"
        st.text(start_box(lo, hi).spec)

    at = AppTest.from_function(page, args=(lo, hi)).run()
    assert not at.exception and not at.slider
    assert at.text[0].value == f"readout:{float(f'{lo:.6g}')!r}"
    assert f"between {lo:+.3f} and {hi:+.3f}" in at.caption[0].value
