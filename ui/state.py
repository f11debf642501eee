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

import math
import re

import streamlit as st
from streamlit import config
from streamlit.runtime.pages_manager import PagesManager

from core.analysis.settings import Settings
from core.analysis.start import Start
from core.experiments.seeds import accuracy_spread, seed_groups, spread_text
from core.models.store import ModelError, list_models
from ui.format import literal
from ui.navigation import navigation

MAX_CHARS = 20000          # longest paste a text box keeps (longer pastes are cut, with a message)
URL_TEXT_MAX = 1500        # longest text carried in the page's URL
LINE_BREAKS = re.compile(r"[ \t]*[\r\n\u2028\u2029]+[ \t]*")   # a phrase is one line (text_box)
DEFAULT_TEXT = "The acting was not good, and the plot was not very interesting either."
DEFAULT_SEEDS = 1000
EXACT_DEFAULT_TOKENS = 60  # Phrase and Compare compute the exact v_relax by default below this many tokens (it is slow)
# The RNN a session opens with (the URL's ?model= wins). imdb-ugrnn, on the shipped analyses (docs/results.md): the
# only RNN trained on real data with no reference-point warning (its reference point at readout -0.99; imdb-gru's at
# +2.21 and sst2-gru's at -3.43 compress valences, a warning on every page); its fixed and slow points make end
# attractors joined by a slow manifold (integration tau 2832 tokens), the nearest to paper B's line attractor
# (imdb-gru and sst2-gru: gaps of 2.63 and 7.09 logits); 5 of the papers' 8 claims reproduced (imdb-gru 4, sst2-gru
# 4); test accuracy 89.10% (imdb-gru 89.46%); 30 confirmed modifiers, among them very (M(1) 2.55), really, so,
# extremely and never; its `full` augmented bag-of-words recovers 36% [8%, 74%] of its gain over the bag-of-words
# (imdb-gru 17% [-8%, 37%]; sst2-gru's 55% [26%, 98%] is larger, at a reference point that compresses valences).
# Its augmented bag-of-words ships as imdb-ugrnn-aug, so the Start page shows all three readings.
DEFAULT_RNN = "imdb-ugrnn"
PAGE_CONFIG = {"page_title": "Sentiment RNN explorer", "page_icon": ":material/insights:", "layout": "wide"}
START_CHOICES = {"default": "the model's start", "readout": "a point on the attractor", "after": "after another text"}


def init_state() -> None:
    """On a session's first run, take the model, text, second text, start and neutral input from the URL's
    query parameters (a start that does not parse is left at the default)."""
    ss = st.session_state
    if "_init" in ss:
        return
    qp = st.query_params
    ss["_init"] = True
    ss["_text"] = one_line(qp.get("text") or DEFAULT_TEXT)[:MAX_CHARS]
    ss["_rnn"] = qp.get("model") or ss.get("_rnn")
    if qp.get("neutral") and ss["_rnn"]:
        ss[f"_neutral::{ss['_rnn']}"] = qp["neutral"]
    if qp.get("text2") is not None:
        ss["_text2"] = one_line(qp["text2"])[:MAX_CHARS]
    spec = qp.get("start") or ""
    if spec.startswith("after:"):   # a text like `text`: one line, at most MAX_CHARS
        spec = "after:" + one_line(spec[len("after:"):])[:MAX_CHARS]
    try:
        store_start(Start.parse(spec))
    except ValueError:
        store_start(Start())
    ss["_seeds"] = DEFAULT_SEEDS


def sync_url() -> None:
    """Write the current model, text, second text, start and neutral input to the URL, so a link reproduces
    the view."""
    ss = st.session_state
    want = {"model": ss.get("_rnn") or ""}
    if len(ss.get("_text", "")) <= URL_TEXT_MAX:
        want["text"] = ss.get("_text", "")
    if "_text2" in ss and len(ss["_text2"]) <= URL_TEXT_MAX:
        want["text2"] = ss["_text2"]
    start = chosen_start()
    if not start.is_default and len(start.spec) <= URL_TEXT_MAX:
        want["start"] = start.spec
    neutral = ss.get(f"_neutral::{ss.get('_rnn')}")
    if neutral:
        want["neutral"] = neutral
    for k in ("model", "text", "text2", "start", "neutral"):
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


def one_line(text: str) -> str:
    """`text` on one line: each line break, with the spaces around it, becomes one space."""
    return LINE_BREAKS.sub(" ", text)


def text_box(label: str = "Phrase", height: int | None = None, key: str = "text", keep: str = "head",
             store: str = "_text") -> str:
    """The shared phrase (store "_text"; the Compare page's second phrase: "_text2"): the same text on every
    page and in the URL. A paste over MAX_CHARS is cut with a message instead of vanishing, keeping the end the
    model reads (`keep`: its truncation, head or tail).

    One line (st.text_input), so that Enter applies the text, as a user expects of a phrase box (a text area
    takes Enter as a new line and applies on Ctrl+Enter only). A pasted review's line breaks become spaces (the
    browser does that in a one-line box; `one_line` does it for a text from a link, a preset or a test), which the
    tokenizer reads alike, so no line break reaches the URL. `height` is accepted for callers and unused."""
    ss = st.session_state
    ss[store] = one_line(ss.get(store) or "")
    widget = bind(key, store, "")

    def keep_one_line() -> None:
        ss[store] = one_line(ss[key] or "")

    # No max_chars: Streamlit would drop a longer paste silently; it is cut here, with a message.
    text = st.text_input(label, key=widget["key"], on_change=keep_one_line,
                         placeholder="Type or paste a text, then press Enter",
                         help=f"Press Enter (or click outside the box) to analyse the text. Paste a whole review if "
                              f"you like: up to {MAX_CHARS:,} characters, its line breaks read as spaces; the model "
                              "reads its own window of tokens.")
    text = one_line(text or "")
    if len(text) > MAX_CHARS:
        st.warning(f"The text has {len(text):,} characters; only the {'last' if keep == 'tail' else 'first'} "
                   f"{MAX_CHARS:,} are used (the part {'this model reads' if keep == 'tail' else 'read first'}), and "
                   "a text this long is not kept in the page's link.")
        text = text[-MAX_CHARS:] if keep == "tail" else text[:MAX_CHARS]
    return text


def chosen_start() -> Start:
    """The start the session has chosen with `start_box` (kept in session state and the URL's `start`); the
    default start while the choice is incomplete (no text to read first yet)."""
    ss = st.session_state
    kind = ss.get("_start_kind", "default")
    value = ss.get("_start_" + kind)
    try:
        return Start(kind, float(f"{value:.6g}") if kind == "readout" and value is not None else value)
    except ValueError:
        return Start()


def start_box(lo: float, hi: float) -> Start:
    """The shared 'Start from' control: the model's initial state, a point on the attractor chosen by its readout
    (a slider over lo..hi, the attractor's readouts: core.analysis.start.readout_range) or the state after another
    text. Returns the chosen Start (`chosen_start`)."""
    ss = st.session_state
    left, right = st.columns([2, 3])
    kind = left.radio("Start from", list(START_CHOICES), format_func=START_CHOICES.get, horizontal=True,
                      **bind("start_kind", "_start_kind", "default"),
                      help="Where the network starts reading: its trained initial state, a resting state on the "
                           "attractor with a chosen readout (an opinion already formed), or the state another text "
                           "leaves behind (as if that text came first).")
    if kind == "readout":
        e = math.floor(math.log10((hi - lo) / 50)) if hi > lo else 0   # about 50 to 500 steps over the range
        step, digits = 10.0 ** e, max(0, -e)
        a, b = round(math.ceil(lo / step) * step, digits), round(math.floor(hi / step) * step, digits)   # inside it
        if b > a:
            ss["_start_readout"] = min(max(ss.get("_start_readout") or 0.0, a), b)   # this model's range
            right.slider("Readout of the start point", a, b, step=step, format=f"%.{digits}f",
                         **bind("start_readout", "_start_readout"),
                         help="The attractor point (fixed or slow) whose readout is nearest this value.")
        else:   # no slider step fits inside the range (all readouts equal, or nearly): start at its low end
            ss["_start_readout"] = lo
            right.caption(f"The attractor's points all have readouts between {lo:+.3f} and {hi:+.3f}.")
    elif kind == "after":
        right.text_input("Text read first", **bind("start_after", "_start_after", ""),
                         help="Read from the state the network is in after this text (from its initial state).")
    start = chosen_start()
    if kind != "default" and start.is_default:
        right.caption("Until this text has words, the reading starts from the model's start.")
    sync_url()   # a readout clamped into this model's range
    return start


def start_note(info: dict, subject: str) -> None:
    """One line above the charts when the reading does not start from the model's h0: `subject` ("Read", "Both
    read") from where (the start's description, escaped: it may quote a typed text), with the readout there."""
    st.info(f"{subject} from {literal(info['description'])}: readout y(h₀) = {info['readout']:+.2f} (the ◆ on the "
            "attractor chart).", icon=":material/start:")


def text_was_cut() -> bool:
    """Whether the shared phrase is longer than the text boxes use."""
    return len(st.session_state.get("_text") or "") > MAX_CHARS


def pasted_text() -> str:
    """The shared phrase as typed or pasted, in full (text_box returns at most MAX_CHARS of it)."""
    return st.session_state.get("_text") or ""


def set_text(text: str) -> None:
    """Replace the shared phrase (preset buttons, 'open in Phrase' links), in the URL too; call before the
    text box is drawn."""
    st.session_state["_text"] = one_line(text)
    sync_url()


def store_start(start: Start) -> None:
    """Keep a start in the session: the stores of the 'Start from' control (start_box) that chosen_start reads."""
    ss = st.session_state
    ss["_start_kind"] = start.kind
    if not start.is_default:
        ss["_start_" + start.kind] = start.value


def set_start(start: Start) -> None:
    """Choose where phrases are read from ('open in Phrase' with a start), in the URL too; call before the
    'Start from' control is drawn."""
    store_start(start)
    sync_url()


def rnn_models() -> list[dict]:
    return [m for m in list_models() if m["kind"] == "rnn"]


def label(m: dict, spread: dict | None = None) -> str:
    """A model in the picker: its name, test accuracy and, for a network trained in several seeds, the spread."""
    over = spread_text(spread, ".1%")
    acc = (f" ({m['test_accuracy']:.1%} on {m['test_dataset']}" + (f"; {over}" if over else "") + ")"
           if m.get("test_accuracy") else "")
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
    spread = {m["name"]: accuracy_spread(group) for group in seed_groups(models).values() for m in group}
    if ss.get("_rnn") not in names:
        ss["_rnn"] = DEFAULT_RNN if DEFAULT_RNN in names else names[0]
    name = st.sidebar.selectbox("RNN model", names, format_func=lambda n: label(by_name[n], spread.get(n)), **bind("model", "_rnn"),
                                help="The recurrent network every analysis page reads.")
    if spread_text(spread.get(name)):   # the picker cuts long labels: the spread over seeds in full, under it
        st.sidebar.caption(f"Test accuracy over {spread_text(spread[name], '.1%')}; *Architectures* reads each seed.")
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
    link), declare the app's navigation now: st.navigation turns that mode off for the server and sends the
    app's sidebar in place of the folder's; it resolves to this same page (a page's script hash is its URL path
    in both modes), which goes on running with its query parameters (no rerun). Not under AppTest: it draws no
    sidebar, puts the mode back before each of its runs, and a navigation declared inside its page drops the
    values the page's widgets are given next. A page run on its own has no such folder and is left alone."""
    if PagesManager.uses_pages_directory and not config.get_option("global.appTest"):
        navigation()


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
        st.error(f"Cannot open {literal(ctx['info']['name'])}: {literal(str(e))}")
        st.stop()
