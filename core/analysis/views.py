"""What the pages show, reduced from the analyses.

The explorer's pages read widgets, call the engine and draw; every reduction between an analysis result and a
chart or a table lives here (no Streamlit): the attractor plane of a dynamics result, the slowest modes at the
reference point, the modulation class of a token, the fitted position curve, what the stored analyses of a set
of models depend on, which comparisons are current, which models a page offers... Each function takes plain
results (dicts, tensors, a ContextEngine) and returns plain Python or numpy values, so it is unit-tested on
hand-made inputs (tests/test_views.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from core.analysis.context import M_BAND
from core.analysis.dynamics import attractor_plane, largest_modulus, mode_time, model_reach_warnings
from core.analysis.modifiers import fitted_timescale
from core.analysis.settings import COMPARE_VERSION, MODIFIERS_VERSION, SOLVER_VERSION, Settings
from core.data import toy
from core.data.loaders import DataError, load_dataset
from core.data.text import Vocab, tokenize
from core.models.store import load_model, model_checksum
from core.storage.cache import SHIPPED_DIR

# The modulation classes of a token (modulation_class), in the order the pages' legends list them.
FLIPPED, ATTENUATED, ABOUT_ONE, AMPLIFIED = ("flipped (m < 0)", "attenuated (0 ≤ m < 1)",
                                             f"about 1 (|m - 1| ≤ {M_BAND})", "amplified (m > 1)")
MODULATION_CLASSES = (FLIPPED, ATTENUATED, ABOUT_ONE, AMPLIFIED)
MODULATION_COLORS = dict(zip(MODULATION_CLASSES, ("#d62728", "#ff7f0e", "#999999", "#1f77b4")))   # pages and reports
DRAWN_CELLS = 80   # a chart draws the attractor once per 1/80 of its plane's width and height (about a mark's size)
# Which model kinds a page offers beside an RNN, by their role in a comparison.
COMPARISON_KINDS = {"bow": ("bow", "bigram"), "aug": ("augmented",)}


class Attractor(Protocol):
    """What attractor_points and trajectory read from a core.analysis.context.ContextEngine."""
    points: torch.Tensor
    readout_fp: torch.Tensor
    summary: dict
    ref: int
    vocab: Vocab

    def project(self, h: torch.Tensor) -> torch.Tensor: ...

    def run(self, ids: list[int]) -> torch.Tensor: ...

    def y(self, h: torch.Tensor) -> torch.Tensor: ...


# ---- dynamics -----------------------------------------------------------------------------------
def dynamics_view(res: dict, model_dir: str | Path, w: torch.Tensor | None = None) -> dict:
    """A dynamics result (core.analysis.dynamics.dynamics) reduced to what the Dynamics page shows, as numpy
    arrays: the fixed and slow points in the attractor plane ("pc", fixed points first; an LSTM's h and c each on
    its own scale, PC1 growing with the readout), their readouts, |λ₁| (of the tracked integration mode), stability
    (every mode: the largest |λ| at most 1 + tolerance), kind and index among their
    kind, the reference point's row, the slow points' q (NaN for fixed points),
    the reference point's eigenvalues and the warnings when its integration mode does not reach the readout.
    w: the model's readout vector over its full state (loaded from model_dir when not given)."""
    w = load_model(model_dir).model.readout_vector()[0] if w is None else w
    s = res["summary"]
    d = lambda k: res[k].double()
    pts = torch.cat([d("points"), d("slow_points")])
    mu, axes = attractor_plane(pts, d("state_scale"), w)
    n_fixed, n_slow = res["points"].shape[0], res["slow_points"].shape[0]
    lambda1 = torch.cat([d("lambda1"), d("slow_lambda1")]).numpy()
    top = largest_modulus(res)
    top = lambda1 if top is None else top
    return {"summary": s, "pc": ((pts / d("state_scale") - mu) @ axes.T).numpy(),
            "readout": torch.cat([d("readout"), d("slow_readout")]).numpy(), "lambda1": lambda1,
            "stable": top <= 1 + s["stable_tolerance"], "reference": int(s["reference_index"]),
            "kind": ["fixed point"] * n_fixed + ["slow point"] * n_slow,
            "index": list(range(n_fixed)) + list(range(n_slow)),
            "q": np.concatenate([np.full(n_fixed, np.nan), d("slow_q").numpy()]),
            "ref_eigvals": d("ref_eigvals").numpy(), "reach_warnings": model_reach_warnings(res, model_dir, w)}


def slowest_modes(eigvals: np.ndarray, n: int) -> list[dict]:
    """The first `n` eigenvalues (rows of [Re, Im], slowest first) as the Dynamics page charts them: {"mode",
    "tokens" (τ of a stable mode, inf where |λ| = 1; the growth time of an unstable one), "|λ|", "kind"}."""
    out = []
    for a, (re, im) in enumerate(np.asarray(eigvals)[:n]):
        t = mode_time(complex(re, im))
        tokens = t["growth"] if t["unstable"] else math.inf if t["timescale"] is None else t["timescale"]
        out.append({"mode": a, "tokens": tokens, "|λ|": float(math.hypot(re, im)),
                    "kind": "unstable: growth time" if t["unstable"] else "stable: timescale τ"})
    return out


def attractor_points(eng: Attractor, cells: int | None = None) -> dict:
    """The engine's fixed and slow points in its attractor plane: {"pc" (K, 2), "readout" (K,), "kind" (fixed
    point / slow point), "reference" (the reference point's row), "n_points" (how many the engine has)}.

    cells: draw each point that is not on top of another: the plane is cut into cells x cells squares over its
    range and one point is kept per square and kind (the first; the reference point always), so a chart draws
    the attractor's shape, its ends and its stray points with a few hundred marks instead of ~2,000 overlapping
    ones (a page redraws them on every edit). None: every point."""
    pc = eng.project(eng.points).numpy()
    n_fixed = len(pc) - int(eng.summary.get("n_slow_points", 0))
    kind = np.arange(len(pc)) >= n_fixed
    keep = np.arange(len(pc))
    if cells:
        lo, span = pc.min(0), np.maximum(np.ptp(pc, 0), 1e-12)
        cell = np.minimum((cells * (pc - lo) / span).astype(np.int64), cells - 1)
        key = (cell[:, 0] * cells + cell[:, 1]) * 2 + kind
        _, first = np.unique(key, return_index=True)
        keep = np.union1d(first, [int(eng.ref)])
    return {"pc": pc[keep], "readout": eng.readout_fp.numpy()[keep],
            "kind": ["slow point" if kind[i] else "fixed point" for i in keep],
            "reference": int(np.searchsorted(keep, int(eng.ref))), "n_points": len(pc)}


def trajectory(eng: Attractor, tokens: list[str]) -> dict:
    """The states an RNN visits reading `tokens`, from its initial state, in the engine's attractor plane:
    {"pc" (T + 1, 2), "readout" (T + 1,), "token" ("(start)" then the tokens)}."""
    states = eng.run(eng.vocab.encode(tokens))
    return {"pc": eng.project(states).numpy(), "readout": eng.y(states).numpy(), "token": ["(start)"] + list(tokens)}


# ---- context ------------------------------------------------------------------------------------
def modulation_class(m: float | None) -> str | None:
    """The class of a contextual modulation m = v / v0 (one of MODULATION_CLASSES; None where m is not defined):
    below 0 flipped, within M_BAND of 1 about 1, above that amplified, else attenuated."""
    if m is None:
        return None
    if m < 0:
        return FLIPPED
    if abs(m - 1) <= M_BAND:
        return ABOUT_ONE
    return AMPLIFIED if m > 1 else ATTENUATED


def agrees(v: float, v_relax: float, tol: float = 0.5) -> bool:
    """Whether a linear valence v and the exact v_relax have one sign and differ by at most tol x |v_relax|."""
    return bool(np.sign(v) == np.sign(v_relax) and abs(v - v_relax) <= tol * abs(v_relax))


def toy_rule_factor(text: str) -> float:
    """What the toy grammar does to the last (valence) word of a phrase: its modified value over its own value."""
    tokens = text.split()
    return toy.score(tokens) / toy.VALENCE[tokens[-1]]


def flip_reach(distances: list[int], ms: list[float | None]) -> int:
    """The largest distance at which the modulation m is still negative (the word still flipped); 0 if none."""
    return max((d for d, m in zip(distances, ms) if m is not None and not math.isnan(m) and m < 0), default=0)


def unknown_tokens(text: str, vocab: Vocab) -> list[str]:
    """The distinct tokens of `text` a model reads as <unk>, sorted."""
    return sorted({t for t in tokenize(text) if t not in vocab})


def split_known(words: tuple[str, ...], vocab: Vocab) -> tuple[tuple[str, ...], list[str]]:
    """(the words in the vocabulary, the others), each in the given order."""
    return tuple(w for w in words if w in vocab), [w for w in words if w not in vocab]


# ---- position -----------------------------------------------------------------------------------
def fit_curve(side: dict, xs: np.ndarray) -> np.ndarray:
    """c + a exp(-x / tau), a side's fitted position curve (logits) at distances xs (from its first point); NaN
    everywhere where the curve is flat within noise or the fit does not describe it
    (core.analysis.modifiers.fitted_timescale)."""
    xs = np.asarray(xs, dtype=np.float64)
    tau = fitted_timescale(side) if side["varies"] else None
    return np.full(len(xs), np.nan) if tau is None else side["asymptote"] + side["amplitude"] * np.exp(-xs / tau)


# ---- modifiers ----------------------------------------------------------------------------------
def modifier_points(res: dict | None) -> list[dict]:
    """The modifiers of a modifier analysis in their subspace: {"word", "class", "strength", "PC1", "PC2"} each
    (none when no analysis is stored)."""
    return [] if res is None else [{"word": m["word"], "class": m["class"], "strength": m["strength"],
                                    "PC1": m["pc"][0], "PC2": m["pc"][1]} for m in res["modifiers"]]


# ---- models and stored analyses -----------------------------------------------------------------
def comparison_choices(models: list[dict]) -> dict[str, list[str]]:
    """The names of the models a page offers beside an RNN, by role ("bow": plain and bigram bag-of-words,
    "aug": context-augmented), in listing order."""
    return {role: [m["name"] for m in models if m["kind"] in kinds] for role, kinds in COMPARISON_KINDS.items()}


def shipped_stamp(models: list[dict]) -> tuple:
    """What stored analyses of these models depend on: each model's name, weights checksum and the names of the
    analysis files shipped in its folder. A page recomputes its rows when the stamp changes."""
    return tuple((m["name"], model_checksum(m["path"]),
                  tuple(sorted(p.name for p in (Path(m["path"]) / SHIPPED_DIR).glob("*.pt")))) for m in models)


def comparison_runs(runs: list[dict], variants: tuple[str, ...], top: int) -> tuple[list[dict], list[dict]]:
    """(full, sweep) of a model's stored comparisons: full, those that cover every variant; sweep, those with
    another number of modifiers K than `top`, and the full ones (the points of the K sweep)."""
    full = [r for r in runs if set(r["settings"]["variants"]) >= set(variants)]
    return full, [r for r in runs if r["settings"]["top"] != top or r in full]


def stale_versions(settings: dict) -> dict | None:
    """None when a stored comparison was measured with this engine's solver, modifier analysis and comparison; else
    {"solver", "modifiers", "compare"} it was measured with and {"solver_now", "modifiers_now", "compare_now"}."""
    if Settings.is_current(settings):
        return None
    return {"solver": settings.get("solver"), "modifiers": settings.get("modifiers"),
            "compare": settings.get("version"), "solver_now": SOLVER_VERSION, "modifiers_now": MODIFIERS_VERSION,
            "compare_now": COMPARE_VERSION}


def source_text(index: int, texts: list[str] | None, data: str, fallback: str) -> str:
    """The full text of row `index` of an error analysis: from the uploaded `texts`, else from the dataset `data`,
    else `fallback` (the row's shortened text) when the dataset is not on this machine."""
    if texts is not None:
        return texts[index]
    try:
        return load_dataset(data).texts[index]
    except DataError:
        return fallback
