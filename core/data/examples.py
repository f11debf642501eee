"""The app's built-in examples: short texts, each with the label a reader means by it, shipped with the code, so they
work on a machine with no dataset. The Start page offers them (`EXAMPLES`), and `load_dataset("examples")` gives them
as a labelled Dataset, so error analysis can score them anywhere (the Error analysis page's default source where the
model's test set is not on the machine; `python -m core errors MODEL --data examples`).

Each example shows one mechanism of the papers (negation, intensifiers, a contrast, the end of a text counting more)
and was checked against the default RNN of the app (ui.state.DEFAULT_RNN, imdb-ugrnn), its plain bag-of-words
(imdb-bow) and its augmented bag-of-words (imdb-ugrnn-aug) with `python -m core predict`; written by hand, never taken
from a test set. P(positive) of those three when chosen:

  negation         "The movie is not good."                                 0.37 / 0.53 / 0.54: only the RNN reads "not"
  intensifier      "A very, very good movie."                               0.92 / 0.59 / 0.80: "very" amplifies
  contrast         "It starts badly, but the ending is wonderful."          0.66 / 0.50 / 0.48: the clause after "but"
  late twist       "Beautiful cast, ..., and yet the whole thing is boring." 0.34 / 0.59 / 0.71: the end counts more
  never            "I have never seen a film this funny."                   0.59 / 0.56 / 0.60
  double negative  "It is not a bad film at all."                           0.25 / 0.38 / 0.32: all three misread it

Where a model reads an example against its label, the Start page says so and why (`misreading`): computed from the
model's own reading, never written by hand, so it stays true for every model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.dataset import Dataset

LABELS = {0: "negative", 1: "positive"}


@dataclass(frozen=True)
class Example:
    """A built-in example: its name (the Start page's button), text, the label a reader means (1 positive, 0
    negative) and the mechanism it shows."""
    name: str
    text: str
    label: int
    shows: str


EXAMPLES: tuple[Example, ...] = (
    Example("negation", "The movie is not good.", 0, "'not' turns the next word around"),
    Example("intensifier", "A very, very good movie.", 1, "'very' makes the next word count more"),
    Example("contrast", "It starts badly, but the ending is wonderful.", 1, "the clause after 'but' wins"),
    Example("late twist", "Beautiful cast, great score, lovely sets, and yet the whole thing is boring.", 0,
            "the end of a text counts more than its start"),
    Example("never", "I have never seen a film this funny.", 1, "'never' before a positive phrase"),
    Example("double negative", "It is not a bad film at all.", 1, "'not' before a negative word"),
)
BY_TEXT = {e.text: e for e in EXAMPLES}


def examples_dataset() -> Dataset:
    """The built-in examples as a labelled Dataset (source "examples"), in EXAMPLES order, each id its name."""
    return Dataset([e.text for e in EXAMPLES], np.asarray([e.label for e in EXAMPLES], dtype=np.int64),
                   [e.name for e in EXAMPLES], "examples")


def misreading(ex, label: int, n: int = 2) -> dict | None:
    """Where a model's reading `ex` of a text (core.models.classifier.Explanation: tokens, contributions, baseline,
    p_positive, in logits) disagrees with the label the text means: None where it agrees (P(positive) above 0.5 for a
    positive label, at most 0.5 for a negative one); else {"predicted": the class it reads ("positive" or "negative"),
    "meant": the label's class, "p_positive", "pulled_by": [(token, contribution), ...]: the n tokens whose
    contributions push hardest toward the class it reads (the bars of its reading), strongest first, "baseline":
    its logit before any token where that too leans toward the class it reads, else None}."""
    predicted = int(ex.p_positive > 0.5)
    if predicted == int(label):
        return None
    sign = 1.0 if predicted == 1 else -1.0
    pushing = sorted(((t, float(c)) for t, c in zip(ex.tokens, ex.contributions) if sign * float(c) > 0),
                     key=lambda tc: -abs(tc[1]))
    return {"predicted": LABELS[predicted], "meant": LABELS[int(label)], "p_positive": float(ex.p_positive),
            "pulled_by": pushing[:n], "baseline": float(ex.baseline) if sign * ex.baseline > 0 else None}
