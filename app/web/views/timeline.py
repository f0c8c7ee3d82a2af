"""Timeline: incidents and claims over time, per actor and per source."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.web import state
from app.web.pickers import actor_finder
from app.exports.style import STANCE_COLORS
from graph.reads import explore

db = state.get_db()
state.page_header("Timeline", "When incidents happened and when each source made its claim (attributes, "
                  "denies, disputes). Dates given only as a year or month are drawn at its start.")

actor_rows, source_rows = state.actors(db), state.sources(db)
actor_names = {r["key"]: r["name"] for r in actor_rows if r["claims"]}
source_names = {r["key"]: r["name"] for r in source_rows}
st.session_state.setdefault("timeline_actors", [])


def add_actor(actor_key: str) -> None:
    if actor_key not in st.session_state.timeline_actors:
        st.session_state.timeline_actors = st.session_state.timeline_actors + [actor_key]


f1, f2 = st.columns([4, 1])
with f1:
    found = actor_finder(db, "timeline_find")
if found and found not in actor_names:
    f2.caption("No claim names this actor: nothing of it on the timeline.")
elif found:
    f2.button("Add to the filter", key="timeline_add", on_click=add_actor, args=(found,),
              disabled=found in st.session_state.timeline_actors)
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
# One x range for both charts: from the earliest date shown to the day after the latest.
days = [c["day"] for c in claims] + [i["start"] for i in incidents] + [i["end"] for i in incidents]
# (and one y-axis width, below, so a date sits at the same x position in both charts)
x_axis = alt.Axis(format="%b %Y", labelOverlap=True)
x_scale = alt.Scale(domain=[pd.Timestamp(min(days)).isoformat(),
                            (pd.Timestamp(max(days)) + pd.Timedelta(days=1)).isoformat()])
if claims:
    cdf = pd.DataFrame([{"date": pd.Timestamp(c["day"]), "shown date": c["date"], "actor": c["actor"],
                         "source": c["source"] or "(no source)", "stance": c["stance"],
                         "confidence": c["confidence"], "incident": c["incident"]} for c in claims])
    row = "actor" if per == "actor" else "source"
    st.subheader(f"Claims per {row}")
    height = max(160, 28 * cdf[row].nunique())
    chart = alt.Chart(cdf).mark_point(filled=True, size=120, opacity=0.85).encode(
        x=alt.X("date:T", title=None, scale=x_scale, axis=x_axis),
        y=alt.Y(f"{row}:N", title=None, sort=alt.SortField("date"),
                axis=alt.Axis(labelLimit=320, labelOverlap=False, minExtent=330, maxExtent=330)),
        # the legend above the chart, so both charts' plots are equally wide
        color=alt.Color("stance:N", scale=alt.Scale(domain=domain, range=colors), legend=alt.Legend(orient="top")),
        shape=alt.Shape("stance:N", scale=alt.Scale(domain=domain, range=["circle", "square", "triangle"]),
                        legend=alt.Legend(orient="top")),
        tooltip=["shown date", "actor", "source", "stance", "confidence", "incident"],
    ).properties(height=height)
    st.altair_chart(chart, width="stretch")
else:
    st.caption("No dated claims match.")

if incidents:
    st.subheader("Incidents")
    # `end` is the last day seen: the bar runs to the end of that day, so a one-day incident shows
    names = [i["name"] for i in incidents]
    idf = pd.DataFrame([{"start": pd.Timestamp(i["start"]), "end": pd.Timestamp(i["end"]) + pd.Timedelta(days=1),
                         "incident": i["name"] if names.count(i["name"]) == 1 else f"{i['name']} ({i['key']})",
                         "first seen": i["first_seen"] or "", "last seen": i["last_seen"] or ""}
                        for i in incidents])
    shown = idf.head(150)
    if len(idf) > len(shown):
        st.caption(f"Drawing the first {len(shown)} of {len(idf)} incidents (oldest first); the table "
                   "below lists them all.")
    # One row and one label per incident, oldest first; a diamond marks each start so an incident
    # of a single day (a bar a pixel wide at this scale) is still seen.
    y = alt.Y("incident:N", title=None, sort=list(shown["incident"]),
              axis=alt.Axis(labelLimit=320, labelOverlap=False, minExtent=330, maxExtent=330))
    base = alt.Chart(shown).encode(y=y, tooltip=["incident", "first seen", "last seen"])
    st.altair_chart((base.mark_bar(size=10, color="#1F3A5F").encode(
        x=alt.X("start:T", title=None, scale=x_scale, axis=x_axis), x2="end:T")
        + base.mark_point(shape="diamond", size=70, filled=True, color="#1F3A5F").encode(
        x=alt.X("start:T", scale=x_scale))
    ).properties(height=max(160, 28 * len(shown))), width="stretch")

t1, t2 = st.tabs(["Claims table", "Incidents table"])
with t1:
    if claims:
        st.dataframe(cdf.drop(columns=["date"]).rename(columns={"shown date": "date"}),
                     hide_index=True, width="stretch")
with t2:
    if incidents:
        st.dataframe(idf[["incident", "first seen", "last seen"]], hide_index=True, width="stretch")
