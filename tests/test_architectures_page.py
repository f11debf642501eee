"""The Architectures page (AppTest on the page file, which stands on its own): the stored analyses of every RNN
trained on the sidebar model's dataset, with no dataset on the machine; models without them are listed with a note."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.experiments import universality as U
from core.models.store import list_models

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "architectures.py")


@pytest.fixture(autouse=True)
def no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path / "empty"))


def open_page(model: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params["model"] = model
    at.run()
    assert not at.exception, at.exception
    assert not [e.value for e in at.error]
    return at


@pytest.mark.parametrize("model", ["toy-gru", "sst2-gru"])
def test_every_model_of_the_dataset_is_shown_or_noted(model):
    """Each RNN trained on the model's dataset is a table row (with its attractor chart) or a note naming the
    ship command; nothing is computed."""
    at = open_page(model)
    data = next(m["dataset"] for m in list_models() if m["name"] == model)
    names = [m["name"] for m in U.candidates(data)]
    noted = [n for n in names if any(f"python -m core ship {n}`" in i.value for i in at.info)]
    rows = list(at.dataframe[0].value["model"]) if at.dataframe else []
    assert sorted(rows + noted) == sorted(names) and not set(rows) & set(noted)
    titles = [s.value for s in at.subheader]
    assert all(any(t.startswith(f"{n} (") for t in titles) for n in rows)
    if rows:
        assert len(at.get("vega_lite_chart")) >= 1 + len(rows)     # the small multiples and one attractor each


def test_toy_gru_row_reads_its_shipped_analysis():
    at = open_page("toy-gru")
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["toy-gru", "arch"] == "gru" and table.loc["toy-gru", "stable"] == "yes"
    assert "not (" in table.loc["toy-gru", "negators"] and "very (" in table.loc["toy-gru", "intensifiers"]


def test_seeds_are_read_one_by_one_with_the_accuracy_spread():
    """A network shipped in several seeds is one row of the table, with its accuracy over seeds (mean ± sample
    standard deviation, worked here with the statistics module from each seed's metrics.json), and the Seeds section
    lists every seed with its own accuracy."""
    import json
    import statistics
    from core.models.store import MODELS_DIR
    seeds = ["sst2-gru"] + sorted(p.name for p in MODELS_DIR.glob("sst2-gru-seed*"))
    if len(seeds) < 2:
        pytest.skip("no seeds of sst2-gru shipped")
    accs = [json.loads((MODELS_DIR / n / "metrics.json").read_text())["test_accuracy"] for n in seeds]
    at = open_page("sst2-gru")
    table = at.dataframe[0].value.set_index("model")
    assert not set(seeds[1:]) & set(table.index)
    want = (f"{len(accs)} seeds: {statistics.mean(accs):.1%} ± {statistics.stdev(accs):.1%} "
            f"({min(accs):.1%}–{max(accs):.1%})")
    assert table.loc["sst2-gru", "over seeds"] == want
    assert any(c.value.startswith(f"Test accuracy over {want};") for c in at.sidebar.caption)
    assert "Seeds" in [s.value for s in at.subheader]
    per_seed = next(d.value for d in at.dataframe if "seed" in d.value.columns)
    assert list(per_seed["model"]) == seeds and list(per_seed["test accuracy"]) == accs
    assert any(m.value.startswith("**sst2-gru**, test accuracy over 3 seeds") for m in at.markdown) == (len(seeds) == 3)
