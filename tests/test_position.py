"""Position effects in logits (METHOD section 5), against known answers: designed linear networks whose end curve
is worked out by hand, hand-made curves for the free-asymptote fit and the flat-within-noise rule, the window rule,
and the toy language, which has no position effect at all."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis import position as P
from core.analysis.api import position
from core.analysis.settings import Settings
from core.tools.cli import main


class DiagonalRNN(nn.Module):
    """h' = diag(lam) h + A x, readout y = w . h: a word's effect after k neutral (zero) inputs is w . diag(lam)^k A x,
    and the same wherever it stands (a linear network has no beginning effect)."""

    def __init__(self, lam, A):
        super().__init__()
        self.lam = torch.tensor(lam, dtype=torch.float64)
        self.A = torch.tensor(A, dtype=torch.float64)
        self.embedding = nn.Embedding(2, self.A.shape[1]).double()   # x* = 0 (neutral_input reads its width)
        self.h0 = torch.zeros(len(lam), dtype=torch.float64)

    def step(self, h, x):
        return h * self.lam + x @ self.A.T


def linear_curves(lam, A, w, n, relax_steps=5):
    """Both sides on the designed network, for five 1-d probe inputs of sizes 0.9..1.1 (two negative)."""
    model = DiagonalRNN(lam, A)
    x = torch.tensor([[0.9], [1.0], [1.1], [-0.95], [-1.05]], dtype=torch.float64)
    w = torch.tensor(w, dtype=torch.float64)
    sign = torch.sign(x[:, 0] * float(w @ model.A[:, 0]))
    begin, end = P.position_curves(model, lambda h: h @ w, model.h0, model.h0, x, sign, relax_steps, n)
    return P.describe_curve(begin, 1, "p"), P.describe_curve(end, 0, "k")


def test_a_leaky_integrator_decays_to_zero_with_its_eigenvalue_timescale():
    """One mode, lambda = 0.8: end(k) = |x| 0.8^k exactly, median |x| = 1, so c = 0, a = 1, tau = -1/ln 0.8."""
    begin, end = linear_curves([0.8], [[1.0]], [1.0], n=30)
    assert np.allclose(end["curve"], 0.8 ** np.arange(30), atol=1e-12)
    assert end["varies"] and end["units"] == "logit"
    assert end["asymptote"] == pytest.approx(0.0, abs=0.01)
    assert end["amplitude"] == pytest.approx(1.0, abs=0.02)
    assert end["timescale"] == pytest.approx(-1 / math.log(0.8), rel=0.02) and end["r2"] > 0.999
    assert end["fit_r2"] == end["r2"] and not end["timescale_at_limit"]
    # the interval across probes is [min, max] of five: 0.9 and 1.1 times the curve
    assert np.allclose(end["low"], 0.9 * 0.8 ** np.arange(30)) and np.allclose(end["high"], 1.1 * 0.8 ** np.arange(30))
    # a linear network reads a word the same at every position: no beginning effect
    assert np.allclose(begin["curve"], 0.8 ** 5, atol=1e-12)            # read after 5 relax steps
    assert not begin["varies"] and begin["timescale"] is None and begin["r2"] is None and begin["amplitude"] is None
    assert begin["asymptote"] == pytest.approx(0.8 ** 5)


def test_an_integrator_plus_a_transient_has_the_integrators_asymptote():
    """Modes 1 (a perfect integrator) and 0.6, the word writing 0.5 and 1.0 into them: end(k) = 0.5 + 0.6^k, a
    free asymptote of 0.5 that a fit forced to decay to 0 (or to 1) would miss."""
    begin, end = linear_curves([1.0, 0.6], [[0.5], [1.0]], [1.0, 1.0], n=20)
    assert np.allclose(end["curve"], 0.5 + 0.6 ** np.arange(20), atol=1e-12)
    assert end["varies"]
    assert end["asymptote"] == pytest.approx(0.5, abs=0.01)
    assert end["amplitude"] == pytest.approx(1.0, abs=0.02)
    assert end["timescale"] == pytest.approx(-1 / math.log(0.6), rel=0.02) and end["r2"] > 0.999
    assert not begin["varies"] and begin["asymptote"] == pytest.approx(0.5 + 0.6 ** 5)


@pytest.mark.parametrize("c, a, tau, x0", [(0.3, -0.7, 6.0, 0), (2.0, 1.5, 2.5, 1), (-0.4, 0.9, 15.0, 0)])
def test_the_free_asymptote_fit_recovers_a_hand_made_curve(c, a, tau, x0):
    x = np.arange(40) + x0
    fit = P.fit_free_decay(c + a * np.exp(-(x - x0) / tau), x0=x0)
    assert fit["asymptote"] == pytest.approx(c, abs=0.02)
    assert fit["amplitude"] == pytest.approx(a, abs=0.02)
    assert fit["timescale"] == pytest.approx(tau, rel=0.02) and fit["r2"] > 0.9999


def test_a_decay_slower_than_the_window_is_held_at_the_windows_length():
    """Within 10 points a tau of 500 is a straight line: the grid stops at tau_max and says so."""
    fit = P.fit_free_decay(1 + np.exp(-np.arange(10) / 500.0), tau_max=10.0)
    assert fit["timescale"] <= 10.0 and fit["timescale_at_limit"]


def test_a_flat_noisy_curve_gets_no_timescale():
    """100 probe words whose effects differ by word (sd 0.3 logits) and jitter a little by position (sd 0.01): the
    median moves far less than the words disagree, so the curve is flat within noise: no amplitude, timescale
    or R^2, its level about 1."""
    rng = np.random.default_rng(0)
    effects = rng.normal(1.0, 0.3, 100)[None, :] + rng.normal(0.0, 0.01, (30, 100))
    side = P.describe_curve(torch.from_numpy(effects), 1, "p")
    assert side["range"] < side["noise"]
    assert not side["varies"]
    assert side["timescale"] is None and side["r2"] is None and side["amplitude"] is None
    assert side["asymptote"] == pytest.approx(1.0, abs=0.1)
    assert "flat within noise" in P.describe_fit(side)
    # the same words with a decay of 1 logit added at the start vary beyond that noise
    decayed = effects + np.exp(-np.arange(30) / 3.0)[:, None]
    side = P.describe_curve(torch.from_numpy(decayed), 1, "p")
    assert side["varies"] and side["timescale"] == pytest.approx(3.0, rel=0.15)


def test_the_augmented_bow_gets_amplitudes_relative_to_the_asymptote():
    """g(t) multiplies a word's weight: a side at c + a exp(-x/tau) counts (c + a) / c at its first position, so the
    BoW's amplitude is a / c; a flat side, or one whose fit does not describe it, gives no term."""
    varies = {"varies": True, "asymptote": 0.5, "amplitude": 0.25, "timescale": 3.0, "fit_r2": 0.9, "r2": 0.9}
    flat = {"varies": False, "asymptote": 0.5, "amplitude": None, "timescale": None, "fit_r2": None, "r2": None}
    assert P.bow_position({"begin": varies, "end": flat}) == {"begin": {"amplitude": 0.5, "timescale": 3.0},
                                                              "end": {"amplitude": 0.0, "timescale": 10.0}}
    poor = {**varies, "fit_r2": 0.2, "r2": 0.2}
    assert P.bow_position({"begin": poor, "end": poor})["end"] == {"amplitude": 0.0, "timescale": 10.0}


@pytest.mark.parametrize("doc, n", [(7.0, 10), (20.4, 20), (211.0, 211), (1200.0, 250), (None, 50)])
def test_the_window_follows_the_median_document(doc, n):
    assert P.window({"median_doc_tokens": doc}) == n


def test_the_position_key_has_a_version():
    s = Settings.of("toy-gru")
    assert s.position_key(None)["version"] >= 1 and s.position_key(None) != s.position_key(50)


@pytest.fixture(scope="module")
def toy_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SENTIMENT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


def test_the_toy_has_no_position_effect(toy_cache, capsys):
    """The toy language's sentiment is the sum of its words' valences, wherever they stand: both curves in logits
    are flat within their noise, so no timescale is reported (only the level, a positive magnitude), over the
    window of the toy's median document. The CLI prints the same result."""
    res = position(Settings.of("toy-gru", n_seeds=300))
    assert res["units"] == "logit" and res["window"] == P.window({"median_doc_tokens": res["median_doc_tokens"]})
    for side in ("begin", "end"):
        r = res[side]
        assert len(r["curve"]) == res["window"] == len(r["low"]) == len(r["high"])
        assert not r["varies"], (side, r["range"], r["noise"])
        assert r["timescale"] is None and r["r2"] is None and r["amplitude"] is None
        assert r["asymptote"] > 0 and all(lo <= m <= hi for lo, m, hi in zip(r["low"], r["curve"], r["high"]))
    capsys.readouterr()
    assert main(["position", "toy-gru", "--n-seeds", "300", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {k: printed["end"][k] for k in ("asymptote", "amplitude", "timescale", "r2", "varies")} == \
        {k: res["end"][k] for k in ("asymptote", "amplitude", "timescale", "r2", "varies")}


def test_the_curve_does_not_step_where_probe_words_cross():
    """Designed: 100 probe words with smooth curves over 60 positions, 90 decaying from levels spread around 1
    (c_i + 0.5 exp(-(p-1)/30)) and 10 rising slowly (0.01 a position) through the middle of the others, one after
    another. The plain sample median follows whichever word sits at the middle rank, so it rises while a rising word
    is there and kinks where words cross: steps no word has (what drew imdb-lstm's beginning curve up between
    p = 33 and 42). The position curve (the Harrell-Davis median) falls wherever nine words in ten fall, and bends
    about as gently as the words themselves."""
    from core.analysis.modulation import median_interval
    p = np.arange(1, 61)[:, None]
    bulk = np.linspace(0.5, 1.5, 90)[None, :] + 0.5 * np.exp(-(p - 1) / 30)
    starts = np.linspace(5, 55, 10)[None, :]
    rising = 1.0 + 0.5 * np.exp(-(starts - 1) / 30) + 0.01 * (p - starts)
    effects = torch.from_numpy(np.concatenate([bulk, rising], 1))
    sample = median_interval(effects)[0].numpy()
    assert np.diff(sample).max() > 0.005                   # the design has the artefact: the sample median rises
    side = P.describe_curve(effects, 1, "p")
    curve = np.array(side["curve"])
    assert np.diff(curve).max() < 0                         # the curve falls at every position, as 90% of words do
    words_bend = np.abs(np.diff(effects.numpy(), 2, axis=0)).max()
    assert np.abs(np.diff(curve, 2)).max() < min(2 * words_bend, np.abs(np.diff(sample, 2)).max() / 5)
    assert (np.array(side["low"]) <= curve).all() and (curve <= np.array(side["high"])).all()
    assert side["varies"]
