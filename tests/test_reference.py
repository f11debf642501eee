"""A trustworthy anchor for the analyses (METHOD sections 2-4): stable reference points, slow points,
drift, unstable modes, the data-driven modifier classes and their statistics, on designed systems whose
answers are known by hand."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis import dynamics as D
from core.analysis import modifiers as MOD
from core.experiments.train import insert_neutral


class Designed(nn.Module):
    """A hand-built recurrent map with known fixed points; readout y = h[0]."""

    def __init__(self, step_fn, n=2, d=2):
        super().__init__()
        self.step_fn = step_fn
        self.embedding = nn.Embedding(4, d).double()
        self.h0 = nn.Parameter(torch.zeros(n, dtype=torch.float64))
        self.state_size = n

    def step(self, h, x):
        return self.step_fn(h, x)

    def logit_of_state(self, h):
        return h[..., 0]


def bistable(h, x):
    """h' = tanh(diag(2, 0.5) h): fixed points 0 (unstable, lambda = 2) and (+-h*, 0) with h* = tanh(2 h*)."""
    return torch.tanh(h * torch.tensor([2.0, 0.5], dtype=h.dtype) + 0.0 * x[..., :2])


H_STAR = 0.957504  # root of h = tanh(2h)


def test_unstable_fixed_point_is_flagged_and_never_the_reference():
    model = D.as_float64(Designed(bistable))
    seeds = torch.tensor([[1e-4, 1e-4], [-2e-4, 1e-4], [0.8, 0.1], [-0.9, -0.1], [0.99, 0.0]], dtype=torch.float64)
    fp = D.find_fixed_points(model, seeds)
    pts = fp["points"]
    readout = model.logit_of_state(pts)
    assert sorted(np.round(readout.numpy(), 4).tolist()) == pytest.approx([-H_STAR, 0.0, H_STAR], abs=1e-3)
    lam1, *_ = D._top_modes(D._batched_jacobians(model, pts))
    at_zero = int(torch.argmin(readout.abs()))
    assert abs(lam1[at_zero]) == pytest.approx(2.0, abs=1e-3)             # the unstable point, found ...
    ref, stable = D.choose_reference(readout, lam1)
    assert stable and ref != at_zero                                     # ... and never the reference
    assert abs(float(readout[ref])) == pytest.approx(H_STAR, abs=1e-3)
    assert abs(lam1[ref]) == pytest.approx(max(2 * (1 - H_STAR ** 2), 0.5), abs=1e-6)  # both modes decay
    # With only the unstable point available, it is chosen but flagged.
    ref, stable = D.choose_reference(readout[at_zero:at_zero + 1], lam1[at_zero:at_zero + 1])
    assert ref == 0 and not stable


def test_unstable_mode_has_a_growth_time_not_an_infinite_timescale():
    assert np.isinf(D.timescales(np.array([1.0]))).all()
    assert np.isnan(D.timescales(np.array([1.0 + 1e-9, 2.0]))).all()
    t = D.mode_time(2.0)
    assert t["unstable"] and t["timescale"] is None and t["growth"] == pytest.approx(1 / math.log(2))
    t = D.mode_time(math.exp(-1 / 5))
    assert not t["unstable"] and t["timescale"] == pytest.approx(5.0) and t["growth"] is None
    assert D.mode_time(1.0)["timescale"] is None and not D.mode_time(1.0)["unstable"]


def test_slow_point_is_kept_apart_from_fixed_points():
    """h' = h + a + h^2 (first coordinate) has no fixed point for a > 0, but a ghost at h = 0 where it
    moves by a per step: q = a^2 there, between the fixed-point and the slow-point tolerances."""
    a = 3e-4

    def ghost(h, x):
        return torch.stack([h[..., 0] + a + h[..., 0] ** 2, 0.5 * h[..., 1]], dim=-1) + 0.0 * x[..., :2]

    model = D.as_float64(Designed(ghost))
    fp = D.find_fixed_points(model, torch.tensor([[0.01, 0.1], [-0.01, 0.0], [0.005, -0.1]], dtype=torch.float64))
    assert fp["points"].shape[0] == 0
    q = fp["slow_q"]
    assert fp["slow_points"].shape[0] >= 1 and bool(((q >= D.Q_TOL) & (q < D.SLOW_TOL)).all())
    k = int(torch.argmin(q))                                              # the ghost itself ...
    assert float(fp["slow_points"][k, 0]) == pytest.approx(0.0, abs=1e-3)
    assert float(q[k]) == pytest.approx(a ** 2 / 2, rel=0.05)             # q = (1/N) ||r||^2 with N = 2


def test_drift_counts_neutral_tokens_per_logit():
    """A uniform drift of c per step along the readout takes ceil(1 / c) steps to move one logit; a
    fixed point never moves (capped at DRIFT_MAX)."""
    c = 8e-4
    model = D.as_float64(Designed(lambda h, x: h + torch.tensor([c, 0.0], dtype=h.dtype) + 0.0 * x[..., :2]))
    tokens, capped = D.drift(model, torch.zeros(3, 2, dtype=torch.float64))
    assert tokens == pytest.approx(1 / c, abs=1.0) and capped == 0.0
    still = D.as_float64(Designed(lambda h, x: 0.5 * h + 0.0 * x[..., :2]))
    tokens, capped = D.drift(still, torch.zeros(2, 2, dtype=torch.float64))
    assert tokens == D.DRIFT_MAX and capped == 1.0


def test_free_asymptote_fit_recovers_a_known_curve():
    """M(k) = 0.6 - 1.4 exp(-(k-1)/3): the fit finds the asymptote, amplitude and timescale (an asymptote forced
    to 1 could not); a flat curve has no R^2."""
    k = np.arange(20)
    f = MOD.fit_free_decay(0.6 - 1.4 * np.exp(-k / 3.0))
    assert f["asymptote"] == pytest.approx(0.6, abs=1e-3) and f["amplitude"] == pytest.approx(-1.4, abs=1e-2)
    assert f["timescale"] == pytest.approx(3.0, rel=0.02) and f["r2"] > 0.999
    assert math.isnan(MOD.fit_free_decay(np.full(20, 0.8))["r2"])


def test_median_interval_order_statistics():
    """For n = 101 ratios 1..101 the median is 51 and the 95% interval the 41st and 61st values."""
    r = torch.arange(1, 102, dtype=torch.float64)[None]
    med, lo, hi = MOD.median_interval(r[:, torch.randperm(101)])
    assert float(med) == 51 and float(lo) == 41 and float(hi) == 61


def test_mode_timescale_is_the_mean_lifetime_of_the_linearised_effect():
    """Contributions 1 and 3 on modes with tau 1 and 2: the effect 1 e^(-k) + 3 e^(-k/2) has area 1 + 6 over
    height 4, 1.75 tokens; the marginal mode (|lambda| = 1) and an unstable one are left out; a complex
    pair counts through its real sum; contributions that cancel give null."""
    lam = np.array([1.0, math.exp(-1.0), math.exp(-0.5), 1.5])
    assert MOD.mode_timescale(np.array([5.0, 1.0, 3.0, 2.0]), lam) == pytest.approx(1.75)
    assert MOD.mode_timescale(np.array([1.0, 0.0, 0.0, 1.0]), lam) is None
    assert MOD.mode_timescale(np.array([0.0, 1.0, -1.0, 0.0]), lam) is None
    z = math.exp(-1 / 4) * np.exp(1j * np.array([0.3, -0.3]))                   # tau 4, a conjugate pair
    assert MOD.mode_timescale(np.array([1 + 1j, 1 - 1j]), z) == pytest.approx(4.0)


def test_mode_effect_spearman_comes_with_its_interval():
    """Ranks that agree give 1; one swapped pair among six gives 0.94 with a bootstrap interval that reaches far
    below it (six words say little); a curve without a timescale (R^2 under 0.5) or without a mode timescale is
    left out; under 3 pairs: no figure."""
    mods = [{"timescale": t, "mode_timescale": m, "fit_r2": r} for t, m, r in
            [(1, 2, 0.9), (2, 3, 0.9), (3, 10, 0.9), (5, 11, 0.9), (4, None, 0.9), (6, 1, 0.1)]]
    assert MOD.mode_effect_spearman(mods)[0] == pytest.approx(1.0)
    swapped = [{"timescale": t, "mode_timescale": m, "fit_r2": 0.9} for t, m in
               [(1, 2), (2, 3), (3, 5), (4, 4.5), (5, 8), (6, 9)]]
    rho, ci = MOD.mode_effect_spearman(swapped)
    assert rho == pytest.approx(1 - 6 * 2 / (6 * 35)) and ci[0] < 0.6 and ci[0] <= rho <= ci[1]
    assert MOD.mode_effect_spearman(mods[:2]) == (None, None)


def test_insert_neutral_adds_zero_inputs_inside_the_sequence():
    rng = np.random.default_rng(0)
    seq = [5, 6, 7, 8]
    lengths = set()
    for _ in range(200):
        out = insert_neutral(seq, 3, rng)
        assert [t for t in out if t != 0] == seq and len(out) - len(seq) <= 3
        lengths.add(len(out))
    assert lengths == {4, 5, 6, 7}
    assert insert_neutral(seq, 0, rng) == seq and insert_neutral([], 5, rng) == []


def test_reference_skips_points_whose_integration_mode_misses_the_readout():
    """A stable point at readout 0.1 whose slowest mode is orthogonal to the readout (|w . r_1| = 0.01 while
    the attractor's median is 1) would make every v ~ 0 and every ratio noise: the next one is chosen."""
    readout = torch.tensor([-2.0, 0.1, 0.6, 3.0], dtype=torch.float64)
    lam1 = np.array([0.99, 0.999, 0.995, 0.99])
    gain = np.array([1.0, 0.01, 0.9, 1.1])
    assert D.choose_reference(readout, lam1, gain) == (2, True)
    assert D.choose_reference(readout, lam1) == (1, True)
