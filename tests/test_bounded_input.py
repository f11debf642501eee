"""Bounded input (core.data.readers): every format reads incrementally under stated caps, one rule for empty and
over-long text holds in files, uploads and command-line texts, and every command checks its names and paths
before it loads data or fits anything (core.tools.cli.preflight)."""
from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from core.analysis.error_analysis import parse_upload
from core.data.loaders import DataError, check_dataset, load_aclimdb_dir, load_file
from core.data.readers import MAX_TEXT_CHARS, Limits, Source, read_rows
from core.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]
ROWS = [("a fine film", 1), ("dull , slow", 0), ("quotes \" and, commas", 1)]


def as_bytes(rows: list[tuple[str, object]], fmt: str) -> bytes:
    """The rows as a file of format fmt: .csv, .tsv, .jsonl or .json (a list)."""
    if fmt in (".csv", ".tsv"):
        buf = io.StringIO(newline="")
        w = csv.writer(buf, delimiter="," if fmt == ".csv" else "\t")
        w.writerow(["text", "label"])
        w.writerows(rows)
        return buf.getvalue().encode()
    objs = [{"text": t, "label": lab} for t, lab in rows]
    if fmt == ".json":
        return json.dumps(objs, indent=1).encode()
    return "".join(json.dumps(o) + "\n" for o in objs).encode()


FORMATS = (".csv", ".tsv", ".jsonl", ".json")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("gz", [False, True])
def test_every_format_reads_the_same_rows(tmp_path, fmt, gz):
    raw = as_bytes(ROWS, fmt)
    path = tmp_path / f"d{fmt}{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    ds = load_file(path)
    assert ds.texts == [t for t, _ in ROWS] and ds.labels.tolist() == [1, 0, 1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_json_list_or_rows_split_across_read_blocks(tmp_path, fmt):
    """Rows longer than a read block (64 KB), and many of them, come back whole, in order."""
    rows = [(f"word{i} " * (1 + (i * 7919) % 20_000), i % 2) for i in range(40)]
    path = tmp_path / f"d{fmt}"
    path.write_bytes(as_bytes(rows, fmt))
    ds = load_file(path)
    assert ds.texts == [t for t, _ in rows] and ds.labels.tolist() == [lab for _, lab in rows]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_empty_text_rule_in_files_and_uploads(tmp_path, fmt):
    """A row whose text is empty or only spaces is refused, by row, in every format and in an upload."""
    for blank in ("", "   \t "):
        raw = as_bytes([("good", 1), (blank, 0)], fmt)
        path = tmp_path / f"e{fmt}"
        path.write_bytes(raw)
        where = r"item 2" if fmt == ".json" else r"row 2 \(line \d+\)"
        with pytest.raises(DataError, match=rf"e{fmt}, {where}: empty text"):
            load_file(path)
        with pytest.raises(DataError, match=rf"e{fmt}, {where}: empty text"):
            parse_upload(f"e{fmt}", raw)


def test_one_empty_text_rule_for_a_review_file_and_the_command_line(tmp_path, capsys):
    for sub, text in (("pos", "great"), ("neg", " \n ")):
        (tmp_path / "split" / sub).mkdir(parents=True)
        (tmp_path / "split" / sub / "0_1.txt").write_text(text)
    with pytest.raises(DataError, match=r"0_1.txt: empty text"):
        load_aclimdb_dir(tmp_path / "split")
    assert main(["predict", "toy-gru", " "]) == 2
    assert "empty text" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", FORMATS)
def test_long_texts_read_up_to_the_cap_in_every_format(tmp_path, fmt):
    """A 200,000-character text (over Python's csv default field limit of 131,072) is read in every format; a
    text one character over the cap is refused, naming the cap."""
    long = "great " * 33_334
    path = tmp_path / f"l{fmt}"
    path.write_bytes(as_bytes([(long, 1)], fmt))
    assert load_file(path).texts == [long]
    over = "x" * (MAX_TEXT_CHARS + 1)
    path.write_bytes(as_bytes([(over, 1)], fmt))
    with pytest.raises(DataError, match=rf"l{fmt}, .*{MAX_TEXT_CHARS + 1:,} characters, over the cap of "
                                        rf"{MAX_TEXT_CHARS:,}"):
        load_file(path)
    assert parse_upload(f"l{fmt}", as_bytes([(long, 1)], fmt))[0] == [long]


@pytest.mark.parametrize("fmt", FORMATS)
def test_row_and_byte_caps_stop_the_read(fmt):
    rows = [(f"text {i}", i % 2) for i in range(30)]
    raw = as_bytes(rows, fmt)
    assert len(list(read_rows(Source(raw, f"r{fmt}", Limits(rows=30))))) == 30
    with pytest.raises(DataError, match=rf"r{fmt}: more than 29 (rows|items), the cap"):
        list(read_rows(Source(raw, f"r{fmt}", Limits(rows=29))))
    with pytest.raises(DataError, match=rf"r{fmt}: more than 100 bytes, the cap for one file"):
        list(read_rows(Source(raw, f"r{fmt}", Limits(bytes=100))))
    with pytest.raises(DataError, match=rf"r{fmt}.gz: more than 100 bytes once decompressed"):
        list(read_rows(Source(gzip.compress(raw), f"r{fmt}.gz", Limits(bytes=100))))


def test_one_line_without_end_is_stopped_at_the_line_cap():
    """Zeros with no line end (a gzip bomb's usual payload) stop at the line cap, not at the end of the file."""
    limits = Limits(text_chars=1000)
    raw = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(DataError, match=rf"b.jsonl.gz, line 1: longer than {limits.line_chars:,} characters"):
        list(read_rows(Source(raw, "b.jsonl.gz", limits)))
    with pytest.raises(DataError, match=r"b.json.gz, item 1: longer than"):
        list(read_rows(Source(gzip.compress(b"[" + b"1" * 10_000_000), "b.json.gz", limits)))


def write_bomb(path: Path, total: int, byte: bytes = b"\0") -> None:
    """A .gz file of `total` copies of `byte`, compressed block by block (it is about 1/1000 of total)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = byte * (1 << 22)
    with open(path, "wb") as f:
        for _ in range(total // len(block)):
            f.write(comp.compress(block))
        f.write(comp.flush())


GROWTH_MB = 64   # peak memory the read may add to the process (the line cap is 8 MB of bytes, 2 M characters)


@pytest.mark.parametrize("byte, says", [(b"\0", "the cap for one line"), (b"\n", "the file is empty")])
def test_a_gzip_bomb_is_refused_in_bounded_memory(tmp_path, byte, says):
    """A 0.5 MB .jsonl.gz that expands to 512 MiB is refused, naming the file: zeros with no line end at the
    line cap, empty lines as a file with nothing in it (under the 1 GiB byte cap); and the read adds less than GROWTH_MB to the process's peak memory (the loader before decompressed
    and decoded the whole file: 1.2 GB)."""
    bomb = tmp_path / "bomb.jsonl.gz"
    write_bomb(bomb, 512 << 20, byte)
    code = textwrap.dedent(f"""
        import resource, sys
        from core.data.loaders import DataError, load_file
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            load_file({str(bomb)!r})
            print("loaded")
        except DataError as e:
            print(e)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    message, growth_mb = out.stdout.strip().splitlines()
    assert message.startswith(str(bomb)) and says in message, message
    assert int(growth_mb) < GROWTH_MB, f"the read added {growth_mb} MB"


def test_named_datasets_and_paths_are_checked_without_reading(tmp_path):
    check_dataset("toy:train", tmp_path)
    check_dataset("examples", tmp_path)
    check_dataset("imdb:test", tmp_path, need_data=False)
    with pytest.raises(DataError, match="not found"):
        check_dataset("imdb:test", tmp_path)
    with pytest.raises(DataError, match="no domain 'cars'"):
        check_dataset("amazon:cars", tmp_path, need_data=False)
    with pytest.raises(DataError, match="neither a known dataset"):
        check_dataset(str(tmp_path / "nope.csv"), tmp_path)


def test_commands_check_names_and_paths_before_any_work(tmp_path, capsys, monkeypatch):
    """Every refusal comes before data is read or anything fitted: exit 2, a message, nothing written."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    import core.tools.cli as cli

    def no_work(*_a, **_k):
        raise AssertionError("the command ran before its arguments were checked")

    monkeypatch.setattr(cli, "COMMANDS", {k: no_work for k in cli.COMMANDS})
    good = tmp_path / "in.csv"
    good.write_text("text\nfine\n")
    cases = [
        (["train-augmented", "--rnn", "toy-gru", "--name", "../escape"], "not a model name"),
        (["train-augmented", "--rnn", "no-such-model", "--name", "x"], "no model folder"),
        (["train", "--name", "a/b", "--data", "toy:train"], "not a model name"),
        (["train", "--name", "x", "--data", "imdb:train", "--data-root", str(tmp_path)], "not found"),
        (["evaluate", "toy-gru", "--data", str(tmp_path / "missing.csv")], "neither a known dataset"),
        (["errors", "toy-gru", "--data", "toy:test", "--bow", "no-such-bow"], "no model folder"),
        (["predict", "toy-gru", "--input", str(tmp_path / "missing.csv")], "no such file"),
        (["predict", "toy-gru", "--input", str(good), "--output", str(tmp_path / "no" / "out.jsonl")],
         "does not exist"),
        (["report", "toy-gru", "--text", "good", "--out", str(tmp_path)], "is a folder"),
        (["phrase", "toy-gru", "good", "--data", "amazon:cars"], "no domain"),
        (["ship", "toy-gru", "no-such-model"], "no model folder"),
    ]
    for argv, says in cases:
        assert main(argv) == 2, argv
        assert says in capsys.readouterr().err, argv
    assert not (tmp_path / "cache").exists() and not (tmp_path / "no").exists()


def test_train_augmented_with_a_bad_name_costs_no_fit(tmp_path, capsys, monkeypatch):
    """The issue's case, end to end: a bad --name is refused at once (no fit, no cache entry)."""
    monkeypatch.setenv("SENTIMENT_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["train-augmented", "--rnn", "toy-gru", "--name", "bad name!"]) == 2
    assert "not a model name" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()
