"""What every page of the Streamlit app shares: the one cached driver, cached list reads,
and helpers that keep data strings inert (escaped) on their way to the screen."""
from __future__ import annotations

import logging
import re
import threading

import streamlit as st

from graph.errors import AttribError, Unavailable
from graph.reads import explore
from graph.settings import load_settings
from graph.store.db import GraphDB, connect

# Lists for pickers change only when something is loaded; the Load page clears them.
LIST_TTL_S = 120
log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _connect() -> GraphDB:
    return connect(load_settings())


def get_db() -> GraphDB:
    """The process-wide GraphDB, checked with one round trip on every page run (so a server
    that went away shows as one clear error within seconds, not as a spinner); on failure the
    page shows what to do and stops."""
    try:
        db = _connect()
        try:
            db.check()
        except Unavailable:  # a driver made before the server went away: connect afresh, once
            _connect.clear()
            db = _connect()
            db.check()
        return db
    except AttribError as exc:
        lost(exc)
        st.stop()


def lost(exc: AttribError) -> None:
    """Show an error a page did not handle; if the server is gone, drop the cached driver so the
    next run connects afresh (a local server may come back on another port)."""
    if isinstance(exc, Unavailable):
        _connect.clear()
    show_error(exc)


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
    from graph.analysis import engine

    return (engine.hypotheses(_db, incident, blind=blind, as_of=as_of, top=10),
            engine.ach_matrix(_db, incident, blind=blind, top=5, as_of=as_of))


@st.cache_resource(ttl=600, max_entries=64, show_spinner=False)
def _explanation(_db: GraphDB, incident: str, as_of: str | None, version: tuple):
    from graph.analysis import engine

    return engine.explain(_db, incident, as_of=as_of)  # blind by definition: one per incident and date


def scores(db: GraphDB, incident: str, blind: bool, as_of: str | None):
    """(hypotheses, explanation, ACH matrix) for the Workbench, kept while the graph is unchanged
    (every widget click reruns the page; the engine's answer for the same question is the same)."""
    from graph.analysis.evidence import read_version

    _wait_for_warm_up()
    version = tuple(read_version(db))
    hyps, ach = _scores(db, incident, blind, as_of, version)
    return hyps, _explanation(db, incident, as_of, version), ach


@st.cache_resource(ttl=600, max_entries=32, show_spinner=False)
def _incident_view(_db: GraphDB, incident: str, name: str, as_of: str | None, version: tuple):
    from app.exports.html import render_html
    from graph.reads.subgraph import incident_subgraph

    sub = incident_subgraph(_db, incident, as_of=as_of)
    return sub, render_html(sub, title=name, height_px=520), explore.incident_claims(_db, incident)


def incident_view(db: GraphDB, incident: str, name: str, as_of: str | None):
    """(subgraph, its interactive HTML, the claims) of one incident as known on `as_of`, kept per
    incident while the graph is unchanged: switching back and forth redraws nothing anew."""
    from graph.analysis.evidence import read_version

    return _incident_view(db, incident, name, as_of, tuple(read_version(db)))


@st.cache_resource(ttl=600, max_entries=64, show_spinner=False)
def _incident_matrix(_db: GraphDB, incident: str, actor: str, as_of: str | None, version: tuple):
    from graph.analysis import matrix

    return matrix.incident_vs_actor(_db, incident, actor, as_of=as_of)


def incident_matrix(db: GraphDB, incident: str, actor: str, as_of: str | None):
    """The incident's techniques against one actor (graph.analysis.matrix), kept while the graph
    is unchanged: the "only the incident's techniques" toggle redraws without reading again."""
    from graph.analysis.evidence import read_version

    return _incident_matrix(db, incident, actor, as_of, tuple(read_version(db)))


# -- the engine's cache, built before the first Workbench visit ---------------------------------
_warming: list[threading.Thread] = []


def warm_up(db: GraphDB, incident: dict | None = None) -> None:
    """Build the engine's snapshot now (after a load: the Load page waits for it, so the first
    Workbench visit does not); with `incident` (key, name), also its scores and graph, the
    Workbench's first view."""
    from graph.analysis import engine

    engine.snapshot(db)
    if incident:
        scores(db, incident["key"], False, None)
        incident_view(db, incident["key"], incident["name"], None)


@st.cache_resource(show_spinner=False)
def warm_up_in_background() -> None:
    """Once per app process, at start: build the engine's snapshot in a thread while the first
    page draws. A failure is only logged here; the page that needs the engine reports it."""
    def work() -> None:
        try:
            warm_up(_connect())
        except AttribError as exc:
            log.warning("engine warm-up failed: %s", exc.message)

    thread = threading.Thread(target=work, name="attrib-warm-up", daemon=True)
    _warming.append(thread)
    thread.start()


def _wait_for_warm_up() -> None:
    # one snapshot build at a time: a page asking for scores waits for the warm-up already running
    for thread in _warming:
        thread.join()  # at once when it is done


def clear_caches() -> None:
    """After a load: pickers and scores must see the new data."""
    from graph.analysis import engine

    st.cache_data.clear()
    _scores.clear()
    _explanation.clear()
    _incident_view.clear()
    _incident_matrix.clear()
    engine.clear_cache()


def page_header(title: str, caption: str | None = None) -> None:
    st.title(title)
    if caption:
        st.caption(caption)
