"""Attractor figures and the verdict on what may be called a line attractor (core.analysis.attractor), on
hand-worked eigenvalues and readouts, a designed linear network whose drift is known, and the shipped networks."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis import attractor as A
from core.analysis.dynamics import stored_dynamics
from core.analysis.settings import Settings
from core.models.store import load_model


def test_integration_mode_apart_from_the_slowest_transient():
    # A marginal mode a hair above 1 is the integration mode (labelled), not dropped; the transient is the next.
    f = A.integration_figures(np.array([0.9, 1.0005, 0.5, 0.99 + 0.01j, 0.99 - 0.01j]))
    assert f["integration_lambda"] == pytest.approx(1.0005) and f["integration_kind"] == "marginal"
    assert f["integration_timescale"] == pytest.approx(1 / math.log(1.0005))
    assert f["slowest_transient_timescale"] == pytest.approx(-1 / math.log(abs(0.99 + 0.01j)))
    # A rotating integration pair: its conjugate is not taken for the slowest transient.
    f = A.integration_figures(np.array([0.999 + 0.02j, 0.999 - 0.02j, 0.8]))
    assert f["slowest_transient_timescale"] == pytest.approx(-1 / math.log(0.8))
    assert A.integration_figures(np.array([1.01, 0.5]))["integration_kind"] == "growing"
    assert A.integration_figures(np.array([0.9, 0.5]))["integration_kind"] == "decaying"
    assert A.integration_figures(np.array([1.0, 0.5]))["integration_timescale"] is None   # no decay at all


def test_gaps_count_where_the_readout_is_in_play():
    f = A.gap_figures(np.array([-3.0, -2.5, 1.0, 1.5, 3.9, 4.5, 20.0, 30.0]))   # 4.5 .. 20: out of play
    assert f["largest_readout_gap"] == pytest.approx(3.5) and f["largest_readout_gap_between"] == [-2.5, 1.0]
    assert A.gap_figures(np.array([-1.0, 0.0, 1.0, 10.0]))["largest_readout_gap"] == pytest.approx(9.0)  # reaches in
    assert A.gap_figures(np.array([0.0]))["largest_readout_gap"] is None


def test_share_of_marginal_points_near_zero():
    f = A.near_zero_figures(np.array([-0.5, 0.2, 0.9, 3.0]), np.array([0.995, 1.0005, 1.2, 0.999]))
    assert f["near_zero_points"] == 3 and f["near_zero_marginal_share"] == pytest.approx(2 / 3)
    assert A.near_zero_figures(np.array([2.0]), np.array([1.0]))["near_zero_marginal_share"] is None


def fig(lo=-5.0, hi=5.0, gap=0.5, between=(0.0, 0.5), share=0.9, n=10, drift=0.1):
    return {"attractor_readout_range": [lo, hi], "largest_readout_gap": gap, "largest_readout_gap_between": list(between),
            "near_zero_marginal_share": share, "near_zero_points": n, "reference_drift_per_doc": drift}


@pytest.mark.parametrize("f, kind", [
    (fig(), A.LINE),
    (fig(lo=0.3), A.ONE_SIDED),                             # nothing below readout 0
    (fig(hi=-0.2), A.ONE_SIDED),
    (fig(gap=2.0, between=(-1.0, 1.0)), A.GAPPED),           # end attractors, nothing between
    (fig(share=0.2), A.LEAKY),                               # near 0 the points are not marginal
    (fig(share=None, n=0), A.LEAKY),
    (fig(drift=1.5), A.LEAKY),                               # 1.5 > 10% of the 10-logit extent
    (fig(drift=-0.9), A.LINE),
])
def test_every_verdict_rule_on_a_hand_worked_case(f, kind):
    got, why = A.attractor_kind(f)
    assert got == kind and why


class Linear(nn.Module):
    """h' = lam * h + x on one unit, readout y = 2 h: from h, T neutral (zero) steps move y by 2 h (lam^T - 1)."""

    def __init__(self, lam: float):
        super().__init__()
        self.lam = lam
        self.embedding = nn.Embedding(3, 1)
        self.h0 = nn.Parameter(torch.zeros(1))
        self.state_size = 1

    def step(self, h, x):
        return self.lam * h + x

    def logit_of_state(self, h):
        return 2.0 * h[..., 0]


def test_reference_drift_on_a_designed_network():
    lam, h_ref, T = 0.98, 3.0, 20
    clf = type("Clf", (), {"model": Linear(lam)})()
    pts = torch.tensor([[h_ref]])
    dyn = {"summary": {"median_doc_tokens": float(T), "reference_index": 0}, "points": pts,
           "slow_points": torch.zeros(0, 1), "neutral_vector": None}
    assert A.reference_drift(clf, dyn) == pytest.approx(2 * h_ref * (lam ** T - 1), rel=1e-9)


@pytest.mark.parametrize("name, kind", [("toy-gru", A.LINE), ("sst2-gru", A.GAPPED), ("sst2-lstm", A.ONE_SIDED)])
def test_the_shipped_networks(name, kind):
    """The toy, built to integrate, has a line attractor; sst2-gru has no attractor point between readouts -3.4 and
    +3.7; sst2-lstm's points all sit near +6.1."""
    s = Settings.of(name)
    f = A.attractor_figures(stored_dynamics(s), load_model(s.path))
    assert f["attractor_kind"] == kind


class Tanh1(nn.Module):
    """F(h, x) = tanh(2 h) + x on one unit: a fixed point at h* = 0 with x* = 0, J_rec = 2, J_inp = 1 there."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(3, 1)
        self.h0 = nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.state_size = 1

    def step(self, h, x):
        return torch.tanh(2 * h) + x

    def logit_of_state(self, h):
        return h[..., 0]


def test_linearization_error_relative_to_the_step_and_to_the_state():
    """Hand-worked at h = 0.5, x = 0: F = tanh(1) = 0.7616, the linear prediction 2 * 0.5 = 1, so the residual
    0.2384 is 31% of the state F but 91% of the step F - h = 0.2616: dividing by the state flatters."""
    from core.analysis.dynamics import as_float64, linearization_error, linearization_step_error
    model = as_float64(Tanh1())
    pts, h, x = torch.zeros(1, 1, dtype=torch.float64), torch.tensor([[0.5]], dtype=torch.float64), \
        torch.zeros(1, 1, dtype=torch.float64)
    res = 1.0 - math.tanh(1.0)
    assert float(linearization_error(model, pts, h, x)) == pytest.approx(res / math.tanh(1.0), rel=1e-9)
    assert float(linearization_step_error(model, pts, h, x)) == pytest.approx(res / (math.tanh(1.0) - 0.5), rel=1e-9)


def test_validity_reports_k_against_the_slowest_transient():
    from core.analysis.context import engine, validity
    from core.data import toy
    eng = engine(Settings.of("toy-gru"))
    res = validity(eng, toy.generate(40, seed=3).texts, max_tokens=400)
    tau = A.integration_figures(eng.modes_lam[eng.ref].numpy())["slowest_transient_timescale"]
    assert res["slowest_transient_timescale"] == pytest.approx(tau)
    assert res["relax_steps_needed"] == math.ceil(5 * tau) and res["relax_steps"] == eng.relax_steps
    assert res["linearization_error_step_median"] > res["linearization_error_state_median"]
