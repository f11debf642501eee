"""Papers' claims: each claim of papers A and B on the sidebar's RNN, the figure measured, its interval and a
verdict by a stated rule (core.experiments.claims), from the stored analyses only; nothing is computed here."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analysis.settings import Settings
from core.analysis.views import shipped_stamp
from core.experiments.claims import PAPERS, ledger
from ui.engine import core_call
from ui.navigation import method_link
from ui.state import current


@st.cache_data(show_spinner="Reading the stored analyses...", max_entries=16, ttl=600)
def claims(s: Settings, stored: tuple) -> list[dict]:
    """core.experiments.claims.ledger, read again when `stored` (core.analysis.views.shipped_stamp) changes."""
    return ledger(s)


info, settings = current()
st.title("The papers' claims, on this network")
st.caption("Each claim of paper A (" + PAPERS["A"] + ") and paper B (" + PAPERS["B"] + "), judged on the sidebar's "
           "RNN from its stored analyses (nothing is computed here): the figure measured, its interval where it has "
           "one, and a verdict by the rule in the last column. *Not measured*: the stored analysis lacks the figure "
           "(the Modifiers, Position and Dynamics pages compute it at a setting other than the shipped one). "
           + method_link("claims", "Every rule"))
st.text(f"{info['name']}, neutral input {settings.neutral}, {settings.n_seeds} fixed-point seeds")

entries = core_call(claims, settings, shipped_stamp([info]))
counts = {v: sum(e["verdict"] == v for e in entries) for v in dict.fromkeys(e["verdict"] for e in entries)}
st.text(" · ".join(f"{v}: {n}" for v, n in counts.items()))
table = pd.DataFrame([{"claim": e["title"], "paper": e["paper"], "measured": e["measured_text"],
                       "interval": e["interval_text"], "verdict": e["verdict"], "why": e["why"], "rule": e["rule"]}
                      for e in entries])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"why": st.column_config.TextColumn(width="large"),
                            "rule": st.column_config.TextColumn(width="large")})
st.caption("Interval: the 95% interval across starting states for a modifier's M(1) = 1 + strength; the bootstrap 95% "
           "interval over test examples for the gap recovered. The claims in full:")
for e in entries:
    st.text(f"{e['title']} ({e['paper']}): {e['claim']}  [source: {e['source']}]")
