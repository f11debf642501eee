"""The valence-free modifier statistic (core.analysis.modulation) against known answers.

A designed two-unit network: s integrates each word's valence, scaled by a gate g that a modifier word opens for
the next tokens and that leaks by LEAK per token; an input moves s less the further s already is from 0, so a
strong valence word shrinks the effect of the words after it (the valence confound), and the matched null must
tell that apart from modulation:

    s' = s + (1 + GAIN g) val / (1 + (s / B)^2)      g' = LEAK g + mod      y = s

(under x* = 0 every s is a fixed point: an exact line attractor).
With x* = 0, a modifier (val 0, mod 1) scales the next word's effect by 1 + GAIN (and k tokens later
by 1 + GAIN LEAK^(k-1)) and has no valence of its own; a strong valence word (val 3, mod 0) modulates nothing.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from core.analysis import modulation as MD

B, GAIN, LEAK = 4.0, 1.5, 0.5


class Gated(nn.Module):
    def __init__(self, embed: torch.Tensor):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embed.double())
        self.h0 = nn.Parameter(torch.zeros(2, dtype=torch.float64), requires_grad=False)

    def step(self, h, x):
        s, g = h[..., 0], h[..., 1]
        val, mod = x[..., 0], x[..., 1]
        return torch.stack([s + (1 + GAIN * g) * val / (1 + (s / B) ** 2), LEAK * g + mod], -1)


def designed_engine(n_ordinary: int = 120, seed: int = 0):
    """Words: 0, 1 special; 2 the modifier "m"; 3 the strong valence word "V" (val 3); 4.. ordinary words with no
    modulation, as in a real vocabulary mostly of little valence (val ~ N(0, 0.3)) and some as strong as V
    (uniform over [2.5, 3.5]); probes last (val +-1)."""
    rng = np.random.default_rng(seed)
    n_strong = n_ordinary // 4
    ordinary = list(rng.normal(0, 0.3, n_ordinary - n_strong)) + list(rng.uniform(2.5, 3.5, n_strong))
    vals = [0.0, 0.0, 0.0, 3.0] + ordinary + [1.0, 1.0, -1.0, -1.0]
    mods = [0.0, 0.0, 1.0] + [0.0] * (len(vals) - 3)
    embed = torch.tensor(np.stack([vals, mods], 1))
    model = Gated(embed)
    itos = ["<pad>", "<unk>", "m", "V"] + [f"w{i}" for i in range(n_ordinary)] + ["p1", "p2", "n1", "n2"]

    def run(ids):
        h = model.h0[None]
        hs = [h[0]]
        for i in ids:
            h = model.step(h, embed[[i]].double())
            hs.append(h[0])
        return torch.stack(hs)

    eng = SimpleNamespace(model=model, embed=embed.double(), relax_steps=10, run=run, reaches_readout=True,
                          summary={"median_doc_tokens": 7.0},
                          y=lambda h: h[..., 0], nearest=lambda h: torch.zeros(h.shape[0], dtype=torch.long),
                          w_r1=torch.ones(1, dtype=torch.float64), l1=torch.tensor([[1.0, 0.0]], dtype=torch.float64),
                          v0_all=embed[:, 0].clone(), vocab=SimpleNamespace(itos=itos))
    eng.clf = SimpleNamespace(encode=lambda texts: [[itos.index(w) for w in t.split()] for t in texts])
    probes = [len(itos) - 4 + i for i in range(4)]
    return eng, probes, itos


@pytest.fixture(scope="module")
def designed():
    eng, probes, itos = designed_engine()
    rng = np.random.default_rng(1)
    words = itos[4:4 + 90]                                  # texts of the words with little valence
    texts = [" ".join(rng.choice(words, int(rng.integers(1, 6)))) for _ in range(60)]
    probe = MD.make_probe(eng, texts, probes, seed=0)
    return eng, probe, itos


def test_the_modifier_has_its_known_gain_and_decay(designed):
    eng, probe, _ = designed
    m = 2
    for k in (1, 2, 3):
        med, lo, hi = MD.median_interval(probe.gains([m], k, MD.N_STATES))
        want = 1 + GAIN * LEAK ** (k - 1)
        assert float(med[0]) == pytest.approx(want, rel=1e-9) and float(lo[0]) <= want <= float(hi[0]), k
    M, _, _ = probe.curves([m], 6)
    assert np.allclose(M[0].numpy(), [1 + GAIN * LEAK ** k for k in range(6)], rtol=1e-9)


def test_the_linear_screen_agrees_where_the_network_is_nearly_linear(designed):
    _, probe, _ = designed
    lin = MD.median_interval(probe.gains([2], 1, MD.SCREEN_STATES, linear=True))[0]
    assert float(lin[0]) == pytest.approx(1 + GAIN, rel=1e-9)   # s is linear in the input: exact here too


def test_a_strong_valence_word_is_none_against_its_matched_null_but_not_against_the_whole_vocabulary(designed):
    """V (val 3) shrinks later words' effects by saturating s: against all words it looks like an attenuator, but
    ordinary words of its valence do the same, so the matched null calls it none; the modifier is an intensifier."""
    eng, probe, itos = designed
    ids = list(range(2, len(itos) - 4))
    med, lo, hi = (t.numpy() for t in MD.median_interval(probe.gains(ids, 1, MD.N_STATES)))
    v0 = eng.v0_all[ids].numpy()
    rank = np.asarray(ids, dtype=np.float64)
    classes, null_med, _ = MD.judged(med, lo, hi, v0, rank, np.arange(len(ids)), 25)
    by = dict(zip([itos[i] for i in ids], classes))
    assert by["m"] == "intensifier"
    assert by["V"] == "none"
    assert med[1] < 0.95 * np.median(med)                    # V does shrink what follows: the confound is real
    g_med, g_sc = MD.null_stats(med)
    assert MD.judge(float(med[1]), float(lo[1]), float(hi[1]), g_med, g_sc) == "attenuator"   # whole-vocabulary null
    assert sum(c != "none" for c in classes) <= 2            # ordinary words: none (at most one false alarm)


def test_matched_nulls_pick_the_nearest_words_and_never_the_word_itself():
    v0 = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    rank = np.arange(6, dtype=np.float64)
    nulls = MD.matched_nulls(v0, rank, np.arange(6), 2)
    assert sorted(nulls[0].tolist()) == [1, 2]
    assert sorted(nulls[3].tolist()) == [2, 4]
    assert all(i not in nulls[i] for i in range(6))
    pool = np.array([0, 5])
    assert MD.matched_nulls(v0, rank, pool, 1)[1].tolist() == [0]     # indices into the pool


@pytest.mark.parametrize("m, low, high, want", [
    (-0.9, -1.0, -0.8, "negator"),        # interval below 0: a flip, whatever the null
    (0.3, 0.2, 0.5, "attenuator"),        # 3.5 scales below the null's 1.0, interval below it
    (0.3, 0.2, 1.1, "none"),              # far below, but the interval reaches the null's median
    (1.4, 1.2, 1.6, "intensifier"),
    (1.25, 1.1, 1.4, "none"),             # 2.5 scales: inside the band
    (-0.1, -0.3, 0.2, "attenuator"),      # M(1) below 0 but the interval crosses 0: not a flip
])
def test_the_verdict_rule_on_hand_worked_cases(m, low, high, want):
    assert MD.judge(m, low, high, 1.0, 0.1) == want


def test_null_scale_has_a_floor_and_ignores_unmeasured_words():
    assert MD.null_stats(np.array([1.0, 1.0, 1.0, np.nan])) == (1.0, MD.SCALE_FLOOR)
    med, sc = MD.null_stats(np.array([0.0, 1.0, 2.0, 3.0, 100.0]))
    assert med == 2.0 and sc == pytest.approx(1.4826)


def test_median_interval_is_the_order_statistic_interval():
    x = torch.arange(1.0, 101.0, dtype=torch.float64)[None]          # n = 100: ranks 50 -+ 9.8 -> 40 .. 59 (0-based)
    med, lo, hi = MD.median_interval(x)
    assert float(med[0]) == 50.0 and float(lo[0]) == 41.0 and float(hi[0]) == 60.0
    y = torch.tensor([[1.0, math.nan, 3.0]], dtype=torch.float64)
    assert float(MD.median_interval(y)[0][0]) == 1.0                  # torch's lower median of the measured values


def test_exact_valence_where_no_linear_valence_reaches_the_readout(designed):
    """Where the integration mode misses the readout (every v0 is 0), the valence used for probes and nulls is each
    word's own exact effect on the readout R steps later, R the median document's length. On the designed network:
    the modifier's is 0, the strong word's 3 / (1 + (s/B)^2) at each state s (median over states), a probe's +-1
    likewise; and the factors measured with that R are the same (the line attractor keeps every effect)."""
    eng, probe, itos = designed
    flat = SimpleNamespace(**{**vars(eng), "reaches_readout": False})
    assert MD.readout_lag(eng) == 10 and MD.readout_lag(flat) == 7
    short = MD.Probe(flat, probe.states, probe.probe_ids, probe.source, MD.readout_lag(flat))
    ids = [itos.index("m"), itos.index("V"), itos.index("p1"), itos.index("n1")]
    val = MD.word_valence(short, ids, n_states=8)
    s = probe.states[:8, 0]
    expected = [0.0, float((3 / (1 + (s / B) ** 2)).median()), float((1 / (1 + (s / B) ** 2)).median()),
                float((-1 / (1 + (s / B) ** 2)).median())]           # torch's median: the lower middle value
    assert val.tolist() == pytest.approx(expected, abs=1e-9)
    g = MD.median_interval(short.gains([itos.index("m")], 1, 8))[0]
    assert float(g[0]) == pytest.approx(1 + GAIN, abs=1e-6)
