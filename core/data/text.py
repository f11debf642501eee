"""Tokenizer and vocabulary shared by every model and dataset.

The tokenizer makes negation its own token ("didn't" -> "did", "n't"; Penn Treebank style, as in
SST) so that modifiers are words the analysis can find, and it gives the same tokens for raw IMDB
HTML text, pre-tokenized SST text and whatever a user types.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from core.storage.io import atomic_write_text

PAD, UNK = "<pad>", "<unk>"

_TAGS = re.compile(r"<\s*br\s*/?\s*>|</?(?:p|i|b|em|strong|hr|span|div|a)(?:\s[^<>]*)?/?>", re.I)
_CHAR_MAP = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u0060": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": " - ", "\u2212": "-", "\u0096": "-", "\u0097": " - ",
    "\u0085": " ", "\u00a0": " ", "\u2026": "...",
})
_PTB = [(re.compile(r"-lrb-"), "("), (re.compile(r"-rrb-"), ")"),
        (re.compile(r"-lsb-"), "["), (re.compile(r"-rsb-"), "]"),
        (re.compile(r"``|''"), '"'), (re.compile(r"\\([/*])"), r"\1")]  # PTB escapes \/ and \*
_SPECIAL_NEG = [
    (re.compile(r"\bcan't\b|\bcant\b"), "ca n't"),
    (re.compile(r"\bwon't\b|\bwont\b"), "wo n't"),
    (re.compile(r"\bain't\b|\baint\b"), "ai n't"),
    (re.compile(r"\bshan't\b"), "sha n't"),
    (re.compile(r"\bcannot\b"), "can not"),
]
_BREAK_RUNS = (["<", "br", ">"], ["<", "br", "/", ">"])
_CATEGORY_SUB = {"Cc": " ", "Zl": " ", "Zp": " ", "Cf": ""}
_NT = re.compile(r"([^\W_])n't\b")
# Apostrophe-less negations that are common in reviews ("dont", "didnt", ...).
_NT_BARE = re.compile(r"\b(do|does|did|is|are|was|were|have|has|had|could|would|should|must|need)nt\b")
_CLITIC = re.compile(r"([^\W_])'(s|re|ve|ll|d|m)\b")
_TOKEN = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|[^\W_]+(?:[-'][^\W_]+)*|\.\.\.|[^\s]")


def normalize(text: str) -> str:
    """Unicode-normalise, strip HTML breaks/tags, lower-case; control and line-separator characters
    become spaces, invisible format characters (soft hyphen, zero-width, BOM) are dropped."""
    text = html.unescape(_TAGS.sub(" ", text))
    text = text.translate(_CHAR_MAP)
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    text = "".join(_CATEGORY_SUB.get(unicodedata.category(ch), ch) for ch in text)
    return text.lower()


def tokenize(text: str) -> list[str]:
    """Split text into tokens: words, punctuation, and clitics ("n't", "'s") as their own tokens."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a string, got {type(text).__name__}")
    text = normalize(text)
    for pat, rep in _PTB:
        text = pat.sub(rep, text)
    for pat, rep in _SPECIAL_NEG:
        text = pat.sub(rep, text)
    text = _NT.sub(r"\1 n't", text)
    text = _NT_BARE.sub(r"\1 n't", text)
    text = _CLITIC.sub(r"\1 '\2", text)
    return _drop_breaks(_TOKEN.findall(text))


def _drop_breaks(tokens: list[str]) -> list[str]:
    """Tokens without the line breaks ("<", "br", ["/",] ">") that only appear as one after normalising: an
    escaped "&lt;br&gt;", a tag split by an invisible character or nested in another ("<<br>br>"). Then the
    tokens joined by spaces tokenize to themselves (the HTML tags are gone whatever the spelling)."""
    out: list[str] = []
    for tok in tokens:
        out.append(tok)
        if tok == ">":
            for run in _BREAK_RUNS:
                if out[-len(run):] == run:
                    del out[-len(run):]
                    break
    return out


class Vocab:
    """Token <-> id map with `<pad>` = 0 and `<unk>` = 1."""

    def __init__(self, itos: Sequence[str]):
        itos = list(itos)
        if not all(isinstance(w, str) for w in itos):
            raise ValueError("vocabulary tokens must be strings")
        if itos[:2] != [PAD, UNK]:
            raise ValueError(f"vocabulary must start with {PAD!r}, {UNK!r}")
        if len(set(itos)) != len(itos):
            raise ValueError("vocabulary has duplicate tokens")
        self.itos = itos
        self.stoi = {w: i for i, w in enumerate(itos)}

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_count: int = 2,
              max_size: int | None = None) -> "Vocab":
        """Most frequent tokens with count >= min_count (ties broken alphabetically), capped at max_size."""
        counts = Counter(t for toks in token_lists for t in toks)
        items = sorted(((w, c) for w, c in counts.items() if c >= min_count and w not in (PAD, UNK)),
                       key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            items = items[: max(0, max_size - 2)]
        return cls([PAD, UNK] + [w for w, _ in items])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, 1) for t in tokens]

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps({"itos": self.itos}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> "Vocab":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict) or not isinstance(data.get("itos"), list):
            raise ValueError(f"{path}: not a vocabulary file (expected {{\"itos\": [...]}})")
        return cls(data["itos"])


def truncate_tokens(seq: list, max_len: int | None, truncate: str = "head") -> list:
    """The first (truncate="head") or last ("tail") max_len items of seq; all of them if max_len is None."""
    if max_len is None or len(seq) <= max_len:
        return seq
    return seq[:max_len] if truncate == "head" else seq[-max_len:]


def encode_texts(texts: Sequence[str], vocab: Vocab, max_len: int | None = None,
                 truncate: str = "head") -> list[list[int]]:
    """Tokenize and encode; keep the first (truncate="head") or last ("tail") max_len tokens."""
    if truncate not in ("head", "tail"):
        raise ValueError(f"truncate must be 'head' or 'tail', not {truncate!r}")
    return [truncate_tokens(vocab.encode(tokenize(text)), max_len, truncate) for text in texts]
