"""Safe reading of tensor files that a user or a folder provides (state dicts, model weights, cache entries,
training checkpoints): `torch.load(..., weights_only=True)`, and, when that refuses the file, one plain
sentence on what is wrong with it.

torch's own message for a refused file is not shown: it tells the reader that loading again with
`weights_only=False` "will likely succeed", which is the one thing not to do with a file that was refused
(it runs whatever code the file holds). What is wrong is found from the file's first bytes and the kind of
refusal instead, so it does not hang on torch's wording, which changes between versions.
"""
from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

HEAD_BYTES = 512   # bytes of the file read to tell what it is
# The start of torch.save's older (before PyTorch 1.6, non-zip) format: a pickled magic number.
LEGACY_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
# The module.name of the first object the safe unpickler refused: "Unsupported global: GLOBAL x.y was not
# an allowed global" (objects and classes) or "unsupported GLOBAL posix.system whose module posix is blocked".
REFUSED_GLOBAL = re.compile(r"unsupported (?:global: )?GLOBAL ([\w.]+)", re.IGNORECASE)


class UnreadableTensors(ValueError):
    """A file that torch.load(weights_only=True) does not read; `reason` says why in plain words."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def load_tensors(path: Path) -> Any:
    """The tensors (and plain containers and numbers) saved in a file by torch.save, read on the CPU with
    weights_only=True, so no pickled code in the file can run. A file that cannot be read so raises
    UnreadableTensors saying what it is instead (empty, truncated, text, a pickle of objects...)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:   # the machine's limit, not the file's fault
        raise
    except Exception as e:  # every refusal is described by what_is_wrong; torch's text is not passed on
        raise UnreadableTensors(path, what_is_wrong(path, e)) from None


def all_finite(t: torch.Tensor, dtype: torch.dtype | None = None) -> bool:
    """Whether every value of a floating-point tensor is finite (and stays finite cast to dtype, if given).
    Decided by its smallest and largest values, which a NaN turns into NaN, and which bound every value after
    a (monotonic) cast: no temporary copies, where torch.isfinite(t) of a whole embedding makes several."""
    if t.numel() == 0:
        return True
    ends = torch.stack(torch.aminmax(t))
    return bool(torch.isfinite(ends if dtype is None else ends.to(dtype)).all())


def what_is_wrong(path: Path, error: Exception) -> str:
    """Why torch.load(weights_only=True) raised `error` for this file, as a clause: 'it is ...'."""
    found = REFUSED_GLOBAL.search(str(error)) if isinstance(error, pickle.UnpicklingError) else None
    if found:
        return (f"it holds a pickled Python object ({found.group(1).rstrip('.')}), not only tensors (a whole "
                "model, a custom class, a NumPy array or code); it was refused, and nothing in the file was run")
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"
    if not head:
        return "the file is empty (0 bytes)"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_problem(path)
    if head.startswith(LEGACY_MAGIC):
        return "it is truncated or damaged (a file in torch.save's older, non-zip format)"
    if head.startswith(b"\x93NUMPY"):
        return "it is a NumPy .npy file, not a file written by torch.save"
    if head.startswith(b"\x80"):
        return "it is a plain Python pickle, not a file written by torch.save; nothing in it was run"
    if _is_text(head):
        return "it is a text file, not a file written by torch.save"
    return "it is not a file written by torch.save (unrecognised contents, or damaged)"


def _zip_problem(path: Path) -> str:
    """What is wrong with a zip archive that torch.load refused: torch.save writes NAME/data.pkl and the
    tensors' data beside it. Only the archive's table of contents is read, nothing is unpacked."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "it is truncated or damaged (an incomplete zip archive, the format torch.save writes)"
    if not any(n.endswith("/data.pkl") for n in names):
        return "it is a zip archive, but not one written by torch.save (it has no data.pkl)"
    return "it is damaged: a torch.save archive whose contents cannot be read"


def _is_text(head: bytes) -> bool:
    """Whether the bytes read as UTF-8 text (a character cut at the end of `head` allowed)."""
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return all(c.isprintable() or c in "\t\n\r\f\v" for c in text)
    return False
