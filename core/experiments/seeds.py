"""Seeds of one network: models trained with the same command but another random seed, and their accuracy
spread.

A model `<base>-seed<N>` is a seed of the model `<base>` when both are RNNs and their recorded training settings
(metrics.json `settings`) agree on everything but the seed and what does not change the network's training: its
name, output folder, device, the step path (the same equations) and a vocabulary borrowed from the base itself
(`--vocab-from <base>`, so every seed reads the same words). A name that only looks like a seed, trained with other
settings, is not one: its accuracy would measure the settings, not the seed; nor is a run with a seed already in
the group (the same run again would shrink the spread). Settings `train` no longer has (recorded by older models
only) are not compared.

The spread is over all seeds including the base; the standard deviation is the sample one (n - 1).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from core.models.store import MODELS_DIR, list_models, read_json

SEED_NAME = re.compile(r"^(?P<base>.+)-seed(?P<n>\d+)$")
NOT_TRAINING = {"name", "seed", "out_dir", "device", "path", "data_root", "resume", "command"}


def _settings(info: dict) -> dict | None:
    met = Path(info["path"]) / "metrics.json"
    return read_json(met).get("settings") if met.exists() else None


def same_training(base: dict | None, other: dict | None, base_name: str) -> bool:
    """Whether two recorded training settings differ only in the seed and what does not change the training
    (see the module docstring). Compared on the settings the seed records (trained later, by today's `train`: a
    setting it lacks is one `train` no longer has); an older model that lacks a setting, or records it as None,
    trained with it off (None, 0, False and absent are one value)."""
    if base is None or other is None:
        return False

    def off(v):
        return None if v in (None, 0, False, "") else v

    keys = set(other) - NOT_TRAINING - {"vocab_from"}
    vocab = other.get("vocab_from")
    vocab_ok = vocab == base.get("vocab_from") or (vocab is not None and Path(str(vocab)).name == base_name)
    return vocab_ok and all(off(base.get(k)) == off(other.get(k)) for k in keys)


def seed_groups(models: list[dict] | None = None) -> dict[str, list[dict]]:
    """{base name: [the base's info, then each seed's, by seed number]} for every RNN with at least one seed
    (`list_models` infos, each with its "seed" added)."""
    models = list_models(MODELS_DIR) if models is None else models
    rnns = {m["name"]: m for m in models if m["kind"] == "rnn"}
    settings: dict[str, dict | None] = {}     # each metrics.json read once

    def of(name: str) -> dict | None:
        if name not in settings:
            settings[name] = _settings(rnns[name])
        return settings[name]

    groups: dict[str, list[tuple[int, dict]]] = {}
    for name, info in rnns.items():
        hit = SEED_NAME.match(name)
        if hit and hit["base"] in rnns and same_training(of(hit["base"]), of(name), hit["base"]):
            groups.setdefault(hit["base"], []).append((int(hit["n"]), info))
    out = {}
    for base_name, seeds in sorted(groups.items()):
        base = rnns[base_name]
        members = [{**base, "seed": (of(base_name) or {}).get("seed", 0)}]
        for n, info in sorted(seeds, key=lambda t: t[0]):
            seed = (of(info["name"]) or {}).get("seed", n)
            if seed not in {m["seed"] for m in members}:   # the same seed again is the same run, not another seed
                members.append({**info, "seed": seed})
        if len(members) > 1:
            out[base_name] = members
    return out


def group_of(name: str, models: list[dict] | None = None) -> tuple[str, list[dict]] | None:
    """(base name, its group) for a model that is a base or a seed of one; None for a model trained once."""
    for base, group in seed_groups(models).items():
        if name in [m["name"] for m in group]:
            return base, group
    return None


def accuracy_spread(group: list[dict]) -> dict | None:
    """Test accuracy over the seeds that record one: {"n", "mean", "sd" (n - 1; None for one), "min", "max",
    "values": {model: accuracy}}; None when none records one."""
    values = {m["name"]: m["test_accuracy"] for m in group if m.get("test_accuracy") is not None}
    if not values:
        return None
    xs = list(values.values())
    mean = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return {"n": len(xs), "mean": mean, "sd": sd, "min": min(xs), "max": max(xs), "values": values}


def spread_text(spread: dict | None, pct: str = ".1%") -> str:
    """'3 seeds: 89.3% ± 0.2% (89.1%-89.5%)', or '' where there is no spread to show."""
    if not spread or spread["n"] < 2:
        return ""
    return (f"{spread['n']} seeds: {format(spread['mean'], pct)} ± {format(spread['sd'], pct)} "
            f"({format(spread['min'], pct)}–{format(spread['max'], pct)})")


def pretrained_from(models: list[dict] | None = None) -> dict[str, str]:
    """{model fine-tuned from a language model (`train --init-from-lm`): the network trained in several seeds
    with the same settings from scratch}, so what pretraining changed is read against the seeds' own spread. The
    vocabulary is not compared: a pretrained model reads its language model's words (`--vocab-from` a model with
    that vocabulary where the data differ), so pretraining brings its vocabulary with it."""
    models = list_models(MODELS_DIR) if models is None else models
    groups = seed_groups(models)
    out = {}
    for m in models:
        met = Path(m["path"]) / "metrics.json"
        if m["kind"] != "rnn" or not met.exists():
            continue
        metrics = read_json(met)
        if not metrics.get("pretrained"):
            continue
        own = {k: v for k, v in (metrics.get("settings") or {}).items() if k not in ("init_from_lm", "vocab_from")}
        for base, group in groups.items():
            if same_training({k: v for k, v in (_settings(group[0]) or {}).items() if k != "vocab_from"}, own, base):
                out[m["name"]] = base
    return out
