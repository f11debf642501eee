"""Modifiers: words that change the valence of what follows, their strength, timescale and subspace
(METHOD section 4, paper A)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.api import modifiers
from core.analysis.modifiers import FIT_MIN_R2, fitted_timescale, weak_effect_warnings
from core.analysis.settings import Settings
from core.analysis.views import split_known
from core.data.text import tokenize
from ui.charts import (
    labelled_scatter,
    metric_row,
    modifier_subspace,
    reference_rule,
    show_chart,
)
from ui.engine import core_call, get_model, reference_warnings
from ui.format import fmt_modes, literal
from ui.navigation import method_link
from ui.state import current

LABELLED = 12  # words named on the scatter plots (the rest in tooltips: more labels overlap)


def typed_tokens(entry: str) -> list[str]:
    """The tokens of one typed word as the model reads it (core.data.text.tokenize: "**Very**" is "*", "*",
    "very", ...; "don't" is "do", "n't"), without the punctuation around words ("**very**" looks up "very"); an
    entry of punctuation only keeps it ("?" looks up "?")."""
    tokens = tokenize(entry)
    words = [t for t in tokens if any(c.isalnum() for c in t)]
    return list(dict.fromkeys(words or tokens))


@st.cache_data(show_spinner="Finding modifiers (shipped models with default settings: instant; otherwise about a "
                            "minute)...", max_entries=32)
def find(s: Settings, top: int, words: tuple[str, ...] | None) -> dict:
    """core.analysis.api.modifiers (cached on disk, shipped for the default setting)."""
    return modifiers(s, top=top, words=list(words) if words else None)


info, settings = current()
st.title("Modifiers: words that change how later words count")
st.caption("A word modifies when it changes how much the words after it move the readout, beyond what its own "
           "valence does. M_m(k): the factor by which the word scales the persistent effect of strong valence words "
           "k tokens later, measured on the network itself from many states of real text, and judged against "
           "ordinary words of the same valence and frequency. " + method_link("modifiers"))

c1, c2 = st.columns(2)
typed = c2.text_input("Analyse specific words (comma-separated, optional)", key="words",
                      help="Measure these words exactly instead of screening the vocabulary. Each is read as the "
                           "model reads text (its tokenizer: lower case, punctuation and n't split off), and the "
                           "tokens looked up are listed.")
lookups = [(entry.strip(), typed_tokens(entry)) for entry in typed.split(",") if entry.strip()]
words = tuple(dict.fromkeys(t for _, toks in lookups for t in toks)) or None
if lookups:
    read_as = [f"{entry} → {' '.join(toks) or '(no token)'}" for entry, toks in lookups
               if list(toks) != [entry.lower()]]
    if read_as:   # shown as typed (st.text: never Markdown)
        st.caption("Read as the model's tokens:")
        st.text(" · ".join(read_as))
if words:
    words, unknown = split_known(words, get_model(settings.model, settings.checksum).vocab)
    if unknown:
        st.warning("Not in the model's vocabulary, left out:")
        st.text(", ".join(unknown))
    words = words or None
top = c1.slider("Most modifiers listed", 10, 60, 30, key="top", disabled=words is not None,
                help="How many of the confirmed modifiers get full curves M(1..K) (the shipped analyses list 30).")
res = core_call(find, settings, top, words)
mods = res["modifiers"]
exact = res.get("valence_measure") == "exact"
reference_warnings([w for w in res["reference"]["warnings"] if not (exact and "does not reach the readout" in w)]
                   + ([] if words else weak_effect_warnings(res)))
if exact:
    st.info(f"**Measured on the network throughout.** {info['name']}'s integration mode does not reach the readout "
            "at this reference (every linearised valence v0 is 0), so a word's valence here is its own effect on the "
            f"readout {res['readout_lag']} tokens later (the median document's length; nothing lasts longer in this "
            "network), the probes and matched nulls use that valence, and the screen is exact. No curve from the "
            "modes is predicted: that linearisation does not reach the readout.")
sc = res["screen"]
st.caption(f"Neutral input x*: **{literal(res['neutral_input'])}** · {res['n_probe']} probe valence words · "
           f"{sc['n_words']:,} frequent words screened at {sc['screen_states']} states · flagged words confirmed "
           f"at {sc['n_states']} states ({sc['states']}) · curves M(k) for k = 1..{res['K']}"
           + ("" if res["cached"] else f" · computed in {res['seconds']:.1f} s"))
rho_v = sc.get("v0_statistic_spearman")
metric_row(*[(f"{k}s" if k != "none" else "no effect", sc["counts"][k])
             for k in ("negator", "attenuator", "intensifier", "none")],
           ("Valence left in the statistic", "n/a" if rho_v is None else f"{rho_v:+.2f}",
            {"help": "Rank correlation, over the screened words, of a word's own valence v0 with its modifier "
                     "statistic (M(1) minus its matched null's median). Near 0: the statistic does not measure "
                     "valence."}))
st.caption(f"The screen flagged {sc['flagged']} words ({'exact' if exact else 'linear estimate'}); "
           f"{sc['measured_exact']} were measured on the "
           f"network itself and {sc['confirmed']} confirmed"
           + (f"; the other {sc['flagged'] - sc['measured_exact']} flagged words were not measured"
              if sc.get("not_measured") else "")
           + f". Real-text check on **{res.get('agreement_data') or 'no test set available here'}**.")
if not mods:
    st.info("No word modulates later words beyond ordinary words of its own valence, on the network itself.")
    st.stop()

SCREEN_COL = "exact screen M(1)" if exact else "linear M(1)"
df = pd.DataFrame([{"word": m["word"], "class": m["class"], "M(1)": m["strength"] + 1,
                    "95% CI": f"{m['strength_ci'][0] + 1:+.2f} … {m['strength_ci'][1] + 1:+.2f}",
                    "null M(1)": m["null_median"],
                    SCREEN_COL: m["strength_linear"] + 1,
                    "timescale": fitted_timescale(m),
                    "curve error": m["curve_error"], "fit_r2": m["fit_r2"],
                    "real text": m["real_text_agreement"], "base rate": m["real_text_base_rate"],
                    "n (real text)": None if m["real_text"] is None else m["real_text"]["n"],
                    "v0": m["v0"], "deflection": m["deflection"],
                    "modes excited (τ)": fmt_modes(m["modes"]), "PC1": m["pc"][0], "PC2": m["pc"][1],
                    "UMAP1": m["umap"][0], "UMAP2": m["umap"][1], "cluster": str(m["cluster"])} for m in mods])
st.subheader("Modifiers, strongest first")
st.dataframe(df[["word", "class", "M(1)", "95% CI", "null M(1)", SCREEN_COL, "timescale", "fit_r2", "curve error",
                 "real text", "base rate", "n (real text)", "v0", "modes excited (τ)"]],
             hide_index=True, width="stretch",
             column_config={**{c: st.column_config.NumberColumn(format="%.2f")
                               for c in ("M(1)", "null M(1)", SCREEN_COL, "timescale", "fit_r2", "curve error",
                                         "v0")},
                            "real text": st.column_config.NumberColumn(format="percent"),
                            "base rate": st.column_config.NumberColumn(format="percent"),
                            "modes excited (τ)": st.column_config.TextColumn(width="large")})   # in full
st.caption("M(1): the factor on the next word's effect, measured on the network with its 95% interval across "
           "starting states; null M(1): the same for ordinary words of the same valence and frequency (1 need not be "
           f"ordinary); {SCREEN_COL}: the screen's {'exact value at fewer states' if exact else 'linear estimate'}; "
           "v0: the word's own valence" + (f" (its exact effect on the readout {res['readout_lag']} tokens later)"
                                           if exact else "") + ". timescale: τ of the fit M(k) ≈ c + a·exp(-(k-1)/τ), "
           f"in tokens (None where R² is under {FIT_MIN_R2}: no exponential decay); curve error: RMS distance between "
           "the measured M(k) and the curve the modes the word excites predict (Σ c_a λ_a^(k-1) at the reference "
           "point). real text: share of test-set occurrences before a valence word where swapping the word for the "
           "neutral input changes that word's effect on the output the way its class predicts; base rate: the same "
           "check on ordinary words of the same frequency, which agree this often by chance.")
if res["saturating_valence_words"]:
    st.caption("Words that look like modifiers against the whole vocabulary but not against words of their own "
               "valence (their effect is their valence's): "
               + ", ".join(f"{literal(w['word'])} (v0 {w['v0']:+.2f})" for w in res["saturating_valence_words"]))

tip = [alt.Tooltip("word"), alt.Tooltip("class"), alt.Tooltip("M(1):Q", format=".2f"),
       alt.Tooltip("timescale:Q", format=".1f", title="timescale (None: no exponential decay)")]
if len(df) < 3:
    st.info("The modifier subspace and the clusters need at least 3 modifiers; this network has "
            f"{len(df)}.")
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
        show_chart(labelled_scatter(df, alt.X("UMAP1:Q"), alt.Y("UMAP2:Q"), clusters,
                                    tip + [alt.Tooltip("cluster")], 80, LABELLED),
                   "modifier-umap", df[["word", "class", "cluster", "UMAP1", "UMAP2"]])
        st.caption("UMAP of [normalised d⊥, M(1..K)] with agglomerative clusters"
                   + (" (fewer than 5 modifiers: core uses the PCA coordinates instead)." if len(mods) < 5 else "."))

st.subheader("Modulation curves M(k)")
# No key: a new set of modifiers (model, setting) resets the choice to its top 5.
chosen = st.multiselect("Words", list(df["word"]), default=list(df["word"][:5]))
if chosen:
    curves = pd.DataFrame([{"word": m["word"], "curve": name, "k": k + 1, "M": v} for m in mods if m["word"] in chosen
                           for name, key in (("measured", "curve"), ("predicted by its modes", "predicted_curve"))
                           for k, v in enumerate(m[key] or [])])
    show_chart(alt.Chart(curves).mark_line(point=True).encode(
        x=alt.X("k:Q", title="k (the valence word is the k-th token after the modifier)"), y=alt.Y("M:Q", title="M(k)"),
        color=alt.Color("word:N", scale=alt.Scale(scheme="dark2")), strokeDash=alt.StrokeDash("curve:N"),
        tooltip=[alt.Tooltip("word"), alt.Tooltip("curve"), alt.Tooltip("k"), alt.Tooltip("M:Q", format=".3f")])
        + reference_rule([0.0, 1.0]),
        "modulation-curves", curves)
    st.caption("Solid: M(k) measured on the network; dashed: the curve the modes the word excites predict from the "
               "linearisation at the reference point. M = 1: no effect; M < 0: the valence is flipped; 0 < M < 1 "
               "attenuated; M > 1 amplified.")
