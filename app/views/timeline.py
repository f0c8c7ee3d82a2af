"""Timeline: incidents and claims over time, per actor and per source."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import state
from app.render import STANCE_COLORS
from graph import explore

db = state.get_db()
state.page_header("Timeline", "When incidents happened and when each source made its claim (attributes, "
                  "denies, disputes). Dates given only as a year or month are drawn at its start.")

actor_rows, source_rows = state.actors(db), state.sources(db)
actor_names = {r["key"]: r["name"] for r in actor_rows if r["claims"]}
source_names = {r["key"]: r["name"] for r in source_rows}
c1, c2, c3 = st.columns([2, 2, 1])
actors = c1.multiselect("Actors named in claims (empty = all)", list(actor_names),
                        format_func=lambda k: actor_names[k], key="timeline_actors")
sources = c2.multiselect("Sources (empty = all)", list(source_names),
                         format_func=lambda k: source_names[k], key="timeline_sources")
per = c3.radio("Rows per", ["actor", "source"], key="timeline_per")

data = explore.timeline(db, actors=actors or None, sources=sources or None)
claims, incidents = data["claims"], data["incidents"]
if not claims and not incidents:
    st.info("No dated incidents or claims match.")
    st.stop()

domain = list(STANCE_COLORS)
colors = [STANCE_COLORS[s] for s in domain]
if claims:
    cdf = pd.DataFrame([{"date": pd.Timestamp(c["day"]), "shown date": c["date"], "actor": c["actor"],
                         "source": c["source"] or "(no source)", "stance": c["stance"],
                         "confidence": c["confidence"], "incident": c["incident"]} for c in claims])
    row = "actor" if per == "actor" else "source"
    st.subheader(f"Claims per {row}")
    height = max(160, 28 * cdf[row].nunique())
    chart = alt.Chart(cdf).mark_point(filled=True, size=120, opacity=0.85).encode(
        x=alt.X("date:T", title=None),
        y=alt.Y(f"{row}:N", title=None, sort=alt.SortField("date"), axis=alt.Axis(labelLimit=340)),
        color=alt.Color("stance:N", scale=alt.Scale(domain=domain, range=colors)),
        shape=alt.Shape("stance:N", scale=alt.Scale(domain=domain, range=["circle", "square", "triangle"])),
        tooltip=["shown date", "actor", "source", "stance", "confidence", "incident"],
    ).properties(height=height)
    st.altair_chart(chart, width="stretch")
else:
    st.caption("No dated claims match.")

if incidents:
    st.subheader("Incidents")
    idf = pd.DataFrame([{"start": pd.Timestamp(i["start"]), "end": pd.Timestamp(i["end"]),
                         "incident": i["name"], "first seen": i["first_seen"] or "",
                         "last seen": i["last_seen"] or ""} for i in incidents])
    shown = idf.head(150)
    if len(idf) > len(shown):
        st.caption(f"Drawing the first {len(shown)} of {len(idf)} incidents (oldest first); the table "
                   "below lists them all.")
    st.altair_chart(alt.Chart(shown).mark_bar(size=10, color="#1F3A5F").encode(
        x=alt.X("start:T", title=None), x2="end:T",
        y=alt.Y("incident:N", title=None, sort=alt.SortField("start"), axis=alt.Axis(labelLimit=340)),
        tooltip=["incident", "first seen", "last seen"],
    ).properties(height=max(160, 26 * len(shown))), width="stretch")

t1, t2 = st.tabs(["Claims table", "Incidents table"])
with t1:
    if claims:
        st.dataframe(cdf.drop(columns=["date"]).rename(columns={"shown date": "date"}),
                     hide_index=True, width="stretch")
with t2:
    if incidents:
        st.dataframe(idf[["incident", "first seen", "last seen"]], hide_index=True, width="stretch")
