"""Finding an actor by any of its names for the app's actor pickers: matches come in the
resolver's order (graph.reads.explore.search -> graph.analysis.resolve), and an ambiguous name says so."""
from __future__ import annotations

import streamlit as st

from app.web import state
from graph.reads import explore
from graph.store.db import GraphDB


def actor_finder(db: GraphDB, key: str, label: str = "Find an actor by name, alias or ID") -> str | None:
    """A search box and its matching actors, most likely first; the key of the one picked."""
    text = st.text_input(label, key=f"{key}_q", placeholder="e.g. ZINC, Fancy Bear, G0016")
    if not text.strip():
        return None
    hits = explore.search(db, text, labels=["Actor"], limit=10)
    if not hits:
        st.caption("No actor has that name, alias or ID.")
        return None
    note = explore.ambiguity(text, hits)
    if note:
        st.caption(state.plain(note))
    # the actor keys as options (not positions), so a new search shows its own best match
    by_key = {h["key"]: h for h in hits}
    return st.selectbox("Matching actors (most likely first)", list(by_key), key=f"{key}_pick",
                        format_func=lambda k: f"{by_key[k]['name']} · {k} ({by_key[k]['via']})")
