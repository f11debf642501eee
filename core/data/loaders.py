"""Dataset loaders: named datasets under a data root, or any file/folder a user points at.

Every loader returns a `Dataset` of raw texts and 0/1 labels (-1 for unlabelled). Malformed input
raises `DataError` naming the file and line; loaders never write anything.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from core.data.dataset import DataError, Dataset
from core.data.examples import examples_dataset
from core.data.readers import FILE_LIMITS, Source, read_rows, read_text_file
from core.data.toy import TOY_SPLITS, generate

DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[3] / "shared" / "datasets"
_LABEL_WORDS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1,
                "0.0": 0, "1.0": 1, "false": 0, "true": 1}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $SENTIMENT_DATA_ROOT, else ../shared/datasets."""
    if root:
        return Path(root)
    env = os.environ.get("SENTIMENT_DATA_ROOT")
    return Path(env) if env else DEFAULT_DATA_ROOT


NAMED = {
    "imdb:train": "imdb/train.jsonl.gz", "imdb:test": "imdb/test.jsonl.gz", "imdb:unsup": "imdb/unsup.jsonl.gz",
    "sst2:train": "sst/sst2/train.tsv", "sst2:dev": "sst/sst2/dev.tsv", "sst2:test": "sst/sst2/test.tsv",
    "sst:train": "sst/trees/train.txt", "sst:dev": "sst/trees/dev.txt", "sst:test": "sst/trees/test.txt",
    "rt": "rt_polarity", "mr2": "movie_review_polarity_v2/reviews.jsonl.gz",
    "uci:amazon": "uci_sentiment_labelled/amazon_cells_labelled.jsonl",
    "uci:imdb": "uci_sentiment_labelled/imdb_labelled.jsonl",
    "uci:yelp": "uci_sentiment_labelled/yelp_labelled.jsonl",
    "amazon": "amazon_multidomain_blitzer/reviews.jsonl.gz",
}
GENERATED = ("toy:train", "toy:test", "toy-long:train", "toy-long:test")   # made by core.data.toy: always here
BUILT_IN = ("examples",)   # shipped with the code (core.data.examples): always here
NAMED_HELP = ", ".join(list(NAMED) + ["sst:train:phrases", "amazon:<domain>", *GENERATED, *BUILT_IN])


def dataset_path(spec: str, root: str | os.PathLike | None = None) -> Path | None:
    """Where the named dataset `spec` is read from under the data root (None for a generated or built-in set, and
    for a spec that is not a named dataset: a path is its own place)."""
    base = str(spec).split(":phrases")[0]
    base = "amazon" if base.startswith("amazon:") else base
    return data_root(root) / NAMED[base] if base in NAMED else None


def dataset_available(spec: str, root: str | os.PathLike | None = None) -> bool:
    """Whether load_dataset(spec, root) finds its data on this machine without reading it: generated and built-in
    sets always; a named dataset where its file or folder exists under the data root; a path where it exists."""
    spec = str(spec)
    if spec in GENERATED or spec in BUILT_IN:
        return True
    path = dataset_path(spec, root)
    return (path if path is not None else Path(spec)).exists()


def not_here(specs: list[str], root: str | os.PathLike | None = None) -> str:
    """A sentence for people using the app, not the command line: which of the named datasets `specs` are not on
    this machine and the folder they are read from (no command-line option or variable: the operator who runs
    the app knows where to put them; README, "Data")."""
    names = [f"`{d}`" for d in specs]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (f"{listed} {'is' if len(names) == 1 else 'are'} not on this machine: the app reads datasets from the "
            f"folder `{data_root(root)}`, where the operator who runs the app can put them.")


AMAZON_DOMAINS = ("books", "dvd", "electronics", "kitchen")


def check_dataset(spec: str, root: str | os.PathLike | None = None, need_data: bool = True) -> None:
    """Check a dataset spec before any work, reading nothing: a generated or built-in set, a named dataset (its
    file or folder present under the data root, unless need_data is False: a cached analysis keyed by it may not
    need it), or an existing path. Raises DataError with the reason."""
    spec = str(spec)
    if spec in GENERATED or spec in BUILT_IN:
        return
    if spec.startswith("amazon:") and spec.split(":", 1)[1] not in AMAZON_DOMAINS:
        raise DataError(f"amazon has no domain {spec.split(':', 1)[1]!r} ({', '.join(AMAZON_DOMAINS)})")
    path = dataset_path(spec, root)
    if path is not None:
        if need_data and not path.exists():
            raise DataError(f"dataset {spec!r}: {path} not found (set --data-root or SENTIMENT_DATA_ROOT)")
        return
    if not Path(spec).exists():
        raise DataError(f"{spec!r} is neither a known dataset ({NAMED_HELP}) nor an existing path")


def load_dataset(spec: str, root: str | os.PathLike | None = None, text_col: str | None = None,
                 label_col: str | None = None, sst_phrases: bool = False) -> Dataset:
    """Load a named dataset (see NAMED; `sst:train:phrases` expands every labelled phrase) or a path."""
    spec = str(spec)
    check_dataset(spec, root)
    if spec.endswith(":phrases") and spec.startswith("sst:"):
        spec, sst_phrases = spec[: -len(":phrases")], True
    if spec in BUILT_IN:
        return examples_dataset()
    if spec in GENERATED:
        n, seed, run = TOY_SPLITS[spec]
        ds = generate(n, seed=seed, noise_run=run)
        ds.source = spec
        return ds
    domain = None
    if spec.startswith("amazon:"):
        spec, domain = "amazon", spec.split(":", 1)[1]
    if spec in NAMED:
        path = data_root(root) / NAMED[spec]
        if spec.startswith("sst:"):
            ds = load_sst_trees(path, phrases=sst_phrases)
        elif spec == "rt":
            ds = load_rt(path)
        else:
            ds = load_file(path, text_col, label_col, allow_unlabelled=spec == "imdb:unsup")
        if domain is not None:
            keep = [i for i, x in enumerate(ds.ids or []) if x.split("/", 1)[0] == domain]
            if not keep:
                raise DataError(f"amazon has no reviews in domain {domain!r}")
            ds = ds.subset(keep)
        ds.source = spec + (f":{domain}" if domain else "") + (":phrases" if sst_phrases else "")
        return ds
    path = Path(spec)
    if path.is_dir():
        return load_aclimdb_dir(path)
    return load_file(path, text_col, label_col)


def _parse_label(value, where: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    key = str(value).strip().lower()
    if key in _LABEL_WORDS:
        return _LABEL_WORDS[key]
    raise DataError(f"{where}: label {value!r} is not binary (expected 0/1, neg/pos or negative/positive)")


def load_file(path: Path, text_col: str | None = None, label_col: str | None = None,
              allow_unlabelled: bool = False, ignore_labels: bool = False) -> Dataset:
    """CSV, TSV, JSON lines or a JSON list (optionally .gz) with a text and a label column, read through the
    bounded readers (core.data.readers: their caps and their one text rule)."""
    path = Path(path)
    labels_rule = "ignore" if ignore_labels else "optional" if allow_unlabelled else "required"
    texts, labels, ids = [], [], []
    for row in read_rows(Source(path), text_col, label_col, labels_rule, column_hint=" (or choose one with "
                         "--text-col / --label-col)"):
        texts.append(row.text)
        labels.append(-1 if row.label is None else _parse_label(row.label, row.where))
        ids.append(row.id)
    if not texts:
        raise DataError(f"{path}: no examples found")
    return Dataset(texts, np.asarray(labels, dtype=np.int64), ids if any(i is not None for i in ids) else None,
                   str(path))


def _file_number(p: Path) -> tuple[int, str]:
    """Sort key for `<n>_<rating>.txt`: by the number n, then by name."""
    m = re.match(r"\d+", p.stem)
    return (int(m.group()) if m else -1, p.stem)


def load_aclimdb_dir(path: Path) -> Dataset:
    """The official aclImdb/<split>/{pos,neg}/<id>_<rating>.txt layout (path = the split folder)."""
    path = Path(path)
    if not (path / "pos").is_dir() or not (path / "neg").is_dir():
        sub = [p.name for p in path.iterdir() if p.is_dir()] if path.is_dir() else []
        hint = f" (it has {sub}: point at one split, e.g. {path / 'test'})" if sub else ""
        raise DataError(f"{path}: expected pos/ and neg/ folders of .txt files{hint}")
    texts, labels, ids = [], [], []
    for label, sub in ((1, "pos"), (0, "neg")):
        files = sorted((path / sub).glob("*.txt"), key=_file_number)
        if len(texts) + len(files) > FILE_LIMITS.rows:
            raise DataError(f"{path}: more than {FILE_LIMITS.rows:,} .txt files, the cap for one folder")
        for f in files:
            texts.append(read_text_file(f))
            labels.append(label)
            ids.append(f"{path.name}/{sub}/{f.stem}")
    if not texts:
        raise DataError(f"{path}: pos/ and neg/ hold no .txt files")
    return Dataset(texts, np.asarray(labels, dtype=np.int64), ids, str(path))


def load_rt(path: Path) -> Dataset:
    """rt-polarity: rt-polarity.pos / rt-polarity.neg, one sentence a line."""
    texts, labels, ids = [], [], []
    for label, suffix in ((1, "pos"), (0, "neg")):
        # the files are Latin-1 where they are not UTF-8: a line that is not UTF-8 is read as Latin-1
        for lineno, line in Source(Path(path) / f"rt-polarity.{suffix}").lines(fallback="latin-1"):
            if line.strip():
                texts.append(line.strip())
                labels.append(label)
                ids.append(f"{suffix}/{lineno - 1}")
    return Dataset(texts, np.asarray(labels, dtype=np.int64), ids, str(path))


_TREE_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def parse_tree(line: str, where: str) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """Parse one PTB tree: (root label, words, [(label, words) for every node])."""
    toks = _TREE_TOKEN.findall(line)
    pos = 0
    nodes: list[tuple[int, list[str]]] = []

    def node() -> list[str]:
        nonlocal pos
        if pos >= len(toks) or toks[pos] != "(":
            raise DataError(f"{where}: malformed tree near token {pos}")
        pos += 1
        try:
            label = int(toks[pos])
        except (ValueError, IndexError):
            raise DataError(f"{where}: expected a 0-4 label at token {pos}") from None
        if not 0 <= label <= 4:
            raise DataError(f"{where}: label {label} at token {pos} is not in 0-4")
        pos += 1
        words: list[str] = []
        while pos < len(toks) and toks[pos] not in "()":   # a leaf: one word, or several ("(2 8 1\\/2)")
            words.append(toks[pos])
            pos += 1
        while pos < len(toks) and toks[pos] == "(":
            words.extend(node())
        if pos >= len(toks) or toks[pos] != ")":
            raise DataError(f"{where}: unbalanced parentheses")
        pos += 1
        nodes.append((label, words))
        return words

    words = node()
    if pos != len(toks):
        raise DataError(f"{where}: trailing text after the tree")
    return nodes[-1][0], words, nodes


def load_sst_trees(path: Path, phrases: bool = False) -> Dataset:
    """SST trees as binary data: neutral (2) dropped; phrases=True keeps every labelled phrase (deduplicated)."""
    texts, labels, seen = [], [], set()
    for lineno, line in Source(Path(path)).lines():
        if not line.strip():
            continue
        root, words, nodes = parse_tree(line, f"{path}, line {lineno}")
        items = nodes[::-1] if phrases else [(root, words)]
        for label, ws in items:
            if label == 2:
                continue
            text = " ".join(ws)
            if phrases:
                if text in seen:
                    continue
                seen.add(text)
            texts.append(text)
            labels.append(1 if label > 2 else 0)
    if not texts:
        raise DataError(f"{path}: no labelled trees found")
    return Dataset(texts, np.asarray(labels, dtype=np.int64), None, str(path))


def train_dev_split(n: int, dev_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed-seed shuffle of range(n) split into (train, dev) indices."""
    if not 0.0 <= dev_fraction <= 1.0:
        raise ValueError(f"dev_fraction must be in [0, 1], not {dev_fraction}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_dev = int(round(n * dev_fraction))
    return np.sort(perm[n_dev:]), np.sort(perm[:n_dev])


def read_texts(path: Path, text_col: str | None = None) -> tuple[list[str], list[str | None]]:
    """Texts (and ids where the file has an `id` column) of a CSV/TSV/JSONL file; labels optional."""
    ds = load_file(Path(path), text_col, None, ignore_labels=True)
    return ds.texts, ds.ids if ds.ids is not None else [None] * len(ds)
