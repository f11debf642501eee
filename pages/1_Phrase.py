"""Phrase: per-token valence, contextual modulation, deflection and mode ablation (METHOD section 3)."""
from __future__ import annotations

import sys
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:  # `core` when the page is run on its own
    sys.path.insert(0, ROOT)

from core.context import ContextEngine, engine  # noqa: E402
from core.context import M_BAND as CLASS_DELTA  # noqa: E402
from core.store import model_checksum  # noqa: E402
from pages import CORE_ERRORS, fmt_time, reference_warnings, sidebar  # noqa: E402
from core.text import tokenize  # noqa: E402

MAX_CHARS = 20000
EXACT_DEFAULT_TOKENS = 60
M_COLORS = {"flipped (m < 0)": "#d62728", "attenuated (0 ≤ m < 1)": "#ff7f0e",
            f"about 1 (|m - 1| ≤ {CLASS_DELTA})": "#999999", "amplified (m > 1)": "#1f77b4"}

st.set_page_config(page_title="Phrase · Sentiment RNN explorer", layout="wide")


@st.cache_resource(show_spinner="Solving for fixed points (first run per model and setting; can take minutes)...")
def get_engine(path: str, checksum: str, neutral: str, n_seeds: int) -> ContextEngine:
    """One ContextEngine per model content and setting (the dynamics analysis is cached on disk)."""
    return engine(path, n_seeds=n_seeds, neutral=neutral)


@st.cache_data(show_spinner="Analysing the phrase...", max_entries=64)
def analyse(_eng: ContextEngine, key: tuple, text: str, exact: bool,
            ablate_after: int | None = None, modes: tuple[int, ...] | str | None = None) -> dict:
    """ContextEngine.phrase, cached per (model, setting) key and arguments."""
    return _eng.phrase(text, ablate_after=ablate_after, modes=list(modes) if isinstance(modes, tuple) else modes,
                       exact=exact)


def m_class(m: float | None) -> str | None:
    if m is None:
        return None
    if m < 0:
        return "flipped (m < 0)"
    if abs(m - 1) <= CLASS_DELTA:
        return f"about 1 (|m - 1| ≤ {CLASS_DELTA})"
    return "amplified (m > 1)" if m > 1 else "attenuated (0 ≤ m < 1)"


def fmt_modes(modes: list[dict]) -> str:
    """'mode (tau, |c|)' for the strongest modes."""
    return ", ".join(f"{d['mode']} ({fmt_time(d)}, |c| {d['amplitude']:.2g})" for d in modes)


def core_call(fn, *args, **kw):
    """Run a core function; its errors become an st.error and stop the page."""
    try:
        return fn(*args, **kw)
    except CORE_ERRORS as e:
        st.error(str(e))
        st.stop()


st.title("Phrase: how each token moves the readout")
st.caption("Persistent valence v, context-free valence v0, modulation m = v / v0 and deflection off the line "
           "attractor, token by token (METHOD.md section 3; Maheswaranathan & Sussillo, ICML 2020).")

info, neutral, n_seeds = sidebar()
key = (info["path"], model_checksum(info["path"]), neutral, n_seeds)
eng = core_call(get_engine, *key)
st.sidebar.caption(f"Neutral input x*: **{eng.neutral}** (every F(h, x*) and neutral step uses it). Valence "
                   f"threshold for m: {eng.valence_threshold:.3g}. v_relax relaxes {eng.relax_steps} neutral steps. "
                   f"Reference point h*_ref ({eng.summary['reference_kind']}): readout "
                   f"{eng.summary['reference_readout']:+.2f}, |λ₁| {eng.summary['lambda1_reference']:.4f}.")

text = st.text_area("Phrase", "The acting was not good, and the plot was not very interesting either.",
                    max_chars=MAX_CHARS, height=100, key="phrase")
n_tokens = len(tokenize(text))
if not n_tokens:
    st.info("Type a phrase to see its token-by-token analysis.")
    st.stop()
exact = st.checkbox("exact v_relax", value=n_tokens < EXACT_DEFAULT_TOKENS,  # no key: the default follows the length
                    help="Also compute the exact persistent valence v_relax (relaxing both branches with neutral "
                         "steps): slow on long texts, so off by default from 60 tokens.")
res = core_call(analyse, eng, key, text, exact)
toks = res["tokens"]
reference_warnings(res["reference"]["warnings"])
win = res["window"]
if win["truncated"]:
    st.info(f"{info['name']} reads only tokens {win['start'] + 1}-{win['end']} of this text's {win['n_text_tokens']} "
            "(its window): the analysis below covers exactly those, so P(positive) is the model's prediction.")

c1, c2, c3 = st.columns(3)
c1.metric("P(positive)", f"{res['p_pos']:.3f}", "positive" if res["p_pos"] > 0.5 else "negative",
          delta_color="normal" if res["p_pos"] > 0.5 else "inverse")
c2.metric("Readout logit y(h_T)", f"{res['logit']:.3f}")
c3.metric("Tokens", len(toks))
unknown = sorted({t["token"] for t in toks if not t["known"]})
if unknown:
    st.caption(f"Not in the vocabulary (read as <unk>): {', '.join(unknown[:20])}")

df = pd.DataFrame([{**{k: t[k] for k in ("index", "token", "y", "dy", "v", "v_relax", "v0", "m", "deflection")},
                    "label": f"{t['index']}: {t['token']}", "modulation": m_class(t["m"]),
                    "top modes": fmt_modes(t["modes"])} for t in toks])
x = alt.X("label:N", sort=None, title="token")

left, right = st.columns(2)
with left:
    st.subheader("Readout after each token")
    line = alt.Chart(df).mark_line(point=True).encode(
        x=x, y=alt.Y("y:Q", title="readout y(h_t)"),
        tooltip=["index", "token", alt.Tooltip("y:Q", format=".3f"), alt.Tooltip("dy:Q", format=".3f")])
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    st.altair_chart(line + zero, width="stretch")
with right:
    st.subheader("Persistent valence v and context-free v0")
    long = df.melt(id_vars=["label", "token"], value_vars=["v", "v0"], var_name="valence", value_name="value")
    st.altair_chart(alt.Chart(long).mark_bar().encode(
        x=x, xOffset="valence:N", y=alt.Y("value:Q", title="valence (logit units)"),
        color=alt.Color("valence:N", scale=alt.Scale(range=["#2b8cbe", "#bbbbbb"])),
        tooltip=["label", "valence", alt.Tooltip("value:Q", format=".3f")]), width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Contextual modulation m = v / v0")
    dm = df.dropna(subset=["m"])
    if dm.empty:
        st.info("No token has |v0| above the valence threshold: m is not defined here.")
    else:
        bars = alt.Chart(dm).mark_bar().encode(
            x=x, y=alt.Y("m:Q", title="m"),
            color=alt.Color("modulation:N", scale=alt.Scale(domain=list(M_COLORS), range=list(M_COLORS.values())),
                            legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["label", alt.Tooltip("m:Q", format=".3f"), "modulation"])
        one = alt.Chart(pd.DataFrame({"m": [1]})).mark_rule(strokeDash=[4, 4]).encode(y="m:Q")
        st.altair_chart(bars + one, width="stretch")
        st.caption("Shown only where |v0| is above the valence threshold (otherwise the ratio is noise).")
with right:
    st.subheader("Deflection off the attractor ||h_t - h*(h_t)||")
    st.altair_chart(alt.Chart(df).mark_bar(color="#756bb1").encode(
        x=x, y=alt.Y("deflection:Q", title="deflection"),
        tooltip=["label", alt.Tooltip("deflection:Q", format=".3f"), "top modes"]), width="stretch")

st.subheader("Per token")
st.dataframe(df[["index", "token", "dy", "v", "v_relax", "v0", "m", "deflection", "top modes"]],
             hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.3f")
                            for c in ("dy", "v", "v_relax", "v0", "m", "deflection")})
st.caption("top modes: slow eigenmodes a at the nearest fixed point with the largest |c_a| = |l_a · (h_t - h*)|, "
           "as 'a (τ timescale in tokens, |c|)'; mode 0 is the slowest, τ ∞ means |λ| = 1; an unstable mode "
           "(|λ| > 1) shows its growth time instead."
           + ("" if exact else " v_relax is off (tick 'exact v_relax' to compute it)."))

with st.expander("Mode ablation"):
    st.caption("Right after the chosen token, remove the state's components along some slow modes at the "
               "nearest fixed point h* (h -= r_a (l_a · (h - h*)); complex-conjugate partners go too) and run "
               "the rest of the phrase (METHOD section 4). Mode 0 is the integration mode: removing it also "
               "moves the state along the attractor to h*.")
    after = st.selectbox("Ablate after token", range(len(toks)), format_func=lambda i: df["label"][i], key="after")
    how = st.radio("Modes to remove", ["excited", "chosen"], horizontal=True, key="how",
                   help="excited: the modes this token excites (amplitude ≥ half the largest).")
    n_modes = int(eng.modes_lam.shape[1])
    chosen = st.multiselect(f"Mode indices (0 = slowest, up to {n_modes - 1})", range(n_modes), default=[0],
                            key="modes", disabled=how == "excited")
    modes = "excited" if how == "excited" else tuple(chosen)
    if not modes:
        st.info("Choose at least one mode to remove.")
    else:
        abl = core_call(analyse, eng, key, text, False, after, modes)["ablation"]
        a1, a2, a3 = st.columns(3)
        a1.metric("P(positive) before", f"{res['p_pos']:.3f}")
        a2.metric("P(positive) after ablation", f"{abl['p_pos']:.3f}", f"{abl['p_pos'] - res['p_pos']:+.3f}")
        a3.metric("Modes removed", ", ".join(map(str, abl["modes"])) or "none")
        both = pd.concat([df.assign(run="original")[["label", "y", "run"]],
                          df.assign(run="ablated", y=abl["y"])[["label", "y", "run"]]])
        st.altair_chart(alt.Chart(both).mark_line(point=True).encode(
            x=x, y=alt.Y("y:Q", title="readout y(h_t)"), color="run:N", strokeDash="run:N",
            tooltip=["label", "run", alt.Tooltip("y:Q", format=".3f")]), width="stretch")
