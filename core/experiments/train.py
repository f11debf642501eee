"""Training: RNNs with early stopping on a fixed-seed dev split, checkpoints and resume; and the
bag-of-words baselines on the same split and vocabulary. Both write a model folder (core.models.store).
"""
from __future__ import annotations

import json
import platform
import random
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from core.data.loaders import Dataset, load_dataset, train_dev_split
from core.data.text import Vocab, encode_texts, tokenize
from core.models.bow import fit_bow
from core.models.rnn import ARCHS, SentimentRNN, batched_logits, pad_batch
from core.models.store import (
    MODELS_DIR,
    ModelError,
    check_model_name,
    load_model_dir,
    resolve_model_dir,
    save_model_dir,
)
from core.storage.io import atomic_write
from core.storage.tensors import UnreadableTensors, load_tensors

RUNS_DIR = Path(__file__).resolve().parents[2] / "runs"


@dataclass
class TrainConfig:
    name: str
    data: str
    arch: str = "gru"
    test_data: str | None = None
    data_root: str | None = None
    out_dir: str | None = None
    embed_dim: int = 64
    hidden_size: int = 128
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    dropout: float = 0.0
    clip: float = 1.0
    max_len: int | None = None
    truncate: str = "head"
    min_count: int = 2
    max_vocab: int | None = 20000
    vocab_from: str | None = None
    dev_data: str | None = None
    init_from: str | None = None
    init_from_lm: str | None = None
    neutral: str | None = None
    neutral_insert: int = 0
    dev_fraction: float = 0.1
    seed: int = 0
    patience: int = 3
    device: str = "cpu"
    path: str = "auto"
    resume: bool = False
    command: str = field(default_factory=lambda: invocation())

    def __post_init__(self) -> None:
        check_model_name(self.name)   # the model folder is <out_dir>/<name>: never a path outside it


def invocation() -> str:
    """The exact command line that is running, as recorded in every model's metrics."""
    return " ".join(shlex.quote(a) for a in ["python", "-m", "core", *sys.argv[1:]])


# The training path per (device, cell) when --path is auto, from `python -m core bench train` (figures in CHANGELOG.md, measured then):
# on a CPU, PyTorch's fused GRU/LSTM/RNN layers run 1.2-4.7x faster than the step function once warmed up,
# while the UGRNN's step function beats its loop over precomputed inputs on long texts (1.3-1.4x); on a GPU
# the fused layers are cuDNN kernels, and the UGRNN's loop launches fewer kernels than its step function.
FASTER_PATH = {("cpu", "ugrnn"): "step"}


def resolve_device(device: str) -> torch.device:
    """The torch device of a --device value: cpu, cuda (an error where there is none) or auto."""
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"unknown device {device!r}; choose cpu, cuda or auto")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this machine has no CUDA device (or this torch build has no CUDA); "
                         "use --device cpu")
    return torch.device(device)


def resolve_path(path: str, device: torch.device, arch: str) -> str:
    """'fused' (the cell's batched run) or 'step' (the step function F); 'auto' picks the faster."""
    if path not in ("auto", "fused", "step"):
        raise ValueError(f"unknown training path {path!r}; choose auto, fused or step")
    return FASTER_PATH.get((device.type, arch), "fused") if path == "auto" else path


def device_label(device: torch.device) -> str:
    """What the metrics record about the training device."""
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def accuracy(logits: torch.Tensor, labels: np.ndarray) -> float:
    return float(((logits > 0).long().cpu().numpy() == labels).mean()) if len(labels) else float("nan")


def prepare_data(cfg: TrainConfig, log) -> tuple[Dataset, Dataset, Vocab, Dataset | None]:
    """(train, dev, vocabulary, test or None) of a training config: the dev split is drawn from the
    training data with cfg.seed (or is cfg.dev_data), the vocabulary is built on the training split (or
    reused from cfg.vocab_from). Every model trained next to an RNN calls this, so all share one split."""
    full = load_dataset(cfg.data, cfg.data_root)
    if (full.labels < 0).any():
        raise ValueError(f"{cfg.data} has unlabelled examples; train on a labelled split")
    if cfg.dev_data:  # an official dev set: train on all of the training data
        train, dev = full, load_dataset(cfg.dev_data, cfg.data_root)
    else:
        tr_idx, dev_idx = train_dev_split(len(full), cfg.dev_fraction, cfg.seed)
        train, dev = full.subset(tr_idx), full.subset(dev_idx)
    if cfg.vocab_from:
        _, vocab, _ = load_model_dir(resolve_model_dir(cfg.vocab_from))
    else:
        vocab = Vocab.build((tokenize(t) for t in tqdm(train.texts, desc="vocabulary", leave=False,
                                                          disable=None if len(train) >= 5000 else True)),
                            cfg.min_count, cfg.max_vocab)
    test = load_dataset(cfg.test_data, cfg.data_root) if cfg.test_data else None
    log(f"data {cfg.data}: train {len(train)}, dev {len(dev)}" + (f", test {len(test)}" if test else "")
        + f"; vocabulary {len(vocab)}")
    return train, dev, vocab, test


def _metrics(cfg: TrainConfig, train, dev, test, vocab, extra: dict) -> dict:
    return {"name": cfg.name, "kind": cfg.arch if cfg.arch in ("bow", "bigram") else "rnn", "arch": cfg.arch,
            "dataset": cfg.data, "test_dataset": cfg.test_data,
            "split_sizes": {"train": len(train), "dev": len(dev), "test": len(test) if test else None},
            "vocab_size": len(vocab), "seed": cfg.seed, "command": cfg.command,
            "settings": {k: v for k, v in asdict(cfg).items() if k not in ("command", "resume")},
            "torch": torch.__version__, "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
            **extra}


def train_bow(cfg: TrainConfig, log=print) -> dict:
    """Fit the BoW (or bigram) logistic regression and write its model folder."""
    t0 = time.time()
    train, dev, vocab, test = prepare_data(cfg, log)
    model, info = fit_bow(train.texts, train.labels, dev.texts, dev.labels, vocab,
                          bigram=cfg.arch == "bigram", seed=cfg.seed, progress=log)
    seconds = time.time() - t0
    test_acc = accuracy(model.logits(test.texts), test.labels) if test else None
    metrics = _metrics(cfg, train, dev, test, vocab, {"dev_accuracy": info["dev_accuracy"], "test_accuracy": test_acc,
                                                       "train_seconds": round(seconds, 1), **info})
    out = Path(cfg.out_dir or MODELS_DIR) / cfg.name
    save_model_dir(out, model.config, vocab, model.weights(), metrics)
    log(f"wrote {out}: dev {info['dev_accuracy']:.4f}" + (f", test {test_acc:.4f}" if test else ""))
    return metrics


def train_rnn(cfg: TrainConfig, log=print) -> dict:
    """Train a SentimentRNN with early stopping on dev accuracy; checkpoint every epoch; resume."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown architecture {cfg.arch!r}; choose one of {ARCHS + ('bow', 'bigram')}")
    device = resolve_device(cfg.device)
    path = resolve_path(cfg.path, device, cfg.arch)
    set_seed(cfg.seed)
    t_start = time.time()
    train, dev, vocab, test = prepare_data(cfg, log)
    log(f"training on {device_label(device)} with the {path} path")
    enc = lambda ds: encode_texts(ds.texts, vocab, cfg.max_len, cfg.truncate)
    tr_seqs, dev_seqs = enc(train), enc(dev)
    tr_labels = torch.tensor(train.labels, dtype=torch.float32, device=device)
    model = SentimentRNN(len(vocab), cfg.arch, cfg.embed_dim, cfg.hidden_size, cfg.dropout)
    if cfg.init_from:
        init_weights_from(model, vocab, cfg.init_from, log)
    pretrained = init_weights_from_lm(model, vocab, cfg.init_from_lm, log) if cfg.init_from_lm else None
    model.to(device)
    forward = model.forward if path == "fused" else model.forward_step
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    run_dir = (Path(cfg.out_dir) / ".runs" if cfg.out_dir else RUNS_DIR) / cfg.name
    ckpt_path = run_dir / "checkpoint.pt"
    state = {"epoch": 0, "best_dev": -1.0, "best_epoch": 0, "history": [], "elapsed": 0.0}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if cfg.resume and ckpt_path.exists():
        try:
            ck = load_tensors(ckpt_path)
        except UnreadableTensors as e:
            raise ModelError(f"{ckpt_path}: cannot be read as a training checkpoint: {e.reason}; delete it to "
                             "start afresh") from None
        if not isinstance(ck, dict) or not {"vocab", "model", "optimizer", "best_state", "state"} <= ck.keys():
            raise ModelError(f"{ckpt_path}: not a checkpoint written by this trainer; delete it to start afresh")
        if ck["vocab"] != vocab.itos:
            raise ModelError(f"{ckpt_path}: checkpoint vocabulary differs from this run's; start afresh")
        model.load_state_dict(ck["model"])  # copied onto the model's device, as is the optimizer's state
        opt.load_state_dict(ck["optimizer"])
        best_state = ck["best_state"]
        state = ck["state"]
        log(f"resumed from {ckpt_path} after epoch {state['epoch']}")
    t_resume = time.time()
    lengths = [len(s) for s in tr_seqs]
    for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
        if epoch - state["best_epoch"] > cfg.patience and state["best_epoch"] > 0:
            break
        torch.manual_seed(cfg.seed * 1000 + epoch)
        rng = np.random.default_rng(cfg.seed * 1000 + epoch)
        batches = epoch_batches(lengths, cfg.batch_size, rng)
        model.train()
        total, n_seen = 0.0, 0
        bar = tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, mininterval=5.0, disable=None)
        for step, idx in enumerate(bar):
            ids, lens = pad_batch([insert_neutral(tr_seqs[i], cfg.neutral_insert, rng) for i in idx])
            loss = F.binary_cross_entropy_with_logits(forward(ids.to(device), lens.to(device)), tr_labels[idx])
            opt.zero_grad()
            loss.backward()
            if cfg.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            with torch.no_grad():
                model.embedding.weight[0].zero_()
            total += loss.item() * len(idx)
            n_seen += len(idx)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{total / n_seen:.4f}", refresh=False)
        dev_acc = accuracy(batched_logits(model, dev_seqs), dev.labels)
        state["history"].append({"epoch": epoch, "train_loss": round(total / max(n_seen, 1), 5),
                                 "dev_accuracy": dev_acc})
        if dev_acc > state["best_dev"]:
            state.update(best_dev=dev_acc, best_epoch=epoch)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state["epoch"] = epoch
        state["elapsed"] += time.time() - t_resume
        t_resume = time.time()
        log(f"epoch {epoch}: train loss {total / max(n_seen, 1):.4f}, dev accuracy {dev_acc:.4f}"
            f" (best {state['best_dev']:.4f} at epoch {state['best_epoch']}), {state['elapsed']:.0f} s")
        ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "best_state": best_state,
              "state": state, "vocab": vocab.itos}
        atomic_write(ckpt_path, lambda f: torch.save(ck, f))
    # Evaluate exactly what is shipped: the float16-rounded weights.
    shipped = {k: v.detach().cpu().to(torch.float16).float() for k, v in best_state.items()}
    model.load_state_dict(shipped)
    dev_acc = accuracy(batched_logits(model, dev_seqs), dev.labels)
    test_acc = accuracy(batched_logits(model, enc(test)), test.labels) if test else None
    config = {"kind": "rnn", "arch": cfg.arch, "embed_dim": cfg.embed_dim, "hidden_size": cfg.hidden_size,
              "max_len": cfg.max_len, "truncate": cfg.truncate}
    if cfg.neutral:
        config["neutral"] = cfg.neutral
    metrics = _metrics(cfg, train, dev, test, vocab, {
        "dev_accuracy": dev_acc, "test_accuracy": test_acc, "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"], "train_seconds": round(state["elapsed"], 1),
        "wall_seconds_this_run": round(time.time() - t_start, 1), "device": device_label(device),
        "path": path, "history": state["history"],
        **({"pretrained": {"file": cfg.init_from_lm, **pretrained}} if pretrained else {})})
    out = Path(cfg.out_dir or MODELS_DIR) / cfg.name
    save_model_dir(out, config, vocab, shipped, metrics)
    log(f"wrote {out}: dev {dev_acc:.4f}" + (f", test {test_acc:.4f}" if test else ""))
    return metrics


def init_weights_from(model: SentimentRNN, vocab: Vocab, source: str, log=print) -> None:
    """Start from another RNN of the same shape: its cell and readout, and the embedding rows of the
    words both vocabularies share (transfer learning, e.g. IMDB -> SST-2)."""
    cfg, src_vocab, weights = load_model_dir(resolve_model_dir(source))
    if cfg.get("kind") != "rnn" or (cfg["arch"], cfg["embed_dim"], cfg["hidden_size"]) != \
            (model.arch, model.embedding.embedding_dim, model.cell.hidden_size):
        raise ModelError(f"{source}: --init-from needs an RNN of the same architecture and sizes")
    state = model.state_dict()
    with torch.no_grad():
        for k, v in weights.items():
            if k != "embedding.weight":
                state[k].copy_(v)
        shared = [(i, src_vocab.stoi[w]) for i, w in enumerate(vocab.itos) if w in src_vocab.stoi]
        dst, src = zip(*shared)
        state["embedding.weight"][list(dst)] = weights["embedding.weight"][list(src)]
    log(f"initialised from {source}: {len(shared)} of {len(vocab)} words share an embedding")


def init_weights_from_lm(model: SentimentRNN, vocab: Vocab, path: str, log=print) -> dict:
    """Start from a language model written by `python -m core pretrain` (runs/<name>/lm.pt): its embedding, cell
    and h0, for the same vocabulary, architecture and sizes; the readout starts fresh. Returns the language
    model's metrics, which the fine-tuned model's metrics record (both stages reproducible)."""
    try:
        lm = load_tensors(Path(path))
    except UnreadableTensors as e:
        raise ModelError(f"{path}: cannot be read as a pretrained language model: {e.reason}") from None
    if not isinstance(lm, dict) or not {"vocab", "arch", "embed_dim", "hidden_size", "weights", "metrics"} <= lm.keys():
        raise ModelError(f"{path}: not a language model written by `python -m core pretrain`")
    if (lm["arch"], lm["embed_dim"], lm["hidden_size"]) != \
            (model.arch, model.embedding.embedding_dim, model.cell.hidden_size):
        raise ModelError(f"{path}: a {lm['arch']} language model of sizes {lm['embed_dim']}/{lm['hidden_size']}; "
                         "--arch, --embed-dim and --hidden-size must match it")
    if lm["vocab"] != vocab.itos:
        raise ModelError(f"{path}: its vocabulary differs from this run's (pretrain with --vocab-data, --seed, "
                         "--min-count and --max-vocab as this training run)")
    missing = model.load_state_dict(lm["weights"], strict=False).missing_keys
    if any(not k.startswith("readout") for k in missing):
        raise ModelError(f"{path}: weights missing for {', '.join(k for k in missing if not k.startswith('readout'))}")
    log(f"initialised from the language model {path}")
    return json.loads(lm["metrics"])


def insert_neutral(seq: list[int], max_n: int, rng: np.random.Generator) -> list[int]:
    """The sequence with 0..max_n zero inputs (the padding id, whose embedding is 0) at random positions.

    Trained this way, a network must keep what it has read through stretches of input x = 0, so x* = 0
    is a neutral input by construction and its fixed points line up along the readout (METHOD section 3).
    """
    n = int(rng.integers(0, max_n + 1)) if max_n > 0 else 0
    if n == 0 or not seq:
        return seq
    out = list(seq)
    for pos in sorted(rng.integers(0, len(seq) + 1, size=n).tolist(), reverse=True):
        out.insert(pos, 0)
    return out


def epoch_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """One epoch's batches of indices into `lengths`: shuffled, of similar-length sequences (sorted
    within chunks of 50 batches, so padding stays small), reproducible from rng."""
    perm = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(perm), chunk):
        part = sorted(perm[s:s + chunk].tolist(), key=lambda i: lengths[i])
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def train(cfg: TrainConfig, log=print) -> dict:
    """Train the model cfg.arch names (an RNN cell, 'bow' or 'bigram')."""
    if cfg.arch in ("bow", "bigram"):
        if cfg.device != "cpu" or cfg.path != "auto":
            raise ValueError("--device and --path are for RNNs: a bag-of-words model is fitted by scikit-learn on "
                             "the CPU")
        return train_bow(cfg, log)
    return train_rnn(cfg, log)
