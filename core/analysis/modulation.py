"""Modulation measured free of the word's own valence, on the real recurrence (METHOD section 4, issue 17).

A word m modulates when it changes how much the words after it move the readout, beyond what its own valence
does. For a starting state h (from real text, or from random frequent-word prefixes when no text is there), a
probe word p (a strong valence word), and a gap k (p is the k-th token after m):

  h_a(k)      = Phi_{k-1}(F(h, a))                          the state k-1 neutral inputs after input a
  e(h, a, p)  = y(Phi_R(F(h_a(k), E[p]))) - y(Phi_R(F(h_a(k), x*)))      p's lasting effect on the readout
                (R, readout_lag: the engine's K neutral steps, at most RELAX_MAX, longer than most documents;
                where the integration mode does not reach the readout, nothing lasts, and R is the median
                document's length: p's effect on the readout at the end of a typical document)
  g_m(h, k)   = sum_p e(h, m, p) e(h, x*, p) / sum_p e(h, x*, p)^2        the factor by which m scales it
  M_m(k)      = median over starting states of g_m(h, k), with a 95% interval across states

m's own push cancels in e (both branches read m), so a word that only carries valence has M = the value of
ordinary words of the same valence; a saturating valence word is judged against those, not against 1. The
null of a word is the NULL_SIZE screened words nearest to it in (signed v0 rank, frequency rank), and the
valence-free statistic is M_m(1) minus its null's median. States where the probes barely move the readout
(the end attractors: their probe effects under INFORMATIVE of the median state's) carry no information about a
factor and are left out.

The linear screen replaces each e by its linearisation at one point per state (the attractor point nearest
F(h, x*), its r_1 and l_1 for both branches, so no branch switches modes): (w . r_1) l_1 . [F(h_a, E[p]) -
F(h_a, x*)]. It is a fast pre-screen of every frequent word; only the exact measurement lists a word. Where the integration
mode does not reach the readout (w . r_1 = 0: every linear valence is 0), the screen is exact too, and a word's
valence, for choosing probes and matching nulls, is its own exact effect e(h, x*, m) (word_valence).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from core.analysis.dynamics import neutral_input, random_texts, relax

KNOWN_MODIFIERS = {"negators": ("not", "n't", "never", "no", "nothing"),
                   "intensifiers": ("very", "really", "so", "extremely", "too")}   # the papers' words: always measured
N_STATES = 32            # starting states of the exact measurement
SCREEN_STATES = 8        # of those, the ones the linear screen uses
CURVE_STATES = 16        # of those, the ones the curves M(1..K) use
N_PROBE_EACH = 8         # probe words of each sign
NULL_SIZE = 100          # matched-null words per word in the linear screen
FREQ_WEIGHT = 0.25       # frequency's weight beside valence when matching a null (valence is the confound)
EXACT_NULL_SIZE = 20     # exact null of a flagged word: the nearest ordinary words of its matched null
NULL_STATES = 8          # starting states (the first of N_STATES) at which null words are measured exactly
EXACT_MAX = 60           # screen candidates confirmed exactly, strongest first (the rest are counted)
Z_THRESHOLD = 3.0        # robust z against the matched null beyond which a word modulates
INFORMATIVE = 0.1        # a state informs a factor when its probes' effects are this share of the median state's
SCALE_FLOOR = 0.02       # smallest robust scale of a null (identical ordinary words: the toy's noise words)
CI_Z = 1.96
RELAX_MAX = 100          # R: the engine's neutral steps K, at most this many (beyond most documents' length)
PREFIX_MAX = 60          # random prefixes (no text): 1..PREFIX_MAX frequent words


def interval_ranks(n: int, z: float = CI_Z) -> tuple[int, int]:
    """The 0-based ranks (a, b) of median_interval's order statistics among n sorted values."""
    a = max(0, int(math.floor(n / 2 - z * math.sqrt(n) / 2)))
    b = min(n - 1, int(math.ceil(n / 2 + z * math.sqrt(n) / 2)) - 1)
    return a, max(a, b)


def interval_coverage(n: int, z: float = CI_Z) -> float:
    """The exact coverage of median_interval's interval [x_(a+1), x_(b+1)] for n continuous values: the
    probability that the count B of values below the median, Binomial(n, 1/2), is in a+1..b. The normal
    approximation behind the ranks makes it 0.950 at 32 values but less at fewer (0.923 at 16, 0.930 at 8):
    what the pages and the Method say of the interval comes from here."""
    a, b = interval_ranks(n, z)
    return sum(math.comb(n, k) for k in range(a + 1, b + 1)) / 2 ** n


def median_interval(x: torch.Tensor, z: float = CI_Z) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(median, low, high) along the last axis: the distribution-free interval of a median from order
    statistics (ranks n/2 -+ z sqrt(n)/2: nominally 95%; its exact coverage: interval_coverage). NaN entries
    (left-out states) are ignored row by row."""
    med, lo, hi = [], [], []
    for row in x.reshape(-1, x.shape[-1]):
        r = row[~torch.isnan(row)].sort().values
        n = r.numel()
        if n == 0:
            med.append(math.nan), lo.append(math.nan), hi.append(math.nan)
            continue
        a, b = interval_ranks(n, z)
        med.append(float(r.median())), lo.append(float(r[a])), hi.append(float(r[b]))
    shape = x.shape[:-1]
    return (torch.tensor(med, dtype=torch.float64).reshape(shape), torch.tensor(lo, dtype=torch.float64).reshape(shape),
            torch.tensor(hi, dtype=torch.float64).reshape(shape))


@torch.no_grad()
def starting_states(engine, texts: list[str] | None, n: int = N_STATES, seed: int = 0) -> tuple[torch.Tensor, str]:
    """n states to measure from, and where they come from: the model's state after a random prefix of a random
    text (the prefix's length uniform over the text), or, with no texts, after 1..PREFIX_MAX random frequent
    words. Always the same for the same texts and seed."""
    rng = np.random.default_rng(seed)
    source = "real text"
    seqs = [s for s in engine.clf.encode(texts) if s] if texts else []
    if not seqs:
        source = "random frequent-word prefixes"
        seqs = engine.clf.encode(random_texts(engine.clf, n_texts=n, length=PREFIX_MAX, seed=seed))
    out = []
    for i in range(n):
        sq = seqs[int(rng.integers(len(seqs)))]
        cut = int(rng.integers(1, len(sq) + 1))
        out.append(engine.run(sq[:cut])[-1])
    return torch.stack(out), source


def ls_gain(e_m: torch.Tensor, e_0: torch.Tensor) -> torch.Tensor:
    """Per state, the least-squares factor g with e_m ~ g e_0 over the probes (last axis)."""
    return (e_m * e_0).sum(-1) / (e_0 ** 2).sum(-1).clamp_min(1e-300)


def readout_lag(engine) -> int:
    """R, the neutral steps after a probe at which its effect on the readout is read: the engine's K (at most
    RELAX_MAX) where the integration mode carries valence to the readout; else, where nothing lasts, the median
    document's length in tokens (at least 1)."""
    if engine.reaches_readout:
        return min(engine.relax_steps, RELAX_MAX)
    return max(1, math.ceil(engine.summary.get("median_doc_tokens") or 1))


@dataclass
class Probe:
    """The measurement set-up of one engine: starting states, probe words, the readout lag R and, per gap, the
    probes' effects after the neutral input (the denominator of every factor) and which states inform a factor."""
    engine: object
    states: torch.Tensor
    probe_ids: list[int]
    source: str
    relax: int
    _base: dict = field(default_factory=dict)

    @property
    def x(self) -> torch.Tensor:
        return self.engine.embed[self.probe_ids]

    # ---- exact ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def _effects_exact(self, h: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """e for states h (..., N) and every probe: (..., P), on the real recurrence."""
        eng, P = self.engine, len(self.probe_ids)
        flat = h.reshape(-1, h.shape[-1])
        out = []
        per = max(1, chunk // (P + 1))
        for s in range(0, flat.shape[0], per):
            hb = flat[s:s + per]
            b = hb.shape[0]
            hp = eng.model.step(hb[:, None, :].expand(b, P, -1).reshape(b * P, -1), self.x.repeat(b, 1))
            hs = eng.model.step(hb, neutral_input(eng.model, b))
            yy = eng.y(relax(eng.model, torch.cat([hp, hs]), self.relax))
            out.append(yy[:b * P].reshape(b, P) - yy[b * P:, None])
        return torch.cat(out).reshape(*h.shape[:-1], P)

    @torch.no_grad()
    def _after(self, word_ids: list[int] | None, states: torch.Tensor, gap: int) -> torch.Tensor:
        """h_a(gap) for each word a (None: the neutral input) and state: (W, S, N) or (S, N)."""
        eng = self.engine
        if word_ids is None:
            h = eng.model.step(states, neutral_input(eng.model, states.shape[0]))
        else:
            W, S = len(word_ids), states.shape[0]
            x = eng.embed[word_ids][:, None, :].expand(W, S, -1).reshape(W * S, -1)
            h = eng.model.step(states.repeat(W, 1), x)
        if gap > 1:
            h = relax(eng.model, h, gap - 1)
        return h if word_ids is None else h.reshape(len(word_ids), states.shape[0], -1)

    def base(self, gap: int, n_states: int, linear: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(probe effects after the neutral input (S, P), informative-state mask (S,)) at this gap."""
        key = (gap, n_states, linear)
        if key not in self._base:
            states = self.states[:n_states]
            h0 = self._after(None, states, gap)
            e0 = self._effects_linear(h0, self._near(states)) if linear else self._effects_exact(h0)
            rms = e0.pow(2).mean(-1).sqrt()
            self._base[key] = (e0, rms >= INFORMATIVE * rms.median())
        return self._base[key]

    def gains(self, word_ids: list[int], gap: int = 1, n_states: int = N_STATES, linear: bool = False,
              chunk: int = 64) -> torch.Tensor:
        """g_m(h, gap) for each word and state: (W, S), NaN at states that do not inform a factor."""
        e0, ok = self.base(gap, n_states, linear)
        states = self.states[:n_states]
        near = self._near(states) if linear else None
        out = []
        for s in range(0, len(word_ids), chunk):
            h = self._after(word_ids[s:s + chunk], states, gap)
            em = self._effects_linear(h, near) if linear else self._effects_exact(h)
            g = ls_gain(em, e0[None])
            g[:, ~ok] = math.nan
            out.append(g)
        return torch.cat(out) if out else torch.zeros(0, n_states, dtype=torch.float64)

    def curves(self, word_ids: list[int], K: int, n_states: int = CURVE_STATES) -> tuple[torch.Tensor, ...]:
        """(M, low, high) of M_m(k), k = 1..K, for each word: (W, K) each, exact."""
        cols = [median_interval(self.gains(word_ids, k, n_states)) for k in range(1, K + 1)]
        return tuple(torch.stack([c[i] for c in cols], 1) for i in range(3))

    # ---- linear screen -------------------------------------------------------------------------------
    @torch.no_grad()
    def _near(self, states: torch.Tensor) -> torch.Tensor:
        """The attractor point nearest F(h, x*) for each state: one linearisation per state, for both branches."""
        eng = self.engine
        return eng.nearest(eng.model.step(states, neutral_input(eng.model, states.shape[0])))

    @torch.no_grad()
    def _effects_linear(self, h: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
        """The linearised e for states h (W, S, N) or (S, N), with each state's point `near` (S,): (..., P)."""
        eng, P = self.engine, len(self.probe_ids)
        lead = h.shape[:-1]
        hh = h.reshape(-1, h.shape[-1])
        idx = near.repeat(hh.shape[0] // near.shape[0])
        fx = eng.model.step(hh[:, None, :].expand(-1, P, -1).reshape(-1, hh.shape[-1]), self.x.repeat(hh.shape[0], 1))
        fs = eng.model.step(hh, neutral_input(eng.model, hh.shape[0]))
        diff = fx.reshape(hh.shape[0], P, -1) - fs[:, None, :]
        e = eng.w_r1[idx][:, None] * (diff * eng.l1[idx][:, None, :]).sum(-1)
        return e.reshape(*lead, P)


def make_probe(engine, texts: list[str] | None, probe_ids: list[int], seed: int = 0) -> Probe:
    """The set-up for an engine: starting states from `texts` (or random prefixes), the probe words and R."""
    states, source = starting_states(engine, texts, N_STATES, seed)
    return Probe(engine, states, probe_ids, source, readout_lag(engine))


@torch.no_grad()
def word_valence(probe: Probe, word_ids: list[int], n_states: int = SCREEN_STATES, chunk: int = 512) -> torch.Tensor:
    """Each word's own exact effect on the readout, R steps later: the median over the first n_states starting
    states of y(Phi_R(F(h, E[w]))) - y(Phi_R(F(h, x*))). The valence the matched nulls and the probe choice use
    where the linear v0 is 0 everywhere (the integration mode does not reach the readout)."""
    states = probe.states[:n_states]
    out = []
    for s in range(0, len(word_ids), chunk):
        out.append(Probe(probe.engine, states, word_ids[s:s + chunk], probe.source, probe.relax)
                   ._effects_exact(states).median(0).values)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def matched_nulls(v0: np.ndarray, freq_rank: np.ndarray, pool: np.ndarray, size: int,
                  exclude_self: bool = True) -> np.ndarray:
    """For each word i (rows of v0, freq_rank), the indices into `pool` of the `size` pool words nearest in
    valence first and frequency second: distance = |difference of signed v0 rank| + FREQ_WEIGHT |difference of log
    frequency rank|, each scaled to 0..1 over all words. A word is never its own null."""
    n = len(v0)
    rv = np.argsort(np.argsort(v0)) / max(n - 1, 1)
    lf = np.log(np.maximum(np.asarray(freq_rank, dtype=np.float64), 1.0))
    rf = FREQ_WEIGHT * (lf - lf.min()) / max(float(lf.max() - lf.min()), 1e-12)
    size = min(size, len(pool) - (1 if exclude_self else 0))
    out = np.zeros((n, max(size, 0)), dtype=np.int64)
    for s in range(0, n, 512):
        d = np.abs(rv[s:s + 512, None] - rv[None, pool]) + np.abs(rf[s:s + 512, None] - rf[None, pool])
        if exclude_self:
            d[pool[None, :] == np.arange(s, min(n, s + 512))[:, None]] = np.inf
        out[s:s + 512] = np.argsort(d, axis=1, kind="stable")[:, :size]
    return out


def null_stats(values: np.ndarray) -> tuple[float, float]:
    """(median, robust scale = max(1.4826 MAD, SCALE_FLOOR)) of a null's values."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return math.nan, math.nan
    med = float(np.median(v))
    return med, max(1.4826 * float(np.median(np.abs(v - med))), SCALE_FLOOR)


def judge(m: float, low: float, high: float, null_median: float, null_scale: float, z: float = Z_THRESHOLD) -> str:
    """negator / attenuator / intensifier / none for a word with factor M(1) = m and 95% interval [low, high],
    against its matched null: a negator's interval lies below 0 (it flips the next word); an attenuator lies z
    robust scales below the null's median with its interval below that median; an intensifier the same above."""
    if not all(map(math.isfinite, (m, low, high, null_median, null_scale))):
        return "none"
    if high < 0:
        return "negator"
    if m < null_median - z * null_scale and high < null_median:
        return "attenuator"
    if m > null_median + z * null_scale and low > null_median:
        return "intensifier"
    return "none"


def judged(m1: np.ndarray, low: np.ndarray, high: np.ndarray, v0: np.ndarray, rank: np.ndarray, pool: np.ndarray,
           size: int, rows: list[int] | None = None,
           nulls: np.ndarray | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(class, null median, null scale) of each word in `rows` (default: all): factor m1 with interval [low, high],
    judged against the `size` words of `pool` nearest to it in (v0, frequency rank) (matched_nulls). The arrays
    cover every word; m1 may be NaN outside `pool` and `rows` (words not measured). `nulls`: matched_nulls(v0,
    rank, pool, size) when already computed."""
    rows = list(range(len(m1))) if rows is None else rows
    nulls = matched_nulls(v0, rank, pool, size) if nulls is None else nulls
    pool_m1 = m1[pool]
    stats = np.array([null_stats(pool_m1[nulls[i]]) for i in rows]).reshape(len(rows), 2)
    classes = [judge(float(m1[i]), float(low[i]), float(high[i]), float(med), float(sc))
               for i, (med, sc) in zip(rows, stats)]
    return classes, stats[:, 0], stats[:, 1]
