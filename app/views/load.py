"""Load: upload record files, STIX bundles, MISP events or galaxies; see what was written and
what was refused (file, record, field)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app import state
from graph import schema
from graph.ingest import LoadReport, load_paths
from graph.settings import SEED_DIR, load_settings

db = state.get_db()
state.page_header("Load", "YAML, JSON or CSV incident records, STIX 2.x bundles (ATT&CK), MISP events "
                  "and galaxies, optionally gzipped. Every file is checked in full before anything of it "
                  "is written: a wrong record refuses its whole file, the other files still load.")


def run_load(paths: list[Path], base: Path | None = None) -> LoadReport:
    """Load with a progress bar; `base` is stripped from file names shown (upload temp dir)."""
    bar = st.progress(0.0, text="starting")
    status = {"file": ""}

    def short(p) -> str:
        text = str(p)
        return text[len(str(base)) + 1:] if base and text.startswith(str(base)) else text

    def on_file(path: Path) -> None:
        status["file"] = short(path)
        bar.progress(0.0, text=f"loading {status['file']}")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{status['file']}: {done}/{total} rows")

    schema.init_schema(db)
    settings = load_settings()
    report = load_paths(db, paths, settings.batch_size, on_file=on_file, progress=progress,
                        concurrency=settings.write_concurrency)
    bar.progress(1.0, text="done")
    state.clear_caches()
    show_report(report, short)
    return report


def show_report(report: LoadReport, short) -> None:
    if report.written:
        rows = [{"file": short(r.file), "nodes created": r.nodes_created, "relationships created": r.rels_created,
                 "already present": r.merged,
                 "skipped": "; ".join(f"{n} {why}" for why, n in sorted(r.skipped.items()))}
                for r in report.written]
        st.success(f"{len(report.written)} file(s) loaded: {sum(r.nodes_created for r in report.written)} nodes "
                   f"and {sum(r.rels_created for r in report.written)} relationships created.")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if report.refused:
        st.error(f"{len(report.refused)} file(s) refused; nothing of a refused file was written.")
        rows = [{"file": short(e.file), "record": "" if e.record is None else str(e.record),
                 "field": e.field or "", "error": getattr(e, "detail", e.message),
                 "what to do": e.hint or ""} for e in report.refused]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        for e in report.refused:
            where = [short(e.file)] + ([f"record {e.record}"] if e.record is not None else []) + (
                [f"field '{e.field}'"] if e.field else [])
            st.text(f"REFUSED {': '.join(where)}: {getattr(e, 'detail', e.message)}"
                    + (f" ({e.hint})" if e.hint else ""))


uploads = st.file_uploader("Files to load", accept_multiple_files=True, key="load_files",
                           type=["yaml", "yml", "json", "jsonl", "csv", "gz"])
if st.button("Load uploaded files", type="primary", disabled=not uploads):
    with tempfile.TemporaryDirectory(prefix="attrib-upload-") as tmp:
        base = Path(tmp)
        paths = []
        for i, up in enumerate(uploads):
            # keep the file name (the loader picks the format and the CSV kind from it);
            # one sub-directory per upload so two uploads with one name do not collide
            name = Path(up.name).name or f"upload-{i}"
            target = base / f"{i:03d}" / name
            target.parent.mkdir()
            target.write_bytes(up.getvalue())
            paths.append(target)
        run_load(paths, base=base)

with st.expander("Load from this machine"):
    st.caption("Paths on the machine running the app, e.g. the ATT&CK Enterprise bundle or a folder of "
               "MISP galaxy files. Large bundles take a minute.")
    raw = st.text_area("Files or directories, one per line", key="load_paths")
    c1, c2 = st.columns(2)
    if c1.button("Load these paths", disabled=not raw.strip()):
        run_load([Path(line.strip()).expanduser() for line in raw.splitlines() if line.strip()])
    if c2.button("Load the seed story"):
        run_load([SEED_DIR], base=SEED_DIR.parent)
