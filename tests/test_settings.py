"""One Settings per request (core.analysis.settings): resolved once, hashable, and the only producer of cache
keys, whose keys are those the shipped analyses were stored under."""
import dataclasses
import json
import shutil

import pytest

from core.analysis import context as C
from core.analysis import dynamics as D
from core.analysis.settings import RANDOM_SEED_DATA, Settings, resolve_neutral
from core.models.store import MODELS_DIR, list_models, model_checksum
from core.storage.cache import SHIPPED_DIR, entry_file


def test_settings_resolve_once_and_are_a_cache_key(tmp_path):
    model = tmp_path / "m"
    shutil.copytree(MODELS_DIR / "toy-gru", model, ignore=shutil.ignore_patterns(SHIPPED_DIR))
    s = Settings.of(model)
    assert s.path == model and s.checksum == model_checksum(model)
    assert s.neutral == resolve_neutral(model, None) != ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.neutral = "zero"
    assert {s: 1}[Settings.of(model)] == 1                        # equal settings, equal hash
    assert Settings.of(model, neutral="zero").neutral == "zero"    # an explicit choice wins over the config
    cfg = json.loads((model / "config.json").read_text())
    cfg["neutral"] = "mean"
    (model / "config.json").write_text(json.dumps(cfg))
    assert Settings.of(model).neutral == "mean"                    # else the model's config
    del cfg["neutral"]
    (model / "config.json").write_text(json.dumps(cfg))
    assert Settings.of(model).neutral == "quiet"                   # else quiet


def test_keys_follow_every_setting_they_depend_on():
    s = Settings.of("toy-gru")
    assert s.dynamics_key("toy:train") != Settings.of("toy-gru", neutral="zero").dynamics_key("toy:train")
    assert s.dynamics_key("toy:train") != Settings.of("toy-gru", n_seeds=10).dynamics_key("toy:train")
    assert s.position_key(50) != s.position_key(20)
    assert s.refusal_key() != Settings.of("toy-gru", neutral="zero").refusal_key()
    # A comparison's key names a non-default neutral input or seed count; the defaults keep the stored keys.
    plain = s.compare_key("toy:test", 30, 4, 256, ("bow",), 1000)
    assert "neutral" not in plain and "n_seeds" not in plain
    assert Settings.of("toy-gru", neutral="zero").compare_key("toy:test", 30, 4, 256, ("bow",), 1000)["neutral"] == "zero"
    assert Settings.of("toy-gru", n_seeds=10).compare_key("toy:test", 30, 4, 256, ("bow",), 1000)["n_seeds"] == 10


@pytest.mark.parametrize("name", [m["name"] for m in list_models() if m["kind"] == "rnn"])
def test_every_shipped_analysis_is_found_by_its_key(name):
    """The keys did not move: each shipped RNN's default analyses are where Settings.default_keys says (position is
    not shipped where it does not apply, the integration mode missing the readout; the modifiers, measured exactly
    there, are)."""
    s = Settings.of(name)
    folder = s.path / SHIPPED_DIR
    found = {a: any((folder / entry_file(s.checksum, a, k)).exists() for k in keys)
             for a, keys in s.default_keys().items()}
    assert found["dynamics"]
    dyn = D.stored_dynamics(s)
    if D.model_reach_warnings(dyn, s.path):
        assert found["modifiers"] and not found["position"]
    else:
        assert found["modifiers"] and found["position"]
    assert {k["data"] for k in s.default_keys()["dynamics"]} <= {s.training_data(), RANDOM_SEED_DATA}


def test_an_engine_reads_the_weights_once(monkeypatch):
    calls = []
    real = C.load_model
    monkeypatch.setattr(C, "load_model", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
    monkeypatch.setattr(D, "load_model", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
    eng = C.engine(Settings.of("toy-gru"))
    assert len(calls) == 1 and eng.vocab is not None


def test_a_result_with_numpy_numbers_is_stored_readable(tmp_path, monkeypatch):
    """numpy scalars and arrays in a result (easy to leave in by accident) are stored as Python numbers, so the
    weights_only reader can load the entry back instead of calling it unreadable and recomputing every time."""
    import numpy as np

    from core.storage import cache as C
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path))
    res = {"a": np.float64(1.5), "b": [np.int64(2), (np.float32(0.25),)], "c": {"d": np.arange(3)}}
    out, hit = C.cached("sum", "test", {"k": 1}, lambda: res)
    assert not hit and out == {"a": 1.5, "b": [2, (0.25,)], "c": {"d": [0, 1, 2]}}
    again, hit = C.cached("sum", "test", {"k": 1}, lambda: 1 / 0)
    assert hit and again == out and type(again["a"]) is float


def test_shipping_an_unchanged_result_again_keeps_its_bytes(tmp_path, monkeypatch):
    """`ship` writes each default analysis again; where the shipped copy already holds the same result, the file
    keeps its bytes (git stores nothing new) and only its time is renewed (ship removes older files by time). A
    changed result is written."""
    import os

    import torch

    from core.storage import cache as C
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    (model / SHIPPED_DIR).mkdir(parents=True)
    res = {"x": torch.tensor([1.0, float("nan")]), "n": [1, 2.5], "s": "a"}
    C.cached("sum", "test", {"k": 1}, lambda: res, model_dir=model, ship=True)
    path = model / SHIPPED_DIR / entry_file("sum", "test", {"k": 1})
    before = path.read_bytes()
    os.utime(path, (1, 1))
    written = []
    real_write = C.atomic_write
    monkeypatch.setattr(C, "atomic_write", lambda target, fn: (written.append(target), real_write(target, fn)))
    C.cached("sum", "test", {"k": 1}, lambda: res, refresh=True, model_dir=model, ship=True)
    assert path not in written and path.read_bytes() == before and path.stat().st_mtime > 1
    C.cached("sum", "test", {"k": 1}, lambda: dict(res, s="b"), refresh=True, model_dir=model, ship=True)
    assert path in written and torch.load(path, weights_only=True)["result"]["s"] == "b"
    assert C.same(res, dict(res)) and not C.same(res, dict(res, n=[1, 2.4]))
    assert not C.same({"x": torch.tensor([1.0])}, {"x": torch.tensor([1.0], dtype=torch.float64)})
