"""BoW vs RNN: how much of the RNN's gain over a bag-of-words the modifier- and position-aware
bag-of-words recovers, per test set and variant, with bootstrap intervals, and the sweep over the
number of modifiers K (paper A's closing result)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.views import comparison_runs, stale_versions
from core.data.loaders import GENERATED, NAMED, DataError, not_here
from core.experiments.augmented_fit import TOP_MODIFIERS, FitOptions
from core.experiments.compare import compare, comparisons, missing_data
from core.models.augmented import CONTROLS, VARIANTS
from ui.charts import metric_row, reference_rule, show_chart
from ui.engine import CORE_ERRORS
from ui.format import fmt
from ui.navigation import method_link
from ui.state import current

VARIANT_HELP = {"bow": "plain bag-of-words on the RNN's tokens (the reference: 0% of the gap)",
                "mod_fixed": "+ the RNN's confirmed modifiers with their measured strength and timescale (the headline)",
                "mod_learned": "+ the same modifiers, their strength and timescale then learned",
                "position": "+ beginning/end-of-document gain only",
                "full": "+ modifiers and position, learned",
                "valence_only": "control: the same words, each with the effect its valence alone predicts",
                "shuffled": "control: the same effects on random ordinary words of similar frequency",
                "bigram": "bag of words and word pairs (a reference without the RNN's measurements)"}


@st.cache_data(show_spinner="Reading the comparisons...", max_entries=16)
def stored(path: str, checksum: str) -> list[dict]:
    """Every comparison of this RNN in the local cache or shipped with it."""
    return comparisons(path)


def test_sets(own: str | None) -> list[str]:
    """The test sets a comparison can be run on: the RNN's own first, then every other named test set and the
    generated toy test set."""
    every = [d for d in NAMED if d.endswith(":test")] + [d for d in GENERATED if d.endswith(":test")]
    return ([own] if own else []) + [d for d in every if d != own]


def summary(res: dict) -> str:
    """A comparison's result in one line (core.experiments.compare.compare): both accuracies and the gaps the
    headline variant and `full` recover, with their intervals."""
    by = {v["name"]: v for v in res["variants"]}
    ci = {name: [fmt(c, ".0%") or "–" for c in by[name]["gap_ci"]] for name in ("mod_fixed", "full") if name in by}
    gaps = "; ".join(f"{name} recovers {by[name]['gap_recovered']:.0%} of the gap [{lo}, {hi}]"
                     for name, (lo, hi) in ci.items())
    line = f"RNN {res['rnn']['accuracy']:.2%}, BoW {res['bow']['accuracy']:.2%}" + (f"; {gaps}" if gaps else "") + "."
    if res.get("gap_too_small"):
        line += " The RNN's gain over the bag-of-words is within its interval: the gaps are not meaningful."
    return line


info, settings = current()
st.title("Bag-of-words vs RNN")
st.caption("A bag-of-words model counts each word the same wherever it stands; the RNN does not. Extending the "
           "bag-of-words with the RNN's measured modifiers (how 'not' or 'very' change the next words) and position "
           "effects should recover most of the RNN's advantage: gap recovered = (variant − BoW) / (RNN − BoW). "
           + method_link("bow"))

runs = stored(settings.model, settings.checksum)
# An earlier engine's comparison has no controls: it is still shown, marked as measured with earlier analyses.
full, sweep = comparison_runs(runs, tuple(v for v in VARIANTS if v not in CONTROLS), TOP_MODIFIERS)

if not full:
    st.info(f"No comparison of {info['name']} is stored yet. Run one under *Run a comparison* below (it needs the "
            f"model's training set and a test set on this machine), or ask the operator who runs the app to store "
            f"one (operator command: `python -m core ship {info['name']} --compare <test set>`).")
for r in sorted(full, key=lambda r: r["data"]):
    st.subheader(f"{r['data']}: {r['n']:,} texts")
    diff = r["rnn_bow_diff"]
    metric_row(("RNN accuracy", f"{r['rnn']['accuracy']:.2%}"), ("BoW accuracy", f"{r['bow']['accuracy']:.2%}"),
               ("RNN − BoW", f"{diff['value']:+.2%}",
                {"help": f"95% bootstrap interval {diff['ci'][0]:+.2%} … {diff['ci'][1]:+.2%}",
                 "delta_arrow": "off"}))
    stale = stale_versions(r["settings"])
    if stale:
        st.info(f"Measured with earlier versions of the analyses (solver v{stale['solver']}, modifiers "
                f"v{stale['modifiers']}, comparison v{stale['compare'] or 1}; now v{stale['solver_now']}, "
                f"v{stale['modifiers_now']}, v{stale['compare_now']}): the bag-of-words models were built from the "
                "modifiers and position effects measured then (before the comparison used only confirmed modifiers, "
                "and without its controls). 'Run a comparison' below remeasures it (needs the dataset).")
    if r.get("gap_too_small"):
        st.warning("The RNN's gain over the bag-of-words is within its own bootstrap interval: the gaps recovered "
                   "below are not meaningful on this test set.")
    head = r.get("headline")
    if head:
        by = {v["name"]: v for v in r["variants"]}
        if not head["modifiers"]:
            st.markdown(f"**{info['name']} has no confirmed modifier**, so the measured mechanism adds nothing to the "
                        "bag-of-words here: the modifier variants are the bag-of-words.")
        else:
            beyond = head["beyond"]
            line = (f"**The {len(head['modifiers'])} confirmed modifiers, as measured, recover "
                    f"{head['gap_recovered']:.0%}** of the gap (95% interval {head['gap_ci'][0]:.0%} … "
                    f"{head['gap_ci'][1]:.0%}).")
            if set(CONTROLS) <= set(by):
                line += (" Controls built the same way: the effects their valence alone predicts recover "
                         f"{by['valence_only']['gap_recovered']:.0%}, the same effects on random words "
                         f"{by['shuffled']['gap_recovered']:.0%}.")
            st.markdown(line)
            if beyond:
                st.caption("Beyond the controls (paired bootstrap, 95%): "
                           + "; ".join(f"{b['value']:+.0%} [{b['ci'][0]:+.0%}, {b['ci'][1]:+.0%}] over {name}"
                                       for name, b in beyond.items())
                           + ".")
            st.text("Confirmed modifiers used: " + ", ".join(head["modifiers"]))   # vocabulary tokens, shown literally
    ranked = bool(stale) and (stale["compare"] or 1) < 2    # before v2: the K strongest of a linear ranking
    what = dict(VARIANT_HELP, mod_fixed="+ the K strongest modifiers of a linear ranking (mostly their own valence), "
                                        "as measured then") if ranked else VARIANT_HELP
    df = pd.DataFrame([{"variant": v["name"], "what": what.get(v["name"], ""), "accuracy": v["accuracy"],
                        "gap recovered": v["gap_recovered"], "low": v["gap_ci"][0], "high": v["gap_ci"][1]}
                       for v in r["variants"]])
    base = alt.Chart(df).encode(y=alt.Y("variant:N", sort=list(df["variant"]), title=None))
    chart = (base.mark_rule().encode(x=alt.X("low:Q", title="gap recovered (95% bootstrap interval)",
                                             axis=alt.Axis(format="%")), x2=alt.X2("high:Q"))
             + base.mark_point(filled=True, size=80).encode(
                 x=alt.X("gap recovered:Q"),
                 tooltip=[alt.Tooltip("variant"), alt.Tooltip("what"), alt.Tooltip("accuracy:Q", format=".2%"),
                          alt.Tooltip("gap recovered:Q", format=".1%"), alt.Tooltip("low:Q", format=".0%"),
                          alt.Tooltip("high:Q", format=".0%")])
             + reference_rule([0.0, 1.0], field="x", channel="x", color="#999"))
    show_chart(chart, f"gap-{r['data'].replace(':', '-')}", df)
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.NumberColumn(format="percent"),
                                "gap recovered": st.column_config.NumberColumn(format="percent"),
                                "low": st.column_config.NumberColumn("95% low", format="percent"),
                                "high": st.column_config.NumberColumn("95% high", format="percent")})
    st.caption((f"K = {r['settings']['top']:,} modifiers of a linear ranking" if ranked else
                f"At most K = {r['settings']['top']:,} confirmed modifiers") + "; dashed lines: the BoW (0%) and the RNN (100%). The "
               "intervals are wide when the RNN's gain is small: read them before the point estimates. The BoW here is "
               "the comparison's own `bow` variant, fitted on exactly the tokens the RNN reads (its window) with C "
               "chosen by dev log-loss, so its accuracy can differ a little from a shipped bag-of-words model's.")

    ks = [s for s in sweep if s["data"] == r["data"]]
    if len({s["settings"]["top"] for s in ks}) > 1:
        rows = [{"K": s["settings"]["top"], "variant": v["name"], "gap recovered": v["gap_recovered"],
                 "low": v["gap_ci"][0], "high": v["gap_ci"][1], "accuracy": v["accuracy"]}
                for s in ks for v in s["variants"] if v["name"] in ("mod_fixed", "full")]
        kdf = pd.DataFrame(rows).sort_values(["variant", "K"])
        st.markdown("**How many modifiers does it take?** (the K strongest confirmed ones)")
        kb = alt.Chart(kdf).encode(x=alt.X("K:Q", scale=alt.Scale(type="log"), title="number of modifiers K"),
                                   color=alt.Color("variant:N", scale=alt.Scale(scheme="dark2")))
        kchart = (kb.mark_line(point=True).encode(y=alt.Y("gap recovered:Q", axis=alt.Axis(format="%")),
                                                  tooltip=[alt.Tooltip("K"), alt.Tooltip("variant"),
                                                           alt.Tooltip("gap recovered:Q", format=".1%"),
                                                           alt.Tooltip("accuracy:Q", format=".2%")])
                  + kb.mark_errorbar().encode(y=alt.Y("low:Q"), y2=alt.Y2("high:Q")))
        show_chart(kchart, f"k-sweep-{r['data'].replace(':', '-')}", kdf)

# What the last click on Run did, kept across the rerun that shows its result (a success or a reason).
flash = st.session_state.pop("_cmp_flash", None)
with st.expander("Run a comparison", expanded=flash is not None or not full):
    st.caption("Fits every bag-of-words variant on the RNN's training set (cached), then scores the chosen test set: "
               "minutes on a laptop, longer on IMDB. It needs the model's training set and the test set on this "
               "machine; a comparison that is already stored is shown at once, with no data.")
    if flash:
        getattr(st, flash[0])(flash[1])
    options = test_sets(info.get("test_dataset"))
    c1, c2 = st.columns([2, 1])
    data = c1.selectbox("Test set", options, key=f"cmp_data::{info['name']}",
                        format_func=lambda d: d + (" (the model's own)" if d == info.get("test_dataset") else ""))
    top = c2.number_input("Modifiers K (at most, of the confirmed ones)", 1, TOP_MODIFIERS, TOP_MODIFIERS, 1,
                          key="cmp_top", help=f"The confirmed modifiers of the RNN's analysis, strongest first; it "
                                              f"lists at most {TOP_MODIFIERS}.")
    missing = missing_data(settings, data)
    if missing:
        st.caption(f":material/info: {not_here(missing, settings.data_root)} Run shows the comparison only if it "
                   "is already stored.")
    if st.button("Run", key="cmp_run", type="primary"):
        failed = None
        with st.status(f"Comparing on {data}...", expanded=True) as status:
            try:
                res = compare(settings, data, FitOptions(top=int(top)), log=status.write)
                status.update(label="Loaded the stored comparison" if res["cached"] else "Done", state="complete",
                              expanded=False)
            except DataError as e:
                status.update(label="Cannot run", state="error", expanded=False)
                # In the app's words: the loaders' own message speaks to the command line.
                failed = (f"This comparison of {info['name']} on {data} (K = {int(top)}) is not stored, and "
                          + (not_here(missing, settings.data_root) if missing else f"its data cannot be read: {e}"))
            except CORE_ERRORS as e:
                status.update(label="Failed", state="error", expanded=False)
                failed = str(e)
        if failed:
            st.error(failed)   # outside the status box, so the reason shows without opening it
            st.stop()
        what = f"{info['name']} on {data} with K = {int(top)}"
        st.session_state["_cmp_flash"] = ("success", (f"This comparison ({what}) is stored: loaded, not measured "
                                                      "again. " if res["cached"] else f"Compared {what}. ")
                                          + summary(res))
        stored.clear()
        st.rerun()
