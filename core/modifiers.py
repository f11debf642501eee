"""Modifier words: screening, modulation curves, strength and timescale, modifier subspace
(METHOD section 4, paper A).

  h_m      = F(h*_ref, E[m])                modifier point; d_m = h_m - h*_ref its deflection
  M_m(k)   = median_{w in P} v(Phi_{k-1}(h_m), E[w]) / v0(w)     modulation curve, k = 1..K
  s_m      = M_m(1) - 1                      strength
  tau_m    : fit M_m(k) - 1 ~ s_m exp(-(k-1)/tau_m)               effect timescale (tokens)
  class    : negator M(1) < 0; attenuator 0 <= M(1) < 1 - delta; intensifier M(1) > 1 + delta
"""
from __future__ import annotations

import numpy as np
import torch

from core.dynamics import finite_or_none, nearest_fixed_point, neutral_input, relax

CLASS_DELTA = 0.2
PROBE_MODIFIER_CUTOFF = 0.5
TAU_GRID = np.exp(np.linspace(np.log(0.1), np.log(1000.0), 600))


def probe_words(engine, n_each: int = 50, frequent: int = 5000,
                exclude: set[int] | None = None) -> tuple[list[int], torch.Tensor]:
    """Probe valence words P: the n_each most positive and most negative by v0 among the
    `frequent` most frequent vocabulary words (ids are in frequency order), minus `exclude`."""
    v0 = engine.v0_all[2:min(len(engine.vocab), frequent + 2)]
    exclude = exclude or set()
    strong = [i for i in (v0.abs() > engine.valence_threshold).nonzero().squeeze(1).tolist() if i + 2 not in exclude]
    strong = torch.tensor(strong, dtype=torch.long)
    pos = [int(i) + 2 for i in strong[torch.argsort(v0[strong], descending=True)] if v0[i] > 0][:n_each]
    neg = [int(i) + 2 for i in strong[torch.argsort(v0[strong])] if v0[i] < 0][:n_each]
    if not pos or not neg:
        raise ValueError(f"too few valence words to probe modulation: {len(pos)} positive and {len(neg)} "
                         f"negative words have |v0| above the threshold {engine.valence_threshold:.3g}")
    ids = pos + neg
    return ids, engine.v0_all[ids]


def clean_probe_words(engine, n_each: int = 50) -> tuple[list[int], torch.Tensor]:
    """probe_words without the strong modifiers: a word such as "not" can also carry valence, but it
    must not serve as a probe, so probes that modulate the others by more than
    PROBE_MODIFIER_CUTOFF are dropped and the probes chosen again."""
    probe_ids, probe_v0 = probe_words(engine, n_each)
    m1 = screen(engine, probe_ids, probe_v0, ids=probe_ids)
    modifying = {p for p, m in zip(probe_ids, m1.tolist()) if abs(m - 1) >= PROBE_MODIFIER_CUTOFF}
    return probe_words(engine, n_each, exclude=modifying) if modifying else (probe_ids, probe_v0)


@torch.no_grad()
def modulation(engine, h: torch.Tensor, probe_ids: list[int], probe_v0: torch.Tensor,
               chunk: int = 256) -> torch.Tensor:
    """median over probes of v(h, E[w]) / v0(w), for each state in h (B, N) -> (B,)."""
    x = engine.embed[probe_ids]
    x0 = engine.model.step(h, neutral_input(engine.model, h.shape[0]))   # F(h, x*) once per state
    near = nearest_fixed_point(engine.points, h)                         # h*(h) once per state
    gain = engine.w_r1[near][:, None]
    out = []
    for s in range(0, h.shape[0], chunk):
        hb = h[s:s + chunk]
        fx = engine.model.step(hb[:, None, :], x[None, :, :])            # (b, P, N)
        v = gain[s:s + chunk] * ((fx - x0[s:s + chunk, None, :]) * engine.l1[near[s:s + chunk]][:, None, :]).sum(-1)
        out.append((v / probe_v0).median(dim=1).values)
    return torch.cat(out)


@torch.no_grad()
def curves(engine, word_ids: list[int], probe_ids, probe_v0, K: int = 20) -> torch.Tensor:
    """M_m(k), k = 1..K for each word (W, K)."""
    h = engine.model.step(engine.h_ref.expand(len(word_ids), -1), engine.embed[word_ids])
    cols = []
    for k in range(K):
        cols.append(modulation(engine, h, probe_ids, probe_v0))
        h = relax(engine.model, h, 1)
    return torch.stack(cols, dim=1)


def fit_decay(curve: np.ndarray, offset: int = 1) -> tuple[float, float, float]:
    """Fit curve[k] - 1 ~ s exp(-(k)/tau) with s = curve[0] - 1 (or a free amplitude when
    offset=0): returns (amplitude, tau, r2). k counts from 0 at the first point."""
    y = np.asarray(curve, dtype=np.float64) - 1.0
    k = np.arange(len(y))
    basis = np.exp(-k[None, :] / TAU_GRID[:, None])                    # (G, K)
    if offset:  # amplitude fixed to the first point
        amp = np.full(len(TAU_GRID), y[0])
    else:       # least-squares amplitude for each tau
        amp = (basis @ y) / (basis ** 2).sum(1)
    sse = ((y[None, :] - amp[:, None] * basis) ** 2).sum(1)
    g = int(np.argmin(sse))
    ss_tot = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - sse[g] / ss_tot if ss_tot > 1e-12 else float("nan")
    return float(amp[g]), float(TAU_GRID[g]), float(r2)


def classify(m1: float, delta: float = CLASS_DELTA) -> str:
    if m1 < 0:
        return "negator"
    if m1 < 1 - delta:
        return "attenuator"
    if m1 > 1 + delta:
        return "intensifier"
    return "none"


@torch.no_grad()
def screen(engine, probe_ids, probe_v0, ids: list[int] | None = None) -> torch.Tensor:
    """M_m(1) for every vocabulary word, or for `ids` (one batched step per word, |V| x |P| valences)."""
    ids = list(range(len(engine.vocab))) if ids is None else ids
    h = engine.model.step(engine.h_ref.expand(len(ids), -1), engine.embed[ids])
    m1 = modulation(engine, h, probe_ids, probe_v0)
    m1[torch.tensor([i < 2 for i in ids])] = 1.0  # <pad>, <unk>
    return m1


def find_modifiers(engine, top: int = 30, words: list[str] | None = None, K: int = 20, n_probe: int = 50,
                   min_strength: float = CLASS_DELTA, frequent: int | None = 5000, seed: int = 0,
                   progress=None) -> dict:
    """Screen the vocabulary, compute curves for the strongest candidates (or for `words`), fit
    strength/timescale, and place the modifiers in the modifier subspace and a UMAP embedding."""
    import time
    t0 = time.time()
    probe_ids, probe_v0 = clean_probe_words(engine, n_probe)
    if words:
        unknown = [w for w in words if w not in engine.vocab]
        if unknown:
            raise ValueError(f"not in {engine.clf.name}'s vocabulary: {', '.join(unknown)}")
        cand = [engine.vocab.stoi[w] for w in words]
        m1_all = None
    else:
        m1_all = screen(engine, probe_ids, probe_v0)
        eligible = torch.ones_like(m1_all, dtype=torch.bool)
        eligible[probe_ids] = False  # the probes themselves are valence words
        eligible[:2] = False
        if frequent:  # rank only frequent words: rare words' embeddings are poorly trained
            eligible[frequent + 2:] = False
        # The strongest of each kind: attenuators/negators (lowest M(1)) and intensifiers (highest),
        # half the list each, so the many weak intensifier-like words cannot crowd out the negators.
        down = [int(i) for i in torch.argsort(m1_all) if eligible[i] and m1_all[i] <= 1 - min_strength]
        up = [int(i) for i in torch.argsort(m1_all, descending=True) if eligible[i] and m1_all[i] >= 1 + min_strength]
        n_down = min(len(down), max(top - len(up), (top + 1) // 2))
        cand = down[:n_down] + up[:top - n_down]
        if not cand:
            raise ValueError("no word modulates valence by more than "
                             f"{min_strength:.2f} (|M(1) - 1|); the model shows no modifiers")
    screen_s = time.time() - t0
    if progress:
        progress(f"screened {len(engine.vocab)} words in {screen_s:.1f} s; curves for {len(cand)}")
    M = curves(engine, cand, probe_ids, probe_v0, K).numpy()
    d = engine.model.step(engine.h_ref.expand(len(cand), -1), engine.embed[cand]) - engine.h_ref
    r1, l1 = engine.r1[engine.ref], engine.l1[engine.ref]
    d_perp = d - (d @ l1)[:, None] * r1[None, :]
    Lref = engine.modes_L[engine.ref]
    exc = (d.to(torch.complex128) @ Lref.T).abs()            # (W, n_modes): |l_a . d_m|
    tau_ref = engine.modes_tau[engine.ref]
    pcs, umap_xy, clusters = subspace(d_perp.numpy(), M, seed)
    mods = []
    for i, wid in enumerate(cand):
        s, tau, r2 = fit_decay(M[i])
        strong = torch.argsort(exc[i], descending=True)[:3].tolist()
        mods.append({
            "word": engine.vocab.itos[wid], "strength": float(M[i, 0] - 1), "timescale": tau, "fit_r2": r2,
            "class": classify(float(M[i, 0])), "curve": [float(v) for v in M[i]],
            "v0": float(engine.v0_all[wid]), "deflection": float(d[i].norm()),
            "modes": [{"mode": a, "excitation": float(exc[i, a]), "timescale": finite_or_none(float(tau_ref[a]))}
                      for a in strong],
            "pc": [float(pcs[i, 0]), float(pcs[i, 1])], "umap": [float(umap_xy[i, 0]), float(umap_xy[i, 1])],
            "cluster": int(clusters[i]),
        })
    mods.sort(key=lambda m: -abs(m["strength"]))
    return {"modifiers": mods, "n_probe": len(probe_ids), "probe_words": [engine.vocab.itos[i] for i in probe_ids],
            "K": K, "vocab_size": len(engine.vocab), "screen_seconds": screen_s,
            "seconds": time.time() - t0, "valence_threshold": engine.valence_threshold}


def subspace(d_perp: np.ndarray, M: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA (top 2) of the transient deflections; UMAP of [normalised d_perp, M(1..K)]; clusters."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.decomposition import PCA
    n = d_perp.shape[0]
    if n < 3:
        z = np.zeros((n, 2))
        return z, z, np.zeros(n, dtype=int)
    pcs = PCA(n_components=2, random_state=seed).fit_transform(d_perp)
    feats = np.concatenate([d_perp / np.maximum(np.linalg.norm(d_perp, axis=1, keepdims=True), 1e-12),
                            (M - 1) / max(np.abs(M - 1).max(), 1e-12)], axis=1)
    if n >= 5:
        import umap  # imported lazily: numba compilation takes a few seconds
        xy = umap.UMAP(n_neighbors=min(10, n - 1), min_dist=0.1, random_state=seed,
                       n_jobs=1).fit_transform(feats)
    else:
        xy = pcs
    k = min(4, n)
    clusters = AgglomerativeClustering(n_clusters=k).fit_predict(xy)
    return pcs, xy, clusters
