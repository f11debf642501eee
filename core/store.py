"""Model folders: `models/<name>/` with config.json, vocab.json, weights.pt and metrics.json.

Weights are plain tensors loaded with `torch.load(..., weights_only=True)`; every file is written
atomically, and anything missing, truncated or inconsistent raises `ModelError` naming the file.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from core.io import atomic_write, atomic_write_json
from core.text import Vocab

FORMAT_VERSION = 1
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class ModelError(RuntimeError):
    """A model folder that is missing, corrupt or inconsistent."""


def resolve_model_dir(name_or_path: str | Path) -> Path:
    """A model folder from a path, or a name under the project's models/ folder."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    q = MODELS_DIR / str(name_or_path)
    if q.is_dir():
        return q
    shipped = sorted(d.name for d in MODELS_DIR.iterdir() if (d / "config.json").exists()) if MODELS_DIR.is_dir() else []
    raise ModelError(f"no model folder {str(name_or_path)!r} (shipped models: {', '.join(shipped) or 'none'})")


def save_model_dir(path: Path, config: dict, vocab: Vocab, weights: dict[str, torch.Tensor],
                   metrics: dict | None = None, extra_json: dict[str, Any] | None = None) -> None:
    """Write a model folder; weights are stored in float16 where they are floating point."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.detach().to(torch.float16) if v.is_floating_point() else v.detach()).contiguous()
               for k, v in weights.items()}
    atomic_write(path / "weights.pt", lambda f: torch.save(tensors, f))
    vocab.save(path / "vocab.json")
    for name, obj in (extra_json or {}).items():
        atomic_write_json(path / name, obj)
    atomic_write_json(path / "config.json", dict(config, format_version=FORMAT_VERSION))
    if metrics is not None:
        atomic_write_json(path / "metrics.json", metrics)


def read_json(path: Path) -> Any:
    if not path.exists():
        raise ModelError(f"{path}: missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: corrupt JSON ({e})") from None


def load_model_dir(path: Path) -> tuple[dict, Vocab, dict[str, torch.Tensor]]:
    """(config, vocab, float32 weights) of a model folder, validated."""
    path = Path(path)
    config = read_json(path / "config.json")
    if not isinstance(config, dict) or "kind" not in config:
        raise ModelError(f"{path / 'config.json'}: not a model config (no 'kind')")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ModelError(f"{path}: format version {config['format_version']} is newer than this code ({FORMAT_VERSION})")
    try:
        vocab = Vocab.load(path / "vocab.json")
    except FileNotFoundError:
        raise ModelError(f"{path / 'vocab.json'}: missing") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelError(f"{path / 'vocab.json'}: corrupt ({e})") from None
    wpath = path / "weights.pt"
    if not wpath.exists():
        raise ModelError(f"{wpath}: missing")
    try:
        weights = torch.load(wpath, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickle with code, garbage bytes...
        raise ModelError(f"{wpath}: cannot be read as a weights file ({type(e).__name__}: {e})") from None
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ModelError(f"{wpath}: expected a dict of tensors")
    return config, vocab, {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}


def model_checksum(path: Path) -> str:
    """SHA-256 of the weights, vocabulary and config: the key for caches of this model's analyses."""
    h = hashlib.sha256()
    for name in ("config.json", "vocab.json", "weights.pt"):
        f = Path(path) / name
        if f.exists():
            h.update(name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def load_model(name_or_path: str | Path):
    """A ready classifier (RNNClassifier, BowClassifier or AugmentedBow) from a model folder or shipped name."""
    from core.bow import BowClassifier
    from core.rnn import RNNClassifier
    path = resolve_model_dir(name_or_path)
    config, vocab, weights = load_model_dir(path)
    kind = config["kind"]
    try:
        if kind == "rnn":
            clf = RNNClassifier.from_parts(config, vocab, weights)
        elif kind in ("bow", "bigram"):
            clf = BowClassifier.from_parts(config, vocab, weights)
        elif kind == "augmented":
            from core.augmented import AugmentedBow
            clf = AugmentedBow.from_parts(config, vocab, weights)
        else:
            raise ModelError(f"{path / 'config.json'}: unknown model kind {kind!r}")
    except (KeyError, RuntimeError, ValueError) as e:
        if isinstance(e, ModelError):
            raise
        raise ModelError(f"{path}: weights do not match config.json ({type(e).__name__}: {str(e)[:300]})") from None
    clf.path, clf.name = path, path.name
    return clf


def list_models(models_dir: Path = MODELS_DIR) -> list[dict]:
    """Shipped models with their kind, dataset and test accuracy (from config.json / metrics.json)."""
    out = []
    for d in sorted(Path(models_dir).iterdir()) if Path(models_dir).is_dir() else []:
        if not (d / "config.json").exists():
            continue
        try:
            cfg = read_json(d / "config.json")
            met = read_json(d / "metrics.json") if (d / "metrics.json").exists() else {}
        except ModelError:
            continue
        out.append({"name": d.name, "path": str(d), "kind": cfg.get("kind"), "arch": cfg.get("arch", cfg.get("kind")),
                    "dataset": met.get("dataset"), "test_dataset": met.get("test_dataset"),
                    "test_accuracy": met.get("test_accuracy"), "rnn": cfg.get("rnn"),
                    "truncate": cfg.get("truncate", "head"), "max_len": cfg.get("max_len")})
    return out


def pairing(rnn: str, models: list[dict] | None = None) -> dict[str, str | None]:
    """The bag-of-words models compared with an RNN by default (Start page, Error analysis, `errors`):
    `bow`, a plain bag-of-words on the RNN's training set (None if there is none: another dataset's BoW
    would answer a different question), and `aug`, the context-augmented BoW built from this RNN."""
    models = list_models() if models is None else models
    info = next((m for m in models if m["name"] == rnn), None)
    if info is None:
        raise ModelError(f"no model {rnn!r}")
    bows = sorted((m for m in models if m["kind"] == "bow" and m["dataset"] and m["dataset"] == info["dataset"]),
                  key=lambda m: m["name"])
    augs = sorted((m for m in models if m["kind"] == "augmented" and m["rnn"] == rnn), key=lambda m: m["name"])
    return {"bow": bows[0]["name"] if bows else None, "aug": augs[0]["name"] if augs else None}
