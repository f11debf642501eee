"""The cached model and analysis engine of the sidebar's choice, and the engine's errors and warnings shown on
the page (core_call stops the page with a plain message instead of a traceback)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import streamlit as st

from core.analysis.context import engine
from core.analysis.dynamics import NotApplicable
from core.analysis.settings import Settings
from core.models.store import ModelError, load_model

if TYPE_CHECKING:
    from core.analysis.context import ContextEngine

CORE_ERRORS = (ValueError, ModelError, RuntimeError)


def reference_warnings(warnings: list[str]) -> None:
    """Say plainly where the analyses' reference point makes the numbers unreliable."""
    for w in warnings:
        st.warning(f"**Reference point:** {w}")


def core_call(fn, *args, **kw):
    """Run a core function; its errors become an st.error (with a way out when a non-default neutral input
    is set: every analysis depends on it) and stop the page."""
    try:
        return fn(*args, **kw)
    except NotApplicable as e:   # the network, not the app: say so plainly
        msg = str(e)
        st.warning(f"**Does not apply here.** {msg[:1].upper()}{msg[1:]}.\n\nAnother neutral input (*Analysis "
                   "settings* in the sidebar: `zero`, `mean` or a filler word) puts the reference point elsewhere, "
                   "where it may apply.")
        st.stop()
    except CORE_ERRORS as e:
        ctx = st.session_state.get("_ctx") or {}
        hint = (f"\n\nThis was measured with the neutral input **{ctx['neutral']}**. Clear *Neutral input x\\** "
                "under *Analysis settings* in the sidebar to use the model's default." if ctx.get("neutral") else "")
        st.error(f"{e}{hint}")
        st.stop()


@st.cache_resource(show_spinner="Loading model...", max_entries=16)
def get_model(path: str, checksum: str):
    """One loaded classifier per folder and content (the checksum keys the cache: new weights reload)."""
    return load_model(path)


@st.cache_resource(show_spinner=False, max_entries=8)
def get_engine(s: Settings, _progress=None) -> ContextEngine:
    """One ContextEngine per Settings (model content and setting: its dynamics come from the disk cache or the
    model's shipped analyses; otherwise the fixed points are solved, reporting to `_progress`)."""
    return engine(s, progress=_progress)


def engine_for(s: Settings) -> ContextEngine:
    """The engine of this request's Settings, errors shown on the page. A setting with no stored analysis
    solves for fixed points (minutes): a progress bar shows the solver's iterations."""
    slot, start = st.empty(), time.time()

    def progress(iteration: int, n_converged: int, n_total: int) -> None:
        slot.progress(n_converged / max(n_total, 1),
                      text=f"Solving for the fixed points of {s.name} with this setting (once; stored "
                           f"afterwards): iteration {iteration + 1}, {n_converged} / {n_total} seeds converged, "
                           f"{time.time() - start:.0f} s")

    with st.spinner(f"Loading the analysis of {s.name}..."):
        eng = core_call(get_engine, s, _progress=progress)
    slot.empty()
    return eng
