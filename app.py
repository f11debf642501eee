"""Sentiment RNN explorer: the entry point. It runs the page chosen in the navigation (`st.navigation`);
each page draws the shared sidebar and keeps the URL's query parameters (pages.current)."""
from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Sentiment RNN explorer", page_icon=":material/insights:", layout="wide")

PAGES = {
    "Explore": [
        st.Page("pages/start.py", title="Start", icon=":material/home:", default=True),
        st.Page("pages/phrase.py", title="Phrase", icon=":material/text_fields:"),
        st.Page("pages/modifiers.py", title="Modifiers", icon=":material/tune:"),
        st.Page("pages/dynamics.py", title="Dynamics", icon=":material/timeline:"),
        st.Page("pages/position.py", title="Position", icon=":material/straighten:"),
        st.Page("pages/architectures.py", title="Architectures", icon=":material/hub:"),
    ],
    "Evaluate": [
        st.Page("pages/bow_vs_rnn.py", title="BoW vs RNN", icon=":material/compare_arrows:"),
        st.Page("pages/errors.py", title="Error analysis", icon=":material/rule:"),
    ],
    "Learn": [
        st.Page("pages/teach.py", title="Teach", icon=":material/school:"),
        st.Page("pages/method.py", title="Method", icon=":material/menu_book:"),
    ],
}

st.navigation(PAGES).run()
