"""Error analysis (core/analysis/error_analysis.py, `python -m core errors`): slices of hand-made token lists, accuracy,
confusion, error rates and disagreements worked out by hand on six toy texts, uploads that must be
refused whole, and the CLI's --json contract. Uses the shipped toy-gru (its analyses ship with it) and a
hand-made bag-of-words on its vocabulary, so nothing is trained."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from core.models.bow import BowClassifier
from core.tools.cli import main
from core.data.loaders import DataError
from core.analysis.error_analysis import SLICES, error_analysis, long_flags, parse_upload, slices_of, valence_words, wilson
from core.models.store import MODELS_DIR, load_model, save_model_dir
from core.data.text import Vocab, tokenize
from core.analysis.settings import Settings

TOY_VALENCE = {"good": 1.0, "bad": -1.0, "awesome": 2.0, "awful": -2.0}
# label, and what toy-gru and the hand-made BoW (the plain valence sum) predict
CASES = [("good", 1), ("not good", 0), ("not bad", 1), ("bad", 0),
         ("awesome", 0),                         # mislabelled: both models are wrong
         ("the the the the the the good", 1)]    # 7 tokens, over twice the median (1.5): long
GRU_PRED = [1, 0, 1, 0, 1, 1]                    # toy-gru reads "not" ("not good" 0.214, "not bad" 0.893)
BOW_PRED = [1, 1, 0, 0, 1, 1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def handbow(tmp_path_factory):
    """A BoW on toy-gru's vocabulary whose logit is the plain valence sum (bias 0), trained on nothing,
    beside a copy of toy-gru (with its shipped analyses) so that pairing finds it."""
    root = tmp_path_factory.mktemp("models")
    vocab = Vocab.load(MODELS_DIR / "toy-gru" / "vocab.json")
    beta = np.array([TOY_VALENCE.get(w, 0.0) for w in vocab.itos])
    bow = BowClassifier(vocab, beta, 0.0, {"kind": "bow"})
    save_model_dir(root / "handbow", bow.config, vocab, bow.weights(), metrics={"dataset": "toy-long:train"})
    shutil.copytree(MODELS_DIR / "toy-gru", root / "toygru")
    return root


def test_slices_of_hand_made_token_lists():
    v = {"good", "bad"}
    assert slices_of(tokenize("this is not good"), v) == ["negator", "strong_start", "strong_end"]
    # "not" 7 tokens before "good": too far; "good" is the last token but not among the first 5
    assert slices_of(tokenize("not the movie i expected at all good"), v) == ["strong_end"]
    assert "negator" in slices_of(tokenize("not the movie good"), v)           # 3 tokens before: in
    assert "negator" not in slices_of(tokenize("did n't like it , good"), v)   # 4 tokens before: out
    assert "negator" in slices_of(tokenize("I cannot call this bad"), v)       # "can not": "not" 3 before
    assert "negator" not in slices_of(tokenize("good , not"), v)               # after the word: out
    assert "negator" not in slices_of(tokenize("not fine"), v)                 # no valence word
    assert slices_of(tokenize("it was very , very bad but fine"), v) == ["intensifier", "contrast", "strong_end"]
    assert slices_of(tokenize("a b c d e f g"), v, long=True) == ["long"]
    assert slices_of([], v) == []


def test_long_flags_window_and_median():
    assert long_flags([3, 4, 5, 10], max_len=4) == [False, False, True, True]   # truncated by the window
    assert long_flags([1, 2, 2, 5, 4], max_len=None) == [False, False, False, True, False]  # > 2 x median 2


def test_wilson_interval_by_hand():
    lo, hi = wilson(8, 10)
    assert (lo, hi) == pytest.approx((0.4901, 0.9433), abs=1e-4)   # the textbook 8/10 interval
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0


def test_valence_words_are_the_toy_words():
    from core.analysis.context import engine
    eng = engine(Settings.of("toy-gru"))
    words = valence_words(eng, 300)   # 12 words in the vocabulary, only 4 above the valence threshold
    assert set(words) == set(TOY_VALENCE)
    assert words[:2] == ["awesome", "awful"]      # strongest first (|v0| of +-2 words > +-1 words)
    # n caps the ranking by strength; everyday words ("good", "bad") join whatever their rank
    assert valence_words(eng, 2)[:2] == ["awesome", "awful"] and set(valence_words(eng, 2)) == set(TOY_VALENCE)


def test_valence_words_from_a_bag_of_words_are_its_largest_weights(handbow):
    """With a plain BoW the yardstick is its |beta| (the same for every model compared)."""
    bow = load_model(str(handbow / "handbow"))
    words = valence_words(None, 300, bow=bow)
    beta = {w: abs(bow.beta[bow.vocab.stoi[w]]) for w in words}
    assert words and list(beta.values()) == sorted(beta.values(), reverse=True)
    assert not set(words) & {"not", "very", "but"}


def test_error_analysis_by_hand(handbow):
    texts, labels = [t for t, _ in CASES], [y for _, y in CASES]
    gru = load_model("toy-gru").predict_proba(texts).numpy()
    assert [int(p > 0.5) for p in gru] == GRU_PRED   # precondition of the figures below
    calls = []
    res = error_analysis("toy-gru", texts=texts, labels=labels, bow=str(handbow / "handbow"), aug="none",
                         progress=lambda f, m: calls.append(f))
    assert res["data"] == "uploaded" and res["n"] == 6 and res["window"] is None
    assert set(res["valence_words"]) == set(TOY_VALENCE)
    gm, bm = res["models"]
    assert (gm["name"], gm["role"], bm["name"], bm["role"]) == ("toy-gru", "rnn", "handbow", "bow")
    # toy-gru is wrong on "awesome" only; the BoW also on "not good" and "not bad"
    assert gm["accuracy"] == pytest.approx(5 / 6) and gm["accuracy_ci"] == pytest.approx(wilson(5, 6))
    assert gm["confusion"] == {"tp": 3, "fp": 1, "tn": 2, "fn": 0}
    assert bm["accuracy"] == pytest.approx(3 / 6)
    assert bm["confusion"] == {"tp": 2, "fp": 2, "tn": 1, "fn": 1}
    rates = {s["name"]: (s["n"], s["error_rates"]) for s in res["slices"]}
    assert list(rates) == list(SLICES)
    assert rates["all"] == (6, pytest.approx({"toy-gru": 1 / 6, "handbow": 3 / 6}))
    assert rates["negator"] == (2, {"toy-gru": 0.0, "handbow": 1.0})            # "not good", "not bad"
    assert rates["long"] == (1, {"toy-gru": 0.0, "handbow": 0.0})
    assert rates["strong_start"] == (5, pytest.approx({"toy-gru": 1 / 5, "handbow": 3 / 5}))  # not the long one
    assert rates["strong_end"] == (6, pytest.approx({"toy-gru": 1 / 6, "handbow": 3 / 6}))
    assert rates["contrast"] == (0, {"toy-gru": None, "handbow": None})
    assert rates["intensifier"][0] == 0
    assert res["disagreements"] == 2
    rows = res["rows"]
    assert [r["disagree"] for r in rows] == [False, True, True, False, False, False]
    assert rows[1]["slices"] == ["negator", "strong_start", "strong_end"]
    assert rows[5]["slices"] == ["long", "strong_end"] and rows[5]["n_tokens"] == 7
    assert rows[0]["p"]["handbow"] == pytest.approx(1 / (1 + math.exp(-1)), abs=1e-4)
    assert [r["p"]["toy-gru"] for r in rows] == pytest.approx(gru, abs=1e-4)
    assert [r["correct"]["handbow"] for r in rows] == [p == y for p, y in zip(BOW_PRED, labels)]
    assert calls[-1] == 1.0 and calls == sorted(calls)
    json.dumps(res)   # JSON-able


def test_disagreement_partner_pairing_and_limit(handbow):
    texts, labels = [t for t, _ in CASES], [y for _, y in CASES]
    # no plain BoW: the RNN is compared with the augmented one (here the same hand-made BoW)
    res = error_analysis("toy-gru", texts=texts, labels=labels, bow="none", aug=str(handbow / "handbow"))
    assert [m["role"] for m in res["models"]] == ["rnn", "aug"] and res["disagreements"] == 2
    res = error_analysis("toy-gru", texts=texts, labels=labels, bow="none", aug="none", limit=3)
    assert res["n"] == 3 and res["disagreements"] == 0 and len(res["models"]) == 1
    # the limit takes a seeded random sample (test sets are often sorted by label); rows keep their index
    idx = [r["index"] for r in res["rows"]]
    assert idx == sorted(set(idx)) and all(texts[i][:300] == r["text"] for i, r in zip(idx, res["rows"]))
    big = error_analysis("toy-gru", data="toy-long:test", bow="none", aug="none", limit=50)
    assert [r["index"] for r in big["rows"]] != list(range(50)) and max(r["index"] for r in big["rows"]) >= 50
    # a model folder outside models/ pairs with the BoW beside it trained on the same dataset
    res = error_analysis(str(handbow / "toygru"), texts=texts, labels=labels)
    assert [(m["name"], m["role"]) for m in res["models"]] == [("toygru", "rnn"), ("handbow", "bow")]


def test_error_analysis_refuses_bad_input(handbow):
    with pytest.raises(ValueError, match="bow model"):
        error_analysis(str(handbow / "handbow"), texts=["good"], labels=[1])
    with pytest.raises(ValueError, match="same length"):
        error_analysis("toy-gru", texts=["good", "bad"], labels=[1], bow="none", aug="none")
    with pytest.raises(ValueError, match="0 or 1"):
        error_analysis("toy-gru", texts=["good"], labels=[2], bow="none", aug="none")
    with pytest.raises(ValueError, match="either"):
        error_analysis("toy-gru", data="toy-long:test", texts=["good"], labels=[1])
    with pytest.raises(ValueError, match="limit"):
        error_analysis("toy-gru", data="toy-long:test", limit=0, bow="none", aug="none")


def test_parse_upload_accepts_csv_tsv_jsonl_and_json_lists():
    csv_raw = '\ufeffReview,Sentiment\n"good, really",pos\nbad,negative\n\n"not ""bad""",1\nmeh,false\n'
    assert parse_upload("r.csv", csv_raw.encode()) == (["good, really", "bad", 'not "bad"', "meh"], [1, 0, 1, 0])
    assert parse_upload("r.tsv", b"id\tsentence\tlabel\n1\tgood\t1\n2\tbad\t0\n") == (["good", "bad"], [1, 0])
    jsonl = b'{"text": "good", "label": 1}\n\n{"text": "bad", "label": "neg"}\n'
    assert parse_upload("d.jsonl", jsonl) == (["good", "bad"], [1, 0])
    assert parse_upload("d.json", b'[{"content": "good", "y": true}, {"content": "bad", "y": 0}]') == \
        (["good", "bad"], [1, 0])


@pytest.mark.parametrize("name, raw, kwargs, message", [
    ("d.csv", b"text,label\ngood,1\nbad,0\nok,maybe\n", {}, r"row 3 \(line 4\): label 'maybe'"),
    ("d.jsonl", b'{"text": "a", "label": 1}\n{"text": "b", "label": 7}\n', {}, "row 2 .*label 7"),
    ("d.json", b'[{"text": "a", "label": 1}, {"text": "b"}]', {}, "item 2: missing label field"),
    ("d.xlsx", b"text,label\ngood,1\n", {}, "unsupported file type '.xlsx'"),
    ("d", b"text,label\ngood,1\n", {}, "no extension"),
    ("d.csv", b"text,label\n" + b"good,1\n" * 10, {"max_bytes": 50}, "over the 5e-05 MB limit"),
    ("d.csv", b"text,label\n" + b"good,1\n" * 3, {"max_rows": 2}, "more than 2 rows"),
    ("d.jsonl", b'{"text": "a", "label": 1}\n' * 3, {"max_rows": 2}, "more than 2 rows"),
    ("d.csv", b"", {}, "empty"),
    ("d.csv", b" \n\n", {}, "empty"),
    ("d.csv", b"text,label\n", {}, "no rows"),
    ("d.csv", "text,label\ncaf\u00e9,1\n".encode("latin-1"), {}, "not UTF-8 text .byte 0xe9"),
    ("d.csv", b"body,label\ngood,1\n", {}, "no text column"),
    ("d.csv", b"text,stars\ngood,5\n", {}, "no label column"),
    ("d.csv", b"text,label\ngood,1,extra\n", {}, "row 1 .*3 fields"),
    ("d.csv", b"text,label\n ,1\n", {}, "row 1 .*empty text"),
    ("d.jsonl", b'{"text": "a", "label": 1}\n{oops\n', {}, r"row 2 \(line 2\): invalid JSON"),
    ("d.json", b"[1, 2]", {}, "item 1: expected a JSON object"),
])
def test_parse_upload_refuses_with_a_specific_message(name, raw, kwargs, message):
    with pytest.raises(DataError, match=message):
        parse_upload(name, raw, **kwargs)


def test_cli_json_contract_and_table(handbow, capsys):
    assert main(["errors", "toy-gru", "--data", "toy-long:test", "--limit", "40",
                 "--bow", str(handbow / "handbow"), "--aug", "none", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"data", "n", "models", "slices", "disagreements", "valence_words", "valence_source", "window"}
    assert res["n"] == 40 and res["data"] == "toy-long:test"
    assert [m["name"] for m in res["models"]] == ["toy-gru", "handbow"]
    assert all(0.0 <= m["accuracy"] <= 1.0 and sum(m["confusion"].values()) == 40 for m in res["models"])
    assert [s["name"] for s in res["slices"]] == list(SLICES) and res["slices"][0]["n"] == 40
    assert all(set(s["error_rates"]) == {"toy-gru", "handbow"} for s in res["slices"])
    assert 0 <= res["disagreements"] <= 40
    assert main(["errors", "toy-gru", "--data", "toy-long:test", "--limit", "40", "--bow", "none", "--aug", "none"]) == 0
    out = capsys.readouterr().out
    assert "toy-gru on toy-long:test (n = 40" in out and "negator" in out and "strong_end" in out


def test_cli_errors_exit_2(capsys):
    assert main(["errors", "no-such-model", "--data", "toy-long:test"]) == 2
    assert "error: no model folder 'no-such-model'" in capsys.readouterr().err
    assert main(["errors", "toy-gru", "--data", "no-such-data"]) == 2
    assert "error: 'no-such-data' is neither a known dataset" in capsys.readouterr().err
