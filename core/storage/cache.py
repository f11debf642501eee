"""Disk cache of expensive per-model analyses, and the shipped copies that come with a model.

An entry is keyed by the model's content checksum + the analysis name + its settings + a format
version, written atomically, and validated on read: a corrupt, stale or foreign entry is recomputed,
never trusted and never crashed on. A model folder may carry read-only copies of its default analyses
in `analyses/` (written by `python -m core ship`), so a clone with no dataset opens every page at once.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from core.storage.io import atomic_write
from core.storage.tensors import UnreadableTensors, load_tensors

CACHE_VERSION = 2
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache"
SHIPPED_DIR = "analyses"          # inside a model folder
MEMO_ENTRIES = 32                 # entries read this process keeps in memory (see _read)

_memo: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
_memo_lock = threading.Lock()


def cache_dir() -> Path:
    return Path(os.environ.get("SENTIMENT_CACHE_DIR", DEFAULT_CACHE_DIR))


def cache_key(model_checksum: str, name: str, settings: dict) -> str:
    blob = json.dumps({"model": model_checksum, "name": name, "settings": settings, "version": CACHE_VERSION},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def entry_file(model_checksum: str, name: str, settings: dict) -> str:
    """The file name of an entry: the same in the local cache and in a model's `analyses/`."""
    return f"{name}-{cache_key(model_checksum, name, settings)[:24]}.pt"


def _entry(path: Path) -> tuple[dict | None, str | None]:
    """(entry, None) for a valid cache or shipped-analysis file (a dict result under a key that the file's
    name carries), else (None, what is wrong). Loading never runs code: weights_only=True."""
    try:
        entry = load_tensors(path)
    except UnreadableTensors as e:  # corrupt, truncated, or a pickle that would run code (it did not)
        return None, f"unreadable: {e.reason}"
    if not (isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("result"), dict)):
        return None, "not a cache entry"
    if not Path(path).name.endswith(f"-{entry['key'][:24]}.pt"):
        return None, "its key does not match its file name"
    return entry, None


def entry_problem(path: Path) -> str | None:
    """What is wrong with a cache or shipped-analysis file, or None for a valid entry."""
    return _entry(path)[1]


def _read(path: Path, key: str, log: Callable[[str], None]) -> dict | None:
    """The result stored at path under this key, or None (a bad file is reported, never trusted).

    A valid entry read once is kept in memory for this process (the last MEMO_ENTRIES, keyed by the file's path,
    modification time and size, so a rewritten file is read again), as its own pickle: every reader gets a fresh
    copy in milliseconds. torch.load's safe unpickler takes ~0.16 s for a modifiers result of 65,000 objects,
    and the Architectures page reads eight of them on a fresh server."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    memo_key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _memo_lock:
        blob = _memo.get(memo_key)
        if blob is not None:
            _memo.move_to_end(memo_key)
    entry, problem = (pickle.loads(blob), None) if blob is not None else _entry(path)
    if entry is not None and entry["key"] == key:
        if blob is None:
            blob = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
            with _memo_lock:
                _memo[memo_key] = blob
                while len(_memo) > MEMO_ENTRIES:
                    _memo.popitem(last=False)
        return entry["result"]
    log(f"cache {path.name}: {problem or 'stale or foreign entry'}; ignored")
    return None


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def lookup(model_checksum: str, name: str, settings: dict, model_dir: Path | None = None,
           log: Callable[[str], None] | None = None) -> dict | None:
    """The cached result, from this machine's cache or else the model's shipped analyses; None if neither."""
    key = cache_key(model_checksum, name, settings)
    fname = entry_file(model_checksum, name, settings)
    places = [cache_dir() / fname] + ([Path(model_dir) / SHIPPED_DIR / fname] if model_dir is not None else [])
    for path in places:
        res = _read(path, key, log or _stderr)
        if res is not None:
            return res
    return None


def compact(result: dict, omit: tuple[str, ...] = ()) -> dict:
    """A smaller copy to ship: every floating-point tensor in float32 (never float16: the points and mode vectors
    must give a recompute the same nearest points and valences as the full result), without the keys in `omit`
    (what no reader takes from a shipped copy); the full-precision result stays in the local cache."""
    out = {}
    for k, v in result.items():
        if k in omit:
            continue
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            v = v.to(torch.float32)
        out[k] = v
    return out


def plain(value: Any) -> Any:
    """`value` with every numpy scalar or array inside dicts, lists and tuples made a Python number or list: what
    torch.load(weights_only=True) reads back (it refuses numpy objects, so such a result would be unreadable)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def cached(model_checksum: str, name: str, settings: dict, compute: Callable[[], dict],
           refresh: bool = False, log: Callable[[str], None] | None = None, model_dir: Path | None = None,
           ship: bool = False, ship_omit: tuple[str, ...] = ()) -> tuple[dict, bool]:
    """(result, loaded_from_cache). `compute` returns a dict of tensors / JSON-able values. With
    `ship`, a compact copy (`compact`, without the keys in `ship_omit`) also goes to the model's `analyses/`
    folder."""
    key = cache_key(model_checksum, name, settings)
    res = None if refresh else lookup(model_checksum, name, settings, model_dir, log)
    hit = res is not None
    if not hit:
        res = plain(compute())
        atomic_write(cache_dir() / entry_file(model_checksum, name, settings),
                     lambda f: torch.save({"key": key, "result": res}, f))
    if ship:
        if model_dir is None:
            raise ValueError("ship needs the model folder")
        small = compact(res, ship_omit)
        target = Path(model_dir) / SHIPPED_DIR / entry_file(model_checksum, name, settings)
        old, _ = _entry(target) if target.exists() else (None, None)
        if old is not None and old["key"] == key and same(old["result"], small):
            os.utime(target)    # shipped again, unchanged: no new bytes for git to keep
        else:
            atomic_write(target, lambda f: torch.save({"key": key, "result": small}, f))
    return res, hit


def same(a, b) -> bool:
    """Whether two stored results are equal: the same structure, tensors equal in dtype, shape and value, NaN equal
    to NaN (torch.save's bytes for equal results need not be equal)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor):
        if not (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape):
            return False
        na, nb = a.isnan(), b.isnan()
        return bool(torch.equal(na, nb) and torch.equal(a[~na], b[~nb]))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def comparable_entries(name: str, model_dir: Path | None = None) -> list[dict]:
    """The results of every valid entry of one analysis in the local cache and the model's shipped
    analyses (for listing what has been computed, e.g. comparisons on several test sets); each result
    appears once, the local copy first."""
    places = [cache_dir()] + ([Path(model_dir) / SHIPPED_DIR] if model_dir is not None else [])
    seen, out = set(), []
    for place in places:
        for path in sorted(place.glob(f"{name}-*.pt")) if place.is_dir() else []:
            entry = _entry(path)[0]
            if entry is not None and path.name == f"{name}-{entry['key'][:24]}.pt" and entry["key"] not in seen:
                seen.add(entry["key"])
                out.append(entry["result"])
    return out
