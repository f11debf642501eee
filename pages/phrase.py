"""Phrase: per-token valence, contextual modulation, deflection, the trajectory on the attractor and
mode ablation (paper A's per-token analysis)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.context import ContextEngine
from core.analysis.settings import Settings
from core.analysis.start import Start
from core.analysis.views import MODULATION_COLORS, modulation_class
from core.data.text import tokenize
from ui.charts import (
    LABEL_LIMIT,
    attractor_background,
    downloads,
    path_background,
    prediction_metric,
    reference_rule,
    show_chart,
    start_marker,
    spaced_labels,
    token_axis,
)
from ui.engine import core_call, engine_for, reference_warnings
from ui.format import fmt_modes, literal
from ui.navigation import method_link
from ui.report import report_button
from ui.state import EXACT_DEFAULT_TOKENS, current, pasted_text, start_box, start_note, text_box

MAX_LABELLED = 25   # tokens named on the attractor chart (more labels pile up; the tooltips name every one)
SIDE_BY_SIDE = 24   # token charts two abreast up to this many tokens, full width beyond (every token named)
HELP = {"dy": "Change of the readout y caused by this token (y after minus y before).",
        "v": "Persistent valence: how much this token moves the readout for good, along the attractor "
             "(linearised at the nearest fixed point).",
        "v_relax": "The exact persistent valence: run the network on with neutral inputs after the token, with and "
                   "without it, and compare the readouts. Should agree with v.",
        "v0": "Context-free valence: the token's persistent valence from the reference point, with no context.",
        "m": "Contextual modulation m = v / v0: 1 means context changes nothing, below 0 flips the word, between 0 and "
             "1 weakens it, above 1 strengthens it. Empty where |v0| is too small for a ratio.",
        "deflection": "Distance of the state from the attractor after this token: modifiers push the state off it.",
        "v ≈ v_relax": "✓ where the linearised v agrees with the exact v_relax (within half of it), ✗ where it does "
                       "not: there v and m are unreliable. Empty when v_relax is off.",
        "top modes": "Slow eigenmodes the state excites (mode 0 is the slowest), with their timescale in tokens."}


@st.cache_data(show_spinner="Analysing the phrase...", max_entries=64)
def analyse(_eng: ContextEngine, settings: Settings, text: str, exact: bool,
            ablate_after: int | None = None, modes: tuple[int, ...] | str | None = None, start: str = "default") -> dict:
    """ContextEngine.phrase, cached per request Settings (model and setting) and arguments (the start as its
    spec string, core.analysis.start.Start.spec)."""
    return _eng.phrase(text, ablate_after=ablate_after, modes=list(modes) if isinstance(modes, tuple) else modes,
                       exact=exact, start=Start.parse(start))


info, settings = current()
st.title("Phrase: how each token moves the readout")
st.caption("Persistent valence v, context-free valence v0, modulation m = v / v0 and deflection off the attractor "
           "(its fixed and slow points), token by token (Maheswaranathan & Sussillo, ICML 2020). "
           + method_link("valence"))

eng = engine_for(settings)
st.sidebar.caption(f"Neutral input x*: **{literal(eng.neutral)}** (every F(h, x*) and neutral step uses it). Valence "
                   f"threshold for m: {eng.valence_threshold:.3g}. v_relax relaxes {eng.relax_steps} neutral steps. "
                   f"Reference point h*_ref ({eng.summary['reference_kind']}): readout "
                   f"{eng.summary['reference_readout']:+.2f}, |λ₁| {eng.summary['lambda1_reference']:.4f}.")

text = text_box("Phrase", keep=eng.clf.config.get("truncate", "head"))
start = start_box(*eng.readout_range())
n_tokens = len(tokenize(text))
if not n_tokens:
    st.info("Type a phrase to see its token-by-token analysis.")
    st.stop()
exact = st.checkbox("exact v_relax", value=n_tokens < EXACT_DEFAULT_TOKENS,  # no key: the default follows the length
                    help="Also compute the exact persistent valence v_relax (relaxing both branches with neutral "
                         "steps): slow on long texts, so off by default from 60 tokens.")
res = core_call(analyse, eng, settings, text, exact, start=start.spec)
toks = res["tokens"]
reference_warnings(res["reference"]["warnings"])
coverage = eng.coverage(res, pasted_text())   # is P the model's prediction for the whole text as pasted?
if coverage:
    st.info(coverage)
n_off = sum(t["linear_ok"] is False for t in toks)
if n_off:
    st.warning(f"On {n_off} of {len(toks)} tokens the linearised valence v disagrees with the exact v_relax (by more "
               "than half): v, and m = v / v0 built on it, are unreliable there (marked ✗ in the table); v_relax is "
               "the measurement to read. " + method_link("valence", "Why this happens"))

c1, c2, c3 = st.columns(3)
prediction_metric(c1, "P(positive)", res["p_pos"], help="The RNN's probability that the text is positive.")
c2.metric("Readout logit y(h_T)", f"{res['logit']:.3f}")
c3.metric("Tokens", len(toks))
report_button(eng, settings, text, res)
unknown = sorted({t["token"] for t in toks if not t["known"]})
if unknown:
    st.caption(f"Not in the vocabulary (read as {literal('<unk>')}): {literal(', '.join(unknown[:20]))}")
if not start.is_default:
    start_note(res["start"], "Read")

df = pd.DataFrame([{**{k: t[k] for k in ("index", "token", "y", "dy", "v", "v_relax", "v0", "m", "deflection")},
                    "v ≈ v_relax": {None: "", True: "✓", False: "✗"}[t["linear_ok"]],
                    "label": f"{t['index']}: {t['token']}", "modulation": modulation_class(t["m"]),
                    "top modes": fmt_modes(t["modes"])} for t in toks])
for col in ("v_relax", "m"):   # numbers with gaps, shown empty rather than "None"
    df[col] = pd.to_numeric(df[col])
x = token_axis(df)

left, right = st.columns(2) if len(toks) <= SIDE_BY_SIDE else (st.container(), st.container())
with left:
    st.subheader("Readout after each token")
    line = alt.Chart(df).mark_line(point=True).encode(
        x=x, y=alt.Y("y:Q", title="readout y(h_t)"),
        tooltip=[alt.Tooltip("index"), alt.Tooltip("token"), alt.Tooltip("y:Q", format=".3f", title="readout y"),
                 alt.Tooltip("dy:Q", format=".3f", title="change dy")])
    show_chart(line + reference_rule([0]), "readout", df[["index", "token", "y", "dy"]])
    st.caption("Above 0: positive. " + method_link("readout"))
with right:
    st.subheader("The phrase on the attractor")
    pts = attractor_background(eng, settings)
    traj = pd.DataFrame(res["trajectory_pc"], columns=["PC1", "PC2"]).assign(
        step=range(len(res["trajectory_pc"])), token=["(start)"] + [t["token"] for t in toks],
        y=[None] + list(df["y"]))
    att = path_background(pts, 0.5)
    path = alt.Chart(traj).mark_line(color="black", point=alt.OverlayMarkDef(color="black", size=30)).encode(
        x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), order=alt.Order("step:Q"),
        tooltip=[alt.Tooltip("step"), alt.Tooltip("token"), alt.Tooltip("y:Q", format=".3f", title="readout after it")])
    # Numbered names, only where they do not overlap one before (a phrase that stays put names its first token
    # there, not a pile); every token is in the tooltips.
    traj["name"] = [f"{i - 1}: {t}" if i else t for i, t in enumerate(traj["token"])]
    named = traj.iloc[1:][spaced_labels(traj["PC1"][1:], traj["PC2"][1:], list(traj["name"][1:]),
                                        extent=((min(pts["PC1"].min(), traj["PC1"].min()),
                                                 max(pts["PC1"].max(), traj["PC1"].max())),
                                                (min(pts["PC2"].min(), traj["PC2"].min()),
                                                 max(pts["PC2"].max(), traj["PC2"].max()))))].iloc[:MAX_LABELLED]
    words = alt.Chart(named).mark_text(dx=6, dy=-6, align="left", fontSize=11).encode(
        x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), text=alt.Text("name:N"),
        tooltip=[alt.Tooltip("step"), alt.Tooltip("token")])
    traj_chart = att + path + words
    if not start.is_default:   # where the reading starts
        traj_chart += start_marker(traj)
    show_chart(traj_chart, "trajectory", traj)
    st.caption("Fixed and slow points (coloured by their readout; points on top of one another drawn once) in their "
               "first two principal components, and the "
               "states this phrase visits (black). Valence words move the state along the attractor; modifiers push "
               "it off for a few tokens. Tokens are numbered as in the table; one whose point lies where an earlier "
               "one is named is left unnamed (its tooltip names it). " + method_link("fixed-points"))

st.subheader("Persistent valence v and context-free v0")
long = df.melt(id_vars=["label", "token"], value_vars=["v", "v0"], var_name="valence", value_name="value")
valence_chart = alt.Chart(long).mark_bar().encode(
    x=x, xOffset=alt.XOffset("valence:N"), y=alt.Y("value:Q", title="valence (logit units)"),
    color=alt.Color("valence:N", scale=alt.Scale(domain=["v", "v0"], range=["#2b8cbe", "#bbbbbb"]),
                    legend=alt.Legend(orient="top", title=None, labelExpr="datum.label == 'v' ? 'v (in context)' : 'v0 (no context)'")),
    tooltip=[alt.Tooltip("label"), alt.Tooltip("valence"), alt.Tooltip("value:Q", format=".3f")])
show_chart(valence_chart, "valence", long)
st.caption("v: what the token adds to the final readout in this context; v0: what it adds on its own. "
           + method_link("valence"))

left, right = st.columns(2) if len(toks) <= SIDE_BY_SIDE else (st.container(), st.container())
with left:
    st.subheader("Contextual modulation m = v / v0")
    dm = df.dropna(subset=["m"])
    if dm.empty:
        st.info("No token has |v0| above the valence threshold: m is not defined here.")
    else:
        bars = alt.Chart(dm).mark_bar().encode(
            x=x, y=alt.Y("m:Q", title="m"),
            color=alt.Color("modulation:N", scale=alt.Scale(domain=list(MODULATION_COLORS), range=list(MODULATION_COLORS.values())),
                            legend=alt.Legend(orient="bottom", columns=1, labelLimit=LABEL_LIMIT)),   # in full
            tooltip=[alt.Tooltip("label"), alt.Tooltip("m:Q", format=".3f"), alt.Tooltip("modulation")])
        show_chart(bars + reference_rule([1], field="m"), "modulation", dm[["index", "token", "m", "modulation"]])
        st.caption("Shown only where |v0| is above the valence threshold (otherwise the ratio is noise). "
                   + method_link("modulation"))
with right:
    st.subheader("Deflection off the attractor ||h_t - h*(h_t)||")
    show_chart(alt.Chart(df).mark_bar(color="#756bb1").encode(
        x=x, y=alt.Y("deflection:Q", title="deflection"),
        tooltip=[alt.Tooltip("label"), alt.Tooltip("deflection:Q", format=".3f"), alt.Tooltip("top modes")]),
        "deflection",
        df[["index", "token", "deflection", "top modes"]])
    st.caption("How far the token pushes the state off the attractor. " + method_link("deflection"))

st.subheader("Per token")
table = df[["index", "token", "dy", "v", "v_relax", "v ≈ v_relax", "v0", "m", "deflection", "top modes"]]
st.dataframe(table, hide_index=True, width="stretch",
             column_config={**{c: st.column_config.NumberColumn(format="%.3f", help=HELP[c])
                               for c in ("dy", "v", "v_relax", "v0", "m", "deflection")},
                            "v ≈ v_relax": st.column_config.TextColumn(help=HELP["v ≈ v_relax"]),
                            "top modes": st.column_config.TextColumn(help=HELP["top modes"], width="large")})
downloads("phrase-tokens", table)
st.caption("top modes: slow eigenmodes a at the nearest fixed point with the largest |c_a| = |l_a · (h_t - h*)|, "
           "as 'a (τ timescale in tokens, |c|)'; mode 0 is the slowest, τ ∞ means |λ| = 1; an unstable mode "
           "(|λ| > 1) shows its growth time instead."
           + ("" if exact else " v_relax is off (tick 'exact v_relax' to compute it)."))

with st.expander("Mode ablation"):
    st.caption("Right after the chosen token, remove the state's components along some slow modes at the "
               "nearest fixed point h* (h -= r_a (l_a · (h - h*)); complex-conjugate partners go too) and run "
               "the rest of the phrase. Mode 0 (the slowest) is the integration mode at most points (it is tracked "
               "along the attractor, so at a few it is the next one): removing it also moves the state along the "
               "attractor to h*.")
    after = st.selectbox("Ablate after token", range(len(toks)), format_func=lambda i: df["label"][i], key="after")
    how = st.radio("Modes to remove", ["excited", "chosen"], horizontal=True, key="how",
                   help="excited: the modes this token excites (amplitude ≥ half the largest).")
    n_modes = int(eng.points.shape[1])   # every eigenmode at h* (the excited ones can be any of them)
    chosen = st.multiselect(f"Mode indices (0 = slowest, up to {n_modes - 1})", range(n_modes), default=[0],
                            key="modes", disabled=how == "excited")
    modes = "excited" if how == "excited" else tuple(chosen)
    if not st.toggle("Run the ablation", key="ablate_on", help="Off until asked: the eigenmodes at a new fixed point "
                                                               "take a moment the first time."):
        pass
    elif not modes:
        st.info("Choose at least one mode to remove.")
    else:
        abl = core_call(analyse, eng, settings, text, False, after, modes, start.spec)["ablation"]
        a1, a2, a3 = st.columns(3)
        a1.metric("P(positive) before", f"{res['p_pos']:.3f}")
        a2.metric("P(positive) after ablation", f"{abl['p_pos']:.3f}", f"{abl['p_pos'] - res['p_pos']:+.3f}",
                  delta_color="off")
        a3.metric("Modes removed", len(abl["modes"]), help="Mode indices: " + (", ".join(map(str, abl["modes"])) or "none"))
        st.caption("Modes removed (0 = slowest): " + (", ".join(map(str, abl["modes"])) or "none"))
        both = pd.concat([df.assign(run="original")[["label", "y", "run"]],
                          df.assign(run="ablated", y=abl["y"])[["label", "y", "run"]]])
        st.altair_chart(alt.Chart(both).mark_line(point=True).encode(
            x=x, y=alt.Y("y:Q", title="readout y(h_t)"), color=alt.Color("run:N"), strokeDash=alt.StrokeDash("run:N"),
            tooltip=[alt.Tooltip("label"), alt.Tooltip("run"), alt.Tooltip("y:Q", format=".3f")]), width="stretch")
