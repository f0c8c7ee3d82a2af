"""The look every drawn export shares (the SVG briefing figure, PNG/PDF made from it, the
interactive HTML page): node styles, stance and TLP colours, the deterministic layout, the
legend, the sources footnote and `esc`, through which every data string passes before it is
put in a page or an SVG.
"""
from __future__ import annotations

import datetime as _dt
import html
import math
import re
from urllib.parse import urlparse

from typing import TYPE_CHECKING

from graph.model import TLP_LEVELS  # noqa: F401 (the exporters take it from here)

if TYPE_CHECKING:  # networkx and numpy load with the first layout (the CLI checks --tlp without them)
    from graph.reads.subgraph import SubEdge, SubNode, Subgraph

# kind -> (fill colour, shape, size); shapes are vis-network names, drawn alike in the SVG
NODE_STYLES: dict[str, dict] = {
    "Incident": {"color": "#1F3A5F", "shape": "star", "size": 26, "label": "Incident"},
    "Claim": {"color": "#7F8C8D", "shape": "diamond", "size": 14, "label": "Claim (colour = stance)"},
    "Actor": {"color": "#B03A2E", "shape": "dot", "size": 20, "label": "Actor"},
    "Alias": {"color": "#C9A9A6", "shape": "dot", "size": 9, "label": "Alias"},
    "Source": {"color": "#138D75", "shape": "square", "size": 13, "label": "Source"},
    "Tool": {"color": "#6C3483", "shape": "triangle", "size": 15, "label": "Tool"},
    "Technique": {"color": "#2874A6", "shape": "triangleDown", "size": 14, "label": "Technique"},
    "Infrastructure": {"color": "#566573", "shape": "hexagon", "size": 14, "label": "Infrastructure"},
    "Organization": {"color": "#935116", "shape": "square", "size": 15, "label": "Organization (victim)"},
    "Sector": {"color": "#C39B3A", "shape": "diamond", "size": 12, "label": "Sector"},
    "Country": {"color": "#5D8AA8", "shape": "dot", "size": 12, "label": "Country"},
}
OTHER_STYLE = {"color": "#95A5A6", "shape": "dot", "size": 10, "label": "Other"}

# Claim stance colours (Okabe-Ito: distinguishable with the common colour-vision deficiencies).
STANCE_COLORS: dict[str, str] = {"attributes": "#E69F00", "denies": "#0072B2", "disputes": "#CC79A7"}
STANCE_LABELS = {"attributes": "attributes (claims the actor did it)",
                 "denies": "denies", "disputes": "disputes"}
EDGE_COLOR = "#A6AEB8"


FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif"
LAYOUT_SEED = 7

_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(value) -> str:
    """Escape one data string for HTML and XML (and drop characters XML cannot hold)."""
    return html.escape(_XML_BAD.sub("", "" if value is None else str(value)), quote=True)


def web_url(value) -> str | None:
    """`value` if it is an http(s) URL, else None: a `javascript:`, `data:` or `file:` address from
    data never becomes a link in an export."""
    text = "" if value is None else str(value).strip()
    parsed = urlparse(text)
    return text if parsed.scheme.lower() in ("http", "https") and parsed.netloc else None


def style(node: SubNode) -> dict:
    s = dict(NODE_STYLES.get(node.label, OTHER_STYLE))
    if node.label == "Claim":
        s["color"] = STANCE_COLORS.get(str(node.props.get("stance")), s["color"])
    return s


def edge_color(sub: Subgraph, edge: SubEdge) -> str:
    """Edges from a claim (NAMES, STATED_BY) and STATED_BY's stance carry the claim's colour."""
    stance = edge.props.get("stance")
    if not stance:
        start = sub.node(edge.source)
        if start is not None and start.label == "Claim" and edge.type in ("NAMES", "STATED_BY"):
            stance = start.props.get("stance")
    return STANCE_COLORS.get(str(stance), EDGE_COLOR)


def legend_items(sub: Subgraph | None = None) -> list[dict]:
    """Legend rows: the node kinds present (all kinds without a subgraph) and the three stances."""
    kinds = [k for k in NODE_STYLES if sub is None or any(n.label == k for n in sub.nodes)]
    if sub is not None and any(n.label not in NODE_STYLES for n in sub.nodes):
        kinds.append("Other")
    rows = []
    for k in kinds:
        s = NODE_STYLES.get(k, OTHER_STYLE)
        rows.append({"group": "node", "kind": k, "label": s["label"], "color": s["color"], "shape": s["shape"]})
    for stance, color in STANCE_COLORS.items():
        rows.append({"group": "stance", "kind": stance, "label": STANCE_LABELS[stance], "color": color,
                     "shape": "line"})
    return rows


# -- layout ---------------------------------------------------------------------------------------
# networkx's spring layout turns to scipy's sparse solver from 500 nodes, which takes about a
# minute on 600 nodes; from there the dense Fruchterman-Reingold below (numpy, seconds) is used.
DENSE_LAYOUT_FROM = 500
# Beyond this many nodes a drawing says nothing a table does not (and the dense layout's n x n
# arrays grow past 100 MB): pages list the result and say why it is not drawn.
MAX_DRAWN_NODES = 1500


def layout(sub: Subgraph) -> dict[str, tuple[float, float]]:
    """Deterministic positions in [0, 1] x [0, 1] (a seeded spring layout; the focus node,
    if any, is pinned at the centre)."""
    ids = sorted(n.id for n in sub.nodes)
    if not ids:
        return {}
    if len(ids) == 1:
        return {ids[0]: (0.5, 0.5)}
    if len(ids) > MAX_DRAWN_NODES:
        raise ValueError(f"{len(ids)} nodes are too many to draw (at most {MAX_DRAWN_NODES})")
    edges = sorted({tuple(sorted((e.source, e.target))) for e in sub.edges if e.source != e.target})
    # Fruchterman-Reingold with a fixed seed; the focus node is pinned at the centre.
    k = 1.6 / math.sqrt(len(ids))
    if len(ids) >= DENSE_LAYOUT_FROM:
        pos = _dense_spring(ids, edges, sub.focus, k, iterations=100)
    else:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(ids)
        g.add_edges_from(edges)
        if sub.focus in g:
            pos = nx.spring_layout(g, seed=LAYOUT_SEED, k=k, iterations=300, pos={sub.focus: (0.0, 0.0)},
                                   fixed=[sub.focus])
        else:
            pos = nx.spring_layout(g, seed=LAYOUT_SEED, k=k, iterations=300)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    w, h = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    return {k: ((float(p[0]) - x0) / w, (float(p[1]) - y0) / h) for k, p in pos.items()}


def _dense_spring(ids: list[str], edges: list[tuple[str, str]], focus: str | None, k: float,
                  iterations: int) -> dict[str, tuple[float, float]]:
    """Fruchterman-Reingold on a dense adjacency matrix, all pairs at once (numpy only)."""
    import numpy as np

    index = {node: i for i, node in enumerate(ids)}
    n = len(ids)
    adjacency = np.zeros((n, n))
    for a, b in edges:
        adjacency[index[a], index[b]] = adjacency[index[b], index[a]] = 1.0
    pos = np.random.RandomState(LAYOUT_SEED).rand(n, 2)
    pinned = index.get(focus)
    if pinned is not None:
        pos[pinned] = 0.5
    t = 0.1  # the largest step, cooled to 0 over the iterations
    for _ in range(iterations):
        dx = pos[:, 0, None] - pos[None, :, 0]
        dy = pos[:, 1, None] - pos[None, :, 1]
        squared = np.maximum(dx * dx + dy * dy, 1e-4)
        force = k * k / squared - adjacency * np.sqrt(squared) / k   # repulsion minus attraction (/ distance)
        shift = np.stack([(dx * force).sum(axis=1), (dy * force).sum(axis=1)], axis=1)
        length = np.linalg.norm(shift, axis=-1)
        step = shift * (t / np.where(length < 0.01, 0.1, length))[:, None]
        if pinned is not None:
            step[pinned] = 0.0
        pos += step
        t -= 0.1 / (iterations + 1)
    return {node: (float(pos[i, 0]), float(pos[i, 1])) for node, i in index.items()}


def declutter(boxes: dict[str, tuple[float, float, float, float]], bounds: tuple[float, float, float, float],
              fixed: str | None = None, rounds: int = 400) -> dict[str, tuple[float, float]]:
    """Centres for boxes (centre x, centre y, width, height; a node with its label) moved apart
    until no two overlap (or `rounds` passes), each kept inside `bounds` (x0, y0, x1, y1); the
    `fixed` box stays. Each overlapping pair is pushed apart along the axis it overlaps least."""
    x0, y0, x1, y1 = bounds
    ids = sorted(boxes)
    at = {i: [boxes[i][0], boxes[i][1]] for i in ids}
    size = {i: (boxes[i][2], boxes[i][3]) for i in ids}

    def clamp(i: str) -> None:
        w, h = size[i]
        at[i][0] = min(max(at[i][0], x0 + w / 2), max(x0 + w / 2, x1 - w / 2))
        at[i][1] = min(max(at[i][1], y0 + h / 2), max(y0 + h / 2, y1 - h / 2))

    for i in ids:
        if i != fixed:
            clamp(i)
    for _ in range(rounds):
        moved = False
        for n, a in enumerate(ids):
            for b in ids[n + 1:]:
                dx, dy = at[b][0] - at[a][0], at[b][1] - at[a][1]
                ox = (size[a][0] + size[b][0]) / 2 - abs(dx)
                oy = (size[a][1] + size[b][1]) / 2 - abs(dy)
                if ox <= 0 or oy <= 0:
                    continue
                moved = True
                axis, push, sign = (0, ox, dx) if ox < oy else (1, oy, dy)
                direction = 1.0 if sign > 0 or (sign == 0 and axis == 1) else -1.0
                share_a = 0.0 if a == fixed else (1.0 if b == fixed else 0.5)
                at[a][axis] -= direction * (push + 0.5) * share_a
                at[b][axis] += direction * (push + 0.5) * (1.0 - share_a)
        for i in ids:
            if i != fixed:
                clamp(i)
        if not moved:
            break
    return {i: (at[i][0], at[i][1]) for i in ids}


# -- text helpers ---------------------------------------------------------------------------------
def short(text: str, n: int = 34) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return lines


def footnote(sub: Subgraph) -> str:
    srcs = sub.sources()
    if not srcs:
        return "Sources: none recorded for what is shown."
    return "Sources: " + "; ".join(f"{name} ({key})" if name != key else key for key, name in srcs) + "."


def today(date) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    return date.isoformat() if hasattr(date, "isoformat") else str(date)


# Pages hold everything inline; no remote resource may load.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:; connect-src 'none'; form-action 'none'")


def tlp_label(tlp: str | None) -> str | None:
    """The TLP level to mark with, or None for no marking (nothing chosen, or "none")."""
    t = (tlp or "").strip().lower().removeprefix("tlp:")
    if t in ("", "none"):
        return None
    if t not in TLP_LEVELS:
        raise ValueError(f"unknown TLP level {tlp!r}; use one of {', '.join(TLP_LEVELS)}")
    return t
