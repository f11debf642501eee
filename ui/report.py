"""The "Report (HTML)" download of a phrase's analysis: core.tools.report's self-contained file (what
`python -m core report` writes), of the result the page already computed. Shared, so that every page showing a
phrase's analysis offers the same file."""
from __future__ import annotations

import streamlit as st

from core.analysis.context import ContextEngine
from core.analysis.settings import Settings
from core.tools.report import phrase_report
from ui.state import MAX_CHARS, text_was_cut


def report_button(eng: ContextEngine, settings: Settings, text: str, result: dict, where=st,
                  key: str = "dl-report") -> None:
    """A download button for the report of `result` (ContextEngine.phrase of `text` on `eng`). The file is built
    when the button is clicked, not on every run of the page, and clicking does not rerun the page."""
    name = f"{settings.name}-phrase-report.html"
    cut = (f"The text pasted was longer than {MAX_CHARS:,} characters: this report covers the part the page kept "
           "and analysed (quoted above), not the whole paste.")
    notes = [cut] if text_was_cut() else []
    where.download_button(
        "Report (HTML)", lambda: phrase_report(eng, settings, text, result, out_name=name, notes=notes).encode(),
        name, "text/html", key=key, on_click="ignore", icon=":material/description:",
        help="One self-contained HTML file of this analysis to hand out: the phrase, the charts, the per-token "
             "table, the model card, the settings, the warnings and the command that reproduces it. It opens "
             "offline and holds no script.")
