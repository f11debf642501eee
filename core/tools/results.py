"""`python -m core results`: docs/results.md, generated from the stored analyses.

Every figure in the document is read from the repository's own files: each model's `metrics.json` and the
analyses shipped in its `analyses/` folder (`python -m core ship`), through the same engine functions the CLI
and the pages call (`stored_dynamics`, `modifiers` / `position` with `stored_only`, `comparisons`,
`universality.rows`). Nothing is computed and no dataset is read. The local cache is set aside while the
document is written (pointed at an empty folder), so the output depends on the repository alone: the same
checkout gives the same bytes on every machine, and a figure in the document is the figure the CLI prints from
the same shipped analysis. No timestamps, models in name order, fixed number formats.

`--check` compares the file on disk with a fresh generation and fails (exit 1) when they differ.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "results.md"
COMMAND = "python -m core results"
UNIVERSALITY_DATA = ("sst2:train", "imdb:train")   # the datasets with an architecture table
TOY_MODEL = "toy-gru"                               # the RNN whose answers the toy language's grammar knows
CURVE_SHOWN = 10                                    # values of a curve written out (as the CLI prints them)
MODIFIERS_SHOWN = 10                                # rows of a model's modifier list (the CLI lists them all)


# ---- reading ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def shipped_only():
    """Within the block the local analysis cache is an empty folder, so every lookup finds the shipped copy or
    nothing: what this machine happens to have computed never reaches the document."""
    before = os.environ.get("SENTIMENT_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="results-cache-") as empty:
        os.environ["SENTIMENT_CACHE_DIR"] = empty
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("SENTIMENT_CACHE_DIR", None)
            else:
                os.environ["SENTIMENT_CACHE_DIR"] = before


def _quiet(msg: str) -> None:
    """Lookups report unusable entries here; the document says "not stored" for them instead."""


def read_model(info: dict) -> dict:
    """One model's stored material: metrics, and for an RNN its dynamics, modifiers, position and comparisons
    (None where not stored or not applicable) and its universality row (warnings, what is missing)."""
    from core.analysis.api import Settings, modifiers, position, stored_dynamics  # lazy: keeps --help fast
    from core.analysis.dynamics import model_reach_warnings  # lazy: as above
    from core.analysis.modifiers import measured_modifiers  # lazy: as above
    from core.experiments.compare import comparisons  # lazy: as above
    from core.experiments.universality import row  # lazy: as above
    from core.models.store import read_json  # lazy: as above

    path = Path(info["path"])
    met = read_json(path / "metrics.json") if (path / "metrics.json").exists() else {}
    out = {"info": info, "metrics": met}
    if info["kind"] != "rnn":
        return out
    s = Settings.of(path)   # the defaults the analyses were shipped with
    dyn = stored_dynamics(s, log=_quiet)
    reach = [] if dyn is None else model_reach_warnings(dyn, path)
    out.update(dynamics=dyn, reach=reach, row=row(info, log=_quiet), comparisons=comparisons(str(path)),
               modifiers=measured_modifiers(modifiers(s, stored_only=True, log=_quiet), reach),
               position=None if reach else position(s, stored_only=True, log=_quiet))
    return out


# ---- formatting -------------------------------------------------------------------------------------------
def _num(v, fmt: str) -> str:
    """A number in a fixed format; "-" for a missing or non-finite one."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v + 0.0 if v == 0 else v, fmt)   # no "-0.0"


def _cell(s: str) -> str:
    """Text for a Markdown table cell."""
    return str(s).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + \
        ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]


def _duration(seconds) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _count(n) -> str:
    return "-" if n is None else f"{n:,}"


def _fitted(fit: dict) -> str | None:
    from core.analysis.modifiers import fitted_timescale  # lazy: keeps --help fast
    return fitted_timescale(fit)


# ---- sections ---------------------------------------------------------------------------------------------
def models_section(models: list[dict]) -> list[str]:
    """Every shipped model: kind, data, accuracy, how long it trained and where."""
    from core.experiments.universality import variant  # lazy: keeps --help fast
    from core.experiments.seeds import accuracy_spread, seed_groups, spread_text  # lazy: as above

    seeds = {m["name"]: (base, group) for base, group in seed_groups([m["info"] for m in models]).items()
             for m in group}
    rows = []
    for m in models:
        info, met = m["info"], m["metrics"]
        sizes = met.get("split_sizes") or {}
        notes = []
        if info["kind"] == "augmented":
            notes.append(f"`{met.get('variant', '?')}` context-augmented BoW from `{info['rnn']}`"
                         + (f", K = {met['n_modifiers']:,} modifiers" if met.get("n_modifiers") else ""))
        if met.get("imported"):
            notes.append("imported")
        if variant(met):
            notes.append(variant(met))
        if info["name"] in seeds:
            base, group = seeds[info["name"]]
            over = spread_text(accuracy_spread(group), ".2%")
            notes.append(f"seed {met.get('seed', '?')} of `{base}`" + (f"; test accuracy over {over}" if over else ""))
        if info.get("max_len"):
            notes.append(f"reads the {'last' if info['truncate'] == 'tail' else 'first'} {info['max_len']} tokens")
        rows.append([f"`{info['name']}`", info["kind"] or "-", info["arch"] or "-", info["dataset"] or "-",
                     f"{_count(sizes.get('train'))} / {_count(sizes.get('dev'))}",
                     f"{info['test_dataset'] or '-'} ({_count(sizes.get('test'))})", _num(info["test_accuracy"], ".2%"),
                     _num(met.get("dev_accuracy"), ".2%"), _duration(met.get("train_seconds"))
                     + (f" + {_duration(met['pretrained'].get('train_seconds'))} pretraining" if met.get("pretrained") else ""),
                     met.get("device") or "-", "; ".join(notes) or "-"])
    return ["## Shipped models", "",
            "From each `models/<name>/metrics.json` (which also records the exact command that trained the model).",
            ""] + _table(["model", "kind", "arch", "trained on", "train / dev", "test set (n)", "test accuracy",
                          "dev accuracy", "training time", "device", "notes"], rows) + [""]


def toy_section(m: dict | None, models: list[dict]) -> list[str]:
    """The toy language, where the grammar gives the answers: its rules next to what the engine finds."""
    from core.data import toy  # lazy: keeps --help fast

    out = ["## Toy language: the known answers", "",
           "The toy language (METHOD section 8; `core/data/toy.py`) defines its labels: valence words "
           + ", ".join(f"{w} {v:+d}" for w, v in toy.VALENCE.items())
           + f"; \"not\" flips the sign of the next {toy.NOT_SPAN} tokens; \"very\" doubles the next token; the noise "
           f"words ({', '.join(toy.NOISE)}) carry nothing. So the true modulation of a valence word k tokens after a "
           "modifier is M(k) = score(modifier, k - 1 noise words, word) / score(word), and the true position effect "
           "is none (1 at every position).", ""]
    if m is None:
        return out + [f"`{TOY_MODEL}` is not shipped.", ""]
    accs = [f"`{x['info']['name']}` {_num(x['info']['test_accuracy'], '.2%')}" for x in models
            if x["info"]["dataset"] == m["info"]["dataset"]]
    out += [f"Test accuracy on {m['info']['test_dataset']} (the grammar itself: 100%): " + ", ".join(accs) + ".", ""]
    mods = m.get("modifiers")
    if mods is None:
        return out + ["The toy GRU's modifier analysis is not stored.", ""]
    rows = []
    for word in toy.MODIFIERS:
        found = next((x for x in mods["modifiers"] if x["word"] == word), None)
        truth = [toy.score([word] + ["the"] * (k - 1) + ["good"]) / toy.score(["good"]) for k in range(1, 7)]
        if found is None:
            rows.append([f"\"{word}\"", "-", f"{truth[0] - 1:+.2f}", "not listed", "-", "-",
                         " ".join(f"{t:+.0f}" for t in truth), "-"])
            continue
        lo, hi = found["strength_ci"]
        rows.append([f"\"{word}\"", found["class"], f"{truth[0] - 1:+.2f}",
                     f"{found['strength']:+.2f} [{lo:.2f}, {hi:.2f}]", _num(_fitted(found), ".2f"),
                     _num(found["mode_timescale"], ".1f"), " ".join(f"{t:+.0f}" for t in truth),
                     " ".join(f"{c:+.2f}" for c in found["curve"][:6])])
    sc = mods["screen"]
    out += [f"Modifiers of `{TOY_MODEL}` (screen of {sc['n_words']} words, measured on the network: "
            + ", ".join(f"{k} {v}" for k, v in sc["counts"].items()) + "):", ""]
    out += _table(["word", "class found", "true s = M(1) - 1", "measured s [95% CI]", "tau (fit)", "modes tau",
                   "true M(1..6)", "measured M(1..6)"], rows) + [""]
    pos = m.get("position")
    if pos is not None:
        out += ["Position curves in logits (truth: no position effect, flat): "
                + "; ".join(f"{side} {min(pos[side]['curve']):.2f} .. {max(pos[side]['curve']):.2f} over "
                            f"{len(pos[side]['curve'])} tokens, "
                            + ("varies beyond its noise" if pos[side]["varies"] else "flat within noise")
                            + f" ({pos[side]['noise']:.2f})" for side in ("begin", "end")) + ".", ""]
    dyn = m.get("dynamics")
    if dyn is not None:
        s = dyn["summary"]
        out += [f"Dynamics: {s['n_fixed_points']:,} fixed and {s['n_slow_points']:,} slow points spanning readouts "
                f"{s['attractor_readout_range'][0]:.2f} .. {s['attractor_readout_range'][1]:.2f}, reference at "
                f"{s['reference_readout']:+.3f} (|lambda_1| {s['lambda1_reference']:.4f}); the full analysis is under "
                f"`{TOY_MODEL}` below.", ""]
    return out


def universality_section() -> list[str]:
    """The architectures side by side, exactly as `python -m core universality --data D` prints them."""
    from core.experiments.universality import rows, table  # lazy: keeps --help fast

    out = ["## Four architectures side by side", "",
           "Paper B's universality question: every RNN trained on one dataset, from its stored analyses. These blocks "
           "are the output of the command above each (the *Architectures* page shows the same rows with each model's "
           "attractor and modifier subspace).", ""]
    for data in UNIVERSALITY_DATA:
        try:
            text = table(rows(data, log=_quiet))
        except ValueError as e:   # no RNN trained on it in this checkout
            text = f"error: {e}"
        out += [f"### {data}", "", "```text", f"$ python -m core universality --data {data}", text, "```", ""]
    return out


def pretraining_tables(rows_by_model: dict[str, dict]) -> list[tuple[str, str, list[str]]]:
    """(pretrained model, the network it is read against, Markdown lines): every mechanism figure of a model
    fine-tuned from a language model beside the same figure in each seed of the same network trained from scratch,
    with the verdict of `universality.against_seeds`, then the verdicts in words (`universality.verdict_text`)."""
    from core.experiments.universality import format_figure, pretraining_comparisons, verdict_text  # lazy: --help

    out = []
    for c in pretraining_comparisons(log=_quiet, rows_by_model=rows_by_model):
        head = ["figure"] + [f"`{m['model']}` (seed {m['seed']})" for m in c["seeds"]] + [f"`{c['model']}`",
                                                                                           "against the seeds"]
        rows = [[x["figure"], *(format_figure(x["figure"], v) for v in x["seeds"]), format_figure(x["figure"], x["value"]),
                 x["verdict"]] for x in c["figures"]]
        out.append((c["model"], c["base"], _table(head, rows) + ["", verdict_text(c)]))
    return out


def seeds_section(rows_by_model: dict[str, dict]) -> list[str]:
    """Every network trained in several seeds, as `python -m core universality --seeds B` prints it, and what
    pretraining changed, read against the seeds' spread (rows_by_model: the rows `read_model` already read)."""
    from core.experiments.seeds import seed_groups  # lazy: keeps --help fast
    from core.experiments.universality import seed_table, seed_view  # lazy: as above

    out = ["## Seeds and pretraining", "",
           "A network trained with the same command in several random seeds: what recurs in every seed is about the "
           "task; what one seed shows and the next does not is about that seed (Maheswaranathan et al. 2019). These "
           "blocks are the output of the command above each (the *Architectures* page shows them under *Seeds*).", ""]
    for base in seed_groups():
        out += [f"### `{base}` in every seed", "", "```text", f"$ python -m core universality --seeds {base}",
                seed_table(seed_view(base, log=_quiet, rows_by_model=rows_by_model)), "```", ""]
    for name, base, table in pretraining_tables(rows_by_model):
        out += [f"### What pretraining changed: `{name}` against `{base}`'s seeds", "",
                f"`{name}` is trained with `{base}`'s command from a language model's embedding and cell "
                "(`python -m core pretrain`; its metrics record both stages and both commands). Each figure beside the "
                "same figure in every seed trained from scratch: inside the seeds' range, pretraining changed nothing "
                "the seeds can show; outside it, a hint and not a finding, since even with no effect one more run of "
                "the same training lands outside the range of n seeds 2/(n + 1) of the time (half the time for "
                "three).", ""] + table + [""]
    return out


def _pct(x, fmt: str = ".1%") -> str:
    return _num(x, fmt)


def _headline_lines(r: dict) -> list[str]:
    """The comparison's headline: the confirmed modifiers as measured (mod_fixed) against its two controls."""
    head = r.get("headline")
    if head is None:
        return []
    if not head["modifiers"]:
        return ["No confirmed modifier: the modifier variants are the bag-of-words here.", ""]
    from core.models.augmented import CONTROLS  # lazy: keeps --help fast
    by = {v["name"]: v for v in r["variants"]}
    beyond = "; ".join(f"{_pct(b['value'], '+.1%')} [{_pct(b['ci'][0], '+.1%')}, {_pct(b['ci'][1], '+.1%')}] over "
                       f"`{name}`" for name, b in head["beyond"].items())
    controls = ", ".join(f"`{c}` {_pct(by[c]['gap_recovered'])}" for c in CONTROLS if c in by)
    return [f"Headline{' (not meaningful: no gap to recover)' if r.get('gap_too_small') else ''}: the "
            f"{len(head['modifiers'])} confirmed modifiers as measured (`{head['variant']}`) recover "
            f"{_pct(head['gap_recovered'])} [{_pct(head['gap_ci'][0])}, {_pct(head['gap_ci'][1])}] of the gap; the "
            f"controls {controls}; margin (paired bootstrap 95%) {beyond}. Words: "
            + ", ".join(f"`{w}`" for w in head["modifiers"]) + ".", ""]


def comparisons_section(models: list[dict]) -> list[str]:
    """Every stored comparison of an RNN with the bag-of-words variants, with the K sweep where one is stored."""
    from core.analysis.api import Settings  # lazy: keeps --help fast
    from core.experiments.augmented_fit import TOP_MODIFIERS  # lazy: as above

    out = ["## Bag-of-words vs RNN (stored comparisons)", "",
           "Paper A's closing result: the share of the RNN's gain over a bag-of-words that each bag-of-words variant "
           "recovers, gap recovered = (variant - BoW) / (RNN - BoW), with bootstrap 95% intervals "
           "(`python -m core compare --rnn MODEL --data D`; the *BoW vs RNN* page). The BoW here is the comparison's "
           "own `bow` variant on exactly the tokens the RNN reads. Where the RNN's gain over the BoW is not clearly "
           "above zero, the gaps recovered are not meaningful and say so. The modifiers are the confirmed ones of "
           "each RNN's modifier analysis; `mod_fixed` uses them as measured (the headline), `valence_only` gives the "
           "same words the effect their valence alone predicts and `shuffled` puts the same effects on random "
           "ordinary words of similar frequency.", ""]
    any_found = False
    for m in models:
        runs = m.get("comparisons") or []
        if not runs:
            continue
        any_found = True
        name = m["info"]["name"]
        for r in sorted(runs, key=lambda r: (r["data"], -int(r["settings"].get("top") or 0))):
            st_ = r["settings"]
            if st_.get("top") != TOP_MODIFIERS and len(runs) > 1 and \
                    any(o["data"] == r["data"] and o["settings"].get("top") == TOP_MODIFIERS for o in runs):
                continue   # shown in the K sweep below
            d = r["rnn_bow_diff"]
            meaningless = bool(r.get("gap_too_small"))
            head = (f"### `{name}` on {r['data']} (n = {r['n']:,}, K = {_count(st_.get('top'))})")
            engine = "" if Settings.is_current(st_) else \
                f" Measured with earlier analyses (solver v{st_.get('solver')}, modifiers v{st_.get('modifiers')})."
            out += [head, "",
                    f"RNN {r['rnn']['accuracy']:.2%}, BoW {r['bow']['accuracy']:.2%}; RNN - BoW {d['value']:+.2%} "
                    f"(95% CI {d['ci'][0]:+.2%} .. {d['ci'][1]:+.2%})."
                    + (" **Not meaningful:** the RNN's gain over the BoW is not clearly above zero (its 95% "
                       "interval reaches 0 or below), so there is no gain whose share could be recovered."
                       if meaningless else "") + engine, ""]
            flag = " (not meaningful)" if meaningless else ""
            out += _table(["variant", "accuracy", "gap recovered", "95% CI"],
                          [[v["name"], _pct(v["accuracy"], ".2%"),
                            _pct(v["gap_recovered"]) + (flag if v["name"] != "bow" else ""),
                            f"[{_pct(v['gap_ci'][0])}, {_pct(v['gap_ci'][1])}]"] for v in r["variants"]]) + [""]
            out += _headline_lines(r)
        by_data: dict[str, list[dict]] = {}
        for r in runs:
            by_data.setdefault(r["data"], []).append(r)
        for data, group in sorted(by_data.items()):
            if len({g["settings"].get("top") for g in group}) < 2:
                continue
            rows = []
            for g in sorted(group, key=lambda g: int(g["settings"].get("top") or 0)):
                by = {v["name"]: v for v in g["variants"]}
                rows.append([f"{_count(g['settings'].get('top'))}"
                             + (" (default)" if g["settings"].get("top") == TOP_MODIFIERS else "")]
                            + [f"{_pct(by[n]['accuracy'], '.2%')} ({_pct(by[n]['gap_recovered'])})" if n in by else "-"
                               for n in ("mod_fixed", "full")])
            out += [f"`{name}` on {data}, number of modifiers K (accuracy, gap recovered; "
                    f"`compare --variants mod_fixed,full --top-modifiers K`):", ""]
            out += _table(["K", "mod_fixed", "full"], rows) + [""]
    if not any_found:
        out += ["No comparison is stored.", ""]
    return out


def claims_section(models: list[dict]) -> list[str]:
    """The papers' claims on every RNN (rows: claims; columns: models), each cell the verdict and the figure as
    `python -m core claims MODEL` gives them, judged from the same stored material; then every rule in words."""
    from core.experiments.claims import CLAIMS, PAPERS, VERDICTS, assess, cell  # lazy: keeps --help fast

    ledgers = {}
    for m in models:
        dyn, row, reach = m.get("dynamics"), m.get("row") or {}, m.get("reach") or []
        ledgers[m["info"]["name"]] = {e["key"]: e for e in assess({
            "summary": None if dyn is None else dyn["summary"], "attractor": row.get("attractor"),
            "modifiers": m.get("modifiers"), "position": m.get("position"), "gap": row.get("gap"),
            "not_applicable": reach[0] if reach else None})}
    out = ["## The papers' claims", "",
           "Each claim of paper A (" + PAPERS["A"] + ") and paper B (" + PAPERS["B"] + "), judged on each RNN from its "
           "stored analyses at the default settings (`python -m core claims MODEL`, with `--json` for the unrounded "
           "figures, intervals and the reason of each verdict; the *Papers' claims* page). Verdicts: "
           + ", ".join(VERDICTS) + " (the stored analysis lacks the figure). The rule of each is below the table.", ""]
    if not ledgers:
        return out + ["No RNN is shipped.", ""]
    names = list(ledgers)
    out += _table(["claim", "paper"] + [f"`{n}`" for n in names],
                  [[c.title, c.paper] + [cell(ledgers[n][c.key]) for n in names] for c in CLAIMS]) + [""]
    out += ["Rules:", ""] + [f"- **{c.title}** ({c.paper}): {c.rule}" for c in CLAIMS] + [""]
    return out


def _dynamics_lines(dyn: dict) -> list[str]:
    """The dynamics summary as `python -m core analyze MODEL` reports it (same quantities, same formats)."""
    s = dyn["summary"]
    words = s.get("neutral_words_sample") or []
    more = ", ..." if (s.get("neutral_words_n") or 0) > len(words) else ""
    neutral = f"`{s['neutral_input']}`" + (f" ({s['neutral_words_n']} words: {', '.join(words)}{more})"
                                            if s.get("neutral_words_n") else "")
    capped = (f" ({s['drift_capped_share']:.0%} of points never moved 1 logit in {s['drift_max_steps']} steps)"
              if s["drift_capped_share"] else "")
    taus = ", ".join("inf" if t is None else f"{t:.1f}" for t in s["timescales_top"]) or "none"
    growth = ", ".join(f"{g:.0f}" for g in s["unstable_growth_top"]) or "none"
    rot = (f", turning once in {s['reference_rotation_tokens']:,.0f} tokens"
           if s.get("reference_rotation_tokens") else "")
    return [f"- neutral input {neutral}",
            f"- {s['n_fixed_points']:,} fixed points ({s['n_stable_fixed_points']:,} stable) from "
            f"{s['n_converged']}/{s['n_seeds']} converged seeds, at readouts {s['readout_range'][0]:.2f} .. "
            f"{s['readout_range'][1]:.2f}; {s['n_slow_points']:,} slow points ({s['n_stable_slow_points']:,} stable); "
            f"fixed and slow points together {s['attractor_readout_range'][0]:.2f} .. "
            f"{s['attractor_readout_range'][1]:.2f}",
            f"- reference: {s['reference_kind']} at readout {s['reference_readout']:+.3f}, |lambda_1| = "
            f"{s['lambda1_reference']:.4f} ({'stable' if s['reference_stable'] else 'UNSTABLE'}){rot}",
            f"- drift: {s['drift_tokens_per_logit']:.0f} neutral tokens per logit unit (median document "
            f"{s['median_doc_tokens']:.0f} tokens){capped}",
            f"- slowest stable timescales (tokens): {taus}; unstable modes, growth time (tokens): {growth}",
            f"- |cos(r_1, attractor PC1)| = {s['attractor_alignment']:.3f}; one-step linearization error (median) "
            f"{s['linearization_error_median']:.1%}"]


def _attractor_lines(a: dict | None) -> list[str]:
    """What the attractor is, by the rule of METHOD section 5 (as `analyze` prints it)."""
    if not a:
        return []
    share = a["near_zero_marginal_share"]
    return [f"- attractor: **{a['attractor_kind']}** ({a['attractor_why']})",
            f"- integration mode at the reference: |lambda_1| {a['integration_lambda']:.4f} ({a['integration_kind']}), "
            f"timescale {_num(a['integration_timescale'], '.1f')} tokens; slowest decaying transient "
            f"{_num(a['slowest_transient_timescale'], '.1f')} tokens; largest readout gap "
            f"{_num(a['largest_readout_gap'], '.2f')} logits; points within 1 logit of 0: {a['near_zero_points']}"
            + ("" if share is None else f" ({share:.0%} marginally stable)")
            + f"; reference drift over a median document {_num(a['reference_drift_per_doc'], '+.2f')} logits"]


def _modifier_lines(name: str, mods: dict) -> list[str]:
    """The modifier screen, its confirmation on the network and the confirmed list, as `python -m core modifiers
    MODEL` reports them."""
    sc = mods["screen"]
    rho, ci = mods.get("mode_effect_spearman"), mods.get("mode_effect_spearman_ci")
    rho_v = sc.get("v0_statistic_spearman")
    out = [f"Modifiers: screened {sc['n_words']:,} words (linear, {sc['screen_states']} states): {sc['flagged']} "
           f"flagged against their matched null; {sc['measured_exact']} measured on the network ({sc['n_states']} "
           f"states from {sc['states']}), {sc['confirmed']} confirmed: "
           + ", ".join(f"{k} {v:,}" for k, v in sc["counts"].items())
           + ("" if not sc.get("not_measured") else f"; {sc['flagged'] - sc['measured_exact']} flagged words not measured")
           + f". Rank correlation of v0 with the valence-free statistic: {_num(rho_v, '+.2f')}; of effect and mode "
           f"timescales: {'n/a' if rho is None else f'{rho:.2f}'}"
           + ("" if not ci else f" [{ci[0]:.2f}, {ci[1]:.2f}]")
           + f"; {mods['n_probe']} probe words; real-text check on {mods.get('agreement_data') or 'no test set'}.", ""]
    if not mods["modifiers"]:
        return out + ["No word modulates later words beyond ordinary words of its own valence, on the network "
                      "itself.", ""]
    rows = []
    for i, m in enumerate(mods["modifiers"][:MODIFIERS_SHOWN], 1):
        lo, hi = m["strength_ci"]
        rt = m.get("real_text") or {}
        agree = "-" if m["real_text_agreement"] is None else f"{m['real_text_agreement']:.0%}"
        base = "-" if m.get("real_text_base_rate") is None else f"{m['real_text_base_rate']:.0%}"
        rows.append([str(i), m["word"], m["class"], f"{m['strength'] + 1:.2f} [{lo + 1:.2f}, {hi + 1:.2f}]",
                     _num(m.get("null_median"), ".2f"), f"{m['strength_linear'] + 1:.2f}",
                     _num(_fitted(m), ".2f"), _num(m['curve_error'], '.2f'),
                     f"{agree} ({rt['n']})" if "n" in rt else agree, base, f"{m['v0']:+.2f}"])
    out += _table(["#", "word", "class", "M(1) [95% CI]", "null M(1)", "linear M(1)", "tau", "curve error",
                   "real text (n)", "base rate", "v0"], rows)
    rest = len(mods["modifiers"]) - MODIFIERS_SHOWN
    if rest > 0:
        out += ["", f"... and {rest} more listed (`python -m core modifiers {name}` prints them all)."]
    if any(_fitted(m) is None for m in mods["modifiers"][:MODIFIERS_SHOWN]):
        out += ["", "tau -: the curve M(k) does not decay like an exponential (R2 under 0.5), so it has no "
                    "timescale."]
    sat = mods.get("saturating_valence_words") or []
    if sat:
        out += ["", "Look like modifiers against the whole vocabulary, but not against words of their own valence: "
                + ", ".join(w["word"] for w in sat)]
    return out + [""]


def _position_lines(pos: dict) -> list[str]:
    """Beginning- and end-of-document effects, in `python -m core position MODEL`'s formats."""
    from core.analysis.position import describe_fit, position_header  # lazy: keeps --help fast
    out = [f"- {position_header(pos)}"]
    for side in ("begin", "end"):
        r = pos[side]
        out.append(f"- {side}: {describe_fit(r)}; curve " + " ".join(f"{v:.2f}" for v in r["curve"][:CURVE_SHOWN])
                   + " ...")
    return out


def model_section(m: dict) -> list[str]:
    """One RNN's stored analyses: dynamics, modifiers, position, warnings; what does not apply, said so."""
    name = m["info"]["name"]
    out = [f"### `{name}`", ""]
    dyn, row = m.get("dynamics"), m.get("row") or {}
    if dyn is None:
        return out + [f"No dynamics analysis is stored (`python -m core ship {name}`).", ""]
    out += ["Dynamics (`analyze`):", ""] + _dynamics_lines(dyn) + _attractor_lines(row.get("attractor")) + [""]
    mods, pos = m.get("modifiers"), m.get("position")
    if m.get("reach"):
        out += (["Modifiers, measured exactly (the integration mode at the reference point does not reach the readout, "
                 "w . r_1 = 0, so every linear valence v0 is 0: each word's valence is its own effect on the readout "
                 f"{mods.get('readout_lag')} tokens later, and the screen is exact):", ""]
                + _modifier_lines(name, mods) if mods is not None else
                [f"Modifiers: not stored (`python -m core ship {name}`).", ""])
        out += ["Position (`position`): **does not apply** at this neutral input: its curves are ratios to the linear "
                "valence, 0/0 here (see the warning below).", ""]
    else:
        out += _modifier_lines(name, mods) if mods is not None else \
            [f"Modifiers: not stored (`python -m core ship {name}`).", ""]
        out += (["Position (`position`):", ""] + _position_lines(pos) + [""]) if pos is not None else \
            [f"Position: not stored (`python -m core ship {name}`).", ""]
    if row.get("variant"):
        out += [f"A variant: {row['variant']}.", ""]
    warnings = row.get("warnings") or []
    if warnings:
        out += ["Warnings:", ""] + [f"- {w}" for w in warnings] + [""]
    return out


# ---- the document -----------------------------------------------------------------------------------------
def generate() -> str:
    """docs/results.md as text, from the shipped analyses alone (see the module docstring)."""
    from core.models.store import list_models  # lazy: keeps --help fast

    with shipped_only():
        models = [read_model(info) for info in list_models()]
        rnns = [m for m in models if m["info"]["kind"] == "rnn"]
        toy = next((m for m in rnns if m["info"]["name"] == TOY_MODEL), None)
        lines = ["# Results", "",
                 f"Generated by `{COMMAND}` from the models shipped in `models/`: each model's `metrics.json` and "
                 "the analyses stored in its `analyses/` folder (written by `python -m core ship`). Do not edit this "
                 f"file by hand: change what is stored, then run `{COMMAND}` (`{COMMAND} --check` says whether it is "
                 "up to date; a test fails when it is not). Nothing here is computed from a dataset, so every figure "
                 "is the one the CLI prints from the same stored analysis (`analyze`, `modifiers`, `position`, "
                 "`universality`, `compare`; with `--json` they give the unrounded values).", "",
                 "All analyses are at each model's default settings (its default neutral input, 1,000 fixed-point "
                 "seeds from 500 training texts). What each quantity means is on the app's *Method* page (METHOD.md "
                 "in the development workspace). Figures that need a dataset and are not stored (the validity of the "
                 "linearised valence, error analysis by mechanism, benchmarks) are not here; CHANGELOG.md keeps them "
                 "as they were measured then.", "",
                 "Contents: [Shipped models](#shipped-models) · [Toy language](#toy-language-the-known-answers) · "
                 "[Four architectures](#four-architectures-side-by-side) · "
                 "[Seeds and pretraining](#seeds-and-pretraining) · "
                 "[Bag-of-words vs RNN](#bag-of-words-vs-rnn-stored-comparisons) · "
                 "[The papers' claims](#the-papers-claims) · "
                 "[Each RNN's analyses](#each-rnns-analyses)", ""]
        lines += models_section(models)
        lines += toy_section(toy, models)
        lines += universality_section()
        lines += seeds_section({m["info"]["name"]: m["row"] for m in rnns})
        lines += comparisons_section(rnns)
        lines += claims_section(rnns)
        lines += ["## Each RNN's analyses", "",
                  "Per RNN, in name order: the dynamics summary (fixed and slow points, reference point, drift, "
                  "slowest timescales), the modifiers confirmed on the network (M(1) with its 95% interval "
                  "across starting states, beside its matched null; a timescale only where the exponential fit describes "
                  "the curve), the "
                  "beginning- and end-of-document effects, and the warnings the CLI and the pages show beside them.",
                  ""]
        for m in rnns:
            lines += model_section(m)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


# ---- command line -----------------------------------------------------------------------------------------
def add_parser(sub) -> None:
    """`python -m core results`."""
    p = sub.add_parser("results", help="write docs/results.md from the stored analyses (nothing computed; "
                       "--check: fail when the file is out of date)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the file to write (default docs/results.md)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file differs from what "
                   f"would be generated (then run `{COMMAND}`)")


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    text = generate()
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current == text:
            print(f"{_shown(out)} is up to date")
            return 0
        why = "does not exist" if current is None else "is out of date with the stored analyses"
        cmd = COMMAND if out.resolve() == DEFAULT_OUT.resolve() else f"{COMMAND} --out {_shown(out)}"
        print(f"{_shown(out)} {why}: run `{cmd}` and commit the result", file=sys.stderr)
        return 1
    from core.storage.io import atomic_write_text  # lazy: keeps --help fast
    atomic_write_text(out, text)
    print(f"wrote {_shown(out)} ({len(text.encode('utf-8')):,} bytes)")
    return 0
