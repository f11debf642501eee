"""Modifier words: screening, confirmation, modulation curves, strength and timescale, modifier subspace
(METHOD section 4, paper A).

  M_m(k)   the valence-free factor by which m scales the lasting effect of probe words k tokens later, measured
           on the real recurrence from many starting states (core.analysis.modulation)
  screen   a linear estimate of M_m(1) for the frequent vocabulary, each word against its matched null (exact
           where the integration mode misses the readout); the flagged words are confirmed exactly
  s_m      = M_m(1) - 1 (exact), with its 95% interval across starting states
  tau_m    : fit M_m(k) ~ c + a exp(-(k-1)/tau_m) with a free asymptote (fit_free_decay)   effect timescale
  d_m      = F(h*_ref, E[m]) - h*_ref        the deflection whose modes predict the curve and place m in the
           modifier subspace
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from core.analysis.dynamics import NotApplicable, mode_time, neutral_input
from core.analysis.modulation import (EXACT_MAX, EXACT_NULL_SIZE, KNOWN_MODIFIERS, N_PROBE_EACH, N_STATES, NULL_SIZE,
                                      NULL_STATES, SCREEN_STATES, Z_THRESHOLD, judge, judged, make_probe, matched_nulls,
                                      median_interval, null_stats, word_valence)

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


def measured_modifiers(res: dict | None, reach: list[str]) -> dict | None:
    """A stored modifier analysis where it is a measurement, else None: always where the integration mode reaches
    the readout; where it misses it (`reach`: the reach warnings), only one measured exactly (valence_measure
    "exact"), since a linear one's ratios to v0 are 0/0 there."""
    return res if res is None or not reach or res.get("valence_measure") == "exact" else None


def fit_described(r2: float | None, tau: float | None) -> bool:
    """Whether an exponential fit's timescale is a finding: R^2 of at least FIT_MIN_R2 and a finite positive
    tau. Below that the curve does not decay like an exponential (or barely moves), and its tau is an artefact
    of the fit (often the grid's cap of 1,000 tokens)."""
    return (r2 is not None and r2 == r2 and r2 >= FIT_MIN_R2 and tau is not None and tau == tau
            and 0 < tau < math.inf)


def probe_words(engine, n_each: int = 50, frequent: int = 5000, exclude: set[int] | None = None,
                valence: torch.Tensor | None = None, threshold: float | None = None) -> tuple[list[int], torch.Tensor]:
    """Probe valence words P: the n_each most positive and most negative by valence (default v0, above the
    engine's valence threshold) among the `frequent` most frequent vocabulary words (ids are in frequency
    order), minus `exclude`."""
    valence = engine.v0_all if valence is None else valence
    threshold = engine.valence_threshold if threshold is None else threshold
    v0 = valence[2:min(len(engine.vocab), frequent + 2)]
    exclude = exclude or set()
    strong = [i for i in (v0.abs() > threshold).nonzero().squeeze(1).tolist() if i + 2 not in exclude]
    strong = torch.tensor(strong, dtype=torch.long)
    pos = [int(i) + 2 for i in strong[torch.argsort(v0[strong], descending=True)] if v0[i] > 0][:n_each]
    neg = [int(i) + 2 for i in strong[torch.argsort(v0[strong])] if v0[i] < 0][:n_each]
    if v0.numel() and not float(v0.abs().amax()) > 0:
        raise NotApplicable("every word's valence is 0 at the reference point, so modulation cannot be measured "
                            "there: the analysis does not apply at this neutral input; try another one (neutral zero, "
                            "mean or a filler word)")
    if not pos or not neg:
        raise ValueError(f"too few valence words to probe modulation: {len(pos)} positive and {len(neg)} "
                         f"negative words have a valence above the threshold {threshold:.3g}")
    ids = pos + neg
    return ids, valence[ids]


def exact_probe_words(probe, valence: torch.Tensor, threshold: float, n_each: int) -> list[int]:
    """probe_words by exact valence, for a network whose linear v0 is 0 (see word_valence): the papers' modifier
    words are never probes, and a probe that flips the others or scales them by more than 1 + PROBE_MODIFIER_CUTOFF
    away from the typical probe's factor (measured exactly, as clean_probe_words does linearly) is dropped and
    the probes are chosen again. Sets probe.probe_ids and returns them."""
    eng = probe.engine
    known = {eng.vocab.stoi[w] for ws in KNOWN_MODIFIERS.values() for w in ws if w in eng.vocab}
    ids, _ = probe_words(eng, n_each, exclude=known, valence=valence, threshold=threshold)
    probe.probe_ids, probe._base = ids, {}
    modifying = modifying_probes(ids, median_interval(probe.gains(ids, 1, SCREEN_STATES))[0])
    if modifying:
        ids, _ = probe_words(eng, n_each, exclude=known | modifying, valence=valence, threshold=threshold)
        probe.probe_ids, probe._base = ids, {}
    return ids


def clean_probe_words(engine, n_each: int = 50) -> tuple[list[int], torch.Tensor]:
    """probe_words without the strong modifiers: a word such as "not" can also carry valence, but it
    must not serve as a probe, so a probe that flips the others (M(1) <= 0) or scales them by a factor
    more than 1 + PROBE_MODIFIER_CUTOFF away from the typical probe's M(1) is dropped, and the probes
    are chosen again. Relative to the typical probe, because M(1) of an ordinary word need not be 1."""
    probe_ids, probe_v0 = probe_words(engine, n_each)
    modifying = modifying_probes(probe_ids, screen(engine, probe_ids, probe_v0, ids=probe_ids))
    return probe_words(engine, n_each, exclude=modifying) if modifying else (probe_ids, probe_v0)


def modifying_probes(probe_ids: list[int], m1: torch.Tensor) -> set[int]:
    """The probes that modulate the others (clean_probe_words' rule): M(1) <= 0 (or not measured), or a factor
    more than 1 + PROBE_MODIFIER_CUTOFF away from the typical probe's M(1) (the median of the positive ones)."""
    pos = m1[m1 > 0]
    typical = float(pos.median()) if pos.numel() else 1.0
    far = math.log(1 + PROBE_MODIFIER_CUTOFF)
    return {p for p, m in zip(probe_ids, m1.tolist()) if not m == m or m <= 0 or abs(math.log(m / typical)) > far}


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


@torch.no_grad()
def screen(engine, probe_ids, probe_v0, ids: list[int] | None = None) -> torch.Tensor:
    """The linear M_m(1) at the reference point (median over probes of v(F(h*_ref, E[m]), E[p]) / v0(p)) for every
    vocabulary word or for `ids`; <pad>, <unk>: 1. Only for choosing clean probe words and for benchmarks: the
    modifier screen itself is valence-free and measured from many states (core.analysis.modulation)."""
    ids = list(range(len(engine.vocab))) if ids is None else ids
    h = engine.model.step(engine.h_ref.expand(len(ids), -1), engine.embed[ids])
    m1 = modulation_ratios(engine, h, probe_ids, probe_v0).median(dim=1).values
    m1[torch.tensor([i < 2 for i in ids])] = 1.0
    return m1


def find_modifiers(engine, top: int = 30, words: list[str] | None = None, K: int = 20, n_probe: int = N_PROBE_EACH,
                   frequent: int | None = 5000, select: str = "significant", texts: list[str] | None = None,
                   seed: int = 0, progress=None) -> dict:
    """Screen the frequent vocabulary with the valence-free linear factor against each word's matched null
    (core.analysis.modulation), confirm the flagged words on the real recurrence against an exact null, and
    describe the confirmed ones (select="significant", at most `top`) or the given `words`: exact curves M(1..K)
    with their fitted timescale, the curve their excited modes predict, the real-text check with its base rate,
    and their place in the modifier subspace. select="ranked": the `top` strongest words of the linear screen
    whatever their class, with linear curves (the augmented BoW's many-word sweep). `texts` supply the
    starting states and the real-text check (random frequent-word prefixes and no check without them)."""
    t0 = time.time()
    if words:
        unknown = [w for w in words if w not in engine.vocab or engine.vocab.stoi[w] < 2]
        if unknown:
            raise ValueError(f"not in {engine.clf.name}'s vocabulary: {', '.join(unknown)}")
    n_vocab = len(engine.vocab)
    hi_id = n_vocab if not frequent else min(n_vocab, frequent + 2)
    # The papers' own words are always measured exactly (and reported as `known_words`), listed or not.
    known = [w for ws in KNOWN_MODIFIERS.values() for w in ws if w in engine.vocab and engine.vocab.stoi[w] >= 2]
    linear = engine.reaches_readout     # else every v0 is 0: valence, probes and screen measured exactly
    probe = make_probe(engine, texts, [], seed)
    if linear:
        valence, threshold = engine.v0_all, engine.valence_threshold
        probe.probe_ids, probe_v0 = clean_probe_words(engine, n_probe)
    else:
        ids = sorted(set(range(2, hi_id)) | {engine.vocab.stoi[w] for w in (words or []) + known})
        if progress:
            progress(f"exact valence of {len(ids)} words at {SCREEN_STATES} starting states ({probe.source})")
        valence = torch.zeros(n_vocab, dtype=torch.float64)
        valence[ids] = word_valence(probe, ids)
        threshold = 0.1 * float(valence[2:hi_id].abs().quantile(0.99))
        exact_probe_words(probe, valence, threshold, n_probe)
    probe_ids = probe.probe_ids
    probe_set = set(probe_ids)
    screened = [i for i in range(2, hi_id) if i not in probe_set]   # the probes themselves are valence words
    in_screen = set(screened)
    extra = list(dict.fromkeys(engine.vocab.stoi[w] for w in (words or []) + known
                               if engine.vocab.stoi[w] not in in_screen))
    universe = screened + extra
    where = {wid: i for i, wid in enumerate(universe)}
    n_screen = len(screened)
    if progress:
        progress(f"{'linear' if linear else 'exact'} screen of {len(universe)} words at {SCREEN_STATES} starting "
                 f"states ({probe.source})")
    lin = median_interval(probe.gains(universe, 1, SCREEN_STATES, linear=linear))
    m1, lo, hi = (t.numpy() for t in lin)
    v0 = valence[universe].numpy()
    rank = np.asarray(universe, dtype=np.float64)                       # ids are in frequency order
    lin_nulls = matched_nulls(v0, rank, np.arange(n_screen), NULL_SIZE)   # nearest first
    screen_cls, null_med, null_sc = judged(m1, lo, hi, v0, rank, np.arange(n_screen), NULL_SIZE, nulls=lin_nulls)
    null = np.stack([null_med, null_sc], 1)                             # (W, 2): median, robust scale
    z_lin = (m1 - null[:, 0]) / null[:, 1]

    # Exact confirmation: the flagged words (strongest first, at most EXACT_MAX) and the requested words, each
    # judged against the exact factors of its EXACT_NULL_SIZE nearest ordinary words (its matched null's first).
    flagged = sorted((i for i in range(n_screen) if screen_cls[i] != "none"), key=lambda i: -_rank_key(m1[i], z_lin[i]))
    known_rows = [where[engine.vocab.stoi[w]] for w in known]
    to_confirm = list(dict.fromkeys(flagged[:EXACT_MAX] + known_rows if not words else
                                    [where[engine.vocab.stoi[w]] for w in words]))
    exact_nulls = {i: [int(j) for j in lin_nulls[i] if screen_cls[j] == "none"][:EXACT_NULL_SIZE] for i in to_confirm}
    null_words = sorted({j for js in exact_nulls.values() for j in js})
    if progress:
        progress(f"exact factors of {len(to_confirm)} words at {N_STATES} states and of their {len(null_words)} "
                 f"null words at {NULL_STATES}")
    cand_m = median_interval(probe.gains([universe[i] for i in to_confirm], 1, N_STATES))
    null_m = median_interval(probe.gains([universe[j] for j in null_words], 1, NULL_STATES))[0].numpy()
    null_of = dict(zip(null_words, null_m))
    final: dict[int, dict] = {}
    for k, i in enumerate(to_confirm):
        m, a, b = (float(t[k]) for t in cand_m)
        med, sc = null_stats(np.array([null_of[j] for j in exact_nulls[i]]))
        final[i] = {"m1": m, "low": a, "high": b, "null": (med, sc), "class": judge(m, a, b, med, sc),
                    "z": (m - med) / sc if sc == sc else math.nan}
    confirmed = {i for i in to_confirm if final[i]["class"] != "none"}

    def row(i: int) -> dict:
        """One screened word as `screen_words` lists it: the exact figures where measured."""
        f = final.get(i)
        med, sc = f["null"] if f else null[i]
        m = f["m1"] if f else float(m1[i])
        return {"word": engine.vocab.itos[universe[i]], "v0": float(v0[i]), "statistic": m - med,
                "null_band": [-Z_THRESHOLD * sc, Z_THRESHOLD * sc], "m1": m, "class": f["class"] if f else
                screen_cls[i], "screen_class": screen_cls[i], "confirmed_exact": None if screen_cls[i] == "none" and
                not words or f is None else f["class"] != "none", "frequency": int(universe[i]) - 1}

    rows = [row(i) for i in range(n_screen)]
    group = {w: g for g, ws in KNOWN_MODIFIERS.items() for w in ws}
    known_words = [dict(row(i), group=group[engine.vocab.itos[universe[i]]], low=final[i]["low"],
                        high=final[i]["high"], null_median=final[i]["null"][0]) for i in known_rows if i in final]
    stat = np.array([r["statistic"] for r in rows])
    fin = np.isfinite(stat)
    from scipy.stats import spearmanr   # lazy: scipy.stats takes ~0.6 s to import; pages only read stored screens
    rho = float(spearmanr(v0[:n_screen][fin], stat[fin]).statistic) if fin.sum() > 2 else None
    counts = {k: sum(1 for i in confirmed if i < n_screen and final[i]["class"] == k)
              for k in ("negator", "attenuator", "intensifier")}
    counts["none"] = n_screen - sum(counts.values())
    global_null = null_stats(m1[:n_screen])
    thr = {"z": Z_THRESHOLD, "attenuator_below": global_null[0] - Z_THRESHOLD * global_null[1],
           "intensifier_above": global_null[0] + Z_THRESHOLD * global_null[1],
           "null": f"each word against the {NULL_SIZE} screened words nearest in (v0 rank, frequency rank); these "
                   "two figures: the band of the whole screen, for comparison",
           "interval": f"95% across {N_STATES} starting states (order statistics of the median)"}
    # Words that look like modifiers against the whole screen but not against words of their own valence.
    saturating = [{"word": engine.vocab.itos[universe[i]], "m1": float(m1[i]), "v0": float(v0[i]), "class": "none"}
                  for i in sorted(range(n_screen), key=lambda i: -abs(v0[i]))
                  if screen_cls[i] == "none" and not thr["attenuator_below"] <= m1[i] <= thr["intensifier_above"]][:10]
    screen_summary = {"n_words": n_screen, "counts": counts, "thresholds": thr, "frequent": frequent,
                      "screen_counts": {k: screen_cls[:n_screen].count(k) for k in
                                        ("negator", "attenuator", "intensifier", "none")},
                      "flagged": len(flagged), "measured_exact": len([i for i in flagged if i in final]),
                      "confirmed": len(confirmed), "not_measured": len([i for i in flagged if i not in final]) if not words else 0,
                      "v0_statistic_spearman": rho, "states": probe.source, "n_states": N_STATES,
                      "screen_states": SCREEN_STATES, "null_states": NULL_STATES,
                      "exact_null_words": len(null_words),
                      "words": rows}
    screen_s = time.time() - t0
    base = {"known_words": known_words, "n_probe": len(probe_ids), "probe_words": [engine.vocab.itos[i] for i in probe_ids], "K": K,
            "vocab_size": n_vocab, "screen": screen_summary, "saturating_valence_words": saturating,
            "valence_threshold": threshold, "select": "words" if words else select,
            "valence_measure": "v0" if linear else "exact", "readout_lag": probe.relax,
            "reference": engine.reference(),
            "measured": "exact" if select != "ranked" or words or not linear else "linear"}
    if words:
        cand = to_confirm
    elif select == "ranked":
        cand = sorted(range(n_screen), key=lambda i: -_rank_key(m1[i], z_lin[i]))[:top]
    else:
        cand = sorted(confirmed, key=lambda i: -_rank_key(final[i]["m1"], final[i]["z"]))[:top]
    if not cand:
        return dict(base, modifiers=[], mode_effect_spearman=None, mode_effect_spearman_ci=None,
                    screen_seconds=screen_s, seconds=time.time() - t0)
    ids = [universe[i] for i in cand]
    if progress:
        progress(f"curves M(1..{K}) of {len(ids)} words")
    if base["measured"] == "exact":
        M, M_lo, M_hi = (t.numpy() for t in probe.curves(ids, K))
        for j, i in enumerate(cand):      # M(1) from all the states the word was judged on
            M[j, 0], M_lo[j, 0], M_hi[j, 0] = final[i]["m1"], final[i]["low"], final[i]["high"]
    else:
        cols = [median_interval(probe.gains(ids, k, SCREEN_STATES, linear=True)) for k in range(1, K + 1)]
        M, M_lo, M_hi = (np.stack([c[t].numpy() for c in cols], 1) for t in range(3))
    d = engine.model.step(engine.h_ref.expand(len(ids), -1), engine.embed[ids]) - engine.h_ref
    r1, l1 = engine.r1[engine.ref], engine.l1[engine.ref]
    d_perp = d - (d @ l1)[:, None] * r1[None, :]
    lam, R, L = engine.full_modes(engine.ref)                 # all N modes at h*_ref, slowest first
    coef = (L @ d_perp.to(torch.complex128).T).T              # (W, N): l_a . d_m_perp
    exc = coef.abs()
    fits = [fit_free_decay(M[i]) for i in range(len(ids))]
    # The curve the excited modes predict goes through the linear valence at h*_ref: none where that is 0.
    contrib = predicted = None
    if linear:
        gr = R @ modulation_gradient(engine, probe_ids, probe_v0).to(torch.complex128)   # G . r_a
        contrib = coef * gr[None, :]                           # each mode's share of the effect on valence
        kk = np.arange(K)
        predicted = 1.0 + np.real(contrib.numpy() @ (lam.numpy()[:, None] ** kk[None, :]))   # (W, K)
    effect = contrib.abs() if linear else exc                  # the modes listed: by effect, else by excitation
    lags = [int(min(AGREEMENT_LAG, max(1, round(f["timescale"])))) if fit_described(f["r2"], f["timescale"])
            else AGREEMENT_LAG for f in fits]
    classes = [final[i]["class"] if i in final else screen_cls[i] for i in cand]
    agree = base_rates = None
    if texts:
        skip = {universe[i] for i in range(len(universe)) if screen_cls[i] != "none" or i in confirmed}
        seqs = engine.clf.encode(texts)
        valenced = valence.abs() > threshold
        agree = real_text_agreement(engine, ids, classes, seqs, lags, skip=skip, valenced=valenced)
        base_rates = real_text_base_rates(engine, ids, classes, seqs, lags, skip,
                                          [universe[i] for i in range(n_screen) if i not in confirmed and screen_cls[i] == "none"],
                                          valenced=valenced)
    pcs, umap_xy, clusters = subspace((d_perp / engine.scale).numpy(), M, seed)   # an LSTM's h and c on their own scales
    mods = []
    for j, (i, wid) in enumerate(zip(cand, ids)):
        f = fits[j]
        fx = final.get(i)
        strong = torch.argsort(effect[j], descending=True)[:3].tolist()
        err = None if predicted is None else float(np.sqrt(np.mean((M[j] - predicted[j]) ** 2)))
        mods.append({
            "word": engine.vocab.itos[wid], "strength": float(M[j, 0] - 1), "strength_ci": [float(M_lo[j, 0] - 1),
                                                                                        float(M_hi[j, 0] - 1)],
            "strength_exact": None if fx is None else fx["m1"] - 1,
            "strength_linear": float(m1[i] - 1), "statistic": rows[i]["statistic"] if i < n_screen else
            (fx["m1"] - fx["null"][0] if fx else None), "null_band": rows[i]["null_band"] if i < n_screen else None,
            "null_median": None if fx is None else fx["null"][0],
            "confirmed_exact": None if fx is None else fx["class"] != "none",
            "timescale": f["timescale"], "fit_r2": f["r2"], "asymptote": f["asymptote"], "class": classes[j],
            "role": "modifier", "effect_z": abs(fx["z"]) if fx else abs(float(z_lin[i])),
            "curve": [float(v) for v in M[j]], "curve_ci": [[float(a), float(b)] for a, b in zip(M_lo[j], M_hi[j])],
            "predicted_curve": None if predicted is None else [float(v) for v in predicted[j]], "curve_error": err,
            "v0": float(v0[i]), "deflection": float(d[j].norm()), "deflection_perp": float(d_perp[j].norm()),
            "modes": [dict(mode=a, excitation=float(exc[j, a]), effect=float(effect[j, a]), **mode_time(complex(lam[a])))
                      for a in strong],
            "mode_timescale": None if contrib is None else mode_timescale(contrib[j].numpy(), lam.numpy()),
            "real_text_agreement": None if agree is None else agree[j]["share"],
            "real_text": None if agree is None else agree[j],
            "real_text_base_rate": None if base_rates is None else base_rates[j]["share"],
            "real_text_base": None if base_rates is None else base_rates[j],
            "pc": [float(pcs[j, 0]), float(pcs[j, 1])], "umap": [float(umap_xy[j, 0]), float(umap_xy[j, 1])],
            "cluster": int(clusters[j]),
        })
    rho_m, rho_ci = mode_effect_spearman(mods, seed)
    return dict(base, modifiers=mods, mode_effect_spearman=rho_m, mode_effect_spearman_ci=rho_ci,
                screen_seconds=screen_s, seconds=time.time() - t0)


def _rank_key(m1: float, z: float) -> float:
    """Ranking of a word's effect: a flip (M(1) <= 0) above every same-sign effect, the larger flip first;
    else |z| against its matched null."""
    if m1 <= 0:
        return 1e6 - m1
    return abs(z) if z == z else 0.0


def fit_free_decay(curve, x0: float = 0.0, tau_max: float | None = None) -> dict:
    """Least-squares fit of curve[i] ~ c + a exp(-i / tau) (i = x - x0, from 0 at the first point) with a free
    asymptote c: over the grid of timescales TAU_GRID (up to tau_max), c and a solved linearly for each tau.
    Returns {"asymptote": c, "amplitude": a (the first point's excess over c), "timescale": tau, "r2",
    "timescale_at_limit": whether tau is the grid's largest (the decay is no faster than the grid allows)}."""
    y = np.asarray(curve, dtype=np.float64)
    if y.ndim != 1 or len(y) < 3:
        raise ValueError("a decay fit needs at least 3 points")
    grid = TAU_GRID if tau_max is None else TAU_GRID[TAU_GRID <= tau_max]
    if not len(grid):
        raise ValueError(f"tau_max {tau_max} is below the grid's smallest timescale {TAU_GRID[0]}")
    i = np.arange(len(y), dtype=np.float64)
    e = np.exp(-i[None, :] / grid[:, None])                             # (G, n)
    n, se, see = len(y), e.sum(1), (e ** 2).sum(1)
    sy, sey = y.sum(), e @ y
    det = n * see - se ** 2
    ok = det > 1e-12 * n * n
    a = np.where(ok, (n * sey - se * sy) / np.where(ok, det, 1.0), 0.0)
    c = (sy - a * se) / n
    sse = ((y[None, :] - c[:, None] - a[:, None] * e) ** 2).sum(1)
    sse[~ok] = np.inf
    g = int(np.argmin(sse))
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(sse[g]) / ss_tot if ss_tot > 1e-24 else float("nan")
    return {"asymptote": float(c[g]), "amplitude": float(a[g]), "timescale": float(grid[g]), "r2": r2,
            "timescale_at_limit": bool(g == len(grid) - 1)}


def modulation_gradient(engine, probe_ids: list[int], probe_v0: torch.Tensor) -> torch.Tensor:
    """G = d/dh of mean_{w in P} v(h, E[w]) / v0(w) at h*_ref (r_1, l_1 held at h*_ref): how a deflection
    of the state changes the valence of the next word, relative to its context-free value."""
    x = engine.embed[probe_ids]
    gain, l1 = engine.w_r1[engine.ref], engine.l1[engine.ref]

    def rel_valence(h: torch.Tensor) -> torch.Tensor:
        hb = h.expand(len(probe_ids), -1)
        diff = engine.model.step(hb, x) - engine.model.step(hb, neutral_input(engine.model, len(probe_ids)))
        return (gain * (diff @ l1) / probe_v0).mean()

    h = engine.h_ref.clone().requires_grad_(True)
    with torch.enable_grad():   # plain autograd: torch.func would import torch's compiler stack (seconds)
        return torch.autograd.grad(rel_valence(h), h)[0]


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


def mode_effect_spearman(mods: list[dict], seed: int = 0, n_boot: int = 1000) -> tuple[float | None, list | None]:
    """Rank correlation, over the modifiers whose curve has a timescale (fit_described), of that timescale with
    the weighted timescale of the modes each excites (paper A: they match), and its 95% bootstrap interval over
    the modifiers; (None, None) with fewer than 3 such modifiers. A screen, not a finding: the curves beside the
    curves their modes predict (`predicted_curve`, `curve_error`) are the comparison in absolute terms."""
    pairs = np.array([(m["timescale"], m["mode_timescale"]) for m in mods
                      if m["mode_timescale"] is not None and fit_described(m["fit_r2"], m["timescale"])])
    if len(pairs) < 3:
        return None, None
    from scipy.stats import spearmanr   # lazy: scipy.stats takes ~0.6 s to import; pages only read stored results
    r = spearmanr(pairs[:, 0], pairs[:, 1]).statistic
    if not np.isfinite(r):
        return None, None
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        b = pairs[rng.integers(len(pairs), size=len(pairs))]
        if len(np.unique(b[:, 0])) > 1 and len(np.unique(b[:, 1])) > 1:
            boots.append(spearmanr(b[:, 0], b[:, 1]).statistic)
    ci = [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))] if boots else None
    return float(r), ci


def real_text_agreement(engine, word_ids: list[int], classes: list[str], texts: list[str] | list[list[int]],
                        lags: list[int] | None = None, max_cases: int = AGREEMENT_MAX_CASES,
                        skip: set[int] | None = None, valenced: torch.Tensor | None = None) -> list[dict]:
    """Check each modifier on real text (`texts`, or their encodings). In every text (read in the model's window)
    where the word m comes at most lags[m] tokens (default AGREEMENT_LAG) before a valence word w (`valenced`,
    default |v0(w)| above the valence threshold, and not in `skip`: the words the screen flags, a set that does not depend on which
    words are checked; default: the checked words), compare the effect of w on the RNN's final logit with m in
    place and with m replaced by the neutral input x*:
        ratio = [y(m .. w) - y(m .. x*)] / [y(x* .. w) - y(x* .. x*)].
    Its class predicts ratio > 1 (intensifier), < 1 (attenuator), < 0 (negator). Returns, per word,
    {"share": share of occurrences that agree (null under AGREEMENT_MIN_CASES), "n", "agree", "median_ratio",
    "lag"}."""
    lags = lags or [AGREEMENT_LAG] * len(word_ids)
    seqs = _encoded(engine, texts)
    ratios = real_text_ratios(engine, seqs, list(zip(word_ids, lags)), max_cases,
                              set(word_ids) if skip is None else skip, valenced)
    return [dict(_agreement(r, cls), lag=lag) for r, cls, lag in zip(ratios, classes, lags)]


def _encoded(engine, texts: list) -> list[list[int]]:
    return texts if texts and isinstance(texts[0], list) else engine.clf.encode(texts)


def _agreement(ratio: np.ndarray, cls: str) -> dict:
    """{"share", "n", "agree", "median_ratio"} of one word's real-text ratios under its class's rule."""
    n = len(ratio)
    ok = {"negator": ratio < 0, "attenuator": ratio < 1, "intensifier": ratio > 1}.get(cls)
    return {"share": float(ok.mean()) if ok is not None and n >= AGREEMENT_MIN_CASES else None, "n": n,
            "agree": int(ok.sum()) if ok is not None else 0, "median_ratio": float(np.median(ratio)) if n else None}


@torch.no_grad()
def real_text_ratios(engine, seqs: list[list[int]], pairs: list[tuple[int, int]], max_cases: int,
                     skip: set[int], valenced: torch.Tensor | None = None) -> list[np.ndarray]:
    """The real-text ratios (see real_text_agreement) of each (word, lag) pair: up to max_cases occurrences each,
    the first texts first, in one pass over the texts and one batched run of the network."""
    m = engine.model
    if valenced is None:
        valenced = engine.v0_all.abs() > engine.valence_threshold
    pos: dict[int, list[int]] = {}
    for k, (w, _) in enumerate(pairs):
        pos.setdefault(w, []).append(k)
    cases: list[list[tuple[int, int, int]]] = [[] for _ in pairs]
    for ti, sq in enumerate(seqs):
        for i, tok in enumerate(sq):
            for k in pos.get(tok, ()):
                if len(cases[k]) >= max_cases:
                    continue
                for j in range(i + 1, min(len(sq), i + pairs[k][1] + 1)):
                    if bool(valenced[sq[j]]) and sq[j] not in skip:
                        cases[k].append((ti, i, j))
                        break
    x_star = neutral_input(m, 1)[0]
    jobs = [(k, ti, i, j) for k in range(len(pairs)) for (ti, i, j) in cases[k]]
    jobs.sort(key=lambda job: len(seqs[job[1]]))    # batches of similar lengths: little padding to run through
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
    for k in range(len(pairs)):
        rows = [r for r, job in enumerate(jobs) if job[0] == k]
        with_m = ys[rows, 0] - ys[rows, 1]
        without = ys[rows, 2] - ys[rows, 3]
        keep = np.abs(without) > 1e-6
        out.append(with_m[keep] / without[keep])
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


BASE_WORDS = 10           # real-text base rate: ordinary words per modifier, nearest in frequency
BASE_MAX_CASES = 10       # occurrences checked per ordinary word (pooled over BASE_WORDS: up to 100)


def real_text_base_rates(engine, word_ids: list[int], classes: list[str], texts: list, lags: list[int],
                         skip: set[int], ordinary: list[int], valenced: torch.Tensor | None = None) -> list[dict]:
    """The real-text check's base rate for each modifier: the same check, with the modifier's class rule and lag,
    on the BASE_WORDS ordinary words (class none) nearest to it in frequency rank, pooled: how often a word that
    modulates nothing would "agree". {"share", "n", "words"} per modifier (share null under AGREEMENT_MIN_CASES)."""
    seqs = _encoded(engine, texts)
    near = [sorted((o for o in ordinary if o != wid), key=lambda o: (abs(o - wid), o))[:BASE_WORDS] for wid in word_ids]
    pairs = sorted({(o, lag) for ws, lag in zip(near, lags) for o in ws})
    ratio = dict(zip(pairs, real_text_ratios(engine, seqs, pairs, BASE_MAX_CASES, skip, valenced)))
    out = []
    for ws, cls, lag in zip(near, classes, lags):
        pooled = np.concatenate([ratio[(o, lag)] for o in ws]) if ws else np.zeros(0)
        a = _agreement(pooled, cls)
        out.append({"share": a["share"], "n": a["n"], "words": [engine.vocab.itos[o] for o in ws]})
    return out
