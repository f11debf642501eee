"""Contextual processing on the toy language, whose modifiers are known (METHOD sections 3-5, 8).

Ground truth: "not" flips the next 4 tokens, "very" doubles the next one, noise words do nothing.
The toy GRU is trained on toy-long (runs of noise words inside and before the sentences), so it must hold
its valence through long neutral stretches; it is analysed with its default neutral input ("quiet": the
noise words that move its state least), found by the engine, not chosen by hand.
"""
import json

import numpy as np
import pytest

from core.analysis.api import modifiers
from core.tools.cli import main
from core.analysis.context import engine
from core.analysis.context import validity
from core.data.loaders import load_dataset
from core.analysis.modifiers import fit_free_decay
from core.analysis.settings import Settings

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
    return modifiers(Settings.of("toy-gru", n_seeds=300), top=14, words=["not", "very", *NOISE])


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
    res = modifiers(Settings.of("toy-gru", n_seeds=300), top=5)
    words = [m["word"] for m in res["modifiers"]]
    assert words[:2] == ["not", "very"] or set(words[:2]) == {"not", "very"}
    assert all(len(m["curve"]) == 20 and len(m["pc"]) == 2 and len(m["umap"]) == 2 for m in res["modifiers"])


def test_mode_ablation_removes_exactly_the_chosen_modes(toy_cache):
    """Removing modes zeroes their coordinates l_a . (h - h*) and leaves the other modes' alone."""
    import torch
    eng = engine(Settings.of("toy-gru", n_seeds=300))
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
    eng = engine(Settings.of("toy-gru", n_seeds=300))
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


def test_each_token_says_whether_the_linear_valence_holds(toy_cache):
    """linear_ok flags the tokens where v is within half of the exact v_relax; on the toy GRU, whose line
    attractor the linearisation describes well, the valence words agree; without v_relax it is null."""
    eng = engine(Settings.of("toy-gru", n_seeds=300))
    toks = eng.phrase("the movie was good , not bad , and very awesome")["tokens"]
    for x in toks:
        assert x["linear_ok"] == (abs(x["v"] - x["v_relax"]) <= 0.5 * max(abs(x["v_relax"]), eng.valence_threshold))
    assert all(x["linear_ok"] for x in toks if x["token"] in ("good", "bad", "awesome"))
    assert all(x["linear_ok"] is None for x in eng.phrase("not good", exact=False)["tokens"])


def test_fit_decay_recovers_known_timescale():
    k = np.arange(20)
    f = fit_free_decay(0.8 + 1.5 * np.exp(-k / 3.0))
    assert f["amplitude"] == pytest.approx(1.5, rel=1e-3) and f["asymptote"] == pytest.approx(0.8, abs=1e-3)
    assert f["timescale"] == pytest.approx(3.0, rel=0.02) and f["r2"] > 0.999 and not f["timescale_at_limit"]


def test_toy_reference_is_stable_and_near_zero(toy_cache):
    eng = engine(Settings.of("toy-gru", n_seeds=300))
    ref = eng.reference()
    assert ref["stable"] and ref["lambda1"] <= 1.001 and ref["near_zero"] and not ref["warnings"]


def test_toy_v_agrees_with_v_relax(toy_cache):
    """The linearised persistent valence has the sign of the exact one on every valenced token of the
    toy test text (all but a few), and its median relative error is under 25% (the issue's target)."""
    eng = engine(Settings.of("toy-gru", n_seeds=300))
    res = validity(eng, load_dataset("toy-long:test").texts, max_tokens=4000)
    assert res["n_valenced"] > 100
    assert res["sign_agreement"] >= 0.95          # measured: 97-99% (3 to 7 of 226 tokens differ)
    assert res["median_relative_error"] < 0.25
    assert res["pearson_r"] > 0.9


def test_not_excites_modes_on_its_own_timescale(toy_modifiers):
    """Paper A: a modifier's effect timescale matches that of the modes it excites (within a factor of 2)."""
    m = {x["word"]: x for x in toy_modifiers["modifiers"]}
    assert 0.5 <= m["not"]["mode_timescale"] / m["not"]["timescale"] <= 2.0


def test_real_text_agrees_with_the_classes(toy_modifiers):
    """On toy test sentences, swapping "not" for the neutral input turns the next valence word's flipped
    effect back (ratio < 0 before the swap); "very" amplifies it (ratio > 1)."""
    m = {x["word"]: x for x in toy_modifiers["modifiers"]}
    assert toy_modifiers["agreement_data"] == "toy-long:test"
    assert m["not"]["real_text"]["n"] >= 20 and m["not"]["real_text_agreement"] > 0.9
    assert m["very"]["real_text"]["n"] >= 20 and m["very"]["real_text_agreement"] > 0.9
    assert m["and"]["real_text_agreement"] is None          # class none: nothing to agree with


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
    eng = engine(Settings.of("toy-gru", n_seeds=300))
    plain = eng.phrase("the good", exact=False)["p_pos"]
    for text in ("not good", "not the good"):
        res = eng.phrase(text, ablate_after=0, modes="excited", exact=False)
        flip = plain - res["p_pos"]
        assert flip > 0.5                                            # "not" flips the reading ...
        assert abs(res["ablation"]["p_pos"] - plain) < 0.25 * flip   # ... and ablation removes most of it
    control = eng.phrase("the good", ablate_after=0, modes="excited", exact=False)
    assert abs(control["ablation"]["p_pos"] - plain) < 0.1


def test_quiet_neutral_input_is_made_of_noise_words():
    """The default neutral input averages words that barely move the state: on the toy, noise words only,
    never a valence word or a modifier."""
    from core.analysis.dynamics import quiet_input
    from core.models.store import load_model
    x, words = quiet_input(load_model("toy-gru"))
    assert words and set(words) <= set(NOISE) | {"the"}
    assert x.shape == (16,)


def test_cli_json_contract_for_trust_fields(toy_cache, capsys):
    assert main(["analyze", "toy-gru", "--n-seeds", "300", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    for k in ("reference_stable", "n_slow_points", "attractor_readout_range", "drift_tokens_per_logit",
              "timescales_top", "unstable_growth_top", "warnings", "neutral_input"):
        assert k in s, k
    assert s["neutral_input"] == "quiet" and all(t is None or t > 0 for t in s["timescales_top"])
    lo, hi = s["attractor_readout_range"]
    assert lo <= s["readout_range"][0] and hi >= s["readout_range"][1]
    assert main(["modifiers", "toy-gru", "--n-seeds", "300", "--top", "5", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    sc = r["screen"]
    assert sc["n_words"] > 0 and set(sc["counts"]) == {"negator", "attenuator", "intensifier", "none"}
    assert sum(sc["counts"].values()) == sc["n_words"] and "attenuator_below" in sc["thresholds"]
    assert "mode_effect_spearman" in r
    for m in r["modifiers"]:
        lo, hi = m["strength_ci"]
        assert lo <= m["strength"] <= hi and "mode_timescale" in m and "real_text_agreement" in m


def test_phrase_reads_the_models_window(tmp_path, toy_csv, toy_cache):
    """A model that reads only the last 8 tokens: the phrase analysis covers those 8 and says so, and its
    P(positive) is the model's own prediction."""
    from core.models.store import load_model
    out = tmp_path / "models"
    assert main(["train", "--name", "toy-tail", "--data", toy_csv, "--out-dir", str(out), "--embed-dim", "8",
                 "--hidden-size", "8", "--epochs", "1", "--min-count", "1", "--max-len", "8",
                 "--truncate", "tail"]) == 0
    path = str(out / "toy-tail")
    eng = engine(Settings.of(path, data=toy_csv, n_seeds=100))
    text = "good good good good the the the the awful and it the a bad"
    res = eng.phrase(text, exact=False)
    assert res["window"] == {"start": 6, "end": 14, "n_text_tokens": 14, "truncated": True, "model_reads_all": True}
    assert [t["token"] for t in res["tokens"]] == text.split()[6:]
    assert res["p_pos"] == pytest.approx(float(load_model(path).predict_proba([text])[0]), abs=1e-5)
    assert eng.model_reads(text) == {"tokens": text.split()[6:], "start": 6, "n_text": 14}
    assert eng.model_reads("bad movie") == {"tokens": ["bad", "movie"], "start": 0, "n_text": 2}
    # one sentence on what P(positive) is, the same on the page and in the report
    assert "reads only tokens 7-14 of this text's 14" in eng.coverage(res, text)
    assert "is the model's prediction for the whole text." in eng.coverage(res, text)
    assert eng.coverage(eng.phrase("bad movie", exact=False), "bad movie") is None
    part = eng.phrase("the awful and it", exact=False)          # a page that kept only part of the text
    assert "not the model's prediction" in eng.coverage(part, text)
    assert "unknown word" in eng.coverage(eng.phrase("good ∅ bad", exact=False), "good ∅ bad")


def test_a_timescale_is_a_finding_only_where_the_exponential_fits():
    """Worked by hand: M(k) = 1 - 0.6 exp(-(k-1)/3) is fitted exactly (tau 3, R2 1) and its tau is shown; a
    curve that jumps once and then wanders (M(1) = 0.96, then 1.00, 0.97, 1.01, ...) has no exponential decay:
    its fit has R2 under 0.5 and no timescale is reported, whatever tau the grid search returned."""
    import numpy as np
    from core.analysis.modifiers import FIT_MIN_R2, fit_described, fit_free_decay, weak_effect_warnings
    k = np.arange(20)
    f = fit_free_decay(1 - 0.6 * np.exp(-k / 3.0))
    assert abs(f["amplitude"] + 0.6) < 1e-3 and abs(f["timescale"] - 3.0) < 0.05 and f["r2"] > 0.999
    assert fit_described(f["r2"], f["timescale"])
    wander = np.array([0.96, 1.00, 0.97, 1.01, 0.98, 1.02, 0.97, 1.00] * 2)
    f = fit_free_decay(wander)
    assert f["r2"] < FIT_MIN_R2 and not fit_described(f["r2"], f["timescale"])
    assert not fit_described(None, 3.0) and not fit_described(float("nan"), 3.0) and not fit_described(0.9, None)
    band = {"attenuator_below": 0.97, "intensifier_above": 1.03}
    weak = {"modifiers": [{"strength": -0.04}, {"strength": 0.03}], "screen": {"thresholds": band}}
    assert "4%" in weak_effect_warnings(weak)[0] and "no modifier effect of note" in weak_effect_warnings(weak)[0]
    strong = {"modifiers": [{"strength": -0.6}], "screen": {"thresholds": band}}
    assert weak_effect_warnings(strong) == [] and weak_effect_warnings({"modifiers": [], "screen": {}}) == []
