"""CSV: nodes and edges (pandas). `-o X.zip` writes one zip with nodes.csv and edges.csv; any
other name writes X.nodes.csv and X.edges.csv."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from app.exports.base import Format, Job
from app.exports.graphml import scalar
from graph.reads.subgraph import Subgraph


def _csv_safe(value):
    """Spreadsheet formula injection: a text cell starting with = + - @ is prefixed with '."""
    value = scalar(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def frames(sub: Subgraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    node_rows = [{"id": n.id, "kind": n.label, "key": n.key or "", "name": n.name,
                  **{k: v for k, v in sorted(n.props.items()) if k not in ("key", "name")}} for n in sub.nodes]
    edge_rows = [{"source": e.source, "target": e.target, "type": e.type, **dict(sorted(e.props.items()))}
                 for e in sub.edges]
    nodes = pd.DataFrame(node_rows).map(_csv_safe) if node_rows else pd.DataFrame(columns=["id", "kind", "key", "name"])
    edges = pd.DataFrame(edge_rows).map(_csv_safe) if edge_rows else pd.DataFrame(columns=["source", "target", "type"])
    return nodes, edges


def write(job: Job, out: Path) -> list[Path]:
    nodes, edges = frames(job.sub)
    if out.suffix.lower() == ".zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, df in (("nodes.csv", nodes), ("edges.csv", edges)):
                buf = io.StringIO()
                df.to_csv(buf, index=False)
                z.writestr(name, buf.getvalue())
        return [out]
    stem = out.with_suffix("") if out.suffix.lower() == ".csv" else out
    paths = [stem.parent / f"{stem.name}.nodes.csv", stem.parent / f"{stem.name}.edges.csv"]
    nodes.to_csv(paths[0], index=False)
    edges.to_csv(paths[1], index=False)
    return paths


# In memory (a download button) CSV comes as the zip: suffix "zip".
FORMAT = Format("csv", "zip", "application/zip", "nodes and edges as CSV (a zip of nodes.csv and edges.csv)", write)
