"""Issue 18 on a fresh clone with no dataset: BoW vs RNN's Run always shows a result or a reason in the app's words,
Error analysis opens on a source that works here and keeps an upload (and its result) across a page switch, the
Architectures chart draws no bar for a gap recovered that is not meaningful and shows the reference point, the Start
page's examples say where a model reads them against the label they mean, and the app opens on its chosen default
model. AppTest on app.py (or on a page file), with a temporary analysis cache and an empty data root."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import ui.state
from core.data.examples import EXAMPLES, examples_dataset, misreading
from core.data.loaders import dataset_available, load_dataset, not_here
from core.models.store import list_models, load_model, pairing
from ui.format import literal
from tests.helpers import open_app

ROOT = Path(__file__).resolve().parent.parent
CLI_WORDS = ("--", "SENTIMENT_")     # a message to a browser user names no command-line option or variable


pytestmark = pytest.mark.usefixtures("no_data")   # a temporary analysis cache, no dataset (conftest.py)


def messages(at: AppTest) -> list[str]:
    return [e.value for kind in ("error", "warning", "info", "success") for e in getattr(at, kind)]


def chart_frames(element) -> list:
    """The data frames of a chart element (Streamlit sends them as Arrow)."""
    return [pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pandas() for d in element.proto.datasets]


# ---- data: built-in examples, availability, messages ----------------------------------------------------
def test_the_built_in_examples_are_a_labelled_dataset_that_is_always_here():
    ds = load_dataset("examples")
    assert ds.texts == [e.text for e in EXAMPLES] and list(ds.labels) == [e.label for e in EXAMPLES]
    assert set(ds.labels) <= {0, 1} and ds.source == "examples" and len(examples_dataset()) == len(EXAMPLES)
    assert dataset_available("examples") and dataset_available("toy-long:test")
    assert not dataset_available("imdb:test") and not dataset_available("sst2:test")   # the empty data root
    msg = not_here(["imdb:train", "imdb:test"])
    assert "`imdb:train` and `imdb:test` are not on this machine" in msg
    assert not any(w in msg for w in CLI_WORDS)


def test_misreading_names_the_tokens_that_pull_the_wrong_way():
    class Reading:   # what core.models.classifier.Explanation gives
        tokens, contributions, baseline = ["not", "a", "bad", "film"], [-0.3, 0.05, -0.9, 0.1], -0.2
        p_positive = 0.2
    wrong = misreading(Reading, 1)
    assert wrong["predicted"] == "negative" and wrong["meant"] == "positive"
    assert wrong["pulled_by"] == [("bad", -0.9), ("not", -0.3)] and wrong["baseline"] == -0.2
    assert misreading(Reading, 0) is None


# ---- BoW vs RNN --------------------------------------------------------------------------------------------
def test_bow_vs_rnn_run_always_shows_a_result_or_a_reason_without_cli_words():
    """The default model's comparison at the defaults is stored: Run says so and gives its figures. K = 10 is not
    stored and cannot be measured without the data: Run says why, in the app's words."""
    at = open_app("bow_vs_rnn", model=ui.state.DEFAULT_RNN)
    assert not [e.value for e in at.error]
    at.button(key="cmp_run").click().run()
    assert not at.exception
    done = [s.value for s in at.success]
    from core.experiments.compare import comparisons
    stored = comparisons(ui.state.DEFAULT_RNN)[0]                  # the figures come from the stored comparison
    assert len(done) == 1 and "is stored" in done[0] and f"RNN {stored['rnn']['accuracy']:.2%}" in done[0]
    at.number_input(key="cmp_top").set_value(10).run()
    at.button(key="cmp_run").click().run()
    assert not at.exception
    failed = [e.value for e in at.error]
    assert len(failed) == 1 and "is not stored" in failed[0] and "not on this machine" in failed[0]
    assert not any(w in m for m in messages(at) + [c.value for c in at.caption] for w in CLI_WORDS)


def test_bow_vs_rnn_with_no_stored_comparison_says_what_it_needs():
    at = open_app("bow_vs_rnn", model="sst2-gru-ft")     # a variant: no comparison shipped
    assert any("No comparison of sst2-gru-ft is stored yet" in i.value and "operator" in i.value for i in at.info)
    at.button(key="cmp_run").click().run()
    assert not at.exception
    failed = [e.value for e in at.error]
    assert len(failed) == 1 and "`sst2:train`, `sst2:dev` and `sst2:test` are not on this machine" in failed[0]
    assert not any(w in failed[0] for w in CLI_WORDS)


# ---- Error analysis ----------------------------------------------------------------------------------------
def test_error_analysis_opens_on_a_source_that_works_with_no_data():
    """imdb-ugrnn's test set is not here: the page opens on the built-in examples and scores them; the toy GRU's
    test set is generated, so it opens on it."""
    at = open_app("errors", model="imdb-ugrnn")
    assert at.radio(key="err_source").value == "examples"
    at.button(key="err_run").click().run()
    assert not at.exception and not [e.value for e in at.error]
    roles = {m.label.rsplit("(", 1)[1].rstrip(")") for m in at.metric}
    assert roles == {"rnn", "bow", "aug"}
    assert any(s.value == f"{len(EXAMPLES)} texts from the built-in examples" for s in at.subheader)
    # the test-set source says what it needs instead of failing
    at.radio(key="err_source").set_value("test").run()
    assert not at.exception and not [e.value for e in at.error]
    assert any("`imdb:test` is not on this machine" in i.value for i in at.info)
    assert not any(w in m for m in messages(at) for w in CLI_WORDS)
    assert open_app("errors", model="toy-gru").radio(key="err_source").value == "test"


NAME = "**x**[y](http://e.com).csv"


def test_an_upload_and_its_result_survive_a_page_switch_and_its_name_shows_literally():
    at = open_app("errors", model="imdb-ugrnn")
    at.radio(key="err_source").set_value("upload").run()
    at.file_uploader(key="err_upload").set_value(
        (NAME, b"text,label\nnot good at all,0\na very good film,1\nbad,0\n", "text/csv")).run()
    assert not at.exception
    assert any(c.value.startswith(f"{literal(NAME)}: 3 labelled texts") for c in at.caption)
    at.button(key="err_run").click().run()
    heading = f"3 texts from the uploaded file {literal(NAME)}"
    assert any(s.value == heading for s in at.subheader)
    scores = [(m.label, m.value) for m in at.metric]
    at.switch_page("pages/phrase.py").run()
    assert not at.exception
    at.switch_page("pages/errors.py").run()
    assert not at.exception and not [e.value for e in at.error]
    assert at.radio(key="err_source").value == "upload"
    assert any(s.value == heading for s in at.subheader)                 # the result, without scoring again
    assert [(m.label, m.value) for m in at.metric] == scores
    assert any(c.value.startswith(f"{literal(NAME)}: 3 labelled texts") and "uploaded earlier" in c.value
               for c in at.caption)
    assert not [b for b in at.button if b.key == "err_run"]


def test_a_bad_upload_names_the_file_literally():
    at = open_app("errors", model="imdb-ugrnn")
    at.radio(key="err_source").set_value("upload").run()
    at.file_uploader(key="err_upload").set_value((NAME, b"words,stars\nfine,5\n", "text/csv")).run()
    assert not at.exception
    failed = [e.value for e in at.error]
    assert len(failed) == 1 and failed[0].startswith(literal(NAME))      # Markdown shows the escaped name as typed


# ---- Architectures -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["sst2-gru", "imdb-gru"])
def test_architectures_draws_no_bar_for_a_gap_that_is_not_meaningful(model):
    from core.experiments import universality as U
    at = AppTest.from_file(str(ROOT / "pages" / "architectures.py"), default_timeout=300)
    at.query_params["model"] = model
    at.run()
    assert not at.exception and not [e.value for e in at.error]
    data = next(m["dataset"] for m in list_models() if m["name"] == model)
    rows = {r["model"]: r for r in U.rows(data) if "n_fixed_points" in r}
    not_meaningful = {m for m, r in rows.items() if r["gap"] and r["gap"].get("gap_too_small")}
    assert not_meaningful, "the shipped comparisons have such a row (sst2-vanilla; imdb-lstm, imdb-vanilla)"
    charts = at.get("vega_lite_chart")
    side = next(f for c in charts for f in chart_frames(c) if "measure" in f.columns)
    gaps = side[side["measure"] == "gap recovered (full)"].set_index("model")
    for m in not_meaningful:
        assert math.isnan(gaps.loc[m, "value"]) and gaps.loc[m, "note"] == "not meaningful"
    for m in set(gaps.index) - not_meaningful:
        assert math.isfinite(gaps.loc[m, "value"]) and not isinstance(gaps.loc[m, "note"], str)
    # Each attractor chart draws its reference point (one row) last, large and ringed, over the other points.
    from ui.charts import REFERENCE_SIZE
    from core.experiments.seeds import seed_groups
    attractors = [c for c in charts if any("reference" in f.columns for f in chart_frames(c))]
    seeds = sum(len(group) for base, group in seed_groups().items() if base in rows)   # the Seeds section draws each
    assert len(attractors) == len(rows) + seeds
    for c in attractors:
        assert sum(bool(v) for f in chart_frames(c) for v in f["reference"]) == 1
        last = json.loads(c.proto.spec)["layer"][-1]
        assert last["transform"] == [{"filter": "datum.reference"}]
        assert last["mark"]["size"] == REFERENCE_SIZE and last["mark"]["stroke"] == "black"


# ---- Start: the default model and honest examples ----------------------------------------------------------
def test_the_app_opens_on_its_default_model_and_the_url_wins():
    at = open_app(model=None)
    assert at.sidebar.selectbox(key="model").value == ui.state.DEFAULT_RNN
    assert open_app(model="sst2-gru").sidebar.selectbox(key="model").value == "sst2-gru"


def test_the_default_model_is_chosen_on_its_shipped_analyses():
    """The grounds ui.state.DEFAULT_RNN states: no reference-point warning, its own bag-of-words models to compare
    with, and a measured gain over the bag-of-words that its augmented BoW recovers part of."""
    from core.analysis.context import engine
    from core.analysis.settings import Settings
    from core.experiments.compare import comparisons
    s = Settings.of(ui.state.DEFAULT_RNN)
    assert engine(s).reference()["warnings"] == []
    assert None not in pairing(s.name).values()
    full = [c for c in comparisons(s.name) if c["settings"]["top"] == 30 and not c.get("gap_too_small")]
    gap = next(v for v in full[0]["variants"] if v["name"] == "full")
    assert gap["gap_ci"][0] > 0


def test_each_example_says_which_model_reads_it_against_its_label():
    """Every Start example carries the label it means; after the three readings, a note names each model that reads it
    otherwise (checked against the models' own predictions), and says so when all three read it as meant."""
    at = open_app(model=None)
    titles = [s.value for s in at.subheader][:3]
    assert titles == ["RNN", "Bag-of-words", "Augmented BoW"] and max(map(len, titles)) <= 14   # one line each
    name = ui.state.DEFAULT_RNN
    pair = pairing(name)
    models = {"RNN": load_model(name), "Bag-of-words": load_model(pair["bow"]),
              "Augmented BoW": load_model(pair["aug"])}
    wrong_somewhere = 0
    for e in EXAMPLES:
        at.button_group(key="preset").set_value(e.name).run()
        assert not at.exception and at.text_input(key="text").value == e.text
        wrong = {t for t, m in models.items() if int(float(m.predict_proba([e.text])[0]) > 0.5) != e.label}
        notes = [w.value for w in at.warning if "the example means" in w.value]
        assert {n.split("**")[1] for n in notes} == wrong, e.name
        for n in notes:
            assert "Pulling it toward" in n and "bars of its chart" in n
        assert bool(wrong) != any("reads this example as it is meant" in s.value for s in at.success)
        wrong_somewhere += bool(wrong)
    assert wrong_somewhere     # the examples include readings that go wrong ("double negative"): said, not hidden
