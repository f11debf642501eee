"""Benchmarks that print figures (speed targets live here, not in timed tests)."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from core.rnn import SentimentRNN


def _throughput(model: SentimentRNN, forward, ids, lengths, labels, steps: int) -> float:
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for i in range(steps + 1):
        if i == 1:  # the first step warms up allocations
            t0 = time.perf_counter()
        loss = F.binary_cross_entropy_with_logits(forward(ids, lengths), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return ids.numel() * steps / (time.perf_counter() - t0)


def bench_train(model_name: str | None = None, seq_len: int = 200, batch_size: int = 64, steps: int = 5) -> dict:
    """Training tokens/s of the fast (fused) path and of the step-function path on the same model."""
    if model_name:
        from core.store import load_model
        clf = load_model(model_name)
        if clf.kind != "rnn":
            raise ValueError(f"{model_name} is a {clf.kind} model; the training benchmark needs an RNN")
        cfg, V = clf.config, len(clf.vocab)
        arch, d, H = cfg["arch"], cfg["embed_dim"], cfg["hidden_size"]
    else:
        arch, V, d, H = "gru", 20000, 64, 128
    torch.manual_seed(0)
    model = SentimentRNN(V, arch, d, H)
    ids = torch.randint(2, V, (batch_size, seq_len))
    lengths = torch.full((batch_size,), seq_len)
    labels = torch.randint(0, 2, (batch_size,)).float()
    fast = _throughput(model, model.forward, ids, lengths, labels, steps)
    step = _throughput(model, model.forward_step, ids, lengths, labels, steps)
    return {"arch": arch, "vocab_size": V, "embed_dim": d, "hidden_size": H, "batch_size": batch_size,
            "seq_len": seq_len, "threads": torch.get_num_threads(), "fast_tokens_per_s": fast,
            "step_tokens_per_s": step, "ratio": fast / step}
