"""Error analysis: score a test set (named, or uploaded) with the RNN and its bag-of-words models,
see accuracy and confusion per model, error rates per mechanism slice, and the texts where the models
disagree, each one click away from the Phrase view."""
from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st

from core.analysis.error_analysis import SLICES, error_analysis, parse_upload
from core.analysis.views import comparison_choices, source_text
from core.data.loaders import NAMED, DataError
from core.models.store import ModelError, list_models, model_checksum, pairing
from ui.charts import show_chart, show_explanation
from ui.engine import CORE_ERRORS, get_model
from ui.navigation import method_link
from ui.state import current, set_text

MAX_UPLOAD_MB = 20
DEFAULT_LIMIT = 2000

info, settings = current()
st.title("Error analysis")
st.caption("Where do the RNN and the bag-of-words models go wrong, and on which kinds of sentences? Score a test set, "
           "then read the error rates by mechanism (negation, intensifiers, contrast, long texts, strong words at the "
           "edges) and the texts where the models disagree. " + method_link("errors"))

models = list_models()
pair = pairing(info["name"], models)
names = {role: ["none"] + offered for role, offered in comparison_choices(models).items()}
c1, c2, c3 = st.columns([2, 1, 1])
source = c1.radio("Texts", ["Named test set", "Upload a file"], horizontal=True, key="err_source")
bow = c2.selectbox("Plain BoW", names["bow"], index=names["bow"].index(pair["bow"] or "none"), key=f"err_bow::{info['name']}")
aug = c3.selectbox("Augmented BoW", names["aug"], index=names["aug"].index(pair["aug"] or "none"),
                   key=f"err_aug::{info['name']}")

texts = labels = None
if source == "Named test set":
    options = [d for d in NAMED if d.endswith(":test")] + ["toy-long:test"]
    default = info.get("test_dataset") if info.get("test_dataset") in options else options[0]
    data = st.selectbox("Test set", options, index=options.index(default), key=f"err_data::{info['name']}")
    limit = int(st.number_input("Texts to score (a random sample; 0 = all)", 0, 100_000, DEFAULT_LIMIT, 500,
                                key="err_limit", help="Scoring all 25,000 IMDB reviews takes minutes on a laptop."))
    run_key = ("named", info["name"], settings.checksum, data, limit, bow, aug)
else:
    up = st.file_uploader(f"CSV, TSV, JSONL or JSON with a text column and a 0/1 (or pos/neg) label column; up to "
                          f"{MAX_UPLOAD_MB} MB", type=["csv", "tsv", "jsonl", "json"], key="err_upload")
    if up is None:
        st.info("Upload a file to score it.")
        st.stop()
    raw = up.getvalue()
    try:
        texts, labels = parse_upload(up.name, raw, max_bytes=MAX_UPLOAD_MB * 1_000_000)
    except DataError as e:
        st.error(str(e))
        st.stop()
    st.caption(f"{up.name}: {len(texts):,} labelled texts")
    data, limit = None, 0
    run_key = ("upload", info["name"], settings.checksum, hashlib.sha256(raw).hexdigest(), bow, aug)

results = st.session_state.setdefault("_err_results", {})
if run_key not in results:
    if not st.button("Score", type="primary", key="err_run"):
        st.stop()
    bar = st.progress(0.0, text="Scoring...")
    try:
        res = error_analysis(info["path"], data=data, texts=texts, labels=labels, bow=bow, aug=aug,
                             limit=limit or None, progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))
    except (DataError, *CORE_ERRORS) as e:
        bar.empty()
        st.error(str(e))
        st.stop()
    bar.empty()
    results.clear()   # one result at a time: rows of a large set are big
    results[run_key] = (res, texts)
res, texts = results[run_key]

st.subheader(f"{res['n']:,} texts from {res['data']}")
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
    yOffset="model:N", x=alt.X("error rate:Q", axis=alt.Axis(format="%")),
    color=alt.Color("model:N", scale=alt.Scale(scheme="dark2")),
    tooltip=["slice", "what", "n", "model", alt.Tooltip("error rate:Q", format=".1%")])
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
