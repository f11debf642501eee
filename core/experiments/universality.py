"""Architectures side by side (paper B's universality question): every RNN trained on one dataset, one row
each, from stored analyses only (local cache or each model's shipped `analyses/`; nothing is computed).

Only the standard library is imported at module level, so that `python -m core` builds its parser fast.

A row: accuracy, fixed and slow points, readout range, reference point and its stability, slowest timescales,
drift, the strongest modifiers, which known negators and intensifiers the modifier screen lists, the position
curves' fits in logits (or "flat" within noise), the share of the RNN-BoW gap the augmented bag-of-words
recovers (when a comparison is stored), and warnings where an analysis does not apply as it does to a line
attractor. A model fine-tuned from another or trained with inserted zero inputs is included, marked as a
`variant`; one without stored analyses is listed with what is missing.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from core.analysis.api import modifiers, position, stored_dynamics
from core.analysis.attractor import attractor_figures
from core.analysis.dynamics import model_reach_warnings
from core.analysis.settings import Settings
from core.analysis.views import dynamics_view
from core.analysis.modifiers import fitted_timescale, measured_modifiers, weak_effect_warnings
from core.analysis.modulation import KNOWN_MODIFIERS as KNOWN
from core.experiments.compare import comparisons
from core.experiments.augmented_fit import TOP_MODIFIERS
from core.models.augmented import CONTROLS
from core.models.rnn import ARCHS
from core.experiments.seeds import accuracy_spread, pretrained_from, seed_groups, spread_text
from core.models.store import MODELS_DIR, list_models, load_model, read_json

MARGINAL = 0.99     # |lambda| above this at the reference: a timescale over 100 tokens
V0_MISS = 100.0     # |one-step effect / v0| above this: v0 misses a word's effect on the readout by orders of magnitude
N_TOP = 5           # modifiers per row
DEFAULT_DATA = "sst2:train"


def variant(metrics: dict) -> str | None:
    """How a model departs from plain training on its dataset: fine-tuned from another model, zero inputs
    inserted into its training texts; None when it does not."""
    st = metrics.get("settings") or {}
    lm = metrics.get("pretrained")
    lm_settings = (lm or {}).get("settings") or {}
    lm_data = " + ".join(f"{d} (training split)" if i else d for i, d in enumerate(
        x for x in (lm_settings.get("data"), lm_settings.get("vocab_data")) if x))
    ppl = ((lm or {}).get("history") or [{}])[-1].get("dev_perplexity")
    epochs = (lm or {}).get("epochs_done", "?")
    parts = ([f"fine-tuned from the language model {lm.get('name', '?')} ({epochs} epoch{'' if epochs == 1 else 's'} on "
              f"{lm_data or '?'}, held-out perplexity {'?' if ppl is None else format(ppl, '.1f')})"]
             if lm else []) + \
        ([f"fine-tuned from {st['init_from']}"] if st.get("init_from") else []) + \
        ([f"0-{st['neutral_insert']} zero inputs inserted per text"] if st.get("neutral_insert") else [])
    return ", ".join(parts) or None


def candidates(data: str = DEFAULT_DATA, names: list[str] | None = None,
               models_dir: Path | str | None = None) -> list[dict]:
    """The RNNs of models_dir (default: the project's models/) trained on `data` (or the named ones, in that
    order), plain models by architecture (gru, lstm, ugrnn, vanilla) first, then variants. A network trained in
    several seeds (core.experiments.seeds) is one row, its base model's, carrying "seeds": the accuracy spread; the
    other seeds are read with `seed_view`."""
    models_dir = models_dir or MODELS_DIR
    listed = list_models(Path(models_dir))
    groups = seed_groups(listed)
    spread = {base: accuracy_spread(group) for base, group in groups.items()}
    siblings = {m["name"] for group in groups.values() for m in group[1:]}
    rnns = [{**m, "seeds": spread.get(m["name"])} for m in listed if m["kind"] == "rnn"]
    if names:
        by_name = {m["name"]: m for m in rnns}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"no RNN {', '.join(unknown)} in {models_dir}")
        return [by_name[n] for n in names]
    order = {a: i for i, a in enumerate(ARCHS)}

    def key(m: dict) -> tuple:
        met = Path(m["path"]) / "metrics.json"
        is_variant = met.exists() and variant(read_json(met)) is not None
        return is_variant, order.get(m["arch"], len(order)), m["name"]

    return sorted((m for m in rnns if m["dataset"] == data and m["name"] not in siblings), key=key)


def _known(mods: dict) -> dict[str, dict[str, dict | None]]:
    """Each known negator and intensifier as the stored modifier analysis found it: a confirmed modifier (class,
    strength, timescale where listed with its curve; a confirmed word beyond the listed ones from `known_words`,
    without a timescale), or None (not confirmed against ordinary words of its valence at this network)."""
    found = {k["word"]: {"class": k["class"], "strength": k["m1"] - 1, "timescale": None}
             for k in mods.get("known_words") or [] if k["class"] != "none"}
    found.update({m["word"]: {"class": m["class"], "strength": m["strength"], "timescale": fitted_timescale(m)}
                  for m in mods["modifiers"]})
    return {group: {w: found.get(w) for w in words} for group, words in KNOWN.items()}


def stored_gap(path: Path, test_data: str | None) -> dict | None:
    """The `full` augmented BoW's share of the RNN-BoW gap from a stored comparison, or None when none is
    stored. Preferred: one made with this engine's modifier measurements (`current`), on the model's test set,
    at the default K; an earlier engine's is used only when no current one exists, and says so."""
    found = [c for c in comparisons(str(path)) if any(v["name"] == "full" for v in c["variants"])]
    if not found:
        return None
    best = max(found, key=lambda c: (Settings.is_current(c["settings"]), c["data"] == test_data, c["settings"].get("top") == TOP_MODIFIERS))
    full = next(v for v in best["variants"] if v["name"] == "full")
    return {"data": best["data"], "top": best["settings"].get("top"), "gap_recovered": full["gap_recovered"],
            "gap_ci": full["gap_ci"], "accuracy": full["accuracy"], "rnn_accuracy": best["rnn"]["accuracy"],
            "bow_accuracy": best["bow"]["accuracy"], "current": Settings.is_current(best["settings"]),
            "gap_too_small": bool(best.get("gap_too_small")),
            "engine": {"solver": best["settings"].get("solver"), "modifiers": best["settings"].get("modifiers")},
            "confirmed": _headline(best)}


def _headline(comparison: dict) -> dict | None:
    """The confirmed mechanism as measured (mod_fixed) and its two controls' gaps recovered, from a comparison
    that has them (this engine's), else None."""
    head = comparison.get("headline")
    if head is None:
        return None
    by = {v["name"]: v for v in comparison["variants"]}
    return {"n_modifiers": len(head["modifiers"]), "gap_recovered": head["gap_recovered"], "gap_ci": head["gap_ci"],
            **{c: by[c]["gap_recovered"] for c in CONTROLS if c in by}}


def _warnings(summary: dict, eigvals, pos: dict | None) -> list[str]:
    """The dynamics summary's warnings; where the slow dynamics at the reference are more than one mode; and
    where v0 misses what a word does to the readout (the position result's `one_step_over_v0`, a word's one-step
    effect on the readout over its v0, far from 1: the integration mode barely reaches the readout)."""
    out = list(summary["warnings"])
    slow = int((np.abs(eigvals) > MARGINAL).sum())
    if slow >= 2:
        out.append(f"{slow} modes at the reference point have |lambda| > {MARGINAL} (timescales over "
                   f"{-1 / math.log(MARGINAL):.0f} tokens): the slow dynamics are not one line, and v, v0 and the "
                   "modifier strengths follow the integration mode alone")
    ratio = None if pos is None else pos.get("one_step_over_v0")
    if ratio is not None and abs(ratio) > V0_MISS:
        out.append(f"a word's one-step effect on the readout at the reference point is {ratio:.3g} "
                   "times its persistent valence v0 (median over probe words): the integration mode there barely "
                   "reaches the readout, so v0 and the modifier strengths, ratios to v0, are not meaningful")
    return out


def row(info: dict, n_seeds: int = 1000, log=None) -> dict:
    """One model's row (see the module docstring) from its analyses at the default settings with n_seeds
    fixed-point seeds (the shipped ones: 1,000); the analyses missing from storage are named in `missing`, those
    that do not apply (the integration mode does not reach the readout) in `not_applicable`."""

    path = Path(info["path"])
    met = read_json(path / "metrics.json") if (path / "metrics.json").exists() else {}
    out = {"arch": info["arch"], "model": info["name"], "variant": variant(met), "dataset": info["dataset"],
           "test_dataset": info["test_dataset"], "accuracy": info["test_accuracy"], "seeds": info.get("seeds")}
    s = Settings.of(path, n_seeds=n_seeds)
    dyn = stored_dynamics(s, log=log)
    mods = modifiers(s, stored_only=True, log=log)
    pos = position(s, stored_only=True, log=log)
    reach = [] if dyn is None else model_reach_warnings(dyn, path)
    if reach:   # every ratio to v0 is 0/0 there: only modifiers measured exactly are a measurement
        out["not_applicable"] = ([] if mods is None or measured_modifiers(mods, reach) else ["modifiers"]) + ["position"]
        mods, pos = measured_modifiers(mods, reach), None
    out["missing"] = [n for n, r in (("dynamics", dyn), ("modifiers", mods), ("position", pos))
                      if r is None and n not in out.get("not_applicable", [])]
    if dyn is not None:
        s = dyn["summary"]
        ev = dyn["ref_eigvals"].double().numpy()
        eig = ev[:, 0] + 1j * ev[:, 1]
        out.update({
            "neutral_input": s["neutral_input"],
            "n_fixed_points": s["n_fixed_points"], "n_stable_fixed_points": s["n_stable_fixed_points"],
            "n_slow_points": s["n_slow_points"], "n_stable_slow_points": s["n_stable_slow_points"],
            "readout_range": s["attractor_readout_range"],
            "reference": {"readout": s["reference_readout"], "stable": s["reference_stable"],
                          "lambda1": s["lambda1_reference"], "kind": s["reference_kind"],
                          "rotation_tokens": s["reference_rotation_tokens"]},
            "n_marginal_modes": int((np.abs(eig) > MARGINAL).sum()),
            "timescales_top": s["timescales_top"],
            "drift_tokens_per_logit": s["drift_tokens_per_logit"], "drift_capped_share": s["drift_capped_share"],
            "median_doc_tokens": s["median_doc_tokens"],
            "linearization_error_median": s["linearization_error_median"],
            "warnings": _warnings(s, eig, pos) + reach})
        fig = attractor_figures(dyn, load_model(path))
        out["attractor"] = {k: fig[k] for k in ("attractor_kind", "attractor_why", "integration_lambda",
                                                "integration_kind", "integration_timescale",
                                                "slowest_transient_timescale", "largest_readout_gap",
                                                "near_zero_marginal_share", "near_zero_points",
                                                "reference_drift_per_doc")}
    if mods is not None:
        out.update({
            "modifiers": [{**{k: m[k] for k in ("word", "class", "strength", "strength_ci", "fit_r2")},
                           "timescale": fitted_timescale(m)} for m in mods["modifiers"][:N_TOP]],
            "listed": [{"word": m["word"], "class": m["class"], "strength": m["strength"]} for m in mods["modifiers"]],
            "n_confirmed": mods["screen"].get("confirmed"),
            "known": _known(mods), "screen_counts": mods["screen"]["counts"],
            "noise_band": [mods["screen"]["thresholds"]["attenuator_below"],
                           mods["screen"]["thresholds"]["intensifier_above"]]})
    if pos is not None:
        out["position"] = {side: {k: pos[side][k] for k in ("asymptote", "amplitude", "fit_r2", "varies")}
                           | {"timescale": fitted_timescale(pos[side])} for side in ("begin", "end")}
    if mods is not None and dyn is not None:
        out["warnings"] += weak_effect_warnings(mods)
    out["gap"] = stored_gap(path, info["test_dataset"])
    return out


def rows(data: str = DEFAULT_DATA, names: list[str] | None = None, models_dir: Path | str | None = None,
         n_seeds: int = 1000, log=None) -> list[dict]:
    """The universality table: one row per RNN trained on `data` (or per named model)."""
    found = candidates(data, names, models_dir)
    if not found:
        raise ValueError(f"no RNN trained on {data} in {models_dir or 'models/'}")
    return [row(m, n_seeds, log) for m in found]


def attractor_map(path: str, n_seeds: int = 1000) -> dict | None:
    """A model's fixed and slow points in the attractor's first two principal components (each half of an
    LSTM's [h; c] on its own scale; PC1 increasing with the readout), from its stored dynamics: {"pc" (K, 2),
    "readout", "kind", "stable", "reference"}; None when no dynamics analysis is stored."""

    dyn = stored_dynamics(Settings.of(path, n_seeds=n_seeds))
    if dyn is None:
        return None
    view = dynamics_view(dyn, path)
    return {k: view[k] for k in ("pc", "readout", "kind", "stable", "reference")}


# ---- command line -------------------------------------------------------------------------------------
def add_parser(sub) -> None:
    """`python -m core universality`."""
    p = sub.add_parser("universality", help="every RNN architecture trained on one dataset side by side, from "
                       "stored analyses (ship them first)")
    p.add_argument("--data", default=DEFAULT_DATA, help=f"the training dataset the models share, as metrics.json "
                   f"records it (default {DEFAULT_DATA})")
    p.add_argument("--models", default=None, help="comma-separated model names instead (any dataset)")
    p.add_argument("--models-dir", default=None, help="folder of model folders (default: the project's models/)")
    p.add_argument("--n-seeds", type=int, default=1000, help="fixed-point seeds of the stored analyses to read "
                   "(default 1000, as shipped)")
    p.add_argument("--seeds", default=None, metavar="MODEL", help="one network in every seed instead: accuracy, "
                   "attractor and modifiers per seed, and which modifiers recur (seeds are MODEL-seed<N>)")
    p.add_argument("--json", action="store_true", help="the rows as JSON")


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def _position_cell(side: dict) -> str:
    """A position curve in a table cell: asymptote + amplitude (timescale) in logits and tokens, "flat" where
    the curve does not vary beyond its noise (its level then)."""
    if not side["varies"]:
        return f"flat {side['asymptote']:.2f}"
    return f"{side['asymptote']:.2f}{side['amplitude']:+.2f} ({_num(side['timescale'], '.1f')})"


CLASS_MARK = {"negator": "N", "attenuator": "A", "intensifier": "I", "none": "0"}


def _marks(group: dict[str, dict | None]) -> str:
    return " ".join(f"{w}:{'-' if d is None else CLASS_MARK[d['class']]}"
                    for w, d in group.items())


def _headline_cell(c: dict | None) -> str:
    """'; confirmed (n) x%, valence-only y%, shuffled z%' or '' where the comparison has no headline."""
    if not c:
        return ""
    return (f"; {c['n_modifiers']} confirmed as measured {_num(c['gap_recovered'], '.0%')}, valence-only "
            f"{_num(c.get('valence_only'), '.0%')}, shuffled {_num(c.get('shuffled'), '.0%')}")


def table(rows_: list[dict]) -> str:
    """The rows as text: dynamics, then context effects, then each model's warnings."""
    lines = [f"{'arch':8} {'model':14} {'test acc':>8} {'fixed (stable)':>14} {'slow':>6} {'fixed+slow range':>16} "
             f"{'ref y':>7} {'|lam1|':>7} {'stable':>6} {'slowest tau':>16} {'>0.99':>5} {'drift/logit':>11}"]
    for r in rows_:
        head = f"{r['arch']:8} {r['model']:14} {_num(r['accuracy'], '.2%'):>8}"
        if "n_fixed_points" not in r:
            lines.append(f"{head}  not stored: {', '.join(r['missing'])} (python -m core ship {r['model']})")
            continue
        ref, lo_hi = r["reference"], r["readout_range"]
        taus = ", ".join("inf" if t is None else f"{t:.0f}" for t in r["timescales_top"][:3]) or "none"
        drift = (f">={r['drift_tokens_per_logit']:.0f}" if r["drift_capped_share"] > 0.5
                 else f"{r['drift_tokens_per_logit']:.0f}")
        lines.append(f"{head} {r['n_fixed_points']:>6} ({r['n_stable_fixed_points']:>5}) {r['n_slow_points']:>6} "
                     f"{lo_hi[0]:>7.2f}..{lo_hi[1]:<7.2f} {ref['readout']:>+7.2f} {ref['lambda1']:>7.4f} "
                     f"{'yes' if ref['stable'] else 'NO':>6} {taus:>16} {r['n_marginal_modes']:>5} {drift:>11}")
    for r in rows_:
        if r.get("seeds") and r["seeds"]["n"] > 1:
            lines.append(f"  {r['model']}: test accuracy over {spread_text(r['seeds'], '.2%')}; each seed: "
                         f"python -m core universality --seeds {r['model']}")
    lines += ["", f"{'arch':8} {'model':14} {'top modifiers: s, tau':48} "
                  f"{'position c+a (tau), logits: begin / end':40} gap recovered by full [95% CI]"]
    for r in rows_:
        mods = ", ".join(f"{m['word']} {m['strength']:+.2f} {_num(m['timescale'], '.1f')}"
                         for m in r.get("modifiers", [])[:3])
        pos = r.get("position")
        pos_s = " / ".join(_position_cell(pos[side]) for side in ("begin", "end")) if pos else "-"
        g = r["gap"]
        gap = (f"{g['gap_recovered']:.0%} [{_num(g['gap_ci'][0], '.0%')}, {_num(g['gap_ci'][1], '.0%')}] on {g['data']}"
               + ("" if g["current"] else " (earlier engine)")
               + (" (not meaningful: the RNN-BoW gap is within its interval)" if g["gap_too_small"] else "")
               + _headline_cell(g.get("confirmed"))
               if g else "-")
        na = "does not apply (w . r1 = 0)"
        no = lambda key: na if key in r.get("not_applicable", []) else "-"
        lines.append(f"{r['arch']:8} {r['model']:14} {mods or no('modifiers'):48} {pos_s if pos else no('position'):40} {gap}")
    lines += ["", "attractor (the rule of METHOD section 5; tau in tokens, gap and drift in logits):"]
    for r in rows_:
        a = r.get("attractor")
        if a:
            share = a["near_zero_marginal_share"]
            lines.append(f"  {r['model']}: {a['attractor_kind']}; integration tau {_num(a['integration_timescale'], '.0f')} "
                         f"({a['integration_kind']}), slowest transient {_num(a['slowest_transient_timescale'], '.0f')}, "
                         f"largest gap {_num(a['largest_readout_gap'], '.2f')}, marginal near 0 "
                         f"{'-' if share is None else format(share, '.0%')} of {a['near_zero_points']}, "
                         f"reference drift/doc {_num(a['reference_drift_per_doc'], '+.2f')}")
    lines += ["", "known words (N negator, A attenuator, I intensifier, 0 none, v a strong valence word, - not confirmed):"]
    for r in rows_:
        if "known" in r:
            lines.append(f"  {r['model']}: {_marks(r['known']['negators'])} | {_marks(r['known']['intensifiers'])}")
    for r in rows_:
        if r.get("variant"):
            lines.append(f"{r['model']} is a variant: {r['variant']}")
        for w in r.get("warnings", []):
            lines.append(f"WARNING {r['model']}: {w}")
    return "\n".join(lines)


# ---- seeds ---------------------------------------------------------------------------------------------
def seed_view(base: str, models_dir: Path | str | None = None, n_seeds: int = 1000, log=None,
              rows_by_model: dict[str, dict] | None = None) -> dict:
    """One network in every seed (core.experiments.seeds): {"base", "accuracy" (the spread), "rows" (one `row` per
    seed, with its "seed"), "modifiers", "recurring"}. "modifiers" lists every word some seed confirms as a modifier
    with {model: class} for the seeds that list it, and "recurring" the words every seed with a stored modifier
    analysis lists (in any class; "same_class" says whether the class agrees). A word one seed finds and the next
    does not says little about the task (Maheswaranathan et al. 2019). `rows_by_model`: rows already read (by
    model name, as `row` gives them), not read again."""
    listed = list_models(Path(models_dir or MODELS_DIR))
    if base not in {m["name"] for m in listed if m["kind"] == "rnn"}:
        raise ValueError(f"no RNN model {base!r} in {models_dir or 'models/'}")
    groups = seed_groups(listed)
    if base not in groups:
        raise ValueError(f"{base} has no seeds in {models_dir or 'models/'} (a seed is <model>-seed<N>, trained "
                         "with the same settings but --seed)")
    group = groups[base]
    spread = accuracy_spread(group)
    out_rows = [{**_row_of(m, n_seeds, log, rows_by_model), "seed": m["seed"]} for m in group]
    return {"base": base, "accuracy": spread, "rows": out_rows, **recurrence(out_rows)}


def beyond_listed(r: dict) -> list[dict]:
    """The known negators and intensifiers a row's modifier analysis confirms but does not list among its strongest
    (`known` holds them all): [{"word", "class"}]."""
    listed = {m["word"] for m in r.get("listed", [])}
    return [{"word": w, "class": d["class"]} for group in (r.get("known") or {}).values() for w, d in group.items()
            if d is not None and w not in listed]


def _row_of(info: dict, n_seeds: int, log, rows_by_model: dict[str, dict] | None) -> dict:
    """A model's `row` (without the seed spread its base row carries), from rows_by_model where it is there."""
    return (rows_by_model or {}).get(info["name"]) or row({**info, "seeds": None}, n_seeds, log)


def recurrence(rows_: list[dict]) -> dict:
    """Which confirmed modifiers recur across rows (seeds), counting each row's listed modifiers (the strongest
    confirmed, at most 30) and the known negators and intensifiers it confirms beyond them (`beyond_listed`), so that
    a known word is not missed for being the K+1st: {"read" (the models with a modifier list), "modifiers"
    (every word some row lists, with {model: class}, most rows first, then alphabetical), "recurring" (the words
    every row read lists, in any class; "same_class" whether all agree; none until two rows are read)}. A row
    without "listed" (no stored modifier analysis, or one that does not apply) is not counted against a word."""
    read = [r for r in rows_ if "listed" in r]
    words: dict[str, dict[str, str]] = {}
    for r in read:
        for m in r["listed"] + beyond_listed(r):
            words.setdefault(m["word"], {})[r["model"]] = m["class"]
    order = sorted(words, key=lambda w: (-len(words[w]), w))
    recurring = [{"word": w, "classes": words[w], "same_class": len(set(words[w].values())) == 1}
                 for w in order if len(read) >= 2 and len(words[w]) == len(read)]
    return {"read": [r["model"] for r in read], "modifiers": [{"word": w, "classes": words[w]} for w in order],
            "recurring": recurring}


def _known_word(r: dict, group: str, word: str) -> tuple[str | None, float | None]:
    """(class, strength s) of a known word as the row's modifier analysis has it: ("not confirmed", None) where it
    does not confirm the word, (None, None) where there is no modifier analysis."""
    if "known" not in r:
        return None, None
    d = r["known"][group].get(word)
    return ("not confirmed", None) if d is None else (d["class"], d["strength"])


FIGURE_FORMATS = {"test accuracy": ".2%", "reference point readout (logits)": "+.2f",
                  "integration timescale (tokens)": ".0f", "largest readout gap (logits)": ".2f", "fixed points": "d",
                  "slowest stable timescale (tokens)": ".0f", "confirmed modifiers": "d",
                  "begin effect amplitude (logits)": "+.2f", "end effect amplitude (logits)": "+.2f"}
FIGURE_FORMAT_DEFAULT = "+.2f"   # the known words' strengths s


def mechanism_figures(r: dict) -> list[tuple[str, object]]:
    """The figures a row reports about the mechanism, as (name, value): numbers, or words for categories (None
    where not stored or not applicable), each number shown with FIGURE_FORMATS. The seed and pretraining
    comparisons line these up."""
    a, pos, listed = r.get("attractor") or {}, r.get("position") or {}, r.get("listed")
    tau = a.get("integration_timescale")
    if tau is None and a.get("integration_lambda") is not None:   # |lambda| = 1 exactly: no decay at all
        tau = math.inf
    return [("test accuracy", r.get("accuracy")),
            ("attractor", a.get("attractor_kind")),
            ("reference point readout (logits)", (r.get("reference") or {}).get("readout")),
            ("integration timescale (tokens)", tau),
            ("largest readout gap (logits)", a.get("largest_readout_gap")),
            ("fixed points", r.get("n_fixed_points")),
            ("slowest stable timescale (tokens)", (r.get("timescales_top") or [None])[0]),
            ("confirmed modifiers", None if listed is None else r.get("n_confirmed", len(listed))),
            *((f"'{w}' {part}", _known_word(r, g, w)[i]) for g, words in (("negators", ("not", "never")),
                                                                         ("intensifiers", ("very",)))
              for w in words for i, part in enumerate(("class", "strength s"))),
            ("begin effect amplitude (logits)", (pos.get("begin") or {}).get("amplitude")),
            ("end effect amplitude (logits)", (pos.get("end") or {}).get("amplitude"))]


def format_figure(name: str, v) -> str:
    """A mechanism figure as text: a word as it is, a number in its FIGURE_FORMATS format ("inf" / "-inf" for an
    infinite one), "-" where missing."""
    if isinstance(v, str):
        return v
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    spec = FIGURE_FORMATS.get(name, FIGURE_FORMAT_DEFAULT)
    return format(int(v) if spec == "d" else v + 0.0, spec)


def verdict_summary(figures: list[dict]) -> dict[str, list[str]]:
    """The figures of an `against_seeds` comparison by what they say: {"outside" (above or below all seeds, or
    unlike every seed), "within" (inside the seeds' range, or as in every or some seeds), "not_measured"}."""
    out: dict[str, list[str]] = {"outside": [], "within": [], "not_measured": []}
    for x in figures:
        v = x["verdict"]
        key = ("outside" if v.startswith(("above all", "below all", "unlike every")) else
               "within" if v.startswith(("within", "as in")) else "not_measured")
        out[key].append(x["figure"])
    return out


def verdict_text(c: dict) -> str:
    """A `pretraining_comparisons` entry's verdicts in one paragraph: the figures outside the seeds' range, those
    inside it, and a caution where the variant's reference point sits more than 1 logit from readout 0 (valences are
    compressed there, and so its modifier strengths and position amplitudes)."""
    v = verdict_summary(c["figures"])
    text = (f"Outside the range of {c['base']}'s seeds: " + (", ".join(v["outside"]) or "nothing") + ". Inside it "
            "(no change the seeds can show): " + (", ".join(v["within"]) or "nothing") + ".")
    ref = next((x["value"] for x in c["figures"] if x["figure"] == "reference point readout (logits)"), None)
    if ref is not None and abs(ref) > 1:
        text += (f" {c['model']}'s reference point sits at readout {ref:+.2f}, where valences are compressed: its "
                 "modifier strengths and position amplitudes, measured there, are smaller for that reason too.")
    return text


def against_seeds(seed_rows: list[dict], other: dict) -> list[dict]:
    """Each mechanism figure of `other` (a variant, e.g. pretrained) beside the same figure in every seed of the
    network it varies: {"figure", "seeds" (values), "value", "verdict"}. A number is "within the seeds' range" or
    "above/below all n seeds"; a category "as in every seed", "as in some seeds" or "unlike every seed"; where fewer
    than two seeds measure a number there is no range to read it against. Even with no effect at all, one more run of
    the same training falls outside the range of n seeds by chance 2/(n + 1) of the time (half the time for n = 3),
    so a value outside the range is a hint, not a finding; a value inside it is no change the seeds can show."""
    out = []
    seeds_figs = [dict(mechanism_figures(r)) for r in seed_rows]
    for name, value in mechanism_figures(other):
        vals = [f[name] for f in seeds_figs]
        known = [v for v in vals if v is not None]
        if value is None or not known:
            verdict = "not measured"
        elif isinstance(value, str) or any(isinstance(v, str) for v in known):
            same = sum(v == value for v in known)
            verdict = ("as in every seed" if same == len(known) else "as in some seeds" if same else "unlike every seed")
        elif len(known) < 2:
            verdict = f"only {len(known)} of {len(vals)} seeds measure it"
        elif value > max(known):
            verdict = f"above all {len(known)} seeds"
        elif value < min(known):
            verdict = f"below all {len(known)} seeds"
        else:
            verdict = "within the seeds' range"
        if value is not None and len(known) >= 2 and len(known) < len(vals):
            verdict += f" ({len(known)} of {len(vals)} seeds measure it)"
        out.append({"figure": name, "seeds": vals, "value": value, "verdict": verdict})
    return out


def pretraining_comparisons(models_dir: Path | str | None = None, n_seeds: int = 1000, log=None,
                            rows_by_model: dict[str, dict] | None = None) -> list[dict]:
    """Every model fine-tuned from a language model, read against the network it varies trained from scratch in
    every seed (core.experiments.seeds.pretrained_from): {"model", "base", "seeds" ([{"model", "seed"}]), "variant"
    (how it was made, `variant`), "figures" (`against_seeds`)}, by model name. `rows_by_model`: as for
    `seed_view`."""
    listed = list_models(Path(models_dir or MODELS_DIR))
    groups, by_name = seed_groups(listed), {m["name"]: m for m in listed}
    out = []
    for name, base in sorted(pretrained_from(listed).items()):
        group = groups[base]
        figures = against_seeds([_row_of(m, n_seeds, log, rows_by_model) for m in group],
                                _row_of(by_name[name], n_seeds, log, rows_by_model))
        met = Path(by_name[name]["path"]) / "metrics.json"
        out.append({"model": name, "base": base, "seeds": [{"model": m["name"], "seed": m["seed"]} for m in group],
                    "variant": variant(read_json(met)), "figures": figures})
    return out


def seed_table(view: dict) -> str:
    """A seed view as text: accuracy and attractor per seed, then the modifiers and which recur."""
    acc = view["accuracy"]
    lines = [f"{view['base']} in {len(view['rows'])} seeds; test accuracy "
             + (f"over {spread_text(acc, '.2%')}" if acc and acc["n"] > 1 else "-"), "",
             f"{'seed':>4} {'model':18} {'test acc':>8} {'fixed (stable)':>14} {'slow':>5} {'ref y':>7} "
             f"{'integration tau':>15} {'largest gap':>11} {'confirmed':>9}  attractor"]
    for r in view["rows"]:
        head = f"{str(r['seed']):>4} {r['model']:18} {_num(r['accuracy'], '.2%'):>8}"
        if "n_fixed_points" not in r:
            lines.append(f"{head}  not stored: {', '.join(r['missing'])} (python -m core ship {r['model']})")
            continue
        a = r["attractor"]
        n_mods = r.get("n_confirmed", len(r["listed"])) if "listed" in r else \
            ("n/a" if "modifiers" in r.get("not_applicable", []) else "-")
        lines.append(f"{head} {r['n_fixed_points']:>6} ({r['n_stable_fixed_points']:>5}) {r['n_slow_points']:>5} "
                     f"{r['reference']['readout']:>+7.2f} {_num(a['integration_timescale'], '.0f'):>15} "
                     f"{_num(a['largest_readout_gap'], '.2f'):>11} {n_mods:>9}  {a['attractor_kind']}")
    lines += ["", "modifiers per seed, strongest first (those listed, then known words confirmed beyond them, after "
                  "'+'; N negator, A attenuator, I intensifier):"]
    for r in view["rows"]:
        if "listed" in r:
            mods = ", ".join(f"{m['word']}:{CLASS_MARK[m['class']]}" for m in r["listed"]) or "none"
            extra = ", ".join(f"{m['word']}:{CLASS_MARK[m['class']]}" for m in beyond_listed(r))
            lines.append(f"  {r['model']} ({len(r['listed'])} listed of {_num(r.get('n_confirmed'), 'd')} confirmed): "
                         f"{mods}" + (f" + {extra}" if extra else ""))
        else:
            lines.append(f"  {r['model']}: " + ("does not apply (w . r1 = 0)" if "modifiers" in r.get("not_applicable", [])
                                                else "not stored"))
    rec = view["recurring"]
    lines += ["", f"in every seed read ({len(view['read'])} of {len(view['rows'])}): "
              + ("needs two seeds with a stored modifier analysis" if len(view["read"]) < 2 else
                 ", ".join(f"{m['word']} ({'/'.join(sorted(set(CLASS_MARK[c] for c in m['classes'].values())))})"
                           for m in rec) or "none")]
    lines += ["", "known words (N negator, A attenuator, I intensifier, - not confirmed):"]
    for r in view["rows"]:
        if "known" in r:
            lines.append(f"  {r['model']}: {_marks(r['known']['negators'])} | {_marks(r['known']['intensifiers'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.seeds:
        view = seed_view(args.seeds, args.models_dir, args.n_seeds)
        print(json.dumps(view) if args.json else seed_table(view))
        return 0
    res = rows(args.data, [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None,
               args.models_dir, args.n_seeds)
    print(json.dumps(res) if args.json else table(res))
    return 0
