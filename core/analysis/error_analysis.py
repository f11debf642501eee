"""Error analysis: where an RNN and its bag-of-words models go wrong, by mechanism.

Every text is scored by the RNN, the plain bag-of-words trained on the same data and the
context-augmented BoW built from the RNN (`core.models.store.pairing`), and put in mechanism slices computed
on the tokens the RNN reads (its window): a negator or an intensifier shortly before a strong valence
word, a contrast word, a long text, a strong valence word at the start or the end. Strong valence
words are the RNN's own: its most strongly valenced vocabulary words by context-free valence |v0|
(`ContextEngine.v0_all`), so the slices follow what this network treats as sentiment-bearing.
Uploaded files are parsed here too (`parse_upload`), refused whole with one specific message.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np

from core.analysis.context import engine
from core.analysis.settings import Settings
from core.data.loaders import DataError, _parse_label, load_dataset
from core.data.readers import MAX_TEXT_CHARS, Limits, Source, read_rows
from core.data.text import tokenize, truncate_tokens
from core.models.store import list_models, load_model, pairing

# Token lexicons; the tokenizer splits "cannot" into "can not" and "don't" into "do n't", so "not" and "n't" cover them.
NEGATORS = ("not", "n't", "no", "never", "nothing", "none", "nobody", "neither", "nor", "without",
            "hardly", "barely")
INTENSIFIERS = ("very", "really", "so", "extremely", "too", "incredibly", "absolutely", "truly", "highly",
                "quite", "totally", "most", "especially", "remarkably")
CONTRAST = ("but", "although", "though", "however", "yet", "whereas", "despite")
MODIFIER_SPAN = 3       # a negator/intensifier counts when at most this many tokens before a valence word
EDGE_TOKENS = 5         # strong_start / strong_end look at the first / last this many tokens read
LONG_FACTOR = 2.0       # without a window, "long" is longer than this times the median length
N_VALENCE = 300         # strong valence words: the top N by |beta| of the plain BoW (else the RNN's |v0|)
N_FREQUENT = 5000       # ... among this many most frequent words, plus the common words below
# Everyday sentiment words (this project's own short list): a model's largest weights favour rarer words
# ("squanders", "devoid"), while "not good" is the negation people mean; both count as strong valence words.
COMMON_VALENCE = (
    "good", "great", "excellent", "wonderful", "amazing", "awesome", "best", "better", "fun", "funny", "enjoy",
    "enjoyable", "enjoyed", "love", "loved", "like", "liked", "beautiful", "brilliant", "perfect", "interesting",
    "entertaining", "nice", "fine", "superb", "fantastic", "masterpiece", "moving", "charming", "delightful",
    "hilarious", "worth", "recommend", "pleasant", "powerful", "impressive", "clever", "smart", "solid", "engaging",
    "compelling", "touching", "memorable", "favorite", "happy", "sweet", "fresh", "original", "worthy", "right",
    "bad", "worst", "worse", "terrible", "awful", "horrible", "boring", "bored", "dull", "poor", "poorly", "stupid",
    "waste", "wasted", "mess", "fails", "failed", "lame", "weak", "annoying", "disappointing", "disappointed",
    "disappointment", "mediocre", "bland", "pointless", "predictable", "tedious", "ugly", "hate", "hated", "silly",
    "ridiculous", "unfunny", "painful", "cheap", "forgettable", "flat", "awkward", "wrong", "sad", "worthless",
    "dumb", "crap", "garbage", "unwatchable", "problem", "problems", "mistake")
N_VALENCE_SHOWN = 50    # how many of them the result lists
BATCH = 500             # texts scored per progress report
TEXT_CHARS = 300        # characters of each text kept in the rows
UPLOAD_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json")

SLICES = {
    "all": "every text",
    "negator": f"a negator ({', '.join(NEGATORS)}) at most {MODIFIER_SPAN} tokens before a strong valence word",
    "intensifier": f"an intensifier ({', '.join(INTENSIFIERS)}) at most {MODIFIER_SPAN} tokens before a strong "
                   "valence word",
    "contrast": f"a contrast word ({', '.join(CONTRAST)})",
    "long": "more tokens than the RNN's window (truncated), or, without a window, longer than "
            f"{LONG_FACTOR:g}x the median text",
    "strong_start": f"a strong valence word among the first {EDGE_TOKENS} tokens read",
    "strong_end": f"a strong valence word among the last {EDGE_TOKENS} tokens read",
}


# ---- uploads ----------------------------------------------------------------------------------------
def parse_upload(filename: str, raw: bytes, max_bytes: int = 20_000_000,
                 max_rows: int = 50_000) -> tuple[list[str], list[int]]:
    """(texts, 0/1 labels) of an uploaded CSV, TSV, JSONL or JSON-list file with a text and a label
    column (detected by name as core.data.loaders does; labels 0/1, neg/pos, negative/positive, true/false).
    Anything wrong raises DataError naming the file (and row): all or nothing, never a partial load."""
    name = str(filename) or "upload"   # as the browser gave it (a file name, no folder), so messages show it as named
    ext = Path(name).suffix.lower()
    if ext not in UPLOAD_EXTENSIONS:
        raise DataError(f"{name}: unsupported file type {ext or '(no extension)'!r}; "
                        f"upload {', '.join(UPLOAD_EXTENSIONS)}")
    if len(raw) > max_bytes:
        raise DataError(f"{name}: {len(raw) / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit")
    texts, labels = [], []
    for row in read_rows(Source(raw, name, Limits(max_bytes, max_rows, MAX_TEXT_CHARS))):
        texts.append(row.text)
        labels.append(_parse_label(row.label, row.where))
    if not texts:
        raise DataError(f"{name}: no rows after the header")
    return texts, labels


# ---- slices -----------------------------------------------------------------------------------------
def _before_valence(tokens: list[str], words: set[str], valence: set[str]) -> bool:
    """Whether a word of `words` comes 1..MODIFIER_SPAN tokens before a valence word."""
    return any(tok in valence and any(w in words for w in tokens[max(0, t - MODIFIER_SPAN):t])
               for t, tok in enumerate(tokens))


def slices_of(tokens: list[str], valence: set[str], long: bool = False) -> list[str]:
    """The mechanism slices (in SLICES order, without `all`) of the tokens a model reads."""
    member = {
        "negator": _before_valence(tokens, set(NEGATORS), valence),
        "intensifier": _before_valence(tokens, set(INTENSIFIERS), valence),
        "contrast": any(t in CONTRAST for t in tokens),
        "long": long,
        "strong_start": any(t in valence for t in tokens[:EDGE_TOKENS]),
        "strong_end": any(t in valence for t in tokens[-EDGE_TOKENS:]),
    }
    return [s for s in SLICES if member.get(s)]


def long_flags(n_tokens: list[int], max_len: int | None) -> list[bool]:
    """Which texts are long: truncated by the window max_len, or without one longer than
    LONG_FACTOR x the median length of these texts."""
    if max_len is not None:
        return [n > max_len for n in n_tokens]
    limit = LONG_FACTOR * float(np.median(n_tokens)) if n_tokens else 0.0
    return [n > limit for n in n_tokens]


def valence_words(eng, n: int = N_VALENCE, bow=None, frequent: int = N_FREQUENT) -> list[str]:
    """The n strongest valence words among the `frequent` most frequent ones, plus the COMMON_VALENCE words
    in the vocabulary, strongest first: by |beta| of
    the plain bag-of-words when one is given (what the dataset's words weigh, the same yardstick for every
    model compared), else by the RNN's |v0| (its context-free valence, which a reference point away from 0
    compresses). Only words above a tenth of the 99th percentile of that score count (a small vocabulary
    such as the toy's has fewer strong words than n). The slices' own lexicon words (negators,
    intensifiers, contrast) are left out: "not so" is not "not good"."""
    lexicon = set(NEGATORS) | set(INTENSIFIERS) | set(CONTRAST)
    if bow is not None:
        vocab, score = bow.vocab, np.abs(np.asarray(bow.beta, np.float64))
    else:
        vocab, score = eng.vocab, np.abs(eng.v0_all.numpy())
    head = score[2:min(len(score), frequent + 2)]          # vocabularies are ordered by frequency
    if not len(head):
        return []
    threshold = 0.1 * float(np.quantile(head, 0.99))
    top = [i + 2 for i in np.argsort(-head, kind="stable")[:n] if head[i] > threshold]
    common = [vocab.stoi[w] for w in COMMON_VALENCE if w in vocab and score[vocab.stoi[w]] > threshold]
    chosen = sorted(set(top) | set(common), key=lambda i: -score[i])
    return [vocab.itos[i] for i in chosen if vocab.itos[i] not in lexicon]


# ---- scoring ----------------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95% Wilson score interval of a proportion k / n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def model_scores(name: str, role: str, pred: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy with its Wilson interval and the confusion counts (positive = label 1)."""
    correct = int((pred == labels).sum())
    return {"name": name, "role": role, "accuracy": correct / len(labels), "accuracy_ci": wilson(correct, len(labels)),
            "confusion": {"tp": int(((pred == 1) & (labels == 1)).sum()), "fp": int(((pred == 1) & (labels == 0)).sum()),
                          "tn": int(((pred == 0) & (labels == 0)).sum()), "fn": int(((pred == 0) & (labels == 1)).sum())}}


def _models(rnn: str, bow: str | None, aug: str | None) -> list[tuple[object, str]]:
    """(classifier, role) of the RNN and its comparison models; None = the RNN's pairing, "none" = left out.
    A model folder outside models/ pairs with the models beside it."""
    clf = load_model(rnn)
    if clf.kind != "rnn":
        raise ValueError(f"{clf.name} is a {clf.kind} model: error analysis takes an RNN")
    chosen = {"bow": bow, "aug": aug}
    if None in chosen.values():
        paired = pairing(clf.name, list_models(clf.path.parent))
        for role, m in chosen.items():
            if m is None and paired[role] is not None:
                chosen[role] = str(clf.path.parent / paired[role])
    out = [(clf, "rnn")] + [(load_model(m), role) for role, m in chosen.items() if m not in (None, "none")]
    names = [c.name for c, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"models must have distinct names, got {names}")
    return out


def error_analysis(rnn: str, data: str | None = None, texts: list[str] | None = None,
                   labels: list[int] | None = None, bow: str | None = None, aug: str | None = None,
                   data_root: str | None = None, limit: int | None = None,
                   progress: Callable[[float, str], None] | None = None, n_valence: int = N_VALENCE) -> dict:
    """Accuracy, confusion and per-slice error rates of an RNN and its bag-of-words models on a named
    dataset (or path) `data`, or on texts + labels; every row with each model's P(positive). JSON-able.
    limit: a random sample of N texts (seed 0; rows keep their index in the full set); progress(fraction,
    message) is called after every batch of BATCH texts."""
    if (data is None) == (texts is None):
        raise ValueError("give either data (a dataset name or path) or texts and labels")
    if data is not None:
        ds = load_dataset(data, data_root)
        texts, y = ds.texts, ds.labels
        if (y < 0).any():
            raise DataError(f"{data} has unlabelled examples: nothing to compare predictions with")
    else:
        if labels is None or len(labels) != len(texts):
            raise ValueError("texts and labels must have the same length")
        y = np.asarray(labels, dtype=np.int64)
        if not np.isin(y, (0, 1)).all():
            raise ValueError("labels must be 0 or 1")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    index = np.arange(len(texts))
    if limit is not None and limit < len(texts):   # a random sample: test sets are often sorted by label
        index = np.sort(np.random.default_rng(0).choice(len(texts), limit, replace=False))
        texts, y = [texts[i] for i in index], y[index]
    if not texts:
        raise ValueError("no texts to analyse")
    report = progress or (lambda f, m: None)
    models = _models(rnn, bow, aug)
    rnn_clf = models[0][0]

    bow_clf = next((clf for clf, role in models if role == "bow"), None)
    if bow_clf is not None:
        valence, source = valence_words(None, n_valence, bow=bow_clf), f"|beta| of {bow_clf.name}"
    else:
        report(0.0, f"{rnn_clf.name}: loading the dynamics analysis")
        valence = valence_words(engine(Settings.of(rnn_clf.path, data_root=data_root)), n_valence)
        source = f"|v0| of {rnn_clf.name}"
    vset = set(valence)
    max_len, trunc = rnn_clf.config.get("max_len"), rnn_clf.config.get("truncate", "head")
    report(0.0, f"slices of {len(texts):,} texts")
    all_tokens = [tokenize(t) for t in texts]
    n_tokens = [len(t) for t in all_tokens]
    member = [slices_of(truncate_tokens(toks, max_len, trunc), vset, lg)
              for toks, lg in zip(all_tokens, long_flags(n_tokens, max_len))]
    del all_tokens

    n, steps = len(texts), len(models) * math.ceil(len(texts) / BATCH)
    probs, done = {}, 0
    for clf, _ in models:
        p = np.empty(n)
        for i in range(0, n, BATCH):
            p[i:i + BATCH] = clf.predict_proba(texts[i:i + BATCH]).numpy()
            done += 1
            report(done / steps, f"{clf.name}: {min(i + BATCH, n):,} / {n:,} texts")
        probs[clf.name] = p
    pred = {m: (p > 0.5).astype(np.int64) for m, p in probs.items()}
    right = {m: pr == y for m, pr in pred.items()}

    names = [clf.name for clf, _ in models]
    roles = {role: clf.name for clf, role in models}
    other = roles.get("bow") or roles.get("aug")
    disagree = pred[names[0]] != pred[other] if other else np.zeros(n, dtype=bool)
    slices = []
    for s, desc in SLICES.items():
        idx = np.arange(n) if s == "all" else np.array([i for i, ms in enumerate(member) if s in ms], dtype=np.int64)
        slices.append({"name": s, "description": desc, "n": int(len(idx)),
                       "error_rates": {m: float((~right[m][idx]).mean()) if len(idx) else None for m in names}})
    rows = [{"index": int(index[i]), "text": texts[i][:TEXT_CHARS], "n_tokens": n_tokens[i], "label": int(y[i]),
             "p": {m: round(float(probs[m][i]), 4) for m in names},
             "correct": {m: bool(right[m][i]) for m in names},
             "slices": member[i], "disagree": bool(disagree[i])} for i in range(n)]
    return {"data": data if data is not None else "uploaded", "n": n,
            "models": [model_scores(clf.name, role, pred[clf.name], y) for clf, role in models],
            "slices": slices, "disagreements": int(disagree.sum()), "rows": rows,
            "valence_words": valence[:N_VALENCE_SHOWN], "valence_source": source, "window": max_len}
