"""Beginning- and end-of-document effects (METHOD section 5).

  g_begin(p) = median_{w in P} v(Phi_{p-1}(h_0), E[w]) / v0(w)            p = 1..P
  g_end(k)   = median_{w in P} [y(Phi_k(F(h*_ref, E[w]))) - y(Phi_k(h*_ref))] / v0(w)   k = 0..K
Fits: g_begin ~ 1 + a_b exp(-(p-1)/tau_b), g_end ~ 1 + a_e exp(-k/tau_e).
"""
from __future__ import annotations

import torch

from core.analysis.dynamics import neutral_input, relax
from core.analysis.modifiers import clean_probe_words, fit_decay


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
