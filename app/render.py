"""Draw a `graph.subgraph.Subgraph`: an interactive offline HTML page (vis-network) and a
briefing-ready SVG (title, TLP banner, legend, date, source footnote).

API (stable; the Streamlit app and `app.export` use it):
- `render_html(subgraph, title=None, height_px=650, tlp=None) -> str`: one self-contained
  HTML page; vis-network's JS/CSS are inlined from the installed pyvis package, and a
  Content-Security-Policy forbids any remote resource.
- `render_svg(subgraph, title=None, tlp=None, date=None) -> str`: the briefing figure as one
  standalone SVG document (vector; what PNG and PDF exports are rendered from).
- `legend_items(subgraph=None) -> list[dict]`: legend rows {group, kind, label, color, shape}.
- `layout(subgraph) -> {node id: (x, y)}` in [0, 1]: deterministic, shared by both renderers.
- `NODE_STYLES`, `STANCE_COLORS`, `TLP_LEVELS`.

Every data string (names, aliases, descriptions, URLs, titles) is passed through
`html.escape` before it is put in a page or an SVG.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
from functools import lru_cache
from pathlib import Path

import networkx as nx

from graph.subgraph import SubEdge, SubNode, Subgraph

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

# TLP 2.0 (FIRST): coloured text on black.
TLP_LEVELS: dict[str, str] = {"clear": "#FFFFFF", "green": "#33FF00", "amber": "#FFC000",
                              "amber+strict": "#FFC000", "red": "#FF2B2B"}

FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif"
LAYOUT_SEED = 7

_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(value) -> str:
    """Escape one data string for HTML and XML (and drop characters XML cannot hold)."""
    return html.escape(_XML_BAD.sub("", "" if value is None else str(value)), quote=True)


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
def layout(sub: Subgraph) -> dict[str, tuple[float, float]]:
    """Deterministic positions in [0, 1] x [0, 1] (a seeded spring layout; the focus node,
    if any, is pinned at the centre)."""
    ids = sorted(n.id for n in sub.nodes)
    if not ids:
        return {}
    if len(ids) == 1:
        return {ids[0]: (0.5, 0.5)}
    g = nx.Graph()
    g.add_nodes_from(ids)
    g.add_edges_from(sorted({tuple(sorted((e.source, e.target))) for e in sub.edges if e.source != e.target}))
    # Fruchterman-Reingold with a fixed seed (pure numpy below 500 nodes; no scipy needed);
    # the focus node is pinned at the centre.
    k = 1.6 / math.sqrt(len(ids))
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


# -- text helpers ---------------------------------------------------------------------------------
def _short(text: str, n: int = 34) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _wrap(text: str, width: int) -> list[str]:
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


TOOLTIP_PROPS = ("kind", "stance", "confidence", "date", "first_seen", "last_seen", "availability",
                 "reliability", "attack_id", "external_ids", "spellings", "statement", "description",
                 "url", "sources")


def tooltip_html(node: SubNode) -> str:
    """The node's details as (escaped) HTML for the vis-network popup."""
    lines = [f"<b>{esc(node.name)}</b>", f"<i>{esc(node.label)}</i> &middot; {esc(node.key or node.id)}"]
    for k in TOOLTIP_PROPS:
        v = node.props.get(k)
        if v in (None, "", []):
            continue
        if isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        lines.append(f"{esc(k)}: {esc(_short(str(v), 300))}")
    return "<br>".join(lines)


def _footnote(sub: Subgraph) -> str:
    srcs = sub.sources()
    if not srcs:
        return "Sources: none recorded for what is shown."
    return "Sources: " + "; ".join(f"{name} ({key})" if name != key else key for key, name in srcs) + "."


def _today(date) -> str:
    if date is None:
        return _dt.date.today().isoformat()
    return date.isoformat() if hasattr(date, "isoformat") else str(date)


def _tlp_label(tlp: str | None) -> str | None:
    if not tlp:
        return None
    t = tlp.strip().lower().removeprefix("tlp:")
    if t not in TLP_LEVELS:
        raise ValueError(f"unknown TLP level {tlp!r}; use one of {', '.join(TLP_LEVELS)}")
    return t


# -- HTML (vis-network) ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _vis_assets() -> tuple[str, str]:
    """vis-network's JS and CSS as shipped inside the pyvis wheel (no CDN)."""
    import pyvis

    root = Path(pyvis.__file__).parent / "lib"
    candidates = sorted(root.glob("vis-*/vis-network.min.js"), reverse=True)
    if not candidates:
        raise RuntimeError(f"vis-network is missing from the pyvis package at {root}")
    js_path = candidates[0]
    js = js_path.read_text(encoding="utf-8")
    css = (js_path.parent / "vis-network.css").read_text(encoding="utf-8")
    return js.replace("</script", "<\\/script"), css.replace("</style", "<\\/style")


def _json_for_script(data) -> str:
    return (json.dumps(data, ensure_ascii=True, sort_keys=True)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; connect-src 'none'; form-action 'none'")


def _legend_html(sub: Subgraph) -> str:
    parts = []
    for row in legend_items(sub):
        if row["group"] == "node":
            swatch = (f'<span class="sw" style="background:{row["color"]};'
                      f'border-radius:{"50%" if row["shape"] == "dot" else "2px"}"></span>')
        else:
            swatch = f'<span class="ln" style="background:{row["color"]}"></span>'
        parts.append(f'<span class="li">{swatch}{esc(row["label"])}</span>')
    return "".join(parts)


def _tlp_banner_html(tlp: str | None) -> str:
    t = _tlp_label(tlp)
    if not t:
        return ""
    return f'<div class="tlp"><span style="color:{TLP_LEVELS[t]}">TLP:{esc(t.upper())}</span></div>'


def render_html(sub: Subgraph, title: str | None = None, height_px: int = 650, tlp: str | None = None,
                date=None) -> str:
    """An interactive, self-contained, offline HTML page of the subgraph."""
    js, css = _vis_assets()
    pos = layout(sub)
    scale_x, scale_y = 1400.0, 900.0
    nodes = []
    for n in sorted(sub.nodes, key=lambda n: n.id):
        s = style(n)
        x, y = pos.get(n.id, (0.5, 0.5))
        nodes.append({
            "id": esc(n.id), "label": esc(_short(n.name)), "title": tooltip_html(n),
            "group": esc(n.label), "shape": s["shape"], "size": s["size"],
            "color": {"background": s["color"], "border": "#2C3E50",
                      "highlight": {"background": s["color"], "border": "#000000"}},
            "borderWidth": 3 if n.id == sub.focus else 1,
            "x": round((x - 0.5) * scale_x, 1), "y": round((y - 0.5) * scale_y, 1),
        })
    edges = []
    for i, e in enumerate(sub.edges):
        edges.append({"id": i, "from": esc(e.source), "to": esc(e.target), "label": esc(e.type),
                      "title": esc(e.type + "".join(f"\n{k}: {v}" for k, v in sorted(e.props.items())
                                                     if v not in (None, "", []))),
                      "color": {"color": edge_color(sub, e)}, "arrows": "to"})
    title = title or sub.title or "Attribution graph"
    data = {"nodes": nodes, "edges": edges}
    options = {
        "physics": {"enabled": False},
        "layout": {"randomSeed": LAYOUT_SEED, "improvedLayout": False},
        "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
        "nodes": {"font": {"size": 14, "face": "DejaVu Sans, Arial, sans-serif", "color": "#1B2631",
                           "strokeWidth": 3, "strokeColor": "#FFFFFF"}},
        "edges": {"font": {"size": 10, "color": "#7B8794", "strokeWidth": 2, "strokeColor": "#FFFFFF",
                           "align": "middle"}, "smooth": False, "width": 1.4},
    }
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{css}</style>
<style>
body {{ margin: 0; font-family: {FONT}; color: #1B2631; background: #FFFFFF; }}
.tlp {{ background: #000; text-align: center; font: bold 14px {FONT}; padding: 3px 0; letter-spacing: 1px; }}
header {{ padding: 8px 14px 2px; }}
h1 {{ font-size: 18px; margin: 0; }}
.meta {{ font-size: 12px; color: #5D6D7E; }}
#graph {{ height: {int(height_px)}px; border-top: 1px solid #E5E8E8; border-bottom: 1px solid #E5E8E8; }}
.legend {{ font-size: 12px; padding: 6px 14px; display: flex; flex-wrap: wrap; gap: 4px 16px; }}
.li {{ display: inline-flex; align-items: center; gap: 6px; }}
.sw {{ display: inline-block; width: 12px; height: 12px; border: 1px solid #2C3E50; }}
.ln {{ display: inline-block; width: 22px; height: 3px; }}
.foot {{ font-size: 11px; color: #5D6D7E; padding: 2px 14px 8px; }}
div.vis-tooltip {{ font-family: {FONT}; font-size: 12px; max-width: 420px; white-space: normal; }}
</style>
<script>{js}</script>
</head><body>
{_tlp_banner_html(tlp)}
<header><h1>{esc(title)}</h1>
<div class="meta">{esc(_today(date))} &middot; {len(sub.nodes)} nodes, {len(sub.edges)} relationships &middot; attrib</div></header>
<div id="graph"></div>
<div class="legend">{_legend_html(sub)}</div>
<div class="foot">{esc(_footnote(sub))}</div>
{_tlp_banner_html(tlp)}
<script>
(function () {{
  var data = {_json_for_script(data)};
  var options = {_json_for_script(options)};
  // Data strings arrive HTML-escaped: tooltips become elements built from that escaped
  // HTML; canvas labels are decoded to plain text by an inert DOMParser document.
  function text(s) {{
    return new DOMParser().parseFromString('<!doctype html><body>' + s, 'text/html').body.textContent;
  }}
  function tip(h) {{ var d = document.createElement('div'); d.innerHTML = h; return d; }}
  data.nodes.forEach(function (n) {{ n.label = text(n.label); n.title = tip(n.title); }});
  data.edges.forEach(function (e) {{ e.label = text(e.label); e.title = text(e.title); }});
  var network = new vis.Network(document.getElementById('graph'),
      {{nodes: new vis.DataSet(data.nodes), edges: new vis.DataSet(data.edges)}}, options);
  network.once('afterDrawing', function () {{ network.fit(); document.body.setAttribute('data-drawn', '1'); }});
}})();
</script>
</body></html>
"""


# -- SVG (briefing figure) ------------------------------------------------------------------------
def _shape_svg(shape: str, x: float, y: float, r: float, fill: str, stroke: str, sw: float) -> str:
    a = f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"'
    if shape == "dot":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {a}/>'
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" rx="2" {a}/>'
    if shape == "line":
        return f'<line x1="{x - r:.1f}" y1="{y:.1f}" x2="{x + r:.1f}" y2="{y:.1f}" stroke="{fill}" stroke-width="3"/>'
    if shape == "diamond":
        pts = [(x, y - r * 1.2), (x + r * 1.2, y), (x, y + r * 1.2), (x - r * 1.2, y)]
    elif shape == "triangle":
        pts = [(x, y - r * 1.15), (x + r, y + r * 0.75), (x - r, y + r * 0.75)]
    elif shape == "triangleDown":
        pts = [(x, y + r * 1.15), (x + r, y - r * 0.75), (x - r, y - r * 0.75)]
    elif shape == "hexagon":
        pts = [(x + r * math.cos(math.pi / 3 * i), y + r * math.sin(math.pi / 3 * i)) for i in range(6)]
    elif shape == "star":
        pts = []
        for i in range(10):
            rr = r if i % 2 == 0 else r * 0.45
            ang = -math.pi / 2 + i * math.pi / 5
            pts.append((x + rr * math.cos(ang), y + rr * math.sin(ang)))
    else:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {a}/>'
    return '<polygon points="' + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + f'" {a}/>'


def render_svg(sub: Subgraph, title: str | None = None, tlp: str | None = None, date=None,
               width: int = 1400) -> str:
    """The briefing figure as one standalone SVG: TLP banner, title, date, the graph, a legend
    and a footnote of the sources behind what is shown."""
    t = _tlp_label(tlp) or "clear"
    title = title or sub.title or "Attribution graph"
    legend_w = 300
    gx0, gy0 = 30, 104                     # graph area origin
    gw = width - legend_w - 60
    n = len(sub.nodes)
    gh = 620 if n <= 40 else 760
    foot_lines = _wrap(_footnote(sub), int((width - 60) / 6.6))
    if len(foot_lines) > 8:
        foot_lines = foot_lines[:8]
        foot_lines[-1] += " \u2026"
    foot_y = gy0 + gh + 26
    height = foot_y + 16 * len(foot_lines) + 44
    out: list[str] = []
    w = out.append
    w(f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" '
      f'viewBox="0 0 {width} {height}" font-family="{esc(FONT)}">')
    w(f"<title>{esc(title)}</title>")
    w('<defs>')
    for i, color in enumerate([EDGE_COLOR, *STANCE_COLORS.values()]):
        w(f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
          f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    w('</defs>')
    w(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>')
    # TLP banners, top and bottom
    for by in (0, height - 24):
        w(f'<rect x="0" y="{by}" width="{width}" height="24" fill="#000000"/>')
        w(f'<text x="{width / 2:.0f}" y="{by + 17}" text-anchor="middle" font-size="14" font-weight="bold" '
          f'letter-spacing="1" fill="{TLP_LEVELS[t]}">TLP:{esc(t.upper())}</text>')
    # title and meta line
    w(f'<text x="30" y="60" font-size="24" font-weight="bold" fill="#1B2631">{esc(_short(title, 90))}</text>')
    claims = [x for x in sub.nodes if x.label == "Claim"]
    stance_counts = ", ".join(f"{sum(1 for c in claims if c.props.get('stance') == s)} {s}"
                              for s in STANCE_COLORS if any(c.props.get("stance") == s for c in claims))
    meta = f"{_today(date)} \u00b7 {n} nodes, {len(sub.edges)} relationships"
    if claims:
        meta += f" \u00b7 {len(claims)} claims ({stance_counts})"
    w(f'<text x="30" y="84" font-size="13" fill="#5D6D7E">{esc(meta)}</text>')
    w(f'<line x1="30" y1="{gy0 - 8}" x2="{width - 30}" y2="{gy0 - 8}" stroke="#D5D8DC"/>')
    # graph
    pos = layout(sub)
    pad = 60
    def at(node_id: str) -> tuple[float, float]:
        x, y = pos.get(node_id, (0.5, 0.5))
        return gx0 + pad + x * (gw - 2 * pad), gy0 + pad * 0.6 + y * (gh - 1.4 * pad)
    sizes = {x.id: style(x)["size"] * (0.85 if n > 60 else 1.0) for x in sub.nodes}
    w('<g id="edges">')
    for e in sub.edges:
        if e.source not in pos or e.target not in pos:
            continue
        (x1, y1), (x2, y2) = at(e.source), at(e.target)
        dx, dy = x2 - x1, y2 - y1
        d = math.hypot(dx, dy) or 1.0
        r1, r2 = sizes.get(e.source, 10) + 2, sizes.get(e.target, 10) + 4
        sx, sy, ex, ey = x1 + dx / d * r1, y1 + dy / d * r1, x2 - dx / d * r2, y2 - dy / d * r2
        color = edge_color(sub, e)
        marker = ([EDGE_COLOR, *STANCE_COLORS.values()].index(color)
                  if color in (EDGE_COLOR, *STANCE_COLORS.values()) else 0)
        width_px = 2.2 if color != EDGE_COLOR else 1.2
        w(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="{color}" '
          f'stroke-width="{width_px}" marker-end="url(#arrow{marker})"><title>{esc(e.type)}</title></line>')
        if n <= 60 and math.hypot(ex - sx, ey - sy) > 110:
            w(f'<text x="{(sx + ex) / 2:.1f}" y="{(sy + ey) / 2 - 3:.1f}" font-size="9" text-anchor="middle" '
              f'fill="#7B8794" stroke="#FFFFFF" stroke-width="3" paint-order="stroke">{esc(e.type)}</text>')
    w('</g><g id="nodes">')
    for node in sorted(sub.nodes, key=lambda x: x.id):
        x, y = at(node.id)
        s = style(node)
        focus = node.id == sub.focus
        w(f'<g><title>{esc(node.label)}: {esc(node.name)} ({esc(node.key or node.id)})</title>')
        w(_shape_svg(s["shape"], x, y, sizes[node.id], s["color"], "#1B2631" if focus else "#FFFFFF",
                     2.5 if focus else 1.5))
        fs = 13 if focus else (11 if n <= 60 else 9)
        weight = ' font-weight="bold"' if focus or node.label == "Actor" else ""
        w(f'<text x="{x:.1f}" y="{y + sizes[node.id] + fs + 2:.1f}" font-size="{fs}"{weight} text-anchor="middle" '
          f'fill="#1B2631" stroke="#FFFFFF" stroke-width="3" paint-order="stroke">'
          f'{esc(_short(node.name, 40 if focus else 30))}</text></g>')
    w('</g>')
    # legend
    lx, ly = width - legend_w - 10, gy0 + 4
    w(f'<rect x="{lx}" y="{ly}" width="{legend_w - 20}" height="{gh - 8}" rx="6" fill="#F8F9F9" stroke="#E5E8E8"/>')
    yy = ly + 26
    w(f'<text x="{lx + 16}" y="{yy}" font-size="13" font-weight="bold" fill="#1B2631">Node kinds</text>')
    yy += 10
    for row in legend_items(sub):
        if row["group"] == "stance" and row["kind"] == "attributes":
            yy += 34
            w(f'<text x="{lx + 16}" y="{yy}" font-size="13" font-weight="bold" fill="#1B2631">Claim stance</text>')
            yy += 10
        yy += 22
        if row["group"] == "node":
            w(_shape_svg(row["shape"], lx + 28, yy - 4, 7, row["color"], "#FFFFFF", 1))
        else:
            w(_shape_svg("line", lx + 28, yy - 4, 11, row["color"], row["color"], 1))
        w(f'<text x="{lx + 46}" y="{yy}" font-size="12" fill="#1B2631">{esc(row["label"])}</text>')
    yy += 28
    for line in ("Arrows: relationship direction;", "claim colours mark who", "attributes, denies or disputes."):
        w(f'<text x="{lx + 16}" y="{yy}" font-size="11" fill="#5D6D7E">{esc(line)}</text>')
        yy += 15
    # footnote
    w(f'<line x1="30" y1="{foot_y - 18}" x2="{width - 30}" y2="{foot_y - 18}" stroke="#D5D8DC"/>')
    for i, line in enumerate(foot_lines):
        w(f'<text x="30" y="{foot_y + 16 * i}" font-size="11" fill="#5D6D7E">{esc(line)}</text>')
    w(f'<text x="{width - 30}" y="{height - 32}" font-size="10" text-anchor="end" fill="#A6ACAF">'
      f'attrib attribution explorer</text>')
    w("</svg>")
    return "\n".join(out)


def render_print_page(sub: Subgraph, title: str | None = None, tlp: str | None = None, date=None) -> tuple[str, int, int]:
    """An HTML page holding just the briefing SVG, sized for one PDF page / one screenshot:
    (html, width, height) in CSS pixels."""
    svg = render_svg(sub, title=title, tlp=tlp, date=date)
    m = re.search(r'width="(\d+)" height="(\d+)"', svg)
    width, height = int(m.group(1)), int(m.group(2))
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<style>@page {{ size: {width}px {height}px; margin: 0; }} '
            f'html, body {{ margin: 0; padding: 0; background: #FFFFFF; }} svg {{ display: block; }}'
            f'</style></head><body>{svg}</body></html>')
    return page, width, height
