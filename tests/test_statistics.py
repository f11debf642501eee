"""The statistics the explorer reports, pinned to answers worked out by hand or computed independently here
(issue 20, item 6): a change to an estimator (a mean for a median, a 90% interval for a 95% one, another bootstrap
seed, another weighting) must make one of these tests fail.

  M(k) (core.analysis.modulation)  per state the least-squares factor over probe words (ls_gain), then the median
      over starting states (median_interval); worked by hand on a designed three-unit network where the median and
      the mean differ, and where the least-squares factor differs from the mean and the median of the per-probe
      ratios.
  the linear screen's M(1) (core.analysis.modifiers.screen)  the median over probe words, on the same network;
      the probe-cleaning rule's typical M(1) (modifying_probes), the median of the positive ones.
  bootstrap intervals (core.experiments.compare.bootstrap_gap)  the RNN-minus-BoW interval, the gap-recovered
      interval and the paired contrast interval: empirical coverage on simulated data whose sampling distribution
      is known (the mean of n normal values: Student's t), pinned percentiles on one small dataset, the seed, and
      the seed `compare` uses; the bootstrap interval of mode_effect_spearman likewise.
  the Harrell-Davis median across probe words (core.analysis.position.probe_median)  weights from the Beta CDF
      computed independently (for odd n a binomial tail), n = 2, 3, 5, and its clamp to the interval.
  the median effect timescale of the transient-modifiers claim (core.experiments.claims.judge_transient).

Runs in a few seconds, reads no data, no stored analysis and no source text.
"""
from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis import modifiers as MOD
from core.analysis import modulation as MD
from core.analysis import position as P
from core.experiments import claims as C
from core.experiments import compare as CMP
from core.experiments.compare import bootstrap_gap

# ---- a designed network for M(k) ------------------------------------------------------------------------------
LEAK = 0.5


class Scaled(nn.Module):
    """h = [s, g, c], x = [val, mod, sens]; readout y = s, neutral input x* = 0:

        s' = s + (1 + c g sens) val      g' = LEAK g + mod      c' = c

    Under x* every s is a fixed point (an exact line attractor), g decays by LEAK per token, c never changes. A
    modifier (mod 1) opens the gate g; a probe word's effect on the readout is then (1 + c g sens) val: each probe
    is scaled by its own factor 1 + c g sens (sens differs between probes), and each starting state by its own
    c (c differs between states)."""

    def __init__(self, embed: torch.Tensor):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embed.double())   # x* = 0 (neutral_input reads its width)
        self.h0 = nn.Parameter(torch.zeros(3, dtype=torch.float64), requires_grad=False)

    def step(self, h, x):
        s, g, c = h[..., 0], h[..., 1], h[..., 2]
        val, mod, sens = x[..., 0], x[..., 1], x[..., 2]
        return torch.stack(torch.broadcast_tensors(s + (1 + c * g * sens) * val, LEAK * g + mod, c + 0 * val), -1)


# words: 0, 1 special; 2 the modifier "m"; 3, 4, 5 the probes (val 1, -2, 1; sens 0, 1, 4)
EMBED = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                      [1.0, 0.0, 0.0], [-2.0, 0.0, 1.0], [1.0, 0.0, 4.0]], dtype=torch.float64)
M_ID, PROBES = 2, [3, 4, 5]
# Per probe, val^2 = 1, 4, 1 and sens = 0, 1, 4. The least-squares factor over probes is
#   sum val^2 (1 + c g sens) / sum val^2 = 1 + c g (0 + 4 + 4) / 6 = 1 + (4/3) c g,
# while the mean of the per-probe ratios would be 1 + (5/3) c g and their median 1 + c g.
STATE_C = [0.0, 0.0, 0.75, 1.5, 6.0]      # (4/3) c = 0, 0, 1, 2, 8
STATE_S = [0.1, -0.3, 0.2, 0.5, -1.0]     # where on the line each state sits: irrelevant to every factor


def designed_engine(c_ref: float = 0.75):
    model = Scaled(EMBED)
    eng = SimpleNamespace(model=model, embed=EMBED, y=lambda h: h[..., 0], reaches_readout=True, relax_steps=3,
                          summary={"median_doc_tokens": 5.0},
                          h_ref=torch.tensor([0.0, 0.0, c_ref], dtype=torch.float64),
                          nearest=lambda h: torch.zeros(h.shape[0], dtype=torch.long),
                          w_r1=torch.ones(1, dtype=torch.float64),
                          l1=torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64),
                          vocab=["<pad>", "<unk>", "m", "p1", "n1", "p2"])
    states = torch.tensor([[s, 0.0, c] for s, c in zip(STATE_S, STATE_C)], dtype=torch.float64)
    probe = MD.Probe(eng, states, PROBES, "designed states", MD.readout_lag(eng))
    return eng, probe


def test_M_k_is_the_median_over_states_of_the_least_squares_factor_over_probes():
    """The modifier k tokens before a probe leaves g = LEAK^(k-1), so at a state with c its factor is
    1 + (4/3) c LEAK^(k-1): k = 1: 1, 1, 2, 3, 9 over the five states -> M(1) = 2 (the mean would be 3.2; the mean
    of per-probe ratios 2.25, their median 1.75); k = 2: 1, 1, 1.5, 2, 5 -> 1.5 (mean 2.1); k = 3: 1, 1, 1.25,
    1.5, 3 -> 1.25. The 95% interval of a median of 5 values: ranks 5/2 -+ 1.96 sqrt(5)/2 -> the smallest and
    the largest value."""
    _, probe = designed_engine()
    g = probe.gains([M_ID], 1, 5)
    assert g[0].tolist() == pytest.approx([1.0, 1.0, 2.0, 3.0, 9.0], abs=1e-12)
    M, lo, hi = (t.numpy() for t in probe.curves([M_ID], 3, n_states=5))
    assert M[0].tolist() == pytest.approx([2.0, 1.5, 1.25], abs=1e-12)
    assert lo[0].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-12)
    assert hi[0].tolist() == pytest.approx([9.0, 5.0, 3.0], abs=1e-12)
    m1, a, b = (float(t[0]) for t in MD.median_interval(probe.gains([M_ID], 1, 5)))   # find_modifiers' M(1)
    assert (m1, a, b) == pytest.approx((2.0, 1.0, 9.0), abs=1e-12)


def test_the_M1_interval_over_its_32_states_has_95_percent_coverage():
    """M(1)'s interval across N_STATES = 32 starting states (median_interval) is [x_(r), x_(s)] of the sorted factors:
    for continuous values it covers the population median exactly when r <= B <= s - 1, B ~ Binomial(32, 1/2) the
    number of values below the median (distribution-free). Ranks 16 -+ 1.96 sqrt(32) / 2 = 16 -+ 5.54 -> r = 11,
    s = 22 (1-based), coverage P(11 <= B <= 21) = 0.9499 (a 90% rule, z = 1.645: r = 12, s = 21, 0.8922). Checked
    on 3,000 sets of 32 normal values as well (within 3 binomial standard errors)."""
    n = MD.N_STATES
    assert n == 32
    _, lo, hi = MD.median_interval(torch.arange(1.0, n + 1, dtype=torch.float64)[None])
    r, s = int(lo[0]), int(hi[0])
    assert (r, s) == (11, 22)
    exact = sum(math.comb(n, k) for k in range(r, s)) / 2 ** n
    assert exact == pytest.approx(0.9499, abs=1e-4)
    x = torch.from_numpy(np.random.default_rng(4).normal(0.0, 1.0, (3000, n)))
    _, lo, hi = MD.median_interval(x)
    cover = float(((lo <= 0) & (0 <= hi)).double().mean())
    assert abs(cover - exact) <= 3 * math.sqrt(exact * (1 - exact) / 3000), cover


def test_the_stated_coverage_of_the_curves_interval_is_its_exact_coverage():
    """interval_coverage (what the Method page states) is the coverage median_interval has: at the curves' 16
    states the ranks are 8 -+ 3.92 -> x_(5), x_(12), covering when 5 <= B <= 11, B ~ Binomial(16, 1/2):
    (4368 + 8008 + 11440 + 12870 + 11440 + 8008 + 4368) / 65536 = 60502 / 65536 = 0.92319, not 95%. Checked on
    4,000 sets of 16 normal values too."""
    assert MD.CURVE_STATES == 16
    assert MD.interval_coverage(16) == pytest.approx(60502 / 65536, abs=1e-12)
    assert MD.interval_coverage(32) == pytest.approx(0.9499, abs=1e-4)
    x = torch.from_numpy(np.random.default_rng(5).normal(0.0, 1.0, (4000, 16)))
    _, lo, hi = MD.median_interval(x)
    cover = float(((lo <= 0) & (0 <= hi)).double().mean())
    assert abs(cover - 60502 / 65536) <= 3 * math.sqrt(0.923 * 0.077 / 4000), cover


def test_the_per_state_factor_is_least_squares_over_probes():
    """ls_gain by hand: e_0 = (1, -2, 1), e_m = (1, -4, 5) (factors 1, 2, 5 on the three probes):
    sum e_m e_0 / sum e_0^2 = (1 + 8 + 5) / 6 = 7/3 (mean of the ratios 8/3, median 2)."""
    e0 = torch.tensor([1.0, -2.0, 1.0], dtype=torch.float64)
    em = torch.tensor([1.0, -4.0, 5.0], dtype=torch.float64)
    assert float(MD.ls_gain(em, e0)) == pytest.approx(7 / 3, abs=1e-12)


def test_the_linear_screen_is_the_median_over_probe_words():
    """At the reference state c = 0.75, the modifier's next word's linear valence over its v0 is 1 + 0.75 sens:
    1, 1.75, 4 over the three probes -> median 1.75 (the mean would be 2.25); <pad>/<unk> are 1 by definition."""
    eng, _ = designed_engine(c_ref=0.75)
    v0 = EMBED[PROBES, 0]
    ratios = MOD.modulation_ratios(eng, eng.model.step(eng.h_ref[None], EMBED[[M_ID]]), PROBES, v0)
    assert ratios[0].tolist() == pytest.approx([1.0, 1.75, 4.0], abs=1e-12)
    assert MOD.screen(eng, PROBES, v0, ids=[0, M_ID]).tolist() == pytest.approx([1.0, 1.75], abs=1e-12)


def test_probe_cleaning_measures_against_the_median_positive_probe():
    """M(1) of five probes 1.0, 1.2, 1.3, 2.0, 10 (and a flip, -0.5): the typical M(1) is the median of the positive
    ones, 1.3 (their mean would be 3.1). Dropped: a factor more than 1.5x away from it (|log(m / 1.3)| > log 1.5 =
    0.405): 2.0 (0.431) and 10, and the flip; kept: 1.0 (0.262), 1.2, 1.3."""
    m1 = torch.tensor([1.0, 1.2, 1.3, 2.0, 10.0, -0.5], dtype=torch.float64)
    assert MOD.modifying_probes([10, 11, 12, 13, 14, 15], m1) == {13, 14, 15}


# ---- bootstrap intervals -----------------------------------------------------------------------------------
def by_hand_percentile(samples: np.ndarray, q: float) -> float:
    """The q-th percentile with linear interpolation between order statistics (position q/100 (B - 1))."""
    s = sorted(float(v) for v in samples)
    pos = q / 100 * (len(s) - 1)
    i = math.floor(pos)
    return s[i] if i + 1 >= len(s) else s[i] + (pos - i) * (s[i + 1] - s[i])


def resampled_means(values: dict[str, np.ndarray], n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """The documented resampling: n_boot resamples of the n examples with replacement, drawn as one (n_boot, n)
    array of indices from numpy's default_rng(seed); the mean of each array over each resample."""
    n = len(next(iter(values.values())))
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    return {k: np.array([sum(float(v[i]) for i in row) / n for row in idx]) for k, v in values.items()}


def normal_coverage(z: float, n: int) -> float:
    """Coverage of xbar -+ z s_n / sqrt(n) (s_n with 1/n: the bootstrap's spread of a mean) for n normal values:
    P(|T_{n-1}| <= z sqrt((n - 1) / n)), T Student's t."""
    from scipy.stats import t
    return 1 - 2 * float(t.sf(z * math.sqrt((n - 1) / n), n - 1))


N_SIM, N_OBS, N_BOOT_SIM = 2000, 100, 400


@pytest.fixture(scope="module")
def coverage():
    """Empirical coverage of each interval of bootstrap_gap over N_SIM simulated test sets of N_OBS examples whose
    true values are known:
    - RNN minus BoW: "rnn" N(0.3, 1) values, "bow" 0: the interval of the difference is that of a mean of normal
      values, true value 0.3;
    - gap recovered and a paired contrast: "rnn" 1 and "bow" 0 everywhere (every denominator is 1), the variant
      N(0.3, 1) values and the control 0: both intervals are those of the same mean, true value 0.3;
    - gap recovered on 0/1 correctness (the real case), 2 N_OBS examples: the RNN right with p 0.9, the BoW right
      where the RNN is and a coin with p 0.7 says so, the variant the RNN's answer on a random half of the examples
      and the BoW's elsewhere: the true share recovered is 0.5 (a ratio of means, asymptotically normal: its
      interval's coverage tends to 95% as well; measured 0.948 over 4,000 sets of 200)."""
    rng = np.random.default_rng(20)
    n = N_OBS
    one, zero = np.ones(n), np.zeros(n)
    hits = {"diff": 0, "gap": 0, "contrast": 0, "gap01": 0}
    for _ in range(N_SIM):
        x = rng.normal(0.3, 1.0, n)
        lo, hi = bootstrap_gap({"rnn": x, "bow": zero}, "bow", "rnn", N_BOOT_SIM)["diff_ci"]
        hits["diff"] += lo <= 0.3 <= hi
        out = bootstrap_gap({"rnn": one, "bow": zero, "v": x, "w": zero}, "bow", "rnn", N_BOOT_SIM,
                            contrasts=(("v", "w"),))
        lo, hi = out["gaps"]["v"][1]
        hits["gap"] += lo <= 0.3 <= hi
        lo, hi = out["contrasts"]["v-w"][1]
        hits["contrast"] += lo <= 0.3 <= hi
        rnn = (rng.random(2 * n) < 0.9).astype(float)
        bow = rnn * (rng.random(2 * n) < 0.7)
        half = np.where(rng.random(2 * n) < 0.5, rnn, bow)
        lo, hi = bootstrap_gap({"rnn": rnn, "bow": bow, "half": half}, "bow", "rnn", N_BOOT_SIM)["gaps"]["half"][1]
        hits["gap01"] += lo <= 0.5 <= hi
    return {k: v / N_SIM for k, v in hits.items()}


@pytest.mark.parametrize("interval", ["diff", "gap", "contrast", "gap01"])
def test_bootstrap_intervals_have_95_percent_coverage(coverage, interval):
    """For a mean of N_OBS = 100 normal values the percentile interval's coverage is P(|T_99| <= 1.96 sqrt(0.99))
    = 0.946 (a 90% interval's: 0.895); resampling only N_BOOT_SIM = 400 times moves the endpoints a little and
    costs up to about 0.01 (measured: 0.939 at 400 resamples, 0.943 at 1,000, over 4,000 sets). The empirical
    coverage over 2,000 sets must lie within 3 binomial standard errors (0.005) of 0.946 - [0.01, 0]: a 90%
    interval (expected about 0.89) lies 6 standard errors below that band."""
    want, want90 = normal_coverage(1.959964, N_OBS), normal_coverage(1.644854, N_OBS)
    assert want == pytest.approx(0.946, abs=5e-4) and want90 == pytest.approx(0.895, abs=5e-4)
    se = math.sqrt(want * (1 - want) / N_SIM)
    low, high = want - 0.01 - 3 * se, want + 3 * se
    assert low > want90 + 3 * math.sqrt(want90 * (1 - want90) / N_SIM)   # the band tells 95% from 90%
    assert low <= coverage[interval] <= high, (interval, coverage[interval], low, high)


def test_bootstrap_gap_on_one_small_test_set_by_hand():
    """Twelve examples: the RNN right on 10, the BoW on 6 (one of them where the RNN is wrong), the variant "v" on 8,
    the control "w" on 7. Gap recovered (8 - 6) / (10 - 6) = 0.5, "w" (7 - 6) / 4 = 0.25, RNN - BoW 4/12; the
    contrast v - w (8 - 7) / 4 = 0.25. The intervals: the 2.5th and 97.5th percentiles (linear interpolation) of
    the same statistics over the documented resamples (seed 0), those with RNN - BoW <= 0 (some of them below 0)
    left out of the ratios."""
    rnn = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    bow = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0], dtype=float)
    v = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0], dtype=float)
    w = np.array([1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0], dtype=float)
    data = {"rnn": rnn, "bow": bow, "v": v, "w": w}
    n_boot = 200
    out = bootstrap_gap(data, "bow", "rnn", n_boot, contrasts=(("v", "w"),))
    assert out["diff"] == pytest.approx(4 / 12, abs=1e-12)
    assert out["gaps"]["v"][0] == pytest.approx(0.5, abs=1e-12)
    assert out["gaps"]["w"][0] == pytest.approx(0.25, abs=1e-12)
    assert out["gaps"]["rnn"][0] == pytest.approx(1.0) and out["gaps"]["bow"][0] == pytest.approx(0.0)
    assert out["contrasts"]["v-w"][0] == pytest.approx(0.25, abs=1e-12)
    b = resampled_means(data, n_boot, seed=0)
    den = b["rnn"] - b["bow"]
    ok = den > 0
    assert 10 <= ok.sum() and (den < 0).sum() > 0       # the small set has resamples to leave out, some below 0
    assert out["diff_ci"] == pytest.approx([by_hand_percentile(den, 2.5), by_hand_percentile(den, 97.5)], abs=1e-12)
    for k in ("v", "w"):
        r = (b[k][ok] - b["bow"][ok]) / den[ok]
        assert out["gaps"][k][1] == pytest.approx([by_hand_percentile(r, 2.5), by_hand_percentile(r, 97.5)], abs=1e-12)
    r = (b["v"][ok] - b["w"][ok]) / den[ok]
    assert out["contrasts"]["v-w"][1] == pytest.approx([by_hand_percentile(r, 2.5), by_hand_percentile(r, 97.5)],
                                                       abs=1e-12)
    assert out["diff_ci"][0] == 0.0 and out["gap_too_small"]   # the interval of RNN - BoW reaches 0: too small


def test_bootstrap_gap_seed_is_zero_and_reproducible():
    """Its documented default seed is 0: the same inputs give the same intervals, equal to those of the resamples
    drawn with seed 0; another seed gives other intervals (so the seed is what decides them)."""
    rng = np.random.default_rng(3)
    n = 60
    rnn = (rng.random(n) < 0.85).astype(float)
    bow = rnn * (rng.random(n) < 0.75)
    v = np.where(rng.random(n) < 0.5, rnn, bow)
    data = {"rnn": rnn, "bow": bow, "v": v}
    a, b = bootstrap_gap(data, "bow", "rnn", 300), bootstrap_gap(data, "bow", "rnn", 300)
    assert a["diff_ci"] == b["diff_ci"] and a["gaps"]["v"] == b["gaps"]["v"]
    m = resampled_means(data, 300, seed=0)
    den = m["rnn"] - m["bow"]
    assert a["diff_ci"] == pytest.approx([np.percentile(den, 2.5), np.percentile(den, 97.5)], abs=1e-12)
    other = bootstrap_gap(data, "bow", "rnn", 300, seed=1)
    assert other["diff_ci"] != a["diff_ci"] and other["gaps"]["v"][1] != a["gaps"]["v"][1]


def test_compare_reports_the_seed_0_bootstrap(monkeypatch):
    """`compare` (its computation, _compare, with the RNN, the data and every fit replaced by fixed predictions)
    reports the RNN-BoW interval, each variant's gap interval and the headline's margins from bootstrap_gap with
    seed 0 over the test examples, whatever the RNN's training seed."""
    rng = np.random.default_rng(5)
    n, n_boot = 80, 150
    labels = (rng.random(n) < 0.5).astype(int)
    right = {"rnn": rng.random(n) < 0.9}
    right["bow"] = right["rnn"] & (rng.random(n) < 0.7)
    for k in ("mod_fixed", "valence_only", "shuffled", "bigram"):
        right[k] = np.where(rng.random(n) < 0.5, right["rnn"], right["bow"])

    def clf(k):   # logits whose sign is right exactly where right[k]
        sign = np.where(right[k] == (labels == 1), 1.0, -1.0)
        return SimpleNamespace(logits=lambda texts: torch.tensor(sign))

    texts = [f"t{i}" for i in range(n)]
    test = type("Test", (), {"texts": texts, "labels": labels, "__len__": lambda self: n})()
    settings = {"seed": 7, "max_len": None, "truncate": "head"}
    monkeypatch.setattr(CMP, "rnn_setup", lambda s, test_data, log: (None, None, None, None, settings))
    monkeypatch.setattr(CMP, "load_dataset", lambda data, root: test)
    monkeypatch.setattr(CMP, "load_model", lambda path: clf("rnn"))
    monkeypatch.setattr(CMP, "fitted_variant", lambda s, data, v, opts, refresh, log: {
        "cached": True, "info": {"dev_accuracy": 0.5, "context": {"modifiers": [{"word": "not"}]}}, "model": clf(v)})
    monkeypatch.setattr(CMP, "cached", lambda *a, **k: ({"config": {}, "weights": {}}, True))
    monkeypatch.setattr(CMP.BowClassifier, "from_parts", staticmethod(lambda config, vocab, weights: clf("bigram")))
    s = SimpleNamespace(path="rnn", checksum="x", data_root=None, bigram_key=lambda max_len: {})
    variants = ("bow", "mod_fixed", "valence_only", "shuffled")
    out = CMP._compare(s, "test", None, variants, n_boot, False, lambda msg: None)
    data = {k: v.astype(float) for k, v in right.items()}
    m = resampled_means(data, n_boot, seed=0)
    den = m["rnn"] - m["bow"]
    ok = den > 0
    pct = lambda r: [np.percentile(r, 2.5), np.percentile(r, 97.5)]
    assert out["rnn_bow_diff"]["ci"] == pytest.approx(pct(den), abs=1e-12)
    for row in out["variants"]:
        k = row["name"]
        assert row["gap_ci"] == pytest.approx(pct((m[k][ok] - m["bow"][ok]) / den[ok]), abs=1e-12), k
    for c in ("valence_only", "shuffled"):
        assert out["headline"]["beyond"][c]["ci"] == pytest.approx(
            pct((m["mod_fixed"][ok] - m[c][ok]) / den[ok]), abs=1e-12), c


def spearman_by_hand(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's correlation of the average ranks (ties share their mean rank)."""
    def ranks(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(1, len(x) + 1)
        for val in np.unique(x):
            r[x == val] = r[x == val].mean()
        return r
    ra, rb = ranks(np.asarray(a, float)), ranks(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / math.sqrt((ra ** 2).sum() * (rb ** 2).sum()))


def test_mode_effect_spearman_interval_is_the_seed_0_percentile_bootstrap():
    """Six modifiers with timescale pairs: the figure is their rank correlation (one swap: 1 - 6 * 2 / (6 * 35) =
    0.943), its interval the 2.5th and 97.5th percentiles over 1,000 resamples of the modifiers drawn from
    default_rng(0) one resample at a time, skipping resamples where either column is constant."""
    pairs = [(1, 2), (2, 3), (3, 5), (4, 4.5), (5, 8), (6, 9)]
    mods = [{"timescale": t, "mode_timescale": m, "fit_r2": 0.9} for t, m in pairs]
    rho, ci = MOD.mode_effect_spearman(mods)
    assert rho == pytest.approx(1 - 6 * 2 / (6 * 35), abs=1e-12)
    x = np.array(pairs, dtype=float)
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(1000):
        b = x[rng.integers(len(x), size=len(x))]
        if len(set(b[:, 0])) > 1 and len(set(b[:, 1])) > 1:
            boots.append(spearman_by_hand(b[:, 0], b[:, 1]))
    assert ci == pytest.approx([by_hand_percentile(np.array(boots), 2.5), by_hand_percentile(np.array(boots), 97.5)],
                               abs=1e-9)
    assert MOD.mode_effect_spearman(mods) == (rho, ci)          # the same inputs: the same interval


# ---- the Harrell-Davis median ------------------------------------------------------------------------------
def hd_weights_odd(n: int) -> list[Fraction]:
    """Harrell-Davis weights for odd n, exactly: W_i = I(i/n) - I((i-1)/n), I the CDF of Beta(a, a) with a = (n+1)/2
    an integer, where I(x) = P(Binomial(2a - 1, x) >= a) = P(Binomial(n, x) >= a)."""
    a = (n + 1) // 2

    def cdf(x: Fraction) -> Fraction:
        return sum(math.comb(n, j) * x ** j * (1 - x) ** (n - j) for j in range(a, n + 1))
    return [cdf(Fraction(i, n)) - cdf(Fraction(i - 1, n)) for i in range(1, n + 1)]


def test_harrell_davis_median_by_hand():
    """n = 3: Beta(2, 2) has CDF 3x^2 - 2x^3, so the weights are 7/27, 13/27, 7/27; on the values 0, 1, 5 (any order)
    the median is (13 + 35) / 27 = 16/9 (the sample median would be 1, the mean 2). n = 5: the weights are
    P(Binomial(5, x) >= 3) differenced at x = 0, 1/5, .. 1: 0.05792, 0.25952, 0.36512, 0.25952, 0.05792. n = 2:
    Beta(1.5, 1.5) is symmetric, so the two values weigh 1/2 each. Each row is a position; the values are probe
    words."""
    assert hd_weights_odd(3) == [Fraction(7, 27), Fraction(13, 27), Fraction(7, 27)]
    w5 = hd_weights_odd(5)
    assert [float(w) for w in w5] == pytest.approx([0.05792, 0.25952, 0.36512, 0.25952, 0.05792], abs=1e-12)
    vals5 = [-2.0, 0.0, 1.0, 3.0, 10.0]
    effects = torch.tensor([[5.0, 0.0, 1.0], [1.0, 2.0, 3.0]], dtype=torch.float64)
    med, lo, hi = P.probe_median(effects)
    assert med.tolist() == pytest.approx([16 / 9, 2.0], abs=1e-12)
    assert lo.tolist() == [0.0, 1.0] and hi.tolist() == [5.0, 3.0]      # n = 3: the interval is min .. max
    med5 = P.probe_median(torch.tensor([vals5[::-1]], dtype=torch.float64))[0]
    assert float(med5[0]) == pytest.approx(sum(float(w) * v for w, v in zip(w5, vals5)), abs=1e-12)
    assert float(med5[0]) == pytest.approx(1.60704, abs=1e-12)   # -0.11584 + 0 + 0.36512 + 0.77856 + 0.5792
    assert float(P.probe_median(torch.tensor([[0.0, 3.0]], dtype=torch.float64))[0][0]) == pytest.approx(1.5)


def test_harrell_davis_median_is_held_within_the_order_statistics_interval():
    """Ten values, nine 0 and one 1e6: the Harrell-Davis weight of the largest is 1 - I(0.9) of Beta(5.5, 5.5),
    about 5e-4, so the weighted mean is about 500; the 95% interval of the median is the 2nd .. 9th values (ranks
    5 -+ 3.1: 1 .. 8 from 0), 0 .. 0, and the median is held there: 0."""
    x = torch.tensor([[0.0] * 9 + [1e6]], dtype=torch.float64)
    med, lo, hi = P.probe_median(x)
    assert float(lo[0]) == 0.0 and float(hi[0]) == 0.0 and float(med[0]) == 0.0
    assert float(P.probe_median(x[:, [0, 9]])[0][0]) == pytest.approx(5e5)     # n = 2: no clamp within 0 .. 1e6


# ---- the claims' timescale -----------------------------------------------------------------------------------
def test_transient_claim_takes_the_median_timescale():
    """Three modifiers described by a decay, timescales 1, 2 and 9 tokens: the median 2 (the mean would be 4), ratio
    2 / 10 = 0.2 against an integration timescale of 10 (over 0.1: partly); a fourth whose fit does not describe its
    curve (R^2 0.2) is left out of the median but counts in the share."""
    mod = lambda w, tau, r2=0.9: {"word": w, "class": "attenuator", "strength": -0.6, "strength_ci": [-0.65, -0.55],
                                  "timescale": tau, "fit_r2": r2}
    r = C.judge_transient([mod("a", 1.0), mod("b", 9.0), mod("c", 2.0), mod("d", 50.0, r2=0.2)], 10.0)
    assert r["measured"] == pytest.approx(2.0)
    assert r["figures"]["median_timescale"] == pytest.approx(2.0) and r["figures"]["ratio"] == pytest.approx(0.2)
    assert r["figures"]["fitted_share"] == pytest.approx(0.75) and r["verdict"] == C.PARTLY
    r = C.judge_transient([mod("a", 1.0), mod("b", 90.0), mod("c", 2.0)], 100.0)   # median 2, ratio 0.02 (mean 31)
    assert r["measured"] == pytest.approx(2.0) and r["verdict"] == C.REPRODUCED
