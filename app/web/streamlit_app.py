"""The attrib Streamlit app (run it with `attrib app`): one entry script, pages in app/web/views/ (not pages/: Streamlit would also serve a pages/ folder as old-style pages, bypassing st.navigation and the wide layout).

Pages are thin: they call graph/ functions (graph.reads.explore, graph.reads.subgraph, the engine) and
app.exports; the Neo4j driver is created once per process in app.web.state.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.web import state
from graph.errors import AttribError

PAGES = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="attrib: attribution explorer", layout="wide",
                   initial_sidebar_state="expanded")

# The Workbench answers at /workbench (the links the app gives) and at the root: Streamlit serves
# the default page only at "/" and keeps its url_path from any other page, so the root is a
# hidden page of its own running the same script.
pages = [
    st.Page(str(PAGES / "workbench.py"), title="Workbench", url_path="workbench"),
    st.Page(str(PAGES / "workbench.py"), title="Workbench", url_path="start", default=True,
            visibility="hidden"),
    st.Page(str(PAGES / "explore.py"), title="Explore", url_path="explore"),
    st.Page(str(PAGES / "compare.py"), title="Compare actors", url_path="compare"),
    st.Page(str(PAGES / "timeline.py"), title="Timeline", url_path="timeline"),
    st.Page(str(PAGES / "load.py"), title="Load", url_path="load"),
    st.Page(str(PAGES / "draft.py"), title="Draft from a report", url_path="draft"),
    st.Page(str(PAGES / "console.py"), title="Cypher console", url_path="console"),
]
state.warm_up_in_background()
try:
    st.navigation(pages).run()
except AttribError as exc:  # one the page did not handle, e.g. the server went away mid-page
    state.lost(exc)
