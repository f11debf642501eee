"""Streamlit entry page: pick a shipped model, type a phrase, see how the RNN and bag-of-words read it."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.store import ModelError, list_models, load_model, model_checksum
from core.text import tokenize

MAX_CHARS = 20000

st.set_page_config(page_title="Sentiment RNN explorer", layout="wide")


@st.cache_resource(show_spinner="Loading model...")
def get_model(path: str, checksum: str):
    """One loaded model per folder and content (checksum keys the cache, so retrained weights reload)."""
    return load_model(path)


def pick(models: list[dict], label: str, kinds: tuple[str, ...]):
    """A sidebar choice among the models of these kinds, in the given order; the first is the default."""
    options = [m for m in models if m["kind"] in kinds]
    if not options:
        return None
    names = [m["name"] for m in options]
    fmt = {m["name"]: f"{m['name']}  ({m['test_accuracy']:.1%} on {m['test_dataset']})" if m["test_accuracy"]
           else m["name"] for m in options}
    name = st.sidebar.selectbox(label, names, index=0, format_func=fmt.get)
    return next(m for m in options if m["name"] == name)


st.title("How does a recurrent network read a sentence?")
st.caption("Type a phrase and compare the RNN's reading, token by token, with a bag-of-words model. "
           "Method: Maheswaranathan & Sussillo (ICML 2020) and Maheswaranathan et al. (NeurIPS 2019).")

models = list_models()
if not models:
    st.error("No models found in models/. Train one with `python -m core train ...` (see README).")
    st.stop()
rnn_info = pick(models, "RNN", ("rnn",))
# Default: the context-augmented BoW built from this RNN, else a plain BoW on its dataset.
same_rnn = lambda m: rnn_info is not None and m["kind"] == "augmented" and m["rnn"] == rnn_info["name"]
same_data = lambda m: rnn_info is not None and m["kind"] != "augmented" and m["dataset"] == rnn_info["dataset"]
bow_info = pick(sorted(models, key=lambda m: (not same_rnn(m), not same_data(m), m["kind"] == "augmented", m["name"])),
                "Bag-of-words", ("augmented", "bow", "bigram"))

text = st.text_area("Phrase", "The acting was not good, and the plot was not very interesting either.",
                    max_chars=MAX_CHARS, height=100)
tokens = tokenize(text)
if not tokens:
    st.info("Type some text to see how the models read it.")
    st.stop()

cols = st.columns(2)
for col, info in zip(cols, (rnn_info, bow_info)):
    if info is None:
        continue
    try:
        model = get_model(info["path"], model_checksum(info["path"]))
    except ModelError as e:
        col.error(f"Cannot load {info['name']}: {e}")
        continue
    p = float(model.predict_proba([text])[0])
    col.metric(f"{info['name']}: P(positive)", f"{p:.3f}", "positive" if p > 0.5 else "negative",
               delta_color="normal" if p > 0.5 else "inverse")
    unknown = [t for t in tokens if t not in model.vocab]
    if unknown:
        col.caption(f"Not in this model's vocabulary (read as <unk>): {', '.join(sorted(set(unknown))[:20])}")
    if model.kind == "rnn":
        toks, logits = model.trajectory(text)
        df = pd.DataFrame({"label": [f"{i}: {t}" for i, t in enumerate(toks)], "token": toks,
                           "readout logit": logits.numpy()})
        chart = alt.Chart(df).mark_line(point=True).encode(
            x=alt.X("label:N", title="token", sort=None), y=alt.Y("readout logit:Q", title="readout y(h_t)"),
            tooltip=["token", alt.Tooltip("readout logit:Q", format=".3f")])
        rule = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
        col.altair_chart(chart + rule, width="stretch")
        col.caption("Readout after each token (logit; above 0 = positive). Truncation to the model's "
                    "max length applies to P(positive) only.")
    else:
        toks, contrib, bias = model.token_contributions(text)
        df = pd.DataFrame({"label": [f"{i}: {t}" for i, t in enumerate(toks)], "token": toks, "contribution": contrib})
        chart = alt.Chart(df).mark_bar().encode(
            x=alt.X("label:N", title="token", sort=None), y="contribution:Q",
            color=alt.condition("datum.contribution > 0", alt.value("#2b8cbe"), alt.value("#e34a33")),
            tooltip=["token", alt.Tooltip("contribution:Q", format=".3f")])
        col.altair_chart(chart, width="stretch")
        what = ("beta[w] f_t g(t): the word's weight scaled by the modifiers before it and its position"
                if model.kind == "augmented" else "beta[w]")
        col.caption(f"Per-token contributions {what}; logit = bias ({bias:.3f}) + their sum.")
