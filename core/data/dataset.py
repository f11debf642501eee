"""What every loader returns: a `Dataset` of raw texts and 0/1 labels (-1 for unlabelled), and the
`DataError` that names the file (and line) of bad or missing data."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DataError(ValueError):
    """Bad or missing data, with the file (and line) it came from."""


@dataclass
class Dataset:
    texts: list[str]
    labels: np.ndarray
    ids: list[str] | None = None
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> "Dataset":
        idx = np.asarray(idx, dtype=int)
        return Dataset([self.texts[i] for i in idx], self.labels[idx],
                       None if self.ids is None else [self.ids[i] for i in idx], self.source, dict(self.meta))
