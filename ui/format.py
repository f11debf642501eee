"""Numbers, timescales and modes as the pages write them (plain strings, no Streamlit)."""
from __future__ import annotations

import math
import re


def fmt(v: float | None, spec: str) -> str:
    """`v` formatted with `spec`; empty for None and for a value that is not finite."""
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def fmt_tau(t: float | None) -> str:
    """A timescale in tokens with one decimal; ∞ for None or an infinite one."""
    return "∞" if t is None or not math.isfinite(t) else f"{t:.1f}"


def fmt_m(m: float | None) -> str:
    """A modulation value with its sign ("n/a" below the valence threshold, where m is not defined)."""
    return "n/a" if m is None else f"{m:+.2f}"


def pct(xs: list[float]) -> str:
    """Shares as 'a% / b% / c%' ("n/a" for one that is not finite)."""
    return " / ".join("n/a" if not math.isfinite(v) else f"{v:.0%}" for v in xs)


def fmt_time(d: dict) -> str:
    """A mode's time constant as core.analysis.dynamics.mode_time gives it: τ (∞ when |λ| = 1), or the growth time
    of an unstable mode (never an infinite timescale)."""
    if d.get("unstable"):
        return f"unstable, grows ×e in {d['growth']:.0f}"
    return f"τ {'∞' if d['timescale'] is None else format(d['timescale'], '.1f')}"


def fmt_modes(modes: list[dict]) -> str:
    """'mode (τ)' for each of a list of modes, 'mode (τ, |c| amplitude)' where the mode has an amplitude (the
    modes a token excites on the Phrase page); an unstable mode shows its growth time."""
    return ", ".join(f"{d['mode']} ({fmt_time(d)}" + (f", |c| {d['amplitude']:.2g})" if "amplitude" in d else ")")
                     for d in modes)


MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~:$=^&\"'/")
WORD_JOINER = "\u2060"   # invisible and zero-width: breaks the patterns Streamlit finds in the text itself
_UNLINK = re.compile(r"(?<=www)(?=\\\.)", re.IGNORECASE)   # www\. : a bare web address


def literal(text: str) -> str:
    """User text (a typed word, a phrase's tokens, an uploaded file's name) made safe to put inside a Markdown
    message: it shows as typed and never becomes bold, a link, an image, HTML, LaTeX, an emoji or an icon.

    Every character Markdown, Streamlit's directives (:red[...]) or LaTeX ($...$) could read is backslash-escaped.
    That is not enough for what Streamlit's renderer finds in the text after parsing, where the escapes are gone:
    web addresses (https://..., www.x, a@b.c) become links, :material_icon: and :material/icon: icons, and
    :smile: an emoji once any shortcode is in the message. An invisible word joiner (U+2060) after every ':' and
    '@' and inside 'www.' breaks those patterns without changing what the reader sees."""
    out = "".join("\\" + c + WORD_JOINER if c in ":@" else "\\" + c if c in MARKDOWN_SPECIALS else c
                  for c in text)
    return _UNLINK.sub(WORD_JOINER, out)
