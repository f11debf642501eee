"""Language-model pretraining (Dai & Le 2015, "Semi-supervised sequence learning"): next-word prediction on
unlabelled and training reviews, with the classifier's own tokenizer and vocabulary, so that a sentiment RNN can
start from the embeddings and the cell it learned (`python -m core train --init-from-lm runs/<name>/lm.pt`).

The vocabulary is the one `train --data VOCAB_DATA --seed S` builds (on its training split), so the fine-tuned
model reads the same words. The language model never sees the classifier's dev split nor any test split: its texts
are the unlabelled sets given and that training split; its own dev set (for perplexity) is a held-out share of
them. The next-word head (an adaptive softmax over the vocabulary) stays in runs/ and is not shipped.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from core.data.loaders import load_dataset, train_dev_split
from core.data.text import encode_texts
from core.experiments.train import (
    RUNS_DIR,
    TrainConfig,
    device_label,
    invocation,
    prepare_data,
    resolve_device,
    set_seed,
)
from core.models.rnn import ARCHS, SentimentRNN
from core.models.store import ModelError, check_model_name
from core.storage.io import atomic_write, atomic_write_json
from core.storage.tensors import UnreadableTensors, load_tensors

LM_FILE = "lm.pt"


@dataclass
class PretrainConfig:
    name: str
    data: str = "imdb:unsup"            # comma-separated texts to predict (labels unused), besides the vocabulary's split
    vocab_data: str = "imdb:train"      # the fine-tuning data: its training split's vocabulary, and its texts
    data_root: str | None = None
    arch: str = "gru"
    embed_dim: int = 64
    hidden_size: int = 128
    min_count: int = 2
    max_vocab: int | None = 20000
    dev_fraction: float = 0.1           # the classifier's dev split (left out here), as in `train`
    lm_dev_fraction: float = 0.01       # the language model's own held-out texts, for perplexity
    bptt: int = 100                     # tokens per training window
    batch_size: int = 64
    lr: float = 2e-3
    clip: float = 1.0
    epochs: int = 1
    max_minutes: float | None = None    # stop after this long (checkpointed); --resume goes on
    checkpoint_every: int = 200         # steps
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    out_dir: str | None = None          # parent of the run folder (default runs/)
    command: str = field(default_factory=invocation)

    def __post_init__(self) -> None:
        check_model_name(self.name)
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {ARCHS}")
        tests = [d for d in (*self.datasets(), self.vocab_data) if d.endswith(":test")]
        if tests:
            raise ValueError(f"never pretrain on a test split ({', '.join(tests)})")
        if self.bptt < 2 or self.batch_size < 1 or self.epochs < 0:
            raise ValueError("--bptt must be at least 2, --batch-size at least 1, --epochs at least 0")

    def datasets(self) -> list[str]:
        return [d.strip() for d in self.data.split(",") if d.strip()]

    def run_dir(self) -> Path:
        return Path(self.out_dir or RUNS_DIR) / self.name


class LanguageModel(nn.Module):
    """A SentimentRNN's embedding, cell and h0 (its readout unused), and a next-word head over the vocabulary."""

    def __init__(self, vocab_size: int, arch: str, embed_dim: int, hidden_size: int):
        super().__init__()
        self.rnn = SentimentRNN(vocab_size, arch, embed_dim, hidden_size)
        cutoffs = [c for c in (2000, 10000) if c < vocab_size - 1]
        self.head = nn.AdaptiveLogSoftmaxWithLoss(hidden_size, vocab_size, cutoffs=cutoffs or [vocab_size // 2],
                                                  div_value=4.0)

    def loss(self, ids: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(mean next-word negative log-likelihood, tokens predicted) of windows ids (B, T), 0-padded."""
        x = self.rnn.embedding(ids[:, :-1])
        out = self.rnn.cell.run(x, self.rnn.h0.expand(ids.shape[0], -1))
        target = ids[:, 1:]
        keep = target != 0
        return self.head(out[keep], target[keep]).loss, int(keep.sum())


def windows(seqs: list[list[int]], bptt: int) -> torch.Tensor:
    """Every text cut into windows of bptt + 1 tokens (the last one of a text 0-padded), as one tensor."""
    rows = []
    for s in seqs:
        for i in range(0, max(len(s) - 1, 0), bptt):
            w = s[i:i + bptt + 1]
            if len(w) >= 2:
                rows.append(w + [0] * (bptt + 1 - len(w)))
    return torch.tensor(rows, dtype=torch.long) if rows else torch.zeros(0, bptt + 1, dtype=torch.long)


@torch.no_grad()
def perplexity(model: LanguageModel, wins: torch.Tensor, batch: int = 256) -> float:
    """exp(mean next-word NLL) over the windows."""
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(wins), batch):
        loss, k = model.loss(wins[i:i + batch])
        total += float(loss) * k
        n += k
    return math.exp(total / max(n, 1))


def unigram_perplexity(train_w: torch.Tensor, dev_w: torch.Tensor, vocab_size: int) -> float:
    """The held-out perplexity of predicting every next word by its frequency in the training windows (add-one
    smoothed): the baseline a language model that reads context has to beat."""
    counts = torch.bincount(train_w[:, 1:].flatten(), minlength=vocab_size).double()
    counts[0] = 0.0                                   # padding is never predicted
    p = (counts + 1.0) / (counts.sum() + vocab_size - 1)
    target = dev_w[:, 1:].flatten()
    target = target[target != 0]
    return math.exp(float(-p[target].log().mean())) if len(target) else math.nan


def pretrain(cfg: PretrainConfig, log=print) -> dict:
    """Train the language model; checkpoint every cfg.checkpoint_every steps and when cfg.max_minutes is up;
    write runs/<name>/lm.pt (embedding, cell, h0, vocabulary, settings, metrics) once every epoch is done."""
    device = resolve_device(cfg.device)
    set_seed(cfg.seed)
    t0 = time.time()
    vocab_cfg = TrainConfig(name=cfg.name, data=cfg.vocab_data, data_root=cfg.data_root, min_count=cfg.min_count,
                            max_vocab=cfg.max_vocab, dev_fraction=cfg.dev_fraction, seed=cfg.seed)
    train_split, _, vocab, _ = prepare_data(vocab_cfg, log)   # the classifier's split: its dev split is left out
    texts = list(train_split.texts)
    for spec in cfg.datasets():
        texts += load_dataset(spec, cfg.data_root).texts
    tr_idx, dev_idx = train_dev_split(len(texts), cfg.lm_dev_fraction, cfg.seed)
    enc = encode_texts(texts, vocab)
    tr_w, dev_w = windows([enc[i] for i in tr_idx], cfg.bptt), windows([enc[i] for i in dev_idx], cfg.bptt)
    log(f"language model on {cfg.vocab_data} (training split) + {cfg.data}: {len(texts)} texts, "
        f"{len(tr_w)} training windows of {cfg.bptt} tokens, {len(dev_w)} held out; vocabulary {len(vocab)}")
    model = LanguageModel(len(vocab), cfg.arch, cfg.embed_dim, cfg.hidden_size).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    run = cfg.run_dir()
    ckpt = run / "lm-checkpoint.pt"
    state = {"epoch": 1, "step": 0, "elapsed": 0.0, "history": []}
    if cfg.resume and ckpt.exists():
        try:
            ck = load_tensors(ckpt)
        except UnreadableTensors as e:
            raise ModelError(f"{ckpt}: cannot be read as a checkpoint: {e.reason}; delete it to start afresh") from None
        if not isinstance(ck, dict) or ck.get("vocab") != vocab.itos:
            raise ModelError(f"{ckpt}: not a checkpoint of this run (another vocabulary); delete it to start afresh")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        log(f"resumed from {ckpt} at epoch {state['epoch']}, step {state['step']}")

    def save_checkpoint() -> None:
        ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state, "vocab": vocab.itos}
        atomic_write(ckpt, lambda f: torch.save(ck, f))

    t_resume, stopped = time.time(), False
    while state["epoch"] <= cfg.epochs and not stopped:
        order = np.random.default_rng(cfg.seed * 1000 + state["epoch"]).permutation(len(tr_w))
        steps = math.ceil(len(order) / cfg.batch_size)
        model.train()
        bar = tqdm(range(state["step"], steps), desc=f"LM epoch {state['epoch']}/{cfg.epochs}", mininterval=10.0,
                   disable=None)
        for step in bar:
            batch = tr_w[order[step * cfg.batch_size:(step + 1) * cfg.batch_size]].to(device)
            loss, _ = model.loss(batch)
            opt.zero_grad()
            loss.backward()
            if cfg.clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            with torch.no_grad():
                model.rnn.embedding.weight[0].zero_()
            state["step"] = step + 1
            if state["step"] % cfg.checkpoint_every == 0 or state["step"] == steps:
                state["elapsed"] += time.time() - t_resume
                t_resume = time.time()
                save_checkpoint()
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            if cfg.max_minutes is not None and (time.time() - t0) / 60 >= cfg.max_minutes:
                state["elapsed"] += time.time() - t_resume
                save_checkpoint()
                log(f"stopped after {cfg.max_minutes:g} minutes at epoch {state['epoch']}, step {state['step']} "
                    f"of {steps} (checkpointed: --resume goes on)")
                stopped = True
                break
        if not stopped:
            ppl = perplexity(model, dev_w.to(device))
            state["history"].append({"epoch": state["epoch"], "dev_perplexity": round(ppl, 2)})
            log(f"LM epoch {state['epoch']}: held-out perplexity {ppl:.1f}, {state['elapsed']:.0f} s")
            state.update(epoch=state["epoch"] + 1, step=0)
            save_checkpoint()
    metrics = {"name": cfg.name, "stage": "language model", "texts": len(texts), "windows": len(tr_w),
               "unigram_perplexity": round(unigram_perplexity(tr_w, dev_w, len(vocab)), 2),
               "vocab_size": len(vocab), "epochs_done": state["epoch"] - 1, "history": state["history"],
               "train_seconds": round(state["elapsed"], 1), "device": device_label(device), "seed": cfg.seed,
               "command": cfg.command, "settings": {k: v for k, v in asdict(cfg).items() if k not in ("command", "resume")},
               "finished": not stopped, "torch": torch.__version__}
    atomic_write_json(run / "lm-metrics.json", metrics)
    if not stopped:
        lm = {"vocab": vocab.itos, "arch": cfg.arch, "embed_dim": cfg.embed_dim, "hidden_size": cfg.hidden_size,
              "weights": {k: v.detach().cpu() for k, v in model.rnn.state_dict().items() if not k.startswith("readout")},
              "metrics": json.dumps(metrics)}
        atomic_write(run / LM_FILE, lambda f: torch.save(lm, f))
        log(f"wrote {run / LM_FILE}")
    return metrics


def add_parser(sub) -> None:
    p = sub.add_parser("pretrain", help="pretrain an RNN as a language model (next word) on unlabelled and training "
                                        "reviews, for `train --init-from-lm` (Dai & Le 2015)")
    p.add_argument("--name", required=True, help="run folder: runs/<name>/ (lm.pt, lm-metrics.json)")
    p.add_argument("--data", default="imdb:unsup", help="comma-separated texts to predict besides the vocabulary's "
                                                        "training split (never a test split)")
    p.add_argument("--vocab-data", default="imdb:train", help="the fine-tuning data: its training split gives the "
                                                              "vocabulary (as `train` builds it) and texts")
    p.add_argument("--data-root", default=None)
    p.add_argument("--arch", default="gru", choices=list(ARCHS))
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--max-vocab", type=int, default=20000)
    p.add_argument("--dev-fraction", type=float, default=0.1, help="the classifier's dev split, left out (as `train`)")
    p.add_argument("--bptt", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (checkpointed) after this long")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    p.add_argument("--resume", action="store_true", help="continue from runs/<name>/lm-checkpoint.pt")
    p.add_argument("--out-dir", default=None, help="parent of the run folder (default runs/)")
    p.add_argument("--json", action="store_true")
