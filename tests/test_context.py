"""Contextual processing on the toy language, whose modifiers are known (METHOD sections 3-5, 8).

Ground truth: "not" flips the next 4 tokens, "very" doubles the next one, noise words do nothing.
The toy GRU is analysed with the filler word "the" as the neutral input (METHOD section 3 allows a
filler; zero input never occurs in the toy language).
"""
import json

import numpy as np
import pytest

from core.analysis import modifiers, position
from core.cli import main
from core.context import engine
from core.modifiers import classify, fit_decay

NOISE = ("and", "a", "for", "it", "while")


@pytest.fixture(scope="module")
def toy_cache(tmp_path_factory):
    import os
    old = os.environ.get("SENTIMENT_CACHE_DIR")
    os.environ["SENTIMENT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("SENTIMENT_CACHE_DIR")
    else:
        os.environ["SENTIMENT_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def toy_modifiers(toy_cache):
    return modifiers("toy-gru", top=14, words=["not", "very", *NOISE], n_seeds=300, neutral="the")


def test_not_is_a_negator_lasting_a_few_tokens(toy_modifiers):
    m = {x["word"]: x for x in toy_modifiers["modifiers"]}
    assert m["not"]["class"] == "negator" and m["not"]["curve"][0] < 0
    assert 2 <= m["not"]["timescale"] <= 8
    # the flip holds for the first tokens and is gone well after the 4-token window
    assert all(c < 0.5 for c in m["not"]["curve"][:3])
    assert abs(m["not"]["curve"][8] - 1) < 0.5


def test_very_is_a_short_intensifier(toy_modifiers):
    m = {x["word"]: x for x in toy_modifiers["modifiers"]}
    assert m["very"]["class"] == "intensifier" and m["very"]["strength"] > 0.3
    assert m["very"]["timescale"] < m["not"]["timescale"]
    assert abs(m["very"]["curve"][2] - 1) < 0.2  # gone two tokens later


def test_noise_words_are_not_modifiers(toy_modifiers):
    m = {x["word"]: x for x in toy_modifiers["modifiers"]}
    for w in NOISE:
        assert abs(m[w]["strength"]) < 0.2, (w, m[w]["strength"])
        assert m[w]["class"] == "none"


def test_screen_finds_not_and_very_first(toy_cache):
    res = modifiers("toy-gru", top=5, n_seeds=300, neutral="the")
    words = [m["word"] for m in res["modifiers"]]
    assert words[:2] == ["not", "very"] or set(words[:2]) == {"not", "very"}
    assert all(len(m["curve"]) == 20 and len(m["pc"]) == 2 and len(m["umap"]) == 2 for m in res["modifiers"])


def test_mode_ablation_removes_exactly_the_chosen_modes(toy_cache):
    """Removing modes zeroes their coordinates l_a . (h - h*) and leaves the other modes' alone."""
    import torch
    eng = engine("toy-gru", n_seeds=300)
    h = eng.run(eng.vocab.encode(["not"]))[1]
    excited = eng.excited_modes(h)
    assert excited and 0 not in excited                       # the integration mode is never "excited"
    chosen = eng.with_partners(h, excited)
    k, before = eng.mode_amplitudes(h)
    h2 = eng.remove_modes(h, excited)
    coef = (eng.full_modes(k)[2] @ (h2 - eng.points[k]).to(torch.complex128)).abs()
    assert coef[chosen].max() < 1e-8
    others = [a for a in range(coef.shape[0]) if a not in chosen]
    assert torch.allclose(coef[others], before[others], atol=1e-8)
    res = eng.phrase("not good", ablate_after=0, modes="excited")
    assert res["ablation"]["modes"] == chosen and 0 <= res["ablation"]["p_pos"] <= 1


def test_phrase_fields_and_modulation_of_negated_word(toy_cache):
    eng = engine("toy-gru", n_seeds=300, neutral="the")
    res = eng.phrase("not good")
    t = res["tokens"]
    assert [x["token"] for x in t] == ["not", "good"] and 0 <= res["p_pos"] <= 1
    for x in t:
        assert {"dy", "v", "v_relax", "v0", "m", "deflection", "modes"} <= set(x)
    assert t[1]["m"] is not None and t[1]["m"] < 0            # "good" after "not" is flipped
    assert eng.phrase("very good")["tokens"][1]["m"] > 1.2    # ... and amplified after "very"
    # dy sums to the change of the readout over the phrase
    y0 = float(eng.y(eng.model.h0.double()))
    assert sum(x["dy"] for x in t) == pytest.approx(res["logit"] - y0, abs=1e-6)


def test_position_curves_have_fits(toy_cache):
    res = position("toy-gru", length=20, n_seeds=300, neutral="the")
    for side in ("begin", "end"):
        assert len(res[side]["curve"]) >= 20 and np.isfinite(res[side]["timescale"])
    assert res["end"]["curve"][0] == pytest.approx(
        1.0, abs=0.8)  # k = 0: the word's effect right before the readout, relative to v0


def test_fit_decay_recovers_known_timescale():
    k = np.arange(20)
    curve = 1 + 1.5 * np.exp(-k / 3.0)
    s, tau, r2 = fit_decay(curve)
    assert s == pytest.approx(1.5) and tau == pytest.approx(3.0, rel=0.02) and r2 > 0.999
    assert classify(-0.5) == "negator" and classify(0.5) == "attenuator" and classify(2.0) == "intensifier"
    assert classify(1.05) == "none"


def test_cli_phrase_json_and_errors(toy_cache, capsys):
    assert main(["phrase", "toy-gru", "not good", "--neutral", "the", "--n-seeds", "300", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["tokens"]) == 2 and "p_pos" in res
    assert main(["phrase", "toy-gru", "not good", "--neutral", "the", "--n-seeds", "300", "--json",
                 "--ablate-after", "0", "--modes", "0,1"]) == 0
    assert "ablation" in json.loads(capsys.readouterr().out)
    assert main(["phrase", "toy-gru", "   ", "--neutral", "the", "--n-seeds", "300"]) == 2
    assert "no tokens" in capsys.readouterr().err
    assert main(["modifiers", "toy-gru", "--words", "zzz", "--neutral", "the", "--n-seeds", "300"]) == 2
    assert "not in toy-gru's vocabulary: zzz" in capsys.readouterr().err
    assert main(["phrase", "toy-gru", "good", "--neutral", "qqq", "--n-seeds", "300"]) == 2
    assert "qqq" in capsys.readouterr().err


def test_ablating_the_modes_not_excites_removes_its_flip(toy_cache):
    """METHOD section 4: removing the modes "not" excites (right after it) removes its effect, while
    the same ablation after a noise word changes little. Neutral input: the toy model's default."""
    eng = engine("toy-gru", n_seeds=300)
    plain = eng.phrase("the good", exact=False)["p_pos"]
    for text in ("not good", "not the good"):
        res = eng.phrase(text, ablate_after=0, modes="excited", exact=False)
        flip = plain - res["p_pos"]
        assert flip > 0.5                                            # "not" flips the reading ...
        assert abs(res["ablation"]["p_pos"] - plain) < 0.25 * flip   # ... and ablation removes most of it
    control = eng.phrase("the good", ablate_after=0, modes="excited", exact=False)
    assert abs(control["ablation"]["p_pos"] - plain) < 0.1
