"""The Phrase page's analysis as one HTML file to hand out: `python -m core report MODEL --text T --out F.html`,
and the page's "Report (HTML)" button, both through `phrase_report`.

The file stands alone and opens offline: its charts are inline SVG (core.tools.svg), its style one <style>
element (print-friendly), and it holds no script and loads nothing from anywhere (a Content-Security-Policy says
so to the browser as well). Every string that comes from the user or the model (the phrase, tokens, names, the
training command, warnings) goes through html.escape, so a phrase is shown exactly as typed and never becomes
markup. The report says what was measured (the phrase, P(positive), the charts and the per-token table), with
what (the model card and the settings), what to be careful of (the warnings) and how to get it again (the
equivalent command, with the text shell-quoted).
"""
from __future__ import annotations

import argparse
import functools
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path

from core.analysis.context import ContextEngine, engine
from core.analysis.settings import DEFAULT_SEEDS, Settings
from core.analysis.start import Start
from core.analysis.views import (
    ABOUT_ONE,
    DRAWN_CELLS,
    MODULATION_COLORS,
    attractor_points,
    modulation_class,
)
from core.data.text import tokenize
from core.experiments.seeds import accuracy_spread, group_of, spread_text
from core.models.store import MODELS_DIR, list_models, read_json
from core.storage.io import atomic_write_text
from core.tools.svg import Dot, Series, bar_chart, diverging, line_chart, path_scatter

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "python -m core report"
MAX_LABELLED = 25   # tokens named beside the path on the attractor chart (their tooltips name every one)
V_COLOR, V0_COLOR, Y_COLOR, DEFLECTION_COLOR = "#2b8cbe", "#bbbbbb", "#333333", "#756bb1"
CLASS_TEXT = ' class="text"'   # a table column of text, left-aligned
# The file loads nothing and runs nothing: only its own inline style is allowed.
CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta, figcaption, .small { color: #555; font-size: .9em; }
.phrase { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 1.1em; background: #f6f6f6;
          border-left: 4px solid #2b8cbe; padding: .6em .9em; margin: .8em 0; }
.figures { display: flex; flex-wrap: wrap; gap: 0 2.5em; } .num { font-size: 1.6em; font-weight: 600; display: block; }
figure { margin: 1.2em 0; } .scroll { overflow-x: auto; } svg.chart { display: block; }
svg.chart text { fill: #222; } .none { color: #555; font-style: italic; }
ul.warnings li { margin: .3em 0; } li.warning::marker { content: "⚠ "; color: #b35900; }
li.note::marker { content: "ℹ "; color: #2b6cb0; }
table { border-collapse: collapse; font-size: .9em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .25em .6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; } .unk { color: #b35900; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3em 1.2em; }
dt { font-weight: 600; } dd { margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: .7em .9em; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  .scroll { overflow: visible; } svg.chart { max-width: 100%; height: auto; }
  figure, tr, dl, pre { break-inside: avoid; } h2 { break-after: avoid; }
  .phrase, pre, th { background: none; }
}
@page { margin: 14mm; }
"""


# ---- the report ---------------------------------------------------------------------------------------
def phrase_report(eng: ContextEngine, settings: Settings, text: str, result: dict, *,
                  out_name: str = "phrase-report.html", notes: Sequence[str] = (),
                  now: datetime | None = None) -> str:
    """The whole report, as an HTML document: `result` is ContextEngine.phrase(text, ...) on `eng`, the engine of
    `settings`. out_name: the file name the reproducing command writes; notes: further warnings of the caller
    (the page says when it cut a long paste); now: the date stated (default: the current time)."""
    now = (now or datetime.now()).astimezone()
    toks = result["tokens"]
    p = result["p_pos"]
    stamp = now.strftime("%Y-%m-%d %H:%M %Z") + (f", commit {code_version()}" if code_version() else "")
    head = (f'<h1>Phrase report: {escape(settings.name)}</h1>'
            f'<p class="meta">{escape(stamp)} · sentiment RNN explorer, after Maheswaranathan &amp; Sussillo '
            f'(ICML 2020)</p><p class="phrase">{escape(text)}</p><div class="figures">'
            f'<p><span class="num" id="p-pos">{p:.3f}</span>P(positive): {"positive" if p > 0.5 else "negative"}</p>'
            f'<p><span class="num">{result["logit"]:.3f}</span>readout logit y(h<sub>T</sub>)</p>'
            f'<p><span class="num">{len(toks)}</span>tokens analysed</p></div>')
    coverage = eng.coverage(result, text)   # the page's own sentence on what P(positive) is
    notes = [*notes, *([coverage] if coverage else [])]
    sections = [head, _section("Warnings and notes", _warnings_html(result, notes)),
                *_charts_html(eng, result), _section("Per token", _token_table(result)),
                _section("Model card", _dl(model_card(eng, settings))),
                _section("Settings", _dl(analysis_settings(settings, result))),
                _section("Reproduce", "<p>The same analysis from the command line (in the repository's folder):</p>"
                         f"<pre><code>{escape(reproduce_command(settings, text, result, out_name))}</code></pre>")]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Phrase report: {escape(settings.name)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def exact_on(result: dict) -> bool:
    """Whether the result has the exact v_relax (ContextEngine.phrase with exact=True)."""
    return any(t["v_relax"] is not None for t in result["tokens"])


def report_warnings(result: dict, notes: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(kind, text) of everything a reader should know before trusting the numbers, kind "warning" or "note":
    the caller's notes (the window and what the analysis covers: ContextEngine.coverage, which phrase_report adds),
    the reference point's warnings, where the linear valence v disagrees
    with the exact v_relax, tokens not in the vocabulary, and what does not apply."""
    toks = result["tokens"]
    out = [("warning", n) for n in notes]
    out += [("warning", f"Reference point: {w}") for w in result["reference"]["warnings"]]
    off = [t for t in toks if t["linear_ok"] is False]
    if off:
        out.append(("warning", f"On {len(off)} of {len(toks)} tokens ({', '.join(_label(t) for t in off[:20])}"
                               f"{', …' if len(off) > 20 else ''}) the linearised valence v disagrees with the exact "
                               "v_relax by more than half: v, and m = v / v0 built on it, are unreliable there (✗ in "
                               "the table); v_relax is the measurement to read."))
    unknown = sorted({t["token"] for t in toks if not t["known"]})
    if unknown:
        out.append(("warning", f"Not in the vocabulary (read as <unk>): {', '.join(unknown)}."))
    if all(t["m"] is None for t in toks):
        out.append(("note", f"Contextual modulation m does not apply to any token here: no token has |v0| above "
                            f"the valence threshold {result['valence_threshold']:.3g}, where the ratio v / v0 would "
                            "be noise."))
    if not exact_on(result):
        out.append(("note", "The exact valence v_relax was not computed: v is not checked against it."))
    return out


def model_card(eng: ContextEngine, settings: Settings) -> list[tuple[str, str]]:
    """(field, value) of the model: name, architecture, data, accuracy, how it was trained (metrics.json), its
    checksum, the neutral input and the reference point the analyses are anchored at."""
    cfg = eng.clf.config
    met_file = settings.path / "metrics.json"
    met = read_json(met_file) if met_file.exists() else {}
    s = eng.summary
    window = "the whole text" if cfg.get("max_len") is None else \
        f"the {'first' if cfg.get('truncate', 'head') == 'head' else 'last'} {cfg['max_len']:,} tokens"
    acc = met.get("test_accuracy")
    seeds = group_of(settings.name, list_models(settings.path.parent))
    over = spread_text(accuracy_spread(seeds[1]), ".1%") if seeds else ""
    return [("Model", settings.name),
            ("Architecture", f"{str(cfg.get('arch', cfg.get('kind', '?'))).upper()} RNN, embedding "
                             f"{cfg.get('embed_dim', '?')}, hidden state {cfg.get('hidden_size', '?')}; "
                             f"vocabulary {len(eng.vocab):,} words; reads {window}"),
            ("Trained on", met.get("dataset") or "not recorded"),
            ("Test accuracy", f"{acc:.1%} on {met.get('test_dataset') or 'its test set'}"
             + (f" (this network over {over})" if over else "") if acc is not None else "not recorded"),
            ("Training command", met.get("command") or "not recorded"),
            ("Device, seed", f"{met.get('device') or 'not recorded'}, seed {met.get('seed', 'not recorded')}"),
            ("Weights checksum", settings.checksum[:16]),
            ("Neutral input x*", str(eng.neutral)),
            ("Reference point h*_ref", f"{s['reference_kind']}, readout {s['reference_readout']:+.3f}, "
                                       f"|λ₁| {s['lambda1_reference']:.4f}"
                                       f"{'' if s.get('reference_stable', True) else ' (unstable)'}")]


def analysis_settings(settings: Settings, result: dict) -> list[tuple[str, str]]:
    """(setting, value) the analysis was measured with: the neutral input, the fixed-point search, v_relax, the
    valence threshold, the tokens read, and where the reading starts when the result says (its "start")."""
    win = result["window"]
    out = [("Neutral input x*", str(result["neutral_input"])),
           ("Fixed-point search", f"{settings.n_seeds:,} seeds from {settings.seed_data() or 'the training data'}"),
           ("Exact v_relax", f"on ({result['relax_steps']} neutral steps)" if exact_on(result) else "off"),
           ("Valence threshold for m", f"{result['valence_threshold']:.3g}"),
           ("Tokens analysed", f"{win['start'] + 1:,}-{win['end']:,} of {win['n_text_tokens']:,}")]
    start = result.get("start")
    if start:
        out.append(("Start state h₀", f"{start['description']} (readout {start['readout']:+.3f})"))
    return out


def reproduce_command(settings: Settings, text: str, result: dict, out_name: str) -> str:
    """The `python -m core report` command that measures this analysis again (every value shell-quoted)."""
    model = settings.name if settings.path.parent.resolve() == MODELS_DIR.resolve() else str(settings.path)
    args = [model, "--text", text, "--out", out_name, "--neutral", str(result["neutral_input"])]
    if settings.n_seeds != DEFAULT_SEEDS:
        args += ["--n-seeds", str(settings.n_seeds)]
    if settings.data:
        args += ["--data", settings.data]
    if not exact_on(result):
        args.append("--fast")
    start = result.get("start") or {}
    if start.get("kind") == "readout":
        args += ["--start-readout", repr(start["value"])]
    elif start.get("kind") == "after":
        args += ["--start-after", start["value"]]
    return f"{COMMAND} " + " ".join(shlex.quote(a) for a in args)


@functools.lru_cache(maxsize=1)
def code_version() -> str | None:
    """The checkout's commit (short hash), or None where git or the history is not at hand. Asked once per
    process, read-only (no index refresh, so it never takes git's lock)."""
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5, check=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# ---- pieces -------------------------------------------------------------------------------------------
def _label(t: dict) -> str:
    return f"{t['index']}: {t['token']}"


def _num(v: float | None, spec: str = ".3f") -> str:
    return "" if v is None else format(v, spec)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>\n{body}\n</section>"


def _dl(rows: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def _figure(svg: str, caption: str) -> str:
    return f'<figure><div class="scroll">{svg}</div><figcaption>{escape(caption)}</figcaption></figure>'


def _warnings_html(result: dict, notes: Sequence[str]) -> str:
    items = report_warnings(result, notes)
    if not items:
        return '<p class="none">None: the reference point is sound, v agrees with v_relax on every token, every ' \
               "token is in the vocabulary and the whole text was read.</p>"
    return '<ul class="warnings">' + "".join(f'<li class="{k}">{escape(t)}</li>' for k, t in items) + "</ul>"


def _modes_text(modes: list[dict]) -> str:
    """The modes a token excites as 'a (τ timescale, |c| amplitude)', an unstable mode with its growth time."""
    def time(d: dict) -> str:
        if d.get("unstable"):
            return f"grows ×e in {d['growth']:.0f}"
        return f"τ {'∞' if d['timescale'] is None else format(d['timescale'], '.1f')}"
    return ", ".join(f"{d['mode']} ({time(d)}, |c| {d['amplitude']:.2g})" for d in modes)


def _token_table(result: dict) -> str:
    """Every token's numbers, as the Phrase page's table (unknown words marked)."""
    head = ["#", "token", "y", "dy", "v", "v_relax", "v ≈ v_relax", "v0", "m", "modulation", "deflection",
            "top modes"]
    text_cols = {"token", "modulation", "top modes"}   # left-aligned
    rows = []
    for t in result["tokens"]:
        token = escape(t["token"]) + ("" if t["known"] else ' <span class="unk">(unknown)</span>')
        cells = [str(t["index"]), token, _num(t["y"]), _num(t["dy"]), _num(t["v"]), _num(t["v_relax"]),
                 {None: "", True: "✓", False: "✗"}[t["linear_ok"]], _num(t["v0"]), _num(t["m"]),
                 escape(modulation_class(t["m"]) or ""), _num(t["deflection"]), escape(_modes_text(t["modes"]))]
        rows.append("<tr>" + "".join(f'<td{CLASS_TEXT if h in text_cols else ""}>{c}</td>'
                                     for h, c in zip(head, cells)) + "</tr>")
    ths = "".join(f'<th{CLASS_TEXT if h in text_cols else ""}>{escape(h)}</th>' for h in head)
    return (f'<div class="scroll"><table><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="small">y: readout after the token; dy: its change; v: persistent valence (linearised at the '
            "nearest fixed point); v_relax: the exact one; v0: context-free valence; m = v / v0 (empty where |v0| is "
            "below the valence threshold); deflection: distance of the state from the attractor; top modes: the "
            "slow eigenmodes the state excites (0 = slowest), with their timescale in tokens and amplitude |c|; "
            "(unknown): not in the vocabulary, read as &lt;unk&gt;.</p>")


def _charts_html(eng: ContextEngine, result: dict) -> list[str]:
    """The Phrase page's charts as figures: the readout after each token, v and v0, the modulation m, the
    deflection, and the phrase's path on the attractor plane."""
    toks = result["tokens"]
    labels = [_label(t) for t in toks]
    readout = line_chart(labels, [Series("readout y", [t["y"] for t in toks], Y_COLOR, tips=[
        f"{_label(t)}\nreadout y = {t['y']:.3f} (change {t['dy']:+.3f})" for t in toks])],
        "Readout after each token", "readout y(h_t)", rules=[0.0])
    valence = bar_chart(labels, [Series("v (in context)", [t["v"] for t in toks], V_COLOR),
                                 Series("v0 (no context)", [t["v0"] for t in toks], V0_COLOR)],
                        "Persistent valence v and context-free valence v0", "valence (logit units)")
    if any(t["m"] is not None for t in toks):
        classes = [modulation_class(t["m"]) for t in toks]   # None (no bar) where m is not defined
        m = Series("m", [t["m"] for t in toks], MODULATION_COLORS[ABOUT_ONE], colors=[MODULATION_COLORS.get(c, "") for c in classes],
                   tips=[f"{_label(t)}\nm = {_num(t['m'])}\n{c}" for t, c in zip(toks, classes)])
        chart = bar_chart(labels, [m], "Contextual modulation m = v / v0", "m", rules=[1.0],
                          legend=list(MODULATION_COLORS.items()))
        modulation = _figure(chart, "m = 1: context changes nothing; below 0 the word is flipped, between 0 and 1 "
                                    "weakened, above 1 strengthened. No bar where |v0| is below the valence "
                                    "threshold (the ratio would be noise).")
    else:
        modulation = '<p class="none">No token has |v0| above the valence threshold: m is not defined here.</p>'
    deflection = bar_chart(labels, [Series("deflection", [t["deflection"] for t in toks], DEFLECTION_COLOR, tips=[
        f"{_label(t)}\ndeflection = {t['deflection']:.3f}\ntop modes: {_modes_text(t['modes'])}" for t in toks])],
        "Deflection off the attractor", "deflection ||h_t - h*(h_t)||")
    named = f"; the first {MAX_LABELLED} tokens named, every one in its tooltip" if len(toks) > MAX_LABELLED else ""
    return [_section("Readout after each token", _figure(readout, "The readout y after each token; above 0 the "
                                                                  "text reads positive.")),
            _section("Persistent valence v and context-free v0", _figure(
                valence, "v: what the token adds to the final readout in this context; v0: what it adds on its "
                         "own, from the reference point.")),
            _section("Contextual modulation", modulation),
            _section("Deflection off the attractor", _figure(
                deflection, "How far the token pushes the state off the attractor (its fixed and slow points): "
                            "modifiers push it off for a few tokens.")),
            _section("The phrase on the attractor", _figure(_attractor_svg(eng, result), (
                "Fixed points (circles) and slow points (triangles) in their first two principal components, "
                "coloured by their readout (the reference point drawn large), and the states this phrase visits "
                f"(black){named}. "
                "Valence words move the state along the attractor; modifiers push it off for a few tokens.")))]


def _attractor_svg(eng: ContextEngine, result: dict) -> str:
    """The attractor's points coloured by readout, and the phrase's path from its start state."""
    pts = attractor_points(eng, cells=DRAWN_CELLS)   # points on top of one another drawn once
    limit = float(max(abs(pts["readout"]).max(), 1e-9))
    ref = pts["reference"]
    dots = [Dot(float(x), float(y), diverging(float(r), limit),
                f"{kind}{' (the reference point)' if i == ref else ''}\nreadout {r:+.2f}",
                triangle=kind == "slow point", large=i == ref)
            for i, ((x, y), r, kind) in enumerate(zip(pts["pc"], pts["readout"], pts["kind"]))]
    toks = result["tokens"]
    tips = ["(start)"] + [f"step {t['index'] + 1}: {t['token']}\nreadout after it {t['y']:+.3f}" for t in toks]
    names = ["(start)"] + [t["token"] for t in toks[:MAX_LABELLED]]
    legend = [(f"readout {v:+.1f}", diverging(v, limit)) for v in (-limit, -limit / 2, 0.0, limit / 2, limit)]
    return path_scatter(dots, [tuple(p) for p in result["trajectory_pc"]], tips, names,
                        "The phrase on the attractor", "attractor PC 1 (readout grows to the right)",
                        "attractor PC 2", legend=legend)


# ---- writing ------------------------------------------------------------------------------------------
def check_target(path: str | Path) -> Path:
    """The report's file, checked before anything is computed or written: ValueError where it names a folder or
    lies in a folder that does not exist (nothing is created on the way)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give the report's file name, e.g. {path / 'report.html'}")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {path.parent} does not exist: create it first, or write the report elsewhere")
    return path


def write_report(path: str | Path, html: str) -> Path:
    """Write the report atomically (a temp file in the same folder, then os.replace: a reader never sees half a
    file and a failure leaves nothing behind); ValueError for a target check_target refuses or that cannot be
    written."""
    path = check_target(path)
    try:
        atomic_write_text(path, html)
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror or e}") from None
    return path


# ---- command line -------------------------------------------------------------------------------------
def add_parser(sub) -> argparse.ArgumentParser:
    """The `report` subcommand on the CLI's subparsers, with the `phrase` command's analysis options (the CLI
    adds the start options it shares with `phrase`)."""
    r = sub.add_parser("report", help="one self-contained HTML file of a phrase's per-token analysis (charts, table, "
                       "model card, settings, warnings), readable offline, with no script")
    r.add_argument("model")
    r.add_argument("--text", required=True, help="the phrase to analyse")
    r.add_argument("--out", required=True, type=Path, help="the HTML file to write (its folder must exist)")
    r.add_argument("--data", default=None, help="texts seeding the fixed-point search (default: training data)")
    r.add_argument("--data-root", default=None)
    r.add_argument("--n-seeds", type=int, default=DEFAULT_SEEDS)
    r.add_argument("--neutral", default=None, help="neutral input x* of fixed points and neutral steps, as for "
                   "`phrase`: quiet, zero, mean or a filler word (default: the model's config, else quiet)")
    r.add_argument("--fast", action="store_true", help="skip the exact v_relax check (the slow part)")
    return r


def run(args: argparse.Namespace, start: Start | None = None) -> int:
    """Analyse the phrase, read from `start` (None: the model's initial state), and write the report; ValueError
    (exit 2, nothing written) for an empty text, a target in a missing folder or an unknown model."""
    out = check_target(args.out)
    if not tokenize(args.text):
        raise ValueError("--text has no tokens: nothing to analyse")
    settings = Settings.of(args.model, neutral=args.neutral, n_seeds=args.n_seeds, data=args.data,
                           data_root=args.data_root)
    eng = engine(settings, log=lambda m: print(m, file=sys.stderr))
    res = eng.phrase(args.text, exact=not args.fast, start=start)
    html = phrase_report(eng, settings, args.text, res, out_name=out.name)
    write_report(out, html)
    print(f"wrote {out} ({len(html.encode('utf-8')):,} bytes): P(positive) = {res['p_pos']:.3f}")
    return 0
