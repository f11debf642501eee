"""Modifiers: words that change the valence of what follows, their strength, timescale and subspace
(METHOD section 4, paper A)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.settings import Settings
from core.analysis.api import modifiers
from core.analysis.modifiers import FIT_MIN_R2, fitted_timescale, weak_effect_warnings
from core.analysis.views import classed_count, split_known
from ui.charts import labelled_scatter, metric_row, modifier_subspace, reference_rule, show_chart
from ui.engine import core_call, get_model, reference_warnings
from ui.format import fmt_modes
from ui.navigation import method_link
from ui.state import current

LABELLED = 12  # words named on the scatter plots (the rest in tooltips: more labels overlap)


@st.cache_data(show_spinner="Finding modifiers (shipped models with default settings: instant; otherwise about a "
                            "minute)...", max_entries=32)
def find(s: Settings, top: int, words: tuple[str, ...] | None) -> dict:
    """core.analysis.api.modifiers (cached on disk, shipped for the default setting)."""
    return modifiers(s, top=top, words=list(words) if words else None)


info, settings = current()
st.title("Modifiers: words that change how later words count")
st.caption("Modulation curve M_m(k): median ratio of a probe word's persistent valence k tokens after the "
           "modifier to its context-free valence. Strength s = M(1) - 1, timescale τ from an exponential fit, "
           "modes the modifier excites at the reference fixed point (paper A). " + method_link("modifiers"))

c1, c2 = st.columns(2)
typed = c2.text_input("Analyse specific words (comma-separated, optional)", key="words",
                      help="Compute curves for these words instead of screening the vocabulary.")
words = tuple(w.strip().lower() for w in typed.split(",") if w.strip()) or None
if words:
    words, unknown = split_known(words, get_model(settings.model, settings.checksum).vocab)
    if unknown:
        st.warning(f"Not in {info['name']}'s vocabulary, left out: {', '.join(unknown)}")
    words = words or None
top = c1.slider("Words with full curves", 10, 60, 30, key="top", disabled=words is not None,
                help="How many of the strongest screened words get full modulation curves M(1..K) "
                     "(the shipped analyses cover 30).")
res = core_call(find, settings, top, words)
mods = res["modifiers"]
reference_warnings(res["reference"]["warnings"] + ([] if words else weak_effect_warnings(res)))
sc, th = res["screen"], res["screen"]["thresholds"]
st.caption(f"Neutral input x*: **{res['neutral_input']}** · {res['n_probe']} probe valence words · "
           f"{sc['n_words']} frequent words screened · curves M(k) for k = 1..{res['K']}"
           + ("" if res["cached"] else f" · computed in {res['seconds']:.1f} s"))
metric_row(*[(f"{k}s" if k != "none" else "no effect", sc["counts"][k])
             for k in ("negator", "attenuator", "intensifier", "none")],
           ("Noise band of M(1)", f"{th['attenuator_below']:.2f} … {th['intensifier_above']:.2f}",
            {"help": f"Ordinary words' M(1) spread: median log M(1) {th['log_m1_median']:+.3f}, robust scale "
                     f"{th['log_m1_scale']:.3f}; a word is an attenuator or intensifier only beyond {th['z']:g} "
                     "robust standard deviations and with its 95% interval across probe words excluding 1; a "
                     "negator's interval lies below 0."}))
rho = res["mode_effect_spearman"]
st.caption(f"Classes count every screened word; the list below keeps the words with little valence of their own "
           f"(|v0| < {sc['valence_role_min_abs_v0']:.2f}, a typical probe's), paper A's kind of modifier. "
           f"Rank correlation of each modifier's effect timescale with the weighted timescale of the modes it "
           f"excites: **{'n/a (needs at least 3 modifiers)' if rho is None else f'{rho:.2f}'}**. Real-text check on "
           f"**{res.get('agreement_data') or 'no test set available here'}**.")
n_classed = classed_count(sc["counts"])
if words is None and len(mods) < n_classed:
    st.info(f"{n_classed} screened words change later words' valence beyond the noise band, but only {len(mods)} of "
            f"them {'has' if len(mods) == 1 else 'have'} little valence of {'its' if len(mods) == 1 else 'their'} own: "
            "the others are valence words themselves (their effect on what follows is mostly saturation of the "
            "state), so they are not listed as modifiers. Type words above to see any word's curve.")
if not mods:
    st.info("No word with little valence of its own modulates later words above the noise band of this network.")
    st.stop()

df = pd.DataFrame([{"word": m["word"], "class": m["class"], "strength": m["strength"],
                    "95% CI": f"{m['strength_ci'][0]:+.2f} … {m['strength_ci'][1]:+.2f}",
                    "timescale": fitted_timescale(m),
                    "modes τ": m["mode_timescale"], "fit_r2": m["fit_r2"],
                    "real text": m["real_text_agreement"],
                    "n (real text)": None if m["real_text"] is None else m["real_text"]["n"],
                    "v0": m["v0"], "deflection": m["deflection"],
                    "modes excited (τ)": fmt_modes(m["modes"]), "PC1": m["pc"][0], "PC2": m["pc"][1],
                    "UMAP1": m["umap"][0], "UMAP2": m["umap"][1], "cluster": str(m["cluster"])} for m in mods])
st.subheader("Modifiers, strongest first")
st.dataframe(df[["word", "class", "strength", "95% CI", "timescale", "modes τ", "fit_r2", "real text", "n (real text)",
                 "v0", "deflection", "modes excited (τ)"]],
             hide_index=True, width="stretch",
             column_config={**{c: st.column_config.NumberColumn(format="%.3f")
                               for c in ("strength", "timescale", "modes τ", "fit_r2", "v0", "deflection")},
                            "real text": st.column_config.NumberColumn(format="percent")})
st.caption("strength s = M(1) - 1 with its 95% interval across probe words; timescale: τ of the fit "
           f"M(k) - 1 ≈ s·exp(-(k-1)/τ), in tokens, with its R² (None where R² is under {FIT_MIN_R2}: that curve does "
           "not decay like an exponential, so it has no timescale); modes τ: the timescale of the modes the word "
           "excites (all modes at the reference point: the mean lifetime of their linearised effect on the next "
           "word's valence, each mode weighted by (G · r_a)(l_a · d⊥)); real text: share of test-set "
           "occurrences before a valence word where swapping the word for the neutral input changes that valence "
           "word's effect on the output the way its class predicts (empty: class none, or fewer than 5 occurrences).")
if res["saturating_valence_words"]:
    st.caption("Strong valence words that also change M(1) (by saturating the state, not by modulating; not "
               "listed above): " + ", ".join(f"{w['word']} ({w['class']}, v0 {w['v0']:+.2f})"
                                              for w in res["saturating_valence_words"]))

tip = ["word", "class", alt.Tooltip("strength:Q", format=".2f"),
       alt.Tooltip("timescale:Q", format=".1f", title="timescale (None: no exponential decay)")]
if len(df) < 3:
    st.info("The modifier subspace and the clusters need at least 3 modifiers; this network has "
            f"{len(df)} with little valence of their own.")
else:
    left, right = st.columns(2)
    with left:
        st.subheader("Modifier subspace")
        show_chart(modifier_subspace(df, tip, 80, LABELLED), "modifier-subspace",
                   df[["word", "class", "PC1", "PC2"]])
        st.caption("PCA of the transient deflections d⊥ of these modifiers (paper A, Fig. 6).")
    with right:
        st.subheader("UMAP embedding and clusters")
        clusters = alt.Color("cluster:N", scale=alt.Scale(scheme="dark2"))
        show_chart(labelled_scatter(df, "UMAP1:Q", "UMAP2:Q", clusters, tip + ["cluster"], 80, LABELLED),
                   "modifier-umap", df[["word", "class", "cluster", "UMAP1", "UMAP2"]])
        st.caption("UMAP of [normalised d⊥, M(1..K)] with agglomerative clusters"
                   + (" (fewer than 5 modifiers: core uses the PCA coordinates instead)." if len(mods) < 5 else "."))

st.subheader("Modulation curves M(k)")
# No key: a new set of modifiers (model, setting) resets the choice to its top 5.
chosen = st.multiselect("Words", list(df["word"]), default=list(df["word"][:5]))
if chosen:
    curves = pd.DataFrame([{"word": m["word"], "class": m["class"], "k": k + 1, "M": v} for m in mods if m["word"] in chosen
                           for k, v in enumerate(m["curve"])])
    show_chart(alt.Chart(curves).mark_line(point=True).encode(
        x=alt.X("k:Q", title="k (the valence word is the k-th token after the modifier)"), y=alt.Y("M:Q", title="M(k)"),
        color=alt.Color("word:N", scale=alt.Scale(scheme="dark2")), strokeDash="class:N",
        tooltip=["word", "class", "k", alt.Tooltip("M:Q", format=".3f")]) + reference_rule([0.0, 1.0]),
        "modulation-curves", curves)
    st.caption("M = 1: no effect; M < 0: the valence is flipped; 0 < M < 1 attenuated; M > 1 amplified.")
