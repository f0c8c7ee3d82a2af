"""Loading files from a page (the Load page, the Draft page): a progress bar, the load through
app.ingest, the engine warmed for the Workbench, and what was written and refused (file, line,
record, field, what to do) with links to the incidents the load added."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.ingest import LoadReport, keep_attack, load_paths
from app.web import state
from graph.reads import explore
from graph.settings import load_settings
from graph.store import schema

FIX_HINT = "correct the file at this place and load it again (nothing of it was written)"
NEW_LINKS = 10


def run_load(paths: list[Path], names: dict[str, str] | None = None) -> LoadReport:
    """Load with a progress bar; `names` maps a path to the name shown (an upload's own name, not
    the temporary folder it was written to)."""
    bar = st.progress(0.0, text="starting")
    status = {"file": ""}

    def shown(p) -> str:
        text = str(p)
        for path, name in (names or {}).items():
            if text == path or text.startswith(path + "/"):
                return name + text[len(path):]
        return text

    def on_file(path: Path) -> None:
        status["file"] = state.plain(shown(path))  # progress text is Markdown: a file name is data
        bar.progress(0.0, text=f"loading {status['file']}")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"{status['file']}: {done}/{total} rows")

    db = state.get_db()
    schema.init_schema(db)
    settings = load_settings()
    before = explore.incident_names(db)
    report = load_paths(db, paths, settings.batch_size, on_file=on_file, progress=progress,
                        concurrency=settings.write_concurrency)
    # the Draft page finds the technique model of the ATT&CK bundle the graph now holds
    keep_attack(db, [r.file for r in report.written], settings.cache_dir, say=st.warning)
    state.clear_caches()
    if report.written:
        # the first Workbench visit should not wait for the engine to read the new graph
        bar.progress(1.0, text="preparing the engine for the Workbench ...")
        rows = state.incidents(db)
        first = explore.default_incident(rows)
        state.warm_up(db, next((r for r in rows if r["key"] == first), None))
    bar.progress(1.0, text="done")
    added = {k: v for k, v in explore.incident_names(db).items() if k not in before} if report.written else {}
    show_report(report, shown, added)
    return report


def show_report(report: LoadReport, shown, added: dict[str, str]) -> None:
    if report.written:
        rows = [{"file": shown(r.file), "nodes created": r.nodes_created, "relationships created": r.rels_created,
                 "matched existing": r.merged,
                 "skipped": "; ".join(f"{n} {why}" for why, n in sorted(r.skipped.items()))}
                for r in report.written]
        st.success(f"{len(report.written)} file(s) loaded: {sum(r.nodes_created for r in report.written)} nodes "
                   f"and {sum(r.rels_created for r in report.written)} relationships created.")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        if added:
            st.markdown(f"**{len(added)} new incident(s)**: open on the Workbench")
            for key, name in sorted(added.items(), key=lambda kv: kv[1])[:NEW_LINKS]:
                st.page_link("views/workbench.py", label=f"{state.plain(name)} ({state.plain(key)})",
                             query_params={"incident": key})
            if len(added) > NEW_LINKS:
                st.caption(f"and {len(added) - NEW_LINKS} more (pick them on the Workbench).")
    if report.refused:
        st.error(f"{len(report.refused)} file(s) refused; nothing of a refused file was written. "
                 "Each row says where to look.")
        rows = [{"file": shown(e.file), "line": "" if getattr(e, "line", None) is None else str(e.line),
                 "record": "" if e.record is None else str(e.record), "field": e.field or "",
                 "error": getattr(e, "detail", e.message), "what to do": e.hint or FIX_HINT}
                for e in report.refused]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"error": st.column_config.TextColumn(width="large")})
