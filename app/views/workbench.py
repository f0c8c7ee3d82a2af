"""Workbench: one incident, its claims, the competing hypotheses, the ACH matrix, why each
score is what it is, and the incident's neighbourhood as a graph."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app import state
from app.export_widget import export_panel
from app.render import render_html
from app.workbench_view import (ach_frame, ach_styler, claim_rows, contribution_rows, hypothesis_rows,
                                SCORE_HELP)
from graph import explore
from graph.errors import AttribError
from graph.subgraph import incident_subgraph

db = state.get_db()
state.page_header("Attribution workbench",
                  "Someone says incident X was done by actor A. What supports that, what weakens it, "
                  "and who else fits?")

incidents = state.incidents(db)
if not incidents:
    st.info("The graph holds no incidents yet. Load the seed story or your own records on the Load page.")
    st.stop()

by_key = {r["key"]: r for r in incidents}
wanted = st.query_params.get("incident")
if wanted and wanted not in by_key:
    st.warning("No incident has the key given in the link; showing the default one.")
default = wanted if wanted in by_key else explore.default_incident(incidents)
keys = list(by_key)
c1, c2, c3 = st.columns([4, 1, 1])
key = c1.selectbox("Incident", keys, index=keys.index(default), key="wb_incident",
                   format_func=lambda k: f"{by_key[k]['name']} · {by_key[k]['first_seen'] or 'undated'} · "
                                         f"{by_key[k]['claims']} claim(s) · {k}")
if st.query_params.get("incident") != key:
    st.query_params["incident"] = key
blind = c2.toggle("Blind mode", key="wb_blind",
                  help="Rank actors ignoring every claim about this incident: who does the evidence "
                       "alone point to?")
use_asof = c3.toggle("As of a date", key="wb_use_asof",
                     help="Use only what was known by that date (claims, attributions and profiles dated "
                          "later are left out).")
as_of = None
if use_asof:
    as_of = c3.date_input("As of", value=dt.date.today(), key="wb_asof", label_visibility="collapsed",
                          min_value=dt.date(1990, 1, 1)).isoformat()
inc = by_key[key]

claims_box = st.container()
left, right = st.columns([5, 6])
# The graph first: Streamlit sends it to the browser while the scores are computed.
with right:
    st.subheader("Neighbourhood")
    try:
        sub = incident_subgraph(db, key)
        st.iframe(render_html(sub, title=inc["name"], height_px=520), height=660)
        st.caption("Claims are coloured by stance. Hover a node for its details; drag to move, scroll to zoom.")
        export_panel(sub, inc["name"], "wb_export")
    except AttribError as exc:
        state.show_error(exc)

hyps = explanation = ach = None
try:
    with st.spinner("Scoring hypotheses ..."):
        hyps, explanation, ach = state.scores(db, key, blind, as_of)
except AttribError as exc:
    state.show_error(exc)

with claims_box:
    st.subheader("Claims")
    claims = explore.incident_claims(db, key)
    rows = claim_rows(claims, explanation)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"confidence": st.column_config.NumberColumn(format="%d%%")})
        st.caption("Blind rank and verdict: where the named actor (for a state: its best-placed sponsored "
                   "group) stands on the evidence alone, with every claim about this incident ignored. "
                   "Open a claim for what supports and what weakens it.")
        assessments = {a.claim.key: a for a in (explanation.assessments if explanation else [])}
        for c in claims:
            with st.expander(state.plain(f"{c['source']} {c['stance']} {c['actor']} ({c['date']})")):
                st.markdown(state.plain(c["statement"] or "(no statement recorded)"))
                if c["url"]:
                    st.caption("Link: " + state.plain(c["url"]))
                a = assessments.get(c["claim"])
                if a is None:
                    continue
                s1, s2 = st.columns(2)
                s1.markdown("**Supports the claim**")
                for p in a.supports or []:
                    s1.markdown("- " + state.plain(p.text) + (f" (weight {p.weight:+.2f})" if p.weight else ""))
                if not a.supports:
                    s1.write("Nothing.")
                s2.markdown("**Weakens the claim**")
                for p in a.weakens or []:
                    s2.markdown("- " + state.plain(p.text) + (f" (weight {p.weight:+.2f})" if p.weight else ""))
                if not a.weakens:
                    s2.write("Nothing.")
    else:
        st.write("No claims about this incident: no source has said who did it.")
    if as_of:
        st.caption(f"Scores use what was known as of {as_of}; the table lists every claim.")

if hyps is not None:
    with left:
        st.subheader("Hypotheses" + (" (blind: claims ignored)" if blind else ""))
        st.dataframe(pd.DataFrame(hypothesis_rows(hyps)).drop(columns=["key"]), hide_index=True,
                     width="stretch", height=35 * 12 + 3,
                     column_config={"score": st.column_config.NumberColumn(format="%+.2f"),
                                    "actor": st.column_config.TextColumn(width="medium")})
        st.caption(SCORE_HELP)

    st.subheader("ACH matrix")
    st.caption("Evidence (rows, most diagnostic first) against the hypotheses (columns): each cell is the "
               "item's contribution to that hypothesis; green = consistent, red = inconsistent, grey = "
               "neutral (|value| <= 0.1). The unknown actor is neutral by construction. Weight = how much "
               "an item of that kind can say at most.")
    if ach is not None and ach.rows:
        frame = ach_frame(ach)
        st.dataframe(ach_styler(frame, ach), width="stretch", hide_index=True,
                     height=min(560, 40 + 35 * len(frame)),
                     column_config={"evidence": st.column_config.TextColumn(width="medium")})
    else:
        st.write("No evidence items to weigh.")

    st.subheader("Why this score")
    ranked = hyps.hypotheses
    if ranked:
        pick = st.selectbox("Hypothesis", range(len(ranked)), key="wb_why",
                            format_func=lambda i: f"#{ranked[i].rank} {ranked[i].actor.name} "
                                                  f"(score {ranked[i].score:+.2f}, {ranked[i].verdict})")
        h = ranked[pick]
        items = contribution_rows(h)
        st.dataframe(pd.DataFrame(items), hide_index=True, width="stretch",
                     column_config={"contribution": st.column_config.NumberColumn(format="%+.3f")})
        st.markdown(f"Score = sum of these {len(items)} contributions = **{h.score:+.3f}** "
                    f"(verdict: {h.verdict}).")
