"""Bring your own model: `python -m core import` turns a PyTorch state dict of Embedding -> GRU/LSTM/RNN ->
Linear, plus its vocabulary, into a project model folder (models/<name>/) that every analysis can open.

Nothing is taken on trust: the file is loaded with `weights_only=True` (no pickled code runs), every key
and shape is checked, the vocabulary is mapped onto the project's `<pad>` = 0 / `<unk>` = 1 rows by
permuting embedding rows, and the project's model must give the same logits as the original modules,
rebuilt from the same state dict, on random padded batches before anything is written. The project's
cells hold PyTorch's own nn.GRU / nn.LSTM / nn.RNN, so the recurrent weights are copied unchanged (same
gate order: GRU r, z, n; LSTM i, f, g, o); only the names change.

Memory stays proportional to the arrays kept: the vocabulary is read line by line and refused as soon as it
passes MAX_VOCAB, the embedding's rows are checked against the same cap before anything is converted, and
the rows are permuted with one index operation (no Python object per row).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import torch
from torch import nn

from core.data.text import PAD, UNK, Vocab, tokenize
from core.models.rnn import SentimentRNN
from core.models.store import MODELS_DIR, load_model, save_model_dir
from core.storage.io import atomic_write_json
from core.storage.tensors import UnreadableTensors, all_finite, load_tensors

GATES = {"gru": 3, "lstm": 4, "rnn": 1}  # rows of weight_ih_l0 per hidden unit
PROJECT_ARCH = {"gru": "gru", "lstm": "lstm", "rnn": "vanilla"}
TORCH_RNN = {"gru": "GRU", "lstm": "LSTM", "rnn": "RNN"}  # class names in torch.nn
RNN_PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
# Preferred module names when shapes alone leave a choice (`class Net: embedding, rnn, fc` first).
EMBEDDING_NAMES = ("embedding", "embed", "embeddings", "emb", "word_embeddings", "encoder")
RNN_NAMES = ("rnn", "gru", "lstm", "encoder", "recurrent")
READOUT_NAMES = ("fc", "linear", "out", "output", "classifier", "decoder", "head", "readout", "fc_out")
PAD_NAMES = ("<pad>", "<PAD>", "[PAD]", "<blank>", "PAD", "__PAD__")
UNK_NAMES = ("<unk>", "<UNK>", "[UNK]", "<oov>", "<OOV>", "[OOV]", "UNK", "OOV", "__UNK__")
N_CHECK, CHECK_MAX_LEN, TOLERANCE = 300, 40, 1e-4
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # a name models/ can be asked for (core.models.store's rule)
# The largest vocabulary (entries of the vocabulary file, rows of the embedding) an import accepts. Word-level
# sentiment RNNs use 10,000-100,000 words (Keras' IMDB word_index has 88,584; this project trains with 20,000),
# so 1,000,000 leaves ten times the largest of them. The import's memory grows with it: at the cap it peaked at
# 1.4 GB with 64-dimensional embeddings and 4.1 GB with 300 (torch 2.13, Linux). A whole pretrained word-vector
# vocabulary (2-3 million words) is cut to the words the model was trained on first.
MAX_VOCAB = 1_000_000
MAX_TOKEN_CHARS = 1_000  # a longer line of a text vocabulary is not a token; it bounds each line read
JSON_BYTES_PER_TOKEN = 100  # a JSON vocabulary larger than this per allowed token is refused before it is parsed


class ImportRefused(ValueError):
    """A checkpoint or vocabulary this importer cannot turn into an equivalent project model."""


@dataclass
class Modules:
    """Where the three modules sit in the state dict, and what they are."""

    embedding: str
    rnn: str
    readout: str
    arch: str  # gru | lstm | rnn (PyTorch's names)
    rows: int  # embedding rows (vocabulary size of the original model)
    embed_dim: int
    hidden_size: int
    logits: int  # 1 or 2 outputs of the readout


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, recorded so an imported folder names exactly what it came from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(prefix: str, param: str) -> str:
    return f"{prefix}.{param}" if prefix else param


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a saved state dict (or of a checkpoint's 'state_dict' / 'model_state_dict')."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    try:
        obj = load_tensors(path)
    except UnreadableTensors as e:  # empty, truncated, text, pickled classes or code (which did not run)
        raise ImportRefused(f"{path}: cannot be read as a PyTorch state dict: {e.reason}. "
                            "Save the weights with torch.save(model.state_dict(), FILE)") from None
    if isinstance(obj, dict):
        for wrapper in ("state_dict", "model_state_dict"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj:
        raise ImportRefused(f"{path}: expected a state dict (a dict of tensors), got {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ImportRefused(f"{path}: not a state dict: entries that are not named tensors: {bad[:5]}")
    return dict(obj)


def as_float32(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The weights in float32, refusing integer tensors and NaN or infinite values."""
    for k, v in sd.items():
        if not v.is_floating_point():
            raise ImportRefused(f"{k} is {v.dtype}, not a floating-point weight")
        if not all_finite(v):
            raise ImportRefused(f"{k} contains NaN or infinite values")
    return {k: v.detach().float() for k, v in sd.items()}


def read_vocab(path: Path) -> list[str | None]:
    """Token of each index: a JSON list, a JSON object token -> index (or {"itos": [...]}), or one token
    per line (any other extension). None marks an index without a token (e.g. Keras' padding 0).
    More than MAX_VOCAB entries are refused: a text file as soon as its line MAX_VOCAB + 1 is read, a JSON
    file from its size before it is parsed or from its entries after."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    try:
        tokens = _json_vocab(path) if path.suffix.lower() == ".json" else _text_vocab(path)
    except UnicodeDecodeError as e:
        raise ImportRefused(f"{path}: not UTF-8 text ({e})") from None
    if not tokens:
        raise ImportRefused(f"{path}: the vocabulary is empty")
    seen: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if t is not None and t in seen:
            raise ImportRefused(f"{path}: token {t!r} appears twice (indices {seen[t]} and {i})")
        if t is not None:
            seen[t] = i
    return tokens


def _too_many(path: Path, found: str) -> ImportRefused:
    """The refusal of a vocabulary above MAX_VOCAB: the file, what was found in it, and the cap."""
    return ImportRefused(f"{path}: {found}; an import takes at most {MAX_VOCAB:,} (MAX_VOCAB in "
                         "core/tools/importer.py, which bounds its memory): keep only the words the model needs, in "
                         "the vocabulary and in the embedding's rows")


def _text_vocab(path: Path) -> list[str | None]:
    """One token per line (a line ends at \\n, \\r\\n or \\r), read line by line: at most MAX_VOCAB lines of at
    most MAX_TOKEN_CHARS characters are held."""
    tokens: list[str | None] = []
    empty = []
    with open(path, encoding="utf-8") as f:
        while line := f.readline(MAX_TOKEN_CHARS + 2):
            token = line.removesuffix("\n")
            if len(token) > MAX_TOKEN_CHARS:
                raise ImportRefused(f"{path}: line {len(tokens) + 1} is longer than {MAX_TOKEN_CHARS:,} characters: "
                                    "a text vocabulary has one token per line")
            if len(tokens) == MAX_VOCAB:
                raise _too_many(path, f"{len(tokens) + 1 + _lines_left(f):,} lines")
            if not token.strip():
                empty.append(len(tokens) + 1)
            tokens.append(token)
    if empty:
        raise ImportRefused(f"{path}: line(s) {empty[:5]} are empty; a text vocabulary has one token per line")
    return tokens


def _lines_left(f: TextIO) -> int:
    """Lines not yet read from a text file open for reading, counted 1 MiB at a time (none are kept)."""
    n, last = 0, "\n"
    for block in iter(lambda: f.read(1 << 20), ""):
        n, last = n + block.count("\n"), block[-1]
    return n + (last != "\n")


def _json_vocab(path: Path) -> list[str | None]:
    """A JSON list of tokens in index order, or an object token -> index (or {"itos": [...]}); a file too large
    for MAX_VOCAB tokens is refused before it is parsed, an index at or above MAX_VOCAB before it is placed."""
    size = path.stat().st_size
    if size > JSON_BYTES_PER_TOKEN * MAX_VOCAB:
        raise _too_many(path, f"{size:,} bytes of JSON (at most {JSON_BYTES_PER_TOKEN * MAX_VOCAB:,} are read)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, RecursionError) as e:  # RecursionError: nested deeper than Python's stack
        raise ImportRefused(f"{path}: not valid JSON ({e})") from None
    if isinstance(data, dict) and isinstance(data.get("itos"), list):
        data = data["itos"]
    if isinstance(data, list):
        if not all(isinstance(t, str) for t in data):
            raise ImportRefused(f"{path}: a JSON vocabulary list must hold strings (tokens in index order)")
        if len(data) > MAX_VOCAB:
            raise _too_many(path, f"{len(data):,} tokens")
        return list(data)
    if not isinstance(data, dict):
        raise ImportRefused(f"{path}: expected a JSON list of tokens or an object token -> index, "
                            f"got {type(data).__name__}")
    bad = [t for t, i in data.items() if isinstance(i, bool) or not isinstance(i, int) or i < 0]
    if bad:
        raise ImportRefused(f"{path}: a JSON vocabulary object maps tokens to indices >= 0; not so for {bad[:5]}")
    size = max(data.values()) + 1 if data else 0
    if size > MAX_VOCAB:
        raise _too_many(path, f"{len(data):,} tokens with indices up to {size - 1:,}")
    tokens: list[str | None] = [None] * size
    for t, i in data.items():
        if tokens[i] is not None:
            raise ImportRefused(f"{path}: index {i} is given to both {tokens[i]!r} and {t!r}")
        tokens[i] = t
    return tokens


def _groups(sd: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Parameters grouped by module prefix: {"rnn": {"weight_ih_l0": ...}, ...}."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for k, v in sd.items():
        prefix, _, param = k.rpartition(".")
        out.setdefault(prefix, {})[param] = v
    return out


def _listing(sd: dict[str, torch.Tensor], limit: int = 30) -> str:
    items = [f"{k} {tuple(v.shape)}" for k, v in sd.items()]
    return ", ".join(items[:limit]) + (f", ... ({len(items)} keys)" if len(items) > limit else "")


def _choose(kind: str, flag: str, candidates: list[str], names: tuple[str, ...], expected: str,
            sd: dict[str, torch.Tensor]) -> str:
    """The one candidate module, a preferred name among several, or a refusal saying what was expected."""
    if len(candidates) == 1:
        return candidates[0]
    preferred = [n for n in names if n in candidates]
    if preferred:
        return preferred[0]
    if not candidates:
        raise ImportRefused(f"no {kind} found: expected {expected}. Found: {_listing(sd)}. "
                            f"Name the module with {flag} PREFIX if its shapes are right")
    raise ImportRefused(f"several modules could be the {kind} ({', '.join(repr(c) for c in candidates)}): "
                        f"choose one with {flag} PREFIX")


def find_modules(sd: dict[str, torch.Tensor], arch: str | None = None, embedding: str | None = None,
                 rnn: str | None = None, readout: str | None = None) -> Modules:
    """Locate and check Embedding, recurrent module and Linear readout by name or, where unambiguous, shape."""
    groups = _groups(sd)
    rnn_cands = [p for p, ps in groups.items() if any(re.fullmatch(r"weight_ih_l\d+(_reverse)?", k) for k in ps)]
    if rnn is None:
        if not rnn_cands and any("weight_ih" in ps for ps in groups.values()):
            raise ImportRefused("found an nn.GRUCell/LSTMCell/RNNCell-style module (key weight_ih without _l0): "
                                "only nn.GRU, nn.LSTM and nn.RNN layers are supported")
        rnn = _choose("recurrent module", "--rnn-prefix", rnn_cands, RNN_NAMES,
                      "PREFIX.weight_ih_l0, PREFIX.weight_hh_l0, PREFIX.bias_ih_l0, PREFIX.bias_hh_l0 "
                      "(an nn.GRU, nn.LSTM or nn.RNN)", sd)
    ps = groups.get(rnn, {})
    if "weight_ih_l0" not in ps or "weight_hh_l0" not in ps:
        raise ImportRefused(f"no recurrent module at prefix {rnn!r}: expected {_key(rnn, 'weight_ih_l0')} and "
                            f"{_key(rnn, 'weight_hh_l0')}. Found: {_listing(sd)}")
    unsupported = []
    if any(k.endswith("_reverse") for k in ps):
        unsupported.append(f"bidirectional=True ({_key(rnn, 'weight_ih_l0_reverse')})")
    layers = sorted({int(m.group(1)) for k in ps if (m := re.fullmatch(r"weight_ih_l(\d+)(_reverse)?", k))})
    if layers != [0]:
        unsupported.append(f"num_layers={max(layers) + 1} ({_key(rnn, f'weight_ih_l{max(layers)}')})")
    if any(k.startswith("weight_hr_l") for k in ps):
        unsupported.append(f"proj_size > 0 ({_key(rnn, 'weight_hr_l0')})")
    if unsupported:
        raise ImportRefused(f"the recurrent module {rnn!r} has {' and '.join(unsupported)}: only a single-layer, "
                            "unidirectional nn.GRU / nn.LSTM / nn.RNN without projection is supported")
    w_ih, w_hh = ps["weight_ih_l0"], ps["weight_hh_l0"]
    if (w_hh.dim() != 2 or w_ih.dim() != 2 or 0 in w_hh.shape or w_hh.shape[0] % w_hh.shape[1]
            or w_ih.shape[0] != w_hh.shape[0]):
        raise ImportRefused(f"{rnn}: weight_ih_l0 {tuple(w_ih.shape)} and weight_hh_l0 {tuple(w_hh.shape)} are not "
                            "the shapes of an nn.GRU (3H, E)/(3H, H), nn.LSTM (4H, E)/(4H, H) or nn.RNN (H, E)/(H, H)")
    H, E, gates = w_hh.shape[1], w_ih.shape[1], w_hh.shape[0] // w_hh.shape[1]
    found = {g: a for a, g in GATES.items()}.get(gates)
    if found is None:
        raise ImportRefused(f"{rnn}: weight_hh_l0 has {gates} x H rows (H = {H}): not a GRU (3), LSTM (4) or RNN (1)")
    if arch is not None and arch != found:
        raise ImportRefused(f"--arch {arch}, but {rnn}.weight_hh_l0 {tuple(w_hh.shape)} has {gates} x H rows: "
                            f"that is an nn.{TORCH_RNN[found]}")
    extra = set(ps) - set(RNN_PARAMS)
    biases = {"bias_ih_l0", "bias_hh_l0"} & set(ps)
    if extra or len(biases) == 1:
        raise ImportRefused(f"{rnn}: unexpected parameters {sorted(extra) or sorted(biases)}; an "
                            f"nn.{TORCH_RNN[found]} has {', '.join(RNN_PARAMS)}")
    for b in biases:
        if tuple(ps[b].shape) != (gates * H,):
            raise ImportRefused(f"{_key(rnn, b)} has shape {tuple(ps[b].shape)}, expected ({gates * H},)")

    def is_embedding(p: str) -> bool:
        g = groups.get(p, {})
        return set(g) == {"weight"} and g["weight"].dim() == 2 and g["weight"].shape[1] == E

    def is_readout(p: str) -> bool:
        g = groups.get(p, {})
        w = g.get("weight")
        return (set(g) in ({"weight"}, {"weight", "bias"}) and w.dim() == 2 and w.shape[1] == H
                and w.shape[0] in (1, 2) and ("bias" not in g or tuple(g["bias"].shape) == (w.shape[0],)))

    if embedding is None:
        embedding = _choose("embedding", "--embedding-prefix",
                            [p for p in groups if p != rnn and is_embedding(p) and groups[p]["weight"].shape[0] > 2],
                            EMBEDDING_NAMES, f"PREFIX.weight of shape (vocabulary size, {E}) (an nn.Embedding "
                            f"feeding {rnn}.weight_ih_l0 {tuple(w_ih.shape)})", sd)
    if not is_embedding(embedding):
        raise ImportRefused(f"{_key(embedding, 'weight')}: expected the only parameter of an nn.Embedding, shape "
                            f"(vocabulary size, {E}) to feed {rnn}.weight_ih_l0 {tuple(w_ih.shape)}; found "
                            + (", ".join(f"{_key(embedding, k)} {tuple(v.shape)}" for k, v in groups[embedding].items())
                               if embedding in groups else "no such key"))
    if readout is None:
        readout = _choose("readout", "--readout-prefix",
                          [p for p in groups if p not in (rnn, embedding) and is_readout(p)], READOUT_NAMES,
                          f"PREFIX.weight of shape (1, {H}) or (2, {H}) and optionally PREFIX.bias (an nn.Linear "
                          "from the hidden state to 1 logit, or to 2 logits)", sd)
    if not is_readout(readout):
        got = ", ".join(f"{_key(readout, k)} {tuple(v.shape)}" for k, v in groups.get(readout, {}).items())
        raise ImportRefused(f"{readout!r}: expected an nn.Linear from the hidden state ({H}) to 1 or 2 logits: "
                            f"{_key(readout, 'weight')} (1 or 2, {H}) and optionally {_key(readout, 'bias')}; found "
                            + (got or "no such key"))
    if len({embedding, rnn, readout}) < 3:
        raise ImportRefused(f"the embedding, recurrent module and readout must be three modules, got "
                            f"{embedding!r}, {rnn!r}, {readout!r}")
    unused = [k for k in sd if k.rpartition(".")[0] not in (embedding, rnn, readout)]
    if unused:
        raise ImportRefused(f"the state dict has parameters outside Embedding {embedding!r} -> "
                            f"{TORCH_RNN[found]} {rnn!r} -> Linear {readout!r}: "
                            f"{', '.join(f'{k} {tuple(sd[k].shape)}' for k in unused[:10])}; a model with more "
                            "layers (attention, a second linear layer, ...) cannot be imported")
    return Modules(embedding, rnn, readout, found, sd[_key(embedding, "weight")].shape[0], E, H,
                   sd[_key(readout, "weight")].shape[0])


def _special(tokens: list[str | None], rows: int, given: str, names: tuple[str, ...], what: str,
             flag: str) -> int | None:
    """The original row of padding or unknown: --pad-index/--unk-index N or none, or found by token name."""
    if given == "none":
        return None
    if given != "auto":
        try:
            i = int(given)
        except ValueError:
            raise ImportRefused(f"{flag} takes an index, 'none' or 'auto', not {given!r}") from None
        if not 0 <= i < rows:
            raise ImportRefused(f"{flag} {i} is outside the embedding's {rows} rows")
        return i
    found = [i for i, t in enumerate(tokens) if t in names]
    if len(found) == 1:
        return found[0]
    if what == "padding" and not found and tokens[0] is None:  # Keras' word_index starts at 1
        return 0
    raise ImportRefused(f"cannot tell which index is {what}: " + (
        f"several tokens look like it ({', '.join(f'{tokens[i]!r} at {i}' for i in found)})" if found else
        f"no token named {', '.join(names[:3])}, ..." + (" and index 0 has a token" if what == "padding" else ""))
        + f". Give {flag} N (or {flag} none if the model has none)")


def map_vocab(tokens: list[str | None], rows: int, pad: str = "auto", unk: str = "auto"
              ) -> tuple[Vocab, list[int | None], dict]:
    """The project vocabulary (<pad>, <unk>, then the other tokens in their original order), the original
    row of each new row (None: a new zero row), and what was mapped."""
    if len(tokens) > rows:
        raise ImportRefused(f"the vocabulary has {len(tokens)} entries but the embedding has {rows} rows: they do "
                            "not belong together (cut a Keras word_index to the indices below num_words)")
    p = _special(tokens, rows, pad, PAD_NAMES, "padding", "--pad-index")
    u = _special(tokens, rows, unk, UNK_NAMES, "unknown", "--unk-index")
    special = {i for i in (p, u) if i is not None}
    missing = [i for i in range(rows) if (i >= len(tokens) or tokens[i] is None) and i not in special]
    if missing:
        raise ImportRefused(f"the vocabulary has {len(tokens)} entries for the embedding's {rows} rows: rows "
                            f"{missing[:10]}{' ...' if len(missing) > 10 else ''} have no token (only the padding "
                            "and unknown rows may lack one)")
    for i, t in enumerate(tokens):
        if t in (PAD, UNK) and i not in special:
            raise ImportRefused(f"the vocabulary has {t!r} at index {i}, but --pad-index/--unk-index say "
                                f"padding is {p} and unknown is {u}")
    words = [i for i in range(rows) if i not in special]
    if not words:
        raise ImportRefused("the vocabulary has no words besides padding and unknown")
    perm = [p, u] + words
    renamed = {PAD: tokens[p] if p is not None and p < len(tokens) else None,
               UNK: tokens[u] if u is not None and u < len(tokens) else None}
    info = {"pad_index": p, "unk_index": u, "renamed": {k: v for k, v in renamed.items() if v not in (None, k)}}
    return Vocab([PAD, UNK] + [tokens[i] for i in words]), perm, info


def _index(perm: list[int | None]) -> torch.Tensor:
    """The original row of each project row (map_vocab's perm) as one tensor, -1 for a new zero row."""
    return torch.tensor([-1 if i is None else i for i in perm], dtype=torch.long)


def convert(sd: dict[str, torch.Tensor], m: Modules, perm: list[int | None], positive: int
            ) -> dict[str, torch.Tensor]:
    """The project's SentimentRNN weights: rows permuted (one index_select into the new embedding, no object
    per row), recurrent weights copied, readout as one logit."""
    index = _index(perm)
    embedding = sd[_key(m.embedding, "weight")].index_select(0, index.clamp(min=0))
    embedding[index < 0] = 0
    gh = GATES[m.arch] * m.hidden_size
    w, b = sd[_key(m.readout, "weight")], sd.get(_key(m.readout, "bias"), torch.zeros(m.logits))
    if m.logits == 2:  # softmax over (z0, z1): P(positive) = sigmoid(z_pos - z_neg)
        w, b = w[positive] - w[1 - positive], b[positive] - b[1 - positive]
    else:  # sigmoid(z) = P(class 1)
        w, b = (w[0], b[0]) if positive == 1 else (-w[0], -b[0])
    out = {"embedding.weight": embedding, "h0": torch.zeros((2 if m.arch == "lstm" else 1) * m.hidden_size),
           "readout.weight": w.reshape(1, -1).clone(), "readout.bias": b.reshape(1).clone()}
    for p in RNN_PARAMS:
        out[f"cell.rnn.{p}"] = sd.get(_key(m.rnn, p), torch.zeros(gh)).clone()
    return out


def original_logits(sd: dict[str, torch.Tensor], m: Modules, positive: int, ids: torch.Tensor,
                    lengths: torch.Tensor) -> torch.Tensor:
    """Logit of the positive class from the original modules, rebuilt as nn.Embedding + nn.GRU/LSTM/RNN +
    nn.Linear from the state dict, reading the hidden state after each sequence's last real token."""
    emb = nn.Embedding.from_pretrained(sd[_key(m.embedding, "weight")])  # the same tensor, not a copy
    has_bias = _key(m.rnn, "bias_ih_l0") in sd
    rnn = getattr(nn, TORCH_RNN[m.arch])(m.embed_dim, m.hidden_size, batch_first=True, bias=has_bias)
    rnn.load_state_dict({p: sd[_key(m.rnn, p)] for p in RNN_PARAMS if _key(m.rnn, p) in sd})
    fc = nn.Linear(m.hidden_size, m.logits, bias=_key(m.readout, "bias") in sd)
    fc.load_state_dict({p: sd[_key(m.readout, p)] for p in ("weight", "bias") if _key(m.readout, p) in sd})
    with torch.no_grad():
        packed = nn.utils.rnn.pack_padded_sequence(emb(ids), lengths, batch_first=True, enforce_sorted=False)
        _, h = rnn(packed)
        z = fc((h[0] if m.arch == "lstm" else h)[-1])
    if m.logits == 2:
        return z[:, positive] - z[:, 1 - positive]
    return z[:, 0] if positive == 1 else -z[:, 0]


def check_sequences(perm: list[int | None], pad: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """N_CHECK random sequences of lengths 1..CHECK_MAX_LEN over every non-padding row: (original ids padded
    with the original padding index, project ids padded with 0, lengths)."""
    index = _index(perm)[1:]  # original row of project rows 1, 2, ...
    drawn = index >= 0
    new_of_old = torch.full((int(index.max()) + 1,), -1)  # -1: a row never drawn (padding only)
    new_of_old[index[drawn]] = torch.arange(1, len(perm))[drawn]
    content = torch.nonzero(new_of_old >= 0).squeeze(1)
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, CHECK_MAX_LEN + 1, (N_CHECK,), generator=g)
    lengths[:2] = torch.tensor([1, CHECK_MAX_LEN])
    old = content[torch.randint(len(content), (N_CHECK, CHECK_MAX_LEN), generator=g)]
    mask = torch.arange(CHECK_MAX_LEN) < lengths.unsqueeze(1)
    new = new_of_old[old] * mask
    old = torch.where(mask, old, torch.full_like(old, 0 if pad is None else pad))
    return old, new, lengths


def import_model(state_dict: Path, vocab: Path, name: str, out_dir: Path | None = None, arch: str | None = None,
                 nonlinearity: str = "tanh", embedding_prefix: str | None = None, rnn_prefix: str | None = None,
                 readout_prefix: str | None = None, pad_index: str = "auto", unk_index: str = "auto",
                 positive_class: int = 1, tokenizer: str | None = None, max_len: int | None = None,
                 truncate: str = "head", force: bool = False, command: str | None = None) -> dict:
    """Check, convert, verify and write models/<name>/ (or out_dir/<name>/); returns the summary also stored
    in metrics.json."""

    t0 = time.time()
    if not NAME_RE.fullmatch(name):
        raise ImportRefused(f"--name {name!r}: use letters, digits, '.', '_' and '-' (a folder name)")
    if nonlinearity != "tanh":
        raise ImportRefused(f"nonlinearity {nonlinearity!r}: only tanh recurrent networks are supported "
                            "(a state dict does not record the nonlinearity, so it must be stated)")
    if positive_class not in (0, 1):
        raise ImportRefused(f"--positive-class is 0 or 1, not {positive_class}")
    if truncate not in ("head", "tail"):
        raise ImportRefused(f"--truncate is head or tail, not {truncate!r}")
    if max_len is not None and max_len < 1:
        raise ImportRefused(f"--max-len must be at least 1, not {max_len}")
    out_dir, state_dict, vocab = Path(out_dir or MODELS_DIR), Path(state_dict), Path(vocab)
    final = out_dir / name
    if final.exists() and not force:
        raise ImportRefused(f"{final} already exists: choose another --name or pass --force to replace it")
    tokens = read_vocab(vocab)  # first: a vocabulary above MAX_VOCAB is refused before the weights are loaded
    sd = load_state_dict(state_dict)
    m = find_modules(sd, arch, embedding_prefix, rnn_prefix, readout_prefix)
    if m.rows > MAX_VOCAB:
        raise _too_many(state_dict, f"the embedding {_key(m.embedding, 'weight')} has {m.rows:,} rows")
    sd = as_float32(sd)
    new_vocab, perm, mapping = map_vocab(tokens, m.rows, pad_index, unk_index)
    weights = convert(sd, m, perm, positive_class)

    project = SentimentRNN(len(new_vocab), PROJECT_ARCH[m.arch], m.embed_dim, m.hidden_size)
    project.load_state_dict(weights, assign=True)  # the converted tensors themselves, not copies
    project.eval()
    old_ids, new_ids, lengths = check_sequences(perm, mapping["pad_index"])
    ref = original_logits(sd, m, positive_class, old_ids, lengths)
    with torch.no_grad():
        fused = float((project(new_ids, lengths) - ref).abs().max())
        step = float((project.forward_step(new_ids, lengths) - ref).abs().max())
    tol = TOLERANCE * max(1.0, float(ref.abs().max()))  # relative for logits above 1
    if not max(fused, step) <= tol:
        raise ImportRefused(f"the converted model disagrees with the original modules on {N_CHECK} random sequences "
                            f"(max |logit difference| {max(fused, step):.3g} > {tol:.3g}): nothing was written")
    if not all(all_finite(w, torch.float16) for w in weights.values()):
        raise ImportRefused("some weights exceed float16's range (65504) and cannot be stored in a model folder")
    del sd  # the original weights are not needed past the check (at MAX_VOCAB rows: a copy of the embedding)

    warnings = ["the project reads text with core.data.text.tokenize (lower-cased, punctuation split, \"didn't\" -> "
                "\"did n't\"); if your model was trained with another tokenizer, texts may be split differently "
                "and words it knew may read as <unk>" + (f" (your tokenizer: {tokenizer})" if tokenizer else "")]
    unreachable = [t for t in new_vocab.itos[2:] if tokenize(t) != [t]]
    if unreachable:
        warnings.append(f"{len(unreachable)} of {len(new_vocab) - 2} tokens can never come out of the project's "
                        f"tokenizer and will not be read: {', '.join(repr(t) for t in unreachable[:8])}"
                        + (" ..." if len(unreachable) > 8 else ""))
    if mapping["unk_index"] is None:
        warnings.append("the original model has no unknown token: words outside its vocabulary read a zero "
                        "embedding, which the original never saw")
    if mapping["renamed"]:
        warnings.append("renamed: " + ", ".join(f"{v!r} -> {k!r}" for k, v in mapping["renamed"].items()))
    if m.logits == 2:
        warnings.append(f"the readout has 2 logits: imported as one logit z{positive_class} - z{1 - positive_class} "
                        f"(P(positive) = softmax class {positive_class})")

    config = {"kind": "rnn", "arch": PROJECT_ARCH[m.arch], "embed_dim": m.embed_dim, "hidden_size": m.hidden_size,
              "max_len": max_len, "truncate": truncate}
    files = {"state_dict": {"path": str(state_dict.resolve()), "sha256": sha256_file(state_dict)},
             "vocab": {"path": str(vocab.resolve()), "sha256": sha256_file(vocab)}}
    summary = {
        "name": name, "kind": "rnn", "arch": PROJECT_ARCH[m.arch], "imported": True, "files": files, "command": command,
        "original": {"module": f"nn.{TORCH_RNN[m.arch]}", "modules": {"embedding": m.embedding,
                     "rnn": m.rnn, "readout": m.readout}, "embedding_rows": m.rows, "vocab_entries": len(tokens),
                     "pad_index": mapping["pad_index"], "unk_index": mapping["unk_index"],
                     "readout_logits": m.logits, "positive_class": positive_class, "tokenizer": tokenizer},
        "vocab_size": len(new_vocab), "embed_dim": m.embed_dim, "hidden_size": m.hidden_size,
        "unreachable_tokens": len(unreachable),
        "check": {"sequences": N_CHECK, "max_length": CHECK_MAX_LEN, "tolerance": tol,
                  "max_abs_diff_float32": fused, "max_abs_diff_float32_step": step},
        "warnings": warnings,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".{name}.importing-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        save_model_dir(staging, config, new_vocab, weights)
        stored = load_model(staging)
        with torch.no_grad():
            z16 = stored.model(new_ids, lengths)
        diff16, same = float((z16 - ref).abs().max()), int(((z16 > 0) == (ref > 0)).sum())
        summary["check"].update(max_abs_diff_float16=diff16, same_class_float16=same)
        if same < N_CHECK:
            warnings.append(f"float16 storage changes the predicted class of {N_CHECK - same} of {N_CHECK} check "
                            f"sequences (logits within {diff16:.2g} of 0)")
        summary["import_seconds"] = round(time.time() - t0, 2)
        atomic_write_json(staging / "metrics.json", summary)
        old = out_dir / f".{name}.replaced-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dict(summary, path=str(final))


def add_parser(sub) -> argparse.ArgumentParser:
    """The `import` subcommand (its options: `--help`, and docs/reference.md)."""
    p = sub.add_parser("import", help="bring your own model: a PyTorch Embedding -> GRU/LSTM/RNN -> Linear state "
                       "dict and its vocabulary into models/<name>/, checked against the original")
    p.add_argument("--state-dict", required=True, help=".pt/.pth file of model.state_dict() (or a checkpoint dict "
                   "with a 'state_dict' key), loaded with weights_only=True")
    p.add_argument("--vocab", required=True, help="vocabulary: a .json list of tokens in index order or object "
                   f"token -> index, or a text file with one token per line; at most {MAX_VOCAB:,} entries")
    p.add_argument("--name", required=True, help="folder name of the imported model")
    p.add_argument("--out-dir", default=None, help="parent folder of the model (default models/)")
    p.add_argument("--arch", choices=sorted(GATES), default=None, help="nn.GRU, nn.LSTM or nn.RNN (default: "
                   "from the weight shapes, which must agree)")
    p.add_argument("--nonlinearity", choices=["tanh", "relu"], default="tanh",
                   help="nn.RNN's nonlinearity (not recorded in a state dict); only tanh is supported")
    p.add_argument("--embedding-prefix", default=None, help="state-dict prefix of the nn.Embedding "
                   "(default: found by shape; 'embedding', 'embed', ... preferred)")
    p.add_argument("--rnn-prefix", default=None, help="prefix of the nn.GRU/LSTM/RNN (default: found; 'rnn' "
                   "preferred)")
    p.add_argument("--readout-prefix", default=None, help="prefix of the nn.Linear readout (default: found; 'fc' "
                   "preferred)")
    p.add_argument("--pad-index", default="auto", help="original index of padding: N, 'none' (a zero row is "
                   "added), or 'auto' (a token named <pad>, [PAD], ..., else index 0 if it has no token)")
    p.add_argument("--unk-index", default="auto", help="original index of the unknown token: N, 'none' (a zero "
                   "row is added), or 'auto' (a token named <unk>, [UNK], <OOV>, ...)")
    p.add_argument("--positive-class", type=int, choices=[0, 1], default=1, help="which output class is positive "
                   "sentiment (1 logit: sigmoid gives class 1; 2 logits: softmax)")
    p.add_argument("--tokenizer", default=None, help="a note on the tokenizer your model was trained with (recorded)")
    p.add_argument("--max-len", type=int, default=None, help="the model reads at most this many tokens")
    p.add_argument("--truncate", choices=["head", "tail"], default="head", help="keep the first or the last tokens")
    p.add_argument("--force", action="store_true", help="replace an existing model folder of that name")
    p.add_argument("--json", action="store_true", help="print the summary (metrics.json) as JSON")
    return p


def _command(args: argparse.Namespace) -> str:
    """The import command with every option that differs from its default: it rebuilds the same folder."""
    parts = ["python", "-m", "core", "import", "--state-dict", args.state_dict, "--vocab", args.vocab,
             "--name", args.name]
    defaults = {"out_dir": None, "arch": None, "nonlinearity": "tanh", "embedding_prefix": None, "rnn_prefix": None,
                "readout_prefix": None, "pad_index": "auto", "unk_index": "auto", "positive_class": 1,
                "tokenizer": None, "max_len": None, "truncate": "head"}
    for k, d in defaults.items():
        if getattr(args, k) != d:
            parts += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    return " ".join(shlex.quote(str(a)) for a in parts + (["--force"] if args.force else []))


def run(args: argparse.Namespace) -> int:
    """Run `python -m core import`; refusals raise ImportRefused (a ValueError: the CLI prints it, exit 2)."""
    res = import_model(Path(args.state_dict), Path(args.vocab), args.name,
                       out_dir=Path(args.out_dir) if args.out_dir else None, arch=args.arch,
                       nonlinearity=args.nonlinearity, embedding_prefix=args.embedding_prefix,
                       rnn_prefix=args.rnn_prefix, readout_prefix=args.readout_prefix, pad_index=args.pad_index,
                       unk_index=args.unk_index, positive_class=args.positive_class, tokenizer=args.tokenizer,
                       max_len=args.max_len, truncate=args.truncate, force=args.force, command=_command(args))
    if args.json:
        print(json.dumps(res))
        return 0
    o, c = res["original"], res["check"]
    mods = o["modules"]
    print(f"imported {o['module']} ({mods['embedding']} -> {mods['rnn']} -> {mods['readout']}) as {res['path']}: "
          f"{res['arch']}, vocabulary {res['vocab_size']} (embedding rows {o['embedding_rows']}), embed "
          f"{res['embed_dim']}, hidden {res['hidden_size']}")
    print(f"check on {c['sequences']} random padded sequences of 1-{c['max_length']} tokens: max |logit "
          f"difference| {c['max_abs_diff_float32']:.2g} (fused) / {c['max_abs_diff_float32_step']:.2g} (step "
          f"function) in float32; {c['max_abs_diff_float16']:.2g} after float16 storage, same class on "
          f"{c['same_class_float16']}/{c['sequences']}")
    for w in res["warnings"]:
        print(f"WARNING: {w}")
    return 0
