"""Dynamics: fixed points, the line attractor and its timescales (METHOD section 2, paper B)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:  # `core` when the page is run on its own
    sys.path.insert(0, ROOT)

from core.dynamics import dynamics  # noqa: E402
from core.store import model_checksum  # noqa: E402
from pages import CORE_ERRORS, sidebar  # noqa: E402

N_TIMESCALES = 10

st.set_page_config(page_title="Dynamics · Sentiment RNN explorer", layout="wide")


@st.cache_data(show_spinner=False, max_entries=16)
def analyse(path: str, checksum: str, neutral: str, n_seeds: int) -> dict:
    """core.dynamics.dynamics (cached on disk) reduced to what the page shows. The progress bar lives
    inside the function so that Streamlit can replay it on a cache hit."""
    bar = st.progress(0.0, text="Solving for fixed points...")

    def progress(iteration: int, n_converged: int, n_total: int) -> None:
        bar.progress(n_converged / max(n_total, 1),
                     text=f"Levenberg-Marquardt iteration {iteration + 1}: {n_converged} / {n_total} seeds converged")

    res, hit = dynamics(path, n_seeds=n_seeds, neutral=neutral, progress=progress)
    bar.empty()
    return {"summary": res["summary"], "cached": hit, "points": res["points"].double().numpy(),
            "readout": res["readout"].double().numpy(), "lambda1": res["lambda1"].double().numpy(),
            "ref_timescales": res["ref_timescales"].double().numpy()}


def pcs2(X: np.ndarray) -> np.ndarray:
    """Projection onto the first two principal components (zeros where there are fewer)."""
    Xc = X - X.mean(0)
    out = np.zeros((X.shape[0], 2))
    if X.shape[0] >= 2:
        vt = np.linalg.svd(Xc, full_matrices=False)[2][:2]
        out[:, :vt.shape[0]] = Xc @ vt.T
    return out


def fmt_tau(t: float) -> str:
    return "∞" if not math.isfinite(t) else f"{t:.1f}"


def pct(xs: list[float]) -> str:
    return " / ".join("n/a" if not math.isfinite(v) else f"{v:.0%}" for v in xs)


st.title("Dynamics: fixed points and the line attractor")
st.caption("Fixed points of h = F(h, x*) found from states the network visits on its training text, their "
           "linearization and slowest modes (METHOD.md section 2; Maheswaranathan et al., NeurIPS 2019).")

info, neutral, n_seeds = sidebar()
try:
    res = analyse(info["path"], model_checksum(info["path"]), neutral, n_seeds)
except CORE_ERRORS as e:
    st.error(str(e))
    st.stop()
s = res["summary"]
st.caption(f"Neutral input x*: **{s['neutral_input']}** · "
           + ("loaded from the disk cache" if res["cached"] else f"computed in {s['seconds']:.1f} s"))

c = st.columns(4)
c[0].metric("Fixed points", s["n_fixed_points"], help="Distinct accepted fixed points (q < 1e-8, de-duplicated).")
c[1].metric("Converged seeds", f"{s['n_converged']} / {s['n_seeds']}")
c[2].metric("q max", f"{s['q_max']:.1e}", help=f"q = {s['q_unit']}")
c[3].metric("Readout range of fixed points", f"{s['readout_range'][0]:.2f} … {s['readout_range'][1]:.2f}")
c = st.columns(4)
c[0].metric("|λ₁| at the reference", f"{s['lambda1_reference']:.4f}",
            help=f"Reference fixed point: readout closest to 0 (y = {s['reference_readout']:.3f}).")
c[1].metric("Slowest timescales (tokens)", ", ".join(fmt_tau(t) for t in s["timescales_top"][:3]),
            help="τ_a = -1 / ln|λ_a| at the reference point (∞ where |λ_a| ≥ 1); the five slowest: "
                 + ", ".join(fmt_tau(t) for t in s["timescales_top"]))
c[2].metric("Attractor alignment |cos(r₁, PC1)|", f"{s['attractor_alignment']:.3f}")
c[3].metric("Linearization error (median)", f"{s['linearization_error_median']:.1%}",
            help=f"One-step relative error at the nearest fixed point, {s['linearization_error_n']} visited states.")
c = st.columns(2)
c[0].metric("PCA variance explained, visited states (PC1 / PC2 / PC3)", pct(s["pc_variance_explained"]))
c[1].metric("PCA variance explained, fixed points (PC1 / PC2 / PC3)", pct(s["pc_variance_fixed_points"]))

xy = pcs2(res["points"])
fp = pd.DataFrame({"PC1": xy[:, 0], "PC2": xy[:, 1], "readout": res["readout"], "|lambda_1|": res["lambda1"],
                   "index": range(len(xy)), "reference": np.arange(len(xy)) == s["reference_index"]})
left, right = st.columns(2)
with left:
    st.subheader("Fixed points in PCA space")
    st.altair_chart(alt.Chart(fp).mark_circle().encode(
        x="PC1:Q", y="PC2:Q",
        color=alt.Color("readout:Q", scale=alt.Scale(scheme="redblue", domainMid=0), title="readout y(h*)"),
        size=alt.condition("datum.reference", alt.value(160), alt.value(50)),
        tooltip=["index", alt.Tooltip("readout:Q", format=".3f"), alt.Tooltip("|lambda_1|:Q", format=".4f")]),
        width="stretch")
    st.caption("Principal components of the fixed points themselves; the large dot is the reference point.")
with right:
    st.subheader("|λ₁| along the attractor")
    line = alt.Chart(fp).mark_circle(size=18).encode(
        x=alt.X("readout:Q", title="readout y(h*)"), y=alt.Y("|lambda_1|:Q", scale=alt.Scale(zero=False)),
        tooltip=["index", alt.Tooltip("readout:Q", format=".3f"), alt.Tooltip("|lambda_1|:Q", format=".4f")])
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    st.altair_chart(line + one, width="stretch")
    st.caption("On a line attractor |λ₁| stays close to 1 along the whole attractor (dashed: |λ| = 1).")

st.subheader("Slowest timescales at the reference point")
tau = res["ref_timescales"][:N_TIMESCALES]
finite = np.isfinite(tau)
ts = pd.DataFrame({"mode": np.arange(len(tau))[finite], "timescale": tau[finite]})
if not ts.empty:
    st.altair_chart(alt.Chart(ts).mark_bar().encode(
        x=alt.X("mode:O", title="mode a (0 = slowest)"), y=alt.Y("timescale:Q", title="τ_a (tokens)"),
        tooltip=["mode", alt.Tooltip("timescale:Q", format=".2f")]), width="stretch")
if (~finite).any():
    st.info(f"Mode(s) {', '.join(map(str, np.flatnonzero(~finite)))} have an infinite timescale (|λ| ≥ 1): "
            "not drawn.")
