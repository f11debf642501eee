"""Disk cache of expensive per-model analyses.

An entry is keyed by the model's content checksum + the analysis name + its settings + a format
version, written atomically, and validated on read: a corrupt, stale or foreign entry is recomputed,
never trusted and never crashed on.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Callable

import torch

from core.io import atomic_write

CACHE_VERSION = 2
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache"


def cache_dir() -> Path:
    return Path(os.environ.get("SENTIMENT_CACHE_DIR", DEFAULT_CACHE_DIR))


def cache_key(model_checksum: str, name: str, settings: dict) -> str:
    blob = json.dumps({"model": model_checksum, "name": name, "settings": settings, "version": CACHE_VERSION},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def cached(model_checksum: str, name: str, settings: dict, compute: Callable[[], dict],
           refresh: bool = False, log: Callable[[str], None] | None = None) -> tuple[dict, bool]:
    """(result, loaded_from_cache). `compute` returns a dict of tensors / JSON-able values."""
    key = cache_key(model_checksum, name, settings)
    path = cache_dir() / f"{name}-{key[:24]}.pt"
    if path.exists() and not refresh:
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("result"), dict):
                return entry["result"], True
            reason = "stale or foreign entry"
        except Exception as e:  # corrupt or truncated file
            reason = f"unreadable ({type(e).__name__})"
        (log or (lambda m: print(m, file=sys.stderr)))(f"cache {path.name}: {reason}; recomputing")
    result = compute()
    atomic_write(path, lambda f: torch.save({"key": key, "result": result}, f))
    return result, False
