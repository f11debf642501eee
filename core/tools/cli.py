"""Command line: `python -m core <command>` (train, evaluate, predict, bench, train-augmented, compare)."""
# lazy imports: each command imports only what it needs, so `python -m core --help` stays instant.
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.data.loaders import NAMED_HELP, DataError

TOP_HELP = ("K: at most this many of the RNN's confirmed modifiers (strongest first), whose measured strength and "
            "timescale the model uses (default: all its modifier analysis lists, at most 30)")
EPOCHS_HELP = ("rounds of the learned variants: one epoch of Adam on alpha, tau and the position terms, then a "
               "refit of beta (logistic regression); the round with the lowest dev log-loss is kept")
NEUTRAL_HELP = ("neutral input x* of fixed points and neutral steps: 'quiet' (mean embedding of the frequent words "
                "that move the state least), 'zero' (paper B), 'mean' (mean embedding of the 1,000 most frequent "
                "words), or a filler word; default: the model's config, else 'quiet'")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", default=None, help="folder holding the named datasets (default ../shared/datasets)")
    p.add_argument("--text-col", default=None, help="text column of a CSV/TSV/JSONL file (auto-detected)")
    p.add_argument("--label-col", default=None, help="label column of a CSV/TSV/JSONL file (auto-detected)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core", description="Reverse-engineering sentiment RNNs.")
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train an RNN or a bag-of-words model into models/<name>/")
    t.add_argument("--name", required=True)
    t.add_argument("--data", required=True, help=f"training data: {NAMED_HELP}, or a path")
    t.add_argument("--test-data", default=None, help="test set evaluated once at the end and recorded")
    t.add_argument("--arch", default="gru", choices=["gru", "lstm", "ugrnn", "vanilla", "bow", "bigram"])
    t.add_argument("--data-root", default=None)
    t.add_argument("--out-dir", default=None, help="parent folder of the model (default models/)")
    t.add_argument("--embed-dim", type=int, default=64)
    t.add_argument("--hidden-size", type=int, default=128)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--dropout", type=float, default=0.0, help="dropout on the embeddings")
    t.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (0: off)")
    t.add_argument("--max-len", type=int, default=None, help="truncate texts to this many tokens")
    t.add_argument("--truncate", choices=["head", "tail"], default="head", help="keep the first or the last tokens")
    t.add_argument("--min-count", type=int, default=2)
    t.add_argument("--max-vocab", type=int, default=20000)
    t.add_argument("--vocab-from", default=None, help="reuse this model's vocabulary (BoW next to its RNN)")
    t.add_argument("--dev-fraction", type=float, default=0.1)
    t.add_argument("--dev-data", default=None, help="an official dev set for early stopping (train on all of --data)")
    t.add_argument("--init-from", default=None, help="start from this RNN's weights (shared words' embeddings)")
    t.add_argument("--init-from-lm", default=None, help="start from a pretrained language model (runs/<name>/lm.pt "
                                                        "of `pretrain`): its embedding and cell, the same vocabulary")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    t.add_argument("--resume", action="store_true", help="continue from runs/<name>/checkpoint.pt")
    t.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu",
                   help="train on the CPU, on a CUDA GPU (an error where there is none), or on a GPU if there is one")
    t.add_argument("--path", choices=["auto", "fused", "step"], default="auto",
                   help="the cell's fused batched layers or its step function F (same equations); auto takes the "
                        "faster for this cell and device (both are recorded in metrics.json)")
    t.add_argument("--neutral", default=None, help="the analyses' default neutral input for this model (recorded in config.json)")
    t.add_argument("--neutral-insert", type=int, default=0,
                   help="insert 0..N zero inputs at random positions inside each training text, so that x* = 0 "
                        "is neutral by construction (use with --neutral zero)")

    e = sub.add_parser("evaluate", help="accuracy of a model on a dataset")
    e.add_argument("model")
    e.add_argument("--data", required=True, help=f"{NAMED_HELP}, or a path")
    e.add_argument("--json", action="store_true")
    _add_data_args(e)

    p = sub.add_parser("predict", help="P(positive) of a text, or of every text in a file")
    p.add_argument("model")
    p.add_argument("text", nargs="?", default=None)
    p.add_argument("--input", default=None, help="JSONL/CSV/TSV file with a text column (id kept when present)")
    p.add_argument("--output", default=None, help="JSONL file to write (id, p_pos)")
    p.add_argument("--text-col", default=None)
    p.add_argument("--json", action="store_true")

    a = sub.add_parser("analyze", help="fixed points, Jacobians, eigenmodes, line attractor (cached)")
    a.add_argument("model")
    a.add_argument("--data", default=None, help="texts whose visited states seed the search (default: training data)")
    a.add_argument("--data-root", default=None)
    a.add_argument("--n-seeds", type=int, default=1000)
    a.add_argument("--n-texts", type=int, default=500)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--refresh", action="store_true", help="recompute even if cached")
    a.add_argument("--neutral", default=None, help=NEUTRAL_HELP)
    a.add_argument("--json", action="store_true")

    def context_parser(name: str, help: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help)
        c.add_argument("model")
        c.add_argument("--data", default=None, help="texts seeding the fixed-point search (default: training data)")
        c.add_argument("--data-root", default=None)
        c.add_argument("--n-seeds", type=int, default=1000)
        c.add_argument("--neutral", default=None, help=NEUTRAL_HELP)
        c.add_argument("--json", action="store_true")
        return c

    ph = context_parser("phrase", "per-token valence, modulation, deflection and modes of a text")
    ph.add_argument("text")
    ph.add_argument("--ablate-after", type=int, default=None, help="token index after which to remove modes")
    ph.add_argument("--fast", action="store_true", help="skip the exact v_relax check (the slow part)")
    ph.add_argument("--modes", default=None,
                    help="mode indices to remove, comma-separated (0 = slowest), or 'excited': the modes that token excites")
    _add_start_args(ph)
    pa = context_parser("pair", "two phrases read from one start, aligned token by token: B's change in valence "
                                "and in P(positive) against A")
    pa.add_argument("--a", required=True, help="phrase A")
    pa.add_argument("--b", required=True, help="phrase B (e.g. A with one word changed)")
    pa.add_argument("--fast", action="store_true", help="skip the exact v_relax check (the slow part)")
    _add_start_args(pa)
    mo = context_parser("modifiers", "find the words that modify later words: strength, timescale, subspace")
    mo.add_argument("--top", type=int, default=30)
    mo.add_argument("--words", default=None, help="comma-separated words to analyse instead of screening")
    mo.add_argument("--K", type=int, default=20, help="curve length M(1..K)")
    mo.add_argument("--frequent", type=int, default=5000, help="rank only the N most frequent words (0: all)")
    mo.add_argument("--screen", action="store_true",
                    help="also list every screened word (v0, valence-free statistic, its null band, class, whether "
                         "the exact measurement confirmed it, frequency rank): `screen_words` with --json")
    va = context_parser("validity", "agreement of the linearised valence v with the exact v_relax on real text")
    va.add_argument("--on", required=True, help="dataset whose texts to use (name or path)")
    va.add_argument("--max-tokens", type=int, default=4000)
    po = context_parser("position", "beginning- and end-of-document effects")
    po.add_argument("--length", type=int, default=None,
                    help="positions of both curves (default: matched to the data's median document, 10..250)")
    po.add_argument("--word", default=None, help="also place this word at each position 1..length of neutral "
                                                 "inputs and report what it leaves in the final readout")
    po.add_argument("--refresh", action="store_true", help="recompute even if cached")

    sh = sub.add_parser("ship", help="store a model's default analyses in models/<name>/analyses/ (pages open "
                        "instantly and need no dataset)")
    sh.add_argument("models", nargs="+")
    sh.add_argument("--compare", default=None, help="comma-separated test sets to ship BoW comparisons on")
    sh.add_argument("--sweep", default=None, help="comma-separated numbers of modifiers K for the K sweep")
    sh.add_argument("--data-root", default=None)

    b = sub.add_parser("bench", help="benchmarks that print figures")
    b.add_argument("what", choices=["train", "fixed-points", "context", "app"])
    b.add_argument("model", nargs="?", default=None,
                   help="model to benchmark (train default: a 20k-word GRU; context: imdb-gru; app: toy-gru)")
    b.add_argument("--n-seeds", type=int, default=1000)
    b.add_argument("--adam-lr", type=float, default=1e-2)
    b.add_argument("--adam-cap", type=float, default=600.0, help="give Adam at most this many seconds")
    b.add_argument("--seq-len", type=int, default=200)
    b.add_argument("--arch", default="all", choices=["all", "gru", "lstm", "ugrnn", "vanilla"],
                   help="train benchmark without a model: these cells (embedding and hidden size 128)")
    b.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="train benchmark: the device")
    b.add_argument("--batch-size", type=int, default=64)
    b.add_argument("--steps", type=int, default=5)
    b.add_argument("--json", action="store_true")

    ag = sub.add_parser("train-augmented", help="train a context-augmented bag-of-words next to an RNN (models/<name>/)")
    ag.add_argument("--rnn", required=True, help="the RNN whose vocabulary, data split, modifiers and position effects are used")
    ag.add_argument("--name", required=True)
    ag.add_argument("--variant", default="full", choices=["bow", "mod_fixed", "mod_learned", "position", "full",
                                                          "valence_only", "shuffled"])   # VARIANTS, not imported here
    ag.add_argument("--top-modifiers", type=int, default=None, help=TOP_HELP)
    ag.add_argument("--epochs", type=int, default=4, help=EPOCHS_HELP)
    ag.add_argument("--batch-size", type=int, default=256)
    ag.add_argument("--context-lr", type=float, default=1e-2, help="Adam learning rate of alpha, tau and the position terms")
    ag.add_argument("--patience", type=int, default=2, help="stop after this many rounds without a lower dev log-loss")
    ag.add_argument("--test-data", default=None, help="test set (default: the RNN's)")
    ag.add_argument("--data-root", default=None)
    ag.add_argument("--out-dir", default=None, help="parent folder of the model (default models/)")
    ag.add_argument("--n-seeds", type=int, default=1000, help="fixed-point seeds of the RNN analyses")
    ag.add_argument("--neutral", default=None, help=NEUTRAL_HELP)
    ag.add_argument("--refresh", action="store_true", help="fit again even if this fit is in the disk cache")

    cp = sub.add_parser("compare", help="RNN vs bag-of-words vs context-augmented BoW variants on one test set")
    cp.add_argument("--rnn", required=True)
    cp.add_argument("--data", required=True, help=f"test set: {NAMED_HELP}, or a path")
    cp.add_argument("--top-modifiers", type=int, default=None, help=TOP_HELP)
    cp.add_argument("--epochs", type=int, default=4, help=EPOCHS_HELP)
    cp.add_argument("--batch-size", type=int, default=256)
    cp.add_argument("--variants", default=None, help="comma-separated subset of bow,mod_fixed,mod_learned,position,full,valence_only,"
                    "shuffled (the last two: mod_fixed's controls)")
    cp.add_argument("--data-root", default=None)
    cp.add_argument("--refresh", action="store_true", help="retrain even if cached")
    cp.add_argument("--json", action="store_true")

    er = sub.add_parser("errors", help="where an RNN and its bag-of-words models go wrong: accuracy, error rates "
                        "by mechanism slice (negator, intensifier, contrast, long, strong start/end), disagreements")
    er.add_argument("model", help="the RNN")
    er.add_argument("--data", required=True, help=f"labelled texts: {NAMED_HELP}, or a path")
    er.add_argument("--bow", default=None, help="plain bag-of-words to compare (default: the RNN's pairing; 'none': leave out)")
    er.add_argument("--aug", default=None, help="context-augmented BoW to compare (default: the RNN's pairing; 'none': leave out)")
    er.add_argument("--limit", type=int, default=None, help="only the first N texts")
    er.add_argument("--data-root", default=None)
    er.add_argument("--json", action="store_true", help="the result without its per-text rows")

    cl = sub.add_parser("claims", help="the papers' claims on one RNN, from its stored analyses: the figure measured, "
                        "its interval and a verdict (reproduced, partly, contradicted, does not apply, not measured) "
                        "by a stated rule")
    cl.add_argument("model", help="the RNN")
    cl.add_argument("--neutral", default=None, help=NEUTRAL_HELP)
    cl.add_argument("--n-seeds", type=int, default=1000, help="fixed-point seeds of the stored analyses to read "
                    "(default 1000, as shipped)")
    cl.add_argument("--rules", action="store_true", help="also print each verdict's rule")
    cl.add_argument("--json", action="store_true", help="the ledger: a list of {claim, paper, measured, interval, "
                    "verdict, rule, why, source, ...}")
    from core.tools.importer import add_parser as add_import_parser
    from core.experiments.sweep import add_parser as add_sweep_parser
    from core.experiments.pretrain import add_parser as add_pretrain_parser
    from core.tools import doctor
    from core.experiments import universality
    from core.tools import results
    from core.tools import report
    add_import_parser(sub)
    universality.add_parser(sub)
    results.add_parser(sub)
    _add_start_args(report.add_parser(sub))
    add_sweep_parser(sub)
    add_pretrain_parser(sub)
    doctor.add_parser(sub)
    return ap


# What each argument names, checked by `preflight` for every command that has it.
EXISTING_MODELS = ("model", "rnn", "vocab_from", "init_from")   # a model folder (name or path)
OPTIONAL_MODELS = ("bow", "aug")                                 # the same, or 'none'
# Datasets a command always reads: present under the data root. Elsewhere (an analysis seeded by --data, a
# comparison, an error analysis, a test set) a cached or shipped result keyed by the dataset's name needs no
# file, so only the name is checked.
NEEDED_DATA = {"train": ("data", "test_data", "dev_data"), "evaluate": ("data",), "pretrain": ("data", "vocab_data")}
NAMED_DATA = ("data", "test_data", "on", "vocab_data")
OUTPUT_FILES = ("output", "out")                                 # files written: their folder must exist


def preflight(args) -> None:
    """Check a command's names, paths and options before it loads data or fits anything (so a typo costs
    nothing and leaves nothing behind): models exist, new model names are plain names, datasets are known and
    (where the command reads them) present, input files exist, output files go into existing folders, an
    --out-dir is not a file."""
    from core.data.loaders import check_dataset
    from core.models.store import check_model_name, resolve_model_dir
    if args.command == "bench" and args.model is None:
        return
    for a in EXISTING_MODELS:
        if getattr(args, a, None) is not None:
            resolve_model_dir(getattr(args, a))
    for a in OPTIONAL_MODELS:
        if getattr(args, a, None) not in (None, "none"):
            resolve_model_dir(getattr(args, a))
    for name in args.models if args.command == "ship" else ():
        resolve_model_dir(name)
    if getattr(args, "name", None) is not None:
        check_model_name(args.name)
    root = getattr(args, "data_root", None)
    if args.command != "universality":   # its --data is a label in the models' metrics, not read
        needed = NEEDED_DATA.get(args.command, ())
        for a in dict.fromkeys((*needed, *NAMED_DATA)):
            value = getattr(args, a, None)
            specs = [] if value is None else value.split(",") if args.command == "pretrain" else [value]
            for spec in specs:   # pretrain's --data: a comma-separated list
                check_dataset(spec.strip(), root, need_data=a in needed)
    if getattr(args, "input", None) is not None and not Path(args.input).is_file():
        raise DataError(f"{args.input}: no such file")
    for a in OUTPUT_FILES:
        target = getattr(args, a, None)
        if target is not None:
            if Path(target).is_dir():
                raise ValueError(f"{target} is a folder; name a file to write")
            if not Path(target).resolve().parent.is_dir():
                raise ValueError(f"{target}: the folder {Path(target).resolve().parent} does not exist")
    out_dir = getattr(args, "out_dir", None)
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ValueError(f"--out-dir {out_dir} is a file, not a folder")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from core.models.store import ModelError
    from core.analysis.dynamics import NotApplicable
    try:
        preflight(args)
        return COMMANDS[args.command](args)
    except NotApplicable as e:   # not a failure of the program: the network has no such effect to measure here
        print(f"does not apply: {e}", file=sys.stderr)
        return 3
    except (DataError, ModelError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def cmd_train(args) -> int:
    from core.experiments.train import TrainConfig, train
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k != "command"})
    metrics = train(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps({k: metrics[k] for k in ("name", "dev_accuracy", "test_accuracy", "train_seconds")}))
    return 0


def cmd_evaluate(args) -> int:
    import time
    from core.data.loaders import load_dataset
    from core.models.store import load_model
    model = load_model(args.model)
    ds = load_dataset(args.data, args.data_root, args.text_col, args.label_col)
    if (ds.labels < 0).any():
        raise DataError(f"{args.data} has unlabelled examples: nothing to evaluate against")
    t0 = time.time()
    p = model.predict_proba(ds.texts).numpy()
    pred = (p > 0.5).astype(int)
    acc = float((pred == ds.labels).mean())
    res = {"model": model.name, "kind": model.kind, "data": ds.source, "n": len(ds), "accuracy": acc,
           "n_pos": int(ds.labels.sum()), "predicted_pos_rate": float(pred.mean()),
           "seconds": round(time.time() - t0, 2)}
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{model.name} on {ds.source}: accuracy {acc:.4f} (n = {len(ds)})")
    return 0


def cmd_predict(args) -> int:
    from core.models.store import load_model
    if (args.text is None) == (args.input is None):
        print("error: give either a text or --input FILE", file=sys.stderr)
        return 2
    if args.text is not None:
        from core.data.readers import check_text
        from core.data.text import tokenize
        check_text(args.text, "the text argument")
    model = load_model(args.model)
    if args.text is not None:
        if not tokenize(args.text):
            raise ValueError("the text has no tokens: nothing to classify")
        p = float(model.predict_proba([args.text])[0])
        print(json.dumps({"text": args.text, "p_pos": p}) if args.json else f"{p:.4f}")
        return 0
    from core.data.loaders import read_texts
    texts, ids = read_texts(Path(args.input), args.text_col)
    p = model.predict_proba(texts).tolist()
    lines = "".join(json.dumps({"id": i, "p_pos": q} if i is not None else {"p_pos": q}) + "\n"
                    for i, q in zip(ids, p))
    if args.output:
        from core.storage.io import atomic_write_text
        atomic_write_text(Path(args.output), lines)
        print(f"wrote {len(p)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(lines)
    return 0


def cmd_analyze(args) -> int:
    from tqdm import tqdm
    from core.analysis.dynamics import dynamics
    bar = tqdm(total=args.n_seeds, desc="fixed points (converged seeds)", disable=None)

    def progress(it, done, total):
        bar.n = done
        bar.refresh()

    res = dynamics(_settings(args), refresh=args.refresh, progress=progress, log=lambda m: print(m, file=sys.stderr))
    hit = res["cached"]
    bar.close()
    from core.analysis.dynamics import model_reach_warnings
    from core.models.store import resolve_model_dir
    from core.analysis.attractor import attractor_figures
    from core.models.store import load_model
    s = dict(res["summary"], cached=hit)
    s["warnings"] = s["warnings"] + model_reach_warnings(res, resolve_model_dir(args.model))
    s.update({k: v for k, v in attractor_figures(res, load_model(resolve_model_dir(args.model))).items() if k not in s})
    if args.json:
        print(json.dumps(s))
        return 0
    print(f"{args.model} (neutral input {s['neutral_input']}): {s['n_fixed_points']} fixed points "
          f"({s['n_stable_fixed_points']} stable) from {s['n_converged']}/{s['n_seeds']} converged seeds "
          f"(q_max {s['q_max']:.2e}), {s['n_slow_points']} slow points (q < {s['slow_tolerance']:g})"
          f"{' [cached]' if hit else ''}")
    print(f"  fixed points at readouts {s['readout_range'][0]:.2f} .. {s['readout_range'][1]:.2f}; with slow points "
          f"{s['attractor_readout_range'][0]:.2f} .. {s['attractor_readout_range'][1]:.2f}")
    print(f"  reference point: readout {s['reference_readout']:+.3f}, |lambda_1| = {s['lambda1_reference']:.4f} "
          f"({'stable' if s['reference_stable'] else 'UNSTABLE'})")
    print(f"  attractor: {s['attractor_kind']} ({s['attractor_why']})")
    print(f"  integration mode at the reference: |lambda_1| {s['integration_lambda']:.4f} ({s['integration_kind']}), "
          f"timescale {_tau_text(s['integration_timescale'])} tokens; slowest decaying transient "
          f"{_tau_text(s['slowest_transient_timescale'])} tokens")
    near = s["near_zero_marginal_share"]
    drift_doc = s["reference_drift_per_doc"]
    print(f"  largest readout gap between attractor points: {s['largest_readout_gap']:.2f} logits; points within 1 "
          f"logit of 0: {s['near_zero_points']}" + (f" ({near:.0%} marginally stable)" if near is not None else "")
          + (f"; reference drift over a median document {drift_doc:+.2f} logits" if drift_doc is not None else ""))
    capped = f" ({s['drift_capped_share']:.0%} of points never moved 1 logit in {s['drift_max_steps']} steps)" \
        if s["drift_capped_share"] else ""
    print(f"  drift: {s['drift_tokens_per_logit']:.0f} neutral tokens per logit unit (median document "
          f"{s['median_doc_tokens']:.0f} tokens){capped}")
    print("  slowest stable timescales (tokens): " + ", ".join(_tau_text(t) for t in s["timescales_top"])
          + ("; unstable modes, growth time (tokens): " + ", ".join(f"{g:.0f}" for g in s["unstable_growth_top"])
             if s["unstable_growth_top"] else ""))
    print("  PCA variance explained, visited states: " + ", ".join(f"{v:.1%}" for v in s["pc_variance_explained"])
          + "; fixed points: " + ", ".join(f"{v:.1%}" for v in s["pc_variance_fixed_points"]))
    print(f"  |cos(r_1, attractor PC1)| = {s['attractor_alignment']:.3f}; "
          f"one-step linearization error (median) {s['linearization_error_median']:.1%}; {s['seconds']:.1f} s")
    for w in s["warnings"]:
        print(f"  WARNING: {w}")
    return 0


def _tau_text(tau: float | None) -> str:
    return "inf" if tau is None else f"{tau:.1f}"


def _mode_text(mode: dict) -> str:
    """A mode's time constant: its timescale, or "grows G" for an unstable mode (never "inf")."""
    return f"grows {mode['growth']:.0f}" if mode.get("unstable") else _tau_text(mode["timescale"])


def _settings(args, model: str | None = None):
    """The request's one Settings (core.analysis.settings), from the command's model and analysis flags."""
    from core.analysis.settings import Settings
    return Settings.of(model or args.model, neutral=getattr(args, "neutral", None),
                       n_seeds=getattr(args, "n_seeds", 1000), data=getattr(args, "data", None),
                       data_root=getattr(args, "data_root", None), n_texts=getattr(args, "n_texts", 500),
                       seed=getattr(args, "seed", 0))


def _engine(args):
    from core.analysis.context import engine
    return engine(_settings(args), log=lambda m: print(m, file=sys.stderr))


def _add_start_args(p: argparse.ArgumentParser) -> None:
    """--start-readout / --start-after: where the phrase is read from (core.analysis.start), one or neither."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--start-readout", type=float, default=None, metavar="Y",
                   help="start on the attractor point whose readout is nearest Y (default: the model's initial state)")
    g.add_argument("--start-after", default=None, metavar="TEXT", help="start from the state after reading TEXT")


def _start(args):
    """The Start the --start-* flags name (the default start when neither is given)."""
    from core.analysis.start import Start
    if args.start_readout is not None:
        return Start("readout", args.start_readout)
    return Start("after", args.start_after) if args.start_after is not None else Start()


def cmd_phrase(args) -> int:
    eng = _engine(args)
    try:
        modes = None if not args.modes else "excited" if args.modes == "excited" else \
            [int(m) for m in args.modes.split(",")]
    except ValueError:
        raise ValueError(f"--modes takes comma-separated mode indices or 'excited', not {args.modes!r}") from None
    if (args.ablate_after is None) != (modes is None):
        raise ValueError("--ablate-after and --modes go together")
    res = eng.phrase(args.text, args.ablate_after, modes, exact=not args.fast, start=_start(args))
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"P(positive) = {res['p_pos']:.3f}  (neutral input: {res['neutral_input']})")
    print(f"read from {res['start']['description']} (readout {res['start']['readout']:+.3f})")
    coverage = eng.coverage(res, args.text)   # what P(positive) is, as the Phrase page and the report say it
    if coverage:
        print(coverage)
    for w in res["reference"]["warnings"]:
        print(f"WARNING: {w}")
    print(f"{'#':>3} {'token':<14}{'dy':>8}{'v':>8}{'v_relax':>9}{'v0':>8}{'m':>8}{'defl':>7}  slow modes (tau)")
    for t in res["tokens"]:
        m = "" if t["m"] is None else f"{t['m']:.2f}"
        vr = "" if t["v_relax"] is None else f"{t['v_relax']:.2f}"
        modes_s = ", ".join(f"{x['mode']}({_mode_text(x)})" for x in t["modes"])
        print(f"{t['index']:>3} {t['token'][:13]:<14}{t['dy']:>8.2f}{t['v']:>8.2f}{vr:>9}{t['v0']:>8.2f}"
              f"{m:>8}{t['deflection']:>7.2f}  {modes_s}")
    if "ablation" in res:
        a = res["ablation"]
        print(f"ablating modes {a['modes']} after token {a['after']}: P(positive) {res['p_pos']:.3f} -> {a['p_pos']:.3f}")
    return 0


def cmd_pair(args) -> int:
    from core.analysis.pair import compare_phrases
    res = compare_phrases(_engine(args), args.a, args.b, start=_start(args), exact=not args.fast)
    if args.json:
        print(json.dumps(res))
        return 0
    p, y = res["p_pos"], res["logit"]
    print(f"P(positive): A {p['a']:.3f}, B {p['b']:.3f}, B - A {p['diff']:+.3f} (logit {y['diff']:+.3f}); "
          f"{res['n_changed']} aligned tokens changed; read from {res['start']['description']}")
    print(f"{'#':>3} {'op':<8}{'A':<14}{'B':<14}{'v A':>8}{'v B':>8}{'dv':>8}{'dv_relax':>10}")
    def num(v: float | None, w: int) -> str:
        return " " * w if v is None else f"{v:>{w}.2f}"

    for r in res["alignment"]:
        print(f"{r['position']:>3} {r['op']:<8}{(r['token_a'] or '')[:13]:<14}{(r['token_b'] or '')[:13]:<14}"
              f"{num(r['v_a'], 8)}{num(r['v_b'], 8)}{num(r['dv'], 8)}{num(r['dv_relax'], 10)}")
    return 0


def cmd_modifiers(args) -> int:
    from core.analysis.api import modifiers
    from core.analysis.modifiers import fitted_timescale, weak_effect_warnings
    words = [w.strip() for w in args.words.split(",") if w.strip()] if args.words else None
    res = modifiers(_settings(args), top=args.top, words=words, K=args.K, frequent=args.frequent or None,
                    log=lambda m: print(m, file=sys.stderr))
    sc = res["screen"]
    rows = sc.pop("words", [])
    if args.screen:
        res["screen_words"] = rows
    if args.json:
        print(json.dumps(res))
        return 0
    rho_v = sc.get("v0_statistic_spearman")
    print(f"screened {sc['n_words']} words ({sc['screen_states']} states, linear): {sc['flagged']} flagged against "
          f"their matched null; {sc['measured_exact']} measured on the network ({sc['n_states']} states, "
          f"{sc['states']}), {sc['confirmed']} confirmed: " + ", ".join(f"{k} {v}" for k, v in sc["counts"].items())
          + ("" if not sc.get("not_measured") else f"; {sc['flagged'] - sc['measured_exact']} flagged words not measured")
          + f"; rank correlation of v0 with the statistic {'n/a' if rho_v is None else f'{rho_v:+.2f}'}")
    print(f"{'word':<14}{'class':<12}{'M(1)':>7}{'95% CI':>16}{'null':>7}{'linear':>8}{'tau':>7}{'R2':>6}"
          f"{'curve err':>10}{'real text':>10}{'base':>6}")
    for m in res["modifiers"]:
        lo, hi = m["strength_ci"]
        agree = "" if m["real_text_agreement"] is None else f"{m['real_text_agreement']:.0%}"
        base = "" if m.get("real_text_base_rate") is None else f"{m['real_text_base_rate']:.0%}"
        tau = "-" if fitted_timescale(m) is None else f"{m['timescale']:.2f}"
        null = "" if m.get("null_median") is None else f"{m['null_median']:.2f}"
        print(f"{m['word'][:13]:<14}{m['class']:<12}{m['strength'] + 1:>7.2f}{f'[{lo + 1:.2f}, {hi + 1:.2f}]':>16}"
              f"{null:>7}{m['strength_linear'] + 1:>8.2f}{tau:>7} {m['fit_r2']:>5.2f}{m['curve_error']:>10.2f}"
              f"{agree:>10}{base:>6}")
    if args.screen:
        print(f"{'word':<14}{'v0':>8}{'statistic':>10}{'null band':>18}  class (screen)  confirmed  rank")
        for r in rows:
            lo, hi = r["null_band"]
            print(f"{r['word'][:13]:<14}{r['v0']:>8.3f}{r['statistic']:>10.3f}{f'[{lo:.2f}, {hi:.2f}]':>18}  "
                  f"{r['class']} ({r['screen_class']})  {r['confirmed_exact']}  {r['frequency']}")
    if not res["modifiers"]:
        print("no word modulates later words beyond ordinary words of its own valence, on the network itself")
    elif any(fitted_timescale(m) is None for m in res["modifiers"]):
        print("tau -: the curve M(k) does not decay like an exponential (R2 under 0.5), so it has no timescale")
    print(f"({res['n_probe']} probe words, neutral input {res['neutral_input']}, {res['seconds']:.1f} s; "
          f"M(1) and its interval across starting states, null: the median of ordinary words of the same valence and "
          f"frequency; curve err: RMS distance of M(k) from the curve its modes predict; base: the real-text check on "
          f"ordinary words of the same frequency; real text: {res.get('agreement_data') or 'not available'})")
    for w in res["reference"]["warnings"] + ([] if words else weak_effect_warnings(res)):
        print(f"WARNING: {w}")
    return 0


def cmd_validity(args) -> int:
    from core.analysis.context import validity
    from core.data.loaders import load_dataset
    eng = _engine(args)
    res = dict(validity(eng, load_dataset(args.on, args.data_root).texts, args.max_tokens), data=args.on)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"v vs v_relax over {res['n_tokens']} tokens of {args.on}: Pearson r {res['pearson_r']:.3f}; "
              f"on {res['n_valenced']} valenced tokens: sign agreement {res['sign_agreement'] or float('nan'):.1%}, "
              f"median relative error {res['median_relative_error'] or float('nan'):.1%} "
              f"(K = {res['relax_steps']} neutral steps, neutral input {res['neutral_input']})")
        print(f"linearization error (median), relative to the step it predicts: "
              f"{res['linearization_error_step_median']:.1%}; relative to the state's size (as `analyze` reports "
              f"it): {res['linearization_error_state_median']:.1%}")
        need = res["relax_steps_needed"]
        if need is not None:
            print(f"K = {res['relax_steps']} against the slowest decaying transient, "
                  f"{res['slowest_transient_timescale']:.0f} tokens: transients need {need} steps to fade"
                  + ("" if res["relax_steps"] >= need else
                     "; K is shorter (it is capped at a fifth of the drift time, so the attractor's own drift does "
                     "not swamp the token, and at 1,000 steps), so v_relax still holds part of the transient"))
    return 0


def cmd_position(args) -> int:
    from core.analysis.api import position
    from core.analysis.position import describe_fit, position_header, word_at_positions
    s = _settings(args)
    res = position(s, length=args.length, refresh=args.refresh, log=lambda m: print(m, file=sys.stderr))
    if args.word is not None:
        from core.analysis.context import engine
        eng = engine(s)
        res["probe"] = word_at_positions(eng, args.word, args.length or res["window"])
    if args.json:
        print(json.dumps(res))
        return 0
    if "probe" in res:
        pr = res["probe"]
        print(f"probe {pr['word']!r} (v0 {pr['v0']:+.3f}) alone in {pr['length']} neutral inputs, effect on the final "
              "readout by position: " + " ".join(f"{e:+.2f}" for e in pr["effect"][:10]) + " ...")
    print(position_header(res))
    for side in ("begin", "end"):
        r = res[side]
        print(f"{side}: {describe_fit(r)}; curve " + " ".join(f"{v:.2f}" for v in r["curve"][:10]) + " ...")
    return 0


def cmd_bench(args) -> int:
    if args.what == "app":
        from core.tools.bench import bench_app
        res = bench_app(args.model or "toy-gru", log=lambda m: print(m, file=sys.stderr, flush=True))
        if args.json:
            print(json.dumps(res))
        else:
            fr = res["first_render_seconds"]
            print(f"{res['model']} in {res['browser']} ({res['device']}; a fresh server, cache dir and empty data root "
                  f"per page; server ready in {res['server_ready_seconds']:.1f} s):")
            print("  first render: " + ", ".join(f"{k} {v:.1f} s" for k, v in fr.items() if k != "max")
                  + f"; max {fr['max']:.1f} s ({res['slowest_page']})")
            ns = res["new_session_seconds"]
            print("  new session on a warm server: " + ", ".join(f"{k} {v:.1f} s" for k, v in ns.items() if k != "max")
                  + f"; max {ns['max']:.1f} s")
            print(f"  Phrase update, commit to every chart drawn again: median {res['update_seconds']:.2f} s over "
                  f"{res['edits']} edits (table {res['update_table_seconds']:.2f} s; app idle after "
                  f"{res['update_idle_seconds']:.2f} s)")
            for page, errs in res["page_errors"].items():
                print(f"  ERROR on {page}: " + " | ".join(e.splitlines()[0] for e in errs))
        return 0
    if args.what == "context":
        from core.tools.bench import bench_context
        res = bench_context(_settings(args, args.model or "imdb-gru"))
        if args.json:
            print(json.dumps(res))
        else:
            print(f"{res['model']}: per-token analysis of a 100-token text {res['phrase_ms_median']:.1f} ms (median of 20; "
                  f"{res['phrase_exact_ms_median']:.0f} ms with the exact v_relax over {res['relax_steps']} steps); "
                  f"modifier screen of {res['vocab_size']} words {res['screen_seconds']:.1f} s; peak memory {res['peak_mb']:.0f} MB")
        return 0
    if args.what == "fixed-points":
        if not args.model:
            print("error: bench fixed-points needs a MODEL", file=sys.stderr)
            return 2
        from core.tools.bench import bench_fixed_points
        res = bench_fixed_points(_settings(args), adam_lr=args.adam_lr, adam_cap_s=args.adam_cap,
                                 log=lambda m: print(m, file=sys.stderr))
        if args.json:
            print(json.dumps(res))
        else:
            print(f"{res['model']}, {res['n_seeds']} seeds, q < {res['tolerance']:g}:")
            print(f"  this project's solver: {res['ours_seconds']:.1f} s, {res['ours_converged']:.1%} converged")
            print(f"  plain Adam (lr {res['adam_lr']:g}): {res['adam_seconds']:.1f} s, {res['adam_converged']:.1%} "
                  f"converged{'' if res['adam_reached_our_share'] else ' (stopped at the time cap)'}")
            print(f"  speedup {'' if res['adam_reached_our_share'] else 'at least '}{res['speedup']:.1f}x")
        return 0
    from core.tools.bench import bench_train
    archs = [None] if args.model else (["gru", "lstm", "ugrnn", "vanilla"] if args.arch == "all" else [args.arch])
    results = []
    for arch in archs:
        res = bench_train(args.model, args.seq_len, args.batch_size, args.steps, args.device, arch or "gru")
        results.append(res)
        if not args.json:
            print(f"{res['arch']} on {res['device']}: fused {res['fast_tokens_per_s']:.0f} tokens/s, step function "
                  f"{res['step_tokens_per_s']:.0f} tokens/s, ratio {res['ratio']:.2f}x; --path auto takes "
                  f"{res['auto_path']} (hidden {res['hidden_size']}, batch {res['batch_size']} x {res['seq_len']} "
                  f"tokens, {res['threads']} threads)", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


def cmd_ship(args) -> int:
    from core.experiments.ship import ship
    for m in args.models:
        files = ship(m, args.data_root, log=lambda msg: print(msg, file=sys.stderr, flush=True),
                     compare_on=[d.strip() for d in args.compare.split(",")] if args.compare else None,
                     sweep=[int(k) for k in args.sweep.split(",")] if args.sweep else None)
        size = sum(Path(f).stat().st_size for f in files)
        print(f"{m}: {len(files)} analyses, {size / 1e6:.1f} MB: {', '.join(Path(f).name for f in files)}")
    return 0


def cmd_universality(args) -> int:
    from core.experiments import universality
    return universality.run(args)


def cmd_doctor(args) -> int:
    from core.tools import doctor
    return doctor.run(args)


def cmd_results(args) -> int:
    from core.tools import results
    return results.run(args)


def cmd_report(args) -> int:
    from core.tools import report
    return report.run(args, _start(args))


def cmd_sweep(args) -> int:
    from core.experiments.sweep import run
    return run(args)


def cmd_import(args) -> int:
    from core.tools.importer import run
    return run(args)


def cmd_pretrain(args) -> int:
    from core.experiments.pretrain import PretrainConfig, pretrain
    cfg = PretrainConfig(**{k: v for k, v in vars(args).items() if k not in ("command", "json")})
    metrics = pretrain(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(metrics) if args.json else
          f"{cfg.name}: {metrics['epochs_done']} epoch(s), held-out perplexity "
          f"{metrics['history'][-1]['dev_perplexity'] if metrics['history'] else 'not measured yet'}"
          + ("" if metrics["finished"] else " (stopped: --resume goes on)"))
    return 0


def cmd_train_augmented(args) -> int:
    from core.experiments.augmented_fit import TOP_MODIFIERS, AugConfig, train_augmented
    top = TOP_MODIFIERS if args.top_modifiers is None else args.top_modifiers
    cfg = AugConfig(rnn=args.rnn, name=args.name, variant=args.variant, top_modifiers=top,
                    epochs=args.epochs, batch_size=args.batch_size, context_lr=args.context_lr,
                    patience=args.patience, test_data=args.test_data, data_root=args.data_root,
                    out_dir=args.out_dir, n_seeds=args.n_seeds, neutral=args.neutral, refresh=args.refresh)
    metrics = train_augmented(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps({k: metrics[k] for k in ("name", "variant", "dev_accuracy", "test_accuracy", "train_seconds")}))
    return 0


def cmd_compare(args) -> int:
    from core.analysis.settings import Settings
    from core.experiments.augmented_fit import TOP_MODIFIERS, FitOptions
    from core.experiments.compare import compare
    from core.models.augmented import VARIANTS
    variants = VARIANTS
    if args.variants:
        variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
        bad = [v for v in variants if v not in VARIANTS]
        if bad:
            raise ValueError(f"unknown variant(s) {', '.join(bad)}; choose from {', '.join(VARIANTS)}")
        if "bow" not in variants:
            variants = ("bow", *variants)
    top = TOP_MODIFIERS if args.top_modifiers is None else args.top_modifiers
    from core.data.dataset import DataError
    from core.experiments.compare import comparisons
    s = Settings.of(args.rnn, data_root=args.data_root)
    try:
        res = compare(s, args.data, FitOptions(top=top, epochs=args.epochs, batch_size=args.batch_size),
                      variants=variants, refresh=args.refresh,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    except DataError:
        # No data to measure with this engine: an earlier engine's stored comparison of the same request, said so.
        older = [c for c in comparisons(args.rnn) if c["data"] == args.data and c["settings"].get("top") == top
                 and set(variants) <= {v["name"] for v in c["variants"]}]
        if args.refresh or not older:
            raise
        res = dict(older[0])
        res["measured_with"] = {k: res["settings"].get(k) for k in ("solver", "modifiers")}
        print(f"NOTE: no comparison measured with this engine is stored and {args.data} is not on this machine: this "
              f"one was measured with an earlier engine (solver {res['measured_with']['solver']}, modifier analysis "
              f"{res['measured_with']['modifiers']})", file=sys.stderr)
    diff = res.pop("rnn_bow_diff")
    for k in ("cached", "settings", "rnn_checksum", "rnn_name"):
        res.pop(k, None)
    if args.json:
        print(json.dumps(res))
        return 0
    pct = lambda x: "   nan" if x != x else f"{x:6.1%}"
    print(f"{args.rnn} on {res['data']} (n = {res['n']}): RNN {res['rnn']['accuracy']:.2%}, BoW {res['bow']['accuracy']:.2%}; "
          f"gap {diff['value']:+.2%} (95% CI {diff['ci'][0]:+.2%} .. {diff['ci'][1]:+.2%})")
    if res.get("gap_too_small"):
        print("  NOTE: the RNN-BoW gap is within its own bootstrap interval: the gap recovered below is not meaningful")
    print(f"{'model':<13}{'accuracy':>9}{'gap recovered':>15}  95% CI")
    for v in res["variants"]:
        lo, hi = v["gap_ci"]
        print(f"{v['name']:<13}{v['accuracy']:>9.2%}{pct(v['gap_recovered']):>15}  [{pct(lo).strip()}, {pct(hi).strip()}]")
    head = res.get("headline")
    if head and not head["modifiers"]:
        print("headline: no confirmed modifier, so the modifier variants are the bag-of-words")
    elif head:
        print(f"headline{' (not meaningful: no gap to recover)' if res.get('gap_too_small') else ''}: the "
              f"{len(head['modifiers'])} confirmed modifiers as measured ({head['variant']}) recover "
              f"{pct(head['gap_recovered']).strip()} of the gap"
              + "".join(f"; {pct(b['value']).strip()} [{pct(b['ci'][0]).strip()}, {pct(b['ci'][1]).strip()}] more "
                        f"than {name}" for name, b in head["beyond"].items()))
    return 0


def cmd_claims(args) -> int:
    from core.experiments.claims import ledger, table
    s = _settings(args)
    res = ledger(s, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(res) if args.json else table(res, s.name, s.neutral, rules=args.rules))
    return 0


def cmd_errors(args) -> int:
    from tqdm import tqdm
    from core.analysis.error_analysis import error_analysis
    bar = tqdm(total=100, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}", disable=None)

    def progress(fraction: float, message: str) -> None:
        bar.set_description_str(message, refresh=False)
        bar.n = round(100 * fraction, 1)
        bar.refresh()

    res = error_analysis(args.model, args.data, bow=args.bow, aug=args.aug, data_root=args.data_root,
                         limit=args.limit, progress=progress)
    bar.close()
    res.pop("rows")
    if args.json:
        print(json.dumps(res))
        return 0
    names = [m["name"] for m in res["models"]]
    window = "whole text" if res["window"] is None else f"{res['window']} tokens"
    print(f"{names[0]} on {res['data']} (n = {res['n']}; the RNN's window: {window})")
    print(f"{'model':<16}{'role':<6}{'accuracy':>9}  95% CI")
    for m in res["models"]:
        lo, hi = m["accuracy_ci"]
        print(f"{m['name']:<16}{m['role']:<6}{m['accuracy']:>9.2%}  [{lo:.2%}, {hi:.2%}]")
    print(f"\n{'error rate':<14}{'n':>7}" + "".join(f"{n[:13]:>14}" for n in names))
    for s in res["slices"]:
        print(f"{s['name']:<14}{s['n']:>7}" + "".join(
            f"{'-' if s['error_rates'][n] is None else format(s['error_rates'][n], '.2%'):>14}" for n in names))
    if len(names) > 1:
        print(f"\ndisagreements ({names[0]} vs {names[1]}): {res['disagreements']} of {res['n']}")
    words = res["valence_words"]
    print(f"strong valence words (by |v0|): {', '.join(words[:15])}{', ...' if len(words) > 15 else ''}")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "analyze": cmd_analyze,
            "phrase": cmd_phrase, "pair": cmd_pair, "modifiers": cmd_modifiers, "position": cmd_position, "validity": cmd_validity, "bench": cmd_bench,
            "train-augmented": cmd_train_augmented, "pretrain": cmd_pretrain, "ship": cmd_ship, "import": cmd_import, "sweep": cmd_sweep, "doctor": cmd_doctor, "universality": cmd_universality, "results": cmd_results, "report": cmd_report, "compare": cmd_compare,
            "errors": cmd_errors, "claims": cmd_claims}
