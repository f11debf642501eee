"""Compare: two phrases read from one start, side by side (issue 18): their P(positive), their readouts and paths
on the attractor with equal tokens lined up, and what the edit changed in each aligned token's valence."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.context import ContextEngine
from core.analysis.pair import (
    compare_phrases,
    minimal_edit,
    neutral_replacement,
    replace_token,
)
from core.analysis.settings import Settings
from core.analysis.start import Start
from core.data.text import tokenize
from ui.charts import (
    attractor_background,
    downloads,
    path_background,
    prediction_metric,
    reference_rule,
    show_chart,
    start_marker,
)
from ui.engine import core_call, engine_for, reference_warnings
from ui.format import literal
from ui.navigation import method_link
from ui.state import EXACT_DEFAULT_TOKENS, bind, current, start_box, start_note, sync_url, text_box

MAX_LABELLED = 25           # tokens named on the charts per phrase (the tooltips name every one)
SIDES = alt.Scale(domain=["A", "B"], range=["#1f77b4", "#d62728"])
OPS = alt.Scale(domain=["equal", "insert", "delete", "replace"], range=["#999999", "#2ca02c", "#d62728", "#ff7f0e"])
SWAPS = {"neutral": "the neutral input", "word": "another word"}


@st.cache_data(show_spinner="Reading both phrases...", max_entries=64)
def analyse(_eng: ContextEngine, settings: Settings, a: str, b: str, start: str, exact: bool) -> dict:
    """core.analysis.pair.compare_phrases, cached per request Settings, texts, start (its spec) and exactness."""
    return compare_phrases(_eng, a, b, start=Start.parse(start), exact=exact)


def swap(text_a: str, index: int, replacement: str) -> None:
    """Button callback (runs before the page): phrase B becomes A with one token replaced."""
    st.session_state["_text2"] = replace_token(text_a, index, replacement)
    sync_url()


def aligned_label(row: dict) -> str:
    """An aligned position as the charts name it: "i: token", "i: +token" (inserted in B), "i: −token" (deleted
    from A) or "i: a→b" (replaced)."""
    tok = {"equal": row["token_a"], "insert": f"+{row['token_b']}", "delete": f"−{row['token_a']}",
           "replace": f"{row['token_a']}→{row['token_b']}"}[row["op"]]
    return f"{row['position']}: {tok}"


info, settings = current()
st.title("Compare: two phrases side by side")
st.caption("Both phrases are read from the same start; equal tokens are lined up (inserted, deleted and replaced "
           "ones in between), so a minimal edit shows what it changes in the words around it. "
           + method_link("valence"))
eng = engine_for(settings)
keep = eng.clf.config.get("truncate", "head")
ss = st.session_state
left, right = st.columns(2)
with left:
    text_a = text_box("Phrase A", keep=keep)
auto = ss.get("_text2_from")   # the phrase A that B was made from, while B is still that automatic edit
if "_text2" not in ss or (auto not in (None, text_a) and ss["_text2"] == minimal_edit(auto)):
    ss["_text2"] = minimal_edit(text_a)   # B: a one-token edit of A (the shared phrase), following A until edited
    ss["_text2_from"] = text_a
    sync_url()
with right:
    text_b = text_box("Phrase B", key="text2", keep=keep, store="_text2")

tokens_a = tokenize(text_a)
if tokens_a:
    neutral_token, neutral_label = neutral_replacement(eng)
    c = st.columns([3, 3, 3, 2], vertical_alignment="bottom")
    ss["_swap_index"] = min(ss.get("_swap_index") or 0, len(tokens_a) - 1)   # within this phrase A
    index = c[0].selectbox("Swap a token of A", range(len(tokens_a)), format_func=lambda i: f"{i}: {tokens_a[i]}",
                           **bind("swap_index", "_swap_index", 0),
                           help="Phrase B becomes phrase A with this token replaced.")
    how = c[1].radio("Replace it with", list(SWAPS), format_func=SWAPS.get, horizontal=True,
                     **bind("swap_how", "_swap_how", next(iter(SWAPS))),
                     help=f"The neutral input: {literal(neutral_label)}. It is rarely a word, so B then holds "
                          f"{neutral_token}, which the engine reads as x* itself.")
    word = c[2].text_input("Word", **bind("swap_word", "_swap_word", ""), disabled=how == "neutral")
    replacement = neutral_token if how == "neutral" else word
    c[3].button("Set B", icon=":material/swap_horiz:", on_click=swap, args=(text_a, index, replacement),
                disabled=not tokenize(replacement), key="swap_go")

start = start_box(*eng.readout_range())
n_a, n_b = len(tokens_a), len(tokenize(text_b))
if not n_a or not n_b:
    st.info("Type both phrases to compare them.")
    st.stop()
exact = st.checkbox("exact v_relax", value=max(n_a, n_b) < EXACT_DEFAULT_TOKENS,
                    help="Also compute the exact persistent valence v_relax of both phrases (slow on long texts).")
res = core_call(analyse, eng, settings, text_a, text_b, start.spec, exact)
rows = res["alignment"]
reference_warnings(res["a"]["reference"]["warnings"])

c = st.columns(4)
prediction_metric(c[0], "P(positive) A", res["p_pos"]["a"])
prediction_metric(c[1], "P(positive) B", res["p_pos"]["b"])
c[2].metric("B − A", f"{res['p_pos']['diff']:+.3f}", help=f"Readout (logit): {res['logit']['diff']:+.3f}.")
c[3].metric("Tokens changed", res["n_changed"], help="Aligned positions that are not equal in A and B.")
if any(res[s]["window"]["truncated"] for s in ("a", "b")):
    st.info("A phrase is longer than the window the analysis reads: only its analysed tokens are aligned.")
if not start.is_default:
    start_note(res["start"], "Both read")

labels = [aligned_label(r) for r in rows]
steps = pd.DataFrame([{"side": "A", "position": -1, "token": "(start)", "y": res["start"]["readout"]},
                      {"side": "B", "position": -1, "token": "(start)", "y": res["start"]["readout"]}]
                     + [{"side": side, "position": r["position"], "token": r[f"token_{s}"], "y": r[f"y_{s}"],
                         "op": r["op"]}
                        for r in rows for side, s in (("A", "a"), ("B", "b")) if r[s] is not None])
left, right = st.columns(2)
with left:
    st.subheader("Readout after each token")
    base = alt.Chart(steps).encode(
        x=alt.X("position:Q", title="aligned position (-1: the start)", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("y:Q", title="readout y(h_t)"), color=alt.Color("side:N", scale=SIDES, title="phrase"))
    tip = [alt.Tooltip("side"), alt.Tooltip("position"), alt.Tooltip("token"), alt.Tooltip("op"),
           alt.Tooltip("y:Q", format=".3f", title="readout")]
    lines = base.mark_line(point=True).encode(tooltip=tip) + base.transform_filter(
        f"datum.position < {MAX_LABELLED}").mark_text(dy=-9, fontSize=11).encode(text=alt.Text("token:N"), tooltip=tip)
    show_chart(lines + reference_rule([0]), "compare-readout", steps)
    st.caption("Equal tokens share a position; a token only one phrase has takes a position of its own (the other "
               "line steps over it). Above 0: positive. " + method_link("readout"))
with right:
    st.subheader("Both paths on the attractor")
    paths = pd.concat([pd.DataFrame(res[s]["trajectory_pc"], columns=["PC1", "PC2"]).assign(
        side=side, step=range(len(res[s]["trajectory_pc"])), token=["(start)"] + [t["token"] for t in res[s]["tokens"]])
        for side, s in (("A", "a"), ("B", "b"))])
    cloud = path_background(attractor_background(eng, settings), 0.4)
    path = alt.Chart(paths).mark_line(point=True).encode(
        x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), order=alt.Order("step:Q"), detail=alt.Detail("side:N"),
        color=alt.Color("side:N", scale=SIDES, title="phrase"),
        tooltip=[alt.Tooltip("side"), alt.Tooltip("step"), alt.Tooltip("token")])
    words = alt.Chart(paths[(paths["step"] > 0) & (paths["step"] <= MAX_LABELLED)]).mark_text(
        dx=6, dy=-6, align="left", fontSize=11).encode(x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), text=alt.Text("token:N"),
                                                        color=alt.Color("side:N", scale=SIDES, legend=None))
    show_chart(cloud + path + words + start_marker(paths), "compare-trajectory", paths)
    st.caption("Fixed and slow points (coloured by their readout) and the states each phrase visits, from the common "
               "start (◆). " + method_link("fixed-points"))

st.subheader("What the edit changed, token by token: B − A")
diffs = pd.DataFrame({"label": labels, "op": [r["op"] for r in rows], "dv": [r["dv"] for r in rows],
                      "dv_relax": [r["dv_relax"] for r in rows]})
long = diffs.melt(id_vars=["label", "op"], value_vars=["dv", "dv_relax"] if exact else ["dv"], var_name="measure",
                  value_name="difference")
bars = alt.Chart(long).mark_bar().encode(
    x=alt.X("label:N", sort=labels, title="aligned token"), xOffset=alt.XOffset("measure:N"),
    y=alt.Y("difference:Q", title="valence in B − valence in A (logit units)"),
    color=alt.Color("op:N", scale=OPS, title="alignment"),
    opacity=alt.Opacity("measure:N", scale=alt.Scale(domain=["dv", "dv_relax"], range=[1.0, 0.5]), title="measure"),
    tooltip=[alt.Tooltip("label"), alt.Tooltip("op"), alt.Tooltip("measure"),
             alt.Tooltip("difference:Q", format=".3f")])
show_chart(bars + reference_rule([0], field="difference"), "compare-valence", diffs)
st.caption("dv: the persistent valence v of the token in B minus in A; dv_relax: the same with the exact v_relax. A "
           "token only B has counts its whole valence (+), one only A has minus its valence (−). A large dv on an "
           "*equal* token means the edit changed what that word does: “good” after an inserted “not”. "
           + method_link("modulation"))

table = pd.DataFrame([{"position": r["position"], "op": r["op"], "token A": r["token_a"], "token B": r["token_b"],
                       "y A": r["y_a"], "y B": r["y_b"], "v A": r["v_a"], "v B": r["v_b"], "dv": r["dv"],
                       "v_relax A": r["v_relax_a"], "v_relax B": r["v_relax_b"], "dv_relax": r["dv_relax"]}
                      for r in rows])
for col in ("y A", "y B", "v A", "v B", "v_relax A", "v_relax B", "dv_relax"):   # gaps shown empty, not "None"
    table[col] = pd.to_numeric(table[col])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={col: st.column_config.NumberColumn(format="%.3f")
                            for col in ("y A", "y B", "v A", "v B", "dv", "v_relax A", "v_relax B", "dv_relax")})
downloads("compare-tokens", table)
