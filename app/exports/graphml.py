"""GraphML: the subgraph as a networkx MultiDiGraph (list properties joined with "; ")."""
from __future__ import annotations

from pathlib import Path

import networkx as nx

from app.exports.base import Format, Job
from graph.reads.subgraph import Subgraph


def scalar(value):
    """A property value as one GraphML/CSV cell (lists joined with "; ", dicts as k=v)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


def to_networkx(sub: Subgraph) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(name=sub.title or "attrib subgraph")
    for n in sub.nodes:
        attrs = {f"p_{k}": scalar(v) for k, v in sorted(n.props.items()) if k not in ("key", "name")}
        g.add_node(n.id, kind=n.label, key=n.key or "", name=n.name, **attrs)
    for e in sub.edges:
        g.add_edge(e.source, e.target, key=None, type=e.type,
                   **{f"p_{k}": scalar(v) for k, v in sorted(e.props.items())})
    return g


def write(job: Job, out: Path) -> list[Path]:
    nx.write_graphml(to_networkx(job.sub), out)
    return [out]


FORMAT = Format("graphml", "graphml", "application/xml", "the graph for Gephi, yEd or networkx", write)
