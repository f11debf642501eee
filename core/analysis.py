"""Cached, model-level entry points for the contextual analyses (what the CLI and the app call)."""
from __future__ import annotations

from core.cache import cached
from core.context import engine as make_engine
from core.dynamics import resolve_neutral
from core.modifiers import find_modifiers
from core.position import position_effects
from core.store import model_checksum, resolve_model_dir


def _settings(data, n_seeds, neutral, **kw) -> dict:
    return {"data": data, "n_seeds": n_seeds, "neutral": neutral, **kw}


def modifiers(model: str, top: int = 30, words: list[str] | None = None, K: int = 20, frequent: int | None = 5000,
              data: str | None = None,
              data_root: str | None = None, n_seeds: int = 1000, neutral: str | None = None, refresh: bool = False,
              progress=None, log=None) -> dict:
    """find_modifiers on a model folder, cached on disk; adds `cached` and `neutral_input`."""
    path = resolve_model_dir(model)
    neutral = resolve_neutral(path, neutral)
    settings = _settings(data, n_seeds, neutral, top=top, words=words, K=K, frequent=frequent, selection="balanced")

    def compute() -> dict:
        eng = make_engine(str(path), data, data_root, n_seeds, neutral, log=log)
        return dict(find_modifiers(eng, top=top, words=words, K=K, frequent=frequent, progress=progress),
                    neutral_input=neutral)

    res, hit = cached(model_checksum(path), "modifiers", settings, compute, refresh, log)
    return dict(res, cached=hit)


def position(model: str, length: int = 50, data: str | None = None, data_root: str | None = None,
             n_seeds: int = 1000, neutral: str | None = None, refresh: bool = False, log=None) -> dict:
    """position_effects on a model folder, cached on disk."""
    path = resolve_model_dir(model)
    neutral = resolve_neutral(path, neutral)
    settings = _settings(data, n_seeds, neutral, length=length)

    def compute() -> dict:
        eng = make_engine(str(path), data, data_root, n_seeds, neutral, log=log)
        return position_effects(eng, n_begin=length, n_end=length)

    res, hit = cached(model_checksum(path), "position", settings, compute, refresh, log)
    return dict(res, cached=hit)
