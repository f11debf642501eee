"""ui.format.literal on hand-worked payloads: what a user can type that Streamlit's Markdown would otherwise
turn into bold, a link, an image, HTML, LaTeX, an emoji or an icon. The browser side (that the escaped text shows
as typed in Streamlit's renderer) is tests/test_browser_text.py's."""
from __future__ import annotations

import re

import pytest

from ui.format import WORD_JOINER, literal

J = WORD_JOINER


@pytest.mark.parametrize("typed, escaped", [
    ("very", "very"),                                       # plain words are left alone
    ("not good", "not good"),
    ("**very**", r"\*\*very\*\*"),                           # bold
    ("_a_", r"\_a\_"),                                       # italics
    ("~~x~~", r"\~\~x\~\~"),                                 # strikethrough
    ("`x`", r"\`x\`"),                                       # code
    ("# x", r"\# x"),                                        # a heading at the start of a message
    ("1. x", r"1\. x"),                                      # a numbered list
    ("- x", r"\- x"),                                        # a bullet
    ("> x", r"\> x"),                                        # a quote
    ("<b>x</b>", r"\<b\>x\<\/b\>"),                          # HTML
    ("$x$", r"\$x\$"),                                       # LaTeX
    (":red[x]", "\\:" + J + r"red\[x\]"),                   # a colour directive
    (":smile:", "\\:" + J + "smile\\:" + J),                 # an emoji shortcode
    (":material/home:", "\\:" + J + "material\\/home\\:" + J),   # an icon
    (":material_home:", "\\:" + J + "material\\_home\\:" + J),   # the icon's other spelling
    ("[click me](https://e.com)", "\\[click me\\]\\(https\\:" + J + "\\/\\/e\\.com\\)"),   # a link
    ("![img](https://e.com/a.png)", "\\!\\[img\\]\\(https\\:" + J + "\\/\\/e\\.com\\/a\\.png\\)"),   # an image
    ("www.e.com", "www" + J + "\\.e\\.com"),                 # a bare web address
    ("WWW.e.com", "WWW" + J + "\\.e\\.com"),
    ("a@b.com", "a\\@" + J + "b\\.com"),                     # an e-mail address
    ("a\\b", r"a\\b"),                                       # a backslash stays one
    ("n't", r"n\'t"),
    ("x & y", r"x \& y"),                                    # an HTML entity
    ("∅ é 😀", "∅ é 😀"),                                    # other characters are left alone
])
def test_literal_escapes_what_markdown_reads(typed, escaped):
    assert literal(typed) == escaped


@pytest.mark.parametrize("typed", ["**very**", "[click me](https://example.com)", "![img](https://example.com/a.png)",
                                   ":smile:", ":red[x]", "$x^2$", "<img src=x onerror=alert(1)>", "a\\*b", "x:y:z",
                                   "https://example.com", "www.example.com", "me@example.com", ""])
def test_literal_reads_back_as_typed(typed):
    """Undoing the escapes (what a CommonMark renderer does) and dropping the invisible joiners gives the text back."""
    unescaped = re.sub(r"\\(.)", r"\1", literal(typed)).replace(J, "")
    assert unescaped == typed


def test_literal_breaks_the_patterns_found_after_parsing():
    """Streamlit finds web addresses, icons and emoji in the parsed text, where the escapes are gone: the
    parsed text (escapes undone) must not hold them."""
    parsed = re.sub(r"\\(.)", r"\1", literal("https://e.com www.e.com a@b.co :smile: :material/home: :material_x:"))
    assert not re.search(r"https?://|www\.|[\w.+-]+@[\w-]+\.\w|:[\w+-]+:|:material[_/]", parsed, re.IGNORECASE)
