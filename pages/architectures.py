"""Architectures: every RNN trained on the sidebar model's dataset side by side (paper B's universality
question), read from the stored analyses only (core.experiments.universality); nothing is computed on this page."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.api import modifiers
from core.analysis.settings import Settings
from core.analysis.views import modifier_points, shipped_stamp
from core.experiments import universality as U
from core.models.store import model_checksum
from ui.charts import attractor_frame, attractor_scatter, modifier_subspace, show_chart
from ui.engine import core_call
from ui.format import fmt
from ui.navigation import method_link
from ui.state import current


@st.cache_data(show_spinner="Reading the stored analyses...", max_entries=8, ttl=600)
def table_rows(data: str, stored: tuple) -> list[dict]:
    """core.experiments.universality.rows, recomputed when `stored` (core.analysis.views.shipped_stamp) changes."""
    return U.rows(data)


@st.cache_data(show_spinner=False, max_entries=32, ttl=600)
def attractor(path: str, checksum: str) -> dict | None:
    return U.attractor_map(path)


@st.cache_data(show_spinner=False, max_entries=32, ttl=600)
def stored_modifiers(path: str, checksum: str) -> list[dict]:
    return modifier_points(modifiers(Settings.of(path), stored_only=True))


def amplitude_tau(side: dict) -> str:
    """A position curve's fitted asymptote + amplitude (timescale) in logits ("flat" where it does not vary beyond
    its noise; τ "–" where the fit does not describe the curve)."""
    if not side["varies"]:
        return f"flat {side['asymptote']:.2f}"
    return f"{side['asymptote']:.2f}{side['amplitude']:+.2f} ({fmt(side['timescale'], '.1f') or '–'})"


def known(group: dict) -> str:
    """The known words the modifier analysis confirms, with their class."""
    return ", ".join(f"{w} ({d['class']})"
                     for w, d in group.items() if d is not None) or "none confirmed"


info, _ = current()
st.title("Architectures side by side")
data = info.get("dataset")
if not data:
    st.info(f"{info['name']} has no training dataset recorded in its metrics.json, so there is nothing to line it up "
            "with.")
    st.stop()
st.caption(f"Every RNN trained on **{data}** (the sidebar model's training set), one row each, from the analyses "
           "stored with each model (nothing is computed here). Paper B found the same line "
           "attractor in GRU, LSTM, UGRNN and vanilla RNNs trained on the same task; this page shows how far that "
           "holds here. " + method_link("fixed-points"))

res = core_call(table_rows, data, shipped_stamp(U.candidates(data)))
for r in res:
    if r["missing"]:
        st.info(f"**{r['model']}** ({r['arch']}): no stored {', '.join(r['missing'])} for these weights at the "
                f"default settings; this page does not compute them (the operator who runs the app stores them with the "
                f"command `python -m core ship {r['model']}`).")
shown = [r for r in res if "n_fixed_points" in r]
if not shown:
    st.stop()

table = pd.DataFrame([{
    "arch": r["arch"], "model": r["model"], "variant": r["variant"] or "",
    "test accuracy": r["accuracy"], "fixed (stable)": f"{r['n_fixed_points']} ({r['n_stable_fixed_points']})",
    "slow": r["n_slow_points"], "readout range": f"{r['readout_range'][0]:.2f} … {r['readout_range'][1]:.2f}",
    "attractor": r["attractor"]["attractor_kind"],
    "integration τ": fmt(r["attractor"]["integration_timescale"], ".0f") or "∞",
    "reference y": r["reference"]["readout"], "|λ₁|": r["reference"]["lambda1"],
    "stable": "yes" if r["reference"]["stable"] else "NO",
    "slowest τ": " · ".join("∞" if t is None else f"{t:.0f}" for t in r["timescales_top"][:3]),
    "modes |λ| > 0.99": r["n_marginal_modes"],
    "drift (tokens/logit)": (f"≥ {r['drift_tokens_per_logit']:.0f}" if r["drift_capped_share"] > 0.5
                             else f"{r['drift_tokens_per_logit']:.0f}"),
    "top modifiers (s, τ)": "does not apply" if "modifiers" in r.get("not_applicable", []) else ", ".join(
        f"{m['word']} {m['strength']:+.2f}, {fmt(m['timescale'], '.1f') or '–'}" for m in r.get("modifiers", [])[:3]),
    "negators": known(r["known"]["negators"]) if "known" in r else "",
    "intensifiers": known(r["known"]["intensifiers"]) if "known" in r else "",
    "begin c+a (τ)": amplitude_tau(r["position"]["begin"]) if "position" in r else "",
    "end c+a (τ)": amplitude_tau(r["position"]["end"]) if "position" in r else "",
    "gap recovered": (f"{r['gap']['gap_recovered']:.0%} [{fmt(r['gap']['gap_ci'][0], '.0%')} … "
                      f"{fmt(r['gap']['gap_ci'][1], '.0%')}]" + ("" if r["gap"]["current"] else " (earlier engine)")
                      + (" — not meaningful: RNN ≈ BoW" if r["gap"].get("gap_too_small") else "")
                      if r["gap"] else ""),
} for r in shown])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"test accuracy": st.column_config.NumberColumn(format="percent"),
                            "reference y": st.column_config.NumberColumn(format="%+.2f"),
                            "|λ₁|": st.column_config.NumberColumn(format="%.4f")})
st.caption("Attractor: what the fixed and slow points make by the Method page's rule (a line attractor only where "
           "they cover readout 0 without gaps, marginally stable, and hold the reference); integration τ: the "
           "timescale of the largest-|λ| mode at the reference, marginal modes included. "
           "Fixed and slow points at the default neutral input; the reference point h*_ref is where v0, the "
           "modifier strengths and the position curves are measured; slowest τ: the three slowest stable timescales "
           "there (tokens); drift: neutral tokens a state on the attractor needs to move one logit; modifiers: the "
           "strongest confirmed modifiers, measured on the network against ordinary words of their own valence "
           "(s = M(1) − 1, τ in tokens; τ – where the curve does not "
           "decay like an exponential, fit R² under 0.5); known negators (not, n't, "
           "never, no, nothing) and intensifiers (very, really, so, extremely, too) as the modifier analysis confirms them, "
           "listed or not (a word not named there does not stand out from ordinary words of its valence); position: c + a (τ), the asymptote c and "
           "amplitude a (logits) and timescale τ of the beginning and end curves, \"flat\" where a curve stays within "
           "its noise; gap recovered: the `full` context-augmented BoW's share of the RNN's gain "
           "over bag-of-words with its 95% interval, where a comparison is stored (\"earlier engine\": measured with an "
           "earlier engine's modifier measurements, which the operator's command `python -m core ship MODEL --compare D` "
           "measures again).")
for r in shown:
    if r["variant"]:
        st.caption(f"**{r['model']}** is a variant of its architecture: {r['variant']}.")
warned = [r for r in shown if r["warnings"]]
if warned:   # one compact line for every model's model-wide warnings, not a banner per warning
    with st.expander(f"Warnings that hold for a whole model, on {len(warned)} of the {len(shown)} models",
                     icon=":material/warning:"):
        for r in warned:
            for w in r["warnings"]:
                st.markdown(f"**{r['model']}** ({r['arch']}): {w}")
        st.caption(method_link("reference", "Why the reference point matters"))

st.subheader("Side by side")


def gap_value(r: dict) -> tuple[float | None, str | None]:
    """A row's gap recovered by `full` for the bar chart, and the note drawn instead of a bar: none where no
    comparison is stored; "not meaningful" where the RNN's gain over the bag-of-words is within its interval (the
    table says so too), since a share of a gain that may be zero can be any size (-156%, 190%...)."""
    if not r["gap"]:
        return None, None
    if r["gap"].get("gap_too_small"):
        return None, "not meaningful"
    return r["gap"]["gap_recovered"], None


metrics = pd.DataFrame([{"model": r["model"], "arch": r["arch"], "measure": name, "value": value, "note": note}
                        for r in shown for name, value, note in (
                            ("test accuracy", r["accuracy"], None),
                            ("fixed + slow points", r["n_fixed_points"] + r["n_slow_points"], None),
                            ("slowest stable τ (tokens)", r["timescales_top"][0] if r["timescales_top"] else None, None),
                            ("drift (tokens per logit)", r["drift_tokens_per_logit"], None),
                            ("modes |λ| > 0.99 at the reference", r["n_marginal_modes"], None),
                            ("gap recovered (full)", *gap_value(r)))
                        if value is not None or note is not None])
sides = alt.Chart().encode(x=alt.X("model:N", title=None, sort=[r["model"] for r in shown]))
bars = sides.transform_filter("isValid(datum.value)").mark_bar().encode(
    y=alt.Y("value:Q", title=None), color=alt.Color("arch:N", scale=alt.Scale(scheme="tableau10")),
    tooltip=[alt.Tooltip("model"), alt.Tooltip("arch"), alt.Tooltip("measure"), alt.Tooltip("value:Q", format=".4g")])
notes = sides.transform_filter("isValid(datum.note)").mark_text(angle=270, align="left", dx=4, fontSize=10,
                                                                  color="#666").encode(
    y=alt.datum(0), text=alt.Text("note:N"),
    tooltip=[alt.Tooltip("model"), alt.Tooltip("arch"), alt.Tooltip("measure"), alt.Tooltip("note")])
show_chart(alt.layer(bars, notes, data=metrics).properties(width=170, height=140).facet(
    facet=alt.Facet("measure:N", title=None), columns=3).resolve_scale(y="independent"), "architectures", metrics)
st.caption("One panel per measure, one bar per model (an empty slot: not stored, e.g. no comparison; \"not "
           "meaningful\" in place of a gap bar: the RNN's gain over the bag-of-words is within its interval, so no "
           "share of it is measured).")

paths = {m["name"]: m["path"] for m in U.candidates(data)}
for r in shown:
    path = paths[r["model"]]
    checksum = model_checksum(path)
    st.subheader(f"{r['model']} ({r['arch']})")
    left, right = st.columns(2)
    with left:
        att = attractor(path, checksum)
        pts = attractor_frame(att).assign(stability=["stable" if s else "unstable" for s in att["stable"]])
        show_chart(attractor_scatter(pts, [alt.Tooltip("kind"), alt.Tooltip("stability"),
                                          alt.Tooltip("readout:Q", format=".3f")], size=40),
                   f"attractor-{r['model']}", pts)
        st.caption("Fixed (circles) and slow (triangles) points in their first two principal components"
                   + (", each half of the LSTM's [h; c] divided by its own spread" if r["arch"] == "lstm" else "")
                   + "; the large dot ringed in black is the reference point.")
    with right:
        mods = pd.DataFrame(stored_modifiers(path, checksum))
        if "modifiers" not in r:
            st.info(f"No stored modifier analysis for {r['model']}.")
        elif len(mods) < 3:
            st.info(f"The modifier subspace needs at least 3 modifiers; {r['model']} has {len(mods)} with little "
                    "valence of its own.")
        else:
            show_chart(modifier_subspace(mods, [alt.Tooltip("word"), alt.Tooltip("class"),
                                               alt.Tooltip("strength:Q", format=".2f")], 70, 10),
                       f"modifier-subspace-{r['model']}", mods)
            st.caption("The modifiers' transient deflections in their first two principal components (paper A, "
                       "Fig. 6), coloured by class.")
