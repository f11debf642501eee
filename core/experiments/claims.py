"""The papers' claims, one by one, against what is stored for one network: a ledger (issue 17, item 8).

Paper A: Maheswaranathan & Sussillo, "How recurrent networks implement contextual processing in sentiment
analysis", ICML 2020. Paper B: Maheswaranathan, Williams, Golub, Ganguli & Sussillo, "Reverse engineering recurrent
networks for sentiment classification reveals line attractor dynamics", NeurIPS 2019.

Each claim (`CLAIMS`) gets the figure measured on this network, its interval where it has one, and a verdict by a
rule stated in words (`Claim.rule`; the Method page lists them all):

  reproduced / partly / contradicted   what the figure says, by the rule
  does not apply                       the analysis does not apply to this network (the integration mode at the
                                       reference does not reach the readout), or there is nothing to judge (fewer
                                       than 2 classes of modifiers, no RNN-BoW gap to recover, ...)
  not measured                         the stored analysis lacks the figure (`python -m core ship MODEL`)

The rules are pure functions of plain figures (`judge_*`, one per claim), apart from the reading of the stored
analyses (`read`, which computes nothing: stored_only), so each rule can be tested on hand-worked cases.
`ledger(settings)` = `assess(read(settings))`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.analysis.api import modifiers, position, stored_dynamics
from core.analysis.attractor import GAPPED, LEAKY, LINE, ONE_SIDED, attractor_figures
from core.analysis.dynamics import model_reach_warnings
from core.analysis.modifiers import fitted_timescale, measured_modifiers
from core.analysis.settings import Settings
from core.experiments.universality import KNOWN, stored_gap   # the comparison universality shows
from core.models.store import load_model, read_json

REPRODUCED, PARTLY, CONTRADICTED = "reproduced", "partly", "contradicted"
DOES_NOT_APPLY, NOT_MEASURED = "does not apply", "not measured"
VERDICTS = (REPRODUCED, PARTLY, CONTRADICTED, DOES_NOT_APPLY, NOT_MEASURED)

PAPERS = {"A": "Maheswaranathan & Sussillo, How recurrent networks implement contextual processing in sentiment "
               "analysis, ICML 2020",
          "B": "Maheswaranathan, Williams, Golub, Ganguli & Sussillo, Reverse engineering recurrent networks for "
               "sentiment classification reveals line attractor dynamics, NeurIPS 2019"}

# ---- the thresholds of the rules ----------------------------------------------------------------------------
LOWDIM_K = 3                 # principal components counted
LOWDIM_REPRODUCED = 0.80     # share of visited-state variance on the top LOWDIM_K PCs (paper B: about 90%)
LOWDIM_PARTLY = 0.50
SUPPRESS = 0.25              # M(1) under this: the next word is flipped (M(1) < 0) or suppressed to under a quarter
MATERIAL = 0.10              # a change of the next word's valence smaller than this is not an effect of note
TRANSIENT_RATIO = 0.10       # modifiers' median timescale at most this share of the integration timescale
TRANSIENT_FITTED = 0.50      # ... with at least this share of the listed modifiers described by a decay
SUBSPACE_MIN = 4             # modifiers needed to judge the subspace
SILHOUETTE_REPRODUCED = 0.50
SILHOUETTE_PARTLY = 0.25
GAP_CLAIMED = 0.90           # paper A: the augmented BoW recovers more than 90% of the BoW -> RNN gap

NEGATOR, INTENSIFIER = "not", "very"          # the papers' own examples, judged first where listed
NEGATORS, INTENSIFIERS = KNOWN["negators"], KNOWN["intensifiers"]
SHORT_KIND = {LINE: "line", LEAKY: "slow manifold", GAPPED: "gapped", ONE_SIDED: "one-sided"}


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: its key, a short title, the claim in words, the paper ("A" or "B"), the rule that
    turns the figure into a verdict (in words), and the stored analysis the figure comes from."""
    key: str
    title: str
    claim: str
    paper: str
    rule: str
    source: str


CLAIMS = (
    Claim("line-attractor", "line attractor",
          "Sentiment is integrated along an approximate line attractor: fixed and slow points cover the readout "
          "range, marginally stable along it.", "B",
          f"By the attractor rule of the Method page (What the attractor is): '{LINE}' is {REPRODUCED}; '{LEAKY}' "
          f"(points all along, but not marginal near readout 0, or the reference leaks) is {PARTLY}; '{GAPPED}' or "
          f"'{ONE_SIDED}' is {CONTRADICTED}; no stored dynamics analysis: {NOT_MEASURED}.",
          "dynamics: attractor figures (core.analysis.attractor)"),
    Claim("low-dimensional", "low-dimensional states",
          "The states the network visits on real text are low-dimensional: a few principal components explain "
          "most of their variance (about 90% on the top 2-3).", "B",
          f"The share of visited-state variance on the top {LOWDIM_K} principal components: at least "
          f"{LOWDIM_REPRODUCED:.0%} is {REPRODUCED}, at least {LOWDIM_PARTLY:.0%} {PARTLY}, under that "
          f"{CONTRADICTED}; not stored: {NOT_MEASURED}.",
          "dynamics: summary pc_variance_explained"),
    Claim("negators", "negators flip or suppress",
          "Negators such as 'not' flip the valence of the words after them or suppress it.", "A",
          f"The word judged is '{NEGATOR}' (listed, or measured on the network as one of the papers' words), else the "
          f"known negator "
          f"({', '.join(w for w in NEGATORS if w != NEGATOR)}) or word of class negator with the lowest M(1) "
          f"(M(1) = 1 + strength, the exact strength where stored). Its 95% interval of M(1) entirely under "
          f"{SUPPRESS:g} (flipped, or suppressed to under a quarter) is {REPRODUCED}; entirely under "
          f"{1 - MATERIAL:g} (attenuated, not flipped) is {PARTLY}; otherwise, or no such word listed, "
          f"{CONTRADICTED}. A word that is not a known negator, or that does not stand out from ordinary words of its own "
          f"valence, gives "
          f"at most {PARTLY}. {DOES_NOT_APPLY.capitalize()} where the modifier analysis does not apply; no stored "
          f"modifier analysis: {NOT_MEASURED}.",
          "modifiers: listed modifiers' strength"),
    Claim("intensifiers", "intensifiers amplify",
          "Intensifiers such as 'very' amplify the valence of the words after them.", "A",
          f"The word judged is '{INTENSIFIER}' (listed, or measured on the network as one of the papers' words), else "
          f"the known intensifier "
          f"({', '.join(w for w in INTENSIFIERS if w != INTENSIFIER)}) or word of class intensifier with the highest "
          f"M(1). Its 95% interval of M(1) entirely above {1 + MATERIAL:g} is {REPRODUCED}; entirely above 1 "
          f"{PARTLY}; otherwise, or no such word listed, {CONTRADICTED}. A word that is not a known intensifier, or "
          f"that does not stand out from ordinary words of its own valence, gives at most {PARTLY}. {DOES_NOT_APPLY.capitalize()} where "
          f"the modifier analysis does not apply; no stored modifier analysis: {NOT_MEASURED}.",
          "modifiers: listed modifiers' strength"),
    Claim("transient", "modifiers are transient",
          "A modifier's effect is transient: it fades over a few tokens, far faster than the integration "
          "along the attractor.", "A",
          f"The median fitted effect timescale of the listed modifiers (where the exponential fit describes the "
          f"curve) against the integration timescale at the reference: at most {TRANSIENT_RATIO:.0%} of it, with "
          f"at least {TRANSIENT_FITTED:.0%} of the modifiers described by a decay, is {REPRODUCED}; shorter than "
          f"the integration timescale otherwise {PARTLY}; as long or longer, or no modifier's effect decaying like "
          f"an exponential, {CONTRADICTED}. {DOES_NOT_APPLY.capitalize()} with no modifier listed, with every "
          f"listed modifier changing the next word by less than {MATERIAL:.0%}, or where the modifier analysis "
          f"does not apply; no stored modifier or dynamics analysis: {NOT_MEASURED}.",
          "modifiers: timescale and fit; dynamics: integration timescale"),
    Claim("subspace", "modifier subspace separates classes",
          "Modifiers deflect the state into a modifier subspace whose top components separate the classes "
          "(negators on one side, intensifiers on the other).", "A",
          f"The silhouette of the listed modifiers' classes in their first two modifier components (mean over "
          f"modifiers of (b - a) / max(a, b), a the mean distance to its own class, b to the nearest other class): "
          f"at least {SILHOUETTE_REPRODUCED:g} is {REPRODUCED}, at least {SILHOUETTE_PARTLY:g} {PARTLY}, under "
          f"that {CONTRADICTED}. {DOES_NOT_APPLY.capitalize()} with fewer than {SUBSPACE_MIN} modifiers or fewer "
          f"than 2 classes, with every listed modifier changing the next word by less than {MATERIAL:.0%}, or "
          f"where the modifier analysis does not apply; no stored modifier analysis: {NOT_MEASURED}.",
          "modifiers: pc and class of each listed modifier"),
    Claim("position", "beginning and end of document",
          "Where a word stands matters: words near the beginning and near the end of a document count "
          "differently from words in the middle.", "A",
          f"The stored position curves, in logit units: both the beginning and the end curve varying beyond their "
          f"noise is {REPRODUCED}, one of them {PARTLY}, neither {CONTRADICTED}. "
          f"{DOES_NOT_APPLY.capitalize()} where the position analysis does not apply; no stored position analysis, "
          f"or one stored before the curves were in logit units (no 'varies'): {NOT_MEASURED}.",
          "position: begin and end curves (varies)"),
    Claim("augmented-bow", "augmented BoW recovers > 90%",
          "A bag-of-words augmented with the RNN's modifiers and position effects recovers more than 90% of the "
          "accuracy gap between a bag-of-words and the RNN.", "A",
          f"The 'full' augmented BoW's gap recovered, (acc_aug - acc_BoW) / (acc_RNN - acc_BoW), from the stored "
          f"comparison, with its bootstrap 95% interval: the interval entirely at or above {GAP_CLAIMED:.0%} is "
          f"{REPRODUCED}, entirely under it {CONTRADICTED}, across it {PARTLY} (without an interval: {PARTLY} at or "
          f"above, {CONTRADICTED} under). {DOES_NOT_APPLY.capitalize()} where the RNN does not clearly beat the BoW "
          f"(the gap's own interval reaches 0: no gap to recover); no stored comparison: {NOT_MEASURED}.",
          "compare: stored comparisons (core.experiments.compare)"),
)
BY_KEY = {c.key: c for c in CLAIMS}
MODIFIER_CLAIMS = ("negators", "intensifiers", "transient", "subspace")   # does not apply with the modifier analysis


# ---- results of the rules -------------------------------------------------------------------------------------
def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _interval(ci) -> list[float] | None:
    """A [low, high] pair of finite numbers, or None."""
    if ci is None or len(ci) != 2 or not all(_finite(v) for v in ci):
        return None
    return [float(ci[0]), float(ci[1])]


def result(verdict: str, why: str, measured=None, measured_text: str = "-", interval=None, interval_text: str = "-",
           interval_note: str | None = None, figures: dict | None = None, field: str | None = None) -> dict:
    """What a rule returns: the verdict and why, the figure (`measured`, a number or a word; `measured_text`, as
    shown), its interval with what kind of interval it is, the supporting figures, and the stored field used."""
    assert verdict in VERDICTS, verdict
    return {"verdict": verdict, "why": why, "measured": measured, "measured_text": measured_text,
            "interval": _interval(interval), "interval_text": interval_text if _interval(interval) else "-",
            "interval_note": interval_note if _interval(interval) else None, "figures": figures or {},
            "field": field}


def not_measured(why: str) -> dict:
    return result(NOT_MEASURED, why)


def does_not_apply(why: str, **kw) -> dict:
    return result(DOES_NOT_APPLY, why, **kw)


def _num(v, fmt: str) -> str:
    return "-" if not _finite(v) else format(v + 0.0 if v == 0 else v, fmt)


# ---- B: the line attractor ------------------------------------------------------------------------------------
ATTRACTOR_KEYS = ("attractor_kind", "attractor_why", "integration_lambda", "integration_kind", "integration_timescale",
                  "slowest_transient_timescale", "largest_readout_gap", "near_zero_points", "near_zero_marginal_share",
                  "reference_drift_per_doc")


def judge_line_attractor(fig: dict | None) -> dict:
    """Line attractor (paper B) from the attractor figures (core.analysis.attractor.attractor_figures: its
    `attractor_kind` and `attractor_why`); None: not measured."""
    if fig is None:
        return not_measured("no dynamics analysis is stored at these settings")
    kind = fig.get("attractor_kind")
    verdict = {LINE: REPRODUCED, LEAKY: PARTLY, GAPPED: CONTRADICTED, ONE_SIDED: CONTRADICTED}.get(kind)
    if verdict is None:
        return not_measured(f"the stored attractor figures have no known kind ({kind!r})")
    figures = {k: fig.get(k) for k in ATTRACTOR_KEYS}
    return result(verdict, f"{kind}: {fig.get('attractor_why') or ''}".rstrip(": "), measured=kind,
                  measured_text=SHORT_KIND[kind]
                  + f" (gap {_num(fig.get('largest_readout_gap'), '.2f')}, tau {_num(fig.get('integration_timescale'), '.0f')})",
                  figures=figures, field="attractor_kind")


# ---- B: low-dimensional states --------------------------------------------------------------------------------
def judge_low_dimensional(pc_variance: list[float] | None) -> dict:
    """Low-dimensional states (paper B): the explained-variance ratios of the top principal components of the
    visited states (dynamics summary `pc_variance_explained`), largest first; None or empty: not measured."""
    if not pc_variance:
        return not_measured("the stored dynamics summary has no PCA of the visited states")
    k = min(LOWDIM_K, len(pc_variance))
    share = float(sum(pc_variance[:k]))
    verdict = REPRODUCED if share >= LOWDIM_REPRODUCED else PARTLY if share >= LOWDIM_PARTLY else CONTRADICTED
    bar = {REPRODUCED: f"at least {LOWDIM_REPRODUCED:.0%}", PARTLY: f"under {LOWDIM_REPRODUCED:.0%}",
           CONTRADICTED: f"under {LOWDIM_PARTLY:.0%}"}[verdict]
    return result(verdict, f"the top {k} principal components explain {share:.1%} of the visited states' variance "
                           f"({', '.join(f'{v:.1%}' for v in pc_variance[:k])}), {bar}",
                  measured=share, measured_text=f"top {k} PCs {share:.0%}",
                  figures={"pc_variance_explained": [float(v) for v in pc_variance], "k": k},
                  field="pc_variance_explained")


# ---- A: negators and intensifiers -----------------------------------------------------------------------------
def modifier_effect(m: dict) -> tuple[float, list[float] | None, str]:
    """(M(1), its 95% interval, the field used) of a listed modifier: M(1) = 1 + strength, from `strength_exact`
    (measured on the real recurrence) where stored, else the linearised `strength`."""
    if m.get("strength_exact") is not None:
        s, ci, field = m["strength_exact"], m.get("strength_exact_ci") or m.get("strength_ci"), "strength_exact"
    else:
        s, ci, field = m["strength"], m.get("strength_ci"), "strength"
    ci = _interval(ci)
    return 1.0 + float(s), None if ci is None else [1.0 + ci[0], 1.0 + ci[1]], field


def _word_effect(word: dict) -> dict:
    m1, ci, field = modifier_effect(word)
    return {"word": word["word"], "class": word.get("class"), "m1": m1, "m1_ci": ci, "field": field,
            "confirmed_exact": word.get("confirmed_exact")}


def as_listed(known_word: dict) -> dict:
    """A `known_words` row of the modifier analysis (a paper's word measured on the network whether listed or not)
    in the shape of a listed modifier: M(1) with its interval, class against its matched null."""
    return {"word": known_word["word"], "class": known_word["class"], "strength": known_word["m1"] - 1,
            "strength_exact": known_word["m1"] - 1,
            "strength_exact_ci": [known_word["low"] - 1, known_word["high"] - 1],
            "confirmed_exact": known_word["class"] != "none"}


def _judged_word(mods: list[dict], paper_word: str, known: tuple[str, ...], cls: str, lowest: bool) -> dict | None:
    """The word a negator/intensifier rule judges: the paper's own word where listed (or measured as a known word),
    else the known word or word of class `cls` with the lowest (lowest=True) or highest M(1)."""
    cands = [m for m in mods if m["word"] in known or m.get("class") == cls]
    if not cands:
        return None
    own = next((m for m in cands if m["word"] == paper_word), None)
    if own is not None:
        return own
    key = lambda m: modifier_effect(m)[0]
    return min(cands, key=key) if lowest else max(cands, key=key)


def _modifier_verdict(mods: list[dict] | None, paper_word: str, known: tuple[str, ...], cls: str,
                      negator: bool) -> dict:
    what = "negator" if negator else "intensifier"
    if mods is None:
        return not_measured("no modifier analysis is stored at these settings")
    word = _judged_word(mods, paper_word, known, cls, lowest=negator)
    listed = [_word_effect(m) for m in mods if m["word"] in known or m.get("class") == cls]
    if word is None:
        return result(CONTRADICTED, f"no listed modifier is a known {what} ({', '.join(known)}) or of class {cls}: "
                                    f"'{paper_word}' is not listed (not standing out from ordinary words of its valence here, or not measured)",
                      measured_text="none listed", figures={"listed": []})
    m1, ci, field = modifier_effect(word)
    lo, hi = ci if ci is not None else (m1, m1)
    if negator:
        verdict = REPRODUCED if hi < SUPPRESS else PARTLY if hi < 1 - MATERIAL else CONTRADICTED
        does = ("flips the next word" if hi < 0 else f"suppresses the next word to under {SUPPRESS:g}"
                if hi < SUPPRESS else "attenuates the next word" if hi < 1 - MATERIAL
                else f"does not weaken the next word by {MATERIAL:.0%} with confidence")
    else:
        verdict = REPRODUCED if lo > 1 + MATERIAL else PARTLY if lo > 1 else CONTRADICTED
        does = (f"amplifies the next word by more than {MATERIAL:.0%}" if lo > 1 + MATERIAL else
                f"amplifies the next word, possibly by less than {MATERIAL:.0%}" if lo > 1 else
                "does not amplify the next word with confidence")
    ci_s = "" if ci is None else f" [{lo:.2f}, {hi:.2f}]"
    why = f"'{word['word']}' ({word.get('class')}): M(1) {m1:.2f}{ci_s}, it {does}"
    caps = []
    if word["word"] not in known:
        caps.append(f"'{word['word']}' is not a known {what} ({', '.join(known)})")
    if word.get("confirmed_exact") is False:
        caps.append("it does not stand out from ordinary words of its own valence (its matched null) on the network")
    if caps and verdict == REPRODUCED:
        verdict = PARTLY
    if caps:
        why += "; " + "; ".join(caps)
    if field == "strength":
        why += " (linearised strength: no exact strength stored)"
    return result(verdict, why, measured=m1, measured_text=f"M(1) {m1:.2f} ({word['word']})", interval=ci,
                  interval_text=ci_s.strip() or "-", interval_note="95% interval across starting states",
                  figures={"word": word["word"], "class": word.get("class"), "listed": listed}, field=field)


def judge_negators(mods: list[dict] | None, known_words: list[dict] | None = None) -> dict:
    """Negators flip or suppress (paper A), from the listed modifiers (each with word, class, strength or
    strength_exact, and their interval) and the known words measured whether listed or not (`known_words` rows of
    the modifier analysis, added where not listed); None: not measured."""
    return _modifier_verdict(_with_known(mods, known_words), NEGATOR, NEGATORS, "negator", negator=True)


def judge_intensifiers(mods: list[dict] | None, known_words: list[dict] | None = None) -> dict:
    """Intensifiers amplify (paper A), as judge_negators."""
    return _modifier_verdict(_with_known(mods, known_words), INTENSIFIER, INTENSIFIERS, "intensifier", negator=False)


def _with_known(mods: list[dict] | None, known_words: list[dict] | None) -> list[dict] | None:
    if mods is None:
        return None
    listed = {m["word"] for m in mods}
    return mods + [as_listed(k) for k in known_words or [] if k["word"] not in listed]


def _weak(mods: list[dict]) -> bool:
    """Every listed modifier changes the next word's valence by less than MATERIAL."""
    return all(abs(modifier_effect(m)[0] - 1.0) < MATERIAL for m in mods)


# ---- A: modifiers are transient -------------------------------------------------------------------------------
def judge_transient(mods: list[dict] | None, integration_timescale: float | None, measured: bool = True) -> dict:
    """Modifiers are transient (paper A): the listed modifiers' fitted effect timescales (`timescale` where its
    `fit_r2` describes the curve) against the integration timescale at the reference (tokens; None = infinite,
    |lambda_1| = 1). measured=False: no dynamics analysis, so no integration timescale (not measured)."""
    if mods is None:
        return not_measured("no modifier analysis is stored at these settings")
    if not measured:
        return not_measured("no dynamics analysis is stored at these settings (no integration timescale)")
    if not mods:
        return does_not_apply("no modifier is listed at this network")
    if _weak(mods):
        return does_not_apply(f"every listed modifier changes the next word by less than {MATERIAL:.0%}: no "
                              "modifier effect of note to time")
    taus = {m["word"]: fitted_timescale(m) for m in mods}
    fitted = [t for t in taus.values() if t is not None]
    share = len(fitted) / len(mods)
    tau_int = integration_timescale
    tau_int_s = "infinite" if tau_int is None else f"{tau_int:.0f} tokens"
    figures = {"timescales": taus, "fitted_share": share, "integration_timescale": tau_int}
    if not fitted:
        return result(CONTRADICTED, f"none of the {len(mods)} listed modifiers' effect curves decays like an "
                                    "exponential (no fitted timescale)", measured_text="no decay", figures=figures,
                      field="timescale")
    med = float(np.median(fitted))
    ratio = 0.0 if tau_int is None else med / tau_int
    if ratio <= TRANSIENT_RATIO and share >= TRANSIENT_FITTED:
        verdict = REPRODUCED
    elif ratio < 1.0:
        verdict = PARTLY
    else:
        verdict = CONTRADICTED
    figures.update(median_timescale=med, ratio=ratio, range=[min(fitted), max(fitted)])
    return result(verdict, f"median effect timescale {med:.1f} tokens over {len(fitted)} of {len(mods)} listed "
                           f"modifiers with a fitted decay ({share:.0%}; range {min(fitted):.1f} .. "
                           f"{max(fitted):.1f}), against an integration timescale of {tau_int_s} "
                           f"(ratio {ratio:.3f})", measured=med,
                  measured_text=f"tau {med:.1f} vs {'inf' if tau_int is None else format(tau_int, '.0f')}",
                  figures=figures, field="timescale")


# ---- A: the modifier subspace ---------------------------------------------------------------------------------
def silhouette(points: np.ndarray, labels: list) -> float:
    """Mean silhouette of labelled points (Euclidean): per point (b - a) / max(a, b), a its mean distance to the
    other points of its label, b the smallest mean distance to another label's points; 0 for a point alone in its
    label (the usual convention). Needs at least 2 labels."""
    x = np.asarray(points, dtype=np.float64).reshape(len(labels), -1)
    lab = np.asarray(labels)
    names = list(dict.fromkeys(labels))
    if len(names) < 2:
        raise ValueError("a silhouette needs at least 2 labels")
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    s = np.zeros(len(lab))
    for i in range(len(lab)):
        own = (lab == lab[i])
        own[i] = False
        if not own.any():
            continue
        a = d[i, own].mean()
        b = min(d[i, lab == n].mean() for n in names if n != lab[i])
        s[i] = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
    return float(s.mean())


def cluster_purity(clusters: list, labels: list) -> float:
    """The share of points whose label is their cluster's most common label."""
    total = 0
    for c in set(clusters):
        members = [lab for cl, lab in zip(clusters, labels) if cl == c]
        total += max(members.count(lab) for lab in set(members))
    return total / len(labels)


def judge_subspace(mods: list[dict] | None) -> dict:
    """The modifier subspace separates the classes (paper A): the silhouette of the listed modifiers' classes at
    their coordinates on the first two modifier components (`pc`); None: not measured."""
    if mods is None:
        return not_measured("no modifier analysis is stored at these settings")
    placed = [m for m in mods if m.get("pc") is not None]
    classes = sorted({m["class"] for m in placed})
    counts = {c: sum(m["class"] == c for m in placed) for c in classes}
    if len(placed) < SUBSPACE_MIN:
        return does_not_apply(f"{len(placed)} listed modifier{'s' if len(placed) != 1 else ''}: the subspace is "
                              f"judged from {SUBSPACE_MIN} or more", figures={"classes": counts})
    if len(classes) < 2:
        return does_not_apply(f"every listed modifier is of one class ({classes[0]}): nothing to separate",
                              figures={"classes": counts})
    if _weak(placed):
        return does_not_apply(f"every listed modifier changes the next word by less than {MATERIAL:.0%}: no "
                              "modifier effect of note to place", figures={"classes": counts})
    labels = [m["class"] for m in placed]
    s = silhouette(np.array([m["pc"] for m in placed]), labels)
    verdict = REPRODUCED if s >= SILHOUETTE_REPRODUCED else PARTLY if s >= SILHOUETTE_PARTLY else CONTRADICTED
    figures = {"silhouette": s, "classes": counts}
    extra = ""
    if all(m.get("cluster") is not None for m in placed):
        figures["cluster_purity"] = cluster_purity([m["cluster"] for m in placed], labels)
        extra = f"; the UMAP clusters are {figures['cluster_purity']:.0%} pure in class"
    return result(verdict, f"silhouette {s:.2f} of {len(placed)} modifiers in {len(classes)} classes ("
                           + ", ".join(f"{c} {n}" for c, n in counts.items()) + ") on the first two modifier "
                           "components" + extra, measured=s, measured_text=f"silhouette {s:.2f}", figures=figures,
                  field="pc")


# ---- A: beginning and end of the document ---------------------------------------------------------------------
POSITION_KEYS = ("varies", "asymptote", "amplitude", "timescale", "r2", "range", "noise", "timescale_at_limit")


def judge_position(pos: dict | None) -> dict:
    """Beginning- and end-of-document effects (paper A) from the stored position curves: each side ("begin",
    "end") with `varies` (whether the curve varies beyond its noise) and its fit (asymptote, amplitude, timescale,
    r2, in logit units). None, or sides without `varies` (an analysis stored before the logit-unit curves): not
    measured."""
    if pos is None:
        return not_measured("no position analysis is stored at these settings")
    sides = {side: pos.get(side) or {} for side in ("begin", "end")}
    if any("varies" not in s for s in sides.values()):
        return not_measured("the stored position analysis predates the curves in logit units (no 'varies'): "
                            "re-ship the model to measure it")
    varying = [side for side, s in sides.items() if s["varies"]]
    verdict = REPRODUCED if len(varying) == 2 else PARTLY if varying else CONTRADICTED

    def text(side: str) -> str:
        s = sides[side]
        if not s["varies"]:
            return f"{side} flat"
        return f"{side} a {_num(s.get('amplitude'), '+.2f')} (tau {_num(s.get('timescale'), '.1f')})"

    figures = {side: {k: s.get(k) for k in POSITION_KEYS} for side, s in sides.items()}
    why = (f"{' and '.join(varying) if varying else 'neither curve'} "
           f"{'vary beyond their' if len(varying) == 2 else 'varies beyond its'} noise; "
           + "; ".join(text(side) for side in sides) + " (logits, tokens)")
    return result(verdict, why, measured=len(varying), measured_text=", ".join(text(side) for side in sides),
                  figures=figures, field="varies")


# ---- A: the augmented bag-of-words ----------------------------------------------------------------------------
def judge_augmented_bow(gap: dict | None) -> dict:
    """The augmented BoW recovers more than 90% of the BoW -> RNN gap (paper A), from a stored comparison's
    `full` variant: gap_recovered, gap_ci (bootstrap 95%), gap_too_small (the RNN's gain over the BoW has an
    interval reaching 0), and data / top / current for the record. None: not measured."""
    if gap is None:
        return not_measured("no comparison with the bag-of-words models is stored for these weights")
    g, ci = gap.get("gap_recovered"), _interval(gap.get("gap_ci"))
    figures = {k: gap.get(k) for k in ("data", "top", "accuracy", "rnn_accuracy", "bow_accuracy", "current")}
    where = f" on {gap.get('data')}" + ("" if gap.get("current", True) else " (measured with an earlier engine)")
    if gap.get("gap_too_small"):
        return does_not_apply(f"the RNN does not clearly beat the BoW{where} (the interval of its gain reaches 0): "
                              "there is no gap to recover", measured=g, measured_text=f"{_num(g, '.0%')} (no gap)",
                              figures=figures)
    if not _finite(g):
        return not_measured(f"the stored comparison{where} has no gap recovered")
    if ci is None:
        verdict = PARTLY if g >= GAP_CLAIMED else CONTRADICTED
        why = f"gap recovered {g:.0%}{where}, without an interval"
    else:
        lo, hi = ci
        verdict = REPRODUCED if lo >= GAP_CLAIMED else CONTRADICTED if hi < GAP_CLAIMED else PARTLY
        rel = {REPRODUCED: "entirely at or above", CONTRADICTED: "entirely under", PARTLY: "across"}[verdict]
        why = f"gap recovered {g:.0%} [{lo:.0%}, {hi:.0%}]{where}: the interval lies {rel} {GAP_CLAIMED:.0%}"
    return result(verdict, why, measured=g, measured_text=f"{g:.0%} recovered", interval=ci,
                  interval_text="-" if ci is None else f"[{ci[0]:.0%}, {ci[1]:.0%}]",
                  interval_note="bootstrap 95% interval over test examples", figures=figures,
                  field="gap_recovered")


# ---- reading and assembling -----------------------------------------------------------------------------------
def read(s: Settings, log=None) -> dict:
    """What the claims are judged from, read from storage only (the local cache or the model's shipped
    analyses; nothing is computed): the dynamics summary, the attractor figures, the modifier and position
    analyses, the stored comparison's gap, and why the position analysis (and a modifier analysis not measured
    exactly) does not apply (the integration mode at the reference does not reach the readout), if it does not. ValueError for a model that
    is not an RNN."""
    cfg = read_json(s.path / "config.json")
    if cfg.get("kind") != "rnn":
        raise ValueError(f"{s.name} is a {cfg.get('kind')} model: the papers' claims are about recurrent networks "
                         "(line attractors, modifiers); ask about an RNN (its BoW comparison is in "
                         "`python -m core claims RNN`)")
    dyn = stored_dynamics(s, log=log)
    reach = [] if dyn is None else model_reach_warnings(dyn, s.path)
    return {"model": s.name, "neutral_input": s.neutral,
            "summary": None if dyn is None else dyn["summary"],
            "attractor": None if dyn is None else attractor_figures(dyn, load_model(s.path)),
            "modifiers": modifiers(s, stored_only=True, log=log),
            "position": position(s, stored_only=True, log=log),
            "gap": stored_gap(s.path, s.test_data()),
            "not_applicable": reach[0] if reach else None}


def assess(material: dict) -> list[dict]:
    """The ledger from what `read` returns (or the same keys gathered elsewhere, as docs/results.md does): one
    entry per claim, in CLAIMS order, with key, title, claim, paper, measured, measured_text, interval,
    interval_text, interval_note, verdict, rule, why, source, figures."""
    mods_res = material.get("modifiers")
    mods = None if mods_res is None else list(mods_res["modifiers"])
    fig = material.get("attractor")
    summary = material.get("summary")
    judged = {
        "line-attractor": judge_line_attractor(fig),
        "low-dimensional": judge_low_dimensional(None if summary is None else summary.get("pc_variance_explained")),
        "negators": judge_negators(mods, None if mods_res is None else mods_res.get("known_words")),
        "intensifiers": judge_intensifiers(mods, None if mods_res is None else mods_res.get("known_words")),
        "transient": judge_transient(mods, None if fig is None else fig.get("integration_timescale"),
                                     measured=fig is not None),
        "subspace": judge_subspace(mods),
        "position": judge_position(material.get("position")),
        "augmented-bow": judge_augmented_bow(material.get("gap")),
    }
    na = material.get("not_applicable")
    if na:   # the position curves divide by the linear valence; modifiers count only where measured exactly
        exact = mods_res is not None and measured_modifiers(mods_res, [na]) is not None
        for key in ("position",) if exact else (*MODIFIER_CLAIMS, "position"):
            judged[key] = does_not_apply(f"the {'position' if key == 'position' else 'modifier'} analysis does "
                                         f"not apply here: {na}")
    out = []
    for c in CLAIMS:
        r = judged[c.key]
        field = r.pop("field")
        source = c.source + ("" if r["verdict"] in (NOT_MEASURED, DOES_NOT_APPLY) or not field else
                             f" [{field}]")
        out.append({"key": c.key, "title": c.title, "claim": c.claim, "paper": c.paper, **r, "rule": c.rule,
                    "source": source})
    return out


def ledger(s: Settings, log=None) -> list[dict]:
    """The papers' claims on one RNN at these settings, from its stored analyses (see the module docstring)."""
    return assess(read(s, log))


def cell(entry: dict) -> str:
    """An entry in a few words: its verdict and figure (docs/results.md's table)."""
    shown = entry["measured_text"] if entry["measured_text"] != "-" else ""
    return entry["verdict"] + (f": {shown}" if shown else "")


def table(entries: list[dict], name: str, neutral: str | None = None, rules: bool = False) -> str:
    """The ledger as text: one line per claim, then why each verdict, then (rules=True) each rule."""
    head = f"{name}" + (f" (neutral input {neutral})" if neutral else "") + ": the papers' claims, from the stored analyses"
    lines = [head, f"{'claim':<38}{'paper':<6}{'verdict':<16}{'measured':<34}interval"]
    for e in entries:
        lines.append(f"{e['title'][:37]:<38}{e['paper']:<6}{e['verdict']:<16}{e['measured_text'][:33]:<34}"
                     f"{e['interval_text']}")
    lines += ["", "why:"] + [f"  {e['title']}: {e['why']}" for e in entries]
    if rules:
        lines += ["", "rules:"] + [f"  {e['title']} ({e['paper']}): {e['rule']}" for e in entries]
    else:
        lines += ["", "(the rules: --rules, --json, or the Method page's section on the papers' claims)"]
    return "\n".join(lines)
