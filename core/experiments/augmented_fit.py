"""Fitting the context-augmented bag-of-words (core.models.augmented) next to an RNN: its data split and
vocabulary, its measured modifiers and position effects, cached on disk per RNN and setting; and
`train-augmented`, which writes the fit as a model folder."""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from core.analysis.api import modifiers, position
from core.analysis.modulation import KNOWN_MODIFIERS
from core.analysis.position import bow_position
from core.analysis.settings import MODIFIERS_TOP, Settings
from core.data.dataset import Dataset
from core.data.text import Vocab, encode_texts
from core.experiments.train import TrainConfig, accuracy, epoch_batches, invocation, prepare_data
from core.models.augmented import (_USES_MODIFIERS, _USES_POSITION, AugmentedBow, _check_variant, shipped_copy,
                                   weighted_counts)
from core.models.bow import C_GRID
from core.models.rnn import pad_batch
from core.models.store import MODELS_DIR, ModelError, check_model_name, read_json, save_model_dir
from core.storage.cache import cached

TOP_MODIFIERS = MODIFIERS_TOP   # K: at most this many of the confirmed modifiers the RNN's analysis lists
SHUFFLE_SPAN = 2.0              # `shuffled`: a stand-in word's frequency rank within a factor 2 of the modifier's


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

    modifiers: [{"word", "strength", "timescale"}, ...] (rnn_context's list; words outside the vocabulary are
    skipped; a "moved_from" word, the `shuffled` control's, is recorded in the info); position: {"begin": {"amplitude", "timescale"}, "end": {...}}, the amplitudes
    relative (core.analysis.position.bow_position).
    """
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
    moved = {m["word"]: m["moved_from"] for m in mods if "moved_from" in m}
    if moved:
        info["moved_from"] = moved
    return model, info


def _logistic(X: sp.csr_matrix, y: np.ndarray, C: float, seed: int):
    from sklearn.linear_model import LogisticRegression  # lazy: scikit-learn takes ~1 s to import; only fits need it
    return LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed).fit(X, y)


# -- from an RNN's model folder ------------------------------------------------------------------------
@dataclass(frozen=True)
class FitOptions:
    """How one augmented-BoW variant is fitted (with the RNN's Settings, its cache key)."""
    top: int = TOP_MODIFIERS
    epochs: int = 4
    batch_size: int = 256
    context_lr: float = 1e-2
    patience: int = 2


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

    def options(self) -> FitOptions:
        return FitOptions(self.top_modifiers, self.epochs, self.batch_size, self.context_lr, self.patience)


class RnnData(NamedTuple):
    """An RNN's own data: its training split, vocabulary, test set and text settings (metrics.json's training
    settings plus the config's max_len and truncate)."""
    train: Dataset
    dev: Dataset
    vocab: Vocab
    test: Dataset | None
    settings: dict


def rnn_setup(s: Settings, test_data: str | None = None, log=print) -> RnnData:
    """The RNN's own data, split, vocabulary and text settings, read from its metrics.json."""
    path = s.path
    cfg_json = read_json(path / "config.json")
    if cfg_json.get("kind") != "rnn":
        raise ModelError(f"{s.name}: the augmented BoW needs an RNN model (this one is {cfg_json.get('kind')!r})")
    settings = read_json(path / "metrics.json").get("settings") or {}
    if "data" not in settings:
        raise ModelError(f"{path / 'metrics.json'}: no training settings (data, split) recorded")
    tc = TrainConfig(name="augmented", data=settings["data"], test_data=test_data or settings.get("test_data"),
                     data_root=s.data_root or settings.get("data_root"), dev_data=settings.get("dev_data"),
                     dev_fraction=settings.get("dev_fraction", 0.1), seed=settings.get("seed", 0),
                     vocab_from=str(path), command="")
    train, dev, vocab, test = prepare_data(tc, log)
    text = {"max_len": cfg_json.get("max_len"), "truncate": cfg_json.get("truncate", "head")}
    return RnnData(train, dev, vocab, test, dict(settings, **text))


def rnn_context(s: Settings, variant: str, vocab: Vocab, top: int = TOP_MODIFIERS, seed: int = 0,
                log=None) -> tuple[list[dict] | None, dict | None]:
    """The RNN's modifiers and position fits, as much as the variant needs (cached analyses).

    Modifiers: the confirmed ones its modifier analysis lists at the default settings (measured on the real
    recurrence and judged against a matched null; strongest first, at most `top`), each {"word", "strength"
    (exact M(1) - 1), "timescale", "class"}. The controls change one thing: `valence_only` gives each word the
    strength its valence alone predicts (the median exact M(1) - 1 of its matched null: ordinary words of the same
    valence and frequency), `shuffled` moves each (strength, timescale) to a random ordinary word of similar
    frequency (shuffled_words). Position: each side's amplitude relative to its asymptote (bow_position), the
    gain g(t) the augmented BoW multiplies a word by, and no term where the curve is flat within noise."""
    mods = pos = None
    if variant in _USES_MODIFIERS:
        res = modifiers(s, log=log)
        mods = [{"word": m["word"], "strength": m["strength"], "timescale": m["timescale"], "class": m["class"]}
                for m in res["modifiers"] if m["word"] in vocab.stoi][:top]
        if variant == "valence_only":
            by_word = {m["word"]: m for m in res["modifiers"]}
            mods = [dict(m, strength=by_word[m["word"]]["null_median"] - 1.0) for m in mods
                    if by_word[m["word"]].get("null_median") is not None]
        elif variant == "shuffled":
            stand_ins = shuffled_words([m["word"] for m in mods], res["screen"]["words"], vocab, seed)
            mods = [dict(m, word=w, moved_from=m["word"]) for m, w in zip(mods, stand_ins)]
    if variant in _USES_POSITION:
        pos = bow_position(position(s, log=log))
    return mods, pos


def shuffled_words(words: list[str], screen: list[dict], vocab: Vocab, seed: int = 0) -> list[str]:
    """A stand-in for each word: a random screened word that is ordinary (class none in the linear screen, not
    one of the papers' modifier words, not in `words`), with a frequency rank within a factor SHUFFLE_SPAN of the
    word's (the one nearest in rank where none is left there), each used once. Seeded, so a fit is reproducible."""
    known = {w for ws in KNOWN_MODIFIERS.values() for w in ws}
    taken = set(words)
    pool = sorted(vocab.stoi[r["word"]] for r in screen
                  if r.get("screen_class", r["class"]) == "none" and r["word"] not in known | taken
                  and r["word"] in vocab.stoi)
    if len(pool) < len(words):
        raise ValueError(f"too few ordinary screened words ({len(pool)}) to stand in for {len(words)} modifiers")
    rng = np.random.default_rng(seed)
    free = np.array(pool)
    used = np.zeros(len(free), dtype=bool)
    out = []
    for w in words:
        rank = vocab.stoi[w]
        near = np.flatnonzero(~used & (free >= rank / SHUFFLE_SPAN) & (free <= rank * SHUFFLE_SPAN))
        if len(near):
            j = int(rng.choice(near))
        else:
            left = np.flatnonzero(~used)
            j = int(left[np.argmin(np.abs(free[left] - rank))])
        used[j] = True
        out.append(vocab.itos[int(free[j])])
    return out


def fitted_variant(s: Settings, data: RnnData, variant: str, opts: FitOptions = FitOptions(), refresh: bool = False,
                   log=None) -> dict:
    """fit_augmented next to the RNN of `s` (its data from rnn_setup), cached on disk under the RNN's checksum
    and every setting, so `compare` and `train-augmented` share one fit: {"model", "info", "cached"}."""

    def compute() -> dict:
        mods, pos = rnn_context(s, variant, data.vocab, opts.top, seed=data.settings.get("seed", 0), log=log)
        model, info = fit_augmented(data.train.texts, data.train.labels, data.dev.texts, data.dev.labels, data.vocab,
                                    variant, mods, pos, data.settings["max_len"], data.settings["truncate"],
                                    epochs=opts.epochs, batch_size=opts.batch_size, context_lr=opts.context_lr,
                                    patience=opts.patience, seed=data.settings.get("seed", 0),
                                    config={"rnn": s.name}, log=log)
        return {"config": model.config, "weights": model.weights(), "info": info}
    key = s.fit_key(variant, opts.top, opts.epochs, opts.batch_size, opts.context_lr, opts.patience)
    res, hit = cached(s.checksum, "augmented", key, compute, refresh, log)
    return {"model": AugmentedBow.from_parts(res["config"], data.vocab, res["weights"]), "info": res["info"],
            "cached": hit}


def train_augmented(cfg: AugConfig, log=print) -> dict:
    """Train one variant next to an RNN and write models/<name>/ (kind "augmented")."""

    _check_variant(cfg.variant)
    t0 = time.time()
    s = Settings.of(cfg.rnn, neutral=cfg.neutral, n_seeds=cfg.n_seeds, data_root=cfg.data_root)
    path = s.path
    data = rnn_setup(s, cfg.test_data, log)
    train, dev, vocab, test, settings = data
    fit = fitted_variant(s, data, cfg.variant, cfg.options(), cfg.refresh, log)
    model, info = fit["model"], fit["info"]
    if fit["cached"]:
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
