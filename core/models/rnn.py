"""Recurrent sentiment classifiers (METHOD section 1).

Each cell has an explicit step function `step(h, x) -> F(h, x)`, the single source of truth for
analysis, and a fast batched `run(x, h0)` for batch inference and, where it is the faster path
(`core.experiments.train.resolve_path`), training. GRU, LSTM and vanilla use PyTorch's fused layers for `run`, and
`step` reproduces their equations exactly (the GRU is
PyTorch's variant: c = tanh(A_c x + b_ic + r * (W_c h + b_hc))). UGRNN has no fused layer: its `run`
precomputes every input projection in one matrix product and loops over time.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from torch import nn

from core.data.text import encode_texts, tokenize, truncate_tokens
from core.models.classifier import Explanation, explanation

ARCHS = ("gru", "lstm", "ugrnn", "vanilla")


class Cell(nn.Module, ABC):
    """A recurrent cell: state size N, input size d."""

    state_size: int
    hidden_size: int

    @abstractmethod
    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """F(h, x) for any leading batch dimensions: h (..., N), x (..., d) -> (..., N)."""

    @abstractmethod
    def run(self, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        """Fast path: x (B, T, d), h0 (B, N) -> states (B, T, N) for the readout half (h part)."""

    def readout_part(self, h: torch.Tensor) -> torch.Tensor:
        """The part of the state that the readout sees (all of it, except the LSTM's c)."""
        return h[..., : self.hidden_size]


class GRU(Cell):
    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = self.state_size = hidden_size
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)

    def step(self, h, x):
        H = self.hidden_size
        gi = x @ self.rnn.weight_ih_l0.T + self.rnn.bias_ih_l0
        gh = h @ self.rnn.weight_hh_l0.T + self.rnn.bias_hh_l0
        r = torch.sigmoid(gi[..., :H] + gh[..., :H])
        u = torch.sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
        c = torch.tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
        return u * h + (1 - u) * c

    def run(self, x, h0):
        out, _ = self.rnn(x, h0.unsqueeze(0).contiguous())
        return out


class LSTM(Cell):
    """LSTM with state [h; c] (N = 2H); forget-gate bias initialised to 1."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.state_size = 2 * hidden_size
        self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        with torch.no_grad():
            self.rnn.bias_ih_l0[hidden_size:2 * hidden_size].fill_(1.0)
            self.rnn.bias_hh_l0[hidden_size:2 * hidden_size].fill_(0.0)

    def step(self, h, x):
        H = self.hidden_size
        hh, cc = h[..., :H], h[..., H:]
        g = x @ self.rnn.weight_ih_l0.T + self.rnn.bias_ih_l0 + hh @ self.rnn.weight_hh_l0.T + self.rnn.bias_hh_l0
        i, f = torch.sigmoid(g[..., :H]), torch.sigmoid(g[..., H:2 * H])
        gg, o = torch.tanh(g[..., 2 * H:3 * H]), torch.sigmoid(g[..., 3 * H:])
        c_new = f * cc + i * gg
        return torch.cat([o * torch.tanh(c_new), c_new], dim=-1)

    def run(self, x, h0):
        H = self.hidden_size
        hh, cc = h0[:, :H].unsqueeze(0).contiguous(), h0[:, H:].unsqueeze(0).contiguous()
        out, _ = self.rnn(x, (hh, cc))
        return out


class Vanilla(Cell):
    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = self.state_size = hidden_size
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity="tanh", batch_first=True)

    def step(self, h, x):
        return torch.tanh(x @ self.rnn.weight_ih_l0.T + self.rnn.bias_ih_l0
                          + h @ self.rnn.weight_hh_l0.T + self.rnn.bias_hh_l0)

    def run(self, x, h0):
        out, _ = self.rnn(x, h0.unsqueeze(0).contiguous())
        return out


class UGRNN(Cell):
    """Update-gate RNN: u = sigma(A_u x + W_u h + b_u), c = tanh(A_c x + W_c h + b_c), h' = u h + (1-u) c."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = self.state_size = hidden_size
        self.A = nn.Linear(input_size, 2 * hidden_size)
        self.W = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
        with torch.no_grad():
            self.A.bias[:hidden_size].fill_(1.0)  # start with the update gate leaning towards memory

    def _combine(self, h, pre):
        H = self.hidden_size
        u = torch.sigmoid(pre[..., :H])
        return u * h + (1 - u) * torch.tanh(pre[..., H:])

    def step(self, h, x):
        return self._combine(h, self.A(x) + self.W(h))

    def run(self, x, h0):
        ax = self.A(x)
        h, out = h0, []
        for t in range(x.shape[1]):
            h = self._combine(h, ax[:, t] + self.W(h))
            out.append(h)
        return torch.stack(out, dim=1)


CELLS = {"gru": GRU, "lstm": LSTM, "ugrnn": UGRNN, "vanilla": Vanilla}


class SentimentRNN(nn.Module):
    """Embedding -> recurrent cell -> linear readout of the last real token's state."""

    def __init__(self, vocab_size: int, arch: str = "gru", embed_dim: int = 64, hidden_size: int = 128,
                 dropout: float = 0.0):
        super().__init__()
        if arch not in CELLS:
            raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHS}")
        self.arch = arch
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        nn.init.normal_(self.embedding.weight, std=0.1)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.cell = CELLS[arch](embed_dim, hidden_size)
        self.h0 = nn.Parameter(torch.zeros(self.cell.state_size))
        self.readout = nn.Linear(hidden_size, 1)
        self.dropout = nn.Dropout(dropout)

    @property
    def state_size(self) -> int:
        return self.cell.state_size

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """F(h, x): one step of the recurrence on embedded input x."""
        return self.cell.step(h, x)

    def readout_vector(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(w, b) with y(h) = w . h + b over the full state (zeros on the LSTM's c half)."""
        w = torch.zeros(self.state_size, dtype=self.readout.weight.dtype)
        w[: self.cell.hidden_size] = self.readout.weight[0].detach()
        return w, self.readout.bias.detach()[0]

    def logit_of_state(self, h: torch.Tensor) -> torch.Tensor:
        """Readout y(h) for states of any leading shape."""
        return self.readout(self.cell.readout_part(h)).squeeze(-1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Fast path: logits (B,) read at each sequence's last real token (ids right-padded with 0)."""
        x = self.dropout(self.embedding(ids))
        out = self.cell.run(x, self.h0.expand(ids.shape[0], -1))
        last = (lengths - 1).clamp(min=0)
        h_last = out[torch.arange(ids.shape[0], device=ids.device), last]
        logits = self.readout(h_last).squeeze(-1)
        # An empty sequence is read at h0.
        empty = lengths == 0
        if empty.any():
            logits = torch.where(empty, self.logit_of_state(self.h0).expand_as(logits), logits)
        return logits

    def states(self, ids: torch.Tensor) -> torch.Tensor:
        """Step-function path for one sequence: ids (T,) -> states (T+1, N), row 0 is h0."""
        x = self.embedding(ids)
        h = self.h0
        hs = [h]
        for t in range(ids.shape[0]):
            h = self.step(h, x[t])
            hs.append(h)
        return torch.stack(hs)

    def forward_step(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Same logits as forward() but computed with the step function F (batched over sequences)."""
        x = self.dropout(self.embedding(ids))
        B, T = ids.shape
        h = self.h0.expand(B, -1)
        final = h
        for t in range(T):
            h = self.step(h, x[:, t])
            final = torch.where((lengths == t + 1).unsqueeze(1), h, final)
        return self.logit_of_state(final)


def pad_batch(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists with 0: (ids (B, T), lengths (B,))."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.zeros(len(seqs), max(1, int(lengths.max()) if len(seqs) else 1), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, lengths


def length_batches(lengths: list[int], max_tokens: int = 16384, max_batch: int = 256) -> list[list[int]]:
    """Index batches of similar length (sorted), each with at most max_tokens padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches, cur, cur_max = [], [], 0
    for i in order:
        m = max(cur_max, lengths[i], 1)
        if cur and (m * (len(cur) + 1) > max_tokens or len(cur) >= max_batch):
            batches.append(cur)
            cur, m = [], max(lengths[i], 1)
        cur.append(i)
        cur_max = m
    if cur:
        batches.append(cur)
    return batches


@torch.no_grad()
def batched_logits(model: nn.Module, seqs: list[list[int]], max_tokens: int = 16384,
                   max_batch: int = 256) -> torch.Tensor:
    """Logits of a model called as model(ids, lengths) for many encoded sequences, batched by length."""
    model.eval()
    device = next(model.parameters()).device
    out = torch.empty(len(seqs))
    for idx in length_batches([len(s) for s in seqs], max_tokens, max_batch):
        ids, lengths = pad_batch([seqs[i] for i in idx])
        out[idx] = model(ids.to(device), lengths.to(device)).cpu()
    return out


class RNNClassifier:
    """A trained SentimentRNN with its vocabulary and text settings."""

    kind = "rnn"

    def __init__(self, model: SentimentRNN, vocab, config: dict):
        self.model, self.vocab, self.config = model.eval(), vocab, config

    @classmethod
    def from_parts(cls, config: dict, vocab, weights: dict) -> "RNNClassifier":
        model = SentimentRNN(len(vocab), config["arch"], config["embed_dim"], config["hidden_size"])
        model.load_state_dict(weights)
        return cls(model, vocab, config)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return encode_texts(texts, self.vocab, self.config.get("max_len"), self.config.get("truncate", "head"))

    def logits(self, texts: list[str]) -> torch.Tensor:
        return batched_logits(self.model, self.encode(texts))

    def predict_proba(self, texts: list[str]) -> torch.Tensor:
        """P(positive) for each text."""
        return torch.sigmoid(self.logits(texts))

    @torch.no_grad()
    def explain(self, text: str) -> Explanation:
        """The readout's change at each token it reads (after its truncation), from the step function F;
        the baseline is the readout of the initial state h_0."""
        tokens = truncate_tokens(tokenize(text), self.config.get("max_len"), self.config.get("truncate", "head"))
        states = self.model.states(torch.tensor(self.vocab.encode(tokens), dtype=torch.long))
        y = self.model.logit_of_state(states).double().numpy()
        return explanation(tokens, np.diff(y), float(y[0]), "the change of the readout y(h_t) at each token: a "
                           "word's effect depends on what came before it")

    @torch.no_grad()
    def trajectory(self, text: str) -> tuple[list[str], torch.Tensor]:
        """(tokens, readout logit y(h_t) after each token), from the step function F, untruncated."""
        tokens = tokenize(text)
        states = self.model.states(torch.tensor(self.vocab.encode(tokens), dtype=torch.long))
        return tokens, self.model.logit_of_state(states[1:])
