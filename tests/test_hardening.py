"""Hardening (issue #11): one registry of model kinds, train's public data functions, model names that cannot
leave models/, tampered files refused or recomputed (never executed), a shared engine safe across threads and
a cache entry safe across processes, property-based tests of the tokenizer, loaders and per-token analysis,
and `python -m core doctor`.

The per-token analysis uses the shipped toy GRU through core.analysis.context.engine, as the app does (one engine,
built once for the module).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.storage import cache
from core.tools import doctor
from core.models import store
from core.data.loaders import DataError, load_file
from core.analysis.error_analysis import parse_upload
from core.models.store import MODELS_DIR, ModelError, load_model, resolve_model_dir
from core.data.text import PAD, UNK, Vocab, tokenize
from core.analysis.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOY = MODELS_DIR / "toy-gru"
MODEL_FILES = ("config.json", "vocab.json", "weights.pt", "metrics.json")
# Property tests: the same examples every run (derandomize: CI never flakes), no example database, no time limit.
PROPS = dict(deadline=None, database=None, derandomize=True,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def eng():
    """The toy GRU's engine, as the app gets it (default settings: the shipped or cached analysis)."""
    from core.analysis.context import engine
    return engine(Settings.of("toy-gru"))


def copy_model(src: Path, dst: Path, analyses: bool = False) -> Path:
    """A copy of a model folder (its four files, and optionally its shipped analyses)."""
    dst.mkdir(parents=True)
    for f in MODEL_FILES:
        shutil.copy(src / f, dst / f)
    if analyses:
        shutil.copytree(src / cache.SHIPPED_DIR, dst / cache.SHIPPED_DIR)
    return dst


class Payload:
    """A pickled object that runs a shell command when unpickled (what weights_only=True must refuse)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def write_payload(path: Path, marker: Path, wrap: bool = False) -> None:
    """torch.save a code-running pickle to path (inside a cache entry's dict when wrap)."""
    obj = {"key": "x" * 64, "result": {"evil": Payload(marker)}} if wrap else {"embedding.weight": Payload(marker)}
    torch.save(obj, path)


# ---- 1. one registry of model kinds -------------------------------------------------------------------
def test_every_shipped_kind_loads_through_the_registry():
    kinds = {m["kind"] for m in store.list_models()}
    assert {"rnn", "bow", "augmented"} <= kinds <= set(store.known_kinds())
    for kind, cls in (("rnn", "RNNClassifier"), ("bow", "BowClassifier"), ("bigram", "BowClassifier"),
                      ("augmented", "AugmentedBow")):
        assert store.kind_loader(kind).__qualname__ == f"{cls}.from_parts"


def test_store_imports_no_model_module():
    """The registry names classes by module: core.models.store imports none of them (no import cycle)."""
    code = ("import sys, core.models.store; "
            "print(sorted(m for m in ('core.models.rnn', 'core.models.bow', 'core.models.augmented') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_unknown_kind_is_a_clear_error_listing_the_known_kinds(tmp_path):
    d = copy_model(MODELS_DIR / "toy-bow", tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(dict(cfg, kind="transformer")))
    with pytest.raises(ModelError) as e:
        load_model(d)
    msg = str(e.value)
    assert str(d / "config.json") in msg and "'transformer'" in msg
    assert all(k in msg for k in ("augmented", "bigram", "bow", "rnn"))


def test_a_registered_kind_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "_KINDS", dict(store._KINDS))
    d = copy_model(MODELS_DIR / "toy-bow", tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(dict(cfg, kind="negated-bow")))

    def negated(config, vocab, weights):
        clf = store.kind_loader("bow")(config, vocab, weights)
        clf.beta, clf.bias = -clf.beta, -clf.bias
        return clf

    store.register_kind("negated-bow", negated)
    assert "negated-bow" in store.known_kinds()
    text = ["it was very good"]
    assert float(load_model(d).logits(text)[0]) == pytest.approx(-float(load_model("toy-bow").logits(text)[0]))
    store.register_kind("negated-bow", negated)            # the same loader again: fine
    with pytest.raises(ValueError, match="already registered"):
        store.register_kind("rnn", negated)                # an existing kind never changes meaning


# ---- 2. train's public data functions -------------------------------------------------------------------
def test_train_data_functions_are_public():
    from core.experiments import augmented_fit as augmented
    from core.experiments import train
    assert not hasattr(train, "_prepare") and not hasattr(train, "_epoch_batches")
    assert "_prepare" not in Path(augmented.__file__).read_text() and "_epoch_batches" not in Path(augmented.__file__).read_text()
    assert train.prepare_data.__doc__ and train.epoch_batches.__doc__


def test_epoch_batches_cover_every_index_once_reproducibly():
    from core.experiments.train import epoch_batches
    lengths = np.random.default_rng(1).integers(1, 100, 1000).tolist()
    a = epoch_batches(lengths, 32, np.random.default_rng(7))
    b = epoch_batches(lengths, 32, np.random.default_rng(7))
    assert a == b
    assert sorted(i for batch in a for i in batch) == list(range(1000))
    assert all(1 <= len(batch) <= 32 for batch in a)
    spread = np.mean([np.ptp([lengths[i] for i in batch]) for batch in a])
    assert spread < 20     # similar lengths share a batch (random batches would spread ~95)


def test_prepare_data_splits_with_the_seed_and_builds_the_vocabulary_on_train(toy_csv):
    from core.experiments.train import TrainConfig, prepare_data
    cfg = TrainConfig(name="t", data=toy_csv, dev_fraction=0.25, seed=3, min_count=1, command="")
    train, dev, vocab, test = prepare_data(cfg, log=lambda m: None)
    assert (len(train), len(dev), test) == (3000, 1000, None)
    again = prepare_data(cfg, log=lambda m: None)
    assert again[1].texts == dev.texts and again[2].itos == vocab.itos
    assert set(vocab.itos[2:]) == {t for text in train.texts for t in tokenize(text)}


# ---- 3. model names cannot leave models/ ---------------------------------------------------------------
BAD_NAMES = ["../models/toy-gru", "..\\models\\toy-gru", "..", ".", "", "   ", "/etc", "/", str(TOY),
             "toy-gru/", "toy-gru/../toy-gru", "models/toy-gru", "~/toy-gru", ".hidden", "toy\x00gru", "toy-gru\n",
             "tøy-gru", "toy\u202e-gru", "\uff54\uff4f\uff59-gru", "toy-gru\u200b", "a" * 300, "%2e%2e%2fetc", "C:\\models"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_only_refuses_anything_but_a_plain_folder_name(name):
    with pytest.raises(ModelError, match="not a model name|empty model name"):
        resolve_model_dir(name, allow_path=False)
    with pytest.raises(ModelError):
        load_model(name, allow_path=False)


def test_a_plain_name_resolves_inside_models():
    assert resolve_model_dir("toy-gru", allow_path=False) == TOY
    assert load_model("toy-gru", allow_path=False).name == "toy-gru"
    with pytest.raises(ModelError, match="no model folder 'no-such-model'.*toy-gru"):
        resolve_model_dir("no-such-model", allow_path=False)


def test_explicit_paths_need_allow_path(tmp_path):
    d = copy_model(TOY, tmp_path / "copy")
    assert resolve_model_dir(str(d)) == d and resolve_model_dir(d, allow_path=True) == d
    assert resolve_model_dir(os.path.relpath(TOY)) == Path(os.path.relpath(TOY))
    for p in (str(d), os.path.relpath(TOY)):
        with pytest.raises(ModelError, match="not a model name"):
            resolve_model_dir(p, allow_path=False)
    with pytest.raises(ModelError, match="empty model name"):
        resolve_model_dir("")      # never the working directory


def test_a_symlink_leading_out_of_models_is_refused(tmp_path, monkeypatch):
    models, outside = tmp_path / "models", tmp_path / "outside"
    models.mkdir()
    copy_model(TOY, models / "inside")
    copy_model(TOY, outside / "elsewhere")
    (models / "escape").symlink_to(outside / "elsewhere", target_is_directory=True)
    (models / "alias").symlink_to(models / "inside", target_is_directory=True)   # stays inside: fine
    monkeypatch.setattr(store, "MODELS_DIR", models)
    assert resolve_model_dir("inside", allow_path=False) == models / "inside"
    assert resolve_model_dir("alias", allow_path=False) == models / "alias"
    for allow in (False, True):
        with pytest.raises(ModelError, match="leads outside"):
            resolve_model_dir("escape", allow_path=allow)
    assert [m["name"] for m in store.list_models(models)] == ["alias", "inside"]


@pytest.mark.parametrize("name", ["../escaped", "/tmp/escaped", "a/b", ""])
def test_training_refuses_a_name_that_is_a_path(name):
    from core.experiments.train import TrainConfig
    with pytest.raises(ModelError):
        TrainConfig(name=name, data="toy:train")


def _sidebar_script():
    """The app's shared state and sidebar alone (no page, no engine): which model folder a URL selects."""
    import streamlit as st

    from ui.state import init_state, sidebar
    init_state()
    sidebar()
    st.write(st.session_state["_ctx"]["info"]["path"])


def test_the_url_model_is_only_matched_against_the_listed_names(tmp_path):
    """ui/state.py: ?model= is only a choice among list_models()'s names; anything else falls back to the
    default RNN (ui.state.DEFAULT_RNN, else the first listed), and pages load the listing's own path."""
    from streamlit.testing.v1 import AppTest

    from ui.state import DEFAULT_RNN
    names = [m["name"] for m in store.list_models() if m["kind"] == "rnn"]
    fallback = DEFAULT_RNN if DEFAULT_RNN in names else names[0]
    outside = copy_model(TOY, tmp_path / "outside")
    for model in ("../../etc", str(outside), "toy-gru/../../x", "toy-gru\\..\\..", "toy-gru"):
        at = AppTest.from_function(_sidebar_script, default_timeout=60)
        at.query_params["model"] = model
        at.run()
        assert not at.exception, at.exception
        chosen = at.sidebar.selectbox(key="model").value
        assert chosen == ("toy-gru" if model == "toy-gru" else fallback)
        assert Path(at.markdown[0].value) == MODELS_DIR / chosen


# ---- 4. tampered and truncated files ---------------------------------------------------------------------
def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)])


def _garbage(p: Path) -> None:
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _json(obj):
    return lambda p: p.write_text(json.dumps(obj))


def _edit_json(**changes):
    def edit(p: Path) -> None:
        p.write_text(json.dumps(dict(json.loads(p.read_text()), **changes)))
    return edit


def _weights(edit):
    def write(p: Path) -> None:
        w = torch.load(p, weights_only=True)
        torch.save(edit(w), p)
    return write


TAMPERING = {
    "weights.pt": {
        "truncated": _truncate, "garbage": _garbage, "empty": _empty,
        "a list": lambda p: torch.save([torch.zeros(3)], p),
        "a missing tensor": _weights(lambda w: {k: v for k, v in w.items() if k != "readout.bias"}),
        "a wrong shape": _weights(lambda w: dict(w, **{"readout.weight": torch.zeros(1, 7)})),
        "NaN values": _weights(lambda w: dict(w, **{"h0": torch.full_like(w["h0"], float("nan"))})),
    },
    "vocab.json": {
        "truncated": _truncate, "garbage": _garbage, "empty": _empty, "a list": _json([1, 2]),
        "no <pad>": _json({"itos": ["a", "b"]}), "duplicates": _json({"itos": [PAD, UNK, "a", "a"]}),
        "fewer words than the embedding": _json({"itos": [PAD, UNK, "good"]}),
        "deeply nested": lambda p: p.write_text("[" * 100_000),
    },
    "config.json": {
        "truncated": _truncate, "garbage": _garbage, "empty": _empty, "a list": _json([]),
        "no kind": _edit_json(kind=None), "no arch": lambda p: p.write_text(json.dumps(
            {k: v for k, v in json.loads(p.read_text()).items() if k != "arch"})),
        "unknown arch": _edit_json(arch="transformer"), "arch a list": _edit_json(arch=["gru"]),
        "a huge hidden size": _edit_json(hidden_size=10 ** 9), "a string size": _edit_json(embed_dim="16"),
        "a bad window": _edit_json(max_len="all"), "a bad truncation": _edit_json(truncate="middle"),
        "a future format": _edit_json(format_version=99), "a string format": _edit_json(format_version="1"),
        "huge number": lambda p: p.write_text('{"kind": "rnn", "embed_dim": ' + "9" * 5000 + "}"),
    },
}


@pytest.mark.parametrize("fname,how", [(f, h) for f, hows in TAMPERING.items() for h in hows])
def test_a_tampered_model_file_is_refused_naming_it(tmp_path, fname, how):
    d = copy_model(TOY, tmp_path / "m")
    TAMPERING[fname][how](d / fname)
    t0 = time.time()
    with pytest.raises(ModelError) as e:
        load_model(d)
    assert str(d) in str(e.value)
    assert fname in str(e.value) or how in ("a missing tensor", "a wrong shape", "no arch", "unknown arch",
                                            "arch a list", "fewer words than the embedding")
    assert time.time() - t0 < 10       # refused before building anything big


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "a list"])
def test_a_tampered_metrics_file_is_named_and_the_model_still_predicts(tmp_path, monkeypatch, how):
    """metrics.json only describes the model: it still loads and predicts; the listing leaves it out; an
    analysis that needs its recorded dataset is refused naming the file; doctor says so."""
    from core.analysis.dynamics import dynamics
    models = tmp_path / "models"
    d = copy_model(TOY, models / "toy-gru")
    {"truncated": _truncate, "garbage": _garbage, "empty": _empty, "a list": _json([])}[how](d / "metrics.json")
    assert load_model(d).predict_proba(["not good"]).shape == (1,)
    assert store.list_models(models) == []
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="metrics.json"):
        dynamics(Settings.of(str(d)))
    lines = {c.check: c for c in doctor.check_models(models)}
    assert lines["model toy-gru"].status == "WARN" and "metrics.json" in lines["model toy-gru"].detail


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "payload"])
def test_a_tampered_cache_entry_is_recomputed_with_a_message(tmp_path, monkeypatch, how):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "marker"
    calls, logs = [], []

    def compute():
        calls.append(1)
        return {"answer": torch.arange(3), "n": 42}

    res, hit = cache.cached("abc", "thing", {"k": 1}, compute, log=logs.append)
    assert not hit and len(calls) == 1
    entry = tmp_path / "cache" / cache.entry_file("abc", "thing", {"k": 1})
    if how == "payload":
        write_payload(entry, marker, wrap=True)
    else:
        {"truncated": _truncate, "garbage": _garbage, "empty": _empty}[how](entry)
    assert cache.entry_problem(entry).startswith("unreadable")
    res, hit = cache.cached("abc", "thing", {"k": 1}, compute, log=logs.append)
    assert not hit and len(calls) == 2 and res["n"] == 42
    assert any(entry.name in m and "unreadable" in m for m in logs)
    assert cache.entry_problem(entry) is None               # rewritten
    assert cache.cached("abc", "thing", {"k": 1}, compute)[1]
    assert not marker.exists()


@pytest.mark.parametrize("how", ["truncated", "garbage", "payload"])
def test_a_tampered_shipped_analysis_is_ignored_with_a_message(tmp_path, monkeypatch, how):
    """Every shipped analysis of toy-gru, damaged in its copy: reported unreadable, never loaded; an entry
    shipped under the copy's own checksum is looked up through the cache and ignored the same way."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "marker"
    d = copy_model(TOY, tmp_path / "m", analyses=True)
    damage = {"truncated": _truncate, "garbage": _garbage,
              "payload": lambda p: write_payload(p, marker, wrap=True)}[how]
    shipped = sorted((d / cache.SHIPPED_DIR).glob("*.pt"))
    assert {p.name.split("-")[0] for p in shipped} >= {"dynamics", "modifiers", "position"}
    for p in shipped:
        assert cache.entry_problem(p) is None
        damage(p)
        assert cache.entry_problem(p).startswith("unreadable")
    checksum = store.model_checksum(d)
    cache.cached(checksum, "position", {"length": 5}, lambda: {"curve": torch.ones(5)}, model_dir=d, ship=True)
    (tmp_path / "cache" / cache.entry_file(checksum, "position", {"length": 5})).unlink()
    damage(d / cache.SHIPPED_DIR / cache.entry_file(checksum, "position", {"length": 5}))
    logs = []
    assert cache.lookup(checksum, "position", {"length": 5}, d, log=logs.append) is None
    assert len(logs) == 1 and "unreadable" in logs[0]
    lines = [c for c in doctor.check_analyses(d, "rnn") if c.status == "WARN"]
    assert any("unreadable shipped analyses" in c.detail for c in lines)
    assert not marker.exists()


def test_a_pickle_with_code_is_refused_as_weights_and_runs_nothing(tmp_path):
    marker = tmp_path / "marker"
    d = copy_model(TOY, tmp_path / "m")
    write_payload(d / "weights.pt", marker)
    torch.load(d / "weights.pt", weights_only=False)        # the payload is real: unrestricted loading runs it
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ModelError, match="weights.pt: cannot be read as a weights file"):
        load_model(d)
    with pytest.raises(ModelError):
        store.load_model_dir(d)
    assert not marker.exists()


# ---- 5. concurrency --------------------------------------------------------------------------------------
TEXTS = ["not very good", "The acting was not good, and the plot was not very interesting either.",
         "very very bad", "it was good", "bad", "a film for it while the", "zzz unknown words only",
         "not " * 30 + "good"]


def test_one_engine_serves_eight_threads_with_the_serial_results():
    """As st.cache_resource shares one engine between sessions: 8 threads at once on a fresh engine (its
    lazily filled mode cache empty) give exactly the serial results, ablations included."""
    from core.analysis.context import engine
    calls = [(t, None) for t in TEXTS] + [(t, 1) for t in TEXTS[:4]]
    serial_eng, shared = engine(Settings.of("toy-gru")), engine(Settings.of("toy-gru"))

    def run(e, call):
        text, after = call
        return e.phrase(text) if after is None else e.phrase(text, ablate_after=after, modes="excited")

    serial = [run(serial_eng, c) for c in calls]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda c: run(shared, c), calls * 2))
    assert concurrent == serial * 2
    assert shared._full_modes.keys() == serial_eng._full_modes.keys()


RACE_CODE = """
import json, sys, time
from pathlib import Path
import torch
from core.storage.cache import cached

ready = Path(sys.argv[1])

def compute():
    (ready / sys.argv[2]).touch()           # inside compute; wait for the other process to get here too
    deadline = time.time() + 60
    while len(list(ready.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return {"values": torch.arange(100_000, dtype=torch.float64).sqrt(), "label": "deterministic"}

res, hit = cached("race-model", "race", {"n": 1}, compute, log=lambda m: None)
print(json.dumps({"sum": float(res["values"].sum()), "label": res["label"], "hit": hit}))
"""


def test_two_processes_computing_one_entry_leave_one_valid_entry(tmp_path):
    """Both processes miss, compute at the same time and write the same entry: one valid file, no temp files."""
    cache_dir, ready = tmp_path / "cache", tmp_path / "ready"
    ready.mkdir()
    env = dict(os.environ, SENTIMENT_CACHE_DIR=str(cache_dir))
    procs = [subprocess.Popen([sys.executable, "-c", RACE_CODE, str(ready), name], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    expected = float(torch.arange(100_000, dtype=torch.float64).sqrt().sum())
    assert [json.loads(out) for out, _ in outs] == [{"sum": expected, "label": "deterministic", "hit": False}] * 2
    files = sorted(p.name for p in cache_dir.iterdir())
    assert files == [cache.entry_file("race-model", "race", {"n": 1})]      # no temp files left
    assert cache.entry_problem(cache_dir / files[0]) is None
    got = torch.load(cache_dir / files[0], weights_only=True)["result"]
    assert got["label"] == "deterministic" and float(got["values"].sum()) == expected


# ---- 6. property-based tests -----------------------------------------------------------------------------
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=200)
MIXED_TEXT = st.lists(st.sampled_from(["not", "very", "good", "bad", "n't", "can't", "<br />", "&lt;br&gt;",
                                       "<b>", "-lrb-", "``", "'s", "\u200b", "\x00", "\n", "\t", "\u2028",
                                       "\ufeff", "é", "ｇｏｏｄ", "İ", "\u0301", "...", " "]) | ANY_TEXT,
                      max_size=30).map("".join)


@settings(max_examples=320, **PROPS)
@given(MIXED_TEXT)
@example("&lt;br&gt;")
@example("<<br>br>")
@example("<br\u200b>")
@example("< br >")
def test_tokenize_is_idempotent_on_its_joined_output(text):
    tokens = tokenize(text)
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) and t not in (PAD, UNK) for t in tokens)
    assert tokenize(" ".join(tokens)) == tokens


@settings(max_examples=100, **PROPS)
@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=30), st.lists(st.text(max_size=8), max_size=40))
def test_vocab_encode_maps_every_token_to_its_id_or_unk(words, tokens):
    words = [w for w in words if w not in (PAD, UNK)]
    vocab = Vocab([PAD, UNK, *words])
    ids = vocab.encode(tokens)
    assert len(ids) == len(tokens)
    assert all(vocab.itos[i] == t if t in vocab else i == 1 for t, i in zip(tokens, ids))
    assert vocab.encode(tokenize(" ".join(words))) == [vocab.stoi.get(t, 1) for t in tokenize(" ".join(words))]


LABELS = st.sampled_from([0, 1, "0", "1", "pos", "neg", "positive", "negative", "true", "false", " 1 ", "Pos"])
ROWS = st.lists(st.tuples(st.text(st.characters(codec="utf-8"), max_size=60), LABELS), min_size=1, max_size=12)


def _label_value(v) -> int:
    return {"0": 0, "1": 1, "pos": 1, "neg": 0, "positive": 1, "negative": 0, "true": 1, "false": 0}[str(v).strip().lower()]


def _csv_bytes(rows, delimiter: str) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter)   # quotes fields holding the delimiter, quotes, \r or \n
    w.writerow(["text", "label"])
    w.writerows([(t, lab) for t, lab in rows])
    return buf.getvalue().encode()


def _jsonl_bytes(rows, ascii_only: bool) -> bytes:
    return "".join(json.dumps({"text": t, "label": lab}, ensure_ascii=ascii_only) + "\n" for t, lab in rows).encode()


@settings(max_examples=200, **PROPS)
@given(ROWS, st.sampled_from([".csv", ".tsv", ".jsonl", ".jsonl-utf8"]))
def test_data_files_round_trip(tmp_path, rows, fmt):
    """Rows written by the csv / json modules load back exactly (texts, labels as 0/1) from CSV, TSV and JSONL;
    a row with an empty text is refused."""
    raw = {".csv": lambda: _csv_bytes(rows, ","), ".tsv": lambda: _csv_bytes(rows, "\t"),
           ".jsonl": lambda: _jsonl_bytes(rows, True), ".jsonl-utf8": lambda: _jsonl_bytes(rows, False)}[fmt]()
    path = tmp_path / f"rows{fmt.split('-')[0]}"
    path.write_bytes(raw)
    blank = next((i for i, (t, _) in enumerate(rows, 1) if not t.strip()), None)
    if blank is not None:   # one text rule in every format: the first empty row is refused, by number
        with pytest.raises(DataError, match=rf"{path.name}, row {blank} \(line \d+\): empty text"):
            load_file(path)
        return
    ds = load_file(path)
    assert ds.texts == [t for t, _ in rows]
    assert ds.labels.tolist() == [_label_value(v) for _, v in rows]


@settings(max_examples=200, **PROPS)
@given(st.binary(max_size=300), st.sampled_from([".csv", ".tsv", ".jsonl", ".json", ".csv.gz", ".txt"]))
@example(b"[" * 100_000, ".json")
@example(b"[" * 100_000, ".jsonl")
@example(b'{"text": "a", "label": ' + b"1" * 5000 + b"}", ".jsonl")
@example(b"text,label\n" + b"x" * 200_000 + b",1\n", ".csv")
@example(b"\x1f\x8b\x08\x00garbage", ".csv.gz")
def test_loaders_on_arbitrary_bytes_raise_only_data_errors(tmp_path, raw, ext):
    """load_file and parse_upload on any bytes: a dataset, or a DataError naming the file."""
    path = tmp_path / f"f{ext}"
    path.write_bytes(raw)
    try:
        ds = load_file(path)
        assert len(ds.texts) == len(ds.labels) > 0
    except DataError as e:
        assert path.name in str(e)
    if ext in (".csv.gz", ".txt"):
        return
    try:
        texts, labels = parse_upload(path.name, raw)
        assert len(texts) == len(labels) > 0 and set(labels) <= {0, 1}
    except DataError as e:
        assert path.name in str(e)


@settings(max_examples=100, **PROPS)
@given(ROWS, st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
def test_parse_upload_round_trips_generated_rows(rows, ext):
    raw = {".csv": lambda: _csv_bytes(rows, ","), ".tsv": lambda: _csv_bytes(rows, "\t"),
           ".jsonl": lambda: _jsonl_bytes(rows, False),
           ".json": lambda: json.dumps([{"text": t, "label": v} for t, v in rows]).encode()}[ext]()
    if any(not t.strip() for t, _ in rows):
        with pytest.raises(DataError, match="empty text"):
            parse_upload(f"up{ext}", raw)
        return
    texts, labels = parse_upload(f"up{ext}", raw)
    assert texts == [t for t, _ in rows] and labels == [_label_value(v) for _, v in rows]


def _check_phrase(eng, text: str) -> None:
    """phrase(text): 'no tokens' for a text without any, else one finite entry per token in the window."""
    tokens = tokenize(text)
    if not tokens:
        with pytest.raises(ValueError, match="no tokens"):
            eng.phrase(text)
        return
    res = eng.phrase(text, exact=len(tokens) <= 20)   # v_relax (K steps per token) on short texts only
    win = res["window"]
    assert win["n_text_tokens"] == len(tokens) and win["end"] - win["start"] == len(res["tokens"]) <= 2000
    assert [t["token"] for t in res["tokens"]] == tokens[win["start"]:win["end"]]
    assert 0.0 <= res["p_pos"] <= 1.0 and math.isfinite(res["logit"])
    for t in res["tokens"]:
        for k in ("dy", "y", "v", "v0", "deflection"):
            assert math.isfinite(t[k]), (k, t)
        assert t["v_relax"] is None or math.isfinite(t["v_relax"])
        assert t["m"] is None or math.isfinite(t["m"])
        assert all(math.isfinite(m["amplitude"]) for m in t["modes"])
    assert len(res["trajectory_pc"]) == len(res["tokens"]) + 1
    assert sum(t["dy"] for t in res["tokens"]) == pytest.approx(res["tokens"][-1]["y"] - (res["tokens"][0]["y"] - res["tokens"][0]["dy"]), abs=1e-6)


@settings(max_examples=120, **PROPS)
@given(MIXED_TEXT)
@example("")
@example(" \n\t\x00\u200b")
@example("\ud7ff\U0010ffff")
@example("😀 not good 😀")
def test_phrase_on_arbitrary_text(eng, text):
    _check_phrase(eng, text)


@settings(max_examples=10, **PROPS)
@given(st.lists(st.sampled_from(["not", "very", "good", "bad", "and", "a", "zz", ",", "\u200b", "é"]),
                min_size=1, max_size=40), st.integers(40, 3000))
def test_phrase_on_very_long_text(eng, words, n):
    _check_phrase(eng, " ".join(words[i % len(words)] for i in range(n)))


# ---- 7. doctor -------------------------------------------------------------------------------------------
def _doctor(argv: list[str], capsys) -> tuple[int, str]:
    ap = argparse.ArgumentParser()
    doctor.add_parser(ap.add_subparsers(dest="command"))
    rc = doctor.run(ap.parse_args(["doctor", *argv]))
    return rc, capsys.readouterr().out


def test_doctor_passes_on_the_repository(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    rc, out = _doctor(["--json"], capsys)
    lines = json.loads(out)
    assert rc == 0, [c for c in lines if c["status"] == "FAIL"]
    by = {c["check"]: c for c in lines}
    assert set(by) >= {"python", "packages", "torch", "batched solve", "model toy-gru", "analyses toy-gru",
                       "data root", "cache", "streamlit config", "browser tools"}
    assert all(set(c) == {"check", "status", "detail", "fix"} and c["status"] in ("OK", "WARN") for c in lines)
    assert all(c["fix"] for c in lines if c["status"] == "WARN")
    assert by["model toy-gru"]["status"] == "OK" and by["batched solve"]["status"] == "OK"
    assert by["cache"]["status"] == "OK" and "writable" in by["cache"]["detail"]


def test_doctor_looks_for_the_analyses_the_pages_open_with(monkeypatch):
    """The settings doctor checks are the ones the Dynamics, Modifiers and Position pages ask for with their
    defaults (recorded from the real entry points, whose cache is stubbed)."""
    import core.analysis.api as analysis
    from core.analysis import dynamics as D
    from core.analysis.dynamics import dynamics
    from ui.state import DEFAULT_SEEDS
    asked = {}
    monkeypatch.setattr(D, "lookup", lambda checksum, name, settings, *a, **k: asked.setdefault(name, settings))
    monkeypatch.setattr(analysis, "cached", lambda checksum, name, settings, *a, **k: (asked.setdefault(name, settings), True))
    dynamics(Settings.of(str(TOY), n_seeds=DEFAULT_SEEDS))
    analysis.modifiers(Settings.of(str(TOY), n_seeds=DEFAULT_SEEDS), top=30, words=None)
    analysis.position(Settings.of(str(TOY), n_seeds=DEFAULT_SEEDS))
    wanted = doctor.app_settings(TOY)
    assert asked.keys() == wanted.keys()
    assert all(asked[name] == wanted[name][0] for name in asked)


def test_doctor_fails_on_a_corrupt_model_and_says_how_to_fix_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    models = tmp_path / "models"
    copy_model(TOY, models / "toy-gru", analyses=True)
    bad = copy_model(TOY, models / "broken")
    _truncate(bad / "weights.pt")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "dynamics-0123456789abcdef01234567.pt").write_bytes(b"garbage")
    rc, out = _doctor(["--models-dir", str(models)], capsys)
    assert rc == 1
    line = next(ln for ln in out.splitlines() if ln.startswith("FAIL") and "model broken" in ln)
    assert "weights.pt" in line and "cannot be read" in line
    fix = out.splitlines()[out.splitlines().index(line) + 1]
    assert "fix:" in fix and "git checkout" in fix
    assert any(ln.startswith("OK") and "model toy-gru" in ln for ln in out.splitlines())
    assert any(ln.startswith("WARN") and "1 unreadable" in ln for ln in out.splitlines())
    assert "FAIL" in out.splitlines()[-1] and "1 FAIL" in out.splitlines()[-1]


def test_model_checksum_follows_every_change_of_the_files(tmp_path):
    """The checksum is remembered between page reruns, but a weights file replaced (atomically, as the
    project writes), rewritten in place, or a vocabulary removed, gives the checksum of the new content."""
    import hashlib
    import os

    d = copy_model(TOY, tmp_path / "m")

    def fresh() -> str:
        h = hashlib.sha256()
        for name in ("config.json", "vocab.json", "weights.pt"):
            if (d / name).exists():
                h.update(name.encode())
                h.update((d / name).read_bytes())
        return h.hexdigest()

    first = store.model_checksum(d)
    assert first == fresh()
    hashed = []
    real = store.hashlib.sha256
    store.hashlib.sha256 = lambda *a: hashed.append(1) or real(*a)
    try:
        assert store.model_checksum(d) == first and not hashed    # a rerun: remembered, not hashed again
    finally:
        store.hashlib.sha256 = real
    w = torch.load(d / "weights.pt", weights_only=True)
    w["readout.bias"] = w["readout.bias"] + 1
    torch.save(w, d / "weights.pt")
    assert store.model_checksum(d) == fresh() != first
    raw = bytearray((d / "weights.pt").read_bytes())
    st = (d / "weights.pt").stat()
    raw[-1] ^= 1
    (d / "weights.pt").write_bytes(bytes(raw))                  # same size, same inode, new bytes
    os.utime(d / "weights.pt", ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert store.model_checksum(d) == fresh()
    (d / "vocab.json").unlink()
    assert store.model_checksum(d) == fresh()


def test_an_entry_read_again_is_a_fresh_copy_and_a_rewritten_file_is_read_anew(tmp_path, monkeypatch):
    """The in-memory copy of an entry read once: a reader that changes its result does not change the next
    reader's, and a file written again (new content) is read from disk, not from memory."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    cache.cached("abc", "thing", {"k": 1}, lambda: {"answer": torch.arange(3), "words": ["not", "very"]})
    first = cache.lookup("abc", "thing", {"k": 1})
    first["words"].append("changed")
    first["answer"][0] = 99
    again = cache.lookup("abc", "thing", {"k": 1})
    assert again["words"] == ["not", "very"] and again["answer"].tolist() == [0, 1, 2]
    cache.cached("abc", "thing", {"k": 1}, lambda: {"answer": torch.arange(5), "words": []}, refresh=True)
    assert cache.lookup("abc", "thing", {"k": 1})["answer"].tolist() == [0, 1, 2, 3, 4]
