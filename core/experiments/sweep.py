"""Sweeps: train and analyse a grid or random search of RNNs with Ray Tune, locally or on a Ray cluster.

A spec (JSON) names the sweep, its data, the search space and the fixed training settings; `expand` turns
it into a reproducible list of trials (no Ray needed), each a TrainConfig. Ray Tune runs them, one CPU and
one thread per trial (and a share of a GPU for a trial with device cuda); every trial trains through
`core.experiments.train.train`, runs the default dynamics analysis (`core.analysis.dynamics.dynamics`, shipped into the model's `analyses/`) and hands its model folder back as a
Tune checkpoint, which lands in `<out-dir>/<sweep name>-<trial id>/`. One summary table,
`<out-dir>/<sweep name>.sweep.json` (and `.csv`), holds a row per trial. Ray is optional
(`requirements-ray.txt`) and imported only when a sweep runs.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import itertools
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.analysis.dynamics import dynamics
from core.analysis.settings import Settings
from core.experiments.train import TrainConfig, invocation, train
from core.models.rnn import ARCHS
from core.models.store import MODELS_DIR, is_model_name, read_json
from core.storage.io import atomic_write_json, atomic_write_text

SPEC_KEYS = {"name", "data", "test_data", "search", "num_samples", "search_seed", "space", "fixed", "analyze"}
SET_BY_SWEEP = {"name", "out_dir", "command", "resume"}   # TrainConfig fields a spec may not set
ROW_SETTINGS = ("data", "arch", "embed_dim", "hidden_size", "lr", "epochs", "seed")   # in every row, defaults included
# A sweep names its device: Ray hides the GPUs from a trial that reserved none, so "auto" would mean cpu.
CHOICES = {"device": ("cpu", "cuda"), "path": ("auto", "fused", "step")}
ANALYZE_KEYS = {"n_seeds": int, "n_texts": int, "neutral": str}
DISTRIBUTIONS = ("uniform", "loguniform", "randint")
POSITIVE = {"embed_dim", "hidden_size", "epochs", "batch_size", "lr", "min_count", "max_len", "max_vocab"}
NON_NEGATIVE = {"weight_decay", "clip", "neutral_insert", "seed", "patience"}
FORMAT_VERSION = 1
SUMMARY_SUFFIX = ".sweep.json"
RESULT_COLUMNS = ("test_accuracy", "dev_accuracy", "train_seconds", "epochs_run", "n_fixed_points", "n_slow_points",
                  "readout_min", "readout_max", "reference_stable", "slowest_timescale", "drift_tokens_per_logit",
                  "analysis_seconds", "warnings")
RAY_INSTALL = "pip install -r requirements-ray.txt"
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}
ROOT = Path(__file__).resolve().parents[2]


class SweepError(ValueError):
    """A bad sweep spec or summary, or a sweep that cannot run (e.g. Ray missing)."""


def _json_file(p: Path, what: str, bad: str):
    """The JSON in file p; SweepError "no such <what>" or "<bad> (<reason>)" naming the file."""
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"{p}: no such {what}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SweepError(f"{p}: {bad} ({e})") from None


def load_spec(path: str | Path) -> dict:
    """The validated spec in a JSON file."""
    p = Path(path)
    return validate_spec(_json_file(p, "sweep spec", "not valid JSON"), str(p))


def _field_types() -> dict[str, tuple[set[str], Any]]:
    """TrainConfig's settable fields: {name: (allowed type names, default)}."""
    out = {}
    for f in fields(TrainConfig):
        if f.name not in SET_BY_SWEEP:
            types = {t.strip() for t in str(f.type).split("|")}
            out[f.name] = (types, None if f.default is MISSING else f.default)
    return out


def _check_value(key: str, value: Any, types: set[str], default: Any, where: str) -> None:
    """SweepError unless value fits TrainConfig field `key` (its type, range and choices)."""
    ok = (value is None and "None" in types and default is None
          or isinstance(value, bool) and "bool" in types
          or isinstance(value, int) and not isinstance(value, bool) and types & {"int", "float"}
          or isinstance(value, float) and "float" in types and math.isfinite(value)
          or isinstance(value, str) and "str" in types)
    if not ok:
        want = " or ".join(sorted(t for t in types if t != "None" or default is None))
        raise SweepError(f"{where}: {key} = {value!r} is not of type {want}")
    if value is None or isinstance(value, (bool, str)):
        if key == "arch" and value not in ARCHS + ("bow", "bigram"):
            raise SweepError(f"{where}: unknown arch {value!r}; choose from {', '.join(ARCHS + ('bow', 'bigram'))}")
        if key == "truncate" and value not in ("head", "tail"):
            raise SweepError(f"{where}: truncate must be 'head' or 'tail', not {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise SweepError(f"{where}: {key} must be one of {', '.join(CHOICES[key])}, not {value!r}")
        return
    if key in POSITIVE and value <= 0 or key in NON_NEGATIVE and value < 0:
        raise SweepError(f"{where}: {key} must be {'positive' if key in POSITIVE else '>= 0'}, not {value!r}")
    if key == "dropout" and not 0 <= value < 1 or key == "dev_fraction" and not 0 < value < 1:
        raise SweepError(f"{where}: {key} = {value!r} is out of range ({'[0, 1)' if key == 'dropout' else '(0, 1)'})")


def _check_axis(key: str, axis: Any, types: set[str], default: Any, search: str, where: str) -> None:
    """SweepError unless `axis` is a non-empty list of valid values, or (random search) a distribution."""
    where = f"{where}: space.{key}"
    if isinstance(axis, list):
        if not axis:
            raise SweepError(f"{where}: an empty list")
        for v in axis:
            _check_value(key, v, types, default, where)
        return
    if not (isinstance(axis, dict) and len(axis) == 1 and next(iter(axis)) in DISTRIBUTIONS):
        raise SweepError(f"{where}: expected a list of values or one of "
                         + ", ".join(f'{{"{d}": [low, high]}}' for d in DISTRIBUTIONS))
    if search != "random":
        raise SweepError(f"{where}: a grid search takes lists of values; distributions need \"search\": \"random\"")
    kind, bounds = next(iter(axis.items()))
    if kind == "randint" and "int" not in types or kind != "randint" and "float" not in types:
        raise SweepError(f"{where}: {kind} does not fit a {' or '.join(sorted(types - {'None'}))} setting")
    if not (isinstance(bounds, list) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)):
        raise SweepError(f"{where}: {kind} takes [low, high], two numbers")
    low, high = bounds
    if kind == "randint" and not all(isinstance(b, int) for b in bounds):
        raise SweepError(f"{where}: randint bounds must be integers")
    if not low < high or kind == "loguniform" and low <= 0:
        raise SweepError(f"{where}: bad range {bounds} (need low < high{', low > 0' if kind == 'loguniform' else ''})")
    for b in bounds:
        _check_value(key, b, types, default, where)


def validate_spec(spec: Any, where: str = "spec") -> dict:
    """The spec with defaults filled in ("search": "grid", "analyze": {} meaning the default analysis, or
    None for none); SweepError naming the first problem (unknown keys, bad ranges, unknown TrainConfig fields)."""
    if not isinstance(spec, dict):
        raise SweepError(f"{where}: a sweep spec is a JSON object")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise SweepError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                         f"a spec has {', '.join(sorted(SPEC_KEYS))}")
    name = spec.get("name")
    if not is_model_name(name) or not is_model_name(f"{name}-000"):
        raise SweepError(f"{where}: name {name!r} must be a plain model name (letters, digits, '.', '_', '-')")
    search = spec.get("search", "grid")
    if search not in ("grid", "random"):
        raise SweepError(f"{where}: search must be 'grid' or 'random', not {search!r}")
    if search == "random":
        n = spec.get("num_samples")
        if not (isinstance(n, int) and not isinstance(n, bool) and n > 0):
            raise SweepError(f"{where}: a random search needs num_samples, a positive integer (got {n!r})")
        seed = spec.get("search_seed", 0)
        if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
            raise SweepError(f"{where}: search_seed must be an integer >= 0, not {seed!r}")
    elif "num_samples" in spec or "search_seed" in spec:
        raise SweepError(f"{where}: num_samples and search_seed belong to a random search; "
                         "a grid runs every combination")
    space, fixed = spec.get("space", {}), spec.get("fixed", {})
    for key, part in (("space", space), ("fixed", fixed)):
        if not isinstance(part, dict):
            raise SweepError(f"{where}: {key} must be an object of TrainConfig settings")
    types = _field_types()
    top = {k: spec[k] for k in ("data", "test_data") if k in spec}
    for key in [*space, *fixed]:
        if key in SET_BY_SWEEP:
            raise SweepError(f"{where}: {key} is set by the sweep itself (models are <out-dir>/<name>-<trial id>)")
        if key not in types:
            raise SweepError(f"{where}: unknown TrainConfig field {key!r}; known: {', '.join(sorted(types))}")
    twice = set(space) & (set(fixed) | set(top)) | set(fixed) & set(top)
    if twice:
        raise SweepError(f"{where}: {', '.join(sorted(twice))} given twice (in space, fixed or at the top level)")
    for key, axis in space.items():
        _check_axis(key, axis, *types[key], search, where)
    for key, value in {**top, **fixed}.items():
        _check_value(key, value, *types[key], f"{where}: fixed" if key in fixed else where)
    if "data" not in top and "data" not in fixed and "data" not in space:
        raise SweepError(f"{where}: no training data: set \"data\" (a named dataset or a path)")
    analyze = spec.get("analyze", True)
    if isinstance(analyze, bool):
        analyze = {} if analyze else None
    elif isinstance(analyze, dict):
        for k, v in analyze.items():
            if k not in ANALYZE_KEYS:
                raise SweepError(f"{where}: analyze.{k} is unknown; analyze takes {', '.join(ANALYZE_KEYS)}")
            if not isinstance(v, ANALYZE_KEYS[k]) or isinstance(v, bool) or isinstance(v, int) and v <= 0:
                want = "positive integer" if ANALYZE_KEYS[k] is int else "string"
                raise SweepError(f"{where}: analyze.{k} = {v!r} must be a {want}")
    else:
        raise SweepError(f"{where}: analyze must be true, false or an object like {{\"n_seeds\": 200}}")
    sampling = {"num_samples": spec["num_samples"], "search_seed": spec.get("search_seed", 0)} \
        if search == "random" else {}
    return {"name": name, "search": search, **sampling, "space": space, "fixed": {**top, **fixed}, "analyze": analyze}


def _sample(axis: Any, rng: np.random.Generator) -> Any:
    """One draw of a random-search axis: a list element or a value of a distribution."""
    if isinstance(axis, list):
        return axis[int(rng.integers(len(axis)))]
    kind, (low, high) = next(iter(axis.items()))
    if kind == "randint":
        return int(rng.integers(low, high + 1))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def expand(spec: dict) -> list[dict]:
    """The trials of a validated spec, in order: {"id", "model", "config" (the TrainConfig settings other
    than name, out_dir and command: the fixed ones and this trial's draw from the space)}. A grid is the
    product of the space's lists (in their order); a random search draws num_samples settings with numpy's
    generator seeded by search_seed."""
    space = spec["space"]
    if spec["search"] == "grid":
        combos = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    else:
        rng = np.random.default_rng(spec["search_seed"])
        combos = [{k: _sample(axis, rng) for k, axis in space.items()} for _ in range(spec["num_samples"])]
    width = max(3, len(str(len(combos) - 1)))
    return [{"id": f"{i:0{width}d}", "model": f"{spec['name']}-{i:0{width}d}",
             "config": {**spec["fixed"], **params}} for i, params in enumerate(combos)]


def train_command(model: str, config: dict, out_dir: str | None) -> str:
    """The `python -m core train` command that trains this config into <out_dir>/<model> (out_dir None:
    models/): every setting that differs from TrainConfig's default, as its CLI flag."""
    args = ["python", "-m", "core", "train", "--name", model]
    for key, (_, default) in _field_types().items():
        value = config.get(key, default)
        if value != default:
            args += [f"--{key.replace('_', '-')}", repr(value) if isinstance(value, float) else str(value)]
    if out_dir is not None:
        args += ["--out-dir", out_dir]
    return " ".join(shlex.quote(a) for a in args)


def analysis_figures(summary: dict) -> dict:
    """The few figures of a dynamics summary that a sweep's table keeps."""
    lo, hi = summary["attractor_readout_range"]
    top = summary.get("timescales_top") or [None]
    return {"n_fixed_points": summary["n_fixed_points"], "n_slow_points": summary["n_slow_points"],
            "readout_min": lo, "readout_max": hi, "reference_stable": summary["reference_stable"],
            "slowest_timescale": top[0], "drift_tokens_per_logit": summary["drift_tokens_per_logit"],
            "analysis_seconds": summary.get("seconds"), "warnings": " | ".join(summary.get("warnings", []))}


def run_trial(config: dict) -> None:
    """Ray Tune trainable (runs in a Ray worker): train one trial into a temporary folder, analyse it and
    report its figures with the model folder as the checkpoint; nothing stays behind on the worker."""
    from ray import tune  # lazy: Ray is an optional extra (sweeps only)
    trial = config["trial"]
    work = Path(tempfile.mkdtemp(prefix=f"sweep-{trial['model']}-"))
    os.environ["SENTIMENT_CACHE_DIR"] = str(work / "cache")   # the analysis cache stays out of the repository
    try:
        def log(message: str) -> None:
            print(f"[{trial['model']}] {message}", flush=True)

        metrics = train(TrainConfig(name=trial["model"], out_dir=str(work), command=trial["command"],
                                    **trial["config"]), log=log)
        row = {k: metrics.get(k) for k in ("test_accuracy", "dev_accuracy", "train_seconds", "epochs_run")}
        analyze = config["analyze"]
        if analyze is not None and metrics["kind"] == "rnn":
            try:
                res = dynamics(Settings.of(work / trial["model"], data_root=trial["config"].get("data_root"),
                                           **analyze), log=log, ship=True)
                row.update(analysis_figures(res["summary"]))
            except (RuntimeError, ValueError) as e:   # e.g. no fixed point found: the model itself is kept
                row["warnings"] = f"analysis failed: {e}"
        tune.report(row, checkpoint=tune.Checkpoint.from_directory(str(work / trial["model"])))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _import_ray():
    """ray and ray.tune, or SweepError saying how to install them."""
    for k, v in RAY_ENV.items():
        os.environ.setdefault(k, v)
    try:
        import ray  # lazy: Ray is an optional extra (sweeps only)
        from ray import tune  # lazy: Ray is an optional extra (sweeps only)
    except ImportError as e:
        raise SweepError(f"sweeps need Ray Tune, which is not installed ({e}): {RAY_INSTALL}") from None
    return ray, tune


def _install_model(checkpoint, target: Path, out_dir: str | None) -> None:
    """Copy a trial's checkpoint (its model folder) to target, replacing any older folder only once the new
    one is complete; its metrics record out_dir, where the reproducing command writes it."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)   # a model folder like any other (mkdtemp makes it private)
    try:
        checkpoint.to_directory(str(staging))
        metrics = read_json(staging / "metrics.json")
        metrics["settings"]["out_dir"] = out_dir
        atomic_write_json(staging / "metrics.json", metrics)
        old = target.with_name(f".{target.name}.old") if target.exists() else None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        staging.rename(target)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _start_ray(ray, address: str | None, cpus: int | None, tmp: Path, verbose: bool) -> None:
    """ray.init: a private local instance (cpus CPUs, temp files under tmp), or a connection to a cluster,
    whose nodes get this code (they need requirements.txt installed, and the datasets a spec names)."""
    threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **RAY_ENV}
    if address is None:
        ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=str(tmp / "ray"), log_to_driver=verbose,
                 object_store_memory=256 * 1024 ** 2, logging_level="WARNING",
                 runtime_env={"env_vars": {**threads, "PYTHONPATH": str(ROOT)}})
        return
    try:
        ray.init(address=address, log_to_driver=verbose, logging_level="WARNING",
                 runtime_env={"env_vars": threads, "py_modules": [str(ROOT / "core")]})
    except ConnectionError as e:
        raise SweepError(f"cannot reach the Ray cluster at {address}: {e}") from None


def trial_resources(trial_config: dict, gpus_per_trial: float) -> dict[str, float]:
    """What Ray reserves for one trial: one CPU, and gpus_per_trial of a GPU when it trains with --device cuda
    (Ray hides the GPUs from a trial that reserved none); a bag-of-words trial never needs one."""
    on_gpu = trial_config.get("device") == "cuda" and trial_config.get("arch") not in ("bow", "bigram")
    return {"CPU": 1.0, **({"GPU": float(gpus_per_trial)} if on_gpu else {})}


def _check_gpus(ray, trials: list[dict], gpus_per_trial: float) -> None:
    """SweepError when a trial trains on a GPU and the Ray cluster has fewer GPUs than one trial reserves (it
    would wait forever)."""
    have = ray.cluster_resources().get("GPU", 0)
    if any(trial_resources(t["config"], gpus_per_trial).get("GPU") for t in trials) and have < gpus_per_trial:
        raise SweepError(f"trials train with device cuda and reserve {gpus_per_trial:g} GPU each, but this Ray "
                         f"cluster has {have:g}; use device cpu, fewer --gpus-per-trial, or a cluster with GPUs "
                         "(--address)")


def _describe(row: dict) -> str:
    """One log line for a finished trial."""
    if row["status"] != "ok":
        return f"{row['model']}: failed ({row['error']})"
    test = f", test {row['test_accuracy']:.4f}" if row["test_accuracy"] is not None else ""
    return f"{row['model']}: dev accuracy {row['dev_accuracy']:.4f}{test}"


def run_sweep(spec: dict, out_dir: str | Path | None = None, cpus: int | None = None, address: str | None = None,
              storage: str | None = None, verbose: bool = False, log: Callable[[str], None] = print,
              gpus_per_trial: float = 1.0) -> list[dict]:
    """Run a validated spec with Ray Tune and write the summary; returns its rows (see write_summary).

    Without `address`, a private local Ray instance with `cpus` CPUs (default min(2, cores)) runs the trials,
    one CPU each (and `gpus_per_trial` of a GPU for a trial with device cuda, see trial_resources); with
    `address` ("auto" or "ray://host:port") an existing cluster does, at most `cpus` at once when given. `storage`: where Tune keeps the trials' checkpoints (default: a temporary folder here; a
    multi-node cluster needs one every node and this machine can reach, such as NFS or s3://...). A failed
    trial is a row with status "error"; the others still land."""
    if not (math.isfinite(gpus_per_trial) and 0 < gpus_per_trial and (gpus_per_trial <= 1 or gpus_per_trial % 1 == 0)):
        raise SweepError(f"gpus per trial must be a share of one GPU (0 < g <= 1) or a whole number, "
                         f"not {gpus_per_trial!r}")
    ray, tune = _import_ray()
    out = Path(out_dir) if out_dir is not None else MODELS_DIR
    recorded_out = str(out_dir) if out_dir is not None else None
    trials = [dict(t, command=train_command(t["model"], t["config"], recorded_out)) for t in expand(spec)]
    if address is None:
        cpus = cpus or min(2, os.cpu_count() or 1)
    tmp = Path(tempfile.mkdtemp(prefix="sweep-ray-"))
    started, t0 = time.strftime("%Y-%m-%dT%H:%M:%S"), time.time()
    try:
        _start_ray(ray, address, cpus, tmp, verbose)
        _check_gpus(ray, trials, gpus_per_trial)
        log(f"sweep {spec['name']}: {len(trials)} trials on {address or f'this machine ({cpus} CPUs)'}")
        tuner = tune.Tuner(
            tune.with_resources(run_trial, lambda cfg: tune.PlacementGroupFactory(
                [trial_resources(cfg["trial"]["config"], gpus_per_trial)])),
            param_space={"trial": tune.grid_search(trials), "analyze": spec["analyze"]},
            tune_config=tune.TuneConfig(max_concurrent_trials=cpus,
                                        trial_name_creator=lambda t: t.config["trial"]["model"],
                                        trial_dirname_creator=lambda t: t.config["trial"]["model"]),
            run_config=tune.RunConfig(name=spec["name"], storage_path=storage or str(tmp / "tune"),
                                      verbose=1 if verbose else 0))
        with contextlib.redirect_stdout(sys.stderr):   # Tune's tables: stdout is for the result (--json)
            results = tuner.fit()
        out.mkdir(parents=True, exist_ok=True)
        defaults = {k: default for k, (_, default) in _field_types().items() if k in ROW_SETTINGS}
        rows = []
        for res in sorted(results, key=lambda r: r.config["trial"]["id"]):
            trial = res.config["trial"]
            row = {"trial": trial["id"], "model": trial["model"], **defaults, **trial["config"]}
            if res.error is None and res.checkpoint is not None:
                _install_model(res.checkpoint, out / trial["model"], recorded_out)
                row.update({k: res.metrics.get(k) for k in RESULT_COLUMNS}, status="ok", error=None)
            else:
                lines = str(res.error).strip().splitlines()   # a traceback: its last line says what went wrong
                row.update(dict.fromkeys(RESULT_COLUMNS), status="error", error=lines[-1] if lines else repr(res.error))
            rows.append(row)
            log(_describe(row))
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return write_summary(out, spec, rows, {"started": started, "seconds": round(time.time() - t0, 1),
                                           "command": invocation(), "address": address, "cpus": cpus,
                                           "ray": ray.__version__})


def write_summary(out_dir: Path, spec: dict, rows: list[dict], info: dict) -> list[dict]:
    """Write <out_dir>/<name>.sweep.json (spec, run info, columns, rows) and the same rows as .csv; returns
    the rows as written: trial, model, status, the trial's settings (at least ROW_SETTINGS), RESULT_COLUMNS,
    error."""
    fixed_columns = {"trial", "model", "status", "error", *RESULT_COLUMNS}
    settings = dict.fromkeys(k for r in rows for k in r if k not in fixed_columns)
    columns = ["trial", "model", "status", *settings, *RESULT_COLUMNS, "error"]
    table = [{c: r.get(c) for c in columns} for r in rows]
    path = Path(out_dir) / f"{spec['name']}{SUMMARY_SUFFIX}"
    atomic_write_json(path, {"format": "sweep", "version": FORMAT_VERSION, "name": spec["name"], "spec": spec,
                             **info, "columns": columns, "rows": table})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    atomic_write_text(path.with_name(f"{spec['name']}.sweep.csv"), buf.getvalue())
    return table


def load_summary(path: str | Path) -> list[dict]:
    """The rows of a sweep summary (.sweep.json): one dict per trial with trial, model (the folder name
    beside the summary), status, its settings and results; SweepError for a file that is not one."""
    p = Path(path)
    doc = _json_file(p, "sweep summary", "corrupt sweep summary")
    if not (isinstance(doc, dict) and doc.get("format") == "sweep" and isinstance(doc.get("rows"), list)
            and all(isinstance(r, dict) and "model" in r for r in doc["rows"])):
        raise SweepError(f"{p}: not a sweep summary")
    if doc.get("version", 0) > FORMAT_VERSION:
        raise SweepError(f"{p}: sweep format {doc['version']} is newer than this code ({FORMAT_VERSION})")
    return doc["rows"]


def list_sweeps(models_dir: str | Path | None = None) -> list[Path]:
    """The sweep summaries (.sweep.json) in a models folder (default models/), sorted by name."""
    d = Path(models_dir) if models_dir is not None else MODELS_DIR
    return sorted(d.glob(f"*{SUMMARY_SUFFIX}")) if d.is_dir() else []


def add_parser(sub) -> None:
    """The `sweep` subcommand."""
    s = sub.add_parser("sweep", help="train and analyse a grid or random search of models with Ray Tune "
                       f"(optional: {RAY_INSTALL})")
    s.add_argument("spec", help="JSON file: name, data, test_data, search (grid|random), num_samples, space, fixed, "
                   "analyze")
    s.add_argument("--cpus", type=int, default=None, help="CPUs to use, one trial each (local default: 2 or fewer; "
                   "on a cluster: at most this many trials at once)")
    s.add_argument("--address", default=None,
                   help="an existing Ray cluster: 'auto' or ray://host:port (default: run here)")
    s.add_argument("--out-dir", default=None, help="folder for the model folders and the summary (default models/)")
    s.add_argument("--storage", default=None,
                   help="Tune's storage for trial checkpoints (default: a temporary folder; a multi-node cluster needs "
                        "a path or URI every node and this machine reach, e.g. NFS or s3://...)")
    s.add_argument("--gpus-per-trial", type=float, default=1.0,
                   help="the share of a GPU Ray reserves for each trial with device cuda (0.25: four trials share one)")
    s.add_argument("--dry-run", action="store_true", help="validate the spec and list its trials; run nothing")
    s.add_argument("--json", action="store_true",
                   help="print the summary rows (or, with --dry-run, the trials) as JSON")
    s.add_argument("-v", "--verbose", action="store_true", help="show Tune's progress and the trials' logs")


def run(args: argparse.Namespace) -> int:
    """`python -m core sweep`."""
    spec = load_spec(args.spec)
    if args.cpus is not None and args.cpus < 1:
        raise SweepError("--cpus must be at least 1")
    if args.dry_run:
        trials = [dict(t, command=train_command(t["model"], t["config"], args.out_dir)) for t in expand(spec)]
        if args.json:
            print(json.dumps(trials, indent=2))
        else:
            print(f"{spec['name']}: {len(trials)} trials")
            for t in trials:
                print(f"  {t['model']}: {t['command']}")
        return 0
    rows = run_sweep(spec, args.out_dir, args.cpus, args.address, args.storage, args.verbose,
                     log=lambda m: print(m, file=sys.stderr, flush=True), gpus_per_trial=args.gpus_per_trial)
    if args.json:
        print(json.dumps(rows))
    else:
        out = Path(args.out_dir) if args.out_dir else None
        print(f"wrote {(out or Path('models')) / (spec['name'] + SUMMARY_SUFFIX)} ({len(rows)} trials, "
              f"{sum(r['status'] == 'ok' for r in rows)} ok)")
    return 0 if all(r["status"] == "ok" for r in rows) else 1
