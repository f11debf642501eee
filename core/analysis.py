"""Cached, model-level entry points for the contextual analyses (what the CLI and the app call)."""
from __future__ import annotations

from core.cache import cached
from core.context import engine as make_engine
from core.dynamics import SOLVER_VERSION, resolve_neutral
from core.modifiers import find_modifiers
from core.position import position_effects
from core.store import model_checksum, resolve_model_dir


MODIFIERS_VERSION = 8  # part of the cache key: bump when the modifier analysis changes


def _settings(data, n_seeds, neutral, **kw) -> dict:
    """Cache settings of an analysis built on the dynamics: they include the solver version, so a new
    reference point or attractor recomputes every analysis measured there."""
    return {"data": data, "n_seeds": n_seeds, "neutral": neutral, "solver": SOLVER_VERSION, **kw}


def agreement_texts(model_path, data_root: str | None = None, log=None) -> tuple[str | None, list[str] | None]:
    """(name, texts) of the model's recorded test set for the real-text check of modifiers, or
    (None, None) when it is not recorded or not available here (the check is then null)."""
    from core.data import DataError, load_dataset
    from core.store import read_json
    met = model_path / "metrics.json"
    name = read_json(met).get("test_dataset") if met.exists() else None
    if not name:
        return None, None
    try:
        return name, load_dataset(name, data_root).texts
    except DataError as e:
        if log:
            log(f"real-text check of modifiers skipped: {e}")
        return None, None


def modifiers(model: str, top: int = 30, words: list[str] | None = None, K: int = 20, frequent: int | None = 5000,
              data: str | None = None, select: str = "significant",
              data_root: str | None = None, n_seeds: int = 1000, neutral: str | None = None, refresh: bool = False,
              progress=None, log=None) -> dict:
    """find_modifiers on a model folder, cached on disk; adds `cached`, `neutral_input` and
    `agreement_data` (the test set the real-text check used, or null)."""
    path = resolve_model_dir(model)
    neutral = resolve_neutral(path, neutral)
    # The real-text check is for the explorer's short list, not for the augmented BoW's thousands of words.
    agree_name, agree_texts = agreement_texts(path, data_root, log) if select == "significant" else (None, None)
    settings = _settings(data, n_seeds, neutral, top=top, words=words, K=K, frequent=frequent, select=select,
                         agreement=agree_name, version=MODIFIERS_VERSION)

    def compute() -> dict:
        eng = make_engine(str(path), data, data_root, n_seeds, neutral, log=log)
        return dict(find_modifiers(eng, top=top, words=words, K=K, frequent=frequent, select=select,
                                   texts=agree_texts, progress=progress),
                    neutral_input=neutral, agreement_data=agree_name)

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
