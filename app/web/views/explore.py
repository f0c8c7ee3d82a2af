"""Explore: search any node by name, alias or external ID; expand neighbours with filters;
shortest path between two nodes; a capped graph that says what it left out."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.web import state
from app.exports.html import render_html
from graph.model import LABELS
from graph.reads import explore

db = state.get_db()
state.page_header("Explore", "Search by name, any vendor alias (ZINC, HIDDEN COBRA) or external ID "
                  "(G0032, S0694, T1566.003); expand neighbours; find how two things connect.")

ss = st.session_state
ss.setdefault("explore_focus", [])       # element ids whose neighbours are shown
ss.setdefault("explore_path", None)      # (a, b) element ids for a shortest path


def hit_label(h: dict) -> str:
    return f"{h['name']} · {h['label']} · {h['key']} ({h['via']})"


# -- search ----------------------------------------------------------------------------------
c1, c2 = st.columns([3, 1])
if "explore_q" not in ss and st.query_params.get("q"):
    ss.explore_q = st.query_params.get("q")  # links like /explore?q=ZINC
query = c1.text_input("Search", key="explore_q", placeholder="e.g. Lazarus, ZINC, G0032, T1566.003, AstraZeneca")
if st.query_params.get("q", "") != query:
    st.query_params["q"] = query  # the search is its link
only = c2.multiselect("Only labels", [lab for lab in LABELS if lab != "Alias"], key="explore_only")
hits = explore.search(db, query, labels=only or None, limit=25) if query else []
if query and not hits:
    st.info("Nothing matches that name, alias or ID.")
if explore.ambiguity(query, hits):
    st.caption(state.plain(explore.ambiguity(query, hits)))
if hits:
    # options are the hits themselves (element ids), not positions: a new search gives new options,
    # so the box shows the new best match instead of keeping the old one's label
    by_id = {h["id"]: h for h in hits}
    pick = st.selectbox("Matches", list(by_id), format_func=lambda i: hit_label(by_id[i]), key="explore_pick")
    b1, b2, b3 = st.columns(3)
    if b1.button("Show neighbours", type="primary"):
        ss.explore_focus = [pick]
        ss.explore_path = None
    if b2.button("Add to graph"):
        if pick not in ss.explore_focus:
            ss.explore_focus = ss.explore_focus + [pick]
        ss.explore_path = None
    if b3.button("Clear graph"):
        ss.explore_focus, ss.explore_path = [], None

# -- filters ---------------------------------------------------------------------------------
with st.expander("Filters and cap", expanded=False):
    f1, f2 = st.columns(2)
    labels = f1.multiselect("Neighbour labels", LABELS, key="explore_labels")
    srcs = state.sources(db)
    src_names = {s["key"]: s["name"] for s in srcs}
    sources = f2.multiselect("Stated by sources", list(src_names), format_func=lambda k: src_names[k],
                             key="explore_sources")
    f3, f4, f5 = st.columns(3)
    since = f3.text_input("Seen since (YYYY[-MM[-DD]])", key="explore_since").strip()
    until = f4.text_input("Seen until (YYYY[-MM[-DD]])", key="explore_until").strip()
    undated = f5.checkbox("Keep undated facts", value=True, key="explore_undated")
    f6, f7 = st.columns(2)
    per_label = f6.slider("Neighbours per label", 10, 300, explore.DEFAULT_PER_LABEL, step=10,
                          key="explore_per_label",
                          help="Of each expanded node, at most this many neighbours of one label "
                               "(best connected first).")
    cap = f7.slider("Node cap", 50, 600, explore.DEFAULT_NODE_CAP, step=50, key="explore_cap",
                    help="At most this many nodes in the whole graph.")
filt = explore.NeighbourFilter(labels=labels or None, sources=sources or None, since=since or None,
                               until=until or None, undated=undated)

# -- graph -----------------------------------------------------------------------------------
if ss.explore_path:
    a, b = ss.explore_path
    view = explore.shortest_path(db, a, b)
    if view is None:
        st.warning("No path of up to 8 steps joins these two (sources and aliases are not used as "
                   "stepping stones).")
        view = explore.GraphView()
    title = "Shortest path"
elif ss.explore_focus:
    try:
        view = explore.neighbours(db, ss.explore_focus, filt, cap=cap, per_label=per_label)
    except ValueError as exc:
        st.error(state.plain(exc))
        st.stop()
    title = "Neighbourhood"
else:
    view = None

if view is not None and view.nodes:
    notice = view.omitted_text()
    shown = f"Showing {len(view.nodes)} nodes and {len(view.edges)} relationships."
    if notice:
        raise_what = [what for what, n in (("Neighbours per label", sum(view.omitted_by_limit.values())),
                                           ("Node cap", view.omitted_by_cap)) if n]
        st.warning(f"{shown} {state.plain(notice)}. To see more: narrow the filters, or raise "
                   f"{' and '.join(raise_what)} under Filters and cap.")
    else:
        st.caption(shown + " Nothing was left out.")
    st.iframe(render_html(view.to_subgraph(title=title), title=title, height_px=560), height=700)

    names = {nid: f"{n.name} · {n.label} · {n.key}" for nid, n in view.nodes.items()}
    e1, e2 = st.columns([3, 1])
    grow = e1.selectbox("Expand a node shown", list(names), format_func=lambda i: names[i], key="explore_grow")
    if e2.button("Expand") and grow not in ss.explore_focus:
        ss.explore_focus = ss.explore_focus + [grow]
        ss.explore_path = None
        st.rerun()

    table = pd.DataFrame([{"name": n.name, "label": n.label, "key": n.key,
                           "focus": nid in view.focus} for nid, n in view.nodes.items()])
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 40 + 35 * len(table)))
elif view is not None:
    st.info("Nothing to show with these filters.")
else:
    st.info("Search for something and press Show neighbours.")

# -- shortest path ---------------------------------------------------------------------------
st.subheader("Shortest path")
p1, p2 = st.columns(2)
qa = p1.text_input("From", key="path_a", placeholder="e.g. AstraZeneca")
qb = p2.text_input("To", key="path_b", placeholder="e.g. APT29")
ha = explore.search(db, qa, limit=10) if qa else []
hb = explore.search(db, qb, limit=10) if qb else []
if ha and hb:
    by_a, by_b = {h["id"]: h for h in ha}, {h["id"]: h for h in hb}
    ia = p1.selectbox("From node", list(by_a), format_func=lambda i: hit_label(by_a[i]), key="path_pick_a")
    ib = p2.selectbox("To node", list(by_b), format_func=lambda i: hit_label(by_b[i]), key="path_pick_b")
    if st.button("Find shortest path"):
        ss.explore_path = (ia, ib)
        st.rerun()
elif qa or qb:
    st.caption("Type something that matches on both sides.")
