"""Session state that survives page switches and reloads (query parameters), the shared sidebar, and `current()`.

Every page starts with `current()`, which draws the shared sidebar. It is not drawn once in app.py:
AppTest runs a page file on its own, without the entry point, and the page must still have its sidebar and
state. For the same reason `current()` sets the page configuration: once per run, on every page, and
nowhere else.

A fresh server whose first request is a deep link (/phrase?model=...) runs the page file through Streamlit's
old `pages/` folder mode, with its automatic sidebar (lower-case file names, links that drop the query), until
app.py has called st.navigation once. `current()` leaves that mode on the first run (`leave_folder_mode`).
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core.analysis.settings import Settings
from core.models.store import ModelError, list_models

MAX_CHARS = 20000          # longest paste a text box keeps (longer pastes are cut, with a message)
URL_TEXT_MAX = 1500        # longest text carried in the page's URL
DEFAULT_TEXT = "The acting was not good, and the plot was not very interesting either."
DEFAULT_SEEDS = 1000
PAGE_CONFIG = {"page_title": "Sentiment RNN explorer", "page_icon": ":material/insights:", "layout": "wide"}


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


def leave_folder_mode() -> None:
    """When Streamlit runs this page in its `pages/` folder mode (a fresh server's first request, a deep
    link), switch the server to the navigation app.py declares and run again: the same page (its script hash
    is its URL path in both modes) and the same query parameters, with the app's sidebar. Once per server:
    st.navigation keeps the mode off afterwards. A page run on its own (AppTest) has no such folder beside it
    and is left alone."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current() -> tuple[dict, Settings]:
    """Set up a page: the page configuration, state from the URL on a session's first run, the shared sidebar,
    the URL; returns the sidebar's RNN (its listing info) and this request's one Settings (the model, its neutral
    input resolved, the seeds), which every analysis on the page is asked with."""
    leave_folder_mode()
    st.set_page_config(**PAGE_CONFIG)
    init_state()
    sidebar()
    sync_url()
    ctx = st.session_state.get("_ctx")
    if not ctx:
        st.error("No RNN model to analyse.")
        st.stop()
    try:
        return ctx["info"], Settings.of(ctx["info"]["path"], neutral=ctx["neutral"], n_seeds=ctx["seeds"])
    except ModelError as e:
        st.error(f"Cannot open {ctx['info']['name']}: {e}")
        st.stop()
