"""Download buttons for a briefing export of the graph a page shows (shared by pages)."""
from __future__ import annotations

import streamlit as st

from app import state
from app.export import FORMATS, export_bytes
from app.render import TLP_LEVELS
from graph.errors import AttribError
from graph.model import slug
from graph.subgraph import Subgraph


def export_panel(sub: Subgraph, title: str, key: str) -> None:
    """Pick format and TLP, make the file on request, then offer it for download."""
    with st.expander("Export for a briefing (PNG, SVG, PDF, HTML, GraphML, CSV)"):
        c1, c2, c3 = st.columns([1, 1, 2])
        fmt = c1.selectbox("Format", FORMATS, key=f"{key}_fmt")
        tlp = c2.selectbox("TLP", ["none", *TLP_LEVELS], key=f"{key}_tlp")
        heading = c3.text_input("Title", value=title, key=f"{key}_title")
        if st.button("Prepare file", key=f"{key}_make"):
            try:
                with st.spinner("Rendering ..."):
                    st.session_state[f"{key}_file"] = export_bytes(
                        sub, fmt, slug(heading) or "graph", title=heading, tlp=None if tlp == "none" else tlp)
            except AttribError as exc:
                state.show_error(exc)
        ready = st.session_state.get(f"{key}_file")
        if ready:
            data, name, mime = ready
            st.download_button(f"Download {name}", data=data, file_name=name, mime=mime, key=f"{key}_dl")
