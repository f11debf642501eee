"""Two phrases side by side (issue 18): both read from one start, their tokens aligned, and what each aligned
token does compared (B minus A).

A minimal edit ("good" -> "not good", one word swapped) changes a few tokens; aligning the two token lists
(difflib's SequenceMatcher: equal, inserted, deleted and replaced runs) puts the unchanged tokens side by side,
so the difference of their valence v shows how the edit changed what the *other* words do, and the final
readouts show what it did to the verdict.
"""
from __future__ import annotations

from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from core.analysis.context import NEUTRAL_TOKEN
from core.analysis.start import Start
from core.data.text import tokenize

if TYPE_CHECKING:
    from core.analysis.context import ContextEngine

NEGATIONS = ("not", "n't", "never", "no")   # minimal_edit drops the first of these, else puts "not" in front


def align(a: list[str], b: list[str]) -> list[dict]:
    """The two token lists aligned, in reading order: one row per aligned position, {"op", "a", "b"} with the
    token's index in A and in B (None on the side it is missing from). op is "equal", "insert" (only in B),
    "delete" (only in A) or "replace" (a token of A replaced by one of B); a replaced run of unequal lengths
    pairs its tokens in order and lists the rest as deleted or inserted."""
    rows: list[dict] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        n = max(i2 - i1, j2 - j1)
        for k in range(n):
            i = i1 + k if i1 + k < i2 else None
            j = j1 + k if j1 + k < j2 else None
            kind = op if op != "replace" else "replace" if i is not None and j is not None else \
                "delete" if j is None else "insert"
            rows.append({"op": kind, "a": i, "b": j})
    return rows


def _difference(b: float | None, a: float | None) -> float | None:
    """b - a, a missing side counting 0 (an inserted token adds its whole value, a deleted one removes it)."""
    return (b or 0.0) - (a or 0.0)


def compare_phrases(eng: ContextEngine, a: str, b: str, start: Start | None = None, exact: bool = True) -> dict:
    """ContextEngine.phrase on texts A and B from the same start, aligned token by token. Returns
    {"a", "b": the two phrase results; "start": where both start (the phrase result's "start");
    "alignment": one row per aligned position, {"position", "op", "a", "b" (token indices or None), "token_a",
    "token_b", "y_a", "y_b" (readout after the token), "v_a", "v_b", "dv" (v_b - v_a), "v_relax_a", "v_relax_b",
    "dv_relax" (None unless exact)}, where a side the token is missing from counts 0 in a difference;
    "p_pos", "logit": {"a", "b", "diff" (B - A)}; "n_changed": the aligned positions that are not equal}."""
    ra, rb = eng.phrase(a, exact=exact, start=start), eng.phrase(b, exact=exact, start=start)
    ta, tb = ra["tokens"], rb["tokens"]
    rows = []
    for position, row in enumerate(align([t["token"] for t in ta], [t["token"] for t in tb])):
        x = ta[row["a"]] if row["a"] is not None else {}
        y = tb[row["b"]] if row["b"] is not None else {}
        rows.append({
            "position": position, **row, "token_a": x.get("token"), "token_b": y.get("token"),
            "y_a": x.get("y"), "y_b": y.get("y"), "v_a": x.get("v"), "v_b": y.get("v"),
            "dv": _difference(y.get("v"), x.get("v")),
            "v_relax_a": x.get("v_relax"), "v_relax_b": y.get("v_relax"),
            "dv_relax": _difference(y.get("v_relax"), x.get("v_relax")) if exact else None})
    return {"a": ra, "b": rb, "start": ra["start"], "alignment": rows,
            "p_pos": {"a": ra["p_pos"], "b": rb["p_pos"], "diff": rb["p_pos"] - ra["p_pos"]},
            "logit": {"a": ra["logit"], "b": rb["logit"], "diff": rb["logit"] - ra["logit"]},
            "n_changed": sum(r["op"] != "equal" for r in rows)}


def replace_token(text: str, index: int, replacement: str) -> str:
    """The text's tokens, joined by spaces, with token `index` replaced by `replacement` (one or more words, or
    NEUTRAL_TOKEN: the neutral input x* itself). Tokens joined by spaces tokenize to themselves, so the result
    reads exactly as the edit says."""
    tokens = tokenize(text)
    if not 0 <= index < len(tokens):
        raise ValueError(f"token index must be in 0..{len(tokens) - 1}, not {index}")
    new = tokenize(replacement)
    if not new:
        raise ValueError("the replacement has no tokens (to drop a token, edit the text)")
    return " ".join(tokens[:index] + new + tokens[index + 1:])


def neutral_replacement(eng: ContextEngine) -> tuple[str, str]:
    """(token, label) that stands for "the neutral input" in a text: NEUTRAL_TOKEN, which the engine reads as
    x* itself, whatever x* is (a filler word's embedding, zero, the quiet or the mean input)."""
    return NEUTRAL_TOKEN, f"{NEUTRAL_TOKEN} (the neutral input x* = {eng.neutral}, read as its input vector)"


def minimal_edit(text: str) -> str:
    """A one-token edit of a text, as the second phrase's default: its first negation dropped, or "not" put in
    front when it has none ("good" -> "not good")."""
    tokens = tokenize(text)
    i = next((k for k, t in enumerate(tokens) if t in NEGATIONS), None)
    return " ".join(tokens[:i] + tokens[i + 1:]) if i is not None else " ".join(["not"] + tokens)
