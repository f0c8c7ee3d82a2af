"""The ATT&CK matrix view (Workbench: the incident against one hypothesis; Compare actors): tactics
as columns in ATT&CK's order, techniques as cells coloured as in the Navigator layer, marked
sub-techniques folded under their parent, the evidence on hover. Drawn as one offline HTML page
(every data string escaped) from graph/analysis/matrix.py, with download buttons for the layer (and,
on the Workbench, the STIX bundle when that exporter is registered)."""
from __future__ import annotations

import streamlit as st

from app.web import state
from app.exports import REGISTRY, Options, export_bytes
from app.exports.navigator import cell_color, layer_bytes, legend
from app.exports.style import FONT, esc
from graph.analysis import matrix
from graph.errors import AttribError
from graph.model import slug
from graph.reads.subgraph import incident_subgraph

CELL_HEIGHT = 44   # px per technique (its ID, a name wrapped in narrow columns), for the frame height


def _text_color(background: str) -> str:
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#FFFFFF"


def _cell(m: matrix.TechniqueMatrix, tid: str, cell: matrix.Cell | None, sub: bool = False) -> str:
    name = cell.name if cell else m.names.get(tid, tid)
    score = ""
    if cell is None:
        style, tip = "background:#F2F3F4;color:#555", f"{tid} {name}\nnot marked itself; sub-techniques below"
    else:
        color = cell_color(m, cell)
        style = f"background:{color};color:{_text_color(color)}"
        if cell.score is not None:
            score = f"{cell.score:+.2f}" if m.mode == "incident" else f"{cell.score:g}"
        tip = "\n".join([f"{tid} {name}" + (f" (score {score})" if score else "")] + cell.evidence)
        if cell.users:
            tip += "\nused by: " + ", ".join(cell.users)
    score_html = f'<div class="s">{esc(score)}</div>' if score else ""
    return (f'<div class="t{" sub" if sub else ""}" style="{style}" title="{esc(tip)}">'
            f'<div class="id">{esc(tid)}</div>{esc(name)}{score_html}</div>')


def matrix_html(m: matrix.TechniqueMatrix) -> str:
    """The whole view as one HTML page."""
    cols = []
    for tactic, title, rows in m.columns():
        body = []
        for tid, cell, subs in rows:
            if subs:
                inner = "".join(_cell(m, s.id, s, sub=True) for s in subs)
                body.append(f"<details open><summary>{_cell(m, tid, cell)}</summary>{inner}</details>")
            else:
                body.append(_cell(m, tid, cell))
        count = len(rows) + sum(len(s) for _, _, s in rows)
        cols.append(f'<div class="col"><div class="th">{esc(title)}<small>{count} marked</small></div>'
                    f'{"".join(body)}</div>')
    keys = "".join(f'<span class="k"><i style="background:{esc(i["color"])}"></i>{esc(i["label"])}</span>'
                   for i in legend(m))
    version = f"ATT&CK v{m.attack_version}" if m.attack_version else "ATT&CK (release unknown)"
    head = f"{m.title} · {m.domain} · {version}"
    if m.mode == "incident" and m.score is not None:
        head += f" · technique contributions {m.score:+.2f}"
    empty = "" if cols else '<p class="none">No technique on the ATT&amp;CK matrix to show.</p>'
    left_out = (f'<p class="lo">Not on the matrix (no ATT&amp;CK ID or tactic): {esc(", ".join(m.left_out))}</p>'
                if m.left_out else "")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{{margin:0;font-family:{FONT};font-size:11px;color:#222;background:#fff}}
.hd{{font-weight:bold;font-size:13px;margin:4px 2px 6px}}
.lg{{margin:0 2px 8px}} .k{{margin-right:14px;white-space:nowrap}}
.k i{{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;border:1px solid #999}}
.m{{display:flex;gap:3px;align-items:flex-start}}
.col{{flex:1 1 0;min-width:0}}
.th{{background:#1F3A5F;color:#fff;font-weight:bold;padding:3px 2px;text-align:center;border-radius:2px;
    overflow-wrap:anywhere}}
.th small{{display:block;font-weight:normal;opacity:.8}}
.t{{margin-top:2px;padding:1px 3px;border:1px solid rgba(0,0,0,.15);border-radius:2px;line-height:1.2;
   cursor:default;overflow-wrap:anywhere;font-size:10px}}
.t.sub{{margin-left:7px;font-size:9.5px}}
.id{{font-weight:bold;white-space:nowrap}} .s{{text-align:right;font-weight:bold;font-variant-numeric:tabular-nums}}
details>summary{{list-style:none;cursor:pointer}} details>summary::-webkit-details-marker{{display:none}}
details>summary .id::before{{content:"▾";margin-right:2px}}
details:not([open])>summary .id::before{{content:"▸"}}
.none,.lo{{color:#555;margin:6px 2px}}
</style></head><body><div class="hd">{esc(head)}</div><div class="lg">{keys}</div>
<div class="m">{"".join(cols)}</div>{empty}{left_out}</body></html>"""


def frame_height(m: matrix.TechniqueMatrix) -> int:
    rows = max((len(r) + sum(len(s) for _, _, s in r) for _, _, r in m.columns()), default=1)
    return min(2600, 110 + CELL_HEIGHT * rows)


def show(m: matrix.TechniqueMatrix, key: str, drawn: matrix.TechniqueMatrix | None = None) -> None:
    """The matrix (or the part of it `drawn`) and the download of its whole layer."""
    drawn = drawn or m
    st.iframe(matrix_html(drawn), height=frame_height(drawn))
    st.caption("Hover a technique for the evidence; click a parent to fold its sub-techniques. "
               "Techniques only implied by tools are not drawn.")
    st.download_button("Download the ATT&CK Navigator layer", data=layer_bytes(m),
                       file_name=f"{slug(m.title) or 'layer'}.layer.json", mime="application/json",
                       key=f"{key}_layer")


@st.fragment
def workbench_matrix(db, incident_key: str, hypotheses: list, as_of: str | None) -> None:
    """Workbench: the incident's techniques against one of the ranked hypotheses. A fragment:
    another actor or the "only" toggle reruns this part, not the scores and graph above it."""
    st.subheader("ATT&CK matrix")
    groups = list(hypotheses)
    if not groups:
        st.write("No hypothesis to set the incident's techniques against.")
        return
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox("Set the incident's techniques against", range(len(groups)), key="wb_matrix_actor",
                        format_func=lambda i: f"#{groups[i].rank} {groups[i].actor.name}")
    only = c2.toggle("Only the incident's techniques", key="wb_matrix_only",
                     help="Hide the techniques only the actor's profile has (the layer keeps them).")
    actor = groups[pick].actor
    try:
        m = state.incident_matrix(db, incident_key, actor.key, as_of)
    except AttribError as exc:
        state.show_error(exc)
        return
    show(m, "wb_matrix", m.only({"shared", "incident"}) if only else None)
    if "stix" in REGISTRY:
        _stix_button(db, incident_key, m.incident[1])


def _stix_button(db, incident_key: str, incident_name: str) -> None:
    wanted = incident_key
    if st.session_state.get("wb_matrix_stix_for") != wanted:
        st.session_state.pop("wb_matrix_stix", None)
    if st.button("Prepare the STIX 2.1 bundle", key="wb_matrix_stix_make"):
        try:
            with st.spinner("Building the bundle ..."):
                st.session_state["wb_matrix_stix"] = export_bytes(
                    incident_subgraph(db, incident_key), "stix", slug(incident_name) or "incident",
                    Options(), db=db)
                st.session_state["wb_matrix_stix_for"] = wanted
        except AttribError as exc:
            state.show_error(exc)
    ready = st.session_state.get("wb_matrix_stix")
    if ready:
        data, name, mime = ready
        st.download_button(f"Download {name}", data=data, file_name=name, mime=mime, key="wb_matrix_stix_dl")


def compare_matrix(db, actor_keys: list[str]) -> None:
    """Compare actors: every technique any of them uses, coloured by how many."""
    st.subheader("ATT&CK matrix")
    try:
        m = matrix.compare_actors(db, actor_keys)
    except AttribError as exc:
        state.show_error(exc)
        return
    show(m, "compare_matrix")
