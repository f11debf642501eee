"""Beginning- and end-of-document effects (METHOD section 5).

  g_begin(p) = median_{w in P} v(Phi_{p-1}(h_0), E[w]) / v0(w)            p = 1..P
  g_end(k)   = median_{w in P} [y(Phi_k(F(h*_ref, E[w]))) - y(Phi_k(h*_ref))] / v0(w)   k = 0..K
Fits: g_begin ~ 1 + a_b exp(-(p-1)/tau_b), g_end ~ 1 + a_e exp(-k/tau_e).
"""
from __future__ import annotations

import torch

from core.dynamics import relax
from core.modifiers import clean_probe_words, fit_decay


@torch.no_grad()
def position_effects(engine, n_begin: int = 50, n_end: int = 50, n_probe: int = 50) -> dict:
    """Beginning and end curves with their fitted amplitude and timescale (tokens)."""
    probe_ids, probe_v0 = clean_probe_words(engine, n_probe)
    x = engine.embed[probe_ids]
    h = engine.model.h0.double()[None]
    begin = []
    for _ in range(n_begin):
        begin.append(float((engine.v(h.expand(len(probe_ids), -1), x) / probe_v0).median()))
        h = relax(engine.model, h, 1)
    hw = engine.model.step(engine.h_ref.expand(len(probe_ids), -1), x)
    href = engine.h_ref[None]
    end = []
    for _ in range(n_end + 1):
        end.append(float(((engine.y(hw) - engine.y(href)) / probe_v0).median()))
        hw, href = relax(engine.model, hw, 1), relax(engine.model, href, 1)
    a_b, tau_b, r2_b = fit_decay(begin, offset=0)
    a_e, tau_e, r2_e = fit_decay(end, offset=0)
    return {"begin": {"curve": begin, "amplitude": a_b, "timescale": tau_b, "fit_r2": r2_b,
                      "x": "p = 1..P: the word is the p-th input after p-1 neutral inputs from h_0"},
            "end": {"curve": end, "amplitude": a_e, "timescale": tau_e, "fit_r2": r2_e,
                    "x": "k = 0..K: neutral inputs after the word, before the readout"},
            "n_probe": len(probe_ids), "neutral_input": engine.neutral}
