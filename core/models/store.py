"""Model folders: `models/<name>/` with config.json, vocab.json, weights.pt and metrics.json.

Weights are plain tensors loaded with `torch.load(..., weights_only=True)` (core.storage.tensors); every
file is written atomically, and anything missing, truncated or inconsistent raises `ModelError` naming the file.
Which class reads a folder is decided by its config's `kind`, through one registry (`register_kind`).
A model *name* (from a user, a URL) only ever resolves to a folder inside models/.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import re
from pathlib import Path
from typing import Any, Callable

import torch

from core.data.text import Vocab
from core.storage.io import atomic_write, atomic_write_json
from core.storage.tensors import UnreadableTensors, all_finite, load_tensors

FORMAT_VERSION = 1
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
# A model name is one plain folder name: no separators, no "..", no hidden or odd characters.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SIZE_KEYS = ("embed_dim", "hidden_size")   # config.json sizes a model is built with

ModelLoader = Callable[[dict, Vocab, dict], Any]
# kind -> "module:Class" (imported on first use, so core.models.store imports no model module and the model
# modules may import core.models.store) or a loader callable; a class is read with Class.from_parts.
_KINDS: dict[str, str | ModelLoader] = {
    "rnn": "core.models.rnn:RNNClassifier",
    "bow": "core.models.bow:BowClassifier",
    "bigram": "core.models.bow:BowClassifier",
    "augmented": "core.models.augmented:AugmentedBow",
}


class ModelError(RuntimeError):
    """A model folder that is missing, corrupt or inconsistent."""


def register_kind(kind: str, loader: str | ModelLoader) -> None:
    """Let `load_model` read folders whose config.json says `kind`: loader is "module:Class" (a class with
    from_parts(config, vocab, weights)) or a callable(config, vocab, weights) returning the classifier.
    Re-registering a kind with another loader is refused, so one kind never silently means two things."""
    if kind in _KINDS and _KINDS[kind] != loader:
        raise ValueError(f"model kind {kind!r} is already registered ({_KINDS[kind]!r})")
    _KINDS[kind] = loader


def known_kinds() -> list[str]:
    """The model kinds `load_model` can read."""
    return sorted(_KINDS)


def kind_loader(kind: str) -> ModelLoader:
    """The loader of a registered kind (KeyError for an unknown one)."""
    target = _KINDS[kind]
    if callable(target):
        return target
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls).from_parts


def is_model_name(name: str) -> bool:
    """Whether `name` is a plain model folder name (ASCII letters, digits, '.', '_', '-'; not starting
    with '.'): something that can only ever name a folder directly inside models/."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def check_model_name(name: str) -> str:
    """name, if it is a plain model name; otherwise ModelError saying what a name may hold."""
    if not is_model_name(name):
        raise ModelError(f"{str(name)[:200]!r} is not a model name: use the name of a folder in models/ "
                         "(letters, digits, '.', '_', '-'; no path separators, '..' or absolute paths)")
    return name


def is_inside(folder: Path, parent: Path) -> bool:
    """Whether folder, after following symlinks, is a direct child of parent (also resolved): a model name
    in parent cannot lead anywhere else."""
    try:
        return folder.resolve().parent == parent.resolve()
    except (OSError, RuntimeError):   # a symlink loop
        return False


def _shipped_names() -> list[str]:
    """The model names in models/ (for error messages)."""
    try:
        return sorted(d.name for d in MODELS_DIR.iterdir() if (d / "config.json").exists() and is_model_name(d.name))
    except OSError:
        return []


def resolve_model_dir(name_or_path: str | Path, allow_path: bool = True) -> Path:
    """The folder of a model given by name or, with allow_path, by path.

    A plain name (see is_model_name) is looked up in models/ and must stay inside it once symlinks are
    followed. Anything else (separators, "..", an absolute path) is an explicit path, accepted only with
    allow_path: code and the command line pass paths; a name that comes from a user or a URL must be
    resolved with allow_path=False, so it cannot reach outside models/."""
    text = str(name_or_path)
    if not text.strip():
        raise ModelError("empty model name")
    try:
        if is_model_name(text):
            q = MODELS_DIR / text
            if q.is_dir():
                if not is_inside(q, MODELS_DIR):
                    raise ModelError(f"model {text!r}: {q} leads outside {MODELS_DIR} (a symlink?); refused")
                return q
            if allow_path and Path(text).is_dir():   # a folder of that name in the working directory
                return Path(text)
        elif not allow_path:
            check_model_name(text)
        elif Path(text).is_dir():
            return Path(text)
    except (OSError, ValueError) as e:   # a name too long for the file system, a NUL byte...
        raise ModelError(f"{text[:200]!r}: not a usable model folder ({e})") from None
    shipped = _shipped_names()
    raise ModelError(f"no model folder {text[:200]!r} (shipped models: {', '.join(shipped) or 'none'})")


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


def read_json(path: Path) -> dict:
    """A JSON object file (config.json, metrics.json); missing, unreadable or not an object -> ModelError."""
    if not path.exists():
        raise ModelError(f"{path}: missing")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as e:
        raise ModelError(f"{path}: corrupt JSON ({type(e).__name__}: {str(e)[:200]})") from None
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror or e})") from None
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: expected a JSON object, found {type(obj).__name__}")
    return obj


def _check_config(path: Path, config: dict, weights: dict[str, torch.Tensor]) -> None:
    """Refuse a config.json whose settings cannot belong to these weights before any model is built: a
    size (SIZE_KEYS) must be an int that some weight tensor has as a dimension (a tampered size would
    otherwise allocate gigabytes), and the text window must be a valid max_len / truncate."""
    where = path / "config.json"
    dims = {d for t in weights.values() for d in t.shape}
    for key in SIZE_KEYS:
        value = config.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value not in dims:
                raise ModelError(f"{where}: {key} = {value!r} does not match the weights in weights.pt")
    max_len = config.get("max_len")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ModelError(f"{where}: max_len must be a positive integer or null, not {max_len!r}")
    if config.get("truncate", "head") not in ("head", "tail"):
        raise ModelError(f"{where}: truncate must be 'head' or 'tail', not {config['truncate']!r}")


def load_model_dir(path: Path) -> tuple[dict, Vocab, dict[str, torch.Tensor]]:
    """(config, vocab, float32 weights) of a model folder, validated."""
    path = Path(path)
    config = read_json(path / "config.json")
    if not isinstance(config.get("kind"), str):
        raise ModelError(f"{path / 'config.json'}: not a model config (no 'kind')")
    version = config.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelError(f"{path / 'config.json'}: format_version must be an integer, not {version!r}")
    if version > FORMAT_VERSION:
        raise ModelError(f"{path / 'config.json'}: format version {version} is newer than this code "
                         f"({FORMAT_VERSION}); update this project")
    try:
        vocab = Vocab.load(path / "vocab.json")
    except FileNotFoundError:
        raise ModelError(f"{path / 'vocab.json'}: missing") from None
    except (ValueError, UnicodeDecodeError, RecursionError, OSError) as e:
        raise ModelError(f"{path / 'vocab.json'}: corrupt ({type(e).__name__}: {str(e)[:200]})") from None
    wpath = path / "weights.pt"
    if not wpath.exists():
        raise ModelError(f"{wpath}: missing")
    try:
        weights = load_tensors(wpath)
    except UnreadableTensors as e:  # truncated, text, a pickle with code (which did not run)...
        raise ModelError(f"{wpath}: cannot be read as a weights file: {e.reason}") from None
    if not isinstance(weights, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in weights.items()):
        raise ModelError(f"{wpath}: expected a dict of named tensors")
    weights = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
    bad = [k for k, v in weights.items() if v.is_floating_point() and not all_finite(v)]
    if bad:
        raise ModelError(f"{wpath}: non-finite values (inf or NaN) in {', '.join(bad[:5])}")
    _check_config(path, config, weights)
    return config, vocab, weights


_CHECKSUMS: dict[tuple, str] = {}


def model_checksum(path: Path) -> str:
    """SHA-256 of the weights, vocabulary and config: the key for caches of this model's analyses.

    Remembered per file identity (device, inode, size, modification and change times in ns), so that a page
    rerun does not hash the weights again; a file replaced or rewritten (atomically or not, even with its
    modification time restored, which still moves the change time) has another identity and is hashed."""
    files = [Path(path) / name for name in ("config.json", "vocab.json", "weights.pt")]
    stats = [(f.name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for f in files if (st := _stat(f))]
    key = (str(Path(path).resolve()), tuple(stats))
    if key not in _CHECKSUMS:
        h = hashlib.sha256()
        for f in files:
            if f.exists():
                h.update(f.name.encode())
                h.update(f.read_bytes())
        _CHECKSUMS[key] = h.hexdigest()
    return _CHECKSUMS[key]


def _stat(f: Path):
    try:
        return f.stat()
    except OSError:
        return None


def load_model(name_or_path: str | Path, allow_path: bool = True):
    """A ready classifier from a model folder or name (see resolve_model_dir), built by the loader
    registered for its config's kind (RNNClassifier, BowClassifier, AugmentedBow, or a registered one)."""
    path = resolve_model_dir(name_or_path, allow_path)
    config, vocab, weights = load_model_dir(path)
    kind = config["kind"]
    try:
        loader = kind_loader(kind)
    except KeyError:
        raise ModelError(f"{path / 'config.json'}: unknown model kind {kind!r} "
                         f"(known kinds: {', '.join(known_kinds())})") from None
    try:
        clf = loader(config, vocab, weights)
    except ModelError:
        raise
    except (KeyError, IndexError, TypeError, RuntimeError, ValueError) as e:
        raise ModelError(f"{path}: weights do not match config.json ({type(e).__name__}: {str(e)[:300]})") from None
    clf.path, clf.name = path, path.name
    return clf


def list_models(models_dir: Path = MODELS_DIR) -> list[dict]:
    """Models in models_dir with their kind, dataset and test accuracy (from config.json / metrics.json).
    Only folders a model name can reach are listed (plain names, no symlink leading out of the folder);
    one whose config.json or metrics.json is unreadable is left out (`python -m core doctor` names it)."""
    out = []
    for d in sorted(Path(models_dir).iterdir()) if Path(models_dir).is_dir() else []:
        if not (is_model_name(d.name) and (d / "config.json").exists() and is_inside(d, Path(models_dir))):
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
