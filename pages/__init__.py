"""Shared pieces of the explorer's pages: session state that survives page switches and reloads (query
parameters), the sidebar, the cached model and engine, and small formatting helpers.

Every page starts with `current()`, which draws the shared sidebar. It is not drawn once in app.py:
with a `pages/` folder beside it, Streamlit (its first run, and AppTest always) may run a page file on
its own, without the entry point, and the page must still have its sidebar and state.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

import streamlit as st

from core.dynamics import NotApplicable
from core.store import ModelError, list_models, load_model, model_checksum

if TYPE_CHECKING:
    from core.context import ContextEngine

CORE_ERRORS = (ValueError, ModelError, RuntimeError)
METHOD_URL = "method"  # url path of pages/method.py under st.navigation (its file name)
# The Method page's sections, in page order; each is the anchor of its st.header.
ANCHORS = ("readout", "fixed-points", "linearisation", "neutral-input", "reference", "valence", "modulation",
           "deflection", "modifiers", "position", "bow", "errors")


def method_link(anchor: str, text: str = "How to read this") -> str:
    """A markdown link to the Method page's section `anchor` (one of ANCHORS).

    The link is relative ("method?<query>#valence"), so it reaches the Method page from every page, served at the
    root or under a base path; Streamlit opens it in a new tab. It carries the page's current query parameters
    (model, text, neutral input): the new session then finds its URL already in sync and keeps the #anchor, so the
    browser scrolls to the section (a session that rewrites its query parameters drops the URL's #anchor)."""
    if anchor not in ANCHORS:
        raise ValueError(f"no Method section {anchor!r}; sections: {', '.join(ANCHORS)}")
    query = urlencode(st.query_params.to_dict())
    return f"[{text}]({METHOD_URL}{'?' + query if query else ''}#{anchor})"


MAX_CHARS = 20000          # longest paste a text box keeps (longer pastes are cut, with a message)
URL_TEXT_MAX = 1500        # longest text carried in the page's URL
DEFAULT_TEXT = "The acting was not good, and the plot was not very interesting either."
DEFAULT_SEEDS = 1000


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
def get_engine(path: str, checksum: str, neutral: str | None, n_seeds: int, _progress=None) -> ContextEngine:
    """One ContextEngine per model content and setting (its dynamics come from the disk cache or the
    model's shipped analyses; otherwise the fixed points are solved, reporting to `_progress`)."""
    from core.context import engine
    return engine(path, n_seeds=n_seeds, neutral=neutral, progress=_progress)


def engine_for(info: dict, neutral: str | None, n_seeds: int) -> tuple[ContextEngine, tuple]:
    """(engine, cache key) for the sidebar's RNN, errors shown on the page. A setting with no stored
    analysis solves for fixed points (minutes): a progress bar shows the solver's iterations."""
    import time
    key = (info["path"], model_checksum(info["path"]), neutral, n_seeds)
    slot, start = st.empty(), time.time()

    def progress(iteration: int, n_converged: int, n_total: int) -> None:
        slot.progress(n_converged / max(n_total, 1),
                      text=f"Solving for the fixed points of {info['name']} with this setting (once; stored "
                           f"afterwards): iteration {iteration + 1}, {n_converged} / {n_total} seeds converged, "
                           f"{time.time() - start:.0f} s")

    with st.spinner(f"Loading the analysis of {info['name']}..."):
        eng = core_call(get_engine, *key, _progress=progress)
    slot.empty()
    return eng, key


# ---- state --------------------------------------------------------------------------------------
def init_state() -> None:
    """On a session's first run, take the model, text and neutral input from the URL's query parameters."""
    ss = st.session_state
    if "_init" in ss:
        return
    qp = st.query_params
    ss["_init"] = True
    ss["_text"] = (qp.get("text") or DEFAULT_TEXT)[:MAX_CHARS]
    ss["_rnn"] = qp.get("model") or ss.get("_rnn")
    if qp.get("neutral") and ss["_rnn"]:
        ss[f"_neutral::{ss['_rnn']}"] = qp["neutral"]
    ss["_seeds"] = DEFAULT_SEEDS


def sync_url() -> None:
    """Write the current model, text and neutral input to the URL, so a link reproduces the view."""
    ss = st.session_state
    want = {"model": ss.get("_rnn") or ""}
    if len(ss.get("_text", "")) <= URL_TEXT_MAX:
        want["text"] = ss.get("_text", "")
    neutral = ss.get(f"_neutral::{ss.get('_rnn')}")
    if neutral:
        want["neutral"] = neutral
    for k in ("model", "text", "neutral"):
        if k not in want and k in st.query_params:
            del st.query_params[k]
    for k, v in want.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v


def bind(widget_key: str, store_key: str, default=None) -> dict:
    """Give a widget its value from a store that outlives it, and the callback that writes changes back:
    Streamlit forgets or resets a widget's value on pages that do not draw it (and when a page runs
    without the entry point), so the store is the source of truth. Returns the widget's key/on_change."""
    ss = st.session_state
    ss[widget_key] = ss.get(store_key, default)

    def keep() -> None:
        ss[store_key] = ss[widget_key]

    return {"key": widget_key, "on_change": keep}


def text_box(label: str = "Phrase", height: int = 100, key: str = "text", keep: str = "head") -> str:
    """The shared phrase: the same text on every page and in the URL. A paste over MAX_CHARS is cut with a
    message instead of vanishing, keeping the end the model reads (`keep`: its truncation, head or tail)."""
    # No max_chars: Streamlit would drop a longer paste silently; it is cut here, with a message.
    text = st.text_area(label, height=height, **bind(key, "_text", ""),
                        help=f"Up to {MAX_CHARS:,} characters; the model reads its own window of tokens.")
    if len(text) > MAX_CHARS:
        st.warning(f"The text has {len(text):,} characters; only the {'last' if keep == 'tail' else 'first'} "
                   f"{MAX_CHARS:,} are used (the part {'this model reads' if keep == 'tail' else 'read first'}), and "
                   "a text this long is not kept in the page's link.")
        text = text[-MAX_CHARS:] if keep == "tail" else text[:MAX_CHARS]
    return text


def text_was_cut() -> bool:
    """Whether the shared phrase is longer than the text boxes use."""
    return len(st.session_state.get("_text") or "") > MAX_CHARS


def set_text(text: str) -> None:
    """Replace the shared phrase (preset buttons, 'open in Phrase' links), in the URL too; call before the
    text box is drawn."""
    st.session_state["_text"] = text
    sync_url()


def rnn_models() -> list[dict]:
    return [m for m in list_models() if m["kind"] == "rnn"]


def label(m: dict) -> str:
    acc = f" ({m['test_accuracy']:.1%} on {m['test_dataset']})" if m.get("test_accuracy") else ""
    return f"{m['name']}{acc}"


def sidebar() -> None:
    """RNN model, its neutral input (remembered per model) and fixed-point seeds, the same on every page."""
    ss = st.session_state
    models = rnn_models()
    if not models:
        st.sidebar.error("No RNN model found in models/. Train one with `python -m core train ...` (see README).")
        ss["_ctx"] = None
        return
    names = [m["name"] for m in models]
    by_name = {m["name"]: m for m in models}
    if ss.get("_rnn") not in names:
        ss["_rnn"] = names[0]
    name = st.sidebar.selectbox("RNN model", names, format_func=lambda n: label(by_name[n]), **bind("model", "_rnn"),
                                help="The recurrent network every analysis page reads.")
    with st.sidebar.expander("Analysis settings"):
        neutral = (st.text_input(
            "Neutral input x*", **bind(f"neutral::{name}", f"_neutral::{name}", ""),
            help="The input of 'neutral' steps, fixed points and the baseline of every valence. Empty: the model's "
                 "default (`quiet`: the mean embedding of the frequent words that move the state least). `zero` is "
                 "paper B's choice (x* = 0); `mean` averages the 1,000 most frequent words; or type a filler word "
                 "such as `the`. Remembered per model. The shipped analyses cover the default; any other choice "
                 "solves for fixed points once (minutes).") or "").strip() or None
        seeds = int(st.number_input("Fixed-point seeds", 100, 5000, step=100, **bind("seeds", "_seeds", DEFAULT_SEEDS),
                                    help="Same as the CLI's --n-seeds (shares its disk cache). The shipped analyses "
                                         f"use {DEFAULT_SEEDS}."))
    ss["_ctx"] = {"info": by_name[name], "neutral": neutral, "seeds": seeds}


def current() -> tuple[dict, str | None, int]:
    """Set up a page: state from the URL on a session's first run, the shared sidebar, the URL; returns
    (RNN model info, neutral input or None for the model default, seeds) chosen in the sidebar."""
    st.set_page_config(page_title="Sentiment RNN explorer", page_icon=":material/insights:", layout="wide")
    init_state()
    sidebar()
    sync_url()
    ctx = st.session_state.get("_ctx")
    if not ctx:
        st.error("No RNN model to analyse.")
        st.stop()
    return ctx["info"], ctx["neutral"], ctx["seeds"]


def prediction_metric(where, label: str, p: float, help: str | None = None) -> None:
    """P(positive) with the predicted class beside it, green for positive and red for negative (no arrow:
    the class is not a change)."""
    where.metric(label, f"{p:.3f}", "positive" if p > 0.5 else "negative", delta_arrow="off",
                 delta_color="normal" if p > 0.5 else "inverse", help=help)


def downloads(name: str, data: "pd.DataFrame | None" = None, chart=None, where=st) -> None:
    """Download buttons for a table (CSV) and a chart (a standalone HTML file with the Vega-Lite chart,
    which also exports PNG/SVG from its menu)."""
    cols = where.columns(2, width=380) if data is not None and chart is not None else [where]
    i = 0
    if data is not None:
        cols[i].download_button("CSV", data.to_csv(index=False).encode(), f"{name}.csv", "text/csv",
                                icon=":material/download:", key=f"dl-csv-{name}", on_click="ignore")
        i = min(i + 1, len(cols) - 1)
    if chart is not None:
        cols[i].download_button("Chart", chart.to_html().encode(), f"{name}.html", "text/html",
                                icon=":material/download:", key=f"dl-chart-{name}", on_click="ignore")


def show_chart(chart, name: str, data: "pd.DataFrame | None" = None, where=st) -> None:
    """An Altair chart across the container, with its downloads (the chart as HTML, its data as CSV)."""
    where.altair_chart(chart, width="stretch")
    downloads(name, data, chart, where)
