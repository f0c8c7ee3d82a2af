"""What every page of the Streamlit app shares: the one cached driver, cached list reads,
and helpers that keep data strings inert (escaped) on their way to the screen."""
from __future__ import annotations

import re

import streamlit as st

from graph import explore
from graph.db import GraphDB, connect
from graph.errors import AttribError
from graph.settings import load_settings

# Lists for pickers change only when something is loaded; the Load page clears them.
LIST_TTL_S = 120


@st.cache_resource(show_spinner=False)
def _connect() -> GraphDB:
    return connect(load_settings())


def get_db() -> GraphDB:
    """The process-wide GraphDB; on failure the page shows what to do and stops."""
    try:
        return _connect()
    except AttribError as exc:
        show_error(exc)
        st.stop()


def show_error(exc: AttribError) -> None:
    st.error(plain(exc.message) + (f"  \nWhat to do: {plain(exc.hint)}" if exc.hint else ""))


# -- escaping --------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=&\"'@^])")


def plain(value) -> str:
    """A data string made inert for st.markdown: every Markdown/HTML-significant character is
    backslash-escaped (so names like `<img ...>`, `[x](http://...)` or `:red[..]` show as typed),
    and line breaks collapse to spaces."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", text)


# -- cached list reads (hash-free: the db argument is skipped with a leading underscore) ------
@st.cache_data(ttl=LIST_TTL_S, show_spinner=False)
def incidents(_db: GraphDB) -> list[dict]:
    return explore.incidents(_db)


@st.cache_data(ttl=LIST_TTL_S, show_spinner=False)
def actors(_db: GraphDB) -> list[dict]:
    return explore.actors(_db)


@st.cache_data(ttl=LIST_TTL_S, show_spinner=False)
def sources(_db: GraphDB) -> list[dict]:
    return explore.sources(_db)


@st.cache_resource(ttl=600, max_entries=64, show_spinner=False)
def _scores(_db: GraphDB, incident: str, blind: bool, as_of: str | None, version: tuple):
    from graph import engine

    return (engine.hypotheses(_db, incident, blind=blind, as_of=as_of, top=10),
            engine.explain(_db, incident, as_of=as_of),
            engine.ach_matrix(_db, incident, blind=blind, top=5, as_of=as_of))


def scores(db: GraphDB, incident: str, blind: bool, as_of: str | None):
    """(hypotheses, explanation, ACH matrix) for the Workbench, kept while the graph is unchanged
    (every widget click reruns the page; the engine's answer for the same question is the same)."""
    from graph.evidence import read_version

    return _scores(db, incident, blind, as_of, tuple(read_version(db)))


def clear_caches() -> None:
    """After a load: pickers and scores must see the new data."""
    from graph import engine

    st.cache_data.clear()
    _scores.clear()
    engine.clear_cache()


def page_header(title: str, caption: str | None = None) -> None:
    st.title(title)
    if caption:
        st.caption(caption)
