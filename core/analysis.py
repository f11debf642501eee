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


def stored(path, name: str, settings: dict, log=None) -> dict | None:
    """An analysis's stored result (local cache or the model's shipped copy) with `cached`, or None."""
    from core.cache import lookup
    res = lookup(model_checksum(path), name, settings, path, log)
    return None if res is None else dict(res, cached=True)


def test_set_name(model_path) -> str | None:
    """The model's recorded test set (metrics.json), or None."""
    from core.store import read_json
    met = model_path / "metrics.json"
    return read_json(met).get("test_dataset") if met.exists() else None


def agreement_texts(name: str | None, data_root: str | None = None, log=None) -> list[str] | None:
    """The texts of a named test set for the real-text check of modifiers, or None when there is no
    name or the data is not on this machine (the check is then null and the result says so)."""
    from core.data import DataError, load_dataset
    if not name:
        return None
    try:
        return load_dataset(name, data_root).texts
    except DataError as e:
        if log:
            log(f"real-text check of modifiers skipped: {e}")
        return None


_NOT_APPLICABLE: dict[tuple, str] = {}   # (weights checksum, settings) -> why: refused again at once on a rerun


def not_applicable(eng, key: tuple) -> None:
    """NotApplicable where the engine's integration mode does not reach the readout (every ratio to v0 is 0/0);
    remembered under `key`, so that a page rerun is refused without building the engine again."""
    from core.dynamics import NotApplicable, reach_warnings
    reach = reach_warnings(eng.r1[eng.ref], eng.w)
    if reach:
        _NOT_APPLICABLE[key] = reach[0]
        raise NotApplicable(reach[0])


def _refused_before(key: tuple) -> None:
    from core.dynamics import NotApplicable
    if key in _NOT_APPLICABLE:
        raise NotApplicable(_NOT_APPLICABLE[key])


def modifiers(model: str, top: int = 30, words: list[str] | None = None, K: int = 20, frequent: int | None = 5000,
              data: str | None = None, select: str = "significant",
              data_root: str | None = None, n_seeds: int = 1000, neutral: str | None = None, refresh: bool = False,
              progress=None, log=None, ship: bool = False, stored_only: bool = False) -> dict | None:
    """find_modifiers on a model folder, cached on disk (or shipped with the model); adds `cached`,
    `neutral_input` and `agreement_data` (the test set the real-text check used, or null when that
    data was not available). With stored_only: the stored result, or None, computing nothing. NotApplicable
    where the integration mode at the reference does not reach the readout (v0 = 0 for every word)."""
    path = resolve_model_dir(model)
    neutral = resolve_neutral(path, neutral)
    # The real-text check is for the explorer's short list, not for the augmented BoW's thousands of words.
    agree_name = test_set_name(path) if select == "significant" else None
    settings = _settings(data, n_seeds, neutral, top=top, words=words, K=K, frequent=frequent, select=select,
                         agreement=agree_name, version=MODIFIERS_VERSION)
    if stored_only:
        return stored(path, "modifiers", settings, log)

    key = (model_checksum(path), data, n_seeds, neutral)
    _refused_before(key)

    def compute() -> dict:
        eng = make_engine(str(path), data, data_root, n_seeds, neutral, log=log)
        not_applicable(eng, key)
        texts = agreement_texts(agree_name, data_root, log)
        return dict(find_modifiers(eng, top=top, words=words, K=K, frequent=frequent, select=select,
                                   texts=texts, progress=progress),
                    neutral_input=neutral, agreement_data=agree_name if texts is not None else None)

    res, hit = cached(model_checksum(path), "modifiers", settings, compute, refresh, log, model_dir=path, ship=ship)
    return dict(res, cached=hit)


def position(model: str, length: int = 50, data: str | None = None, data_root: str | None = None,
             n_seeds: int = 1000, neutral: str | None = None, refresh: bool = False, log=None,
             ship: bool = False, stored_only: bool = False) -> dict | None:
    """position_effects on a model folder, cached on disk (or shipped with the model). With stored_only:
    the stored result, or None, computing nothing. NotApplicable as for `modifiers`."""
    path = resolve_model_dir(model)
    neutral = resolve_neutral(path, neutral)
    settings = _settings(data, n_seeds, neutral, length=length)
    if stored_only:
        return stored(path, "position", settings, log)

    key = (model_checksum(path), data, n_seeds, neutral)
    _refused_before(key)

    def compute() -> dict:
        eng = make_engine(str(path), data, data_root, n_seeds, neutral, log=log)
        not_applicable(eng, key)
        return position_effects(eng, n_begin=length, n_end=length)

    res, hit = cached(model_checksum(path), "position", settings, compute, refresh, log, model_dir=path, ship=ship)
    return dict(res, cached=hit)


def ship(model: str, data_root: str | None = None, log=None, compare_on: list[str] | None = None,
         sweep: list[int] | None = None) -> list[str]:
    """Write compact copies of the analyses the pages open with (default settings) into the model's
    `analyses/` folder, computing what the local cache lacks; returns the files written. `compare_on`:
    test sets to compare the bag-of-words variants on (all variants, default K), and `sweep`: numbers of
    modifiers K to compare mod_fixed and full at too (the BoW-vs-RNN page's K sweep)."""
    from core.cache import SHIPPED_DIR
    from core.dynamics import dynamics, model_reach_warnings
    import time
    path = resolve_model_dir(model)
    start = time.time()
    dyn, _ = dynamics(str(path), data_root=data_root, log=log, ship=True)
    # Where the integration mode misses the readout, nothing that divides by v0 is shipped (an older copy,
    # an artefact then, is removed below); checked here too because a local cache may hold such a copy.
    reach = model_reach_warnings(dyn, path)
    if reach:
        (log or print)(f"{path.name}: modifiers, position and comparisons not shipped: {reach[0]}")
    else:
        modifiers(str(path), data_root=data_root, log=log, ship=True)
        position(str(path), data_root=data_root, log=log, ship=True)
    if compare_on and not reach:
        from core.augmented import compare
        for data in compare_on:
            compare(str(path), data, data_root=data_root, log=log or (lambda m: None), ship=True)
            for k in sweep or []:
                compare(str(path), data, top=k, data_root=data_root, variants=("bow", "mod_fixed", "full"),
                        log=log or (lambda m: None), ship=True)
    # Copies for older settings or code versions of what was just written go; comparisons stay unless new
    # ones were made (they are listed with the analysis versions they were measured with).
    written = ("dynamics", "modifiers", "position") + (("compare",) if compare_on else ())
    for old in (path / SHIPPED_DIR).glob("*.pt"):
        if old.stat().st_mtime < start and old.name.split("-")[0] in written:
            old.unlink()
    return sorted(str(f) for f in (path / SHIPPED_DIR).glob("*.pt"))
