"""SVG: the briefing figure (TLP banner top and bottom when a level is chosen, title, date,
the graph, a legend of node kinds and claim stances, a footnote of the sources), drawn
directly as vector SVG. PNG and PDF are rendered from `render_print_page` (app.exports.chromium).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from app.exports.base import Format, Job
from app.exports.style import (CSP, EDGE_COLOR, FONT, STANCE_COLORS, TLP_LEVELS, declutter, edge_color, esc,
                               footnote, layout, legend_items, short, style, tlp_label, today, wrap)
from graph.reads.subgraph import SubNode, Subgraph


def _label(x: float, y: float, fs: float, text: str, attrs: str) -> str:
    """A centred label on a white backing box. The box, not a white stroke around the glyphs: a
    stroked text is a second copy of it in a PDF's text layer ("UUnited Kingdom nited Kingdom")."""
    w = 0.62 * fs * len(text) + 4
    return (f'<rect x="{x - w / 2:.1f}" y="{y - fs * 0.9:.1f}" width="{w:.1f}" height="{fs * 1.2:.1f}" rx="2" '
            f'fill="#FFFFFF" fill-opacity="0.85"/>'
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{fs}" text-anchor="middle" {attrs}>{esc(text)}</text>')


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


def label_size(node: SubNode, sub: Subgraph, n: int) -> int:
    return 13 if node.id == sub.focus else (11 if n <= 60 else 9)


def label_text(node: SubNode, sub: Subgraph) -> str:
    return short(node.name, 40 if node.id == sub.focus else 30)


def render_svg(sub: Subgraph, title: str | None = None, tlp: str | None = None, date=None,
               width: int = 1400) -> str:
    """The briefing figure as one standalone SVG: TLP banners (if `tlp` is a level), title, date, the graph, a legend
    and a footnote of the sources behind what is shown."""
    t = tlp_label(tlp)
    title = title or sub.title or "Attribution graph"
    legend_w = 300
    gx0, gy0 = 30, 104                     # graph area origin
    gw = width - legend_w - 60
    n = len(sub.nodes)
    gh = 620 if n <= 40 else 760
    foot_lines = wrap(footnote(sub), int((width - 60) / 6.6))
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
    # TLP banners, top and bottom (none without a chosen level: no marking nobody chose)
    for by in ((0, height - 24) if t else ()):
        w(f'<rect x="0" y="{by}" width="{width}" height="24" fill="#000000"/>')
        w(f'<text x="{width / 2:.0f}" y="{by + 17}" text-anchor="middle" font-size="14" font-weight="bold" '
          f'letter-spacing="1" fill="{TLP_LEVELS[t]}">TLP:{esc(t.upper())}</text>')
    # title and meta line
    w(f'<text x="30" y="60" font-size="24" font-weight="bold" fill="#1B2631">{esc(short(title, 90))}</text>')
    claims = [x for x in sub.nodes if x.label == "Claim"]
    stance_counts = ", ".join(f"{sum(1 for c in claims if c.props.get('stance') == s)} {s}"
                              for s in STANCE_COLORS if any(c.props.get("stance") == s for c in claims))
    meta = f"{today(date)} \u00b7 {n} nodes, {len(sub.edges)} relationships"
    if claims:
        meta += f" \u00b7 {len(claims)} claims ({stance_counts})"
    w(f'<text x="30" y="84" font-size="13" fill="#5D6D7E">{esc(meta)}</text>')
    w(f'<line x1="30" y1="{gy0 - 8}" x2="{width - 30}" y2="{gy0 - 8}" stroke="#D5D8DC"/>')
    # graph
    pos = layout(sub)
    pad = 60
    sizes = {x.id: style(x)["size"] * (0.85 if n > 60 else 1.0) for x in sub.nodes}
    spots = {}
    for node in sub.nodes:
        x, y = pos.get(node.id, (0.5, 0.5))
        spots[node.id] = (gx0 + pad + x * (gw - 2 * pad), gy0 + pad * 0.6 + y * (gh - 1.4 * pad))
    if n <= 60:
        # a node and its label as one box (DejaVu Sans: about 0.62 em a character), moved apart
        # until no label covers another or runs out of the graph area
        boxes = {}
        for node in sub.nodes:
            fs, r = label_size(node, sub, n), sizes[node.id]
            text_w = 0.62 * fs * len(label_text(node, sub)) + 8
            x, y = spots[node.id]
            boxes[node.id] = (x, y + (fs + 5) / 2, max(2 * r + 6, text_w), 2 * r + fs + 9)
        moved = declutter(boxes, (gx0, gy0, gx0 + gw, gy0 + gh), fixed=sub.focus)
        spots = {i: (x, y - (label_size(sub.node(i), sub, n) + 5) / 2) for i, (x, y) in moved.items()}

    def at(node_id: str) -> tuple[float, float]:
        return spots.get(node_id, (gx0 + gw / 2, gy0 + gh / 2))
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
            w(_label((sx + ex) / 2, (sy + ey) / 2 - 3, 9, e.type, 'fill="#7B8794"'))
    w('</g><g id="nodes">')
    for node in sorted(sub.nodes, key=lambda x: x.id):
        x, y = at(node.id)
        s = style(node)
        focus = node.id == sub.focus
        w(f'<g><title>{esc(node.label)}: {esc(node.name)} ({esc(node.key or node.id)})</title>')
        w(_shape_svg(s["shape"], x, y, sizes[node.id], s["color"], "#1B2631" if focus else "#FFFFFF",
                     2.5 if focus else 1.5))
        fs = label_size(node, sub, n)
        weight = ' font-weight="bold"' if focus or node.label == "Actor" else ""
        w(_label(x, y + sizes[node.id] + fs + 2, fs, label_text(node, sub), f'fill="#1B2631"{weight}') + '</g>')
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
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<style>@page {{ size: {width}px {height}px; margin: 0; }} '
            f'html, body {{ margin: 0; padding: 0; background: #FFFFFF; }} svg {{ display: block; }}'
            f'</style></head><body>{svg}</body></html>')
    return page, width, height


def write(job: Job, out: Path) -> list[Path]:
    o = job.options
    out.write_text(render_svg(job.sub, title=o.title, tlp=o.tlp, date=o.date), encoding="utf-8")
    return [out]


FORMAT = Format("svg", "svg", "image/svg+xml", "the briefing figure as vector SVG", write)
