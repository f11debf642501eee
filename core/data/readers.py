"""Bounded, streaming readers: every file the explorer reads texts from (a named dataset, a user's file for the
command line, an upload in the app) goes through them, plain or gzipped, as CSV/TSV, JSON lines or a JSON list.

They read a block at a time and stop with a DataError that names the file and the cap at the first cap passed
(decompressed bytes, lines or list items, characters in one line or one text), so memory follows what is kept,
never the size of the file or of what a small gzip file expands to. One rule holds in every format: a row needs
a text that is not empty (nor only spaces) and at most `Limits.text_chars` characters long; a row that breaks it
is refused, naming the file and line, and nothing is loaded (all or nothing, as for every other malformed row).
Blank lines are not rows.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.data.dataset import DataError

MAX_BYTES = 1 << 30          # bytes read from one file, after decompression: 15x the largest dataset here
                             # (imdb:unsup, 69 MB once decompressed)
MAX_ROWS = 2_000_000         # lines (or JSON list items) in one file: the largest dataset here has 50,000
MAX_TEXT_CHARS = 1_000_000   # characters in one text: the longest review here has 21,537
BLOCK = 1 << 16              # bytes read at a time
TEXT_COLUMNS = ("text", "sentence", "content", "review", "document", "phrase")
LABEL_COLUMNS = ("label", "sentiment", "polarity", "y", "target", "class")
FORMATS = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")
_SPACE = re.compile(r"[ \t\r\n]*")   # JSON's whitespace


@dataclass(frozen=True)
class Limits:
    """The caps one read stops at (the defaults for files; the app's uploads use smaller ones)."""
    bytes: int = MAX_BYTES
    rows: int = MAX_ROWS
    text_chars: int = MAX_TEXT_CHARS

    @property
    def line_chars(self) -> int:
        """The longest line (or JSON list item) read: a text at the cap written with JSON escapes, plus room for
        the other fields."""
        return 2 * self.text_chars + BLOCK


FILE_LIMITS = Limits()
# Python's csv module refuses fields over its own limit (131,072 characters by default); ours is the line cap,
# so a long text is read in CSV as in JSON lines and refused by the text rule, with its message, above the cap.
csv.field_size_limit(max(csv.field_size_limit(), FILE_LIMITS.line_chars))


@dataclass(frozen=True)
class Row:
    """One row read: its text, its raw label (None without a label column), its id (None without an `id`
    column) and where it is ("FILE, row N (line L)" or "FILE, item N"), for messages."""
    text: str
    label: object
    id: str | None
    where: str


class _Counted(io.RawIOBase):
    """A binary stream that counts the bytes read through it and stops at the cap (for a .gz file, the
    decompressed bytes: a small file that expands past the cap is refused as soon as it does)."""

    def __init__(self, inner, name: str, cap: int, gz: bool):
        self.inner, self.name, self.cap, self.gz, self.count = inner, name, cap, gz, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        try:
            n = self.inner.readinto(buf)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{self.name}: {'not a valid gzip file' if self.gz else 'cannot read'} ({e})") from None
        self.count += n
        if self.count > self.cap:
            raise DataError(f"{self.name}: more than {self.cap:,} bytes{' once decompressed' if self.gz else ''}, "
                            f"the cap for one file; split it into smaller files")
        return n


class Source:
    """A file (a path, or bytes already in memory with the name they came with), opened as a bounded binary
    stream: gunzipped when the name ends in .gz."""

    def __init__(self, data: Path | bytes, name: str | None = None, limits: Limits = FILE_LIMITS):
        self.data, self.limits = data, limits
        self.name = name if name is not None else str(data)
        base = self.name[:-3] if self.name.lower().endswith(".gz") else self.name
        self.gz = base != self.name
        self.ext = Path(base).suffix.lower()

    def open(self) -> io.BufferedReader:
        """The bounded binary stream (the caller closes it)."""
        if isinstance(self.data, bytes):
            raw = io.BytesIO(self.data)
        else:
            try:
                raw = open(self.data, "rb")
            except OSError as e:
                raise DataError(f"{self.name}: cannot read ({e.strerror or e})") from None
        inner = gzip.GzipFile(fileobj=raw, mode="rb") if self.gz else raw
        return io.BufferedReader(_Counted(inner, self.name, self.limits.bytes, self.gz), BLOCK)

    def lines(self, fallback: str | None = None) -> Iterator[tuple[int, str]]:
        """(line number, line) for every line, "\\n" kept (lines split at "\\n" only, as the formats define
        them), UTF-8 with a leading BOM dropped (a line that is not UTF-8 is an error, or decoded with the
        `fallback` encoding); stops at the line, line-length and byte caps."""
        cap = 4 * self.limits.line_chars   # bytes: UTF-8 takes at most 4 a character
        with self.open() as stream:
            lineno = 0
            while True:
                raw = stream.readline(cap + 1)
                if not raw:
                    return
                lineno += 1
                if lineno > 2 * self.limits.rows + 1:   # rows, the header, and as many blank lines
                    raise DataError(f"{self.name}: more than {2 * self.limits.rows + 1:,} lines, the cap for one "
                                    "file; split it into smaller files")
                try:
                    line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as e:
                    if fallback is None:
                        raise DataError(f"{self.name}, line {lineno}: not UTF-8 text (byte 0x{raw[e.start]:02x} "
                                        f"at position {e.start + 1}); save it as UTF-8") from None
                    line = raw.decode(fallback)
                if len(raw) > cap or len(line) > self.limits.line_chars:
                    raise DataError(f"{self.name}, line {lineno}: longer than {self.limits.line_chars:,} "
                                    "characters, the cap for one line")
                yield lineno, line

    def chunks(self) -> Iterator[str]:
        """The text a block at a time (UTF-8, a leading BOM dropped), for formats whose items span lines."""
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        with self.open() as stream:
            done = 0
            while True:
                block = stream.read(BLOCK)
                try:
                    text = decoder.decode(block, final=not block)
                except UnicodeDecodeError as e:
                    raise DataError(f"{self.name}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at byte "
                                    f"{done + e.start + 1}); save it as UTF-8") from None
                done += len(block)
                if text:
                    yield text
                if not block:
                    return


def json_problem(e: ValueError | RecursionError) -> str:
    """Why json.loads refused a text, in words: its own message, or a number too long for Python to convert
    (ValueError) or nesting too deep to decode (RecursionError), which it raises without saying where."""
    if isinstance(e, json.JSONDecodeError):
        return e.msg
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return str(e).split(":", 1)[0]


def _json_lines(src: Source) -> Iterator[tuple[object, str]]:
    rows = 0
    for lineno, line in src.lines():
        if not line.strip():
            continue
        rows += 1
        where = f"{src.name}, row {rows} (line {lineno})"
        try:
            yield json.loads(line), where
        except (ValueError, RecursionError) as e:
            raise DataError(f"{where}: invalid JSON ({json_problem(e)})") from None


def _json_list(src: Source, chunks: Iterator[str], buf: str) -> Iterator[tuple[object, str]]:
    """The items of a JSON list, one at a time: each is decoded as soon as it is complete, so only one item
    (at most the line cap) is held besides what is kept."""
    decoder, pos, item, ended = json.JSONDecoder(), 1, 0, False   # buf[0] is the list's "["

    def more() -> bool:
        nonlocal buf, pos, ended
        nxt = next(chunks, None)
        if nxt is None:
            ended = True
            return False
        buf, pos = buf[pos:] + nxt, 0
        return True

    def skip_space() -> str:
        nonlocal pos
        while True:
            pos = _SPACE.match(buf, pos).end()
            if pos < len(buf) or not more():
                return buf[pos] if pos < len(buf) else ""

    def fail(why: str) -> DataError:
        return DataError(f"{src.name}, item {item}: invalid JSON ({why})")

    nxt = skip_space()
    if nxt == "]":
        return
    while True:
        item += 1
        if item > src.limits.rows:
            raise DataError(f"{src.name}: more than {src.limits.rows:,} items, the cap for one file; "
                            "split it into smaller files")
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
            except (ValueError, RecursionError) as e:   # incomplete, or wrong: read on unless at the end or the cap
                if len(buf) - pos > src.limits.line_chars:
                    raise DataError(f"{src.name}, item {item}: longer than {src.limits.line_chars:,} characters, "
                                    "the cap for one item") from None
                if ended or not more():
                    raise fail(json_problem(e)) from None
                continue
            if end == len(buf) and not ended and not isinstance(obj, (dict, list, str)) and more():
                continue     # a number or a literal cut at the block's end: decode it whole
            break
        pos = end
        yield obj, f"{src.name}, item {item}"
        nxt = skip_space()
        if nxt == "]":
            pos += 1
            if skip_space():
                raise fail("text after the list's closing ]")
            return
        if nxt != ",":
            raise fail("expected , or ] after an item" if nxt else "the list is not closed with ]")
        pos += 1
        skip_space()


def _json_items(src: Source) -> Iterator[tuple[object, str]]:
    """A JSON list's items, or JSON lines' objects, as the file starts ("[" or not)."""
    chunks = src.chunks()
    buf = ""
    for chunk in chunks:
        buf = (buf + chunk).lstrip()   # leading blanks are dropped as read: a file of spaces holds nothing
        if buf:
            break
    if not buf:
        raise DataError(f"{src.name}: the file is empty")
    start = buf
    if start.startswith("["):
        yield from _json_list(src, chunks, start)
        return
    chunks.close()
    yield from _json_lines(src)


def _column(columns: list, wanted: str | None, candidates: tuple[str, ...], what: str, where: str,
            hint: str) -> object:
    """The column named `wanted`, else the first whose name (trimmed, lower-cased) is one of the candidates."""
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{where}: no {what} column {wanted!r} (columns: {list(columns)})")
        return wanted
    lower = {str(c).strip().lower(): c for c in columns}
    for c in candidates:
        if c in lower:
            return lower[c]
    raise DataError(f"{where}: no {what} column; name one of {', '.join(candidates)}{hint} "
                    f"(columns: {list(columns)})")


def check_text(text: object, where: str, limits: Limits = FILE_LIMITS, field: object = "text") -> str:
    """The one text rule: a string, not empty nor only spaces, at most limits.text_chars characters."""
    if not isinstance(text, str):
        raise DataError(f"{where}: missing text field {field!r} (or not a string)")
    if not text.strip():
        raise DataError(f"{where}: empty text (nothing but spaces)")
    if len(text) > limits.text_chars:
        raise DataError(f"{where}: a text of {len(text):,} characters, over the cap of {limits.text_chars:,} "
                        "for one text")
    return text


def read_rows(src: Source, text_col: str | None = None, label_col: str | None = None, labels: str = "required",
              column_hint: str = "") -> Iterator[Row]:
    """Every row of a CSV/TSV (header first; .txt: tab-separated when its first line has a tab) or JSON file,
    read incrementally, at most src.limits.rows of them. labels: "required" (a label column must be found),
    "optional" (read one where found: unlabelled files have label None) or "ignore". Raises DataError at the
    first bad row or cap."""
    for n, row in enumerate(_rows(src, text_col, label_col, labels, column_hint), 1):
        if n > src.limits.rows:
            raise DataError(f"{src.name}: more than {src.limits.rows:,} rows, the cap for one file; "
                            "split it into smaller files")
        yield row


def _rows(src: Source, text_col: str | None, label_col: str | None, labels: str, column_hint: str) -> Iterator[Row]:
    if src.ext not in FORMATS:
        raise DataError(f"{src.name}: unsupported format {src.ext or '(none)'!r}; use .csv, .tsv or .jsonl "
                        "(optionally .gz), or a .json list")
    if src.ext in (".jsonl", ".ndjson", ".json"):
        tcol = lcol = None
        for obj, where in _json_items(src):
            if not isinstance(obj, dict):
                raise DataError(f"{where}: expected a JSON object with a text field")
            if tcol is None:
                columns = list(obj)
                tcol = _column(columns, text_col, TEXT_COLUMNS, "text", where, column_hint)
                lcol = _label_column(columns, label_col, labels, where, column_hint)
            if lcol is not None and lcol not in obj:
                raise DataError(f"{where}: missing label field {lcol!r}")
            yield Row(check_text(obj.get(tcol), where, src.limits, tcol), None if lcol is None else obj[lcol],
                      str(obj["id"]) if "id" in obj else None, where)
        return
    lines = src.lines()
    first = next(lines, None)
    if first is not None and not first[1].strip():   # a blank first line: a header-less file, or an empty one
        first = next(((n, line) for n, line in lines if line.strip()), None)
        if first is not None:
            raise DataError(f"{src.name}, line 1: blank; the first line must be the header")
    if first is None:
        raise DataError(f"{src.name}: the file is empty")
    delim = "\t" if src.ext == ".tsv" or (src.ext == ".txt" and "\t" in first[1]) else ","
    where = f"{src.name}, line 1"

    def all_lines() -> Iterator[str]:
        yield first[1]
        for _, line in lines:
            yield line

    reader = csv.reader(all_lines(), delimiter=delim)
    try:
        header = next(reader)
        ti = header.index(_column(header, text_col, TEXT_COLUMNS, "text", where, column_hint))
        lcol = _label_column(header, label_col, labels, where, column_hint)
        li = None if lcol is None else header.index(lcol)
        idi = header.index("id") if "id" in header else None
        rows = 0
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            rows += 1
            where = f"{src.name}, row {rows} (line {reader.line_num})"
            if len(row) != len(header):
                raise DataError(f"{where}: {len(row)} fields, the header has {len(header)}")
            yield Row(check_text(row[ti], where, src.limits, header[ti]), None if li is None else row[li],
                      row[idi] if idi is not None else None, where)
    except csv.Error as e:
        why = f"a field longer than {csv.field_size_limit():,} characters, the cap for one field" \
            if "field limit" in str(e) else f"unreadable CSV ({e})"
        raise DataError(f"{src.name}, line {reader.line_num}: {why}") from None


def _label_column(columns: list, wanted: str | None, labels: str, where: str, hint: str) -> object:
    if labels == "ignore":
        return None
    if labels == "optional" and wanted is None and not any(str(c).strip().lower() in LABEL_COLUMNS for c in columns):
        return None
    return _column(columns, wanted, LABEL_COLUMNS, "label", where, hint)


def read_text_file(path: Path, limits: Limits = FILE_LIMITS) -> str:
    """One whole text file (a review in the aclImdb layout): UTF-8, line ends made "\\n" (as Python's text mode
    reads them), under the text rule; at most 4 bytes a character of the text cap are read."""
    cap = 4 * limits.text_chars
    try:
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(raw) > cap:
        raise DataError(f"{path}: more than {cap:,} bytes, over the cap of {limits.text_chars:,} characters for "
                        "one text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at position {e.start + 1}); "
                        "save it as UTF-8") from None
    return check_text(text.replace("\r\n", "\n").replace("\r", "\n"), str(path), limits, "text")
