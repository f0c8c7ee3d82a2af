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
from graph.reads import attack_bundles, gazetteer_rows, incidents_present
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
def _models() -> dict:
    """The process's technique model, by bundle path: filled outside any cached function, so that the
    build shows its progress and no replayed status keeps turning afterwards."""
    return {}


def recognizer():
    """The technique model for the ATT&CK bundle the graph holds (else one `attrib load attack` downloaded)."""
    from loaders.reports.attack_cache import find_attack_bundle
    from loaders.reports.model_cache import model_path, recognizer_for

    held = attack_bundles(db)
    bundle = find_attack_bundle(settings, held[0]["bundle"] if held else None)
    if bundle is None:
        st.info("The graph holds an ATT&CK bundle of which no copy is kept here (it was loaded before attrib "
                "kept copies, or the cache was cleared): load it again on the Load page to recognise techniques."
                if held else "No ATT&CK bundle in the graph (load one on the Load page): techniques are not "
                "recognised.")
        return None
    models = _models()
    if str(bundle) not in models:
        building = not model_path(bundle, settings.cache_dir).exists()
        box = st.empty()
        try:
            with box.status(f"Learning ATT&CK techniques from {state.plain(bundle.name)} (once per bundle) ..."
                            if building else "Loading the technique model ...", expanded=building) as status:
                model = recognizer_for(bundle, settings.cache_dir, progress=lambda m: status.write(state.plain(m)))
        finally:
            box.empty()
        models.clear()  # one model in memory (~100 MB)
        models[str(bundle)] = model
    return models[str(bundle)]


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
key_in = c3.text_input("Incident key (optional)", key="draft_key",
                       help="default report:<title or first words>-<hash of the text>")

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
        model = recognizer()
        with st.spinner(f"Drafting from {len(text):,} characters ..."):
            draft = draft_report(text, meta=meta, gazetteer=Gazetteer.from_rows(_gazetteer_rows(db)),
                                 recognizer=model, key=key_in.strip() or None,
                                 source=source_in.strip() or None, date=date_in.strip() or None)
        st.session_state["draft"] = draft
        st.session_state["draft_gen"] = st.session_state.get("draft_gen", 0) + 1
        st.session_state.pop("draft_loaded", None)
        st.session_state.pop("draft_ask", None)
        progress.empty()
    except AttribError as exc:
        progress.empty()
        state.show_error(exc)
    except Exception as exc:  # noqa: BLE001 - a text that trips a bug gets one clear error, not a traceback
        progress.empty()
        st.error(f"Could not draft this text: unexpected {type(exc).__name__} ({state.plain(exc)}). This is a bug "
                 "in attrib: please report it with the text.")

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
def load(reviewed, yaml_text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="attrib-draft-") as tmp:
        path = Path(tmp) / f"{reviewed.key.replace(':', '-')}.yaml"
        path.write_text(yaml_text, encoding="utf-8")
        report = run_load([path], {str(path): path.name})
    st.session_state.pop("draft_ask", None)
    if report.ok:
        st.session_state["draft_loaded"] = reviewed.key


if st.button("Load", type="primary", key="draft_load"):
    present = incidents_present(db, [reviewed.key]).get(reviewed.key)
    if present:  # never a silent merge into another incident: ask
        st.session_state["draft_ask"] = present
    else:
        load(reviewed, yaml_text)
ask = st.session_state.get("draft_ask")
if ask and ask["key"] == reviewed.key:
    question = st.empty()
    with question.container():
        st.warning(f"The graph already holds the incident {state.plain(ask['key'])} ({state.plain(ask['name'])}, "
                   f"first seen {state.plain(ask['first_seen'] or '?')}): loading adds this draft's evidence and "
                   "claims to it. To load the draft as a new incident, change its key above.")
        merge = st.button("Add to the existing incident", key="draft_merge")
    if merge:
        question.empty()
        load(reviewed, yaml_text)

loaded = st.session_state.get("draft_loaded")
if loaded:
    st.success(f"Loaded: incident {state.plain(loaded)}.")
    if st.button("Open in the Workbench", key="draft_open"):
        st.switch_page("views/workbench.py", query_params={"incident": loaded})
