"""Error analysis: score labelled texts (the built-in examples, a test set on this machine, or an uploaded file)
with the RNN and its bag-of-words models, see accuracy and confusion per model, error rates per mechanism slice,
and the texts where the models disagree, each one click away from the Phrase view.

The source defaults to what works on this machine: the model's own test set where its files are here
(core.data.loaders.dataset_available), else the built-in examples, which need nothing. An uploaded file (its name and
bytes) and each source's last result are kept in session state, so leaving the page (Open in Phrase) and coming back
shows them again."""
from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.error_analysis import SLICES, error_analysis, parse_upload
from core.analysis.views import comparison_choices, source_text
from core.data.examples import EXAMPLES
from core.data.loaders import GENERATED, NAMED, DataError, dataset_available, not_here
from core.models.store import ModelError, list_models, model_checksum, pairing
from ui.charts import show_chart, show_explanation
from ui.engine import CORE_ERRORS, get_model
from ui.format import literal
from ui.navigation import method_link
from ui.state import bind, current, set_text

MAX_UPLOAD_MB = 20
DEFAULT_LIMIT = 2000
SOURCES = {"examples": "Built-in examples", "test": "A test set", "upload": "Upload a file"}
NEEDS = {"examples": f"the app's {len(EXAMPLES)} example sentences with the label each means; needs nothing",
         "test": "a named test set; needs its files on this machine (the toy test set is generated)",
         "upload": f"a CSV, TSV, JSONL or JSON file from your computer, up to {MAX_UPLOAD_MB} MB"}


def keep_upload() -> None:
    """The uploader's callback: keep the uploaded file (name and bytes) past a page switch, which empties the
    widget; a file the user removes is forgotten."""
    up = st.session_state.get("err_upload")
    if up is None:
        st.session_state.pop("_err_upload", None)
    else:
        st.session_state["_err_upload"] = {"name": up.name, "data": up.getvalue()}


info, settings = current()
st.title("Error analysis")
st.caption("Where do the RNN and the bag-of-words models go wrong, and on which kinds of sentences? Score labelled "
           "texts, then read the error rates by mechanism (negation, intensifiers, contrast, long texts, strong words "
           "at the edges) and the texts where the models disagree. " + method_link("errors"))

models = list_models()
pair = pairing(info["name"], models)
names = {role: ["none"] + offered for role, offered in comparison_choices(models).items()}
tests = [d for d in NAMED if d.endswith(":test")] + [d for d in GENERATED if d.endswith(":test")]
own = info.get("test_dataset") if info.get("test_dataset") in tests else None
ss = st.session_state
if "_err_source" not in ss:   # what works here: the model's own test set if its files are on this machine
    ss["_err_source"] = "test" if own and dataset_available(own) else "examples"
c1, c2, c3 = st.columns([2, 1, 1])
source = c1.radio("Texts", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                  captions=[NEEDS[k] for k in SOURCES], **bind("err_source", "_err_source"))
# Every choice is kept in a store that outlives the page (ui.state.bind), so coming back finds the same run.
bow = c2.selectbox("Plain BoW", names["bow"], **bind(f"err_bow::{info['name']}", f"_err_bow::{info['name']}",
                                                     pair["bow"] or "none"))
aug = c3.selectbox("Augmented BoW", names["aug"], **bind(f"err_aug::{info['name']}", f"_err_aug::{info['name']}",
                                                         pair["aug"] or "none"))

texts = labels = None
shown_name = None      # an uploaded file's name, shown literally
if source == "examples":
    data, limit = "examples", 0
    st.caption(f"The {len(EXAMPLES)} examples of the Start page, each with the label it means: a handful of texts, "
               "enough to see each model's reading, not to measure an error rate. Upload a file or pick a test set "
               "for more.")
    run_key = ("examples", info["name"], settings.checksum, bow, aug)
elif source == "test":
    options = ([own] if own else []) + [d for d in tests if d != own]
    ss.setdefault(f"_err_data::{info['name']}", own or options[0])
    data = st.selectbox("Test set", options, format_func=lambda d: d + ("" if dataset_available(d) else
                                                                       " (not on this machine)"),
                        **bind(f"err_data::{info['name']}", f"_err_data::{info['name']}"))
    if not dataset_available(data):
        st.info(f"{not_here([data])} Meanwhile, score the built-in examples or upload a file of your own (*Texts* "
                "above).")
        st.stop()
    limit = int(st.number_input("Texts to score (a random sample; 0 = all)", 0, 100_000, step=500,
                                **bind("err_limit", "_err_limit", DEFAULT_LIMIT),
                                help="Scoring all 25,000 IMDB reviews takes minutes on a laptop."))
    run_key = ("test", info["name"], settings.checksum, data, limit, bow, aug)
else:
    up = st.file_uploader(f"CSV, TSV, JSONL or JSON with a text column and a 0/1 (or pos/neg) label column; up to "
                          f"{MAX_UPLOAD_MB} MB", type=["csv", "tsv", "jsonl", "json"], key="err_upload",
                          on_change=keep_upload)
    if up is not None and (ss.get("_err_upload") or {}).get("name") != up.name:
        keep_upload()
    kept = ss.get("_err_upload")
    if kept is None:
        st.info("Upload a file to score it: one text and its label (0/1, neg/pos or negative/positive) per row, in "
                "columns named e.g. text and label.")
        st.stop()
    raw, shown_name = kept["data"], kept["name"]
    try:
        texts, labels = parse_upload(shown_name, raw, max_bytes=MAX_UPLOAD_MB * 1_000_000)
    except DataError as e:
        st.error(literal(str(e)))   # the message names the file: shown as typed, never as Markdown
        st.stop()
    st.caption(f"{literal(shown_name)}: {len(texts):,} labelled texts"
               + ("" if up is not None else " (the file you uploaded earlier; upload another to replace it)"))
    data, limit = None, 0
    run_key = ("upload", info["name"], settings.checksum, hashlib.sha256(raw).hexdigest(), bow, aug)

# The last result of each source (rows of a large set are big: one each), kept past a page switch.
results = st.session_state.setdefault("_err_results", {})
if results.get(source, (None,))[0] != run_key:
    if not st.button("Score", type="primary", key="err_run"):
        st.stop()
    bar = st.progress(0.0, text="Scoring...")
    try:
        res = error_analysis(info["path"], data=data, texts=texts, labels=labels, bow=bow, aug=aug,
                             limit=limit or None, progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
    except (DataError, *CORE_ERRORS) as e:
        bar.empty()
        st.error(literal(str(e)))
        st.stop()
    bar.empty()
    results[source] = (run_key, res, texts)
_, res, texts = results[source]

st.subheader(f"{res['n']:,} texts from " + ("the built-in examples" if res["data"] == "examples" else
                                             f"the uploaded file {literal(shown_name)}" if shown_name else res["data"]))
cols = st.columns(len(res["models"]), border=True)
for col, m in zip(cols, res["models"]):
    col.metric(f"{m['name']} ({m['role']})", f"{m['accuracy']:.2%}",
               help=f"95% interval {m['accuracy_ci'][0]:.2%} … {m['accuracy_ci'][1]:.2%}")
    cm = m["confusion"]
    col.markdown(f"| | predicted + | predicted − |\n|---|---:|---:|\n| **actual +** | {cm['tp']:,} | {cm['fn']:,} |\n"
                 f"| **actual −** | {cm['fp']:,} | {cm['tn']:,} |")

st.subheader("Error rate by mechanism")
srows = [{"slice": s["name"], "n": s["n"], "model": name, "error rate": rate, "what": s["description"]}
         for s in res["slices"] for name, rate in s["error_rates"].items()]
sdf = pd.DataFrame(srows)
chart = alt.Chart(sdf.dropna(subset=["error rate"])).mark_bar().encode(
    y=alt.Y("slice:N", sort=[s["name"] for s in res["slices"]], title=None),
    yOffset=alt.YOffset("model:N"), x=alt.X("error rate:Q", axis=alt.Axis(format="%")),
    color=alt.Color("model:N", scale=alt.Scale(scheme="dark2")),
    tooltip=[alt.Tooltip("slice"), alt.Tooltip("what"), alt.Tooltip("n"), alt.Tooltip("model"),
             alt.Tooltip("error rate:Q", format=".1%")])
show_chart(chart, "error-slices", sdf)
wide = sdf.pivot_table(index=["slice", "n"], columns="model", values="error rate", sort=False).reset_index()
st.dataframe(wide, hide_index=True, width="stretch",
             column_config={m["name"]: st.column_config.NumberColumn(format="percent") for m in res["models"]})
st.caption("Slices (a text can be in several): " + "; ".join(f"**{k}**: {v}" for k, v in SLICES.items())
           + f". Strong valence words: the 300 frequent words with the largest {res['valence_source']}, e.g. "
           + ", ".join(res["valence_words"][:12]) + ".")

st.subheader(f"Disagreements ({res['disagreements']:,})")
rows = [r for r in res["rows"] if r["disagree"]]
if not rows:
    st.info("The models agree on every text.")
    st.stop()
names_ = [m["name"] for m in res["models"]]
ddf = pd.DataFrame([{"index": r["index"], "label": "positive" if r["label"] == 1 else "negative",
                     **{f"P {n}": r["p"][n] for n in names_},
                     "RNN right": r["correct"][names_[0]], "tokens": r["n_tokens"],
                     "slices": ", ".join(s for s in r["slices"] if s != "all"), "text": r["text"]} for r in rows])
st.caption("Texts where the RNN and the plain bag-of-words predict different classes. Sort by any column; select a "
           "row to open it in Phrase.")
sel = st.dataframe(ddf, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                   key="err_table", column_config={f"P {n}": st.column_config.NumberColumn(format="%.3f")
                                                   for n in names_})
st.download_button("CSV", ddf.to_csv(index=False).encode(), "disagreements.csv", "text/csv",
                   icon=":material/download:", on_click="ignore")
picked = sel.selection.rows if sel is not None else []
if picked:
    r = ddf.iloc[picked[0]]
    full = source_text(int(r["index"]), texts, res["data"], r["text"])
    st.markdown(f"**How each model reads text {int(r['index'])}**")
    paths = {m["name"]: m["path"] for m in models}
    for col, m in zip(st.columns(len(res["models"]), border=True), res["models"]):
        p = r[f"P {m['name']}"]
        col.caption(f"{m['name']} ({m['role']}): P(positive) {p:.3f}")
        try:
            model = get_model(paths[m["name"]], model_checksum(paths[m["name"]]))
        except (KeyError, ModelError) as e:
            col.error(f"Cannot load {m['name']}: {e}")
            continue
        show_explanation(model.explain(full), f"{m['name']}-text-{int(r['index'])}", m["role"], where=col)
    if st.button(f"Open text {int(r['index'])} in Phrase", icon=":material/open_in_new:", type="primary"):
        set_text(full)
        st.switch_page("pages/phrase.py")
