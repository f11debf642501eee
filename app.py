"""Sentiment RNN explorer: the entry point. It runs the page chosen in the navigation (st.navigation over
ui.navigation.PAGES); each page draws the shared sidebar, sets the page configuration and keeps the URL's query
parameters (ui.state.current)."""
from __future__ import annotations

from ui.navigation import navigation

navigation().run()
