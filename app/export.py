"""Exports of a subgraph for briefings and other tools.

- svg: the briefing figure drawn directly (vector) by `app.render.render_svg`;
- png, pdf: that same figure in an offline HTML page rendered by headless Chromium
  (PNG at device scale factor 2, PDF as one vector page sized to the figure);
- html: the interactive self-contained page of `app.render.render_html`;
- graphml: networkx MultiDiGraph (list properties joined with "; ");
- csv: nodes and edges (pandas); `-o X.zip` writes one zip with nodes.csv and edges.csv,
  any other name writes X.nodes.csv and X.edges.csv.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import networkx as nx
import pandas as pd

from app import render
from graph.errors import AttribError
from graph.subgraph import Subgraph

FORMATS = ("png", "svg", "pdf", "html", "graphml", "csv")
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
                  "--mute-audio", "--no-default-browser-check"]
PNG_SCALE = 2
CHROMIUM_TIMEOUT_S = 90


class ExportError(AttribError):
    """An export could not be written (no browser, a browser failure, a bad option)."""


def find_chromium() -> str:
    explicit = os.environ.get("ATTRIB_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise ExportError("PNG and PDF exports need Chromium, and none was found",
                      hint="apt-get install chromium (or set ATTRIB_CHROMIUM), or export svg/html instead")


def export(sub: Subgraph, fmt: str, out: str | Path, title: str | None = None, tlp: str | None = None,
           date=None) -> list[Path]:
    """Write `sub` in format `fmt` to `out`; returns the files written."""
    fmt = fmt.lower()
    out = Path(out)
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    try:
        render._tlp_label(tlp)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    if not sub.nodes:
        raise ExportError("nothing to export: the graph is empty",
                          hint="check the incident or query (a query must return nodes, relationships or paths)")
    if out.parent and not out.parent.exists():
        raise ExportError(f"the directory {out.parent} does not exist")
    if fmt == "svg":
        out.write_text(render.render_svg(sub, title=title, tlp=tlp, date=date), encoding="utf-8")
        return [out]
    if fmt == "html":
        out.write_text(render.render_html(sub, title=title, tlp=tlp, date=date), encoding="utf-8")
        return [out]
    if fmt in ("png", "pdf"):
        page, width, height = render.render_print_page(sub, title=title, tlp=tlp, date=date)
        _chromium(page, width, height, out, fmt)
        return [out]
    if fmt == "graphml":
        nx.write_graphml(to_networkx(sub), out)
        return [out]
    return _write_csv(sub, out)


MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "html": "text/html",
              "graphml": "application/xml", "csv": "application/zip"}


def export_bytes(sub: Subgraph, fmt: str, stem: str, title: str | None = None,
                 tlp: str | None = None) -> tuple[bytes, str, str]:
    """One export in memory, for a download button: (data, file name, MIME type). CSV comes
    as a zip of nodes.csv and edges.csv."""
    name = f"{stem}.{'zip' if fmt == 'csv' else fmt}"
    with tempfile.TemporaryDirectory(prefix="attrib-export-") as tmp:
        written = export(sub, fmt, Path(tmp) / name, title=title, tlp=tlp)
        return written[0].read_bytes(), name, MIME_TYPES[fmt]


# -- Chromium -------------------------------------------------------------------------------------
def _chromium(page: str, width: int, height: int, out: Path, fmt: str) -> None:
    exe = find_chromium()
    with tempfile.TemporaryDirectory(prefix="attrib-chromium-") as tmp:
        html_path = Path(tmp) / "figure.html"
        html_path.write_text(page, encoding="utf-8")
        target = Path(tmp) / f"figure.{fmt}"
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
               f"--window-size={width},{height}"]
        if fmt == "png":
            cmd += [f"--force-device-scale-factor={PNG_SCALE}", f"--screenshot={target}"]
        else:
            cmd += ["--no-pdf-header-footer", "--generate-pdf-document-outline", f"--print-to-pdf={target}"]
        cmd.append(html_path.as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S,
                                  cwd=tmp, env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired:
            raise ExportError(f"Chromium did not finish the {fmt} export within {CHROMIUM_TIMEOUT_S} s") from None
        except OSError as exc:
            raise ExportError(f"cannot run Chromium at {exe}: {exc}") from None
        if not target.exists() or target.stat().st_size == 0:
            last = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
            raise ExportError(f"Chromium did not write the {fmt} file (exit {proc.returncode}: {last[0][:200]})")
        shutil.move(str(target), out)


# -- GraphML and CSV ------------------------------------------------------------------------------
def _scalar(value):
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
        attrs = {f"p_{k}": _scalar(v) for k, v in sorted(n.props.items()) if k not in ("key", "name")}
        g.add_node(n.id, kind=n.label, key=n.key or "", name=n.name, **attrs)
    for e in sub.edges:
        g.add_edge(e.source, e.target, key=None, type=e.type,
                   **{f"p_{k}": _scalar(v) for k, v in sorted(e.props.items())})
    return g


def _csv_safe(value):
    """Spreadsheet formula injection: a text cell starting with = + - @ is prefixed with '."""
    value = _scalar(value)
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


def _write_csv(sub: Subgraph, out: Path) -> list[Path]:
    nodes, edges = frames(sub)
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
