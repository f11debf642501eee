"""Context-augmented bag-of-words (METHOD section 6, paper A): a BoW whose token weights are scaled
by the modifiers the RNN analysis found and by the RNN's beginning/end-of-document effects.

  y = b + sum_t beta[w_t] * f_t * g(t)
  f_t  = prod_{s<t} (1 + alpha[w_s] exp(-(t-s-1)/tau[w_s]))      alpha, tau nonzero only for the K modifiers
  g(t) = 1 + a_b exp(-(t-1)/tau_b) + a_e exp(-(T-t)/tau_e)        t = 1..T, T the document length

Variants: `bow` (f = g = 1), `mod_fixed` (alpha, tau fixed to the RNN's confirmed modifiers' measured
strengths and timescales), `mod_learned` (initialised from them and learned), `position` (BoW + g,
initialised from the RNN's position fits), `full` (learned modifiers + position), and two controls built
like `mod_fixed`: `valence_only` (the same words, each alpha what its valence alone predicts) and
`shuffled` (the same alpha, tau on random frequency-matched ordinary words). Every variant's logit is an
exact sum of per-token contributions beta[w_t] f_t g(t) plus the bias. Saved as model kind "augmented".
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn as nn

from core.data.text import Vocab, encode_texts, tokenize, truncate_tokens
from core.models.rnn import batched_logits, pad_batch
from core.models.classifier import Explanation, explanation
from core.models.store import ModelError

VARIANTS = ("bow", "mod_fixed", "mod_learned", "position", "full", "valence_only", "shuffled")
CONTROLS = ("valence_only", "shuffled")   # mod_fixed with the modifiers' effects from valence, or on random words
_USES_MODIFIERS = {"mod_fixed", "mod_learned", "full", *CONTROLS}
_LEARNS_MODIFIERS = {"mod_learned", "full"}
_USES_POSITION = {"position", "full"}
TAU_MIN, TAU_MAX = 0.01, 10000.0
WINDOW_EPS = 1e-6



def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")


class AugmentedBow(nn.Module):
    """The model and its classifier interface (logits, predict_proba, token_contributions)."""

    kind = "augmented"

    def __init__(self, vocab: Vocab, variant: str = "full", mod_ids: list[int] | None = None,
                 alpha: list[float] | None = None, tau: list[float] | None = None,
                 position: tuple[float, float, float, float] | None = None, config: dict | None = None):
        super().__init__()
        _check_variant(variant)
        self.vocab, self.variant = vocab, variant
        self.config = dict(config or {}, kind="augmented", variant=variant)
        self.max_len, self.truncate = self.config.get("max_len"), self.config.get("truncate", "head")
        V = len(vocab)
        self.beta = nn.Parameter(torch.zeros(V))
        self.bias = nn.Parameter(torch.zeros(1))
        mod_ids = list(mod_ids or []) if variant in _USES_MODIFIERS else []
        if len(set(mod_ids)) != len(mod_ids) or any(not 2 <= i < V for i in mod_ids):
            raise ValueError("modifier ids must be distinct vocabulary ids (not <pad>/<unk>)")
        K = len(mod_ids)
        alpha = [0.0] * K if alpha is None else list(alpha)[:K] if K else []
        tau = [1.0] * K if tau is None else list(tau)[:K] if K else []
        learn = variant in _LEARNS_MODIFIERS
        self.register_buffer("mod_ids", torch.tensor(mod_ids, dtype=torch.long))
        slot = torch.full((V,), -1, dtype=torch.long)
        if K:
            slot[self.mod_ids] = torch.arange(K)
        self.register_buffer("slot", slot)
        self.alpha = nn.Parameter(torch.tensor(alpha, dtype=torch.float32).reshape(K), requires_grad=learn)
        self.log_tau = nn.Parameter(torch.tensor(tau, dtype=torch.float32).reshape(K)
                                    .clamp(TAU_MIN, TAU_MAX).log(), requires_grad=learn)
        self.use_position = variant in _USES_POSITION
        a_b, tau_b, a_e, tau_e = position if (position is not None and self.use_position) else (0.0, 10.0, 0.0, 10.0)
        self.pos_amp = nn.Parameter(torch.tensor([a_b, a_e], dtype=torch.float32), requires_grad=self.use_position)
        self.pos_log_tau = nn.Parameter(torch.tensor([tau_b, tau_e], dtype=torch.float32).clamp(TAU_MIN, TAU_MAX).log(),
                                        requires_grad=self.use_position)

    # -- the model ---------------------------------------------------------------------------
    @property
    def tau(self) -> torch.Tensor:
        return self.log_tau.exp().clamp(TAU_MIN, TAU_MAX)

    @property
    def pos_tau(self) -> torch.Tensor:
        return self.pos_log_tau.exp().clamp(TAU_MIN, TAU_MAX)

    def modifier_factors(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """f_t (B, T): the product over earlier modifier tokens of 1 + alpha exp(-(t-s-1)/tau).

        Computed lag by lag (d = t - s - 1); lags where every modifier's term is below WINDOW_EPS
        (|alpha| exp(-d/tau) < 1e-6) are skipped, so a logit differs from the full product by < 1e-6
        relative per modifier token."""
        B, T = ids.shape
        f = torch.ones(B, T)
        if len(self.mod_ids) == 0 or T < 2:
            return f
        slot = self.slot[ids]
        is_mod = (slot >= 0) & (torch.arange(T)[None] < lengths[:, None])
        if not bool(is_mod.any()):
            return f
        s = slot.clamp(min=0)
        a = torch.where(is_mod, self.alpha[s], torch.zeros(()))      # (B, T): alpha of the token at s
        tau = self.tau[s]
        with torch.no_grad():
            need = (tau * torch.log(a.abs().clamp(min=WINDOW_EPS) / WINDOW_EPS))[is_mod]
            W = min(T - 1, int(need.max().ceil()) + 1)
        inv_tau = 1.0 / tau
        for d in range(W):
            term = 1.0 + a[:, :T - 1 - d] * torch.exp(-d * inv_tau[:, :T - 1 - d])   # acts on t = s + 1 + d
            f = f * torch.cat([torch.ones(B, d + 1), term], dim=1)
        return f

    def position_gain(self, lengths: torch.Tensor, T: int) -> torch.Tensor:
        """g(t) (B, T) = 1 + a_b exp(-(t-1)/tau_b) + a_e exp(-(T_doc-t)/tau_e)."""
        t0 = torch.arange(T, dtype=torch.float32)[None]              # t - 1
        to_end = (lengths[:, None].float() - 1.0 - t0).clamp(min=0)   # T_doc - t
        tau = self.pos_tau
        return 1.0 + self.pos_amp[0] * torch.exp(-t0 / tau[0]) + self.pos_amp[1] * torch.exp(-to_end / tau[1])

    def token_weights(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The context weight f_t g(t) of each token (B, T); 0 on padding."""
        T = ids.shape[1]
        w = torch.ones(ids.shape)
        if len(self.mod_ids):
            w = w * self.modifier_factors(ids, lengths)
        if self.use_position:
            w = w * self.position_gain(lengths, T)
        return torch.where(torch.arange(T)[None] < lengths[:, None], w, torch.zeros(()))

    def terms(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Per-token contributions beta[w_t] f_t g(t) (B, T); 0 on padding."""
        return self.beta[ids] * self.token_weights(ids, lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.bias + self.terms(ids, lengths).sum(1)

    # -- classifier interface ------------------------------------------------------------------
    def encode(self, texts: list[str]) -> list[list[int]]:
        return encode_texts(texts, self.vocab, self.max_len, self.truncate)

    def logits_of(self, seqs: list[list[int]]) -> torch.Tensor:
        return batched_logits(self, seqs, max_tokens=32768, max_batch=512)

    def logits(self, texts: list[str]) -> torch.Tensor:
        return self.logits_of(self.encode(texts))

    def predict_proba(self, texts: list[str]) -> torch.Tensor:
        return torch.sigmoid(self.logits(texts))

    @torch.no_grad()
    def token_contributions(self, text: str) -> tuple[list[str], np.ndarray, float]:
        """(tokens the model reads, contribution per token, bias): their sum is the logit."""
        toks = truncate_tokens(tokenize(text), self.max_len, self.truncate)
        ids = self.vocab.encode(toks)
        if not ids:
            return toks, np.zeros(0), float(self.bias)
        c = self.terms(torch.tensor([ids]), torch.tensor([len(ids)]))[0]
        return toks, c.double().numpy(), float(self.bias)

    def explain(self, text: str) -> Explanation:
        """token_contributions in the shared shape: the baseline is the bias."""
        toks, contrib, bias = self.token_contributions(text)
        return explanation(toks, contrib, bias, "each word's weight scaled by the modifiers before it and by its "
                           "position, f_t g(t)")

    def describe(self) -> dict:
        """The context parameters in readable form."""
        mods = [{"word": self.vocab.itos[i], "alpha": float(a), "tau": float(t)}
                for i, a, t in zip(self.mod_ids.tolist(), self.alpha.detach(), self.tau.detach())]
        out = {"variant": self.variant, "modifiers": mods}
        if self.use_position:
            amp, tau = self.pos_amp.detach(), self.pos_tau.detach()
            out["position"] = {"a_b": float(amp[0]), "tau_b": float(tau[0]), "a_e": float(amp[1]), "tau_e": float(tau[1])}
        return out

    # -- persistence ---------------------------------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        d = lambda x: x.detach().clone().float()
        return {"beta": d(self.beta), "bias": d(self.bias), "mod_ids": self.mod_ids.clone(),
                "alpha": d(self.alpha), "tau": d(self.tau),
                "position": torch.stack([self.pos_amp[0], self.pos_tau[0], self.pos_amp[1], self.pos_tau[1]]).detach().float()}

    @classmethod
    def from_parts(cls, config: dict, vocab: Vocab, weights: dict) -> "AugmentedBow":
        variant = config.get("variant")
        if variant not in VARIANTS:
            raise ModelError(f"augmented model: unknown variant {variant!r}")
        beta = weights.get("beta")
        if beta is None or "bias" not in weights or beta.shape != (len(vocab),):
            raise ModelError(f"augmented-BoW weights do not match the vocabulary ({len(vocab)} words)")
        mod_ids = weights.get("mod_ids", torch.zeros(0, dtype=torch.long))
        K = len(mod_ids)
        alpha, tau = weights.get("alpha", torch.zeros(K)), weights.get("tau", torch.ones(K))
        if alpha.shape != (K,) or tau.shape != (K,):
            raise ModelError("augmented-BoW weights: alpha and tau must have one entry per modifier")
        p = weights.get("position", torch.tensor([0.0, 10.0, 0.0, 10.0]))
        if p.shape != (4,):
            raise ModelError("augmented-BoW weights: position must hold (a_b, tau_b, a_e, tau_e)")
        m = cls(vocab, variant, mod_ids.long().tolist(), alpha.tolist(), tau.tolist(), tuple(p.tolist()), config)
        with torch.no_grad():
            m.beta.copy_(beta.float())
            m.bias.copy_(weights["bias"].float().reshape(1))
        return m.eval()


def shipped_copy(model: AugmentedBow) -> AugmentedBow:
    """The model as it is stored (float16-rounded parameters): evaluate exactly what ships."""
    w = {k: (v.half().float() if v.is_floating_point() else v) for k, v in model.weights().items()}
    return AugmentedBow.from_parts(model.config, model.vocab, w)


# -- training --------------------------------------------------------------------------------------
@torch.no_grad()
def weighted_counts(model: AugmentedBow, seqs: list[list[int]], chunk: int = 256) -> sp.csr_matrix:
    """Documents x vocabulary matrix of summed context weights: X[d, w] = sum over the tokens t of
    word w in d of f_t g(t). The logit is b + X @ beta, so with alpha, tau and the position terms
    fixed, fitting beta is an ordinary logistic regression."""
    rows, cols, vals = [], [], []
    order = np.argsort([len(x) for x in seqs], kind="stable")       # similar lengths share a batch
    for s in range(0, len(order), chunk):
        idx = order[s:s + chunk]
        batch = [seqs[i] for i in idx]
        if not any(batch):
            continue
        ids, lens = pad_batch(batch)
        w = model.token_weights(ids, lens)
        valid = torch.arange(ids.shape[1])[None] < lens[:, None]
        r, c = valid.nonzero(as_tuple=True)
        rows.append(np.asarray(idx)[r.numpy()])
        cols.append(ids[r, c].numpy())
        vals.append(w[r, c].double().numpy())
    cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)
    X = sp.csr_matrix((cat(vals, np.float64), (cat(rows, np.int64), cat(cols, np.int64))),
                      shape=(len(seqs), len(model.vocab)))
    X.sum_duplicates()
    return X
