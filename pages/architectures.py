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
from core.experiments.seeds import seed_groups, spread_text
from core.models.store import model_checksum
from ui.charts import attractor_frame, attractor_scatter, class_color, modifier_subspace, show_chart
from ui.engine import core_call
from ui.format import fmt, literal
from ui.navigation import method_link
from ui.state import current


@st.cache_data(show_spinner="Reading the stored analyses...", max_entries=8, ttl=600)
def table_rows(data: str, stored: tuple) -> list[dict]:
    """core.experiments.universality.rows, recomputed when `stored` (core.analysis.views.shipped_stamp) changes."""
    return U.rows(data)


@st.cache_data(show_spinner="Reading every seed's stored analyses...", max_entries=8, ttl=600)
def seed_rows(base: str, stored: tuple) -> dict:
    """core.experiments.universality.seed_view, recomputed when `stored` changes."""
    return U.seed_view(base)


@st.cache_data(show_spinner="Reading the stored analyses...", max_entries=4, ttl=600)
def pretraining(stored: tuple) -> list[dict]:
    """core.experiments.universality.pretraining_comparisons, recomputed when `stored` changes."""
    return U.pretraining_comparisons()


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

all_groups = seed_groups()
res = core_call(table_rows, data, shipped_stamp(U.candidates(data)
                                               + [m for group in all_groups.values() for m in group]))
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
    "test accuracy": r["accuracy"], "over seeds": spread_text(r["seeds"], ".1%") or "one seed",
    "fixed (stable)": f"{r['n_fixed_points']} ({r['n_stable_fixed_points']})",
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
st.caption("Over seeds: the test accuracy's mean ± standard deviation (min–max) over the network trained with the "
           "same command in several seeds, where it was (the row is the first seed's; *Seeds* below reads each). "
           "Attractor: what the fixed and slow points make by the Method page's rule (a line attractor only where "
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


def seed_range(r: dict, name: str) -> dict:
    """The lowest and highest test accuracy over seeds for the accuracy bar of a network trained in several."""
    sp = r.get("seeds")
    if name != "test accuracy" or not sp or sp["n"] < 2:
        return {"low": None, "high": None}
    return {"low": sp["min"], "high": sp["max"]}


metrics = pd.DataFrame([{"model": r["model"], "arch": r["arch"], "measure": name, "value": value, "note": note,
                         **seed_range(r, name)}
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
ranges = sides.transform_filter("isValid(datum.low)").mark_rule(color="black", strokeWidth=2).encode(
    y=alt.Y("low:Q"), y2=alt.Y2("high:Q"),
    tooltip=[alt.Tooltip("model"), alt.Tooltip("low:Q", title="lowest seed", format=".2%"),
             alt.Tooltip("high:Q", title="highest seed", format=".2%")])
show_chart(alt.layer(bars, ranges, notes, data=metrics).properties(width=170, height=140).facet(
    facet=alt.Facet("measure:N", title=None), columns=3).resolve_scale(y="independent"), "architectures", metrics)
st.caption("One panel per measure, one bar per model (a black line on an accuracy bar: the lowest to highest test "
           "accuracy over the network's seeds; an empty slot: not stored, e.g. no comparison; \"not "
           "meaningful\" in place of a gap bar: the RNN's gain over the bag-of-words is within its interval, so no "
           "share of it is measured).")

groups = {base: group for base, group in all_groups.items() if base in {r["model"] for r in shown}}
if groups:
    st.subheader("Seeds")
    st.caption("The same network trained with the same command in several random seeds. A modifier, timescale or "
               "attractor shape found in one seed and not in the next says little about the task (Maheswaranathan "
               "et al. 2019, *Universality and individuality in neural dynamics*). " + method_link("fixed-points"))
for base, group in groups.items():
    view = core_call(seed_rows, base, shipped_stamp(group))
    acc = view["accuracy"]
    over = spread_text(acc, ".2%")
    st.markdown(f"**{base}**, test accuracy " + (f"over {over}" if over else "not recorded") + ".")
    missing = [r for r in view["rows"] if r["missing"]]
    for r in missing:
        st.info(f"**{r['model']}**: no stored {', '.join(r['missing'])}; this page does not compute them (the "
                f"operator stores them with `python -m core ship {r['model']}`).")
    st.dataframe(pd.DataFrame([{
        "seed": r["seed"], "model": r["model"], "test accuracy": r["accuracy"],
        "attractor": r["attractor"]["attractor_kind"] if "attractor" in r else "",
        "integration τ": (fmt(r["attractor"]["integration_timescale"], ".0f") or "∞") if "attractor" in r else "",
        "largest gap (logits)": fmt(r["attractor"]["largest_readout_gap"], ".2f") if "attractor" in r else "",
        "fixed (stable)": f"{r['n_fixed_points']} ({r['n_stable_fixed_points']})" if "n_fixed_points" in r else "",
        "slow": r.get("n_slow_points"), "reference y": r["reference"]["readout"] if "reference" in r else None,
        "modifiers confirmed": r.get("n_confirmed") if "listed" in r else None,
        "negators": known(r["known"]["negators"]) if "known" in r else "",
        "intensifiers": known(r["known"]["intensifiers"]) if "known" in r else "",
        "begin c+a (τ)": amplitude_tau(r["position"]["begin"]) if "position" in r else "",
        "end c+a (τ)": amplitude_tau(r["position"]["end"]) if "position" in r else "",
    } for r in view["rows"]]), hide_index=True, width="stretch",
        column_config={"test accuracy": st.column_config.NumberColumn(format="percent"),
                       "reference y": st.column_config.NumberColumn(format="%+.2f")})
    cols = st.columns(len(group))
    for col, m, r in zip(cols, group, view["rows"]):
        with col:
            att = attractor(m["path"], model_checksum(m["path"]))
            if att is None:
                st.caption(f"{m['name']}: no stored dynamics.")
                continue
            pts = attractor_frame(att).assign(stability=["stable" if x else "unstable" for x in att["stable"]])
            show_chart(attractor_scatter(pts, [alt.Tooltip("kind"), alt.Tooltip("stability"),
                                              alt.Tooltip("readout:Q", format=".3f")], size=25)
                       .properties(title=f"seed {m['seed']}: {r['attractor']['attractor_kind']}" if "attractor" in r
                                   else f"seed {m['seed']}"), f"seed-attractor-{m['name']}", pts)
    st.caption("Each seed's fixed (circles) and slow (triangles) points in their own first two principal components, "
               "coloured by readout; the ringed dot is the reference point.")
    rec = view["recurring"]
    if len(view["read"]) < 2:
        st.markdown(f"Which modifiers recur needs two seeds with a stored modifier analysis; {len(view['read'])} of "
                    f"{len(group)} have one.")
    else:
        st.markdown(f"Confirmed as a modifier in every seed read ({len(view['read'])} of {len(group)}): "
                    + (", ".join(literal(m["word"]) + ("" if m["same_class"] else " (class differs)")
                                 for m in rec) or "**none**") + ".")
    shared = [m for m in view["modifiers"] if len(m["classes"]) >= 2]
    alone = len(view["modifiers"]) - len(shared)
    grid = pd.DataFrame([{"word": m["word"], "model": model, "class": cls, "seeds": len(m["classes"])}
                         for m in shared for model, cls in m["classes"].items()])
    if len(grid):
        words = [m["word"] for m in shared]
        show_chart(alt.Chart(grid).mark_rect().encode(
            x=alt.X("model:N", title=None, sort=[r["model"] for r in view["rows"]]),
            y=alt.Y("word:N", title=None, sort=words, axis=alt.Axis(labelOverlap=False, labelLimit=160)),
            color=class_color(),
            tooltip=[alt.Tooltip("word"), alt.Tooltip("model"), alt.Tooltip("class"),
                     alt.Tooltip("seeds:Q", title="seeds listing it")]
        ).properties(height=alt.Step(20)), f"seed-modifiers-{base}", grid)
        st.caption(f"The words at least two seeds list as confirmed modifiers (rows, most seeds first), by seed "
                   f"(columns), coloured by their class there; an empty cell: that seed does not list the word. {alone} "
                   f"more words are listed by one seed only (`python -m core universality --seeds {base}` lists every "
                   "seed's). A seed lists its strongest confirmed modifiers (at most 30) and every known negator and "
                   "intensifier it confirms, so a weaker word confirmed beyond the 30 shows as an empty cell.")
    else:
        st.markdown(f"No word is listed as a confirmed modifier by two or more seeds ({alone} by one seed each).")

compared = [c for c in core_call(pretraining, shipped_stamp([m for g in all_groups.values() for m in g]
                                                             + U.candidates(data)))
            if c["model"] in {r["model"] for r in shown}]
for c in compared:
    st.subheader(f"What pretraining changed: {c['model']}")
    st.caption(f"{c['model']} is {c['base']}'s command, {c['variant']}; each figure beside the same figure in every "
               f"seed of {c['base']} trained from scratch. Inside the seeds' range: no change the seeds can show. "
               "Outside it: a hint, not a finding, since even with no effect one more run of the same training lands "
               "outside the range of n seeds 2/(n + 1) of the time (half the time for three).")
    st.dataframe(pd.DataFrame([{"figure": x["figure"],
                                **{f"{m['model']} (seed {m['seed']})": U.format_figure(x["figure"], v)
                                   for m, v in zip(c["seeds"], x["seeds"])},
                                c["model"]: U.format_figure(x["figure"], x["value"]), "against the seeds": x["verdict"]}
                               for x in c["figures"]]), hide_index=True, width="stretch")
    st.markdown(U.verdict_text(c))

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
