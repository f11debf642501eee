"""The explorer's user interface pieces shared by the pages (pages/ holds one file per page).

- ui.navigation: the page list (titles, files, icons, sections, URL paths), app.py's st.navigation and links to
  the Method page;
- ui.state: session state that survives page switches and reloads (query parameters), the shared sidebar and
  `current()`, which every page calls first;
- ui.engine: the cached model and analysis engine, and core errors shown on the page;
- ui.charts: shared Altair pieces (reference rule, attractor and modifier scatters, a model's explanation),
  metric rows, and charts with their downloads;
- ui.format: numbers and modes as the pages write them.
"""
