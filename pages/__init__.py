"""Shared pieces of the explorer's pages (this file is not a page: Streamlit skips __init__.py)."""
from __future__ import annotations

import streamlit as st

from core.store import ModelError, list_models

CORE_ERRORS = (ValueError, ModelError, RuntimeError)


def fmt_time(d: dict) -> str:
    """A mode's time constant as core.dynamics.mode_time gives it: τ (∞ when |λ| = 1), or the growth time
    of an unstable mode (never an infinite timescale)."""
    if d.get("unstable"):
        return f"unstable, grows ×e in {d['growth']:.0f}"
    return f"τ {'∞' if d['timescale'] is None else format(d['timescale'], '.1f')}"


def reference_warnings(warnings: list[str]) -> None:
    """Say plainly where the analyses' reference point makes the numbers unreliable."""
    for w in warnings:
        st.warning(f"**Reference point:** {w}")


def sidebar() -> tuple[dict, str, int]:
    """RNN model, neutral input and fixed-point seeds (remembered across pages)."""
    models = [m for m in list_models() if m["kind"] == "rnn"]
    if not models:
        st.error("No RNN model found in models/. Train one with `python -m core train ...` (see README).")
        st.stop()
    names = [m["name"] for m in models]
    prev = st.session_state.get("_rnn")
    name = st.sidebar.selectbox("RNN model", names, index=names.index(prev) if prev in names else 0, key="model")
    neutral = st.sidebar.text_input(
        "Neutral input", st.session_state.get("_neutral") or "", key="neutral",
        help="The input x* of neutral steps and fixed points. Empty: the model's default (`quiet`: the mean "
             "embedding of the frequent words that move the state least, unless the model sets its own). `zero` is "
             "paper B's choice (x* = 0); `mean` averages the 1,000 most frequent words (valence words "
             "included); or a filler word such as `the`.").strip() or None
    seeds = int(st.sidebar.number_input("Fixed-point seeds", 100, 5000, st.session_state.get("_seeds", 1000), 100,
                                        key="seeds", help="Same as the CLI's --n-seeds (shares its disk cache)."))
    st.session_state.update(_rnn=name, _neutral=neutral, _seeds=seeds)
    return next(m for m in models if m["name"] == name), neutral, seeds
