"""Position: beginning- and end-of-document effects with their fits, and a probe that places one word
at any position in neutral filler."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.settings import Settings
from core.analysis.api import position
from core.analysis.modifiers import FIT_MIN_R2, fitted_timescale
from core.analysis.position import word_at_positions
from core.analysis.views import fit_curve
from ui.charts import reference_rule, show_chart
from ui.engine import core_call, engine_for, reference_warnings
from ui.navigation import method_link
from ui.state import current


@st.cache_data(show_spinner="Measuring position effects (first time for a setting: under a minute)...", max_entries=16)
def curves(s: Settings, length: int) -> dict:
    """core.analysis.api.position (cached on disk, shipped for the default setting)."""
    return position(s, length=length)


def describe(name: str, side: dict) -> str:
    if fitted_timescale(side) is None:   # the fit does not describe the curve
        r2 = side.get("fit_r2")
        return (f"{name}: no clear exponential decay (fit R² {'n/a' if r2 is None else format(r2, '.2f')}, under "
                f"{FIT_MIN_R2}), so no timescale is shown; the "
                "curve stays within "
                f"{min(side['curve']):.2f}..{max(side['curve']):.2f} of a word's context-free valence")
    return (f"{name}: amplitude **{side['amplitude']:+.2f}**, timescale **{side['timescale']:.1f}** tokens "
            f"(fit R² {side['fit_r2']:.2f})")


info, settings = current()
st.title("Position: does a word count more at the start or the end?")
st.caption("A word's effect on the final readout, relative to its context-free valence v0, as a function of where it "
           "stands: g_begin(p) after p - 1 neutral inputs from the initial state, and g_end(k) with k neutral inputs "
           "after it before the readout. 1 means position does not matter. " + method_link("position"))

eng = engine_for(settings)
length = st.slider("Positions", 10, 100, 50, 10, key="pos_length",
                   help="How many positions to measure (the shipped analyses cover 50).")
res = core_call(curves, settings, length)
reference_warnings(eng.reference()["warnings"])
st.caption(f"Median over {res['n_probe']} probe valence words · neutral input **{res['neutral_input']}**")

left, right = st.columns(2)
for col, side, title, xname, x0 in ((left, "begin", "Beginning of the document", "p (position of the word)", 1),
                                    (right, "end", "End of the document", "k (neutral inputs after the word)", 0)):
    r = res[side]
    xs = np.arange(len(r["curve"])) + x0
    df = pd.DataFrame({"x": xs, "gain": r["curve"], "fit": fit_curve(r, xs - x0)})
    with col:
        st.subheader(title)
        base = alt.Chart(df).encode(x=alt.X("x:Q", title=xname))
        chart = (base.mark_line(point=True).encode(y=alt.Y("gain:Q", title="effect / v0"),
                                                   tooltip=["x", alt.Tooltip("gain:Q", format=".3f")])
                 + base.mark_line(strokeDash=[5, 3], color="#999").encode(y="fit:Q")
                 + reference_rule([1.0], dash=(2, 2)))
        show_chart(chart, f"position-{side}", df)
        st.markdown(describe("Fit 1 + a·exp(-x/τ)" if side == "end" else "Fit 1 + a·exp(-(p-1)/τ)", r))

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
        x=alt.X("position:Q", title="position of the word"), y=alt.Y("effect:Q", title="effect on the final readout"),
        tooltip=["position", alt.Tooltip("effect:Q", format=".3f")]) + reference_rule([pr["v0"]], color="#999")
    show_chart(chart, f"position-probe-{word}", df)
    if pr["gain"] is None:
        st.info(pr["gain_note"])
    else:
        g = np.array(pr["gain"])
        st.markdown(f"v0({word}) = {pr['v0']:+.3f} (dashed). Effect / v0 from **{g.min():.2f}** to **{g.max():.2f}**: "
                    f"first position {g[0]:.2f}, last {g[-1]:.2f}.")
