"""Teach: a guided tour on the toy language, where the right answers are known, then the same questions on a real
network. Every number comes live from the engine (toy-gru and its shipped analyses)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.api import modifiers
from core.analysis.attractor import attractor_figures
from core.analysis.context import M_BAND, ContextEngine
from core.analysis.dynamics import dynamics_of
from core.analysis.settings import Settings
from core.analysis.start import Start
from core.analysis.views import (
    ABOUT_ONE,
    AMPLIFIED,
    ATTENUATED,
    DRAWN_CELLS,
    FLIPPED,
    agrees,
    attractor_points,
    flip_reach,
    modulation_class,
    toy_rule_factor,
    trajectory,
)
from core.data import toy
from core.data.text import tokenize
from core.models.store import list_models
from ui.charts import (
    attractor_cloud,
    attractor_frame,
    metric_row,
    reference_rule,
    spaced_labels,
)
from ui.engine import core_call, get_engine, reference_warnings
from ui.format import fmt_m, literal
from ui.navigation import method_link
from ui.state import DEFAULT_SEEDS, current, set_start, set_text

TOY = "toy-gru"
STEPS = ("1 · The toy language", "2 · The line attractor", "3 · good vs not good", "4 · good vs very good",
         "5 · 'not' fades", "6 · A real network")
MAX_DISTANCE = 8        # step 5: "not" up to this many tokens before "good"
N_EXAMPLES = 6          # step 1: generated example sentences
AGREE = 0.5             # step 6: v and v_relax "agree" when of one sign and within this share of |v_relax|
TRACE_DEFAULT = "good awesome good the the awful bad awful"
OPENINGS = {"glowing": "awesome good awesome", "scathing": "awful bad awful"}   # step 2: read before the same words
AFTER_OPENING = "not good"                                                     # step 2: the same words
READING = {None: "has too little valence here for m to mean anything (below the valence threshold)",
           FLIPPED: "is **flipped**: it now pushes the score towards negative", ATTENUATED: "is **weakened**",
           AMPLIFIED: "is **amplified**", ABOUT_ONE: "counts **about as much as on its own**"}
NUM = {c: st.column_config.NumberColumn(format="%.3f") for c in ("readout y", "v", "v_relax", "v0", "m")}


# ---- engine and analyses ------------------------------------------------------------------------
def model_engine(name: str) -> tuple[ContextEngine, str]:
    """(engine, checksum) of a shipped RNN at its default neutral input and the shipped number of seeds."""
    path = next((m["path"] for m in list_models() if m["name"] == name), None)
    if path is None:
        st.error(f"The model {name!r} is not in models/: this tour needs it.")
        st.stop()
    s = core_call(Settings.of, path, n_seeds=DEFAULT_SEEDS)
    return core_call(get_engine, s), s.checksum


@st.cache_data(show_spinner=False, max_entries=16)
def attractor_of(_eng: ContextEngine, checksum: str) -> dict:
    """The attractor figures and verdict of a shipped RNN at its default settings (cached per weights)."""
    s = Settings.of(_eng.clf.path, n_seeds=DEFAULT_SEEDS)
    return attractor_figures(dynamics_of(_eng.clf, s), _eng.clf)


@st.cache_data(show_spinner=False, max_entries=256)
def analyse(_eng: ContextEngine, name: str, checksum: str, text: str, start: str = "default") -> dict:
    """ContextEngine.phrase with the exact v_relax, cached per model content, text and start (its spec)."""
    return _eng.phrase(text, exact=True, start=Start.parse(start))


def phrase(eng: ContextEngine, name: str, checksum: str, text: str, start: Start | None = None) -> dict:
    """The per-token analysis of a text (read from `start`; None: the model's h0), errors shown on the page."""
    return core_call(analyse, eng, name, checksum, text, (start or Start()).spec)


def last_m(res: dict) -> float | None:
    """Modulation m of a phrase's last token (None below the valence threshold)."""
    return res["tokens"][-1]["m"]


def agrees_last(res: dict) -> bool:
    """Whether a phrase's last token has its linear v and exact v_relax of one sign and within AGREE x |v_relax|."""
    tok = res["tokens"][-1]
    return agrees(tok["v"], tok["v_relax"], AGREE)


def verdict(p: float) -> str:
    """The class a P(positive) predicts."""
    return "positive" if p > 0.5 else "negative"


def reading(m: float | None) -> str:
    """A plain description of a modulation value."""
    return READING[modulation_class(m)]


def token_table(results: dict[str, dict]) -> pd.DataFrame:
    """One row per token of each analysed phrase, with the start state as token 0."""
    rows = []
    for text, res in results.items():
        first = res["tokens"][0]
        rows.append({"phrase": text, "position": 0, "token": "(start)", "readout y": first["y"] - first["dy"],
                     "v": None, "v_relax": None, "v0": None, "m": None})
        rows += [{"phrase": text, "position": t["index"] + 1, "token": t["token"], "readout y": t["y"], "v": t["v"],
                  "v_relax": t["v_relax"], "v0": t["v0"], "m": t["m"]} for t in res["tokens"]]
    return pd.DataFrame(rows)


def readout_chart(df: pd.DataFrame) -> alt.Chart:
    """Readout after each token, one line per phrase, tokens written at the points."""
    base = alt.Chart(df).encode(x=alt.X("position:O", title="tokens read", axis=alt.Axis(labelAngle=0)),
                                y=alt.Y("readout y:Q", title="readout y"),
                                color=alt.Color("phrase:N", scale=alt.Scale(scheme="set1"),
                                                legend=alt.Legend(orient="bottom")))
    return (reference_rule([0.0], color="#888") + base.mark_line(point=True)
            + base.mark_text(dy=-12, fontSize=14).encode(
                text=alt.Text("token:N"),
                tooltip=[alt.Tooltip("phrase"), alt.Tooltip("token"), alt.Tooltip("readout y")]))


# ---- navigation ---------------------------------------------------------------------------------
def choose(model: str, text: str, start: Start | None = None) -> None:
    """Button callback (runs before the sidebar is drawn): choose the model in the sidebar, set the phrase and
    where it is read from (the tour's phrases: the model's start unless a step says otherwise)."""
    st.session_state["_rnn"] = model
    st.session_state["model"] = model
    set_start(start or Start())
    set_text(text)


def phrase_button(text: str, key: str, model: str = TOY, start: Start | None = None,
                  label: str = "Open in Phrase") -> None:
    """'Open in Phrase': the Phrase page on this text and model, read from `start` (None: the model's h0)."""
    if st.button(label, key=key, icon=":material/open_in_new:", on_click=choose, args=(model, text, start),
                 help=f"Analyse “{literal(text)}” with {model} on the Phrase page, token by token."):
        st.switch_page("pages/phrase.py")


def go(delta: int) -> None:
    """Previous / Next button callback."""
    i = STEPS.index(st.session_state["teach_step"]) + delta
    st.session_state["teach_step"] = STEPS[min(max(i, 0), len(STEPS) - 1)]


# ---- the steps ----------------------------------------------------------------------------------
def step_grammar(eng: ContextEngine) -> None:
    """Step 1: the rules of the toy language, generated sentences and the network's answers."""
    st.subheader("A language where we know the right answers")
    st.markdown(
        "Real reviews are messy, so we start with a made-up language whose rules we wrote ourselves. A small "
        f"recurrent network ({TOY}) learned to label its sentences. Because we know the rules, we can check whether "
        "what we find inside the network is right.")
    valence = ", ".join(f"**{w}** ({v:+d})" for w, v in toy.VALENCE.items())
    st.markdown(
        f"- **Noise words** carry no sentiment: {', '.join(toy.NOISE)}.\n"
        f"- **Sentiment words** carry a score: {valence}.\n"
        f"- **not** flips the sign of every sentiment word among the next {toy.NOT_SPAN} tokens.\n"
        "- **very** doubles the word right after it.\n"
        "- A sentence is **positive** when its total (after the flips and doublings) is above 0, negative below.")
    ss = st.session_state
    ss.setdefault("teach_seed", 0)
    row = st.container(horizontal=True, vertical_alignment="center")   # the button as wide as its label
    row.markdown("**Some sentences of the language**, with the rules' answer and the network's:", width="stretch")
    if row.button("New examples", key="teach_new", icon=":material/refresh:"):
        ss["teach_seed"] += 1
    ex = toy.generate(N_EXAMPLES, seed=ss["teach_seed"], min_len=4, max_len=10, p_valence=0.35, p_modifier=0.25)
    p = eng.clf.predict_proba(ex.texts).tolist()
    st.dataframe(pd.DataFrame({
        "sentence": ex.texts, "total by the rules": [toy.score(t.split()) for t in ex.texts],
        "label": ["positive" if y else "negative" for y in ex.labels], "network's P(positive)": p,
        "network right?": ["yes" if (q > 0.5) == bool(y) else "no" for q, y in zip(p, ex.labels)]}),
        hide_index=True, width="stretch",
        column_config={"network's P(positive)": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                format="%.2f")})
    own = st.text_input("Write your own sentence in the toy language", "not very bad", key="teach_own")
    tokens = tokenize(own)
    unknown = sorted({w for w in tokens if w not in toy.VOCAB})
    if not tokens:
        st.info("Type a few words of the toy language.")
        return
    if unknown:
        st.warning(f"Not words of the toy language: {literal(', '.join(unknown))} (the network reads them as "
                   "unknown).")
    c = st.columns(3)
    total = toy.score(tokens)
    c[0].metric("Total by the rules", f"{total:+g}", "positive" if total > 0 else "negative" if total < 0 else "tie",
                delta_color="off")
    c[1].metric("Network's P(positive)", f"{float(eng.clf.predict_proba([own])[0]):.3f}")
    with c[2]:
        phrase_button(own, "teach_open_1")


def step_attractor(eng: ContextEngine, checksum: str) -> None:
    """Step 2: the fixed and slow points on their first two principal components, a sentence's path, and the
    same words read after a glowing and after a scathing opening."""
    s = eng.summary
    st.subheader("The network's memory is a line")
    st.markdown(
        "While it reads, the network keeps its 'running score' in its internal state (here "
        f"{eng.points.shape[1]} numbers). We look for **resting states**: states that a neutral word leaves unchanged. "
        "Below, each dot is one resting state, squashed from its many numbers onto the two directions where the dots "
        "spread most, and coloured by the score the network would output there. They lie along one **line** (bent "
        "on this flat picture): positive words move the state one way along it, negative words the other way, "
        "neutral words leave it in place. That line is the network's memory of the sentiment so far (a *line "
        "attractor*).")
    st.caption(method_link("fixed-points", "More on fixed points and the line attractor") + " · "
               + method_link("linearisation", "timescales"))
    reference_warnings(eng.reference()["warnings"])
    trace = st.text_input("Follow a sentence along the line", TRACE_DEFAULT, key="teach_trace")
    attractor = attractor_points(eng, cells=DRAWN_CELLS)   # the engine's attractor plane, overlaps drawn once
    xy, r = attractor["pc"], attractor["reference"]
    layers = attractor_cloud(attractor_frame(attractor), 30, 0.7, "readout y")
    ref = pd.DataFrame({"PC1": [xy[r, 0]], "PC2": [xy[r, 1]], "label": ["reference point"]})
    layers += alt.Chart(ref).mark_point(shape="diamond", size=300, color="black", strokeWidth=3).encode(
        x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), tooltip=[alt.Tooltip("label")])
    tokens = tokenize(trace)
    if tokens:
        visited = trajectory(eng, tokens)
        txy = visited["pc"]
        path = pd.DataFrame({"PC1": txy[:, 0], "PC2": txy[:, 1], "step": range(len(txy)), "token": visited["token"],
                             "readout": visited["readout"]})
        base = alt.Chart(path).encode(x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), order=alt.Order("step:Q"))
        tip = [alt.Tooltip("step"), alt.Tooltip("token"), alt.Tooltip("readout:Q", format=".2f")]
        layers += base.mark_line(color="#444", strokeWidth=1.5, point=True).encode(tooltip=tip)
        # Named where no earlier name is (a word that leaves the state in place would pile its name on the last).
        extent = ((min(xy[:, 0].min(), txy[:, 0].min()), max(xy[:, 0].max(), txy[:, 0].max())),
                  (min(xy[:, 1].min(), txy[:, 1].min()), max(xy[:, 1].max(), txy[:, 1].max())))
        named = path[spaced_labels(path["PC1"], path["PC2"], list(path["token"]), extent, height=420, font=13,
                                   dx=0, dy=-10, align="center")]
        layers += alt.Chart(named).mark_text(dy=-10, fontSize=13).encode(
            x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), text=alt.Text("token:N"), tooltip=tip)
    st.altair_chart(layers.properties(height=420), width="stretch")
    st.caption("Dots: resting states (fixed and slow points) on their first two principal components. Diamond: the "
               "reference point, the 'no opinion yet' state where the score is closest to 0. Grey line: the state "
               "after each word of the sentence above; each word knocks the state a little off the line, and it "
               "settles back over the next words.")
    tau = s["timescales_top"][0] if s["timescales_top"] else None
    lo, hi = s["attractor_readout_range"]
    metric_row(("Resting states (fixed + slow)", f"{s['n_fixed_points']} + {s['n_slow_points']}"),
               ("Scores along the line", f"{lo:+.1f} … {hi:+.1f}"),
               ("Slowest timescale (tokens)", "∞" if tau is None else f"{tau:.0f}",
                {"help": "How long the memory lasts: after this many neutral words, about 37% of a push along the "
                         "slowest direction is left."}),
               ("Typical sentence (tokens)", f"{s['median_doc_tokens']:.0f}"))
    st.markdown(
        "The slowest timescale is how many neutral words it takes the network to forget about two thirds of what it "
        "stored; compare it with the length of a typical sentence"
        + (": here the memory easily outlasts the sentence." if tau is None or tau > s["median_doc_tokens"]
           else ": here the memory fades within a sentence."))
    phrase_button(trace, "teach_open_2")
    step_openings(eng, checksum)


def step_openings(eng: ContextEngine, checksum: str) -> None:
    """Step 2, continued: the same words read from the model's start and after two openings (Start "after")."""
    st.markdown("#### The same words after different openings")
    st.markdown(
        f"The line also carries what came *before*. Read the same words, “{AFTER_OPENING}”, from three places: the "
        f"network's own start, the state after a glowing opening (“{OPENINGS['glowing']}”) and after a scathing one "
        f"(“{OPENINGS['scathing']}”).")
    starts = {"the network's start": Start()} | {f"after “{t}”": Start("after", t) for t in OPENINGS.values()}
    res = {label: phrase(eng, TOY, checksum, AFTER_OPENING, start) for label, start in starts.items()}
    rows = [{"read from": label, "score at the start": r["start"]["readout"], f"score after “{AFTER_OPENING}”": r["logit"],
             "change": r["change"], "P(positive)": r["p_pos"]} for label, r in res.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%+.2f") for c in rows[0] if c != "read from"})
    own, glow, scathe = (verdict(r["p_pos"]) for r in res.values())
    changes = [abs(row["change"]) for row in rows]
    st.markdown(
        f"What to notice: the same words end **{glow}** after the glowing opening and **{scathe}** after the "
        f"scathing one ({own} from the network's start). The state on the line is the opinion "
        "so far, and new words only move it from there"
        + (": far out on the line they move it less than near the start (compare the *change* column), so a strong "
           "opening is hard to overturn." if max(changes[1:]) < changes[0] else " (compare the *change* column).")
        + " " + method_link("fixed-points", "More on the line attractor"))
    c = st.columns(2)
    for col, (name, text) in zip(c, OPENINGS.items()):
        with col:
            phrase_button(AFTER_OPENING, f"teach_open_2_{name}", start=Start("after", text),
                          label=f"Open in Phrase after the {name} opening")


def step_compare(eng: ContextEngine, checksum: str, modifier: str, step: int) -> None:
    """Steps 3 and 4: 'good' on its own and after a modifier."""
    alone, modified = "good", f"{modifier} good"
    res = {t: phrase(eng, TOY, checksum, t) for t in (alone, modified)}
    m_alone, m_mod = last_m(res[alone]), last_m(res[modified])
    if modifier == "not":
        st.subheader("“good” and “not good”")
        st.markdown(
            "Take one positive word and put *not* in front of it. We measure how much “good” counts in each case "
            "with the **modulation m**: how much the word moves the lasting part of the score here, divided by how "
            "much it moves it with no context. m = 1: unchanged; m > 1: amplified; between 0 and 1: weakened; "
            "**m < 0: flipped**.")
    else:
        st.subheader("“good” and “very good”")
        st.markdown(
            "Now put *very* in front. The rules say *very* doubles the next word, so “good” should count more: "
            "**m > 1**. *very* itself carries no sentiment; it only changes how the next word counts.")
    st.caption(method_link("modulation", "More on the modulation m") + " · "
               + method_link("valence", "and on the valence v behind it"))
    metric_row((f"P(positive) “{alone}”", f"{res[alone]['p_pos']:.3f}"),
               (f"P(positive) “{modified}”", f"{res[modified]['p_pos']:.3f}"),
               (f"m of “good” after “{modifier}”", fmt_m(m_mod),
                {"help": "Modulation m = v / v0 of the last token (the exact formula is on the Method page)."}),
               (f"v of “{modifier}” itself", f"{res[modified]['tokens'][0]['v']:+.2f}",
                {"help": "The lasting push of the modifier on its own (logit units): small for a pure modifier."}))
    rule = toy_rule_factor(modified)
    close = m_mod is not None and abs(m_mod - rule) <= M_BAND
    st.markdown(
        f"In “{modified}”, “good” {reading(m_mod)} (m = {fmt_m(m_mod)}). The rules multiply it by {rule:+g}; the "
        + ("network's m is close to that." if close else "network learned its own version of the rule, not an exact "
           "copy.")
        + f" On its own, “good” has m = {fmt_m(m_alone)}"
        + (", about 1, as it should without context." if m_alone is not None and abs(m_alone - 1) <= M_BAND else
           ": the first word of a text starts from the network's initial state, not from the neutral point, so even "
           "without context m is not exactly 1."))
    df = token_table(res)
    st.altair_chart(readout_chart(df), width="stretch")
    st.dataframe(df[df["position"] > 0].drop(columns="position"), hide_index=True, width="stretch",
                 column_config=NUM)
    st.caption("readout y: the score after each token (above 0 = positive). v: lasting push of the token (linear "
               "estimate), v_relax: the same measured exactly by letting the network run on neutral words, v0: the "
               "word's push with no context, m = v / v0.")
    phrase_button(modified, f"teach_open_{step}")


def step_fades(eng: ContextEngine, checksum: str) -> None:
    """Step 5: m of "good" as "not" moves away from it, beside the rules and the modulation curve M(k)."""
    st.subheader("The effect of “not” fades")
    st.markdown(
        f"The rules say *not* reaches only the next {toy.NOT_SPAN} tokens. Put more and more noise words between "
        "*not* and *good*: does the network forget the *not*, and when?")
    st.caption(method_link("modifiers", "More on modifiers, their strength and timescale") + " · "
               + method_link("deflection", "where the network keeps the 'not'"))
    filler = st.selectbox("Noise word in between", toy.NOISE, index=toy.NOISE.index("the"), key="teach_filler")
    texts = [" ".join(["not"] + [filler] * (d - 1) + ["good"]) for d in range(1, MAX_DISTANCE + 1)]
    bar = st.progress(0.0, text="Analysing the phrases...")
    res = []
    for i, t in enumerate(texts):
        res.append(phrase(eng, TOY, checksum, t))
        bar.progress((i + 1) / len(texts), text=f"Analysing “{t}”")
    bar.empty()
    rows = [{"distance": d, "phrase": t, "network (m)": last_m(r), "rules": toy_rule_factor(t)}
            for d, (t, r) in enumerate(zip(texts, res), start=1)]
    df = pd.DataFrame(rows)
    with st.spinner("Loading the modifier analysis..."):
        mods = core_call(modifiers, Settings.of(eng.clf.path, n_seeds=DEFAULT_SEEDS))
    not_mod = next((m for m in mods["modifiers"] if m["word"] == "not"), None)
    long = df.melt(id_vars=["distance", "phrase"], value_vars=["network (m)", "rules"], var_name="source",
                   value_name="effect")
    if not_mod is not None:
        curve = not_mod["curve"][:MAX_DISTANCE]
        long = pd.concat([long, pd.DataFrame({"distance": range(1, len(curve) + 1), "phrase": "",
                                              "source": "M(k), neutral steps", "effect": curve})])
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("distance:O", title="tokens from “not” to “good”", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("effect:Q", title="how “good” counts (1 = as on its own)"),
        color=alt.Color("source:N", legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("source:N", legend=None),
        tooltip=[alt.Tooltip("source"), alt.Tooltip("distance"), alt.Tooltip("phrase"),
                 alt.Tooltip("effect:Q", format=".2f")])
    st.altair_chart(reference_rule([0.0, 1.0], field="effect", dash=(2, 2), color="#aaa") + chart, width="stretch")
    reach = flip_reach([row["distance"] for row in rows], [row["network (m)"] for row in rows])
    metric_row(("Rules: 'not' reaches", f"{toy.NOT_SPAN} tokens"),
               ("Network: 'good' still flipped up to", f"{reach} tokens"),
               *([] if not_mod is None else [(
                   "Fitted timescale of “not”", f"{not_mod['timescale']:.1f} tokens",
                   {"help": f"From the modulation curve M(k) (strength s = {not_mod['strength']:+.2f}); the modes it "
                            + (f"excites decay in about {not_mod['mode_timescale']:.1f} tokens."
                               if not_mod["mode_timescale"] is not None else "excites have no single timescale.")})]))
    if reach == toy.NOT_SPAN:
        verdict = "keeps the flip for exactly as many tokens as the rules say"
    elif reach < toy.NOT_SPAN:
        verdict = f"forgets the *not* sooner than the rules say ({reach} instead of {toy.NOT_SPAN} tokens)"
    else:
        verdict = f"keeps the flip longer than the rules say ({reach} instead of {toy.NOT_SPAN} tokens)"
    st.markdown(
        f"With “{filler}” in between, the network {verdict}. It keeps the *not* in fast-decaying directions of its "
        "state, off the line of resting states, and the flip weakens as they decay. **M(k)** is the same "
        "measurement averaged over many sentiment words, with neutral steps instead of a noise word; its fitted "
        "timescale summarises how many tokens the effect lasts.")
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%+.2f") for c in ("network (m)", "rules")})
    phrase_button(texts[toy.NOT_SPAN - 1], "teach_open_5")


def step_real(toy_eng: ContextEngine, toy_checksum: str) -> None:
    """Step 6: m of "good" alone, after "not" and after "very" on a shipped real RNN, beside the toy's."""
    st.subheader("The same questions on a real network")
    real = [m for m in list_models() if m["kind"] == "rnn" and m["name"] != TOY]
    if not real:
        st.info("No other RNN is in models/.")
        return
    names = [m["name"] for m in real]
    if st.session_state.get("teach_real") not in names:   # start on the sidebar's model when it is a real one
        side = st.session_state.get("_rnn")
        st.session_state["teach_real"] = side if side in names else names[0]
    name = st.selectbox("Real network", names, key="teach_real",
                        format_func=lambda n: next(f"{n} (trained on {m['dataset']})" for m in real if m["name"] == n))
    eng, checksum = model_engine(name)
    texts = ("good", "not good", "very good")
    with st.spinner(f"Analysing the phrases with {name}..."):
        res = {t: phrase(eng, name, checksum, t) for t in texts}
    toy_res = {t: phrase(toy_eng, TOY, toy_checksum, t) for t in texts}
    reference_warnings(eng.reference()["warnings"])
    metric_row(*[(f"m of “good” in “{t}”", fmt_m(last_m(res[t])), {"help": f"On {TOY}: {fmt_m(last_m(toy_res[t]))}"})
                 for t in texts])

    st.dataframe(pd.DataFrame([{
        "phrase": t, f"P(positive), {name}": res[t]["p_pos"], f"m, {name}": last_m(res[t]),
        f"m, {TOY}": last_m(toy_res[t]), "v": res[t]["tokens"][-1]["v"], "v_relax": res[t]["tokens"][-1]["v_relax"],
        "v0": res[t]["tokens"][-1]["v0"], "linear and exact agree": "yes" if agrees_last(res[t]) else "no"} for t in texts]),
        hide_index=True, width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f")
                       for c in (f"P(positive), {name}", f"m, {name}", f"m, {TOY}", "v", "v_relax", "v0")})
    st.caption("The m, v, v_relax and v0 columns are for “good” (the last word). 'Linear and exact agree': v and "
               "v_relax have one sign and "
               f"differ by at most {AGREE:.0%}. " + method_link("reference", "Why the reference point matters") + " · "
               + method_link("valence", "v and v_relax"))
    st.markdown(
        f"On {name}, after “not”, “good” {reading(last_m(res['not good']))}; after “very”, it "
        f"{reading(last_m(res['very good']))}. Compare with “good” as the first word "
        f"(m = {fmt_m(last_m(res['good']))}, {fmt_m(last_m(toy_res['good']))} on the toy): "
        "in both networks a text's first word starts from the initial state, not from the neutral point, so even "
        "it need not count exactly as its context-free valence.")
    off = [t for t in texts if not agrees_last(res[t])]
    if off:
        st.info(f"In {', '.join(f'“{t}”' for t in off)}, the linear estimate v of “good” and the exact v_relax "
                f"disagree on {name}: m, built on v, is unreliable there; compare the v_relax column instead.")
    att = core_call(attractor_of, eng, checksum)
    st.markdown(
        f"Real networks are messier than the toy. The toy's resting states form a line; {name}'s, measured by the "
        f"same rule, form: **{att['attractor_kind']}** ({att['attractor_why']}). "
        + method_link("attractor-figures", "The rule") + "\n\n"
        "Their neutral 'no opinion' point may sit away from a score of 0, "
        "which squeezes every measurement; the quick linear estimate v and the exact v_relax can disagree (then "
        "trust v_relax, and m less); and a word like “very” may change little. Look for the same *patterns* — m "
        "below 1 or below 0 after negations, above 1 after intensifiers — rather than the toy's clean numbers. The "
        "**Modifiers** page screens a real network's whole vocabulary for such words, with their strength, timescale "
        "and a check on real reviews.")
    c = st.columns(2)
    with c[0]:
        phrase_button("not good", "teach_open_6", model=name)
    with c[1]:
        if st.button("Open Modifiers", key="teach_modifiers", icon=":material/tune:", on_click=choose,
                     args=(name, "not good"), help=f"The Modifiers page on {name}."):
            st.switch_page("pages/modifiers.py")


# ---- page ---------------------------------------------------------------------------------------
current()   # the shared sidebar and URL, as on every page
st.title("Teach: how a network reads “not good”")
st.markdown(
    "A guided tour in six steps. We first open up a small network trained on a made-up language whose rules we "
    "know, then ask the same questions of a network trained on real movie reviews. Every number below is computed "
    "live. " + method_link("readout", "What the numbers mean (Method page)"))
ss = st.session_state
if "teach_step" not in ss:
    ss["teach_step"] = ss.get("_teach_step", STEPS[0])
step = st.radio("Step", STEPS, key="teach_step", horizontal=True, label_visibility="collapsed")
ss["_teach_step"] = step
toy_eng, toy_checksum = model_engine(TOY)
i = STEPS.index(step)
st.progress((i + 1) / len(STEPS), text=f"Step {i + 1} of {len(STEPS)}")
if i == 0:
    step_grammar(toy_eng)
elif i == 1:
    step_attractor(toy_eng, toy_checksum)
elif i in (2, 3):
    step_compare(toy_eng, toy_checksum, "not" if i == 2 else "very", i + 1)
elif i == 4:
    step_fades(toy_eng, toy_checksum)
else:
    step_real(toy_eng, toy_checksum)
st.divider()
nav = st.container(horizontal=True)   # each button as wide as its label (narrow columns cut "Previous")
nav.button("Previous", key="teach_prev", icon=":material/arrow_back:", on_click=go, args=(-1,), disabled=i == 0)
nav.button("Next", key="teach_next", icon=":material/arrow_forward:", on_click=go, args=(1,),
           disabled=i == len(STEPS) - 1)
