"""Draft from a report: paste text, upload a file or give a URL; review what was extracted (each
item with its sentence and score), tick, untick, edit, add; load it through the normal loader and
open the Workbench on the new incident."""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import streamlit as st

from app.web import state
from app.web.load_view import run_load
from graph.errors import AttribError
from graph.model import STANCES
from graph.reads import gazetteer_rows
from graph.settings import load_settings
from loaders.reports import Gazetteer, draft_report, read_report
from loaders.reports.draft import EVIDENCE_KINDS, added_item, replace_items
from loaders.reports.inputs import read_bytes

db = state.get_db()
state.page_header("Draft from a report",
                  "Paste a threat report or news article, upload it (text, Markdown, HTML, PDF) or give its "
                  "URL: the draft lists the victims, tools, techniques, indicators and claims found, each "
                  "with the sentence it came from and a score. Review, then load it like any record file.")
settings = load_settings()


@st.cache_data(ttl=state.LIST_TTL_S, show_spinner=False)
def _gazetteer_rows(_db) -> dict:
    return gazetteer_rows(_db)


@st.cache_resource(show_spinner=False)
def _recognizer(bundle: str):
    from loaders.reports.techniques import recognizer_for

    status = st.status("Learning ATT&CK techniques (once per bundle) ...")
    recognizer = recognizer_for(Path(bundle), settings.cache_dir, progress=status.write)
    status.update(label="Technique model ready", state="complete")
    return recognizer


def recognizer():
    from loaders.reports.techniques import find_attack_bundle

    bundle = find_attack_bundle(settings)
    if bundle is None:
        st.info("No ATT&CK bundle has been downloaded (attrib load attack): techniques are not recognised.")
        return None
    return _recognizer(str(bundle))


# -- 1. the report ---------------------------------------------------------------------------------
how = st.radio("Report", ["Paste text", "Upload a file", "URL"], horizontal=True, key="draft_how")
text_in = upload = url = None
if how == "Paste text":
    text_in = st.text_area("Report text", height=220, key="draft_text")
elif how == "Upload a file":
    upload = st.file_uploader("Report file", type=["txt", "md", "markdown", "html", "htm", "pdf"], key="draft_file")
else:
    url = st.text_input("Report URL (http or https)", key="draft_url")
c1, c2, c3 = st.columns(3)
source_in = c1.text_input("Source (key or name)", key="draft_source", help="who published it; default: the "
                          "page or PDF publisher, else the file")
date_in = c2.text_input("Report date (YYYY[-MM[-DD]])", key="draft_date")
key_in = c3.text_input("Incident key (optional)", key="draft_key", help="default report:<slug of the title>")

if st.button("Draft", type="primary", disabled=not (text_in or upload or url)):
    progress = st.empty()
    try:
        if text_in:
            text, meta = read_bytes(text_in.encode("utf-8"), "pasted text")
        elif upload:
            name = Path(upload.name).name
            text, meta = read_bytes(upload.getvalue(), name, suffix=Path(name).suffix.lower(), stem=Path(name).stem,
                                    progress=lambda m: progress.caption(m))
        else:
            text, meta = read_report(url.strip(), cache_dir=settings.cache_dir, progress=lambda m: progress.caption(m))
        with st.spinner(f"Drafting from {len(text):,} characters ..."):
            draft = draft_report(text, meta=meta, gazetteer=Gazetteer.from_rows(_gazetteer_rows(db)),
                                 recognizer=recognizer(), key=key_in.strip() or None,
                                 source=source_in.strip() or None, date=date_in.strip() or None)
        st.session_state["draft"] = draft
        st.session_state["draft_gen"] = st.session_state.get("draft_gen", 0) + 1
        st.session_state.pop("draft_loaded", None)
        progress.empty()
    except AttribError as exc:
        progress.empty()
        state.show_error(exc)

draft = st.session_state.get("draft")
if draft is None:
    st.stop()
gen = st.session_state.get("draft_gen", 0)

# -- 2. review -------------------------------------------------------------------------------------
st.subheader("Incident")
for note in draft.notes:
    st.caption("Note: " + state.plain(note))
i1, i2 = st.columns([1, 2])
inc_key = i1.text_input("Key", draft.key, key=f"d{gen}_key")
inc_name = i2.text_input("Name", draft.name, key=f"d{gen}_name")
i3, i4, i5 = st.columns(3)
first_seen = i3.text_input("First seen", draft.first_seen, key=f"d{gen}_first")
last_seen = i4.text_input("Last seen", draft.last_seen or "", key=f"d{gen}_last")
i5.text_input("Source of the report", draft.source, key=f"d{gen}_source", disabled=True)
if draft.date_sentence:
    st.caption("Dates from: " + state.plain(draft.date_sentence))

st.subheader("Evidence")
st.caption("Ticked items go into the incident. The score (0-1) says how sure the extraction is; items from "
           "sentences about earlier events start unticked.")
items = []
for n, item in enumerate(draft.items):
    a, b, c = st.columns([1, 3, 6])
    use = a.checkbox(item.kind, value=item.selected, key=f"d{gen}_use_{n}")
    value = b.text_input(f"{item.kind} {n}", item.value, key=f"d{gen}_val_{n}", label_visibility="collapsed")
    c.caption(f"{item.score:.2f} · {state.plain(item.method)} · " + state.plain(item.sentence))
    edited = item if value.strip() == item.value else added_item(item.kind, value.strip(), item.sentence)
    items.append(replace(edited, selected=use and bool(value.strip())))
added = st.session_state.setdefault(f"d{gen}_added", [])
for item in added:
    st.caption(f"Added: {state.plain(item.kind)} {state.plain(item.value)}")
items += added
with st.form(f"d{gen}_add", clear_on_submit=True):
    f1, f2, f3 = st.columns([1, 3, 1])
    add_kind = f1.selectbox("Kind", EVIDENCE_KINDS, key=f"d{gen}_add_kind")
    add_value = f2.text_input("Value (a name, code, ATT&CK ID, or kind:value for infrastructure)",
                              key=f"d{gen}_add_value")
    if f3.form_submit_button("Add") and add_value.strip():
        added.append(added_item(add_kind, add_value.strip()))
        st.rerun()

st.subheader("Claims")
st.caption("Who says who did it. A denial starts ticked only when a ticked claim here accuses the same actor.")
claims = []
for n, claim in enumerate(draft.claims):
    a, b, c, d, e = st.columns([1, 2, 2, 2, 1])
    use = a.checkbox("use", value=claim.selected, key=f"d{gen}_cuse_{n}")
    source = b.text_input("Source", claim.source, key=f"d{gen}_csrc_{n}")
    stance = c.selectbox("Stance", STANCES, index=STANCES.index(claim.stance), key=f"d{gen}_cst_{n}")
    actor = d.text_input("Actor", claim.actor, key=f"d{gen}_cact_{n}", help=state.plain(claim.actor_name))
    conf = e.number_input("Confidence", 0, 100, claim.confidence, key=f"d{gen}_cconf_{n}")
    st.caption(f"{claim.score:.2f} · " + (state.plain(claim.note) + " · " if claim.note else "")
               + state.plain(claim.sentence))
    claims.append(replace(claim, stance=stance, actor=actor.strip(), source=source.strip(), confidence=int(conf),
                          selected=use and bool(actor.strip() and source.strip())))
if not draft.claims:
    st.write("The text attributes the activity to no one.")

reviewed = replace_items(draft, items=items, claims=claims, key=inc_key.strip(), name=inc_name.strip(),
                         first_seen=first_seen.strip(), last_seen=last_seen.strip() or None)
yaml_text = reviewed.to_yaml()
with st.expander("The record file"):
    st.code(yaml_text, language="yaml")
st.download_button("Download the record file", yaml_text, file_name=f"{reviewed.key.replace(':', '-')}.yaml",
                   mime="application/x-yaml")

# -- 3. load ---------------------------------------------------------------------------------------
if st.button("Load", type="primary", key="draft_load"):
    with tempfile.TemporaryDirectory(prefix="attrib-draft-") as tmp:
        path = Path(tmp) / f"{reviewed.key.replace(':', '-')}.yaml"
        path.write_text(yaml_text, encoding="utf-8")
        report = run_load([path], {str(path): path.name})
    if report.ok:
        st.session_state["draft_loaded"] = reviewed.key

loaded = st.session_state.get("draft_loaded")
if loaded:
    st.success(f"Loaded: incident {state.plain(loaded)}.")
    if st.button("Open in the Workbench", key="draft_open"):
        st.switch_page("views/workbench.py", query_params={"incident": loaded})
