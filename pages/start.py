"""Start: type a phrase and see the RNN, a plain bag-of-words and the context-augmented bag-of-words
read it side by side. The examples (core.data.examples) each carry the label they mean: where a model reads an
example otherwise, a note under the three cards says so and which words pull it that way (computed from its reading,
core.data.examples.misreading)."""
from __future__ import annotations

import streamlit as st

from core.analysis.views import comparison_choices, unknown_tokens
from core.data.examples import BY_TEXT, EXAMPLES, misreading
from core.data.text import tokenize
from core.models.store import ModelError, list_models, model_checksum, pairing
from ui.charts import prediction_metric, show_explanation
from ui.engine import get_model
from ui.format import literal
from ui.state import current, label, set_text, text_box

PRESETS = {e.name: e for e in EXAMPLES}   # name -> Example: its text and the label it means (1 positive, 0 negative)
ROLES = {"rnn": "RNN", "bow": "Plain bag-of-words", "aug": "Context-augmented bag-of-words"}
# The cards' titles: short enough to stay on one line in a third of the page, so the three cards line up.
TITLES = {"rnn": "RNN", "bow": "Bag-of-words", "aug": "Augmented BoW"}


def note(title: str, name: str, wrong: dict) -> str:
    """One line on a model that reads an example against the label it means (core.data.examples.misreading)."""
    why = ", ".join(f"“{literal(t)}” ({c:+.2f})" for t, c in wrong["pulled_by"])
    b = wrong["baseline"]   # named only where it pulls as hard as a word named
    start = (f"its starting logit ({b:+.2f})" if b is not None and (not wrong["pulled_by"] or abs(b) >= min(
        abs(c) for _, c in wrong["pulled_by"])) else "")
    pulled = " and ".join(x for x in (why, start) if x)
    return (f"**{title}** ({literal(name)}) reads it as **{wrong['predicted']}** (P(positive) "
            f"{wrong['p_positive']:.2f}); the example means {wrong['meant']}."
            + (f" Pulling it toward {wrong['predicted']} most: {pulled} (the "
               f"{'blue' if wrong['predicted'] == 'positive' else 'red'} bars of its chart)." if pulled else ""))


info, _ = current()
st.title("How does a recurrent network read a sentence?")
st.caption("Type a phrase, or pick an example, and compare the recurrent network's reading, token by token, with a "
           "plain bag-of-words (every word counts the same wherever it stands) and with a bag-of-words that also "
           "knows the RNN's modifier words and position effects (Maheswaranathan & Sussillo, ICML 2020).")

preset = st.pills("Examples", list(PRESETS), key="preset", help="Put an example phrase in the text box.")
if preset and st.session_state.get("_preset_done") != preset:
    st.session_state["_preset_done"] = preset
    set_text(PRESETS[preset].text)
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
readings = []   # (role, name, explanation) of each card that read the text
for col, (role, name) in zip(cols, entries):
    col.subheader(TITLES[role], help=ROLES[role])
    if name is None:
        col.info(f"No plain bag-of-words trained on {info['name']}'s dataset ({info['dataset']}). The operator who "
                 "runs the app can train one (operator command: `python -m core train --arch bow ...`, README)."
                 if role == "bow" else
                 f"No context-augmented bag-of-words built from {info['name']}'s own modifiers and position effects "
                 f"(it is specific to one RNN): pick another under *Which bag-of-words models*, or the operator who "
                 f"runs the app can build one (operator command: `python -m core train-augmented --rnn "
                 f"{info['name']} --name ...`).")
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
    show_explanation(explanation, name, role, where=col)
    unknown = unknown_tokens(text, model.vocab)
    if unknown:
        col.caption("Not in this model's vocabulary (read as <unk>): " + ", ".join(literal(u) for u in unknown[:20]))
    readings.append((role, name, explanation))

example = BY_TEXT.get(text.strip())
if example is not None and readings:
    wrong = [(role, name, w) for role, name, ex in readings if (w := misreading(ex, example.label)) is not None]
    meant = "positive" if example.label == 1 else "negative"
    if not wrong:
        st.success(f"Each model reads this example as it is meant: {meant}.")
    for role, name, w in wrong:
        st.warning(note(TITLES[role], name, w))

st.page_link("pages/phrase.py", label="See the RNN's reading token by token (Phrase)", icon=":material/arrow_forward:")
