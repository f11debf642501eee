"""The explorer's pages, listed once: app.py builds st.navigation from PAGES, tests/test_browser.py checks the
sidebar against it, and links to the Method page use its URL path."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st


@dataclass(frozen=True)
class Page:
    """One page: its title in the sidebar, its file, icon and navigation section, and its public URL path
    ("" for the default page, served at the app's root; otherwise the file's name)."""
    title: str
    file: str
    icon: str
    section: str
    url_path: str

    @property
    def default(self) -> bool:
        return self.url_path == ""


PAGES = (
    Page("Start", "pages/start.py", ":material/home:", "Explore", ""),
    Page("Phrase", "pages/phrase.py", ":material/text_fields:", "Explore", "phrase"),
    Page("Compare", "pages/compare.py", ":material/difference:", "Explore", "compare"),
    Page("Modifiers", "pages/modifiers.py", ":material/tune:", "Explore", "modifiers"),
    Page("Dynamics", "pages/dynamics.py", ":material/timeline:", "Explore", "dynamics"),
    Page("Position", "pages/position.py", ":material/straighten:", "Explore", "position"),
    Page("Architectures", "pages/architectures.py", ":material/hub:", "Explore", "architectures"),
    Page("BoW vs RNN", "pages/bow_vs_rnn.py", ":material/compare_arrows:", "Evaluate", "bow_vs_rnn"),
    Page("Error analysis", "pages/errors.py", ":material/rule:", "Evaluate", "errors"),
    Page("Papers' claims", "pages/claims.py", ":material/fact_check:", "Evaluate", "claims"),
    Page("Teach", "pages/teach.py", ":material/school:", "Learn", "teach"),
    Page("Method", "pages/method.py", ":material/menu_book:", "Learn", "method"),
)
METHOD_URL = next(p.url_path for p in PAGES if p.title == "Method")
# The Method page's sections, in page order; each is the anchor of its st.header.
ANCHORS = ("readout", "fixed-points", "linearisation", "attractor-figures", "neutral-input", "reference", "valence", "modulation",
           "deflection", "modifiers", "position", "bow", "errors", "claims")


def navigation():
    """st.navigation over PAGES, grouped by section in their order (app.py runs it)."""
    sections: dict[str, list] = {}
    for p in PAGES:
        where = {} if p.default else {"url_path": p.url_path}   # the default page is served at the root
        page = st.Page(p.file, title=p.title, icon=p.icon, default=p.default, **where)
        sections.setdefault(p.section, []).append(page)
    return st.navigation(sections)


def method_link(anchor: str, text: str = "How to read this") -> str:
    """A markdown link to the Method page's section `anchor` (one of ANCHORS).

    The link is relative ("method?<query>#valence"), so it reaches the Method page from every page, served at the
    root or under a base path; Streamlit opens it in a new tab. It carries the page's current query parameters
    (model, text, neutral input): the new session then finds its URL already in sync and keeps the #anchor, so the
    browser scrolls to the section (a session that rewrites its query parameters drops the URL's #anchor)."""
    if anchor not in ANCHORS:
        raise ValueError(f"no Method section {anchor!r}; sections: {', '.join(ANCHORS)}")
    query = urlencode(st.query_params.to_dict())
    return f"[{text}]({METHOD_URL}{'?' + query if query else ''}#{anchor})"
