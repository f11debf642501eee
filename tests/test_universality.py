"""`python -m core universality`: one row per architecture trained on the same data, read from stored analyses
only, on tiny toy models of every cell (trained here in seconds, analysed with 100 fixed-point seeds)."""
import argparse
import json
import os

import numpy as np
import pytest
import torch

from core.experiments import universality as U
from core.analysis.api import modifiers, position
from core.storage.cache import cached
from core.analysis.dynamics import dynamics
from core.models.rnn import ARCHS
from core.models.store import model_checksum, read_json
from core.experiments.train import TrainConfig, train
from core.analysis.settings import Settings

SEEDS = 100


@pytest.fixture(scope="module")
def arch_models(tmp_path_factory, toy_csv):
    """toy-<arch> for every cell with its analyses stored (a temporary cache), a fine-tuned GRU with none, and
    a bag-of-words on the same data (not an RNN: never a row)."""
    old = os.environ.get("SENTIMENT_CACHE_DIR")
    os.environ["SENTIMENT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    out = tmp_path_factory.mktemp("models")
    common = dict(data=toy_csv, test_data="toy:test", out_dir=str(out), embed_dim=8, hidden_size=8, epochs=1,
                  lr=1e-2, min_count=1, max_vocab=100)
    for arch in ARCHS:
        train(TrainConfig(name=f"toy-{arch}", arch=arch, **common), log=lambda m: None)
        path = str(out / f"toy-{arch}")
        dynamics(Settings.of(path, n_seeds=SEEDS))
        modifiers(Settings.of(path, n_seeds=SEEDS))
        position(Settings.of(path, n_seeds=SEEDS))
    train(TrainConfig(name="toy-gru-ft", arch="gru", init_from=str(out / "toy-gru"), neutral_insert=3, **common),
          log=lambda m: None)
    train(TrainConfig(name="toy-bow", arch="bow", vocab_from=str(out / "toy-gru"), **common), log=lambda m: None)
    yield out
    if old is None:
        os.environ.pop("SENTIMENT_CACHE_DIR")
    else:
        os.environ["SENTIMENT_CACHE_DIR"] = old


def test_one_row_per_architecture_from_the_stored_analyses(arch_models, toy_csv):
    rows = U.rows(toy_csv, models_dir=arch_models, n_seeds=SEEDS)
    assert [(r["arch"], r["model"]) for r in rows] == [*((a, f"toy-{a}") for a in ARCHS), ("gru", "toy-gru-ft")]
    for r in rows[:4]:
        path = str(arch_models / r["model"])
        dyn = dynamics(Settings.of(path, n_seeds=SEEDS))
        hit = dyn["cached"]
        s = dyn["summary"]
        assert hit and r["missing"] == [] and r["variant"] is None
        assert r["accuracy"] == read_json(arch_models / r["model"] / "metrics.json")["test_accuracy"]
        assert (r["n_fixed_points"], r["n_slow_points"]) == (s["n_fixed_points"], s["n_slow_points"])
        assert r["readout_range"] == s["attractor_readout_range"] and r["timescales_top"] == s["timescales_top"]
        assert r["reference"]["readout"] == s["reference_readout"] and r["reference"]["stable"] == s["reference_stable"]
        ev = dyn["ref_eigvals"].numpy()
        assert r["n_marginal_modes"] == int((np.hypot(ev[:, 0], ev[:, 1]) > U.MARGINAL).sum())
        assert set(s["warnings"]) <= set(r["warnings"])
        mods = modifiers(Settings.of(path, n_seeds=SEEDS))
        assert [m["word"] for m in r["modifiers"]] == [m["word"] for m in mods["modifiers"][:U.N_TOP]]
        listed = {m["word"]: m["class"] for m in mods["modifiers"]}
        for group, words in U.KNOWN.items():
            assert list(r["known"][group]) == list(words)
            for w, d in r["known"][group].items():       # the toy vocabulary has only "not" and "very" of these
                assert (d is None) == (w not in listed and w not in {v["word"] for v in mods["saturating_valence_words"]})
                assert d is None or w in ("not", "very")
        pos = position(Settings.of(path, n_seeds=SEEDS))
        assert r["position"]["end"]["amplitude"] == pos["end"]["amplitude"]
        assert r["gap"] is None                             # no comparison stored: none is run
    ft = rows[4]
    assert ft["variant"] == "fine-tuned from " + str(arch_models / "toy-gru") + ", 0-3 zero inputs inserted per text"
    assert ft["missing"] == ["dynamics", "modifiers", "position"] and "n_fixed_points" not in ft


def test_several_marginal_modes_and_a_v0_that_misses_the_readout_are_named():
    summary = {"warnings": ["w"]}
    fine = {"one_step_over_v0": 1.3}
    assert U._warnings(summary, np.array([0.999, 0.5 + 0.1j, 0.5 - 0.1j]), fine) == ["w"]
    both = U._warnings(summary, np.array([1.0005, 0.995, 0.5]), None)
    assert len(both) == 2 and both[1].startswith("2 modes at the reference point have |lambda| > 0.99")
    missed = U._warnings(summary, np.array([0.9]), {"one_step_over_v0": 1.7e9})
    assert len(missed) == 2 and "1.7e+09 times its persistent valence v0" in missed[1]


def test_gap_comes_from_the_stored_full_variant_at_the_default_k(arch_models, tmp_path, monkeypatch):
    """Stored comparisons of toy-gru: the row reads the `full` variant of the current engine's comparison at the
    default K, not the one at K = 10, one without `full`, nor an earlier engine's; that one only when it is all
    there is, and marked so."""
    from core.analysis.api import MODIFIERS_VERSION
    from core.experiments.augmented_fit import TOP_MODIFIERS
    from core.analysis.settings import COMPARE_VERSION, SOLVER_VERSION
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))     # these entries stay out of the module's cache
    path = arch_models / "toy-gru"
    checksum = model_checksum(path)
    for top, gap, solver in ((10, 0.25, SOLVER_VERSION), (TOP_MODIFIERS, 0.8, SOLVER_VERSION), (7, None, SOLVER_VERSION),
                             (TOP_MODIFIERS, 0.3, SOLVER_VERSION - 1)):
        settings = {"data": "toy:test", "top": top, "solver": solver, "modifiers": MODIFIERS_VERSION,
                    "version": COMPARE_VERSION}
        variants = [{"name": "bow", "accuracy": 0.7, "gap_recovered": 0.0, "gap_ci": [0.0, 0.0]}]
        if gap is not None:
            variants.append({"name": "full", "accuracy": 0.9, "gap_recovered": gap, "gap_ci": [gap - 0.1, gap + 0.1]})
        stored = {"data": "toy:test", "n": 10, "rnn": {"accuracy": 0.95}, "bow": {"accuracy": 0.7},
                  "variants": variants, "rnn_checksum": checksum, "settings": settings}
        cached(checksum, "compare", settings, lambda stored=stored: stored, model_dir=path)
    g = U.stored_gap(path, "toy:test")
    assert g["gap_recovered"] == 0.8 and g["gap_ci"] == pytest.approx([0.7, 0.9]) and g["top"] == TOP_MODIFIERS
    assert (g["rnn_accuracy"], g["bow_accuracy"], g["accuracy"]) == (0.95, 0.7, 0.9) and g["current"]
    for f in tmp_path.glob("compare-*.pt"):                      # only the earlier engine's comparison left
        if torch.load(f, weights_only=True)["result"]["settings"]["solver"] == SOLVER_VERSION:
            f.unlink()
    g = U.stored_gap(path, "toy:test")
    assert g["gap_recovered"] == 0.3 and not g["current"] and g["engine"]["solver"] == SOLVER_VERSION - 1


def cli(args: list[str]) -> int:
    ap = argparse.ArgumentParser()
    U.add_parser(ap.add_subparsers(dest="command"))
    return U.run(ap.parse_args(["universality", *args]))


def test_command_line_table_and_json(arch_models, toy_csv, capsys):
    common = ["--models-dir", str(arch_models), "--n-seeds", str(SEEDS)]
    assert cli(["--data", toy_csv, *common]) == 0
    text = capsys.readouterr().out
    assert all(f"toy-{a}" in text for a in ARCHS)
    assert "not stored: dynamics, modifiers, position (python -m core ship toy-gru-ft)" in text
    assert "toy-gru-ft is a variant: fine-tuned from" in text and "toy-bow" not in text
    assert cli(["--models", "toy-lstm,toy-vanilla", "--json", *common]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["toy-lstm", "toy-vanilla"] and rows[0]["arch"] == "lstm"
    with pytest.raises(ValueError, match="no RNN toy-zzz"):
        cli(["--models", "toy-zzz", *common])
    with pytest.raises(ValueError, match="no RNN trained on sst2:train"):
        cli(common)


def test_attractor_map_projects_the_stored_points(arch_models):
    """The LSTM's fixed and slow points in their first two PCs (each half of [h; c] on its own scale), PC1
    increasing with the readout; nothing for a model without stored dynamics."""
    path = str(arch_models / "toy-lstm")
    m = U.attractor_map(path, n_seeds=SEEDS)
    dyn = dynamics(Settings.of(path, n_seeds=SEEDS))
    n = dyn["points"].shape[0] + dyn["slow_points"].shape[0]
    assert m["pc"].shape == (n, 2) and m["kind"].count("fixed point") == dyn["points"].shape[0]
    assert np.allclose(m["readout"], torch.cat([dyn["readout"], dyn["slow_readout"]]).numpy())
    assert np.corrcoef(m["pc"][:, 0], m["readout"])[0, 1] > 0
    z = torch.cat([dyn["points"], dyn["slow_points"]]).double() / dyn["state_scale"]
    total = float(((z - z.mean(0)) ** 2).sum())
    assert float((m["pc"] ** 2).sum()) <= total + 1e-6     # an orthogonal projection of the scaled points
    assert U.attractor_map(str(arch_models / "toy-gru-ft"), n_seeds=SEEDS) is None


def test_known_words_confirmed_beyond_the_listed_ones_count():
    """A paper's word confirmed exactly but beyond the listed top (sst2-lstm's "n't") is shown with its class and
    exact strength; one measured but not confirmed (class none) is not; a listed one keeps its fitted timescale."""
    mods = {"modifiers": [{"word": "not", "class": "attenuator", "strength": -0.84, "timescale": 5.6, "fit_r2": 0.99}],
            "known_words": [{"word": "not", "class": "attenuator", "m1": 0.16},
                            {"word": "n't", "class": "attenuator", "m1": 0.23},
                            {"word": "very", "class": "none", "m1": 1.10}]}
    k = U._known(mods)
    assert k["negators"]["not"] == {"class": "attenuator", "strength": -0.84, "timescale": 5.6}
    assert k["negators"]["n't"] == {"class": "attenuator", "strength": pytest.approx(-0.77), "timescale": None}
    assert k["intensifiers"]["very"] is None and k["negators"]["never"] is None
