"""Compare actors: two to five side by side; shared and distinctive tools, techniques,
infrastructure and victims, each weighted by how specific it is."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.web import state
from app.web.pickers import actor_finder
from app.web.matrix_view import compare_matrix
from graph.errors import AttribError
from graph.reads import explore

db = state.get_db()
state.page_header(
    "Compare actors",
    "Weight = specificity: 1 for an item only one actor in the graph has, near 0 for one most "
    "actors have; public, leaked and commodity tools count for less whoever used them. Profiles are "
    "what each actor is recorded to use and target plus the evidence of incidents some source "
    "attributes to it (those attributions may be contested).")

rows = state.actors(db)
if len(rows) < 2:
    st.info("Load at least two actors (Load page) to compare them.")
    st.stop()
names = {r["key"]: r["name"] for r in rows}
preferred = [k for k in ("attack:G0032", "actor:cerium", "attack:G0007") if k in names]
default = preferred if len(preferred) >= 2 else [r["key"] for r in rows if r["kind"] != "state"][:3]
asked = [k for k in (st.query_params.get("actors") or "").split(",") if k in names][:5]
if asked:
    default = asked  # links like /compare?actors=attack:G0032,actor:cerium
st.session_state.setdefault("compare_actors", default)


def add_actor(actor_key: str) -> None:
    chosen = st.session_state.compare_actors
    if actor_key not in chosen and len(chosen) < 5:
        st.session_state.compare_actors = chosen + [actor_key]


f1, f2 = st.columns([4, 1])
with f1:
    found = actor_finder(db, "compare_find")
if found:
    f2.button("Add to the comparison", key="compare_add", on_click=add_actor, args=(found,),
              disabled=found in st.session_state.compare_actors or len(st.session_state.compare_actors) >= 5)
picked = st.multiselect("Actors (2 to 5)", list(names), max_selections=5,
                        format_func=lambda k: f"{names[k]} ({k})", key="compare_actors")
if st.query_params.get("actors", "") != ",".join(picked):
    st.query_params["actors"] = ",".join(picked)  # the comparison is its link
if len(picked) < 2:
    st.info("Pick at least two actors.")
    st.stop()

try:
    cmp = explore.compare_actors(db, picked)
except AttribError as exc:
    state.show_error(exc)
    st.stop()

label = {a["key"]: a["name"] for a in cmp.actors}
if len(set(label.values())) < len(label):  # two actors with one name: tell them apart by key
    label = {a["key"]: f"{a['name']} ({a['key']})" for a in cmp.actors}
    for a in cmp.actors:
        a["name"] = label[a["key"]]
order = [a["name"] for a in cmp.actors]
st.caption(f"Specificity is computed against the {cmp.n_actors} actors with a profile (groups and persons "
           "with any evidence; a state counts through the groups it sponsors), the count the Workbench's "
           "\"in N of M actors' profiles\" uses.")

h1, h2 = st.columns(2)
sim = cmp.similarity()
sim_df = pd.DataFrame([{"a": order[i], "b": order[j], "similarity": sim[i][j]}
                       for i in range(len(order)) for j in range(len(order))])
h1.markdown("**Weighted overlap** (shared weight / combined weight)")
h1.altair_chart(
    alt.Chart(sim_df).mark_rect().encode(
        x=alt.X("a:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("b:N", sort=order, title=None),
        color=alt.Color("similarity:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="overlap"),
        tooltip=["a", "b", "similarity"])
    + alt.Chart(sim_df).mark_text(baseline="middle").encode(
        x=alt.X("a:N", sort=order), y=alt.Y("b:N", sort=order), text=alt.Text("similarity:Q", format=".2f")),
    width="stretch")

cat_df = pd.DataFrame(cmp.category_scores())
h2.markdown("**Specific evidence held, per category** (sum of weights; shared part in the tooltip)")
h2.altair_chart(
    alt.Chart(cat_df).mark_rect().encode(
        x=alt.X("category:N", title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("actor:N", sort=order, title=None),
        color=alt.Color("weight:Q", scale=alt.Scale(scheme="oranges"), title="weight"),
        tooltip=["actor", "category", "items", "weight", "shared_weight"])
    + alt.Chart(cat_df).mark_text(baseline="middle").encode(
        x="category:N", y=alt.Y("actor:N", sort=order), text=alt.Text("weight:Q", format=".1f")),
    width="stretch")


def item_rows(items: list[explore.CompareItem]) -> pd.DataFrame:
    out = []
    for i in items:
        row = {"item": i.name, "category": i.category, "kind": i.label, "weight": i.weight,
               "actors with it": i.actors_with_item, "availability": i.availability or ""}
        for k in picked:
            via = i.held_by.get(k)
            row[label[k]] = "" if via is None else ("recorded" if not via else "via " + "; ".join(via))
        out.append(row)
    return pd.DataFrame(out)


# Fixed widths so the columns of the actors compared fit beside the item's facts at 1600 px.
ITEM_COLUMNS = {"item": st.column_config.TextColumn(width=230), "category": st.column_config.TextColumn(width=85),
                "kind": st.column_config.TextColumn(width=90),
                "weight": st.column_config.NumberColumn(width=65, format="%.2f"),
                "actors with it": st.column_config.NumberColumn(
                    "actors with it", width=95, help="actors with a profile (as the Workbench counts them) whose profile holds it"),
                "availability": st.column_config.TextColumn(width=85)}


def item_config(actor_columns: list[str]) -> dict:
    width = max(110, (1140 - 650) // max(1, len(actor_columns)))
    return {**ITEM_COLUMNS, **{c: st.column_config.TextColumn(width=width) for c in actor_columns}}


categories = ["all", "tools", "techniques", "infrastructure", "victims"]
cat = st.radio("Category", categories, horizontal=True, key="compare_cat")


def in_cat(items):
    return [i for i in items if cat == "all" or i.category == cat]


shared = in_cat(cmp.shared_items())
st.subheader(f"Shared ({len(shared)})")
st.caption("Held by at least two of the actors compared, most specific first. A shared item with a low "
           "weight (common technique, public tool, big sector) says little.")
if shared:
    st.dataframe(item_rows(shared), hide_index=True, width="stretch", height=min(420, 40 + 35 * len(shared)),
                 column_config=item_config([label[k] for k in picked]))
else:
    st.write("Nothing shared in this category.")

st.subheader("Distinctive")
st.caption("Held by only one of the actors compared (other actors in the graph may still have it: "
           "see the count column).")
tabs = st.tabs([state.plain(label[k]) for k in picked])
for tab, k in zip(tabs, picked):
    own = in_cat(cmp.distinctive(k))
    with tab:
        if own:
            st.dataframe(item_rows(own)[["item", "category", "kind", "weight", "actors with it",
                                         "availability", label[k]]],
                         hide_index=True, width="stretch", height=min(420, 40 + 35 * len(own)),
                         column_config=item_config([label[k]]))
        else:
            st.write("Nothing distinctive in this category.")

compare_matrix(db, picked)
