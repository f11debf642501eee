"""Sweeps: spec validation and expansion (no Ray needed), the summary format, and a tiny two-trial sweep
through a local Ray instance (skipped without Ray, unless CI_REQUIRE_RAY=1)."""
import copy
import importlib.util
import json
import math
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from core.experiments import sweep
from core.experiments.sweep import SweepError, expand, validate_spec

ROOT = Path(__file__).resolve().parent.parent
GRID = {"name": "t", "data": "toy:train", "test_data": "toy:test",
        "space": {"arch": ["gru", "lstm"], "hidden_size": [8, 16], "seed": [0, 1]},
        "fixed": {"embed_dim": 8, "epochs": 1, "lr": 0.003}}
RANDOM = {"name": "r", "data": "toy:train", "search": "random", "num_samples": 20, "search_seed": 3,
          "space": {"arch": ["gru", "ugrnn"], "lr": {"loguniform": [1e-4, 1e-2]}, "seed": {"randint": [0, 4]},
                    "dropout": {"uniform": [0.0, 0.5]}}}


def settings_of_command(command: str) -> dict:
    """The TrainConfig settings `python -m core train ...` would use (what cmd_train builds)."""
    from core.tools.cli import build_parser
    from core.experiments.train import TrainConfig
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "core", "train"]
    args = vars(build_parser().parse_args(argv[3:]))
    cfg = asdict(TrainConfig(**{k: v for k, v in args.items() if k != "command"}))
    return {k: v for k, v in cfg.items() if k not in ("command", "resume")}


def test_grid_is_the_product_and_commands_reproduce_each_config():
    trials = expand(validate_spec(copy.deepcopy(GRID)))
    assert [t["id"] for t in trials] == [f"{i:03d}" for i in range(8)]
    assert [t["model"] for t in trials][:2] == ["t-000", "t-001"]
    combos = {(t["config"]["arch"], t["config"]["hidden_size"], t["config"]["seed"]) for t in trials}
    assert len(combos) == 8
    for t in trials:
        assert t["config"]["data"] == "toy:train" and t["config"]["lr"] == 0.003 and t["config"]["embed_dim"] == 8
        got = settings_of_command(sweep.train_command(t["model"], t["config"], "/tmp/out dir"))
        assert got["name"] == t["model"] and got["out_dir"] == "/tmp/out dir"
        assert all(got[k] == v for k, v in t["config"].items())


def test_random_search_is_reproducible_and_in_range():
    spec = validate_spec(copy.deepcopy(RANDOM))
    trials = expand(spec)
    assert len(trials) == 20 and trials == expand(spec)
    assert expand(dict(spec, search_seed=4)) != trials
    cfgs = [t["config"] for t in trials]
    assert {c["arch"] for c in cfgs} == {"gru", "ugrnn"}
    assert all(1e-4 <= c["lr"] <= 1e-2 and 0 <= c["dropout"] <= 0.5 and c["seed"] in range(5) for c in cfgs)
    assert all(isinstance(c["seed"], int) and isinstance(c["lr"], float) for c in cfgs)
    assert len({c["seed"] for c in cfgs}) > 1
    for t in trials[:3]:   # floats survive the command line exactly
        got = settings_of_command(sweep.train_command(t["model"], t["config"], None))
        assert got["lr"] == t["config"]["lr"] and got["dropout"] == t["config"]["dropout"] and got["out_dir"] is None


@pytest.mark.parametrize("change, message", [
    ({"epochz": 3}, "unknown key(s) epochz"),
    ({"fixed": {"hiden_size": 8}}, "unknown TrainConfig field 'hiden_size'"),
    ({"space": {"lr": {"loguniform": [0.0, 1e-2]}}, "fixed": {}, "search": "random", "num_samples": 2}, "bad range"),
    ({"space": {"lr": {"uniform": [1e-2, 1e-3]}}, "fixed": {}, "search": "random", "num_samples": 2}, "bad range"),
    ({"space": {"lr": {"loguniform": [1e-3, 1e-2]}}, "fixed": {}}, "grid search takes lists"),
    ({"space": {"hidden_size": {"uniform": [8, 16]}}, "search": "random", "num_samples": 2}, "does not fit"),
    ({"search": "random"}, "needs num_samples"),
    ({"num_samples": 3}, "belong to a random search"),
    ({"space": {"hidden_size": ["16"]}}, "hidden_size = '16' is not of type int"),
    ({"space": {"hidden_size": [8, -1]}}, "hidden_size must be positive"),
    ({"space": {"arch": ["gru", "transformer"]}}, "unknown arch 'transformer'"),
    ({"space": {"dropout": [1.0]}}, "out of range"),
    ({"space": {"seed": []}}, "an empty list"),
    ({"fixed": {"max_vocab": None}}, "max_vocab = None"),
    ({"fixed": {"out_dir": "elsewhere"}}, "set by the sweep itself"),
    ({"fixed": {"arch": "gru"}}, "arch given twice"),
    ({"name": "../up"}, "plain model name"),
    ({"search": "bayes"}, "search must be 'grid' or 'random'"),
    ({"analyze": {"n_seeds": 0}}, "analyze.n_seeds"),
    ({"analyze": {"points": 5}}, "analyze.points is unknown"),
    ({"fixed": {"device": "gpu"}}, "device must be one of cpu, cuda, not 'gpu'"),
    ({"fixed": {"device": "auto"}}, "device must be one of cpu, cuda"),
    ({"space": {"path": ["fused", "fast"]}}, "path must be one of auto, fused, step"),
])
def test_bad_specs_are_refused_with_a_clear_message(change, message):
    spec = dict(copy.deepcopy(GRID), **change)
    with pytest.raises(SweepError) as e:
        validate_spec(spec, "spec.json")
    assert message in str(e.value) and str(e.value).startswith("spec.json")


def test_trials_reserve_a_gpu_share_only_when_they_train_on_cuda():
    assert sweep.trial_resources({"device": "cuda"}, 0.25) == {"CPU": 1.0, "GPU": 0.25}
    assert sweep.trial_resources({"device": "cpu"}, 0.25) == {"CPU": 1.0}
    assert sweep.trial_resources({}, 1) == {"CPU": 1.0}
    assert sweep.trial_resources({"device": "cuda", "arch": "bow"}, 1) == {"CPU": 1.0}
    for bad in (0, -1, 1.5, float("nan")):   # Ray takes a share of one GPU, or whole GPUs
        with pytest.raises(SweepError, match="gpus per trial"):
            sweep.run_sweep(validate_spec(GRID), gpus_per_trial=bad)


def test_spec_without_data_and_spec_files():
    with pytest.raises(SweepError, match="no training data"):
        validate_spec({"name": "t", "space": {}})
    one = validate_spec({"name": "t", "space": {"data": ["toy:train", "toy-long:train"]}, "analyze": False})
    assert [t["config"]["data"] for t in expand(one)] == ["toy:train", "toy-long:train"] and one["analyze"] is None


def test_load_spec_reports_bad_json(tmp_path):
    p = tmp_path / "s.json"
    p.write_text("{not json")
    with pytest.raises(SweepError, match="not valid JSON"):
        sweep.load_spec(p)
    p.write_text(json.dumps(GRID))
    assert sweep.load_spec(p)["space"] == GRID["space"]


def test_summary_round_trip_and_listing(tmp_path):
    spec = validate_spec(copy.deepcopy(GRID))
    rows = [{"trial": t["id"], "model": t["model"], **t["config"], "status": "ok", "test_accuracy": 0.5 + i / 100}
            for i, t in enumerate(expand(spec))]
    written = sweep.write_summary(tmp_path, spec, rows, {"seconds": 1.0})
    assert sweep.list_sweeps(tmp_path) == [tmp_path / "t.sweep.json"]
    loaded = sweep.load_summary(tmp_path / "t.sweep.json")
    assert loaded == written and [r["test_accuracy"] for r in loaded] == [r["test_accuracy"] for r in rows]
    assert list(loaded[0])[:3] == ["trial", "model", "status"] and loaded[0]["n_fixed_points"] is None
    header = (tmp_path / "t.sweep.csv").read_text().splitlines()[0].split(",")
    assert header == list(loaded[0]) and len((tmp_path / "t.sweep.csv").read_text().splitlines()) == 9
    (tmp_path / "x.sweep.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(SweepError, match="not a sweep summary"):
        sweep.load_summary(tmp_path / "x.sweep.json")
    assert sweep.list_sweeps(tmp_path / "missing") == []


def test_without_ray_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` now raises ImportError
    with pytest.raises(SweepError, match="pip install -r requirements-ray.txt"):
        sweep.run_sweep(validate_spec(copy.deepcopy(GRID)), out_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def descendants(pid: int) -> set[int]:
    """Live processes below pid (from /proc)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.update(kids)
        todo += kids
    return out


RAY_MISSING = importlib.util.find_spec("ray") is None


@pytest.mark.skipif(RAY_MISSING and os.environ.get("CI_REQUIRE_RAY") != "1",
                    reason="Ray is not installed (pip install -r requirements-ray.txt); "
                           "CI_REQUIRE_RAY=1 makes this fail")
def test_tiny_sweep_through_ray(tmp_path):
    from core.models.store import load_model, read_json
    from core.data.toy import generate
    for n, seed, f in ((800, 0, "train.csv"), (300, 1, "test.csv")):
        ds = generate(n, seed=seed)
        (tmp_path / f).write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(ds.texts, ds.labels)))
    spec = validate_spec({"name": "tiny-sweep", "data": str(tmp_path / "train.csv"),
                          "test_data": str(tmp_path / "test.csv"),
                          "space": {"arch": ["gru", "lstm"]},
                          "fixed": {"embed_dim": 8, "hidden_size": 8, "epochs": 1, "lr": 0.005, "min_count": 1},
                          "analyze": {"n_seeds": 50, "n_texts": 50}})
    out = tmp_path / "models"
    before = descendants(os.getpid())
    rows = sweep.run_sweep(spec, out_dir=out, cpus=2, log=lambda m: None)
    assert descendants(os.getpid()) <= before, "Ray left processes behind"
    assert rows == sweep.load_summary(out / "tiny-sweep.sweep.json") and len(rows) == 2
    assert sweep.list_sweeps(out) == [out / "tiny-sweep.sweep.json"]
    for row, trial in zip(rows, expand(spec)):
        assert row["status"] == "ok" and row["model"] == trial["model"]
        assert {k: row[k] for k in trial["config"]} == trial["config"]
        assert row["seed"] == 0 and set(sweep.ROW_SETTINGS) <= set(row)   # defaults named too
        assert math.isfinite(row["test_accuracy"]) and math.isfinite(row["dev_accuracy"])
        assert row["train_seconds"] >= 0
        assert row["n_fixed_points"] + row["n_slow_points"] >= 1 and row["readout_min"] <= row["readout_max"]
        assert isinstance(row["reference_stable"], bool) and row["drift_tokens_per_logit"] > 0
        clf = load_model(out / row["model"])
        assert clf.config["arch"] == trial["config"]["arch"] and clf.predict_proba(["good", "not good"]).shape == (2,)
        metrics = read_json(out / row["model"] / "metrics.json")
        assert metrics["test_accuracy"] == row["test_accuracy"] and "1 threads" in metrics["machine"]
        assert settings_of_command(metrics["command"]) == metrics["settings"]
        assert metrics["settings"]["out_dir"] == str(out) and metrics["settings"]["arch"] == trial["config"]["arch"]
        assert list((out / row["model"] / "analyses").glob("dynamics-*.pt"))   # the analysis travels with the model
    assert sorted(p.name for p in out.iterdir()) == ["tiny-sweep-000", "tiny-sweep-001", "tiny-sweep.sweep.csv",
                                                     "tiny-sweep.sweep.json"]
    assert not list(ROOT.glob("**/*tiny-sweep*")), "the sweep wrote into the repository"
    import torch
    if not torch.cuda.is_available():   # a GPU trial on a cluster without one is refused, not left waiting
        on_gpu = validate_spec(dict(spec, fixed=dict(spec["fixed"], device="cuda"), name="gpu-sweep"))
        with pytest.raises(SweepError, match="reserve 1 GPU each, but this Ray cluster has 0"):
            sweep.run_sweep(on_gpu, out_dir=out, cpus=1, log=lambda m: None)
        assert not (out / "gpu-sweep.sweep.json").exists() and descendants(os.getpid()) <= before
