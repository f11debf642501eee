"""Refusals of tensor files that are not safe PyTorch tensor files (issue #20, item 5): a state dict given to
`import`, a model folder's weights.pt, an analysis cache entry and a training checkpoint are each read by
core.storage.tensors.load_tensors (weights_only=True). Whatever the file is, the refusal names it, says in plain
words what is wrong, never passes on torch's advice to load it again with weights_only=False, and the pickled
code in a crafted file does not run."""
from __future__ import annotations

import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.experiments.train import TrainConfig, train
from core.models.store import MODELS_DIR, ModelError, load_model
from core.storage import cache
from core.storage.tensors import UnreadableTensors, load_tensors
from core.tools.importer import ImportRefused, import_model

ROOT = Path(__file__).resolve().parent.parent
TOY = MODELS_DIR / "toy-gru"
# torch 2.13's refusal says that loading again with weights_only=False "will likely succeed": never shown
UNSAFE_ADVICE = ("weights_only=False", "likely succeed", "`weights_only` set to `False`")


class Payload:
    """A pickled call that creates `marker` when the file is unpickled without weights_only."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def write_hostile(kind: str, path: Path, marker: Path) -> None:
    """A file of the given kind at path; the kinds holding pickled code would create marker if it ran."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "code":
        torch.save({"embedding.weight": Payload(marker)}, path)
    elif kind == "plain-pickle":
        path.write_bytes(pickle.dumps({"embedding.weight": Payload(marker)}, protocol=4))
    elif kind == "truncated":
        torch.save({"embedding.weight": torch.randn(200, 16)}, path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "truncated-old-format":
        torch.save({"w": torch.randn(200, 16)}, path, _use_new_zipfile_serialization=False)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "text":
        path.write_text("embedding.weight: 0.1 0.2 0.3\nthis is not a tensor file\n", encoding="utf-8")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "a zip archive, not torch.save's")
    elif kind == "numpy":
        torch.save({"embedding.weight": np.zeros((3, 4), dtype=np.float32)}, path)
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.zeros((3, 4), dtype=np.float32))
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    else:
        raise ValueError(kind)


# What each refusal says is wrong (torch 2.13).
WHAT = {
    "code": r"it holds a pickled Python object \((posix|nt)\.system\), not only tensors .*; it was refused, and "
            r"nothing in the file was run",
    # torch 2.13's safe unpickler stops at protocol 4's first opcode, before the call: either answer is right
    "plain-pickle": r"it is a plain Python pickle, not a file written by torch\.save; nothing in it was run|"
                    r"it holds a pickled Python object \((posix|nt)\.system\)",
    "truncated": r"it is truncated or damaged \(an incomplete zip archive, the format torch\.save writes\)",
    "truncated-old-format": r"it is truncated or damaged \(a file in torch\.save's older, non-zip format\)",
    "text": r"it is a text file, not a file written by torch\.save",
    "empty": r"the file is empty \(0 bytes\)",
    "zip": r"it is a zip archive, but not one written by torch\.save \(it has no data\.pkl\)",
    "numpy": r"it holds a pickled Python object \(numpy\.[\w.]+\), not only tensors",
    "npy": r"it is a NumPy \.npy file, not a file written by torch\.save",
    "garbage": r"it is not a file written by torch\.save \(unrecognised contents, or damaged\)",
}
KINDS = sorted(WHAT)


def assert_clear(message: str, path: Path, kind: str, marker: Path) -> None:
    """The refusal names the file, says what is wrong, never suggests loading it unsafely, and ran nothing."""
    assert str(path) in message, message
    assert re.search(WHAT[kind], message), message
    assert not any(a in message for a in UNSAFE_ADVICE), message
    assert not marker.exists(), "the pickled code ran"


@pytest.mark.parametrize("kind", KINDS)
def test_load_tensors_says_what_the_file_is(kind, tmp_path):
    path, marker = tmp_path / "file.pt", tmp_path / "marker"
    write_hostile(kind, path, marker)
    with pytest.raises(UnreadableTensors) as e:
        load_tensors(path)
    assert e.value.path == path and re.match(WHAT[kind], e.value.reason)  # the reason is the clause itself
    assert_clear(str(e.value), path, kind, marker)
    assert isinstance(e.value, ValueError)


def test_a_complete_file_still_loads(tmp_path):
    torch.save({"w": torch.arange(3)}, tmp_path / "ok.pt")
    assert torch.equal(load_tensors(tmp_path / "ok.pt")["w"], torch.arange(3))


@pytest.mark.parametrize("kind", KINDS)
def test_import_refuses_the_state_dict(kind, tmp_path):
    sd, marker = tmp_path / "sd.pt", tmp_path / "marker"
    write_hostile(kind, sd, marker)
    (tmp_path / "vocab.txt").write_text("<pad>\n<unk>\ngood\nbad\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as e:
        import_model(sd, tmp_path / "vocab.txt", "x", out_dir=tmp_path / "models")
    assert str(e.value).startswith(f"{sd}: cannot be read as a PyTorch state dict: ")
    assert str(e.value).endswith("Save the weights with torch.save(model.state_dict(), FILE)")
    assert_clear(str(e.value), sd, kind, marker)
    assert not (tmp_path / "models").exists()


def test_the_import_command_refuses_a_crafted_pickle_with_exit_2(tmp_path):
    sd, marker = tmp_path / "sd.pt", tmp_path / "marker"
    write_hostile("code", sd, marker)
    (tmp_path / "vocab.txt").write_text("<pad>\n<unk>\ngood\nbad\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "core", "import", "--state-dict", str(sd), "--vocab",
                           str(tmp_path / "vocab.txt"), "--name", "x", "--out-dir", str(tmp_path / "models")],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    message = done.stderr.strip()
    assert message.startswith(f"error: {sd}: cannot be read as a PyTorch state dict: it holds a pickled Python object")
    assert_clear(message, sd, "code", marker)
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_folder_with_hostile_weights_is_refused(kind, tmp_path):
    folder, marker = tmp_path / "m", tmp_path / "marker"
    folder.mkdir()
    for f in ("config.json", "vocab.json", "metrics.json"):
        shutil.copy(TOY / f, folder / f)
    write_hostile(kind, folder / "weights.pt", marker)
    with pytest.raises(ModelError) as e:
        load_model(folder)
    assert str(e.value).startswith(f"{folder / 'weights.pt'}: cannot be read as a weights file: ")
    assert_clear(str(e.value), folder / "weights.pt", kind, marker)


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_cache_entry_is_a_miss_with_a_message(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "marker"
    entry = tmp_path / "cache" / cache.entry_file("abc", "thing", {"k": 1})
    write_hostile(kind, entry, marker)
    logs: list[str] = []
    assert cache.lookup("abc", "thing", {"k": 1}, log=logs.append) is None
    assert logs == [f"cache {entry.name}: {cache.entry_problem(entry)}; ignored"]   # named by its file name
    assert cache.entry_problem(entry).startswith("unreadable: ") and re.search(WHAT[kind], logs[0])
    assert not any(a in logs[0] for a in UNSAFE_ADVICE) and not marker.exists()
    res, hit = cache.cached("abc", "thing", {"k": 1}, lambda: {"n": 42}, log=logs.append)
    assert (res, hit) == ({"n": 42}, False) and cache.entry_problem(entry) is None   # recomputed and rewritten


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_training_checkpoint_is_refused(kind, tmp_path, toy_csv):
    checkpoint, marker = tmp_path / ".runs" / "m" / "checkpoint.pt", tmp_path / "marker"
    write_hostile(kind, checkpoint, marker)
    cfg = TrainConfig(name="m", data=toy_csv, out_dir=str(tmp_path), epochs=1, embed_dim=4, hidden_size=4,
                      min_count=1, resume=True)
    with pytest.raises(ModelError) as e:
        train(cfg, log=lambda m: None)
    assert str(e.value).startswith(f"{checkpoint}: cannot be read as a training checkpoint: ")
    assert str(e.value).endswith("; delete it to start afresh")
    assert_clear(str(e.value), checkpoint, kind, marker)


def test_a_tensor_file_that_is_not_a_checkpoint_is_refused(tmp_path, toy_csv):
    checkpoint = tmp_path / ".runs" / "m" / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True)
    torch.save({"model": {}}, checkpoint)
    cfg = TrainConfig(name="m", data=toy_csv, out_dir=str(tmp_path), epochs=1, embed_dim=4, hidden_size=4,
                      min_count=1, resume=True)
    with pytest.raises(ModelError, match=re.escape(f"{checkpoint}: not a checkpoint written by this trainer")):
        train(cfg, log=lambda m: None)
