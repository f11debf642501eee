"""Beginning- and end-of-document effects (METHOD section 5), in logit units.

For each probe valence word w (clean_probe_words), with s_w the sign of its v0 so that each curve is a magnitude:
  begin_w(p) = s_w [y(Phi_K(F(h_{p-1}, E[w]))) - y(Phi_K(F(h_{p-1}, x*)))],   h_{p-1} = Phi_{p-1}(h_0),   p = 1..W
  end_w(k)   = s_w [y(Phi_k(F(h*_ref, E[w]))) - y(Phi_k(F(h*_ref, x*)))],                               k = 0..W-1
begin: what the word leaves once it has relaxed (K = engine.relax_steps, as ContextEngine.v_relax), when it is the
p-th input of a document; end: what it adds to the readout when k neutral inputs follow it. Each curve is the
median over probes (the Harrell-Davis estimate, `probe_median`: the plain sample median hops from one probe word's
curve to another's where they cross, which drew steps and plateaus no word has), with a 95% order-statistics
interval per point (median_interval). W, the window, follows the
data's median document (`window`). Fit (fit_free_decay): curve(x) ~ c + a exp(-(x - x0)/tau) with a free
asymptote c, reported only where the curve varies beyond its noise (FLAT_NOISE).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from core.analysis.dynamics import neutral_input, relax
from core.analysis.modifiers import (FIT_MIN_R2, clean_probe_words, fit_free_decay, fitted_timescale,
                                     median_interval)

WINDOW_MIN = 10     # the window W = clip(round(median document tokens), WINDOW_MIN, WINDOW_MAX) positions
WINDOW_MAX = 250    # (the measurement's cost grows with W x probes x relax steps; IMDB's median review: 211 tokens)
WINDOW_DEFAULT = 50  # W where the dynamics summary records no median document length
FLAT_NOISE = 1.0
"""A curve varies beyond its noise only where its range (max - min of the median over probes) exceeds FLAT_NOISE x
its noise, the median over its points of the width of the 95% interval of that median across probe words. Within
it the curve is "flat within noise": the fit's amplitude, timescale and R^2 are not reported (null), only its
level (the asymptote: the curve's mean), because an exponential fitted to a curve that does not move beyond how
much the probe words disagree describes the words, not their position."""
ROW_CHUNK = 4096    # states relaxed together (positions x probes) in the beginning curve


def window(summary: dict | None) -> int:
    """The number of positions W of both curves: the data's median document length in tokens (the dynamics
    summary's `median_doc_tokens`), rounded and held within WINDOW_MIN..WINDOW_MAX; WINDOW_DEFAULT where none is
    recorded. A 50-position curve says nothing about 7-token sentences, nor a 10-position one about reviews."""
    n = (summary or {}).get("median_doc_tokens")
    if n is None or not math.isfinite(n):
        return WINDOW_DEFAULT
    return int(min(WINDOW_MAX, max(WINDOW_MIN, round(n))))


def probe_median(effects: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(median, low, high) across probe words at each position of `effects` (W, probes): the median is the
    Harrell-Davis estimate, a weighted mean of all the order statistics with the weights of a Beta((n+1)/2,
    (n+1)/2) distribution (about the middle fifth of 100 words), held within the interval; low/high: the
    distribution-free 95% interval of the median from order statistics (median_interval), as before.

    Why not the sample median (version 1 used torch's, the lower of the two middle values): it is one word's effect
    at each position, and which word sits at the middle rank changes wherever two curves cross, so a median over
    words whose curves cross draws kinks, steps and plateaus that no word has. The probes are the 50 most positive
    and the 50 most negative words, whose effects form two groups where the reference point treats the signs
    unequally, so the middle rank is where the two groups meet: imdb-lstm's beginning curve rose from p = 33 to 42
    and then fell (the weakest negative words taking turns at the middle rank) while nine words in ten fell there,
    and where the groups part, the lower median was the strongest word of the weaker group (imdb-gru at p = 1:
    1.27 logits, between groups at 1.22 and 1.95). The Harrell-Davis median averages over the words near the middle,
    so it changes as smoothly as they do, and it equals the centre of a symmetric set of words."""
    from scipy.special import betainc  # lazy: scipy.special takes 0.3 s to import, and only this needs it
    _, lo, hi = median_interval(effects)
    x = effects.to(torch.float64)
    n = x.shape[-1]
    a = (n + 1) / 2.0
    w = torch.from_numpy(np.diff(betainc(a, a, np.arange(n + 1) / n)))      # (n,), sums to 1
    med = (x.sort(dim=-1).values @ w).reshape(lo.shape)
    return torch.minimum(torch.maximum(med, lo), hi), lo, hi


def describe_curve(effects: torch.Tensor, x0: int, x: str) -> dict:
    """One side from its per-probe effects (W, probes), in logits: median curve (probe_median) with its 95%
    interval, noise, whether it varies beyond the noise (FLAT_NOISE) and, where it does, the free-asymptote fit over
    x0..x0+W-1 (timescales up to the window's length)."""
    med, lo, hi = probe_median(effects)
    curve = med.tolist()
    rng = float(med.max() - med.min())
    noise = float((hi - lo).median())
    varies = bool(rng > FLAT_NOISE * noise)
    out = {"curve": curve, "low": lo.tolist(), "high": hi.tolist(), "x0": x0, "x": x, "units": "logit",
           "range": rng, "noise": noise, "varies": varies}
    if varies:
        fit = fit_free_decay(curve, x0=x0, tau_max=float(len(curve)))
        out.update(fit, fit_r2=fit["r2"])
    else:
        out.update(asymptote=float(np.mean(curve)), amplitude=None, timescale=None, r2=None, fit_r2=None,
                   timescale_at_limit=None)
    return out


def describe_fit(side: dict) -> str:
    """One side's finding in one line (the CLI, docs/results.md): flat within noise, or its fit, in logits."""
    if not side["varies"]:
        return (f"flat within noise (range {side['range']:.3f} logits, noise {side['noise']:.3f}: the 95% interval "
                f"of the median across probe words), level {side['asymptote']:+.3f} logits")
    fit = f"asymptote {side['asymptote']:+.3f} logits, amplitude {side['amplitude']:+.3f} logits"
    if fitted_timescale(side) is None:
        return f"{fit}, no exponential decay (R2 {side['r2']:.2f}, under {FIT_MIN_R2}): no timescale"
    at = " (the window's length: at least this)" if side.get("timescale_at_limit") else ""
    return f"{fit}, timescale {side['timescale']:.1f} tokens{at} (R2 {side['r2']:.2f})"


def position_header(res: dict) -> str:
    """What a position result was measured over, in one line."""
    doc = res.get("median_doc_tokens")
    return (f"in logits, over {res['window']} positions (the data's median document: "
            f"{'not recorded' if doc is None else format(doc, '.0f') + ' tokens'}), median over {res['n_probe']} "
            f"probe words, neutral input {res['neutral_input']}")


def bow_position(res: dict) -> dict:
    """The position terms of the augmented bag-of-words, g(t) = 1 + a_b exp(-(t-1)/tau_b) + a_e exp(-(T-t)/tau_e),
    from a position result: each side's amplitude relative to its asymptote (a word at that end counts
    (c + a) / c times a word deep inside), where the curve varies beyond its noise, its fit describes it and the
    asymptote is positive; otherwise no term (amplitude 0, timescale 10 tokens: the BoW's neutral start)."""
    out = {}
    for side in ("begin", "end"):
        r = res[side]
        tau = fitted_timescale(r) if r.get("varies", True) else None
        c = r.get("asymptote", 1.0)
        ok = tau is not None and c is not None and c > 0
        out[side] = {"amplitude": r["amplitude"] / c if ok else 0.0, "timescale": tau if ok else 10.0}
    return out


@torch.no_grad()
def position_curves(model, y, h0: torch.Tensor, h_ref: torch.Tensor, x: torch.Tensor, sign: torch.Tensor,
                    relax_steps: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The signed per-probe effects (see the module docstring) of the probe inputs x (P, D) with signs `sign` (P,),
    on any model with step(h, x) and a neutral input, read by y(h) -> logits: (begin (n, P), end (n, P)).
    begin[p-1] after p - 1 neutral inputs from h0, relaxed by relax_steps; end[k] with k neutral inputs after it."""
    n_probe = x.shape[0]
    sign = sign.to(x.dtype)
    # Without the word: F(h_{p-1}, x*) relaxed is the neutral path from h0 at step p + K, one state for all probes.
    path = [h0[None]]
    for _ in range(n + relax_steps):
        path.append(relax(model, path[-1], 1))
    path = torch.cat(path)                                          # path[t] = Phi_t(h0)
    without = y(path[relax_steps + 1:relax_steps + 1 + n])          # (n,)
    begin = torch.empty(n, n_probe, dtype=x.dtype)
    per = max(1, ROW_CHUNK // n_probe)                               # positions per chunk
    for s in range(0, n, per):
        ps = torch.arange(s, min(n, s + per))
        h = path[ps][:, None, :].expand(-1, n_probe, -1).reshape(-1, path.shape[1])
        hw = model.step(h, x.repeat(len(ps), 1))
        yw = y(relax(model, hw, relax_steps)).reshape(len(ps), n_probe)
        begin[ps] = (yw - without[ps][:, None]) * sign[None]
    hw = model.step(h_ref.expand(n_probe, -1), x)
    hn = model.step(h_ref[None], neutral_input(model, 1))
    end = torch.empty(n, n_probe, dtype=x.dtype)
    for k in range(n):
        end[k] = (y(hw) - y(hn)) * sign
        hw, hn = relax(model, hw, 1), relax(model, hn, 1)
    return begin, end


@torch.no_grad()
def position_effects(engine, n: int | None = None, n_probe: int = 50) -> dict:
    """Beginning and end curves in logits (see the module docstring) over n positions each (None: `window` of the
    engine's dynamics summary), with their fits where they vary beyond their noise."""
    n = window(engine.summary) if n is None else int(n)
    if n < 3:
        raise ValueError("position curves need at least 3 positions")
    probe_ids, probe_v0 = clean_probe_words(engine, n_probe)
    x = engine.embed[probe_ids]
    sign = torch.sign(probe_v0).double()
    begin, end = position_curves(engine.model, engine.y, engine.model.h0.double(), engine.h_ref, x, sign,
                                 engine.relax_steps, n)
    return {"begin": describe_curve(begin, 1, "p = 1..W: the word is the p-th input after p - 1 neutral inputs from "
                                              "h_0; its effect on the readout once relaxed"),
            "end": describe_curve(end, 0, "k = 0..W-1: neutral inputs after the word (from the reference point), "
                                          "before the readout"),
            "window": n, "median_doc_tokens": engine.summary.get("median_doc_tokens"),
            "relax_steps": engine.relax_steps, "units": "logit",
            "one_step_over_v0": float((end[0] / probe_v0.abs()).median()),
            "n_probe": len(probe_ids), "neutral_input": engine.neutral}


@torch.no_grad()
def word_at_positions(engine, word: str, length: int = 50) -> dict:
    """A probe of position effects for one word: the word alone in `length` neutral inputs, at each
    position p = 1..length, read from h_0. effect(p) = y(h_length) - y(h_length of neutral inputs only):
    what the word leaves in the final readout from that position; gain(p) = effect(p) / v0(word), so 1
    means the word counts exactly as its context-free valence wherever it stands."""
    if length < 1:
        raise ValueError("length must be at least 1")
    if word not in engine.vocab:
        raise ValueError(f"{word!r} is not in the model's vocabulary")
    x_w = engine.embed[engine.vocab.stoi[word]]
    model = engine.model
    h = model.h0.double().expand(length + 1, -1).clone()   # row p-1: the word at p; last row: neutral only
    x_star = neutral_input(model, length + 1)
    for t in range(length):
        x = x_star.clone()
        x[t] = x_w
        h = model.step(h, x)
    y = engine.y(h)
    effect = (y[:-1] - y[-1]).tolist()
    v0 = float(engine.v0_all[engine.vocab.stoi[word]])
    ok = abs(v0) > engine.valence_threshold
    return {"word": word, "length": length, "v0": v0, "effect": effect,
            "gain": [e / v0 for e in effect] if ok else None,
            "gain_note": None if ok else "|v0| is below the valence threshold: the word has too little valence "
                                          "of its own for a gain (effect / v0) to mean anything",
            "neutral_input": engine.neutral}
