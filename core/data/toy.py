"""The toy language of METHOD section 8: ground truth for testing the analyses.

Noise words carry no valence; good/bad/awesome/awful carry +1/-1/+2/-2; "not" flips the sign of the
next NOT_SPAN tokens and "very" doubles the next token. The label is the sign of the modified sum.
"""
from __future__ import annotations

import numpy as np

from core.data.dataset import Dataset

NOISE = ("and", "a", "the", "for", "it", "while")
VALENCE = {"good": 1, "bad": -1, "awesome": 2, "awful": -2}
MODIFIERS = ("not", "very")
NOT_SPAN = 4
VOCAB = NOISE + tuple(VALENCE) + MODIFIERS


def score(tokens: list[str]) -> float:
    """The modified valence sum that defines the label."""
    total = 0.0
    for t, w in enumerate(tokens):
        if w not in VALENCE:
            continue
        mult = 1.0
        for s in range(max(0, t - NOT_SPAN), t):
            if tokens[s] == "not":
                mult = -mult
        if t > 0 and tokens[t - 1] == "very":
            mult *= 2
        total += mult * VALENCE[w]
    return total


def generate(n: int, seed: int = 0, min_len: int = 10, max_len: int = 40,
             p_valence: float = 0.25, p_modifier: float = 0.15, noise_run: int = 0, p_run: float = 0.1) -> Dataset:
    """n labelled toy sentences (ties re-drawn), reproducible from the seed. noise_run > 0 inserts, after
    each token with probability p_run, a run of 1..noise_run noise words (tokens like any other: "not"
    still flips only the next 4), so a network must hold its valence through long neutral stretches."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    valence_words, noise = list(VALENCE), list(NOISE)
    while len(texts) < n:
        length = int(rng.integers(min_len, max_len + 1))
        kinds = rng.random(length)
        toks = [valence_words[rng.integers(4)] if k < p_valence else
                MODIFIERS[rng.integers(2)] if k < p_valence + p_modifier else
                noise[rng.integers(len(noise))] for k in kinds]
        if noise_run:
            runs = rng.random(length) < p_run
            lens = rng.integers(1, noise_run + 1, size=length)
            toks = [w for t, tok in enumerate(toks)
                    for w in [tok] + ([noise[i] for i in rng.integers(len(noise), size=lens[t])] if runs[t] else [])]
        s = score(toks)
        if s == 0:
            continue
        texts.append(" ".join(toks))
        labels.append(int(s > 0))
    return Dataset(texts, np.asarray(labels, dtype=np.int64), None, f"toy(seed={seed})")


TOY_SPLITS = {"toy:train": (20000, 0, 0), "toy:test": (2000, 1, 0),
              "toy-long:train": (20000, 0, 50), "toy-long:test": (2000, 1, 50)}
