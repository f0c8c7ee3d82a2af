"""Workbench: one incident, its claims, the competing hypotheses, the ACH matrix, why each
score is what it is, and the incident's neighbourhood as a graph."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.web import state
from app.web.asof import AS_OF_HELP, as_of_reading, check_as_of, default_as_of
from app.web.export_widget import export_panel
from app.web.matrix_view import workbench_matrix
from app.web.workbench_view import (ach_frame, ach_styler, BLIND_VERDICT_HELP, claim_rows, contribution_rows,
                                    hypothesis_rows, point_text, SCORE_HELP, VERDICT_RANGES)
from graph.analysis import scoring
from graph.errors import AttribError
from graph.reads import explore

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
c1, c2, c3 = st.columns([4, 1, 2])
key = c1.selectbox("Incident", keys, index=keys.index(default), key="wb_incident",
                   format_func=lambda k: f"{by_key[k]['name']} · {by_key[k]['first_seen'] or 'undated'} · "
                                         f"{by_key[k]['claims']} claim(s) · {k}")
# The view is its link: ?incident=KEY&blind=1&as_of=DATE&hypothesis=ACTOR (a link opened in
# another browser shows the same); another incident drops the date and the hypothesis.
link = st.query_params
if link.get("incident") != key:
    if "incident" in link:
        for name in ("as_of", "hypothesis"):
            link.pop(name, None)
    link["incident"] = key
blind = c2.toggle("Blind mode", key="wb_blind", value=link.get("blind") == "1",
                  help="Rank actors ignoring every claim about this incident: who does the evidence "
                       "alone point to?")
use_asof = c3.toggle("As of a date", key="wb_use_asof", value="as_of" in link,
                     help="Use only what was known by that date (claims, attributions and profiles dated "
                          "later are left out).")
inc = by_key[key]
as_of = asof_error = None
if use_asof:
    # a text box applies on Enter (a date picker only on blur); one per incident, so each starts
    # at its own first-seen date
    typed = c3.text_input("As of (YYYY-MM-DD, Enter applies)", key=f"wb_asof_{key}",
                          value=link.get("as_of") or default_as_of(inc["first_seen"]),
                          help=AS_OF_HELP)
    as_of, asof_error = check_as_of(typed, inc["first_seen"])
    if asof_error:
        c3.error(state.plain(asof_error))
    elif as_of_reading(typed, as_of):
        c3.caption(state.plain(as_of_reading(typed, as_of)))
    link["as_of"] = typed.strip()
else:
    link.pop("as_of", None)
if blind:
    link["blind"] = "1"
else:
    link.pop("blind", None)

claims_box = st.container()
left, right = st.columns([6, 5])
claims = []
# The graph first: Streamlit sends it to the browser while the scores are computed.
with right:
    st.subheader("Neighbourhood" + (f" as known on {as_of}" if as_of else ""))
    try:
        sub, graph_html, claims = state.incident_view(db, key, inc["name"], as_of)
        st.iframe(graph_html, height=660)
        st.caption("Claims are coloured by stance. Hover a node for its details; drag to move, scroll to zoom."
                   + (f" Only what was known on {as_of}: later claims and relationships are left out."
                      if as_of else ""))
        export_panel(sub, inc["name"], "wb_export", subject=f"incident:{key}")
    except AttribError as exc:
        state.show_error(exc)

hyps = explanation = ach = None
if asof_error:
    with left:
        st.info("Hypotheses, the ACH matrix and why each score is what it is appear once the as-of date "
                "at the top is one the incident was known on.")
else:
    try:
        with st.spinner("Scoring hypotheses ..."):
            hyps, explanation, ach = state.scores(db, key, blind, as_of)
    except AttribError as exc:
        state.show_error(exc)

with claims_box:
    st.subheader("Claims")
    rows = claim_rows(claims, explanation)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"confidence": st.column_config.NumberColumn(format="%d%%"),
                                    "blind verdict": st.column_config.TextColumn(help=BLIND_VERDICT_HELP)})
        st.caption("Blind rank and verdict: where the named actor (for a state: its best-placed sponsored "
                   "group) stands on the evidence alone, with every claim about this incident ignored. The verdict "
                   "grades that probability only (" + VERDICT_RANGES + "): a low one says the evidence does "
                   "not single the actor out, not that it contradicts the claim. Open a claim for what "
                   "supports and what weakens it.")
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
                    s1.markdown("- " + state.plain(point_text(p, c["stance"])))
                if not a.supports:
                    s1.write("Nothing.")
                s2.markdown("**Weakens the claim**")
                for p in a.weakens or []:
                    s2.markdown("- " + state.plain(point_text(p, c["stance"])))
                if not a.weakens:
                    s2.write("Nothing.")
    else:
        st.write("No claims about this incident: no source has said who did it.")
    if as_of:
        st.caption(f"Scores use what was known as of {as_of}; the table lists every claim.")

if hyps is not None:
    with left:
        st.subheader("Hypotheses" + (" (blind: claims ignored)" if blind else ""))
        st.markdown(f"Most likely: **{state.plain(hyps.headline)}**")
        st.dataframe(pd.DataFrame(hypothesis_rows(hyps)).drop(columns=["key"]), hide_index=True,
                     width="stretch", height=35 * 12 + 3,
                     column_config={"rank": st.column_config.TextColumn(width=40),
                                    "actor": st.column_config.TextColumn(width=150),
                                    "score": st.column_config.NumberColumn(format="%+.2f", width=60),
                                    "probability": st.column_config.TextColumn(width=75),
                                    "verdict": st.column_config.TextColumn(width=95),
                                    "evidence items": st.column_config.TextColumn(
                                        "items", width=50, help="evidence items weighed"),
                                    "claims counted": st.column_config.TextColumn(
                                        "claims", width=55, help="claims about this incident counted"),
                                    "also known as": st.column_config.TextColumn(width="large")})
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

    @st.fragment
    def why_this_score(ranked) -> None:
        """Picking another hypothesis reruns only this part of the page."""
        # one picker per incident, blind mode and date: a picker kept across them kept the label
        # the browser drew for the last incident ("#2 Magic Hound (score +0.11 ...)") over the new
        # numbers; the pick is in the link (?hypothesis=KEY)
        by_key = {h.actor.key: h for h in ranked}
        options = list(by_key)
        linked = st.query_params.get("hypothesis")
        pick = st.selectbox("Hypothesis", options, key=f"wb_why_{key}_{blind}_{as_of}",
                            index=options.index(linked) if linked in by_key else 0,
                            format_func=lambda k: f"#{by_key[k].rank} {by_key[k].actor.name} "
                                                  f"(score {by_key[k].score:+.2f}, "
                                                  f"{scoring.percent(by_key[k].probability)}, {by_key[k].verdict})")
        if st.query_params.get("hypothesis") != pick:
            st.query_params["hypothesis"] = pick
        h = by_key[pick]
        items = contribution_rows(h)
        st.dataframe(pd.DataFrame(items), hide_index=True, width="stretch",
                     column_config={"contribution": st.column_config.NumberColumn(format="%+.3f")})
        st.markdown(f"Score = sum of these {len(items)} contributions = **{h.score:+.3f}**; probability "
                    f"{scoring.percent(h.probability)} (verdict: {h.verdict}).")

    if hyps.hypotheses:
        why_this_score(hyps.hypotheses)

    workbench_matrix(db, key, hyps.hypotheses, as_of)
