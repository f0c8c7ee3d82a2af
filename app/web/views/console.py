"""Cypher console: saved queries as a menu, an editor, the result as a table and a graph.
Read-only: graph.reads.console refuses writes, file access and administration before anything runs."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.web import state
from app.exports.html import render_html
from app.exports.style import DENSE_LAYOUT_FROM, MAX_DRAWN_NODES
from app.web.export_widget import export_panel
from graph import cypher
from graph.errors import AttribError
from graph.reads import saved_queries
from graph.reads.console import display_text, run_query

db = state.get_db()
state.page_header("Cypher console", "Read-only: writes, LOAD CSV, administration and procedures outside a "
                  "short allowlist are refused; queries time out and results are capped.")

queries = {q.name: q for q in saved_queries.list_queries()}
names = ["(write your own)", *queries]
choice = st.selectbox("Saved query", names, key="console_saved",
                      format_func=lambda n: n if n not in queries else f"{queries[n].title} ({n})")
saved = queries.get(choice)
if saved:
    st.caption(state.plain(saved.description))
text = st.text_area("Cypher", value=saved.cypher if saved else cypher.CONSOLE_EXAMPLE,
                    height=220, key=f"console_text_{choice}")

given: dict[str, str] = {}
if saved and saved.params:
    cols = st.columns(min(3, len(saved.params)))
    for i, p in enumerate(saved.params):
        default = "" if p.required or p.default is None else str(p.default)
        given[p.name] = cols[i % len(cols)].text_input(f"{p.name} ({p.type})", value=default,
                                                       help=p.help or None, key=f"console_{choice}_{p.name}")

if st.button("Run", type="primary", key="console_run"):
    try:
        params = saved.bind({k: v for k, v in given.items() if v != ""}) if saved else {}
        # What ran (name, text, parameters) names the result for its export.
        st.session_state.console_result = (run_query(db, text, params, connect=True), choice,
                                           f"query:{choice}\n{text}\n{sorted(params.items())}")
    except AttribError as exc:
        st.session_state.console_result = None
        state.show_error(exc)

kept = st.session_state.get("console_result")
if kept and kept[1] != choice:  # another saved query picked: the result on screen is not its own
    st.session_state.console_result = kept = None
if kept:
    result, ran, ran_subject = kept
    for notice in result.notices:
        st.warning(state.plain(notice))
    st.caption(f"{len(result.rows)} row(s) in {result.elapsed_ms} ms")
    frame = pd.DataFrame([[display_text(v) for v in row] for row in result.rows], columns=result.columns)
    st.dataframe(frame, hide_index=True, width="stretch")
    if len(result.graph.nodes) > MAX_DRAWN_NODES:
        st.subheader("As a graph")
        st.info(f"The result holds {len(result.graph.nodes)} nodes: too many to draw (at most "
                f"{MAX_DRAWN_NODES}). The table above lists every row; add a LIMIT or a WHERE to draw a part.")
    elif result.graph.nodes:
        st.subheader("As a graph")
        if len(result.graph.nodes) >= DENSE_LAYOUT_FROM:
            st.caption(f"{len(result.graph.nodes)} nodes: zoom in (scroll) to read their labels.")
        st.iframe(render_html(result.graph, title=ran, height_px=520), height=600)
        export_panel(result.graph, queries[ran].title if ran in queries else "Query result", "console_export",
                     subject=ran_subject)
