"""What every model kind offers the explorer: the `Classifier` protocol and its one explanation shape.

An RNN, a bag-of-words and a context-augmented bag-of-words read a text in different ways, but each can say
how much every token it read moved its logit. `Explanation` holds that in one shape, so a page or the CLI shows
any model's reading without asking which kind it is: logit = baseline + sum(contributions)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from core.data.text import Vocab


@dataclass(frozen=True)
class Explanation:
    """One model's reading of one text, in logit units.

    tokens: the tokens the model read (after its truncation); contributions: what each token added to the logit
    (an RNN: the change of the readout y(h_t) - y(h_{t-1}); a bag-of-words: the token's weight, scaled by
    context where the model has it); baseline: the logit before any token (an RNN: y(h_0); a BoW: its bias);
    logit = baseline + sum(contributions); p_positive = sigmoid(logit); how: one sentence on what a
    contribution is for this kind of model."""
    tokens: list[str]
    contributions: np.ndarray
    baseline: float
    logit: float
    p_positive: float
    how: str

    def readout(self) -> np.ndarray:
        """The running logit after each token: baseline + cumulative contributions."""
        return self.baseline + np.cumsum(self.contributions)

    def to_dict(self) -> dict:
        return {"tokens": list(self.tokens), "contributions": [float(c) for c in self.contributions],
                "baseline": self.baseline, "logit": self.logit, "p_positive": self.p_positive, "how": self.how}


def explanation(tokens: list[str], contributions, baseline: float, how: str) -> Explanation:
    """An Explanation whose logit and probability follow from its parts (so they can never disagree)."""
    c = np.asarray(contributions, dtype=np.float64).reshape(-1)
    logit = float(baseline + c.sum())
    return Explanation(list(tokens), c, float(baseline), logit, float(torch.sigmoid(torch.tensor(logit))), how)


@runtime_checkable
class Classifier(Protocol):
    """A loaded model of any kind (core.models.store.load_model builds one from its folder)."""
    kind: str
    name: str
    path: Path
    vocab: Vocab
    config: dict

    def logits(self, texts: list[str]) -> torch.Tensor: ...

    def predict_proba(self, texts: list[str]) -> torch.Tensor: ...

    def explain(self, text: str) -> Explanation: ...
