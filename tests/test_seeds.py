"""Seeds of one network (core.experiments.seeds) and the seed view of `universality`: which models count as seeds,
their accuracy spread (hand-worked), and which modifiers recur, on tiny toy GRUs trained here in seconds."""
import json
import math
import os

import pytest

from core.analysis.api import modifiers, position
from core.analysis.dynamics import dynamics
from core.analysis.settings import Settings
from core.experiments import universality as U
from core.experiments.train import TrainConfig, train
from core.experiments.seeds import accuracy_spread, same_training, seed_groups, spread_text
from core.models.store import list_models
from core.tools.cli import main

SEEDS = 100


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, toy_csv):
    """toy-gru in seeds 0, 1 and 2 (toy-gru-seed1, toy-gru-seed2, the last with a borrowed vocabulary), analysed;
    toy-gru-seed7 trained with another hidden size (named like a seed, not one); toy-lstm, another cell."""
    old = os.environ.get("SENTIMENT_CACHE_DIR")
    os.environ["SENTIMENT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    out = tmp_path_factory.mktemp("models")
    common = dict(data=toy_csv, test_data="toy:test", out_dir=str(out), embed_dim=8, epochs=1, lr=1e-2,
                  min_count=1, max_vocab=100)
    train(TrainConfig(name="toy-gru", arch="gru", hidden_size=8, **common), log=lambda m: None)
    train(TrainConfig(name="toy-gru-seed1", arch="gru", hidden_size=8, seed=1, **common), log=lambda m: None)
    train(TrainConfig(name="toy-gru-seed2", arch="gru", hidden_size=8, seed=2, vocab_from=str(out / "toy-gru"),
                      **common), log=lambda m: None)
    train(TrainConfig(name="toy-gru-seed7", arch="gru", hidden_size=6, seed=7, **common), log=lambda m: None)
    train(TrainConfig(name="toy-lstm", arch="lstm", hidden_size=8, **common), log=lambda m: None)
    for name in ("toy-gru", "toy-gru-seed1", "toy-gru-seed2"):
        s = Settings.of(str(out / name), n_seeds=SEEDS)
        dynamics(s)
        modifiers(s)
        position(s)
    yield out
    if old is None:
        os.environ.pop("SENTIMENT_CACHE_DIR")
    else:
        os.environ["SENTIMENT_CACHE_DIR"] = old


def test_seeds_are_the_same_training_in_another_seed(seeded):
    groups = seed_groups(list_models(seeded))
    assert list(groups) == ["toy-gru"]
    assert [(m["name"], m["seed"]) for m in groups["toy-gru"]] == [("toy-gru", 0), ("toy-gru-seed1", 1),
                                                                   ("toy-gru-seed2", 2)]


def test_the_same_seed_again_is_not_another_seed(seeded):
    """A run named like a seed but with a seed the group already has repeats a run: it does not join the group."""
    import shutil
    from core.models.store import read_json
    from core.storage.io import atomic_write_text
    dup = seeded / "toy-gru-seed9"
    shutil.copytree(seeded / "toy-gru-seed1", dup)
    met = read_json(dup / "metrics.json")
    met["settings"]["name"] = "toy-gru-seed9"      # recorded seed: still 1
    atomic_write_text(dup / "metrics.json", json.dumps(met))
    try:
        assert [m["name"] for m in seed_groups(list_models(seeded))["toy-gru"]] == ["toy-gru", "toy-gru-seed1",
                                                                                   "toy-gru-seed2"]
    finally:
        shutil.rmtree(dup)


def test_settings_that_change_the_training_make_another_network():
    base = {"name": "a", "seed": 0, "hidden_size": 8, "lr": 0.01, "vocab_from": None, "device": "cpu"}
    assert same_training(base, {**base, "name": "a-seed1", "seed": 1, "device": "cuda"}, "a")
    assert same_training(base, {**base, "seed": 1, "vocab_from": "models/a"}, "a")
    assert not same_training(base, {**base, "seed": 1, "lr": 0.02}, "a")
    assert not same_training(base, {**base, "seed": 1, "vocab_from": "models/b"}, "a")
    assert not same_training(base, {**base, "seed": 1, "init_from": "a"}, "a")
    assert not same_training(base, None, "a")
    # a setting only the older base records is one `train` no longer has: not compared
    assert same_training({**base, "max_train_tokens": 8192}, {**base, "seed": 1}, "a")


def test_accuracy_spread_hand_worked():
    group = [{"name": "a", "test_accuracy": 0.90}, {"name": "a-seed1", "test_accuracy": 0.80},
             {"name": "a-seed2", "test_accuracy": 0.85}, {"name": "a-seed3", "test_accuracy": None}]
    s = accuracy_spread(group)
    # mean 0.85; deviations 0.05, -0.05, 0; sample variance 0.005 / 2
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.85) and s["sd"] == pytest.approx(math.sqrt(0.0025))
    assert (s["min"], s["max"]) == (0.80, 0.90)
    assert spread_text(s) == "3 seeds: 85.0% ± 5.0% (80.0%–90.0%)"
    one = accuracy_spread(group[:1])
    assert one["sd"] is None and spread_text(one) == ""
    assert accuracy_spread([{"name": "a", "test_accuracy": None}]) is None


def test_recurrence_counts_only_the_seeds_read():
    rows = [{"model": "a", "listed": [{"word": "not", "class": "negator"}, {"word": "very", "class": "intensifier"}]},
            {"model": "b", "listed": [{"word": "very", "class": "intensifier"}, {"word": "not", "class": "attenuator"},
                                      {"word": "so", "class": "intensifier"}]},
            {"model": "c", "missing": ["modifiers"]}]
    rows[0]["known"] = {"negators": {"not": {"class": "negator"}, "never": None},   # "so": confirmed beyond
                        "intensifiers": {"so": {"class": "intensifier"}, "very": {"class": "intensifier"}}}  # the listed
    rec = U.recurrence(rows)
    assert rec["read"] == ["a", "b"]
    assert [(m["word"], m["same_class"]) for m in rec["recurring"]] == [("not", False), ("so", True), ("very", True)]
    assert [m["word"] for m in rec["modifiers"]] == ["not", "so", "very"]
    del rows[0]["known"]
    rec = U.recurrence(rows)
    assert [m["word"] for m in rec["modifiers"]] == ["not", "very", "so"] and rec["modifiers"][2]["classes"] == {
        "b": "intensifier"}
    assert U.recurrence([{"model": "a", "listed": []}, {"model": "b", "listed": [{"word": "x", "class": "negator"}]}]
                        )["recurring"] == []


def test_the_architecture_table_has_one_row_per_network_with_its_spread(seeded, toy_csv):
    rows = U.rows(toy_csv, models_dir=seeded, n_seeds=SEEDS)
    assert [r["model"] for r in rows] == ["toy-gru", "toy-gru-seed7", "toy-lstm"]
    by = {r["model"]: r for r in rows}
    accs = [json.loads((seeded / n / "metrics.json").read_text())["test_accuracy"]
            for n in ("toy-gru", "toy-gru-seed1", "toy-gru-seed2")]
    assert by["toy-gru"]["seeds"]["n"] == 3 and by["toy-gru"]["seeds"]["mean"] == pytest.approx(sum(accs) / 3)
    assert by["toy-lstm"]["seeds"] is None
    assert f"toy-gru: test accuracy over {spread_text(by['toy-gru']['seeds'], '.2%')}" in U.table(rows)


def test_seed_view_reads_every_seed(seeded, capsys):
    view = U.seed_view("toy-gru", seeded, n_seeds=SEEDS)
    assert [(r["model"], r["seed"]) for r in view["rows"]] == [("toy-gru", 0), ("toy-gru-seed1", 1),
                                                               ("toy-gru-seed2", 2)]
    assert all(r["missing"] == [] and "attractor" in r for r in view["rows"])
    assert view["read"] == ["toy-gru", "toy-gru-seed1", "toy-gru-seed2"]
    for r in view["rows"]:   # the listed modifiers are the stored analysis's, all of them
        mods = modifiers(Settings.of(str(seeded / r["model"]), n_seeds=SEEDS), stored_only=True)
        assert [m["word"] for m in r["listed"]] == [m["word"] for m in mods["modifiers"]]
    assert main(["universality", "--seeds", "toy-gru", "--models-dir", str(seeded), "--n-seeds", str(SEEDS)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("toy-gru in 3 seeds; test accuracy over 3 seeds: ")
    assert main(["universality", "--seeds", "toy-lstm", "--models-dir", str(seeded)]) == 2
    assert "toy-lstm has no seeds" in capsys.readouterr().err
    assert main(["universality", "--seeds", "nope", "--models-dir", str(seeded)]) == 2
    assert "no RNN model 'nope'" in capsys.readouterr().err


def _row(acc, kind, tau, n_mods, not_=None):
    """A universality row with just the figures `mechanism_figures` reads."""
    return {"accuracy": acc, "attractor": {"attractor_kind": kind, "integration_timescale": tau,
                                           "largest_readout_gap": 1.0},
            "n_fixed_points": 10, "timescales_top": [50.0],
            "listed": [{"word": f"w{i}", "class": "intensifier", "strength": 1.0} for i in range(n_mods)],
            "known": {"negators": {"not": not_, "never": None}, "intensifiers": {"very": None}},
            "position": {"begin": {"amplitude": 0.5}, "end": {"amplitude": 0.2}}}


def test_a_variant_is_a_change_only_outside_every_seeds_value():
    """Hand-worked: three seeds at 0.88/0.89/0.90; a pretrained model at 0.91 is above every seed, one at 0.895
    within; a category is unlike every seed only where no seed shares it."""
    seeds = [_row(0.88, "line attractor", 100.0, 3), _row(0.89, "one-sided attractor", 200.0, 5),
             _row(0.90, "line attractor", 300.0, 4, {"class": "attenuator", "strength": -0.5})]
    by = {x["figure"]: x for x in U.against_seeds(seeds, _row(0.91, "line attractor", 50.0, 4,
                                                               {"class": "negator", "strength": -1.5}))}
    assert by["test accuracy"]["verdict"] == "above all 3 seeds" and by["test accuracy"]["seeds"] == [0.88, 0.89, 0.90]
    assert by["attractor"]["verdict"] == "as in some seeds"
    assert by["integration timescale (tokens)"]["verdict"] == "below all 3 seeds"
    assert by["confirmed modifiers"]["verdict"] == "within the seeds' range"
    assert by["largest readout gap (logits)"]["verdict"] == "within the seeds' range"   # equal to every seed
    assert by["'not' class"]["value"] == "negator" and by["'not' class"]["verdict"] == "unlike every seed"
    assert by["'not' strength s"]["seeds"] == [None, None, -0.5]
    assert by["'not' strength s"]["verdict"] == "only 1 of 3 seeds measure it"   # no range to read -1.5 against
    assert by["'never' class"]["verdict"] == "as in every seed"        # not confirmed anywhere
    assert by["'never' strength s"]["verdict"] == "not measured"
    within = {x["figure"]: x["verdict"] for x in U.against_seeds(seeds, _row(0.895, "ring", None, 4))}
    assert within["test accuracy"] == "within the seeds' range" and within["attractor"] == "unlike every seed"
    assert within["integration timescale (tokens)"] == "not measured"     # no integration mode found at all
    marginal = _row(0.89, "line attractor", None, 4)
    marginal["attractor"]["integration_lambda"] = 1.0                    # |lambda| = 1 exactly: tau is infinite
    assert {x["figure"]: x["verdict"] for x in U.against_seeds(seeds, marginal)}[
        "integration timescale (tokens)"] == "above all 3 seeds"
    two = [_row(0.88, "a", 1.0, 1, {"class": "attenuator", "strength": -0.5}), _row(0.88, "a", 1.0, 1),
           _row(0.88, "a", 1.0, 1, {"class": "attenuator", "strength": -0.2})]
    assert {x["figure"]: x["verdict"] for x in U.against_seeds(two, _row(0.88, "a", 1.0, 1, {
        "class": "negator", "strength": -1.5}))}["'not' strength s"] == "below all 2 seeds (2 of 3 seeds measure it)"


def test_figures_are_shown_in_their_formats_and_sorted_by_verdict():
    assert U.format_figure("test accuracy", 0.90876) == "90.88%"
    assert U.format_figure("reference point readout (logits)", -0.0004) == "-0.00"
    assert U.format_figure("integration timescale (tokens)", math.inf) == "inf"
    assert U.format_figure("fixed points", 985) == "985" and U.format_figure("'very' strength s", 0.372) == "+0.37"
    assert U.format_figure("attractor", "line attractor") == "line attractor" and U.format_figure("x", None) == "-"
    figs = [{"figure": "a", "verdict": "above all 3 seeds"}, {"figure": "b", "verdict": "within the seeds' range"},
            {"figure": "c", "verdict": "unlike every seed"}, {"figure": "d", "verdict": "as in some seeds"},
            {"figure": "e", "verdict": "only 1 of 3 seeds measure it"}, {"figure": "f", "verdict": "not measured"},
            {"figure": "g", "verdict": "below all 2 seeds (2 of 3 seeds measure it)"}]
    assert U.verdict_summary(figs) == {"outside": ["a", "c", "g"], "within": ["b", "d"], "not_measured": ["e", "f"]}


def test_the_verdicts_in_words_with_the_caution_of_a_far_reference_point():
    figs = [{"figure": "test accuracy", "verdict": "above all 3 seeds", "value": 0.91},
            {"figure": "attractor", "verdict": "as in some seeds", "value": "line attractor"},
            {"figure": "reference point readout (logits)", "verdict": "within the seeds' range", "value": -1.5}]
    c = {"model": "m-lm", "base": "m", "figures": figs}
    assert U.verdict_text(c) == (
        "Outside the range of m's seeds: test accuracy. Inside it (no change the seeds can show): attractor, reference "
        "point readout (logits). m-lm's reference point sits at readout -1.50, where valences are compressed: its "
        "modifier strengths and position amplitudes, measured there, are smaller for that reason too.")
    figs[2]["value"] = 0.4
    assert U.verdict_text(c).endswith("reference point readout (logits).")


def test_a_pretrained_model_is_read_against_the_seeds_of_its_command(seeded, toy_csv):
    """pretrained_from pairs a model fine-tuned from a language model with the seeds trained with its settings
    otherwise, and with nothing else."""
    import shutil
    from core.experiments.seeds import pretrained_from
    from core.models.store import read_json
    from core.storage.io import atomic_write_text
    lm = seeded / "toy-gru-lm"
    shutil.copytree(seeded / "toy-gru-seed1", lm)
    met = read_json(lm / "metrics.json")
    met["settings"].update(name="toy-gru-lm", seed=0, vocab_from=None, init_from_lm="runs/lm/lm.pt")
    met["pretrained"] = {"name": "lm", "epochs_done": 1, "settings": {"data": "toy:train"}, "history": []}
    atomic_write_text(lm / "metrics.json", json.dumps(met))
    try:
        assert pretrained_from(list_models(seeded)) == {"toy-gru-lm": "toy-gru"}
        assert U.variant(met) == "fine-tuned from the language model lm (1 epoch on toy:train, held-out perplexity ?)"
        met["pretrained"].update(epochs_done=3, history=[{"epoch": 3, "dev_perplexity": 102.7512}],
                                 settings={"data": "imdb:unsup", "vocab_data": "imdb:train"})
        assert U.variant(met) == ("fine-tuned from the language model lm (3 epochs on imdb:unsup + imdb:train (training "
                                  "split), held-out perplexity 102.8)")
        met["settings"]["vocab_from"] = "imdb-gru"      # the language model's words, borrowed from another model
        atomic_write_text(lm / "metrics.json", json.dumps(met))
        assert pretrained_from(list_models(seeded)) == {"toy-gru-lm": "toy-gru"}
        met["settings"]["hidden_size"] = 6
        atomic_write_text(lm / "metrics.json", json.dumps(met))
        assert pretrained_from(list_models(seeded)) == {}
    finally:
        shutil.rmtree(lm)
