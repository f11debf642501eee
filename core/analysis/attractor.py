"""What the attractor is, in figures (METHOD section 5, "Attractor figures"), and what it may be called.

Paper B calls the fixed points of a sentiment RNN a line attractor. Whether a given network has one is a
measurement, not a premise: "points span both signs of the readout" is not enough (two end attractors joined by
a leaky slow manifold span them too). From a stored dynamics analysis this module reports

- the integration mode at the reference point: its |lambda_1| and timescale |1 / ln|lambda_1||, marginal modes
  (|lambda_1| a hair above 1) included and labelled, apart from the slowest decaying transient;
- the largest readout gap between neighbouring attractor points (fixed and slow), and where it lies;
- the share of the points within NEAR_ZERO logits of readout 0 that are marginally stable;
- the reference's drift under the neutral input over a median document, in logits;

and a verdict (`attractor_kind`) that says "line attractor" only where all of them support it (the rule is in
`attractor_kind`'s docstring and on the Method page), otherwise what there is.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from core.analysis.dynamics import STABLE_TOL, as_float64, largest_modulus, relax

MARGINAL_LOW = 0.99        # |lambda_1| at or above this (a timescale over 100 tokens) and not growing: marginal
NEAR_ZERO = 1.0            # logits: "near readout 0"
GAP_WINDOW = 4.0           # logits: gaps count where the readout is still in play (P(positive) 0.018 .. 0.982)
GAP_MAX = 1.0              # logits: a larger gap between neighbouring attractor points there breaks the line
MARGINAL_SHARE_MIN = 0.5   # at least this share of the points near 0 marginally stable
DRIFT_SHARE_MAX = 0.1      # a line holds the reference: it drifts less than this share of the line's extent

LINE = "line attractor"
LEAKY = "end attractors joined by a slow manifold"
GAPPED = "end attractors with a gap between them"
ONE_SIDED = "one-sided attractor"


def _timescale(modulus: float) -> float | None:
    """|1 / ln|lambda||; None for |lambda| = 1 exactly (no decay or growth at all) or 0."""
    if modulus <= 0.0 or modulus == 1.0:
        return None
    return abs(1.0 / math.log(modulus))


def integration_figures(eigvals: np.ndarray, lead: int = 0) -> dict:
    """The integration mode at the reference, apart from the slowest decaying transient.

    eigvals: complex eigenvalues of the reference's recurrent Jacobian; lead: the integration mode's place among
    them sorted by |lambda| descending (the dynamics analysis's `mode1_index` at the reference: 0, the slowest,
    since the tracked integration mode starts there with the slowest mode). The integration mode's timescale counts
    marginal modes slightly above 1 (labelled "marginal"; "growing" above 1 + STABLE_TOL); the slowest transient
    is the largest |lambda| < 1 among the other modes (a complex partner of the integration mode excluded)."""
    ev = np.asarray(eigvals, dtype=complex).reshape(-1)
    if ev.size == 0:
        return {"integration_lambda": None, "integration_kind": None, "integration_timescale": None,
                "slowest_transient_timescale": None}
    order = np.argsort(-np.abs(ev), kind="stable")
    a = min(int(lead), ev.size - 1)
    z1 = ev[order[a]]
    mod = float(abs(z1))
    kind = "growing" if mod > 1.0 + STABLE_TOL else "marginal" if mod >= MARGINAL_LOW else "decaying"
    rest = [ev[i] for j, i in enumerate(order) if j != a]
    if abs(z1.imag) > 0:                        # a rotating pair: its conjugate is the same mode
        partner = int(np.argmin([abs(z - np.conj(z1)) for z in rest])) if rest else None
        rest = [z for j, z in enumerate(rest) if j != partner]
    decaying = [abs(z) for z in rest if abs(z) < 1.0]
    return {"integration_lambda": mod, "integration_kind": kind, "integration_timescale": _timescale(mod),
            "slowest_transient_timescale": _timescale(max(decaying)) if decaying else None}


def gap_figures(readouts: np.ndarray) -> dict:
    """The largest readout gap between neighbouring attractor points where the readout is still in play (a gap
    that reaches into [-GAP_WINDOW, GAP_WINDOW]; far out, at P(positive) 0.9999, a gap holds nothing anyone reads),
    and the readouts it lies between."""
    y = np.sort(np.asarray(readouts, dtype=np.float64).reshape(-1))
    if y.size < 2:
        return {"largest_readout_gap": None, "largest_readout_gap_between": None}
    d = np.where((y[1:] >= -GAP_WINDOW) & (y[:-1] <= GAP_WINDOW), np.diff(y), 0.0)
    i = int(np.argmax(d))
    return {"largest_readout_gap": float(d[i]), "largest_readout_gap_between": [float(y[i]), float(y[i + 1])]}


def near_zero_figures(readouts: np.ndarray, lambda1: np.ndarray, lambda_max: np.ndarray | None = None) -> dict:
    """How many attractor points lie within NEAR_ZERO logits of readout 0, and the share of them that are
    marginally stable: an integration mode with MARGINAL_LOW <= |lambda_1| and no mode above 1 + STABLE_TOL
    (lambda_max: each point's largest |lambda|; lambda1 itself where not given); the share is None where there are
    none."""
    y = np.asarray(readouts, dtype=np.float64).reshape(-1)
    lam = np.asarray(lambda1, dtype=np.float64).reshape(-1)
    top = lam if lambda_max is None else np.asarray(lambda_max, dtype=np.float64).reshape(-1)
    near = np.abs(y) <= NEAR_ZERO
    marginal = (lam >= MARGINAL_LOW) & (lam <= 1.0 + STABLE_TOL) & (top <= 1.0 + STABLE_TOL)
    n = int(near.sum())
    return {"near_zero_points": n, "near_zero_marginal_share": float(marginal[near].mean()) if n else None}


@torch.no_grad()
def reference_drift(clf, dyn: dict) -> float | None:
    """How far the readout moves, in logits (signed), when the reference point is run for a median document's
    number of tokens under the neutral input x*: the reference's own leak over the text it reads."""
    s = dyn["summary"]
    steps = int(round(s.get("median_doc_tokens") or 0))
    if steps <= 0:
        return None
    points = torch.cat([dyn["points"].double(), dyn["slow_points"].double()])
    h = points[int(s["reference_index"])].unsqueeze(0)
    nv = dyn.get("neutral_vector")
    model = as_float64(clf.model, None if nv is None else nv.double())
    y0 = model.logit_of_state(h)
    return float(model.logit_of_state(relax(model, h, steps)) - y0)


def attractor_kind(fig: dict) -> tuple[str, str]:
    """(kind, why) from the attractor figures. The rule:

    - the attractor points (fixed and slow) do not reach both sides of readout 0: ONE_SIDED;
    - else a gap of more than GAP_MAX logits between neighbouring points within GAP_WINDOW logits of 0: GAPPED
      (end attractors, nothing between);
    - else LINE only when at least MARGINAL_SHARE_MIN of the points within NEAR_ZERO logits of 0 are marginally
      stable and the reference drifts at most DRIFT_SHARE_MAX of the points' readout extent over a median
      document;
    - otherwise LEAKY: end attractors joined by a slow manifold that states slide along (or leave)."""
    lo, hi = fig["attractor_readout_range"]
    if not (lo < 0.0 < hi):
        side = "above" if lo >= 0.0 else "below"
        return ONE_SIDED, (f"every attractor point lies {side} readout 0 ({lo:+.2f} .. {hi:+.2f}): there is no "
                           "line through the neutral readout")
    gap = fig["largest_readout_gap"]
    if gap is not None and gap > GAP_MAX:
        a, b = fig["largest_readout_gap_between"]
        return GAPPED, (f"no attractor point between readouts {a:+.2f} and {b:+.2f} (a gap of {gap:.2f} logits, "
                        f"over {GAP_MAX:g}): states between them are not held")
    share, drift_ = fig["near_zero_marginal_share"], fig["reference_drift_per_doc"]
    drift_max = DRIFT_SHARE_MAX * (hi - lo)
    problems = []
    if share is None or share < MARGINAL_SHARE_MIN:
        problems.append("no attractor point within 1 logit of 0" if share is None else
                        f"{share:.0%} of the {fig['near_zero_points']} points within {NEAR_ZERO:g} logit of 0 are "
                        f"marginally stable (a line needs {MARGINAL_SHARE_MIN:.0%})")
    if drift_ is not None and abs(drift_) > drift_max:
        problems.append(f"the reference drifts {drift_:+.2f} logits over a median document (a line holds it within "
                        f"{DRIFT_SHARE_MAX:.0%} of its extent, {drift_max:.2f})")
    if problems:
        return LEAKY, "; ".join(problems)
    return LINE, (f"points cover {lo:+.2f} .. {hi:+.2f} with no gap over {GAP_MAX:g} logit within {GAP_WINDOW:g} of 0, "
                  + (f"{share:.0%} of those near 0 marginally stable" if share is not None else "")
                  + (f", reference drift {drift_:+.2f} logits per median document" if drift_ is not None else ""))


def attractor_figures(dyn: dict, clf=None) -> dict:
    """Every attractor figure of a stored dynamics result, and its verdict (`attractor_kind`, `attractor_why`).
    clf: the loaded RNN, for the reference's drift (None: drift not measured)."""
    ev = dyn["ref_eigvals"].double().numpy()
    readouts = torch.cat([dyn["readout"].double(), dyn["slow_readout"].double()]).numpy()
    lam1 = torch.cat([dyn["lambda1"].double(), dyn["slow_lambda1"].double()]).numpy()   # the tracked integration mode
    ref = int(dyn["summary"]["reference_index"])
    lead = int(dyn["mode1_index"][ref]) if "mode1_index" in dyn else 0
    top = largest_modulus(dyn)
    fig = {**integration_figures(ev[:, 0] + 1j * ev[:, 1], lead), **gap_figures(readouts),
           **near_zero_figures(readouts, lam1, top),
           "attractor_readout_range": list(dyn["summary"]["attractor_readout_range"]),
           "reference_drift_per_doc": reference_drift(clf, dyn) if clf is not None else None}
    fig["attractor_kind"], fig["attractor_why"] = attractor_kind(fig)
    return fig
