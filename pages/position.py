"""Position: beginning- and end-of-document effects with their fits, and a probe that places one word
at any position in neutral filler."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.api import position
from core.analysis.modifiers import FIT_MIN_R2, fitted_timescale
from core.analysis.position import FLAT_NOISE, window, word_at_positions
from core.analysis.settings import Settings
from core.analysis.views import fit_curve
from ui.charts import reference_rule, show_chart
from ui.engine import core_call, engine_for, reference_warnings
from ui.format import literal
from ui.navigation import method_link
from ui.state import current


@st.cache_data(show_spinner="Measuring position effects (first time for a setting: under a minute)...", max_entries=16)
def curves(s: Settings, length: int | None) -> dict:
    """core.analysis.api.position (cached on disk, shipped for the default setting: the window matched to the data)."""
    return position(s, length=length)


def describe(name: str, side: dict) -> str:
    """One side's finding: flat within noise, or its fit `name` (c + a·exp(−x/τ)) in logits."""
    if not side["varies"]:
        return (f"**Flat within noise**: the curve moves by {side['range']:.3f} logits, less than "
                f"{FLAT_NOISE:g} × its noise ({side['noise']:.3f}, the median width of the 95% interval across probe "
                f"words), so no amplitude, timescale or R² is shown; level **{side['asymptote']:+.2f}** logits")
    fit = f"asymptote **{side['asymptote']:+.2f}**, amplitude **{side['amplitude']:+.2f}** logits"
    if fitted_timescale(side) is None:   # varies, but the exponential does not describe it
        return (f"{name}: varies beyond its noise, but not like an exponential (fit R² {side['r2']:.2f}, under "
                f"{FIT_MIN_R2}): {fit}, no timescale")
    at = " (the window's length: at least this)" if side.get("timescale_at_limit") else ""
    return f"{name}: {fit}, timescale **{side['timescale']:.1f}** tokens{at} (fit R² {side['r2']:.2f})"


info, settings = current()
st.title("Position: does a word count more at the start or the end?")
st.caption("A word's effect on the readout in logits, as a function of where it stands: at the beginning, the "
           "word is the p-th input after p − 1 neutral inputs from the initial state, and its effect is read once "
           "it has relaxed; at the end, k neutral inputs follow it before the readout. Median over probe valence "
           "words, each signed by its valence so that the curve is a magnitude, with its 95% interval (a smooth "
           "median that averages the words near the middle, so the curve does not jump from one word's curve to "
           "another's where they cross). A flat curve means position does not matter. " + method_link("position"))

eng = engine_for(settings)
matched, doc = window(eng.summary), eng.summary.get("median_doc_tokens")
length = st.selectbox("Positions", [None, 10, 20, 50, 100, 200], key="pos_length",
                      format_func=lambda v: (f"matched to the data: {matched}" if v is None else str(v)),
                      help="How many positions to measure. Matched to the data: the median document of the model's "
                           "training data in tokens"
                           + ("" if doc is None else f" ({doc:.0f})") + ", within 10..250 (the shipped analyses).")
res = core_call(curves, settings, length)
reference_warnings(eng.reference()["warnings"])
st.caption(f"Median over {res['n_probe']} probe valence words · {res['window']} positions · relaxed over "
           f"{res['relax_steps']} neutral steps · neutral input **{literal(res['neutral_input'])}**")

left, right = st.columns(2)
for col, side, title, xname in ((left, "begin", "Beginning of the document", "p (position of the word)"),
                                (right, "end", "End of the document", "k (neutral inputs after the word)")):
    r = res[side]
    xs = np.arange(len(r["curve"])) + r["x0"]
    df = pd.DataFrame({"x": xs, "effect": r["curve"], "low": r["low"], "high": r["high"],
                       "fit": fit_curve(r, xs - r["x0"])})
    with col:
        st.subheader(title)
        base = alt.Chart(df).encode(x=alt.X("x:Q", title=xname))
        chart = (base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q", title="effect on the readout (logits)"),
                                                    y2=alt.Y2("high:Q"))
                 + base.mark_line(point=True).encode(y=alt.Y("effect:Q"),
                                                     tooltip=[alt.Tooltip("x"), alt.Tooltip("effect:Q", format=".3f"),
                                                              alt.Tooltip("low:Q", format=".3f"),
                                                              alt.Tooltip("high:Q", format=".3f")])
                 + base.mark_line(strokeDash=[5, 3], color="#999").encode(y=alt.Y("fit:Q"))
                 + reference_rule([r["asymptote"]], dash=(2, 2), color="#999"))
        show_chart(chart, f"position-{side}", df)
        st.markdown(describe("Fit c + a·exp(−k/τ)" if side == "end" else "Fit c + a·exp(−(p−1)/τ)", r))

st.subheader("Place a word anywhere")
st.caption("The word alone among neutral inputs, at each position of a text of the chosen length, read from the "
           "initial state: what it leaves in the final readout. On a perfect line attractor every position gives "
           "the same effect.")
c1, c2 = st.columns([2, 1])
word = c1.text_input("Word", "good", key="pos_word").strip().lower()
probe_len = c2.number_input("Text length (tokens)", 5, 500, 50, 5, key="pos_probe_len")
if word:
    pr = core_call(word_at_positions, eng, word, int(probe_len))
    df = pd.DataFrame({"position": np.arange(1, pr["length"] + 1), "effect": pr["effect"]})
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("position:Q", title="position of the word"),
        y=alt.Y("effect:Q", title="effect on the final readout (logits)"),
        tooltip=[alt.Tooltip("position"),
                 alt.Tooltip("effect:Q", format=".3f")]) + reference_rule([pr["v0"]], color="#999")
    show_chart(chart, f"position-probe-{word}", df)
    if pr["gain"] is None:
        st.info(pr["gain_note"])
    else:
        g = np.array(pr["gain"])
        st.markdown(f"v0({literal(word)}) = {pr['v0']:+.3f} (dashed). Effect / v0 from **{g.min():.2f}** to **{g.max():.2f}**: "
                    f"first position {g[0]:.2f}, last {g[-1]:.2f}.")
