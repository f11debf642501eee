"""Where a phrase is read from: the state h_0 before its first token (issue 18).

By default an RNN reads from its trained initial state h0. Reading the same words from elsewhere shows what the
network's memory adds: a point on the attractor picked by its readout (an opinion already formed, with no
transient left), or the state after another text (exactly what reading that text first leaves behind, transients
included). A `Start` is plain, hashable data (it travels in URLs as its `spec`); ContextEngine.start_state turns it
into a state of one engine, with a plain description of where that state is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.data.text import tokenize

START_KINDS = ("default", "readout", "after")
MAX_START_TOKENS = 2000   # an "after" text longer than this is refused (every token is one step of the network)
QUOTE_CHARS = 60          # an "after" text is quoted in descriptions up to this many characters


@dataclass(frozen=True)
class Start:
    """Where to start reading: kind "default" (the model's initial state h0, value None), "readout" (value: the
    readout y wanted; the attractor point whose readout is nearest) or "after" (value: a text read from h0 first).
    Validated when built, so a bad value fails here with a clear message rather than deep in the engine."""
    kind: str = "default"
    value: float | str | None = None

    def __post_init__(self) -> None:
        if self.kind not in START_KINDS:
            raise ValueError(f"a start is one of {', '.join(START_KINDS)}; got {self.kind!r}")
        if self.kind == "default" and self.value is not None:
            raise ValueError("the default start takes no value")
        if self.kind == "readout":
            if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
                raise ValueError(f"a readout start needs a finite number, not {self.value!r}")
            object.__setattr__(self, "value", float(self.value))
        if self.kind == "after":
            if not isinstance(self.value, str):
                raise ValueError(f"an 'after' start needs a text, not {self.value!r}")
            if not tokenize(self.value):
                raise ValueError("the text to read first (the 'after' start) has no tokens")

    @property
    def is_default(self) -> bool:
        return self.kind == "default"

    @property
    def spec(self) -> str:
        """The start as one string, "default", "readout:<y>" or "after:<text>" (the pages' URL parameter);
        `Start.parse(s.spec) == s`."""
        return self.kind if self.is_default else f"{self.kind}:{self.value!r}" if self.kind == "readout" \
            else f"after:{self.value}"

    @classmethod
    def parse(cls, spec: str | None) -> Start:
        """The Start a `spec` string names ("" and None: the default); ValueError for anything else."""
        if not spec or spec == "default":
            return cls()
        kind, sep, value = spec.partition(":")
        if not sep or kind not in ("readout", "after"):
            raise ValueError(f"a start is 'default', 'readout:<number>' or 'after:<text>'; got {spec!r}")
        if kind == "after":
            return cls("after", value)
        try:
            return cls("readout", float(value))
        except ValueError:
            raise ValueError(f"a readout start needs a number, not {value!r}") from None
