"""Tokenizer, normaliser and vocabulary: known answers for the edge cases the models rely on."""
from __future__ import annotations

import json

import pytest

from core.data.text import PAD, UNK, Vocab, encode_texts, normalize, tokenize


@pytest.mark.parametrize("text, tokens", [
    ("didn't", ["did", "n't"]),
    ("can't", ["ca", "n't"]),
    ("won't", ["wo", "n't"]),
    ("cannot", ["can", "not"]),
    ("it's", ["it", "'s"]),
    ("dont", ["do", "n't"]),
    ("didnt", ["did", "n't"]),
    ("cant", ["ca", "n't"]),
    ("isn't", ["is", "n't"]),
    ("I'm", ["i", "'m"]),
    ("they're", ["they", "'re"]),
    ("we've", ["we", "'ve"]),
    ("you'll", ["you", "'ll"]),
    ("he'd", ["he", "'d"]),
    ("DIDN'T", ["did", "n't"]),
])
def test_contractions_split_negation_and_clitics(text, tokens):
    assert tokenize(text) == tokens


@pytest.mark.parametrize("text", ["didn\u2019t like it's", "can\u2019t", "won\u2019t", "it\u2019s", "don\u2018t"])
def test_curly_apostrophes_match_ascii(text):
    ascii_text = text.replace("\u2019", "'").replace("\u2018", "'")
    assert tokenize(text) == tokenize(ascii_text)
    assert "\u2019" not in "".join(tokenize(text))


def test_negation_in_sentence():
    assert tokenize("I didn't like it, and it wasn't good.") == [
        "i", "did", "n't", "like", "it", ",", "and", "it", "was", "n't", "good", "."]


def test_html_breaks_and_entities():
    assert tokenize("Great film.<br /><br />Loved it") == ["great", "film", ".", "loved", "it"]
    assert tokenize("one<br>two<BR/>three< br / >four") == ["one", "two", "three", "four"]
    assert tokenize("Tom &amp; Jerry") == ["tom", "&", "jerry"]
    assert tokenize("&quot;ok&quot; &#39;s") == ['"', "ok", '"', "'s"]
    assert "<br" not in normalize("a<br />b") and "&amp;" not in normalize("a &amp; b")


def test_unicode_normalisation():
    # full-width letters (NFKC) and ligatures
    assert tokenize("\uff27\uff2f\uff2f\uff24 movie") == ["good", "movie"]
    assert tokenize("\ufb01ne") == ["fine"]
    # decomposed accent composes to the same token as the precomposed one
    assert tokenize("cafe\u0301") == tokenize("caf\u00e9") == ["caf\u00e9"]
    # IMDB's stray C1 controls: U+0085 -> space, U+0096 -> hyphen
    assert tokenize("boring\u0085and long") == ["boring", "and", "long"]
    assert tokenize("1990\u00961995") == ["1990-1995"]
    assert tokenize("so\u0096so") == tokenize("so-so") == ["so-so"]
    # other separators and dashes
    assert tokenize("a\u2028b\u2029c\u00a0d\te\nf") == ["a", "b", "c", "d", "e", "f"]
    assert tokenize("well\u2013made") == ["well-made"]
    assert tokenize("wait\u2026") == ["wait", "..."]
    assert tokenize("\u201cgreat\u201d") == ['"', "great", '"']
    # invisible format characters are dropped, not turned into word breaks
    assert tokenize("soft\u00adware") == ["software"]
    assert tokenize("\ufeffhello") == ["hello"]


def test_lowercase():
    assert tokenize("GREAT Movie") == ["great", "movie"]
    assert normalize("ABC") == "abc"


def test_punctuation():
    assert tokenize("great!!") == ["great", "!", "!"]
    assert tokenize("hmm...") == ["hmm", "..."]
    assert tokenize("wait... what?") == ["wait", "...", "what", "?"]
    assert tokenize("(really)") == ["(", "really", ")"]
    assert tokenize("10/10") == ["10", "/", "10"]


def test_hyphenated_words_stay_whole():
    assert tokenize("a well-made, low-budget b-movie") == ["a", "well-made", ",", "low-budget", "b-movie"]


@pytest.mark.parametrize("sst, raw", [
    ("it does n't work -lrb- sadly -rrb- .", "It doesn't work (sadly)."),
    ("-LRB- it 's bad -RRB-", "(it's bad)"),
    ("it ca n't be , and it wo n't", "It can't be, and it won't"),
    ("a writer\\/director", "a writer/director"),
    ("`` great '' film", "\"great\" film"),
    ("-lsb- sic -rsb-", "[sic]"),
])
def test_sst_pretokenized_equals_raw(sst, raw):
    assert tokenize(sst) == tokenize(raw)


def test_sst_example_tokens():
    assert tokenize("does n't -lrb- x -rrb-") == ["does", "n't", "(", "x", ")"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n", "<br /><br />", "\u0085\u2028"])
def test_empty_text(text):
    assert tokenize(text) == []


@pytest.mark.parametrize("bad", [None, b"bytes", 3, ["a"]])
def test_non_string_raises(bad):
    with pytest.raises(TypeError):
        tokenize(bad)


# ---- Vocab ---------------------------------------------------------------------------------------

DOCS = [["b", "a", "c"], ["a", "b", "d"], ["c", "a", "e"], ["b"]]  # a:3 b:3 c:2 d:1 e:1


def test_vocab_specials_and_order():
    v = Vocab.build(DOCS, min_count=1)
    assert v.itos[:2] == [PAD, UNK]
    assert v.stoi[PAD] == 0 and v.stoi[UNK] == 1
    # by count desc, ties alphabetical
    assert v.itos == [PAD, UNK, "a", "b", "c", "d", "e"]
    assert len(v) == 7 and "a" in v and "z" not in v


def test_vocab_deterministic_tie_order():
    orders = [DOCS, DOCS[::-1], [d[::-1] for d in DOCS]]
    itos = [Vocab.build(o, min_count=1).itos for o in orders]
    assert itos[0] == itos[1] == itos[2]


def test_vocab_min_count():
    assert Vocab.build(DOCS, min_count=2).itos == [PAD, UNK, "a", "b", "c"]
    assert Vocab.build(DOCS, min_count=3).itos == [PAD, UNK, "a", "b"]
    assert Vocab.build(DOCS, min_count=4).itos == [PAD, UNK]


def test_vocab_max_size_counts_specials():
    v = Vocab.build(DOCS, min_count=1, max_size=4)
    assert v.itos == [PAD, UNK, "a", "b"] and len(v) == 4
    assert Vocab.build(DOCS, min_count=1, max_size=1).itos == [PAD, UNK]


def test_vocab_ignores_special_tokens_in_data():
    v = Vocab.build([[PAD, UNK, "x"], [PAD, "x"]], min_count=1)
    assert v.itos == [PAD, UNK, "x"]


def test_vocab_encode_unknown_is_1():
    v = Vocab.build(DOCS, min_count=2)
    assert v.encode(["a", "zzz", "c", "d"]) == [2, 1, 4, 1]


def test_encode_texts_and_truncation():
    v = Vocab([PAD, UNK, "did", "n't", "like", "it"])
    assert encode_texts(["I didn't like it"], v) == [[1, 2, 3, 4, 5]]
    assert encode_texts(["I didn't like it"], v, max_len=2) == [[1, 2]]
    assert encode_texts(["I didn't like it"], v, max_len=2, truncate="tail") == [[4, 5]]
    assert encode_texts(["", "it"], v) == [[], [5]]
    with pytest.raises(ValueError):
        encode_texts(["x"], v, max_len=1, truncate="middle")


def test_vocab_save_load_roundtrip(tmp_path):
    v = Vocab.build(DOCS + [["caf\u00e9", "caf\u00e9", "n't", "n't"]], min_count=1)
    path = tmp_path / "sub" / "vocab.json"
    v.save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"itos": v.itos}
    w = Vocab.load(path)
    assert w.itos == v.itos and w.stoi == v.stoi
    assert w.encode(["caf\u00e9", "n't", "nope"]) == v.encode(["caf\u00e9", "n't", "nope"])


@pytest.mark.parametrize("content", [
    '{"itos": ["<pad>", "<unk>", "a"',          # truncated JSON
    "[\"<pad>\", \"<unk>\"]",                   # not an object
    '{"tokens": ["<pad>", "<unk>"]}',           # wrong key
    '{"itos": "abc"}',                          # not a list
    '{"itos": ["a", "<pad>", "<unk>"]}',        # specials not first
    '{"itos": ["<pad>", "<unk>", "a", "a"]}',   # duplicates
    '{"itos": ["<pad>", "<unk>", 5]}',          # non-string token
    "",                                         # empty file
])
def test_vocab_load_corrupt_raises_valueerror(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError):
        Vocab.load(path)
