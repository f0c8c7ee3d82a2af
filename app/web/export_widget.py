"""The app's export widget: download buttons for an export of the graph a page shows (shared
by the Workbench and the console).

What is prepared belongs to what is exported: the title field is keyed by the subject (the
incident or the query and its parameters), so it follows a change of incident or query, and
the prepared file is offered only while the subject, format, TLP and title it was made from
are still the ones chosen; any change drops it.
"""
from __future__ import annotations

import hashlib

import streamlit as st

from app.web import state
from app.exports import FORMATS, REGISTRY, Options, export_bytes
from app.exports.style import TLP_LEVELS
from graph.errors import AttribError
from graph.model import slug
from graph.reads.subgraph import Subgraph

TLP_CHOICES = ["none", *TLP_LEVELS]
TLP_DEFAULT = "clear"   # as `attrib export --tlp` (docs/exports.md)


def export_panel(sub: Subgraph, title: str, key: str, subject: str) -> None:
    """Pick format, TLP and title, make the file on request, then offer it for download.
    `subject` names what `sub` is (an incident key, a query with its parameters)."""
    tag = hashlib.sha1(subject.encode("utf-8")).hexdigest()[:12]
    formats = [f for f in FORMATS if REGISTRY[f].widget]
    with st.expander(f"Export for a briefing or another tool ({', '.join(f.upper() for f in formats)})"):
        c1, c2, c3 = st.columns([1, 1, 2])
        fmt = c1.selectbox("Format", formats, key=f"{key}_fmt",
                           help="  \n".join(f"{f}: {REGISTRY[f].description}" for f in formats))
        tlp = c2.selectbox("TLP", TLP_CHOICES, index=TLP_CHOICES.index(TLP_DEFAULT), key=f"{key}_tlp",
                           help='"none" prints no marking')
        heading = c3.text_input("Title", value=title, key=f"{key}_title_{tag}")
        wanted = (subject, fmt, tlp, heading)
        if st.session_state.get(f"{key}_file_for") != wanted:
            st.session_state.pop(f"{key}_file", None)
            st.session_state.pop(f"{key}_file_for", None)
        if st.button("Prepare file", key=f"{key}_make"):
            try:
                with st.spinner("Rendering ..."):
                    st.session_state[f"{key}_file"] = export_bytes(
                        sub, fmt, slug(heading) or "graph", Options(title=heading, tlp=tlp), db=state.get_db())
                    st.session_state[f"{key}_file_for"] = wanted
            except AttribError as exc:
                state.show_error(exc)
        ready = st.session_state.get(f"{key}_file")
        if ready:
            data, name, mime = ready
            st.download_button(f"Download {name}", data=data, file_name=name, mime=mime, key=f"{key}_dl")
