"""The ledger of the papers' claims (core.experiments.claims): every verdict rule on hand-worked figures, each
verdict reachable, and the toy GRU end to end through `python -m core claims toy-gru --json`, where the toy
language's grammar gives the answers ("not" flips the next words, "very" doubles the next one, two modifiers)."""
from __future__ import annotations

import json
import math

import pytest

from core.analysis import attractor as A
from core.experiments import claims as C
from core.tools.cli import main

R, P, X, NA, NM = C.REPRODUCED, C.PARTLY, C.CONTRADICTED, C.DOES_NOT_APPLY, C.NOT_MEASURED


def mod(word: str, cls: str, strength: float, ci: tuple[float, float], **kw) -> dict:
    """A listed modifier as the modifier analysis stores it (only the fields the rules read)."""
    return {"word": word, "class": cls, "strength": strength, "strength_ci": list(ci), **kw}


# ---- B: line attractor ---------------------------------------------------------------------------------------
def figures(lo=-5.0, hi=5.0, gap=0.4, share=0.9, drift=0.1) -> dict:
    """Attractor figures with their kind by the attractor rule (core.analysis.attractor.attractor_kind)."""
    fig = {"attractor_readout_range": [lo, hi], "largest_readout_gap": gap,
           "largest_readout_gap_between": [-gap / 2, gap / 2], "near_zero_points": 10,
           "near_zero_marginal_share": share, "reference_drift_per_doc": drift, "integration_timescale": 800.0}
    fig["attractor_kind"], fig["attractor_why"] = A.attractor_kind(fig)
    return fig


def test_line_attractor_rule():
    # Points over -5..5, no gap over 1 logit, 90% marginal near 0, drift 0.1 of a 10-logit extent: a line.
    assert C.judge_line_attractor(figures())["verdict"] == R
    # Points all along but only 20% of those near 0 marginal: end attractors joined by a slow manifold.
    leaky = C.judge_line_attractor(figures(share=0.2))
    assert (leaky["verdict"], leaky["measured"]) == (P, A.LEAKY)
    # A 3-logit gap: end attractors, nothing between.
    assert C.judge_line_attractor(figures(gap=3.0))["verdict"] == X
    # Every point above 0: one-sided.
    one = C.judge_line_attractor(figures(lo=1.0, hi=6.0))
    assert (one["verdict"], one["measured"]) == (X, A.ONE_SIDED)
    assert C.judge_line_attractor(None)["verdict"] == NM


# ---- B: low-dimensional states -------------------------------------------------------------------------------
def test_low_dimensional_rule():
    r = C.judge_low_dimensional([0.6, 0.15, 0.1, 0.05])        # top 3: 0.85 >= 0.80
    assert r["verdict"] == R and r["measured"] == pytest.approx(0.85)
    r = C.judge_low_dimensional([0.4, 0.2, 0.05])              # 0.65: at least 0.50, under 0.80
    assert r["verdict"] == P and r["measured"] == pytest.approx(0.65)
    assert C.judge_low_dimensional([0.2, 0.1, 0.1])["verdict"] == X     # 0.40
    assert C.judge_low_dimensional([0.9])["verdict"] == R                # only one stored: top 1
    assert C.judge_low_dimensional(None)["verdict"] == NM
    assert C.judge_low_dimensional([])["verdict"] == NM


# ---- A: negators ---------------------------------------------------------------------------------------------
def test_negator_rule_flip_suppress_attenuate_nothing():
    flip = C.judge_negators([mod("not", "negator", -1.8, (-1.9, -1.6))])     # M(1) -0.8 [-0.9, -0.6]
    assert flip["verdict"] == R
    assert flip["measured"] == pytest.approx(-0.8) and flip["interval"] == pytest.approx([-0.9, -0.6])
    suppress = C.judge_negators([mod("not", "attenuator", -0.8, (-0.85, -0.78))])   # M(1) 0.2 [0.15, 0.22]
    assert suppress["verdict"] == R
    attenuate = C.judge_negators([mod("not", "attenuator", -0.6, (-0.65, -0.55))])  # M(1) 0.4 [0.35, 0.45]
    assert attenuate["verdict"] == P and attenuate["measured"] == pytest.approx(0.4)
    slight = C.judge_negators([mod("not", "attenuator", -0.05, (-0.08, -0.02))])    # M(1) 0.95: under 10% weaker
    assert slight["verdict"] == X
    amplify = C.judge_negators([mod("not", "intensifier", 0.5, (0.4, 0.6))])
    assert amplify["verdict"] == X
    none = C.judge_negators([mod("very", "intensifier", 0.5, (0.4, 0.6))])
    assert none["verdict"] == X and none["measured"] is None
    assert C.judge_negators(None)["verdict"] == NM


def test_negator_rule_picks_not_then_the_strongest_known_and_caps_unknown_words():
    # "not" is judged where listed, even when another negator flips harder.
    r = C.judge_negators([mod("never", "negator", -1.9, (-2.0, -1.8)), mod("not", "attenuator", -0.6, (-0.65, -0.55))])
    assert r["figures"]["word"] == "not" and r["verdict"] == P
    # Without "not": the known negator with the lowest M(1).
    r = C.judge_negators([mod("no", "attenuator", -0.6, (-0.65, -0.55)), mod("never", "negator", -1.5, (-1.6, -1.4))])
    assert r["figures"]["word"] == "never" and r["verdict"] == R
    # A word of class negator that is not a known negator flips: at most partly.
    r = C.judge_negators([mod(";", "negator", -1.3, (-1.4, -1.2))])
    assert r["figures"]["word"] == ";" and r["verdict"] == P


def test_negator_rule_uses_the_exact_strength_and_its_confirmation():
    # strength_exact (the real recurrence) wins over the linearised strength, and says so.
    m = mod("not", "attenuator", -0.6, (-0.65, -0.55), strength_exact=-1.5, strength_exact_ci=[-1.6, -1.4])
    r = C.judge_negators([m])
    assert r["verdict"] == R and r["measured"] == pytest.approx(-0.5) and r["field"] == "strength_exact"
    r = C.judge_negators([mod("not", "attenuator", -0.6, (-0.65, -0.55), strength_exact=None)])
    assert r["field"] == "strength" and r["measured"] == pytest.approx(0.4)
    # Flips by the figure, but the exact measure does not confirm the word: partly.
    r = C.judge_negators([mod("not", "negator", -1.8, (-1.9, -1.6), confirmed_exact=False)])
    assert r["verdict"] == P


# ---- A: intensifiers -----------------------------------------------------------------------------------------
def test_intensifier_rule():
    r = C.judge_intensifiers([mod("very", "intensifier", 0.5, (0.3, 0.7))])       # M(1) 1.5 [1.3, 1.7]
    assert r["verdict"] == R and r["measured"] == pytest.approx(1.5)
    assert C.judge_intensifiers([mod("very", "intensifier", 0.08, (0.03, 0.12))])["verdict"] == P  # [1.03, 1.12]
    assert C.judge_intensifiers([mod("very", "attenuator", -0.2, (-0.3, -0.1))])["verdict"] == X
    # Only a word that is not a known intensifier amplifies: partly, and it is the one judged.
    r = C.judge_intensifiers([mod("but", "intensifier", 1.4, (1.3, 1.5)), mod("not", "negator", -1.8, (-1.9, -1.7))])
    assert r["verdict"] == P and r["figures"]["word"] == "but"
    assert C.judge_intensifiers([mod("not", "negator", -1.8, (-1.9, -1.7))])["verdict"] == X
    assert C.judge_intensifiers(None)["verdict"] == NM


# ---- A: transient modifiers ----------------------------------------------------------------------------------
def timed(word: str, tau: float, r2: float = 0.9, strength: float = -0.6) -> dict:
    return mod(word, "attenuator", strength, (strength - 0.05, strength + 0.05), timescale=tau, fit_r2=r2)


def test_transient_rule():
    mods = [timed("not", 4.0), timed("very", 1.0)]
    r = C.judge_transient(mods, 1000.0)                        # median 2.5 tokens, ratio 0.0025
    assert r["verdict"] == R and r["measured"] == pytest.approx(2.5)
    assert C.judge_transient(mods, None)["verdict"] == R       # an infinite integration timescale
    assert C.judge_transient([timed("a", 40.0), timed("b", 60.0)], 100.0)["verdict"] == P    # ratio 0.5
    # One of three described by a decay (the others' fits R2 0.1): short, but mostly not decaying: partly.
    r = C.judge_transient([timed("a", 3.0), timed("b", 3.0, r2=0.1), timed("c", 3.0, r2=0.1)], 1000.0)
    assert r["verdict"] == P and r["figures"]["fitted_share"] == pytest.approx(1 / 3)
    assert C.judge_transient([timed("a", 200.0)], 100.0)["verdict"] == X     # outlasts the integration
    assert C.judge_transient([timed("a", 3.0, r2=0.2)], 1000.0)["verdict"] == X   # nothing decays
    assert C.judge_transient([], 1000.0)["verdict"] == NA
    assert C.judge_transient([timed("a", 3.0, strength=0.04)], 1000.0)["verdict"] == NA   # no effect of note
    assert C.judge_transient(None, 1000.0)["verdict"] == NM
    assert C.judge_transient(mods, None, measured=False)["verdict"] == NM


# ---- A: modifier subspace ------------------------------------------------------------------------------------
def test_silhouette_and_purity_by_hand():
    # Two classes 10 apart, each a vertical pair 1 apart: every point has a = 1, b = (10 + sqrt(101)) / 2.
    pts = [[0, 0], [0, 1], [10, 0], [10, 1]]
    assert C.silhouette(pts, ["n", "n", "i", "i"]) == pytest.approx(1 - 2 / (10 + math.sqrt(101)))
    # Interleaved on a line (n at 0, 2; i at 1, 3): s = 0, -1/2, -1/2, 0.
    assert C.silhouette([[0, 0], [2, 0], [1, 0], [3, 0]], ["n", "n", "i", "i"]) == pytest.approx(-0.25)
    # A point alone in its class counts 0.
    # (0,0): a = 1, b = 5; (0,1): a = 1, b = sqrt(26); (5,0): alone.
    assert C.silhouette([[0, 0], [0, 1], [5, 0]], ["n", "n", "i"]) == pytest.approx((0.8 + 1 - 1 / math.sqrt(26)) / 3)
    with pytest.raises(ValueError):
        C.silhouette([[0, 0], [1, 0]], ["n", "n"])
    assert C.cluster_purity([0, 0, 1, 1], ["n", "n", "i", "i"]) == 1.0
    assert C.cluster_purity([0, 0, 0, 1], ["n", "i", "i", "i"]) == pytest.approx(0.75)


def placed(points, classes, strength=-0.6) -> list[dict]:
    return [mod(f"w{i}", c, strength, (strength - 0.05, strength + 0.05), pc=list(p), cluster=int(c == "intensifier"))
            for i, (p, c) in enumerate(zip(points, classes))]


def test_subspace_rule():
    two = ["negator", "negator", "intensifier", "intensifier"]
    r = C.judge_subspace(placed([[0, 0], [0, 1], [10, 0], [10, 1]], two))
    assert r["verdict"] == R and r["figures"]["cluster_purity"] == 1.0
    # (0,0), (0,2) vs (3,0), (3,2): a = 2, b = (3 + sqrt(13)) / 2, s = 0.39
    r = C.judge_subspace(placed([[0, 0], [0, 2], [3, 0], [3, 2]], two))
    assert r["verdict"] == P and r["measured"] == pytest.approx(1 - 4 / (3 + math.sqrt(13)))
    assert C.judge_subspace(placed([[0, 0], [2, 0], [1, 0], [3, 0]], two))["verdict"] == X
    assert C.judge_subspace(placed([[0, 0], [0, 1], [10, 0]], two[:3]))["verdict"] == NA        # 3 modifiers
    assert C.judge_subspace(placed([[0, 0], [0, 1], [10, 0], [10, 1]], ["negator"] * 4))["verdict"] == NA
    assert C.judge_subspace(placed([[0, 0], [0, 1], [10, 0], [10, 1]], two, strength=0.03))["verdict"] == NA
    assert C.judge_subspace(None)["verdict"] == NM


# ---- A: position ---------------------------------------------------------------------------------------------
def side(varies: bool) -> dict:
    return ({"varies": True, "asymptote": 1.0, "amplitude": 0.5, "timescale": 8.0, "r2": 0.9} if varies else
            {"varies": False, "asymptote": 1.0, "amplitude": None, "timescale": None, "r2": None})


def test_position_rule():
    r = C.judge_position({"begin": side(True), "end": side(True)})
    assert r["verdict"] == R and r["measured"] == 2
    assert C.judge_position({"begin": side(True), "end": side(False)})["verdict"] == P
    assert C.judge_position({"begin": side(False), "end": side(False)})["verdict"] == X
    # An analysis stored before the logit-unit curves (ratios to v0, no `varies`): not measured.
    old = {"begin": {"curve": [1.2, 1.1], "amplitude": 0.2, "timescale": 5.0, "fit_r2": 0.9},
           "end": {"curve": [1.0, 1.0], "amplitude": 0.0, "timescale": 1.0, "fit_r2": 0.1}}
    assert C.judge_position(old)["verdict"] == NM
    assert C.judge_position(None)["verdict"] == NM


# ---- A: the augmented bag-of-words ---------------------------------------------------------------------------
def test_augmented_bow_rule():
    r = C.judge_augmented_bow({"gap_recovered": 0.95, "gap_ci": [0.91, 0.99], "data": "toy:test"})
    assert r["verdict"] == R and r["interval"] == [0.91, 0.99]
    assert C.judge_augmented_bow({"gap_recovered": 0.6, "gap_ci": [0.5, 0.8]})["verdict"] == X
    assert C.judge_augmented_bow({"gap_recovered": 0.95, "gap_ci": [0.7, 1.1]})["verdict"] == P
    assert C.judge_augmented_bow({"gap_recovered": 0.5, "gap_ci": [-3.0, 2.0], "gap_too_small": True})["verdict"] == NA
    nan = float("nan")
    assert C.judge_augmented_bow({"gap_recovered": 0.95, "gap_ci": [nan, nan]})["verdict"] == P
    assert C.judge_augmented_bow({"gap_recovered": 0.5, "gap_ci": [nan, nan]})["verdict"] == X
    assert C.judge_augmented_bow(None)["verdict"] == NM


# ---- the ledger ----------------------------------------------------------------------------------------------
FIELDS = {"key", "title", "claim", "paper", "measured", "measured_text", "interval", "interval_text", "verdict",
          "rule", "why", "source", "figures"}


def test_assess_with_nothing_stored_is_not_measured_throughout():
    out = C.assess({"summary": None, "attractor": None, "modifiers": None, "position": None, "gap": None})
    assert [e["key"] for e in out] == [c.key for c in C.CLAIMS]
    assert all(FIELDS <= set(e) for e in out)
    assert {e["verdict"] for e in out} == {NM}


def test_assess_where_the_modifier_analysis_does_not_apply():
    """Where the integration mode does not reach the readout, whatever is stored for modifiers and position is not a
    measurement: those claims do not apply (with the reason); the attractor is still judged."""
    material = {"summary": {"pc_variance_explained": [0.9, 0.05, 0.01]}, "attractor": figures(lo=6.0, hi=6.2),
                "modifiers": {"modifiers": [mod("not", "negator", -1.8, (-1.9, -1.6))]},
                "position": {"begin": side(True), "end": side(True)}, "gap": None,
                "not_applicable": "the integration mode at the reference point does not reach the readout"}
    by = {e["key"]: e for e in C.assess(material)}
    assert by["line-attractor"]["verdict"] == X and by["low-dimensional"]["verdict"] == R
    for key in ("negators", "intensifiers", "transient", "subspace", "position"):
        assert by[key]["verdict"] == NA and "does not reach the readout" in by[key]["why"]
    assert by["augmented-bow"]["verdict"] == NM
    # Modifiers measured on the network itself (valence and screen exact) are a measurement there; position is not.
    material["modifiers"] = dict(material["modifiers"], valence_measure="exact")
    by = {e["key"]: e for e in C.assess(material)}
    assert by["negators"]["verdict"] == R and by["position"]["verdict"] == NA


def test_every_verdict_is_reachable():
    seen = {C.judge_line_attractor(figures())["verdict"], C.judge_line_attractor(figures(share=0.2))["verdict"],
            C.judge_line_attractor(figures(gap=3.0))["verdict"], C.judge_subspace(placed([[0, 0]], ["negator"]))["verdict"],
            C.judge_line_attractor(None)["verdict"]}
    assert seen == set(C.VERDICTS)


def test_every_claim_states_its_rule_with_the_verdicts_it_gives():
    for c in C.CLAIMS:
        assert c.paper in C.PAPERS and c.rule and c.claim
        assert C.NOT_MEASURED in c.rule and (C.REPRODUCED in c.rule) and (C.CONTRADICTED in c.rule)


# ---- end to end: the toy GRU through the command line --------------------------------------------------------
@pytest.fixture
def shipped_only(tmp_path, monkeypatch):
    """An empty analysis cache and data root: only what models/toy-gru ships can be read."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path / "data"))


def test_toy_gru_ledger_through_the_cli(shipped_only, capsys):
    """The toy language's grammar knows the answers: "not" flips the sign of the next tokens (M(1) < 0), "very"
    doubles the next one (M(1) > 1), the only two modifiers (too few for a subspace), "not"'s effect lasting about
    4 tokens against an integration that holds the sum over a whole text; the toy GRU meets the line-attractor
    rule (the one network built to integrate)."""
    assert main(["claims", "toy-gru", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and [e["key"] for e in out] == [c.key for c in C.CLAIMS]
    assert all(FIELDS <= set(e) and e["verdict"] in C.VERDICTS for e in out)
    by = {e["key"]: e for e in out}
    assert by["line-attractor"]["verdict"] != NM, \
        "toy-gru's analyses are not stored at this engine's keys: re-ship it (python -m core ship toy-gru)"
    neg, inten = by["negators"], by["intensifiers"]
    assert neg["verdict"] == R and neg["figures"]["word"] == "not"
    assert neg["measured"] < 0 and neg["interval"][1] < 0                    # flips, with confidence
    assert inten["verdict"] == R and inten["figures"]["word"] == "very" and inten["interval"][0] > 1
    assert by["subspace"]["verdict"] == NA                                   # two modifiers
    assert by["transient"]["verdict"] == R and 1.0 < by["transient"]["figures"]["timescales"]["not"] < 10.0
    assert by["line-attractor"]["verdict"] == R


def test_the_cli_table_and_a_bag_of_words_refused(shipped_only, capsys):
    assert main(["claims", "toy-gru", "--rules"]) == 0
    text = capsys.readouterr().out
    for c in C.CLAIMS:
        assert c.title in text and c.rule in text
    assert main(["claims", "toy-bow", "--json"]) == 2
    assert "recurrent networks" in capsys.readouterr().err


def test_a_papers_word_measured_but_not_listed_is_judged_with_its_null_as_a_cap():
    """'not' at M(1) 0.30 [0.28, 0.32], measured on the network but not standing out from negative words of its
    valence (class none): it attenuates, so partly (not contradicted for want of a listing), and the why says it
    does not stand out from its matched null."""
    known = [{"word": "not", "class": "none", "m1": 0.30, "low": 0.28, "high": 0.32}]
    r = C.judge_negators([], known)
    assert r["verdict"] == C.PARTLY and r["measured"] == pytest.approx(0.30)
    assert "ordinary words of its own valence" in r["why"]
    flip = C.judge_negators([], [{"word": "not", "class": "negator", "m1": -0.9, "low": -0.95, "high": -0.85}])
    assert flip["verdict"] == C.REPRODUCED
    assert C.judge_negators([], [])["verdict"] == C.CONTRADICTED
