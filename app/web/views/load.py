"""Load: upload record files, STIX bundles, MISP events or galaxies; see what was written and
what was refused (file, line, record, field, what to do), and open the incidents a load added."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app.web import state
from app.web.load_view import run_load
from graph.settings import SEED_DIR

state.get_db()
state.page_header("Load", "YAML, JSON or CSV incident records, STIX 2.x bundles (ATT&CK), MISP events "
                  "and galaxies, optionally gzipped. Every file is checked in full before anything of it "
                  "is written: a wrong record refuses its whole file, the other files still load.")
uploads = st.file_uploader("Files to load", accept_multiple_files=True, key="load_files",
                           type=["yaml", "yml", "json", "jsonl", "csv", "gz"])
if st.button("Load uploaded files", type="primary", disabled=not uploads):
    with tempfile.TemporaryDirectory(prefix="attrib-upload-") as tmp:
        paths, names = [], {}
        for i, up in enumerate(uploads):
            # keep the file name (the loader picks the format and the CSV kind from it);
            # one sub-directory per upload so two uploads with one name do not collide
            name = Path(up.name).name or f"upload-{i}"
            target = Path(tmp) / f"{i:03d}" / name
            target.parent.mkdir()
            target.write_bytes(up.getvalue())
            paths.append(target)
            names[str(target)] = name
        run_load(paths, names)

with st.expander("Load from this machine"):
    st.caption("Paths on the machine running the app, e.g. the ATT&CK Enterprise bundle or a folder of "
               "MISP galaxy files. Large bundles take a minute.")
    raw = st.text_area("Files or directories, one per line", key="load_paths")
    c1, c2 = st.columns(2)
    if c1.button("Load these paths", disabled=not raw.strip()):
        run_load([Path(line.strip()).expanduser() for line in raw.splitlines() if line.strip()])
    if c2.button("Load the seed story"):
        run_load([SEED_DIR], {str(SEED_DIR): SEED_DIR.name})
