"""RNN vs bag-of-words vs the context-augmented variants on one test set (paper A's closing result):
accuracies, the share of the RNN's gain over the BoW each variant recovers, with bootstrap intervals, and the
headline (the confirmed modifiers as measured, `mod_fixed`) against its two controls (`valence_only`,
`shuffled`): how much of its share is more than the words' valence or than any words' would give."""
from __future__ import annotations

import numpy as np

from core.analysis.settings import Settings
from core.data.loaders import dataset_available, load_dataset
from core.experiments.augmented_fit import FitOptions, fitted_variant, rnn_setup
from core.models.augmented import _USES_MODIFIERS, CONTROLS, VARIANTS
from core.models.bow import BowClassifier, fit_bow
from core.models.store import load_model, model_checksum, read_json, resolve_model_dir
from core.storage.cache import cached, comparable_entries

HEADLINE = "mod_fixed"   # the confirmed mechanism as measured: only the word weights beta are fitted
CONTRASTS = tuple((HEADLINE, c) for c in CONTROLS)   # the headline against its controls


def bootstrap_gap(correct: dict[str, np.ndarray], ref: str, top: str, n_boot: int = 1000, seed: int = 0,
                  contrasts: tuple[tuple[str, str], ...] = ()) -> dict:
    """Gap recovered (acc - acc_ref) / (acc_top - acc_ref) for every entry of `correct` (0/1 arrays over
    the same test examples), with a bootstrap 95% interval (resamples of examples; resamples with a
    non-positive denominator are left out), and the top-ref difference's own interval. `contrasts`: pairs
    (a, b) whose difference of gaps recovered is given with its paired interval (the same resamples) in
    out["contrasts"]["a-b"]."""
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

    def interval(samples: np.ndarray) -> list[float]:
        """The 95% percentile interval of bootstrap samples; NaN with fewer than 10 usable resamples."""
        if ok.sum() < 10:
            return [float("nan")] * 2
        return [float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))]

    for k in correct:
        g = float((acc[k] - acc[ref]) / den) if den != 0 else float("nan")
        out["gaps"][k] = (g, interval((boot[k][ok] - boot[ref][ok]) / den_b[ok]))
    out["contrasts"] = {}
    for a, b in contrasts:
        if a in correct and b in correct:
            d = (acc[a] - acc[b]) / den if den != 0 else float("nan")
            out["contrasts"][f"{a}-{b}"] = (float(d), interval((boot[a][ok] - boot[b][ok]) / den_b[ok]))
    return out


def compare(s: Settings, data: str, opts: FitOptions = FitOptions(), variants: tuple[str, ...] = VARIANTS,
            n_boot: int = 1000, refresh: bool = False, log=print, ship: bool = False) -> dict:
    """Every variant (trained or loaded from the disk cache), the bigram reference and the RNN on one test set.
    The whole comparison is cached per RNN (content), test set and settings, and can ship with the RNN
    (`ship`), so the BoW-vs-RNN page shows it with no dataset present."""
    key = s.compare_key(data, opts.top, opts.epochs, opts.batch_size, variants, n_boot)
    res, hit = cached(s.checksum, "compare", key,
                      lambda: dict(_compare(s, data, opts, variants, n_boot, refresh, log),
                                   rnn_checksum=s.checksum, rnn_name=s.name, settings=key),
                      refresh, log, model_dir=s.path, ship=ship)
    return dict(res, cached=hit)


def missing_data(s: Settings, data: str) -> list[str]:
    """The datasets a comparison of this RNN on the test set `data` reads that are not on this machine (empty when it
    can run): the RNN's training set (and its dev set, where one is named) to fit the bag-of-words variants on, and
    `data` to score them. A stored comparison needs none of them."""
    metrics = s.path / "metrics.json"   # an imported model may have none: its training data is then unknown here
    settings = (read_json(metrics).get("settings") or {}) if metrics.exists() else {}
    needed = [settings.get("data"), settings.get("dev_data"), data]
    return [d for d in dict.fromkeys(needed) if d and not dataset_available(d, s.data_root or settings.get("data_root"))]


def comparisons(rnn: str) -> list[dict]:
    """Every cached or shipped comparison of this RNN (its current weights), newest settings first."""
    path = resolve_model_dir(rnn)
    checksum = model_checksum(path)
    return [r for r in comparable_entries("compare", path) if r.get("rnn_checksum") == checksum]


def _compare(s: Settings, data: str, opts: FitOptions, variants: tuple[str, ...], n_boot: int, refresh: bool,
             log) -> dict:
    """The comparison itself (see compare)."""
    rnn_data = rnn_setup(s, None, log)
    train, dev, vocab, _, settings = rnn_data
    test = load_dataset(data, s.data_root)
    if (test.labels < 0).any():
        raise ValueError(f"{data} has unlabelled examples: nothing to compare on")
    rnn_clf = load_model(s.path)
    correct = {"rnn": (rnn_clf.logits(test.texts).numpy() > 0).astype(int) == test.labels}
    seed = settings.get("seed", 0)
    words: dict[str, list[str]] = {}
    for v in variants:
        fit = fitted_variant(s, rnn_data, v, opts, refresh=refresh, log=log)
        log(f"{v}: {'loaded from cache' if fit['cached'] else 'trained'} (dev {fit['info']['dev_accuracy']:.4f})")
        correct[v] = (fit["model"].logits(test.texts).numpy() > 0).astype(int) == test.labels
        if v in _USES_MODIFIERS:
            words[v] = [m["word"] for m in fit["info"]["context"]["modifiers"]]

    def compute_bigram() -> dict:
        m, info = fit_bow(train.texts, train.labels, dev.texts, dev.labels, vocab, bigram=True, seed=seed,
                          max_len=settings["max_len"], truncate=settings["truncate"])
        return {"config": m.config, "weights": m.weights(), "info": {"dev_accuracy": info["dev_accuracy"]}}
    res, _ = cached(s.checksum, "augmented-bigram", s.bigram_key(settings["max_len"]), compute_bigram, refresh, log)
    correct["bigram"] = (BowClassifier.from_parts(res["config"], vocab, res["weights"]).logits(test.texts).numpy() > 0
                         ).astype(int) == test.labels
    correct = {k: v.astype(np.float64) for k, v in correct.items()}
    ref = "bow" if "bow" in correct else "bigram"
    gaps = bootstrap_gap(correct, ref, "rnn", n_boot, seed=0, contrasts=CONTRASTS)
    out = {"data": data, "n": len(test), "rnn": {"accuracy": float(correct["rnn"].mean())},
           "bow": {"accuracy": float(correct[ref].mean())},
           "variants": [{"name": k, "accuracy": float(correct[k].mean()), "gap_recovered": gaps["gaps"][k][0],
                         "gap_ci": gaps["gaps"][k][1], **({"n_modifiers": len(words[k])} if k in words else {})}
                        for k in [*variants, "bigram"]]}
    if HEADLINE in words:
        out["headline"] = {"variant": HEADLINE, "modifiers": words[HEADLINE],
                           "gap_recovered": gaps["gaps"][HEADLINE][0], "gap_ci": gaps["gaps"][HEADLINE][1],
                           "beyond": {k.split("-", 1)[1]: {"value": v[0], "ci": v[1]}
                                      for k, v in gaps["contrasts"].items()}}
    if gaps["gap_too_small"]:
        out["gap_too_small"] = True
    out["rnn_bow_diff"] = {"value": gaps["diff"], "ci": gaps["diff_ci"]}
    return out
