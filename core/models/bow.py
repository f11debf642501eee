"""Bag-of-words baselines (METHOD section 6): logistic regression on token counts, and on
unigram + bigram counts as a reference that sees "not good" directly.

Both use the project's tokenizer and (for unigrams) the RNN's vocabulary; the logit is an exact sum
of per-token contributions, which the explorer shows next to the RNN's.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import scipy.sparse as sp
import torch

from core.data.text import Vocab, encode_texts, tokenize, truncate_tokens
from core.models.classifier import Explanation, explanation
from core.models.store import ModelError

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def _bigram_keys(ids: list[int]) -> list[tuple[int, int]]:
    return list(zip(ids[:-1], ids[1:]))


class BowClassifier:
    """y = b + sum_t beta[w_t] (+ sum_t gamma[(w_{t-1}, w_t)] for the bigram model)."""

    def __init__(self, vocab: Vocab, beta: np.ndarray, bias: float, config: dict,
                 bigrams: list[tuple[int, int]] | None = None, gamma: np.ndarray | None = None):
        self.vocab, self.beta, self.bias, self.config = vocab, np.asarray(beta, np.float64), float(bias), config
        self.bigrams = bigrams or []
        self.bigram_index = {bg: i for i, bg in enumerate(self.bigrams)}
        self.gamma = np.zeros(0) if gamma is None else np.asarray(gamma, np.float64)
        self.kind = config.get("kind", "bow")

    # -- features -----------------------------------------------------------------------------
    def features(self, seqs: list[list[int]]) -> sp.csr_matrix:
        """Count matrix: vocabulary columns, then bigram columns (bigram model only)."""
        rows, cols = [], []
        V = len(self.vocab)
        for i, ids in enumerate(seqs):
            for w in ids:
                rows.append(i)
                cols.append(w)
            if self.bigrams:
                for bg in _bigram_keys(ids):
                    j = self.bigram_index.get(bg)
                    if j is not None:
                        rows.append(i)
                        cols.append(V + j)
        X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(seqs), V + len(self.bigrams)))
        X.sum_duplicates()
        return X

    def encode(self, texts: list[str]) -> list[list[int]]:
        return encode_texts(texts, self.vocab, self.config.get("max_len"), self.config.get("truncate", "head"))

    def logits(self, texts: list[str]) -> torch.Tensor:
        X = self.features(self.encode(texts))
        w = np.concatenate([self.beta, self.gamma])
        return torch.from_numpy(X @ w + self.bias).float()

    def predict_proba(self, texts: list[str]) -> torch.Tensor:
        return torch.sigmoid(self.logits(texts))

    def token_contributions(self, text: str) -> tuple[list[str], np.ndarray, float]:
        """(tokens, contribution per token, bias): their sum is the logit. A bigram's weight is
        credited to its second token."""
        toks = truncate_tokens(tokenize(text), self.config.get("max_len"), self.config.get("truncate", "head"))
        ids = self.vocab.encode(toks)
        contrib = self.beta[ids].copy() if ids else np.zeros(0)
        for t, bg in enumerate(_bigram_keys(ids), start=1):
            j = self.bigram_index.get(bg)
            if j is not None:
                contrib[t] += self.gamma[j]
        return toks, contrib, self.bias

    def explain(self, text: str) -> Explanation:
        """token_contributions in the shared shape: the baseline is the bias."""
        toks, contrib, bias = self.token_contributions(text)
        return explanation(toks, contrib, float(bias), "each word's weight, the same wherever it stands"
                           + (" (a bigram's weight is credited to its second word)" if self.bigrams else ""))

    # -- persistence --------------------------------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        w = {"beta": torch.from_numpy(self.beta).float(), "bias": torch.tensor([self.bias])}
        if self.bigrams:
            w["gamma"] = torch.from_numpy(self.gamma).float()
            w["bigrams"] = torch.tensor(self.bigrams, dtype=torch.int32)
        return w

    @classmethod
    def from_parts(cls, config: dict, vocab: Vocab, weights: dict) -> "BowClassifier":
        beta = weights.get("beta")
        if beta is None or "bias" not in weights or beta.shape != (len(vocab),):
            raise ModelError(f"bag-of-words weights do not match the vocabulary ({len(vocab)} words)")
        bigrams = [tuple(x) for x in weights["bigrams"].tolist()] if "bigrams" in weights else None
        gamma = weights["gamma"].double().numpy() if "gamma" in weights else None
        return cls(vocab, beta.double().numpy(), float(weights["bias"][0]), config, bigrams, gamma)


def fit_bow(train_texts: list[str], train_labels: np.ndarray, dev_texts: list[str], dev_labels: np.ndarray,
            vocab: Vocab, bigram: bool = False, min_bigram_count: int = 3, max_bigrams: int = 200_000,
            c_grid: tuple[float, ...] = C_GRID, seed: int = 0, max_len: int | None = None, truncate: str = "head",
            progress=None) -> tuple[BowClassifier, dict]:
    """L2 logistic regression on counts; the inverse regularisation C is chosen on the dev set.
    max_len/truncate: read only the first or last max_len tokens (as an RNN trained that way does)."""
    from sklearn.linear_model import LogisticRegression  # lazy: scikit-learn takes ~1.4 s to import; the app never needs it to predict
    train_seqs = encode_texts(train_texts, vocab, max_len, truncate)
    dev_seqs = encode_texts(dev_texts, vocab, max_len, truncate)
    bigrams = None
    if bigram:
        counts = Counter(bg for ids in train_seqs for bg in _bigram_keys(ids) if 1 not in bg)
        bigrams = sorted((bg for bg, c in counts.items() if c >= min_bigram_count),
                         key=lambda bg: (-counts[bg], bg))[:max_bigrams]
    config = {"kind": "bigram" if bigram else "bow"}
    if max_len is not None:
        config.update(max_len=max_len, truncate=truncate)
    shell = BowClassifier(vocab, np.zeros(len(vocab)), 0.0, config, bigrams,
                          np.zeros(len(bigrams)) if bigrams else None)
    Xtr, Xdev = shell.features(train_seqs), shell.features(dev_seqs)
    best = None
    scores = {}
    for C in c_grid:
        clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed)
        clf.fit(Xtr, train_labels)
        acc = float((clf.predict(Xdev) == dev_labels).mean()) if len(dev_labels) else 0.0
        scores[str(C)] = acc
        if progress:
            progress(f"C={C}: dev accuracy {acc:.4f}")
        if best is None or acc > best[0]:
            best = (acc, C, clf)
    acc, C, clf = best
    coef = clf.coef_[0]
    V = len(vocab)
    model = BowClassifier(vocab, coef[:V], clf.intercept_[0], dict(config, C=C), bigrams,
                          coef[V:] if bigrams else None)
    return model, {"dev_accuracy": acc, "C": C, "dev_accuracy_by_C": scores,
                   "n_bigrams": len(bigrams) if bigrams else 0}
