"""Dynamics: fixed points, what the attractor is (a line attractor only where the figures say so) and its
timescales (paper B)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.attractor import (
    GAP_WINDOW,
    MARGINAL_LOW,
    NEAR_ZERO,
    attractor_figures,
)
from core.analysis.dynamics import dynamics_of
from core.analysis.settings import Settings
from core.analysis.views import dynamics_view, slowest_modes
from core.models.store import load_model
from ui.charts import (
    POINT_KINDS,
    attractor_frame,
    attractor_scatter,
    metric_row,
    reference_rule,
    show_chart,
)
from ui.engine import core_call, reference_warnings
from ui.format import fmt_tau, literal, pct
from ui.navigation import method_link
from ui.state import current

N_TIMESCALES = 10


@st.cache_data(show_spinner=False, max_entries=16)
def analyse(s: Settings) -> dict:
    """core.analysis.dynamics.dynamics (cached on disk) reduced to what the page shows. The progress bar lives
    inside the function so that Streamlit can replay it on a cache hit."""
    bar = st.progress(0.0, text="Solving for fixed points...")

    def progress(iteration: int, n_converged: int, n_total: int) -> None:
        bar.progress(n_converged / max(n_total, 1),
                     text=f"Levenberg-Marquardt iteration {iteration + 1}: {n_converged} / {n_total} seeds converged")

    clf = load_model(s.path)   # read once for the analysis, the readout vector and the reference's drift
    res = dynamics_of(clf, s, progress=progress)
    bar.empty()
    return {**dynamics_view(res, s.path, clf.model.readout_vector()[0]), "attractor": attractor_figures(res, clf),
            "cached": res["cached"]}


info, settings = current()
st.title("Dynamics: fixed points and the attractor")
st.caption("Fixed points of h = F(h, x*) found from states the network visits on its training text, their "
           "linearization and slowest modes (Maheswaranathan et al., NeurIPS 2019). " + method_link("fixed-points"))

res = core_call(analyse, settings)
s = res["summary"]
st.caption(f"Neutral input x*: **{literal(s['neutral_input'])}** · "
           + ("stored analysis (shipped with the model or cached on this machine)" if res["cached"]
              else f"computed in {s['seconds']:.1f} s"))

reference_warnings(s["warnings"] + res["reach_warnings"])

att = res["attractor"]
st.markdown(f"**Attractor: {att['attractor_kind']}.** {att['attractor_why'][:1].upper()}{att['attractor_why'][1:]}. "
            + method_link("attractor-figures", "The rule"))
metric_row(
    ("Integration τ (tokens)", fmt_tau(att["integration_timescale"]),
     {"delta": f"{att['integration_kind']}, |λ₁| {att['integration_lambda']:.4f}", "delta_color": "off",
      "delta_arrow": "off",
      "help": "|1 / ln|λ₁|| of the integration mode (the largest |λ|) at the reference point, a marginal mode "
              "slightly above 1 included: how long the network holds what it has integrated."}),
    ("Slowest transient τ", fmt_tau(att["slowest_transient_timescale"]),
     {"help": "The slowest decaying transient (tokens): the slowest of the other modes with |λ| < 1, how long a "
              "word's transient push lasts at most."}),
    ("Largest point gap", f"{att['largest_readout_gap']:.2f} logits"
     if att["largest_readout_gap"] is not None else "n/a",
     {"help": "The largest readout gap between neighbouring fixed or slow points, where the readout is in play "
              f"(within {GAP_WINDOW:g} logits of 0): a state in a gap is not held."}),
    ("Marginal near 0", "none" if att["near_zero_marginal_share"] is None
     else f"{att['near_zero_marginal_share']:.0%}",
     {"help": f"Of the {att['near_zero_points'] or 0} points within {NEAR_ZERO:g} logit of 0, the share with "
              f"{MARGINAL_LOW:g} ≤ |λ₁| ≤ 1 + tolerance (marginally stable)."}),
    ("Reference drift / doc", "n/a" if att["reference_drift_per_doc"] is None
     else f"{att['reference_drift_per_doc']:+.2f} logits",
     {"help": "The reference point's drift: how far the readout moves when it is run through a median "
              "document's number of neutral inputs."}))

capped = s["drift_capped_share"]
metric_row(
    ("Fixed points", s["n_fixed_points"], {"help": "Distinct accepted fixed points (q < 1e-8, de-duplicated)."}),
    ("Stable fixed points", s["n_stable_fixed_points"],
     {"help": f"Fixed points with |λ₁| ≤ 1 + {s['stable_tolerance']:g}."}),
    ("Slow points", s["n_slow_points"],
     {"help": f"Points where the state moves slowly but not zero: 1e-8 ≤ q < {s['slow_tolerance']:g} (paper B's "
              "attractor is approximate: fixed and slow points together)."}),
    ("Converged seeds", f"{s['n_converged']} / {s['n_seeds']}"),
    ("q max (fixed points)", f"{s['q_max']:.1e}", {"help": f"q = {s['q_unit']}"}))
metric_row(
    ("Readout range, fixed points", f"{s['readout_range'][0]:.2f} … {s['readout_range'][1]:.2f}"),
    ("Readout range, fixed + slow points",
     f"{s['attractor_readout_range'][0]:.2f} … {s['attractor_readout_range'][1]:.2f}",
     {"help": "The stretch of readout values the (approximate) attractor covers."}),
    ("Drift (neutral tokens per logit)",
     (f"≥ {s['drift_max_steps']}" if s["drift_tokens_per_logit"] >= s["drift_max_steps"]
      else f"{s['drift_tokens_per_logit']:.0f}"),
     {"help": "Median, over points on the attractor, of the neutral steps a state needs to move its readout by "
              f"one logit; {capped:.0%} never did within {s['drift_max_steps']} steps. Compare with the median "
              f"document length: {s['median_doc_tokens']:.0f} tokens. Much longer: the attractor holds valence "
              "over a document; shorter: it leaks."}),
    ("Median document (tokens)", f"{s['median_doc_tokens']:.0f}"))
metric_row(
    ("Reference point h*_ref", f"y = {s['reference_readout']:+.2f}",
     {"delta": "stable" if s["reference_stable"] else "UNSTABLE",
      "delta_color": "off" if s["reference_stable"] else "inverse", "delta_arrow": "off",
      "help": f"The stable fixed or slow point whose readout is closest to 0 (here a {s['reference_kind']}, q = "
              f"{s['reference_q']:.1e}): where v0, modifier strengths and position curves are measured."}),
    ("|λ₁| at the reference", f"{s['lambda1_reference']:.4f}"),
    ("Slowest stable τ (tokens)", (f"{float(s['timescales_top'][0]):.0f}" if fmt_tau(s["timescales_top"][0]) != "∞"
                                   else "∞") if s["timescales_top"] else "none",
     {"help": "τ_a = -1 / ln|λ_a| at the reference point over its stable modes (∞ where |λ_a| = 1); the five "
              "slowest: " + (", ".join(fmt_tau(t) for t in s["timescales_top"]) or "none")}),
    ("Unstable modes at the reference", len(s["unstable_growth_top"]),
     {"help": "Modes with |λ| > 1 grow instead of decaying; growth times (tokens): "
              + (", ".join(f"{g:.0f}" for g in s["unstable_growth_top"]) or "none")}))
metric_row(
    ("Attractor alignment |cos(r₁, PC1)|", f"{s['attractor_alignment']:.3f}"),
    ("Linearization error (median)", f"{s['linearization_error_median']:.1%}",
     {"help": f"One-step error of the linear picture at the nearest attractor point, {s['linearization_error_n']} "
              "visited states, relative to the size of the state it reaches. Relative to the step it has to predict "
              "it is larger (`python -m core validity MODEL --on DATA` gives both)."}),
    ("PC1 variance, visited states", pct(s["pc_variance_explained"][:1]),
     {"help": "Share of the visited states' variance on their first principal components, PC1 / PC2 / PC3: "
              + pct(s["pc_variance_explained"])}),
    ("PC1 variance, fixed points", pct(s["pc_variance_fixed_points"][:1]),
     {"help": "Share of the fixed points' variance on their first principal components, PC1 / PC2 / PC3: "
              + pct(s["pc_variance_fixed_points"])}))

fp = attractor_frame(res).assign(**{"|λ₁|": res["lambda1"], "q": res["q"], "index": res["index"],
                                    "stability": np.where(res["stable"], "stable", "unstable")})
tip = [alt.Tooltip("kind"), alt.Tooltip("index"), alt.Tooltip("readout:Q", format=".3f"),
       alt.Tooltip("|λ₁|:Q", format=".4f"), alt.Tooltip("stability"), alt.Tooltip("q:Q", format=".1e")]
left, right = st.columns(2)
with left:
    st.subheader("Fixed and slow points in PCA space")
    show_chart(attractor_scatter(fp, tip, size=50), "fixed-points", fp)
    st.caption("Principal components of the fixed (circles) and slow (triangles) points; the large dot is the "
               "reference point.")
with right:
    st.subheader("|λ₁| along the attractor")
    line = alt.Chart(fp).mark_point(filled=True, size=24).encode(
        x=alt.X("readout:Q", title="readout y(h*)"), y=alt.Y("|λ₁|:Q", title="|λ₁|", scale=alt.Scale(zero=False)),
        color=alt.Color("stability:N", scale=alt.Scale(domain=["stable", "unstable"], range=["#2b8cbe", "#d62728"])),
        shape=alt.Shape("kind:N", scale=POINT_KINDS), tooltip=tip)
    show_chart(line + reference_rule([1.0]), "lambda1", fp)
    st.caption("|λ₁| here is the integration mode's, tracked continuously along the attractor from the reference "
               "point (where it is the slowest mode), not each point's largest |λ|. Were this a line attractor, it "
               "would stay close to 1 along all of it (dashed: |λ| = 1); red points are unstable (some mode's |λ| above "
               "1 + tolerance): states leave them.")

st.subheader("Slowest modes at the reference point")
ts = pd.DataFrame(slowest_modes(res["ref_eigvals"], N_TIMESCALES))
drawn = ts[np.isfinite(ts["tokens"])]
if not drawn.empty:
    st.altair_chart(alt.Chart(drawn).mark_bar().encode(
        x=alt.X("mode:O", title="mode a (0 = slowest)"), y=alt.Y("tokens:Q", title="tokens"),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["stable: timescale τ", "unstable: growth time"],
                                                  range=["#2b8cbe", "#d62728"])),
        tooltip=[alt.Tooltip("mode"), alt.Tooltip("kind"), alt.Tooltip("tokens:Q", format=".1f"),
                 alt.Tooltip("|λ|:Q", format=".5f")]),
        width="stretch")
if (~np.isfinite(ts["tokens"])).any():
    st.info(f"Mode(s) {', '.join(map(str, ts['mode'][~np.isfinite(ts['tokens'])]))} have |λ| = 1 exactly: an "
            "infinite timescale, not drawn.")
