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
from ui.format import literal
from ui.navigation import method_link

if TYPE_CHECKING:
    from core.analysis.context import ContextEngine

CORE_ERRORS = (ValueError, ModelError, RuntimeError)


# A short name for each model-wide warning core gives (core.analysis.dynamics, .modifiers), found by a phrase in it.
WARNING_TITLES = (
    ("the reference point is unstable", "Reference point: unstable, every valence here is unreliable"),
    ("where valences are compressed", "Reference point: valences are compressed on this model"),
    ("does not reach the readout", "Reference point: the integration mode does not reach the readout"),
    ("the slowest dynamics there turn", "Reference point: the slowest dynamics rotate"),
    ("do not span both signs of the readout", "Attractor: no line attractor through the neutral point"),
    ("dataset is not on this machine", "Fixed points: found from random word sequences"),
    ("no modifier effect of note", "Modifiers: no modifier effect of note on this network"),
)


def warning_title(warning: str) -> str:
    """The short name of a model-wide warning (its first clause for one WARNING_TITLES does not know)."""
    title = next((t for phrase, t in WARNING_TITLES if phrase in warning), None)
    return title or warning.split(":")[0].strip()[:80]


def reference_warnings(warnings: list[str]) -> None:
    """Warnings that hold for the whole model (where the analyses' reference point makes the numbers unreliable,
    what the attractor lacks), said once on the page: one compact line naming them, which opens to each in full
    and a link to the Method section on the reference point. Nothing when there is none."""
    warnings = list(dict.fromkeys(warnings))   # each once
    if not warnings:
        return
    titles = list(dict.fromkeys(warning_title(w) for w in warnings))
    label = titles[0] + (f" (and {len(titles) - 1} more)" if len(titles) > 1 else "")
    with st.expander(label, icon=":material/warning:"):
        for w in warnings:
            st.markdown(f"**{warning_title(w)}.** {w[:1].upper()}{w[1:]}.")
        st.caption(method_link("reference", "Why the reference point matters"))


def core_call(fn, *args, **kw):
    """Run a core function; its errors become an st.error (with a way out when a non-default neutral input
    is set: every analysis depends on it) and stop the page."""
    try:
        return fn(*args, **kw)
    except NotApplicable as e:   # the network, not the app: say so plainly
        msg = literal(str(e))   # core's messages repeat what the user typed (a word, a neutral input)
        st.warning(f"**Does not apply here.** {msg[:1].upper()}{msg[1:]}.\n\nAnother neutral input (*Analysis "
                   "settings* in the sidebar: `zero`, `mean` or a filler word) puts the reference point elsewhere, "
                   "where it may apply.")
        st.stop()
    except CORE_ERRORS as e:
        ctx = st.session_state.get("_ctx") or {}
        hint = (f"\n\nThis was measured with the neutral input **{literal(ctx['neutral'])}**. Clear *Neutral input x\\** "
                "under *Analysis settings* in the sidebar to use the model's default." if ctx.get("neutral") else "")
        st.error(f"{literal(str(e))}{hint}")
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
