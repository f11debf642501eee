"""Dataset loaders on small files written here, their error messages, the split, and a real-data smoke test."""
from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from core.data.loaders import (NAMED, DataError, data_root, load_aclimdb_dir, load_dataset, load_file, load_rt,
                       load_sst_trees, parse_tree, read_texts, train_dev_split)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def raises_at(path: Path, line: int | None, fn, *args, **kw) -> str:
    """Call fn, expect a DataError naming the file (and the line), return its message."""
    with pytest.raises(DataError) as ei:
        fn(*args, **kw)
    msg = str(ei.value)
    assert str(path) in msg, msg
    if line is not None:
        assert re.search(rf"\bline {line}\b", msg), msg
    return msg


# ---- well-formed files ---------------------------------------------------------------------------

def test_csv(tmp_path):
    p = write(tmp_path / "r.csv", 'text,label\n"Great, really great",1\nawful,0\n"multi\nline",1\n')
    ds = load_file(p)
    assert ds.texts == ["Great, really great", "awful", "multi\nline"]
    assert ds.labels.tolist() == [1, 0, 1] and ds.labels.dtype == np.int64
    assert ds.ids is None and len(ds) == 3 and ds.source == str(p)


def test_tsv(tmp_path):
    p = write(tmp_path / "r.tsv", "sentence\tlabel\nit 's good , really\t1\nbad\t0\n")
    ds = load_file(p)
    assert ds.texts == ["it 's good , really", "bad"] and ds.labels.tolist() == [1, 0]


def test_jsonl_and_gz_give_the_same(tmp_path):
    rows = [{"text": "good", "label": 1}, {"text": "bad", "label": 0}, {"text": "caf\u00e9 \u2019", "label": 1}]
    a = load_file(write(tmp_path / "r.jsonl", jsonl(rows)))
    gz = tmp_path / "r.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl(rows).encode()))
    b = load_file(gz)
    assert a.texts == b.texts == [r["text"] for r in rows]
    assert a.labels.tolist() == b.labels.tolist() == [1, 0, 1]


def test_csv_ids_kept(tmp_path):
    p = write(tmp_path / "r.csv", "id,review,sentiment\nr7,nice,positive\nr3,meh,negative\n")
    ds = load_file(p)
    assert ds.ids == ["r7", "r3"] and ds.texts == ["nice", "meh"] and ds.labels.tolist() == [1, 0]
    sub = ds.subset([1])
    assert sub.ids == ["r3"] and sub.texts == ["meh"] and sub.labels.tolist() == [0]


def test_jsonl_ids_kept(tmp_path):
    ds = load_file(write(tmp_path / "r.jsonl", jsonl([{"id": 5, "text": "a", "label": 1},
                                                      {"id": "x", "text": "b", "label": 0}])))
    assert ds.ids == ["5", "x"]


@pytest.mark.parametrize("header", ["text,label", "Sentence,Label", "review,sentiment", "content,polarity",
                                    "document,y", "phrase,target", "label,text"])
def test_column_autodetect(tmp_path, header):
    t, l = header.split(",")
    rows = "good,1\nbad,0\n" if t.lower() != "label" else "1,good\n0,bad\n"
    ds = load_file(write(tmp_path / "r.csv", header + "\n" + rows))
    assert ds.texts == ["good", "bad"] and ds.labels.tolist() == [1, 0]


def test_explicit_column_names(tmp_path):
    p = write(tmp_path / "r.csv", "body,stars,text,label\ngreat,pos,IGNORED,0\nawful,neg,IGNORED,1\n")
    ds = load_file(p, text_col="body", label_col="stars")
    assert ds.texts == ["great", "awful"] and ds.labels.tolist() == [1, 0]
    q = write(tmp_path / "r.jsonl", jsonl([{"body": "great", "stars": 1}]))
    assert load_file(q, text_col="body", label_col="stars").texts == ["great"]
    raises_at(p, 1, load_file, p, text_col="nope")
    raises_at(p, 1, load_file, p, label_col="nope")


@pytest.mark.parametrize("values, expected", [
    (["0", "1"], [0, 1]), (["neg", "pos"], [0, 1]), (["negative", "positive"], [0, 1]),
    (["NEG", "Positive"], [0, 1]), (["0.0", "1.0"], [0, 1]), (["false", "true"], [0, 1]),
])
def test_label_words_csv(tmp_path, values, expected):
    p = write(tmp_path / "r.csv", "text,label\n" + "".join(f"t{i},{v}\n" for i, v in enumerate(values)))
    assert load_file(p).labels.tolist() == expected


def test_label_values_jsonl(tmp_path):
    rows = [{"text": "a", "label": v} for v in (0, 1, 0.0, 1.0, True, False, "pos", "negative")]
    assert load_file(write(tmp_path / "r.jsonl", jsonl(rows))).labels.tolist() == [0, 1, 0, 1, 1, 0, 1, 0]


def test_jsonl_keeps_unicode_line_separators_inside_text(tmp_path):
    texts = ["one\u0085two", "three\u2028four\u2029five", "six\x0cseven\x1cend", "plain"]
    p = write(tmp_path / "r.jsonl", "".join(json.dumps({"text": t, "label": 1}, ensure_ascii=False) + "\n"
                                            for t in texts))
    assert "\u2028" in p.read_text(encoding="utf-8")  # written raw, not escaped
    ds = load_file(p)
    assert ds.texts == texts and len(ds) == 4


def test_crlf_and_blank_lines(tmp_path):
    p = write(tmp_path / "r.jsonl", '{"text": "a", "label": 1}\r\n\r\n{"text": "b", "label": 0}\r\n')
    assert load_file(p).texts == ["a", "b"]
    q = write(tmp_path / "r.csv", "text,label\r\na,1\r\n\r\nb,0\r\n")
    assert load_file(q).texts == ["a", "b"]


def test_bom_is_dropped(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes("\ufefftext,label\nok,1\n".encode("utf-8"))
    assert load_file(p).texts == ["ok"]


def test_read_texts_without_labels(tmp_path):
    p = write(tmp_path / "in.csv", "id,text\na1,first\na2,\"second, with comma\"\n")
    texts, ids = read_texts(p)
    assert texts == ["first", "second, with comma"] and ids == ["a1", "a2"]
    q = write(tmp_path / "in.jsonl", jsonl([{"review": "x"}, {"review": "y"}]))
    texts, ids = read_texts(q)
    assert texts == ["x", "y"] and ids == [None, None]
    r = write(tmp_path / "in.tsv", "body\nhello\n")
    assert read_texts(r, text_col="body") == (["hello"], [None])


def test_unlabelled_gets_minus_one(tmp_path):
    p = write(tmp_path / "u.jsonl", jsonl([{"text": "a"}, {"text": "b"}]))
    assert load_file(p, allow_unlabelled=True).labels.tolist() == [-1, -1]
    raises_at(p, 1, load_file, p)  # labels required by default


# ---- aclImdb folder and rt-polarity --------------------------------------------------------------

def make_aclimdb_split(split: Path) -> None:
    for name, text in {"pos/0_10.txt": "Loved it.<br /><br />Great!", "pos/2_7.txt": "good",
                       "pos/10_8.txt": "fine fine", "pos/1_9.txt": "nice",
                       "neg/0_2.txt": "Awful\u0085really", "neg/11_1.txt": "bad"}.items():
        write(split / name, text)


def test_aclimdb_split_folder(tmp_path):
    split = tmp_path / "aclImdb" / "test"
    make_aclimdb_split(split)
    ds = load_aclimdb_dir(split)
    # positives first, each side ordered by file number like the official ids
    assert ds.ids == ["test/pos/0_10", "test/pos/1_9", "test/pos/2_7", "test/pos/10_8",
                      "test/neg/0_2", "test/neg/11_1"]
    assert ds.labels.tolist() == [1, 1, 1, 1, 0, 0]
    assert ds.texts[0] == "Loved it.<br /><br />Great!" and ds.texts[4] == "Awful\u0085really"
    same = load_dataset(str(split))
    assert same.ids == ds.ids and same.texts == ds.texts


def test_aclimdb_root_hints_at_splits(tmp_path):
    root = tmp_path / "aclImdb"
    make_aclimdb_split(root / "train")
    make_aclimdb_split(root / "test")
    for fn in (load_aclimdb_dir, lambda p: load_dataset(str(p))):
        with pytest.raises(DataError) as ei:
            fn(root)
        msg = str(ei.value)
        assert str(root) in msg and "pos/ and neg/" in msg
        assert "'train'" in msg and "'test'" in msg and str(root / "test") in msg


def test_aclimdb_empty_split(tmp_path):
    (tmp_path / "s" / "pos").mkdir(parents=True)
    (tmp_path / "s" / "neg").mkdir()
    with pytest.raises(DataError, match="no .txt files"):
        load_aclimdb_dir(tmp_path / "s")


def test_rt_polarity(tmp_path):
    d = tmp_path / "rt"
    write(d / "rt-polarity.pos", "a gem .\nwarm and funny\u0085 really .\n\n")
    (d / "rt-polarity.neg").write_bytes(b"dull .\r\nclich\xe9d and \x85 tired .\n")  # latin-1 bytes
    ds = load_rt(d)
    assert ds.texts == ["a gem .", "warm and funny\u0085 really .", "dull .", "clich\u00e9d and \u0085 tired ."]
    assert ds.labels.tolist() == [1, 1, 0, 0]
    assert ds.ids == ["pos/0", "pos/1", "neg/0", "neg/1"]


def test_rt_missing_file_is_dataerror(tmp_path):
    write(tmp_path / "rt" / "rt-polarity.pos", "ok\n")
    with pytest.raises(DataError, match=r"rt-polarity\.neg"):
        load_rt(tmp_path / "rt")


# ---- SST trees -----------------------------------------------------------------------------------

TREES = ("(3 (2 a) (4 (3 good) (2 movie)))\n"
         "(1 (3 good) (0 (1 bad) (2 movie)))\n"
         "(2 (2 so) (2 so))\n"
         "(0 (0 awful))\n"
         "(4 (2 -LRB-) (4 (4 superb) (2 -RRB-)))\n")


def test_parse_tree():
    root, words, nodes = parse_tree("(3 (2 a) (4 (3 good) (2 movie)))", "x")
    assert root == 3 and words == ["a", "good", "movie"]
    assert sorted(nodes) == sorted([(2, ["a"]), (3, ["good"]), (2, ["movie"]), (4, ["good", "movie"]),
                                    (3, ["a", "good", "movie"])])


def test_parse_tree_leaf_of_several_words():
    """SST's train.txt line 4342 has the leaf "(2 8 1\\/2)" (the film 8 1/2): one node, two words."""
    root, words, nodes = parse_tree(r"(2 (2 like) (2 8 1\/2))", "x")
    assert words == ["like", "8", r"1\/2"] and (2, ["8", r"1\/2"]) in nodes and root == 2


def test_sst_sentences(tmp_path):
    ds = load_sst_trees(write(tmp_path / "t.txt", TREES))
    assert ds.texts == ["a good movie", "good bad movie", "awful", "-LRB- superb -RRB-"]
    assert ds.labels.tolist() == [1, 0, 0, 1]


def test_sst_phrases(tmp_path):
    ds = load_sst_trees(write(tmp_path / "t.txt", TREES), phrases=True)
    pairs = list(zip(ds.texts, ds.labels.tolist()))
    assert pairs == [("a good movie", 1), ("good movie", 1), ("good", 1),
                     ("good bad movie", 0), ("bad movie", 0), ("bad", 0),
                     ("awful", 0),
                     ("-LRB- superb -RRB-", 1), ("superb -RRB-", 1), ("superb", 1)]
    assert len(set(ds.texts)) == len(ds.texts)


# ---- named datasets under a fake data root -------------------------------------------------------

def test_named_sst2(tmp_path):
    write(tmp_path / "sst" / "sst2" / "test.tsv", "label\tcontent\n0\tno movement .\n1\tbest films .\n")
    ds = load_dataset("sst2:test", root=tmp_path)
    assert ds.texts == ["no movement .", "best films ."] and ds.labels.tolist() == [0, 1]
    assert ds.source == "sst2:test"


def test_named_sst_trees_and_phrases(tmp_path):
    write(tmp_path / "sst" / "trees" / "train.txt", TREES)
    assert len(load_dataset("sst:train", root=tmp_path)) == 4
    ph = load_dataset("sst:train:phrases", root=tmp_path)
    assert len(ph) == 10 and ph.source == "sst:train:phrases"


def test_named_imdb_uci_rt(tmp_path):
    gz = tmp_path / "imdb" / "test.jsonl.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(jsonl([{"id": "test/pos/0_10", "text": "x\u0085y", "label": 1, "rating": 10},
                                        {"id": "test/neg/0_2", "text": "z", "label": 0, "rating": 2}]).encode()))
    ds = load_dataset("imdb:test", root=tmp_path)
    assert ds.ids == ["test/pos/0_10", "test/neg/0_2"] and ds.texts[0] == "x\u0085y"
    write(tmp_path / "uci_sentiment_labelled" / "yelp_labelled.jsonl",
          jsonl([{"text": "Wow", "label": 1, "source": "yelp"}]))
    assert load_dataset("uci:yelp", root=tmp_path).labels.tolist() == [1]
    write(tmp_path / "rt_polarity" / "rt-polarity.pos", "good\n")
    write(tmp_path / "rt_polarity" / "rt-polarity.neg", "bad\n")
    assert load_dataset("rt", root=tmp_path).texts == ["good", "bad"]


def test_named_amazon_domain(tmp_path):
    gz = tmp_path / "amazon_multidomain_blitzer" / "reviews.jsonl.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(jsonl([{"id": "books/1", "text": "a", "label": 1},
                                        {"id": "dvd/1", "text": "b", "label": 0}]).encode()))
    ds = load_dataset("amazon:dvd", root=tmp_path)
    assert ds.texts == ["b"] and ds.source == "amazon:dvd"
    with pytest.raises(DataError, match="no domain"):
        load_dataset("amazon:toys", root=tmp_path)


def test_named_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(DataError) as ei:
        load_dataset("sst2:dev", root=tmp_path)
    assert str(tmp_path / "sst" / "sst2" / "dev.tsv") in str(ei.value)
    with pytest.raises(DataError) as ei:
        load_dataset("sst3:test", root=tmp_path)
    msg = str(ei.value)
    assert "sst3:test" in msg and all(name in msg for name in NAMED) and "sst:train:phrases" in msg


def test_data_root_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_DATA_ROOT", str(tmp_path))
    assert data_root() == tmp_path and data_root("/x") == Path("/x")
    write(tmp_path / "sst" / "sst2" / "dev.tsv", "label\tcontent\n1\tok\n")
    assert load_dataset("sst2:dev").texts == ["ok"]


# ---- malformed input -----------------------------------------------------------------------------

def test_missing_text_column(tmp_path):
    p = write(tmp_path / "r.csv", "body,label\nx,1\n")
    assert "text column" in raises_at(p, 1, load_file, p)
    q = write(tmp_path / "r.jsonl", "\n" + jsonl([{"body": "x", "label": 1}]))
    raises_at(q, 2, load_file, q)


def test_jsonl_missing_fields(tmp_path):
    p = write(tmp_path / "r.jsonl", jsonl([{"text": "a", "label": 1}, {"text": "b", "label": 0},
                                           {"text": "c"}]))
    assert "label" in raises_at(p, 3, load_file, p)
    q = write(tmp_path / "q.jsonl", jsonl([{"text": "a", "label": 1}, {"label": 0}]))
    assert "text" in raises_at(q, 2, load_file, q)


def test_non_binary_label(tmp_path):
    p = write(tmp_path / "r.jsonl", jsonl([{"text": "a", "label": 1}, {"text": "b", "label": 3}]))
    assert "3" in raises_at(p, 2, load_file, p)
    q = write(tmp_path / "r.csv", "text,label\na,1\nb,0\nc,neutral\n")
    assert "neutral" in raises_at(q, 4, load_file, q)
    r = write(tmp_path / "s.jsonl", jsonl([{"text": "a", "label": 0.5}]))
    raises_at(r, 1, load_file, r)


def test_invalid_json_line(tmp_path):
    p = write(tmp_path / "r.jsonl", jsonl([{"text": "a", "label": 1}]) + '{"text": "b", "label": \n')
    assert "invalid JSON" in raises_at(p, 2, load_file, p)
    q = write(tmp_path / "q.jsonl", jsonl([{"text": "a", "label": 1}]) + '["b", 1]\n')
    raises_at(q, 2, load_file, q)


def test_invalid_json_line_number_counts_unicode_separators(tmp_path):
    # U+2028 / U+0085 inside a text must not shift the reported line numbers
    p = write(tmp_path / "r.jsonl", jsonl([{"text": "a\u2028b\u0085c", "label": 1}]) + "{oops\n")
    raises_at(p, 2, load_file, p)


def test_csv_wrong_field_count(tmp_path):
    p = write(tmp_path / "r.csv", 'text,label\na,1\n"b\nstill b",0\nc,1,extra\n')
    assert "3 fields" in raises_at(p, 5, load_file, p)
    q = write(tmp_path / "q.tsv", "text\tlabel\na\t1\nlonely\n")
    raises_at(q, 3, load_file, q)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    for name in ("e.csv", "e.jsonl"):
        p = write(tmp_path / name, content)
        assert "empty" in raises_at(p, None, load_file, p)


def test_header_only_file(tmp_path):
    p = write(tmp_path / "h.csv", "text,label\n")
    assert "no examples" in raises_at(p, None, load_file, p)


@pytest.mark.parametrize("name", ["r.xlsx", "r.parquet", "noext", "r.xlsx.gz"])
def test_unsupported_extension(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"PK\x03\x04\x00\xff\xfe binary")
    assert "unsupported" in raises_at(p, None, load_file, p)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(jsonl([{"text": f"review {i} " * 20, "label": i % 2} for i in range(50)]).encode())
    cases = {"notgz.jsonl.gz": b"this is not gzip",
             "truncated.jsonl.gz": good[: len(good) // 2],
             "scrambled.jsonl.gz": good[:15] + b"\xff" * 10 + good[25:]}
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        assert "gzip" in raises_at(p, None, load_file, p)


def test_not_utf8(tmp_path):
    p = tmp_path / "r.csv"
    p.write_bytes(b"text,label\ncaf\xe9,1\n")
    assert "UTF-8" in raises_at(p, None, load_file, p)


def test_missing_file_is_dataerror(tmp_path):
    p = tmp_path / "nope.csv"
    raises_at(p, None, load_file, p)
    raises_at(p, None, read_texts, p)
    raises_at(p, None, load_sst_trees, tmp_path / "nope.csv")


@pytest.mark.parametrize("bad, line", [
    ("(3 (2 a) (2 b)", 2),          # unclosed
    ("(3 (2 a)) (2 b))", 2),        # trailing text
    ("(x (2 a))", 2),               # non-numeric label
    ("(7 (2 a))", 2),               # label out of range
    ("3 (2 a)", 2),                 # no opening parenthesis
])
def test_malformed_sst_tree(tmp_path, bad, line):
    p = write(tmp_path / "t.txt", "(3 (3 fine))\n" + bad + "\n(1 (1 bad))\n")
    raises_at(p, line, load_sst_trees, p)


def test_sst_only_neutral(tmp_path):
    p = write(tmp_path / "t.txt", "(2 (2 so) (2 so))\n")
    assert "no labelled" in raises_at(p, None, load_sst_trees, p)


# ---- train/dev split -----------------------------------------------------------------------------

@pytest.mark.parametrize("n, frac, n_dev", [(100, 0.1, 10), (1000, 0.25, 250), (7, 0.3, 2), (5, 0.0, 0), (1, 0.5, 0)])
def test_train_dev_split(n, frac, n_dev):
    tr, dev = train_dev_split(n, frac, seed=3)
    assert len(dev) == n_dev and len(tr) == n - n_dev
    assert not set(tr.tolist()) & set(dev.tolist())
    assert sorted(tr.tolist() + dev.tolist()) == list(range(n))
    tr2, dev2 = train_dev_split(n, frac, seed=3)
    assert np.array_equal(tr, tr2) and np.array_equal(dev, dev2)


def test_train_dev_split_seed_matters():
    splits = {tuple(train_dev_split(1000, 0.1, seed=s)[1].tolist()) for s in range(5)}
    assert len(splits) == 5
    dev = train_dev_split(1000, 0.1, seed=0)[1]
    assert dev.tolist() != list(range(100))  # shuffled, not the head


@pytest.mark.parametrize("frac", [-0.1, 1.5])
def test_train_dev_split_bad_fraction(frac):
    with pytest.raises(ValueError):
        train_dev_split(10, frac, seed=0)


# ---- real data (skipped when the shared data root is absent) -------------------------------------

def test_real_datasets_smoke():
    root = data_root()
    if not (root / "sst").is_dir():
        pytest.skip(f"data root {root} not present")
    start = time.perf_counter()
    expected = {"sst2:test": (1821, None), "sst:test": (1821, None), "imdb:test": (25000, 12500),
                "rt": (10662, 5331), "uci:yelp": (1000, None)}
    for spec, (n, n_pos) in expected.items():
        ds = load_dataset(spec)
        assert len(ds) == n, spec
        assert set(np.unique(ds.labels).tolist()) == {0, 1}, spec
        if n_pos is not None:
            assert int(ds.labels.sum()) == n_pos, spec
    assert time.perf_counter() - start < 20


def test_read_texts_ignores_any_label_column(tmp_path):
    from core.data.loaders import read_texts
    f = tmp_path / "x.csv"
    f.write_text("id,text,label\n1,fine,neutral\n2,bad,0\n")
    texts, ids = read_texts(f)
    assert texts == ["fine", "bad"] and ids == ["1", "2"]
