"""Modifier words: screening, modulation curves, strength and timescale, modifier subspace
(METHOD section 4, paper A).

  h_m      = F(h*_ref, E[m])                modifier point; d_m = h_m - h*_ref its deflection
  M_m(k)   = median_{w in P} v(Phi_{k-1}(h_m), E[w]) / v0(w)     modulation curve, k = 1..K
  s_m      = M_m(1) - 1                      strength, with a 95% interval across probe words
  tau_m    : fit M_m(k) - 1 ~ s_m exp(-(k-1)/tau_m)               effect timescale (tokens)
  class    : from the spread of M(1) over the screened vocabulary (robust z-score of log M(1)):
             negator: M(1) < 0 (interval below 0); attenuator / intensifier: log M(1) more than Z_THRESHOLD
             robust standard deviations below / above the median word, interval excluding 1; else none
  role     : "valence" for a word whose own |v0| is as large as a typical probe word's (its M(1) comes from
             saturating the state, not from modulating), else "modifier" (paper A's kind: not, very)
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from torch.func import grad

from core.analysis.dynamics import NotApplicable, mode_time, neutral_input, relax

Z_THRESHOLD = 3.0           # robust z of log M(1) beyond which a word modulates above the noise
CI_Z = 1.96                 # 95% intervals
PROBE_MODIFIER_CUTOFF = 0.5
TAU_GRID = np.exp(np.linspace(np.log(0.1), np.log(1000.0), 600))
AGREEMENT_LAG = 3           # real-text check: a valence word within this many tokens after the modifier
AGREEMENT_MIN_CASES = 5     # fewer occurrences than this: the word is too rare in the text (null)
AGREEMENT_MAX_CASES = 40
FIT_MIN_R2 = 0.5            # an exponential fit with R^2 below this does not describe its curve
WEAK_EFFECT = 0.1           # |s| under this for every listed modifier: no modifier effect of note ("not": -0.6 on the GRUs)


def fitted_timescale(fit: dict) -> float | None:
    """The timescale of a result with "timescale" and "fit_r2" (a modifier, a side of the position curves)
    where its fit describes the curve (fit_described), else None: the one rule every table applies."""
    return fit["timescale"] if fit_described(fit.get("fit_r2"), fit.get("timescale")) else None


def weak_effect_warnings(res: dict) -> list[str]:
    """A warning for a find_modifiers result whose listed modifiers all change the next word's valence by less
    than WEAK_EFFECT: the screen's noise band is then so narrow that words pass it with effects too small to
    matter (the vanilla RNNs here)."""
    strongest = max((abs(m["strength"]) for m in res["modifiers"]), default=None)
    if strongest is None or strongest >= WEAK_EFFECT:
        return []
    th = res["screen"]["thresholds"]
    return [f"the strongest modifier changes the next word's valence by {strongest:.0%} (|s| under {WEAK_EFFECT:.0%}; "
            f"noise band of M(1) {th['attenuator_below']:.2f} .. {th['intensifier_above']:.2f}): this network has no "
            "modifier effect of note at this reference, and its listed modifiers are the words just outside a narrow "
            "band"]


def fit_described(r2: float | None, tau: float | None) -> bool:
    """Whether an exponential fit's timescale is a finding: R^2 of at least FIT_MIN_R2 and a finite positive
    tau. Below that the curve does not decay like an exponential (or barely moves), and its tau is an artefact
    of the fit (often the grid's cap of 1,000 tokens)."""
    return (r2 is not None and r2 == r2 and r2 >= FIT_MIN_R2 and tau is not None and tau == tau
            and 0 < tau < math.inf)


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
    if v0.numel() and not float(v0.abs().amax()) > 0:
        raise NotApplicable("every word's persistent valence v0 is 0 at the reference point (its integration mode does "
                         "not reach the readout), so modulation cannot be measured there: the analysis does not "
                         "apply at this neutral input; try another one (neutral zero, mean or a filler word)")
    if not pos or not neg:
        raise ValueError(f"too few valence words to probe modulation: {len(pos)} positive and {len(neg)} "
                         f"negative words have |v0| above the threshold {engine.valence_threshold:.3g}")
    ids = pos + neg
    return ids, engine.v0_all[ids]


def clean_probe_words(engine, n_each: int = 50) -> tuple[list[int], torch.Tensor]:
    """probe_words without the strong modifiers: a word such as "not" can also carry valence, but it
    must not serve as a probe, so a probe that flips the others (M(1) <= 0) or scales them by a factor
    more than 1 + PROBE_MODIFIER_CUTOFF away from the typical probe's M(1) is dropped, and the probes
    are chosen again. Relative to the typical probe, because M(1) of an ordinary word need not be 1."""
    probe_ids, probe_v0 = probe_words(engine, n_each)
    m1 = screen(engine, probe_ids, probe_v0, ids=probe_ids)
    pos = m1[m1 > 0]
    typical = float(pos.median()) if pos.numel() else 1.0
    far = math.log(1 + PROBE_MODIFIER_CUTOFF)
    modifying = {p for p, m in zip(probe_ids, m1.tolist()) if m <= 0 or abs(math.log(m / typical)) > far}
    return probe_words(engine, n_each, exclude=modifying) if modifying else (probe_ids, probe_v0)


@torch.no_grad()
def modulation_ratios(engine, h: torch.Tensor, probe_ids: list[int], probe_v0: torch.Tensor,
                      chunk: int = 256) -> torch.Tensor:
    """v(h, E[w]) / v0(w) for each state in h (B, N) and each probe word w -> (B, P)."""
    x = engine.embed[probe_ids]
    x0 = engine.model.step(h, neutral_input(engine.model, h.shape[0]))   # F(h, x*) once per state
    near = engine.nearest(h)                                             # h*(h) once per state
    gain = engine.w_r1[near][:, None]
    out = []
    for s in range(0, h.shape[0], chunk):
        hb = h[s:s + chunk]
        fx = engine.model.step(hb[:, None, :], x[None, :, :])            # (b, P, N)
        v = gain[s:s + chunk] * ((fx - x0[s:s + chunk, None, :]) * engine.l1[near[s:s + chunk]][:, None, :]).sum(-1)
        out.append(v / probe_v0)
    return torch.cat(out)


def median_interval(ratios: torch.Tensor, z: float = CI_Z) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(median, low, high) per row: the distribution-free interval for a median from order statistics
    (ranks n/2 -+ z sqrt(n)/2), i.e. the uncertainty of M(1) across probe words."""
    srt = ratios.sort(dim=-1).values
    n = srt.shape[-1]
    lo = max(0, int(math.floor(n / 2 - z * math.sqrt(n) / 2)))
    hi = min(n - 1, int(math.ceil(n / 2 + z * math.sqrt(n) / 2)) - 1)
    return ratios.median(dim=-1).values, srt[..., lo], srt[..., hi]


def modulation(engine, h: torch.Tensor, probe_ids: list[int], probe_v0: torch.Tensor) -> torch.Tensor:
    """median over probes of v(h, E[w]) / v0(w), for each state in h (B, N) -> (B,)."""
    return modulation_ratios(engine, h, probe_ids, probe_v0).median(dim=1).values


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


def screen_thresholds(m1: torch.Tensor, z: float = Z_THRESHOLD) -> dict:
    """The noise band of M(1) over screened words: median and robust scale (1.4826 MAD) of log M(1)
    over the words with M(1) > 0, and the M(1) values z robust standard deviations either side."""
    logm = torch.log(m1[m1 > 0].double())
    if logm.numel() < 3:
        raise ValueError("too few screened words with M(1) > 0 to estimate the spread of ordinary words")
    center = float(logm.median())
    scale = max(1.4826 * float((logm - center).abs().median()), 1e-6)
    return {"z": z, "log_m1_median": center, "log_m1_scale": scale,
            "attenuator_below": math.exp(center - z * scale), "intensifier_above": math.exp(center + z * scale),
            "interval": "95% across probe words (order statistics of the median)"}


def classify(m1: float, low: float, high: float, thr: dict) -> str:
    """negator / attenuator / intensifier / none for a word with M(1) = m1 and interval [low, high]."""
    if high < 0:
        return "negator"
    if m1 < thr["attenuator_below"] and high < 1:
        return "attenuator"
    if m1 > thr["intensifier_above"] and low > 1:
        return "intensifier"
    return "none"


def effect_score(m1: float, thr: dict) -> float:
    """Symmetric size of a word's effect in robust standard deviations of log M(1) (|z|); a sign flip
    (M(1) <= 0) ranks above every same-sign effect, the larger flip first."""
    if m1 <= 0:
        return 1e6 + abs(m1)
    return abs(math.log(m1) - thr["log_m1_median"]) / thr["log_m1_scale"]


@torch.no_grad()
def screen(engine, probe_ids, probe_v0, ids: list[int] | None = None) -> torch.Tensor:
    """M_m(1) for every vocabulary word, or for `ids` (one batched step per word, |V| x |P| valences)."""
    return screen_intervals(engine, probe_ids, probe_v0, ids)[0]


@torch.no_grad()
def screen_intervals(engine, probe_ids, probe_v0, ids: list[int] | None = None) -> tuple[torch.Tensor, ...]:
    """(M(1), interval low, interval high) for every vocabulary word or for `ids`; <pad>, <unk>: 1."""
    ids = list(range(len(engine.vocab))) if ids is None else ids
    h = engine.model.step(engine.h_ref.expand(len(ids), -1), engine.embed[ids])
    m1, lo, hi = median_interval(modulation_ratios(engine, h, probe_ids, probe_v0))
    special = torch.tensor([i < 2 for i in ids])
    for t in (m1, lo, hi):
        t[special] = 1.0
    return m1, lo, hi


def find_modifiers(engine, top: int = 30, words: list[str] | None = None, K: int = 20, n_probe: int = 50,
                   frequent: int | None = 5000, select: str = "significant", texts: list[str] | None = None,
                   seed: int = 0, progress=None) -> dict:
    """Screen the frequent vocabulary, classify every word against the spread of ordinary words, compute
    curves for the strongest modulators (select="significant": only words outside the noise band with
    role "modifier"; "ranked": the top words by effect size whatever their class, for the augmented BoW),
    or for `words`; fit strength/timescale; relate them to the modes each excites; check them on real
    `texts` when given; place them in the modifier subspace and a UMAP embedding."""
    t0 = time.time()
    probe_ids, probe_v0 = clean_probe_words(engine, n_probe)
    n_vocab = len(engine.vocab)
    hi_id = n_vocab if not frequent else min(n_vocab, frequent + 2)
    probe_set = set(probe_ids)
    screened = [i for i in range(2, hi_id) if i not in probe_set]   # the probes themselves are valence words
    m1, lo, hi = screen_intervals(engine, probe_ids, probe_v0, screened)
    thr = screen_thresholds(m1)
    valence_bar = float(probe_v0.abs().median())
    v0 = engine.v0_all

    def describe(wid: int, m: float, low: float, high: float) -> tuple:
        """(M(1), interval low, high, class, role) of one word."""
        role = "valence" if abs(float(v0[wid])) >= valence_bar else "modifier"
        return m, low, high, classify(m, low, high, thr), role

    info = {wid: describe(wid, float(m1[j]), float(lo[j]), float(hi[j])) for j, wid in enumerate(screened)}
    counts = {k: 0 for k in ("negator", "attenuator", "intensifier", "none")}
    for t in info.values():
        counts[t[3]] += 1
    role_counts = {k: sum(1 for t in info.values() if t[3] != "none" and t[4] == k) for k in ("modifier", "valence")}
    ranked = sorted(info, key=lambda w: -effect_score(info[w][0], thr))
    if words:
        unknown = [w for w in words if w not in engine.vocab]
        if unknown:
            raise ValueError(f"not in {engine.clf.name}'s vocabulary: {', '.join(unknown)}")
        cand = [engine.vocab.stoi[w] for w in words]
        extra = [i for i in cand if i not in info]
        if extra:
            e1, elo, ehi = screen_intervals(engine, probe_ids, probe_v0, extra)
            info.update({wid: describe(wid, float(e1[j]), float(elo[j]), float(ehi[j])) for j, wid in enumerate(extra)})
    elif select == "ranked":
        cand = ranked[:top]
    else:
        cand = [w for w in ranked if info[w][3] != "none" and info[w][4] == "modifier"][:top]
    saturating = [{"word": engine.vocab.itos[w], "m1": info[w][0], "class": info[w][3], "v0": float(v0[w])}
                  for w in ranked if info[w][3] != "none" and info[w][4] == "valence"][:10]
    screen_s = time.time() - t0
    if progress:
        progress(f"screened {len(screened)} words in {screen_s:.1f} s; curves for {len(cand)}")
    screen_summary = {"n_words": len(screened), "counts": counts, "role_counts": role_counts,
                      "thresholds": thr, "valence_role_min_abs_v0": valence_bar, "frequent": frequent}
    base = {"n_probe": len(probe_ids), "probe_words": [engine.vocab.itos[i] for i in probe_ids], "K": K,
            "vocab_size": n_vocab, "screen": screen_summary, "saturating_valence_words": saturating,
            "valence_threshold": engine.valence_threshold, "select": "words" if words else select,
            "reference": engine.reference()}
    if not cand:
        return dict(base, modifiers=[], mode_effect_spearman=None, screen_seconds=screen_s,
                    seconds=time.time() - t0)
    M = curves(engine, cand, probe_ids, probe_v0, K).numpy()
    d = engine.model.step(engine.h_ref.expand(len(cand), -1), engine.embed[cand]) - engine.h_ref
    r1, l1 = engine.r1[engine.ref], engine.l1[engine.ref]
    d_perp = d - (d @ l1)[:, None] * r1[None, :]
    lam, _, L = engine.full_modes(engine.ref)                 # all N modes at h*_ref, slowest first
    coef = (L @ d_perp.to(torch.complex128).T).T              # (W, N): l_a . d_m_perp
    exc = coef.abs()
    _, R, _ = engine.full_modes(engine.ref)
    gr = R @ modulation_gradient(engine, probe_ids, probe_v0).to(torch.complex128)   # G . r_a
    contrib = coef * gr[None, :]                               # each mode's share of the effect on valence
    effect = contrib.abs()
    fits = [fit_decay(M[i]) for i in range(len(cand))]
    # The real-text check looks for a valence word within the modifier's own reach (its tau, 1..LAG tokens).
    lags = [int(min(AGREEMENT_LAG, max(1, round(f[1])))) for f in fits]
    agree = real_text_agreement(engine, cand, [info[w][3] for w in cand], texts, lags) if texts else None
    pcs, umap_xy, clusters = subspace((d_perp / engine.scale).numpy(), M, seed)   # an LSTM's h and c on their own scales
    mods = []
    for i, wid in enumerate(cand):
        s_fit, tau, r2 = fits[i]
        m1w, low, high, cls, role = info[wid]
        strong = torch.argsort(effect[i], descending=True)[:3].tolist()
        mods.append({
            "word": engine.vocab.itos[wid], "strength": float(M[i, 0] - 1), "strength_ci": [low - 1, high - 1],
            "timescale": tau, "fit_r2": r2, "class": cls, "role": role, "effect_z": effect_score(m1w, thr),
            "curve": [float(v) for v in M[i]], "v0": float(v0[wid]), "deflection": float(d[i].norm()),
            "deflection_perp": float(d_perp[i].norm()),
            "modes": [dict(mode=a, excitation=float(exc[i, a]), effect=float(effect[i, a]), **mode_time(complex(lam[a])))
                      for a in strong],
            "mode_timescale": mode_timescale(contrib[i].numpy(), lam.numpy()),
            "real_text_agreement": None if agree is None else agree[i]["share"],
            "real_text": None if agree is None else agree[i],
            "pc": [float(pcs[i, 0]), float(pcs[i, 1])], "umap": [float(umap_xy[i, 0]), float(umap_xy[i, 1])],
            "cluster": int(clusters[i]),
        })
    return dict(base, modifiers=mods, mode_effect_spearman=mode_effect_spearman(mods),
                screen_seconds=screen_s, seconds=time.time() - t0)


def modulation_gradient(engine, probe_ids: list[int], probe_v0: torch.Tensor) -> torch.Tensor:
    """G = d/dh of mean_{w in P} v(h, E[w]) / v0(w) at h*_ref (r_1, l_1 held at h*_ref): how a deflection
    of the state changes the valence of the next word, relative to its context-free value."""
    x = engine.embed[probe_ids]
    gain, l1 = engine.w_r1[engine.ref], engine.l1[engine.ref]

    def rel_valence(h: torch.Tensor) -> torch.Tensor:
        hb = h.expand(len(probe_ids), -1)
        diff = engine.model.step(hb, x) - engine.model.step(hb, neutral_input(engine.model, len(probe_ids)))
        return (gain * (diff @ l1) / probe_v0).mean()

    return grad(rel_valence)(engine.h_ref.clone())


def mode_timescale(contrib: np.ndarray, lam: np.ndarray) -> float | None:
    """The timescale of the modes a modifier excites, weighted by their share of its effect: with
    c_a = (G . r_a)(l_a . d_m_perp) (complex; conjugate pairs sum to real), the linearised effect on the next
    word's relative valence k tokens later is sum_a c_a lambda_a^k, and its mean lifetime (area over
    height) is Re sum_a c_a tau_a / Re sum_a c_a over the decaying modes. Null when no decaying mode carries
    the effect or when the modes' contributions cancel (|Re sum c_a| < 10% of sum |c_a|, or a lifetime <= 0)."""
    mag = np.abs(lam)
    ok = (mag < 1) & (mag > 0)
    c = contrib[ok]
    total = float(np.real(c.sum()))
    if not np.abs(c).sum() > 0 or abs(total) < 0.1 * float(np.abs(c).sum()):
        return None
    life = float(np.real((c * (-1.0 / np.log(mag[ok]))).sum()) / total)
    return life if life > 0 else None    # contributions of both signs: no single lifetime


def mode_effect_spearman(mods: list[dict]) -> float | None:
    """Rank correlation, over the modifiers, of the fitted effect timescale tau_m with the weighted
    timescale of the modes each excites (paper A: they match); null with fewer than 3 modifiers."""
    pairs = [(m["timescale"], m["mode_timescale"]) for m in mods if m["mode_timescale"] is not None]
    if len(pairs) < 3:
        return None
    r = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return None if not np.isfinite(r) else float(r)


@torch.no_grad()
def real_text_agreement(engine, word_ids: list[int], classes: list[str], texts: list[str],
                        lags: list[int] | None = None, max_cases: int = AGREEMENT_MAX_CASES) -> list[dict]:
    """Check each modifier on real text. In every text (read in the model's window) where the word m
    comes at most lags[m] tokens (default AGREEMENT_LAG) before a valence word w (|v0(w)| above the
    valence threshold), compare the
    effect of w on the RNN's final logit with m in place and with m replaced by the neutral input x*:
        ratio = [y(m .. w) - y(m .. x*)] / [y(x* .. w) - y(x* .. x*)].
    Its class predicts ratio > 1 (intensifier), < 1 (attenuator), < 0 (negator). Returns, per word,
    {"share": share of occurrences that agree (null under AGREEMENT_MIN_CASES), "n", "median_ratio", "lag"}."""
    m = engine.model
    lags = lags or [AGREEMENT_LAG] * len(word_ids)
    seqs = engine.clf.encode(texts)
    valenced = engine.v0_all.abs() > engine.valence_threshold
    pos = {w: k for k, w in enumerate(word_ids)}
    cases: list[list[tuple[int, int, int]]] = [[] for _ in word_ids]
    for ti, sq in enumerate(seqs):
        for i, tok in enumerate(sq):
            k = pos.get(tok)
            if k is None or len(cases[k]) >= max_cases:
                continue
            for j in range(i + 1, min(len(sq), i + lags[k] + 1)):
                if bool(valenced[sq[j]]) and sq[j] not in pos:
                    cases[k].append((ti, i, j))
                    break
    x_star = neutral_input(m, 1)[0]
    jobs = [(k, ti, i, j) for k in range(len(word_ids)) for (ti, i, j) in cases[k]]
    ys = np.zeros((len(jobs), 4))
    for s in range(0, len(jobs), 64):
        batch = jobs[s:s + 64]
        T = max(len(seqs[ti]) for _, ti, _, _ in batch)
        X = torch.zeros(len(batch), 4, T, engine.embed.shape[1], dtype=engine.embed.dtype)
        last = torch.tensor([len(seqs[ti]) for _, ti, _, _ in batch])
        for b, (_, ti, i, j) in enumerate(batch):
            e = engine.embed[seqs[ti]]
            X[b, :, :len(e)] = e
            X[b, 1, j] = X[b, 3, j] = x_star    # w -> x*
            X[b, 2, i] = X[b, 3, i] = x_star    # m -> x*
        X = X.reshape(len(batch) * 4, T, -1)
        lens = last.repeat_interleave(4)
        h = m.h0.double().expand(X.shape[0], -1)
        final = h
        for t in range(T):
            h = m.step(h, X[:, t])
            final = torch.where((lens == t + 1)[:, None], h, final)
        ys[s:s + len(batch)] = engine.y(final).reshape(len(batch), 4).numpy()
    out = []
    for k, cls in enumerate(classes):
        rows = [r for r, job in enumerate(jobs) if job[0] == k]
        with_m = ys[rows, 0] - ys[rows, 1]
        without = ys[rows, 2] - ys[rows, 3]
        keep = np.abs(without) > 1e-6
        ratio = with_m[keep] / without[keep]
        n = int(keep.sum())
        if cls == "negator":
            ok = ratio < 0
        elif cls == "attenuator":
            ok = ratio < 1
        elif cls == "intensifier":
            ok = ratio > 1
        else:
            ok = None
        share = float(ok.mean()) if ok is not None and n >= AGREEMENT_MIN_CASES else None
        out.append({"share": share, "n": n, "median_ratio": float(np.median(ratio)) if n else None,
                    "lag": lags[k]})
    return out


def subspace(d_perp: np.ndarray, M: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA (top 2) of the transient deflections; UMAP of [normalised d_perp, M(1..K)]; clusters."""
    from sklearn.cluster import AgglomerativeClustering  # lazy: scikit-learn takes ~1 s to import; only the subspace needs it
    from sklearn.decomposition import PCA  # lazy: scikit-learn takes ~1 s to import; only the subspace needs it
    n = d_perp.shape[0]
    if n < 3:
        z = np.zeros((n, 2))
        return z, z, np.zeros(n, dtype=int)
    pcs = PCA(n_components=2, random_state=seed).fit_transform(d_perp)
    feats = np.concatenate([d_perp / np.maximum(np.linalg.norm(d_perp, axis=1, keepdims=True), 1e-12),
                            (M - 1) / max(np.abs(M - 1).max(), 1e-12)], axis=1)
    if n >= 5:
        import umap  # lazy: umap-learn takes seconds to import (numba); only the subspace map needs it
        xy = umap.UMAP(n_neighbors=min(10, n - 1), min_dist=0.1, random_state=seed,
                       n_jobs=1).fit_transform(feats)
    else:
        xy = pcs
    k = min(4, n)
    clusters = AgglomerativeClustering(n_clusters=k).fit_predict(xy)
    return pcs, xy, clusters
