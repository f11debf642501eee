"""Context-augmented bag-of-words (METHOD section 6, paper A): a BoW whose token weights are scaled
by the modifiers the RNN analysis found and by the RNN's beginning/end-of-document effects.

  y = b + sum_t beta[w_t] * f_t * g(t)
  f_t  = prod_{s<t} (1 + alpha[w_s] exp(-(t-s-1)/tau[w_s]))      alpha, tau nonzero only for the K modifiers
  g(t) = 1 + a_b exp(-(t-1)/tau_b) + a_e exp(-(T-t)/tau_e)        t = 1..T, T the document length

Variants: `bow` (f = g = 1), `mod_fixed` (alpha, tau fixed to the RNN's strengths and timescales),
`mod_learned` (initialised from them and learned), `position` (BoW + g, initialised from the RNN's
position fits), `full` (learned modifiers + position). Every variant's logit is an exact sum of
per-token contributions beta[w_t] f_t g(t) plus the bias. Saved as model kind "augmented".
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn as nn
import torch.nn.functional as F

from core.bow import C_GRID
from core.rnn import batched_logits
from core.text import Vocab, encode_texts, tokenize, truncate_tokens
from core.train import accuracy, invocation

VARIANTS = ("bow", "mod_fixed", "mod_learned", "position", "full")
_USES_MODIFIERS = {"mod_fixed", "mod_learned", "full"}
_LEARNS_MODIFIERS = {"mod_learned", "full"}
_USES_POSITION = {"position", "full"}
TAU_MIN, TAU_MAX = 0.01, 10000.0
FIT_VERSION = 4        # bump when fit_augmented changes what it computes (disk cache key)
TOP_MODIFIERS = 2000   # K: the RNN's strongest modulators used, ranked by |log M(1)| (core.modifiers, select="ranked")
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
        from core.store import ModelError
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
    from core.rnn import pad_batch
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


def fit_augmented(train_texts: list[str], train_labels: np.ndarray, dev_texts: list[str], dev_labels: np.ndarray,
                  vocab: Vocab, variant: str = "full", modifiers: list[dict] | None = None,
                  position: dict | None = None, max_len: int | None = None, truncate: str = "head",
                  epochs: int = 4, batch_size: int = 256, context_lr: float = 1e-2, patience: int = 2,
                  c_grid: tuple[float, ...] | None = None, seed: int = 0, config: dict | None = None,
                  log=None) -> tuple[AugmentedBow, dict]:
    """Fit one variant.

    beta and b: L2 logistic regression on the context-weighted counts (convex; C chosen by dev
    log-loss). Learned variants then alternate rounds of (1) one epoch of Adam
    on alpha, tau and the position terms with beta fixed, cross-fitted: the examples of each half of
    the training set are scored with the beta fitted on the other half, so the context parameters
    learn what generalises rather than re-fit what beta already memorised; (2) a refit of beta.
    The round with the lowest dev log-loss is kept (round 0: the RNN's measured values); training stops
    after `patience` rounds without improvement.

    modifiers: [{"word", "strength", "timescale"}, ...] (core.analysis.modifiers' list; words outside
    the vocabulary are skipped); position: {"begin": {"amplitude", "timescale"}, "end": {...}}.
    """
    from core.rnn import pad_batch
    from core.train import epoch_batches
    _check_variant(variant)
    log = log or (lambda m: None)
    t0 = time.time()
    torch.manual_seed(seed)
    train_labels, dev_labels = np.asarray(train_labels), np.asarray(dev_labels)
    seen, mods = set(), []
    for m in modifiers or []:
        if m["word"] in vocab.stoi and vocab.stoi[m["word"]] >= 2 and m["word"] not in seen:
            seen.add(m["word"])
            mods.append(m)
    pos = None
    if position is not None:
        pos = (float(position["begin"]["amplitude"]), float(position["begin"]["timescale"]),
               float(position["end"]["amplitude"]), float(position["end"]["timescale"]))
    cfg = dict(config or {}, max_len=max_len, truncate=truncate)
    model = AugmentedBow(vocab, variant, [vocab.stoi[m["word"]] for m in mods],
                         [float(m["strength"]) for m in mods], [float(m["timescale"]) for m in mods], pos, cfg)
    if not len(dev_texts) or len(set(np.asarray(train_labels).tolist())) < 2:
        raise ValueError("the augmented BoW needs a dev set (it chooses C and the round on it) and both classes "
                         "in the training data")
    tr_seqs = encode_texts(train_texts, vocab, max_len, truncate)
    dev_seqs = encode_texts(dev_texts, vocab, max_len, truncate)
    grid = tuple(c_grid or C_GRID)
    n_tokens = max(sum(len(x) for x in tr_seqs), 1)

    def scale_of(Xtr: sp.csr_matrix) -> float:
        """Mean |context weight| of a training token: the features are divided by it before the
        regression, so that C means what it means for the plain BoW whatever the scale of f g."""
        return float(np.abs(Xtr.data).sum() / n_tokens) or 1.0

    def set_beta(clf, scale: float) -> None:
        with torch.no_grad():
            model.beta.copy_(torch.from_numpy(clf.coef_[0] / scale).float())
            model.bias.fill_(float(clf.intercept_[0]))

    def fit_beta(Xtr: sp.csr_matrix, near: float | None = None) -> dict:
        """C from the grid (or its neighbours of `near` in the grid) by dev log-loss, a far less noisy
        criterion than dev accuracy on a few hundred sentences."""
        scale = scale_of(Xtr)
        Xtr, Xdev = Xtr / scale, weighted_counts(model, dev_seqs) / scale
        best = None
        j = grid.index(near) if near in grid else None
        for C in grid if j is None else grid[max(j - 1, 0):j + 2]:
            clf = _logistic(Xtr, train_labels, C, seed)
            p = np.clip(clf.predict_proba(Xdev)[:, 1], 1e-12, 1 - 1e-12)
            res = {"dev_loss": float(-np.mean(dev_labels * np.log(p) + (1 - dev_labels) * np.log(1 - p))),
                   "dev_accuracy": float(((p > 0.5) == dev_labels).mean()), "C": C}
            if best is None or res["dev_loss"] < best[0]["dev_loss"]:
                best = (res, clf)
        set_beta(best[1], scale)
        return best[0]

    snapshot = lambda: {k: v.detach().clone() for k, v in model.state_dict().items()}
    Xtr = weighted_counts(model, tr_seqs)
    res = fit_beta(Xtr)
    C = res["C"]
    best = dict(res, round=0, state=snapshot())
    history = [dict(res, round=0)]
    log(f"{variant}: round 0 (the RNN's values), C = {C}, dev loss {res['dev_loss']:.4f}, accuracy {res['dev_accuracy']:.4f}")
    ctx = [p for p in (model.alpha, model.log_tau, model.pos_amp, model.pos_log_tau) if p.requires_grad and p.numel()]
    if ctx:
        opt = torch.optim.Adam(ctx, lr=context_lr)
        y = torch.tensor(train_labels, dtype=torch.float32)
        fold = np.random.default_rng(seed).permutation(len(tr_seqs)) % 2
        halves = [np.flatnonzero(fold == k) for k in (0, 1)]
        model.beta.requires_grad_(False)
        model.bias.requires_grad_(False)
        for r in range(1, epochs + 1):
            total, diverged = 0.0, False
            scale = scale_of(Xtr)
            for k, half in enumerate(halves):
                other = halves[1 - k]
                set_beta(_logistic(Xtr[other] / scale, train_labels[other], C, seed), scale)   # never saw `half`
                rng = np.random.default_rng(seed * 1000 + 2 * r + k)
                for b in epoch_batches([len(tr_seqs[i]) for i in half], batch_size, rng):
                    idx = half[b]
                    ids, lens = pad_batch([tr_seqs[i] for i in idx])
                    if not all(bool(torch.isfinite(p).all()) for p in ctx):
                        diverged = True
                        break
                    loss = F.binary_cross_entropy_with_logits(model(ids, lens), y[idx])
                    if not torch.isfinite(loss):
                        diverged = True
                        break
                    total += float(loss.detach()) * len(idx)
                    if not loss.requires_grad:   # no modifier in this batch and no position terms
                        continue
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                if diverged:
                    break
            if diverged:
                log(f"{variant}: diverged in round {r} (non-finite loss); keeping the best round")
                break
            Xtr = weighted_counts(model, tr_seqs)
            res = fit_beta(Xtr, near=C)
            C = res["C"]
            held_out = round(total / len(tr_seqs), 5)
            history.append(dict(res, round=r, held_out_loss=held_out))
            if res["dev_loss"] < best["dev_loss"]:
                best = dict(res, round=r, state=snapshot())
            log(f"{variant}: round {r} cross-fitted train loss {held_out:.4f}, C = {C}, dev loss {res['dev_loss']:.4f}, "
                f"accuracy {res['dev_accuracy']:.4f} (best loss {best['dev_loss']:.4f} in round {best['round']}), "
                f"{time.time() - t0:.0f} s")
            if r - best["round"] >= patience:
                break
        model.beta.requires_grad_(True)
        model.bias.requires_grad_(True)
    model.load_state_dict(best["state"])
    model = shipped_copy(model)
    info = {"variant": variant, "n_modifiers": len(model.mod_ids), "C": best["C"], "best_round": best["round"],
            "dev_loss": best["dev_loss"],
            "dev_accuracy": accuracy(model.logits_of(dev_seqs), dev_labels), "history": history,
            "train_seconds": round(time.time() - t0, 1), "context": model.describe()}
    return model, info


def _logistic(X: sp.csr_matrix, y: np.ndarray, C: float, seed: int):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed).fit(X, y)


# -- from an RNN's model folder ------------------------------------------------------------------------
@dataclass
class AugConfig:
    rnn: str
    name: str | None = None
    variant: str = "full"
    top_modifiers: int = TOP_MODIFIERS
    epochs: int = 4
    batch_size: int = 256
    context_lr: float = 1e-2
    patience: int = 2
    test_data: str | None = None
    data_root: str | None = None
    out_dir: str | None = None
    n_seeds: int = 1000
    neutral: str | None = None
    refresh: bool = False
    command: str = field(default_factory=lambda: invocation())


def rnn_setup(rnn: str, data_root: str | None = None, test_data: str | None = None, log=print):
    """(rnn path, train, dev, vocab, test, settings): the RNN's own data, split, vocabulary and text
    settings, read from its metrics.json."""
    from core.store import ModelError, read_json, resolve_model_dir
    from core.train import TrainConfig, prepare_data
    path = resolve_model_dir(rnn)
    cfg_json = read_json(path / "config.json")
    if cfg_json.get("kind") != "rnn":
        raise ModelError(f"{rnn}: the augmented BoW needs an RNN model (this one is {cfg_json.get('kind')!r})")
    settings = read_json(path / "metrics.json").get("settings") or {}
    if "data" not in settings:
        raise ModelError(f"{path / 'metrics.json'}: no training settings (data, split) recorded")
    tc = TrainConfig(name="augmented", data=settings["data"], test_data=test_data or settings.get("test_data"),
                     data_root=data_root or settings.get("data_root"), dev_data=settings.get("dev_data"),
                     dev_fraction=settings.get("dev_fraction", 0.1), seed=settings.get("seed", 0),
                     vocab_from=str(path), command="")
    train, dev, vocab, test = prepare_data(tc, log)
    text = {"max_len": cfg_json.get("max_len"), "truncate": cfg_json.get("truncate", "head")}
    return path, train, dev, vocab, test, dict(settings, **text)


def rnn_context(rnn: str, variant: str, top: int = TOP_MODIFIERS, n_seeds: int = 1000, neutral: str | None = None,
                data_root: str | None = None, log=None) -> tuple[list[dict] | None, dict | None]:
    """The RNN's modifiers (top K) and position fits, as much as the variant needs (cached analyses)."""
    from core.analysis import modifiers, position
    mods = pos = None
    if variant in _USES_MODIFIERS:
        res = modifiers(rnn, top=top, select="ranked", n_seeds=n_seeds, neutral=neutral, data_root=data_root, log=log)
        mods = [{"word": m["word"], "strength": m["strength"], "timescale": m["timescale"], "class": m["class"]}
                for m in res["modifiers"]][:top]
    if variant in _USES_POSITION:
        res = position(rnn, n_seeds=n_seeds, neutral=neutral, data_root=data_root, log=log)
        pos = {s: {"amplitude": res[s]["amplitude"], "timescale": res[s]["timescale"]} for s in ("begin", "end")}
    return mods, pos


def fitted_variant(path, train, dev, vocab, settings: dict, variant: str, top: int = TOP_MODIFIERS, epochs: int = 4,
                   batch_size: int = 256, context_lr: float = 1e-2, patience: int = 2, n_seeds: int = 1000,
                   neutral: str | None = None, data_root: str | None = None, refresh: bool = False,
                   log=None) -> tuple[AugmentedBow, dict, bool]:
    """fit_augmented next to the RNN at `path` (its data from rnn_setup), cached on disk under the RNN's
    checksum and every setting, so `compare` and `train-augmented` share one fit: (model, info, hit)."""
    from core.cache import cached
    from core.dynamics import resolve_neutral
    from core.store import model_checksum

    def compute() -> dict:
        mods, pos = rnn_context(str(path), variant, top, n_seeds, neutral, data_root, log=log)
        model, info = fit_augmented(train.texts, train.labels, dev.texts, dev.labels, vocab, variant, mods, pos,
                                    settings["max_len"], settings["truncate"], epochs=epochs, batch_size=batch_size,
                                    context_lr=context_lr, patience=patience, seed=settings.get("seed", 0),
                                    config={"rnn": path.name}, log=log)
        return {"config": model.config, "weights": model.weights(), "info": info}
    from core.analysis import MODIFIERS_VERSION
    from core.dynamics import SOLVER_VERSION
    key = {"variant": variant, "top": top, "epochs": epochs, "batch_size": batch_size, "context_lr": context_lr,
           "patience": patience, "n_seeds": n_seeds, "neutral": resolve_neutral(path, neutral), "data_root": data_root,
           "fit": FIT_VERSION, "modifier_selection": "ranked", "solver": SOLVER_VERSION,
           "modifiers_version": MODIFIERS_VERSION}  # the RNN analyses it is built on
    res, hit = cached(model_checksum(path), "augmented", key, compute, refresh, log)
    return AugmentedBow.from_parts(res["config"], vocab, res["weights"]), res["info"], hit


def train_augmented(cfg: AugConfig, log=print) -> dict:
    """Train one variant next to an RNN and write models/<name>/ (kind "augmented")."""
    from core.store import MODELS_DIR, check_model_name, save_model_dir
    from pathlib import Path
    import platform
    _check_variant(cfg.variant)
    t0 = time.time()
    path, train, dev, vocab, test, settings = rnn_setup(cfg.rnn, cfg.data_root, cfg.test_data, log)
    model, info, hit = fitted_variant(path, train, dev, vocab, settings, cfg.variant, cfg.top_modifiers, cfg.epochs,
                                      cfg.batch_size, cfg.context_lr, cfg.patience, cfg.n_seeds, cfg.neutral,
                                      cfg.data_root, cfg.refresh, log)
    if hit:
        log("fit loaded from the disk cache (the same RNN, data and settings); --refresh fits again")
    seed = settings.get("seed", 0)
    test_acc = accuracy(model.logits(test.texts), test.labels) if test is not None else None
    name = check_model_name(cfg.name or f"{path.name}-aug-{cfg.variant}")
    metrics = {"name": name, "kind": "augmented", "arch": "augmented", "variant": cfg.variant, "rnn": path.name,
               "dataset": settings["data"], "test_dataset": cfg.test_data or settings.get("test_data"),
               "split_sizes": {"train": len(train), "dev": len(dev), "test": len(test) if test is not None else None},
               "vocab_size": len(vocab), "seed": seed, "command": cfg.command,
               "settings": {k: v for k, v in vars(cfg).items() if k != "command"},
               "rnn_settings": {k: settings.get(k) for k in ("data", "dev_data", "dev_fraction", "seed", "max_len", "truncate")},
               "dev_accuracy": info["dev_accuracy"], "test_accuracy": test_acc,
               "wall_seconds": round(time.time() - t0, 1), "torch": torch.__version__,
               "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
               **{k: v for k, v in info.items() if k != "dev_accuracy"}}
    config = dict(model.config, rnn=path.name, modifier_words=[vocab.itos[i] for i in model.mod_ids.tolist()])
    out = Path(cfg.out_dir or MODELS_DIR) / name
    save_model_dir(out, config, vocab, model.weights(), metrics)
    log(f"wrote {out}: dev {info['dev_accuracy']:.4f}" + (f", test {test_acc:.4f}" if test_acc is not None else ""))
    return metrics


# -- comparison -----------------------------------------------------------------------------------------
def bootstrap_gap(correct: dict[str, np.ndarray], ref: str, top: str, n_boot: int = 1000, seed: int = 0) -> dict:
    """Gap recovered (acc - acc_ref) / (acc_top - acc_ref) for every entry of `correct` (0/1 arrays over
    the same test examples), with a bootstrap 95% interval (resamples of examples; resamples with a
    non-positive denominator are left out), and the top-ref difference's own interval."""
    rng = np.random.default_rng(seed)
    n = len(correct[ref])
    idx = rng.integers(0, n, size=(n_boot, n))
    acc = {k: v.mean() for k, v in correct.items()}
    boot = {k: v[idx].mean(1) for k, v in correct.items()}
    den_b = boot[top] - boot[ref]
    diff_ci = [float(np.percentile(den_b, 2.5)), float(np.percentile(den_b, 97.5))]
    den = acc[top] - acc[ref]
    out = {"diff": float(den), "diff_ci": diff_ci, "gap_too_small": bool(diff_ci[0] <= 0 or den <= 0), "gaps": {}}
    ok = den_b > 0
    for k in correct:
        g = float((acc[k] - acc[ref]) / den) if den != 0 else float("nan")
        gb = (boot[k][ok] - boot[ref][ok]) / den_b[ok]
        ci = [float(np.percentile(gb, 2.5)), float(np.percentile(gb, 97.5))] if ok.sum() >= 10 else [float("nan")] * 2
        out["gaps"][k] = (g, ci)
    return out


COMPARE_VERSION = 1  # part of the cache key of a comparison


def compare(rnn: str, data: str, top: int = TOP_MODIFIERS, epochs: int = 4, batch_size: int = 256, data_root: str | None = None,
            variants: tuple[str, ...] = VARIANTS, n_boot: int = 1000, refresh: bool = False, log=print,
            ship: bool = False) -> dict:
    """Every variant (trained or loaded from the disk cache), the bigram reference and the RNN on one test set.
    The whole comparison is cached per RNN (content), test set and settings, and can ship with the RNN
    (`ship`), so the BoW-vs-RNN page shows it with no dataset present."""
    from core.analysis import MODIFIERS_VERSION
    from core.cache import cached
    from core.dynamics import SOLVER_VERSION
    from core.store import model_checksum, resolve_model_dir
    path = resolve_model_dir(rnn)
    settings = {"data": data, "top": top, "epochs": epochs, "batch_size": batch_size, "variants": list(variants),
                "n_boot": n_boot, "solver": SOLVER_VERSION, "modifiers": MODIFIERS_VERSION, "version": COMPARE_VERSION}
    checksum = model_checksum(path)
    res, hit = cached(checksum, "compare", settings,
                      lambda: dict(_compare(rnn, data, top, epochs, batch_size, data_root, variants, n_boot, refresh, log),
                                   rnn_checksum=checksum, rnn_name=path.name, settings=settings),
                      refresh, log, model_dir=path, ship=ship)
    return dict(res, cached=hit)


def comparisons(rnn: str) -> list[dict]:
    """Every cached or shipped comparison of this RNN (its current weights), newest settings first."""
    from core.cache import comparable_entries
    from core.store import model_checksum, resolve_model_dir
    path = resolve_model_dir(rnn)
    checksum = model_checksum(path)
    return [r for r in comparable_entries("compare", path) if r.get("rnn_checksum") == checksum]


def _compare(rnn: str, data: str, top: int, epochs: int, batch_size: int, data_root: str | None,
             variants: tuple[str, ...], n_boot: int, refresh: bool, log) -> dict:
    """The comparison itself (see compare)."""
    from core.bow import fit_bow
    from core.cache import cached
    from core.data import load_dataset
    from core.store import load_model, model_checksum
    path, train, dev, vocab, _, settings = rnn_setup(rnn, data_root, None, log)
    test = load_dataset(data, data_root)
    if (test.labels < 0).any():
        raise ValueError(f"{data} has unlabelled examples: nothing to compare on")
    checksum = model_checksum(path)
    rnn_clf = load_model(path)
    correct = {"rnn": (rnn_clf.logits(test.texts).numpy() > 0).astype(int) == test.labels}
    seed = settings.get("seed", 0)
    for v in variants:
        model, info, hit = fitted_variant(path, train, dev, vocab, settings, v, top, epochs, batch_size,
                                          data_root=data_root, refresh=refresh, log=log)
        log(f"{v}: {'loaded from cache' if hit else 'trained'} (dev {info['dev_accuracy']:.4f})")
        correct[v] = (model.logits(test.texts).numpy() > 0).astype(int) == test.labels

    def compute_bigram() -> dict:
        m, info = fit_bow(train.texts, train.labels, dev.texts, dev.labels, vocab, bigram=True, seed=seed,
                          max_len=settings["max_len"], truncate=settings["truncate"])
        return {"config": m.config, "weights": m.weights(), "info": {"dev_accuracy": info["dev_accuracy"]}}
    from core.bow import BowClassifier
    res, hit = cached(checksum, "augmented-bigram", {"data_root": data_root, "max_len": settings["max_len"]}, compute_bigram, refresh, log)
    correct["bigram"] = (BowClassifier.from_parts(res["config"], vocab, res["weights"]).logits(test.texts).numpy() > 0
                         ).astype(int) == test.labels
    correct = {k: v.astype(np.float64) for k, v in correct.items()}
    ref = "bow" if "bow" in correct else "bigram"
    gaps = bootstrap_gap(correct, ref, "rnn", n_boot, seed=0)
    out = {"data": data, "n": len(test), "rnn": {"accuracy": float(correct["rnn"].mean())},
           "bow": {"accuracy": float(correct[ref].mean())},
           "variants": [{"name": k, "accuracy": float(correct[k].mean()), "gap_recovered": gaps["gaps"][k][0],
                         "gap_ci": gaps["gaps"][k][1]} for k in [*variants, "bigram"]]}
    if gaps["gap_too_small"]:
        out["gap_too_small"] = True
    out["rnn_bow_diff"] = {"value": gaps["diff"], "ci": gaps["diff_ci"]}
    return out
