"""The cached, model-level entry points of the analyses (what the CLI and the app call). Each takes one
`Settings` (core.analysis.settings) and returns a dict with `cached` (whether it was found stored)."""
from __future__ import annotations

from typing import Callable

from core.analysis.context import ContextEngine, engine
from core.analysis.dynamics import NotApplicable, dynamics, reach_warnings, stored_dynamics
from core.analysis.modifiers import find_modifiers
from core.analysis.position import position_effects
from core.analysis.settings import (CURVE_K, MODIFIERS_TOP, MODIFIERS_VERSION, POSITION_LENGTH, SCREEN_FREQUENT,
                                    SOLVER_VERSION, Settings)
from core.data.loaders import DataError, load_dataset
from core.storage.cache import cached, lookup

__all__ = ["MODIFIERS_VERSION", "SOLVER_VERSION", "ContextEngine", "Settings", "dynamics", "engine", "modifiers",
           "position", "stored_dynamics"]


def stored(s: Settings, name: str, key: dict, log=None) -> dict | None:
    """An analysis's stored result (local cache or the model's shipped copy) with `cached`, or None."""
    res = lookup(s.checksum, name, key, s.path, log)
    return None if res is None else dict(res, cached=True)


def agreement_texts(name: str | None, data_root: str | None = None, log=None) -> list[str] | None:
    """The texts of a named test set for the real-text check of modifiers, or None when there is no
    name or the data is not on this machine (the check is then null and the result says so)."""
    if not name:
        return None
    try:
        return load_dataset(name, data_root).texts
    except DataError as e:
        if log:
            log(f"real-text check of modifiers skipped: {e}")
        return None


_NOT_APPLICABLE: dict[tuple, str] = {}   # Settings.refusal_key() -> why: refused again at once on a rerun


def not_applicable(eng, key: tuple) -> None:
    """NotApplicable where the engine's integration mode does not reach the readout (every ratio to v0 is 0/0);
    remembered under `key`, so that a page rerun is refused without building the engine again."""
    reach = reach_warnings(eng.r1[eng.ref], eng.w)
    if reach:
        _NOT_APPLICABLE[key] = reach[0]
        raise NotApplicable(reach[0])


def _refused_before(key: tuple) -> None:
    if key in _NOT_APPLICABLE:
        raise NotApplicable(_NOT_APPLICABLE[key])


def _measured_on_engine(s: Settings, name: str, key: dict, measure: Callable[[ContextEngine], dict],
                        refresh: bool, log, ship: bool, stored_only: bool, needs_reach: bool = True) -> dict | None:
    """The shape every analysis measured on the engine shares: the stored result (or None, with stored_only),
    else `measure` on a fresh engine, cached under `key`; with needs_reach, NotApplicable, remembered, where the
    integration mode at the reference does not reach the readout."""
    if stored_only:
        return stored(s, name, key, log)
    if needs_reach:
        _refused_before(s.refusal_key())

    def compute() -> dict:
        eng = engine(s, log=log)
        if needs_reach:
            not_applicable(eng, s.refusal_key())
        return measure(eng)

    res, hit = cached(s.checksum, name, key, compute, refresh, log, model_dir=s.path, ship=ship)
    return dict(res, cached=hit)


def modifiers(s: Settings, top: int = MODIFIERS_TOP, words: list[str] | None = None, K: int = CURVE_K,
              frequent: int | None = SCREEN_FREQUENT, select: str = "significant", refresh: bool = False, progress=None,
              log=None, ship: bool = False, stored_only: bool = False) -> dict | None:
    """find_modifiers on a model folder, cached on disk (or shipped with the model); adds `cached`,
    `neutral_input` and `agreement_data` (the test set the real-text check used, or null when that
    data was not available). With stored_only: the stored result, or None, computing nothing. Where the integration
    mode at the reference does not reach the readout (v0 = 0 for every word), everything is measured exactly
    (core.analysis.modulation.word_valence)."""
    # The real-text check is for the explorer's short list, not for the augmented BoW's thousands of words.
    agree_name = s.test_data() if select == "significant" else None

    def measure(eng: ContextEngine) -> dict:
        texts = agreement_texts(agree_name, s.data_root, log)
        return dict(find_modifiers(eng, top=top, words=words, K=K, frequent=frequent, select=select,
                                   texts=texts, progress=progress),
                    neutral_input=s.neutral, agreement_data=agree_name if texts is not None else None)

    key = s.modifiers_key(top=top, words=words, K=K, frequent=frequent, select=select, agreement=agree_name)
    return _measured_on_engine(s, "modifiers", key, measure, refresh, log, ship, stored_only, needs_reach=False)


def position(s: Settings, length: int | None = POSITION_LENGTH, refresh: bool = False, log=None, ship: bool = False,
             stored_only: bool = False) -> dict | None:
    """position_effects on a model folder over `length` positions (None: the window matched to the data's median
    document, core.analysis.position.window), cached on disk (or shipped with the model). With stored_only:
    the stored result, or None, computing nothing. NotApplicable, remembered, where the integration mode at the
    reference does not reach the readout."""
    return _measured_on_engine(s, "position", s.position_key(length),
                               lambda eng: position_effects(eng, n=length),
                               refresh, log, ship, stored_only)
