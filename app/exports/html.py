"""HTML: the interactive graph as one self-contained offline page (vis-network, inlined from
the installed pyvis package; a Content-Security-Policy forbids any remote resource). The app's
pages draw their graphs with `render_html` too.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from app.exports.base import Format, Job
from app.exports.style import (CSP, FONT, LAYOUT_SEED, TLP_LEVELS, edge_color, esc, footnote, layout, legend_items,
                               short, style, tlp_label, today, web_url)
from graph.reads.subgraph import SubNode, Subgraph

TOOLTIP_PROPS = ("kind", "stance", "confidence", "date", "first_seen", "last_seen", "availability",
                 "reliability", "attack_id", "external_ids", "spellings", "statement", "description",
                 "url", "sources")


def tooltip_html(node: SubNode) -> str:
    """The node's details as (escaped) HTML for the vis-network popup."""
    lines = [f"<b>{esc(node.name)}</b>", f"<i>{esc(node.label)}</i> &middot; {esc(node.key or node.id)}"]
    for k in TOOLTIP_PROPS:
        v = node.props.get(k)
        if k == "url":
            v = web_url(v)
        if v in (None, "", []):
            continue
        if isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        lines.append(f"{esc(k)}: {esc(short(str(v), 300))}")
    return "<br>".join(lines)



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
    t = tlp_label(tlp)
    if not t:
        return ""
    return f'<div class="tlp"><span style="color:{TLP_LEVELS[t]}">TLP:{esc(t.upper())}</span></div>'


def render_html(sub: Subgraph, title: str | None = None, height_px: int = 650, tlp: str | None = None,
                date=None) -> str:
    """An interactive, self-contained, offline HTML page of the subgraph."""
    js, css = _vis_assets()
    pos = layout(sub)
    # The drawing area grows with the number of nodes, so that fitting it into the app's frame
    # (about 500 px wide at 1600 px) keeps a graph of up to about 30 nodes near full size:
    # labels readable at the default zoom.
    scale_x = max(480.0, 90.0 * math.sqrt(len(sub.nodes)))
    scale_y = scale_x * 0.75
    nodes = []
    for n in sorted(sub.nodes, key=lambda n: n.id):
        s = style(n)
        x, y = pos.get(n.id, (0.5, 0.5))
        nodes.append({
            "id": esc(n.id), "label": esc(short(n.name)), "title": tooltip_html(n),
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
        "nodes": {"font": {"size": 15, "face": "DejaVu Sans, Arial, sans-serif", "color": "#1B2631",
                           "strokeWidth": 3, "strokeColor": "#FFFFFF"}},
        "edges": {"font": {"size": 12, "color": "#4D5B69", "strokeWidth": 3, "strokeColor": "#FFFFFF",
                           "align": "middle"}, "smooth": False, "width": 1.4},
    }
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
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
<div class="meta">{esc(today(date))} &middot; {len(sub.nodes)} nodes, {len(sub.edges)} relationships &middot; attrib</div></header>
<div id="graph"></div>
<div class="legend">{_legend_html(sub)}</div>
<div class="foot">{esc(footnote(sub))}</div>
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
  network.once('afterDrawing', function () {{ network.fit();
    if (network.getScale() > 1.4) {{ network.moveTo({{scale: 1.4}}); }} document.body.setAttribute('data-drawn', '1'); }});
}})();
</script>
</body></html>
"""


def write(job: Job, out: Path) -> list[Path]:
    o = job.options
    out.write_text(render_html(job.sub, title=o.title, tlp=o.tlp, date=o.date), encoding="utf-8")
    return [out]


FORMAT = Format("html", "html", "text/html", "the interactive graph, one offline HTML page", write)
