"""Start: type a phrase and see the RNN, a plain bag-of-words and the context-augmented bag-of-words
read it side by side."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.store import ModelError, list_models, model_checksum, pairing
from core.text import tokenize
from pages import current, get_model, label, method_link, prediction_metric, set_text, show_chart, text_box

PRESETS = {
    "negation": "The acting was not good, and the plot was not very interesting either.",
    "double negative": "It is not a bad film at all.",
    "intensifier": "A very, very good movie.",
    "contrast": "The first half is dull, but the ending is wonderful and moving.",
    "late twist": "Beautiful cast, great score, lovely sets, and yet the whole thing is boring.",
    "never": "I have never seen a film this funny.",
}
ROLES = {"rnn": "RNN", "bow": "Plain bag-of-words", "aug": "Context-augmented bag-of-words"}

info, _, _ = current()
st.title("How does a recurrent network read a sentence?")
st.caption("Type a phrase, or pick an example, and compare the recurrent network's reading, token by token, with a "
           "plain bag-of-words (every word counts the same wherever it stands) and with a bag-of-words that also "
           "knows the RNN's modifier words and position effects (Maheswaranathan & Sussillo, ICML 2020).")

preset = st.pills("Examples", list(PRESETS), key="preset", help="Put an example phrase in the text box.")
if preset and st.session_state.get("_preset_done") != preset:
    st.session_state["_preset_done"] = preset
    set_text(PRESETS[preset])
elif not preset:
    st.session_state["_preset_done"] = None
text = text_box("Phrase", keep=info.get("truncate") or "head")
if not tokenize(text):
    st.info("Type some text to see how the models read it.")
    st.stop()

models = list_models()
pair = pairing(info["name"], models)
by_kind = lambda kinds: [m["name"] for m in models if m["kind"] in kinds]
with st.expander("Which bag-of-words models", expanded=False):
    st.caption(f"By default {info['name']} is compared with the plain bag-of-words trained on its own dataset "
               f"({info['dataset'] or 'not recorded'}) and with the augmented bag-of-words built from its measured "
               "modifiers and position effects. A model from another dataset answers a different question.")
    c1, c2 = st.columns(2)
    choices = {}
    for col, role, kinds in ((c1, "bow", ("bow", "bigram")), (c2, "aug", ("augmented",))):
        names = ["(none)"] + by_kind(kinds)
        default = pair[role] if pair[role] in names else "(none)"
        wkey = f"pair::{info['name']}::{role}"
        if wkey not in st.session_state:
            st.session_state[wkey] = default
        choices[role] = col.selectbox(ROLES[role], names, key=wkey)

cols = st.columns(3, border=True)
entries = [("rnn", info["name"])] + [(r, None if choices[r] == "(none)" else choices[r]) for r in ("bow", "aug")]
for col, (role, name) in zip(cols, entries):
    col.subheader(ROLES[role])
    if name is None:
        col.info(f"No plain bag-of-words trained on {info['name']}'s dataset ({info['dataset']}). Train one with "
                 "`python -m core train --arch bow ...` (README)." if role == "bow" else
                 f"No context-augmented bag-of-words built from {info['name']}'s own modifiers and position effects "
                 f"(it is specific to one RNN). Build one with `python -m core train-augmented --rnn {info['name']} "
                 "--name ...`, or pick another under *Which bag-of-words models*.")
        continue
    path = next(m["path"] for m in models if m["name"] == name)
    try:
        model = get_model(path, model_checksum(path))
    except ModelError as e:
        col.error(f"Cannot load {name}: {e}")
        continue
    meta = next(m for m in models if m["name"] == name)
    col.caption(label(meta))
    p = float(model.predict_proba([text])[0])
    prediction_metric(col, "P(positive)", p)
    unknown = sorted({t for t in tokenize(text) if t not in model.vocab})
    if unknown:
        col.caption(f"Not in this model's vocabulary (read as <unk>): {', '.join(unknown[:20])}")
    if model.kind == "rnn":
        toks, logits = model.trajectory(text)
        df = pd.DataFrame({"index": range(len(toks)), "token": toks, "readout": logits.numpy()})
        df["label"] = [f"{i}: {t}" for i, t in zip(df["index"], toks)]
        chart = alt.Chart(df).mark_line(point=True).encode(
            x=alt.X("label:N", title="token", sort=list(df["label"])), y=alt.Y("readout:Q", title="readout y(h_t)"),
            tooltip=["token", alt.Tooltip("readout:Q", format=".3f", title="readout after this token")]) + \
            alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
        show_chart(chart, f"{name}-readout", df[["index", "token", "readout"]], where=col)
        col.caption("The RNN's readout after each token (above 0: positive); it reads in order, so a word's effect "
                    "depends on what came before. " + method_link("readout"))
    else:
        toks, contrib, bias = model.token_contributions(text)
        df = pd.DataFrame({"index": range(len(toks)), "token": toks, "contribution": contrib})
        df["label"] = [f"{i}: {t}" for i, t in zip(df["index"], toks)]
        chart = alt.Chart(df).mark_bar().encode(
            x=alt.X("label:N", title="token", sort=list(df["label"])), y=alt.Y("contribution:Q", title="contribution to the logit"),
            color=alt.condition("datum.contribution > 0", alt.value("#2b8cbe"), alt.value("#e34a33")),
            tooltip=["token", alt.Tooltip("contribution:Q", format=".3f")])
        show_chart(chart, f"{name}-contributions", df[["index", "token", "contribution"]], where=col)
        what = ("each word's weight β[w] scaled by the modifiers before it and by its position, f_t·g(t)"
                if model.kind == "augmented" else "each word's weight β[w], the same wherever it stands")
        col.caption(f"Contributions: {what}; logit = bias ({bias:+.3f}) + their sum. " + method_link("bow"))

st.page_link("pages/phrase.py", label="See the RNN's reading token by token (Phrase)", icon=":material/arrow_forward:")
