"""Start: type a phrase and see the RNN, a plain bag-of-words and the context-augmented bag-of-words
read it side by side."""
from __future__ import annotations

import streamlit as st

from core.analysis.views import comparison_choices, unknown_tokens
from core.data.text import tokenize
from core.models.store import ModelError, list_models, model_checksum, pairing
from ui.charts import prediction_metric, show_explanation
from ui.engine import get_model
from ui.state import current, label, set_text, text_box

PRESETS = {
    "negation": "The acting was not good, and the plot was not very interesting either.",
    "double negative": "It is not a bad film at all.",
    "intensifier": "A very, very good movie.",
    "contrast": "The first half is dull, but the ending is wonderful and moving.",
    "late twist": "Beautiful cast, great score, lovely sets, and yet the whole thing is boring.",
    "never": "I have never seen a film this funny.",
}
ROLES = {"rnn": "RNN", "bow": "Plain bag-of-words", "aug": "Context-augmented bag-of-words"}

info, _ = current()
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
offered = comparison_choices(models)
with st.expander("Which bag-of-words models", expanded=False):
    st.caption(f"By default {info['name']} is compared with the plain bag-of-words trained on its own dataset "
               f"({info['dataset'] or 'not recorded'}) and with the augmented bag-of-words built from its measured "
               "modifiers and position effects. A model from another dataset answers a different question.")
    c1, c2 = st.columns(2)
    choices = {}
    for col, role in ((c1, "bow"), (c2, "aug")):
        names = ["(none)"] + offered[role]
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
    explanation = model.explain(text)
    prediction_metric(col, "P(positive)", explanation.p_positive)
    unknown = unknown_tokens(text, model.vocab)
    if unknown:
        col.caption(f"Not in this model's vocabulary (read as <unk>): {', '.join(unknown[:20])}")
    show_explanation(explanation, name, role, where=col)

st.page_link("pages/phrase.py", label="See the RNN's reading token by token (Phrase)", icon=":material/arrow_forward:")
