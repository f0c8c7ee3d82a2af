"""`attrib export`: every format produces a valid file, offline, with data strings escaped."""
from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zipfile

import networkx as nx
import pandas as pd
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from app.cli import main
from app.exports.html import render_html
from app.exports.style import legend_items
from graph.reads.subgraph import incident_subgraph
from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths

XSS = '<img src=x onerror="window.__xss=1">'
RECORDS = f"""
sources:
  - {{key: "src:xss-test", name: "Test <b>source</b>", kind: other, url: "https://example.org/?a=1&b=<2>"}}
actors:
  - key: "actor:xss"
    name: '{XSS}'
    kind: group
    aliases: ['{XSS} alias']
    description: '<script>alert(1)</script> & friends'
incidents:
  - key: "seed:xss-2024"
    name: "XSS probe incident"
    first_seen: "2024-01"
    description: "</script><script>window.__xss=2</script>"
    sources: ["src:xss-test"]
claims:
  - {{incident: "seed:xss-2024", actor: "actor:xss", source: "src:xss-test", stance: disputes,
     confidence: 10, date: "2024-02-01", statement: "<iframe src=javascript:alert(1)>"}}
"""
REMOTE = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                    re.I)
needs_chromium = pytest.mark.usefixtures("chromium")  # fails naming the package if missing


@pytest.fixture(scope="module")
def seeded(session_db, tmp_path_factory):
    schema.reset(session_db)
    records = tmp_path_factory.mktemp("xss") / "xss.yaml"
    records.write_text(RECORDS, encoding="utf-8")
    report = load_paths(session_db, [SEED_DIR, records])
    assert report.ok, report.refused
    return session_db


def _export(tmp_path, fmt, *extra, what=("--incident", "AstraZeneca")):
    out = tmp_path / f"astrazeneca.{fmt}"
    assert main(["export", *what, "--format", fmt, "-o", str(out), "--tlp", "amber", *extra]) == 0
    return out


@pytest.mark.browser
@needs_chromium
def test_png(seeded, cli_env, tmp_path):
    data = _export(tmp_path, "png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1600 and height >= 900


@pytest.mark.browser
@needs_chromium
def test_pdf(seeded, cli_env, tmp_path):
    pdf = _export(tmp_path, "pdf", "--title", "AstraZeneca, Nov 2020")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    reader = PdfReader(pdf)  # parses the whole cross-reference table: a broken file raises
    assert len(reader.pages) == 1
    # Rendered (PDFium, as Chromium draws it): the page is not blank.
    image = pdfium.PdfDocument(pdf)[0].render(scale=30 / 72).to_pil().convert("L")
    low, high = image.getextrema()
    assert high - low > 100, (low, high)
    # The text layer holds each label once, as the SVG does (a white stroke around the glyphs
    # printed each label twice: "UUnited Kingdom nited Kingdom").
    layer = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    svg = _export(tmp_path, "svg", "--title", "AstraZeneca, Nov 2020").read_text(encoding="utf-8")
    drawn = " ".join("".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))
    for label in ("United Kingdom", "North Korea", "Reuters", "AstraZeneca"):
        assert layer.count(label) == drawn.count(label) > 0, (label, layer.count(label), drawn.count(label))


def test_svg(seeded, cli_env, tmp_path):
    svg = _export(tmp_path, "svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for expected in ("AstraZeneca fake-recruiter approach", "TLP:AMBER", "North Korea", "Reuters",
                     "Claim stance", "attributes", "denies", "Sources:"):
        assert expected in text


def test_html_is_offline(seeded, cli_env, tmp_path):
    html = _export(tmp_path, "html").read_text(encoding="utf-8")
    assert "vis.Network" in html and "AstraZeneca" in html
    assert not REMOTE.search(html), REMOTE.search(html).group(0)
    assert "<link" not in html.lower()
    assert "Content-Security-Policy" in html


def test_graphml_loads_back(seeded, cli_env, tmp_path):
    g = nx.read_graphml(_export(tmp_path, "graphml"))
    assert g.nodes["seed:astrazeneca-2020"]["kind"] == "Incident"
    assert g.nodes["state:KP"]["name"] == "North Korea"
    assert any(d["type"] == "STATED_BY" for _, _, d in g.edges(data=True))


def test_csv(seeded, cli_env, tmp_path):
    out = tmp_path / "az.zip"
    assert main(["export", "--incident", "seed:astrazeneca-2020", "--format", "csv", "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["edges.csv", "nodes.csv"]
        nodes = pd.read_csv(z.open("nodes.csv"))
        edges = pd.read_csv(z.open("edges.csv"))
    assert "state:KP" in set(nodes["id"]) and {"source", "target", "type"} <= set(edges.columns)
    assert main(["export", "--incident", "AstraZeneca", "-o", str(tmp_path / "az.csv")]) == 0
    assert (tmp_path / "az.nodes.csv").exists() and (tmp_path / "az.edges.csv").exists()


def test_query_export_and_errors(seeded, cli_env, tmp_path, capsys):
    out = tmp_path / "path.svg"
    assert main(["export", "--query", "shortest_path_actor_victim", "--param", "actor=Lazarus Group",
                 "-o", str(out)]) == 0
    assert "AstraZeneca" in out.read_text(encoding="utf-8")
    assert main(["export", "--incident", "no such incident", "-o", str(tmp_path / "x.svg")]) == 1
    assert "no incident matches" in capsys.readouterr().err
    assert main(["export", "--incident", "Operation", "-o", str(tmp_path / "x.svg")]) == 1
    assert "matches 2 incidents" in capsys.readouterr().err


def test_data_strings_are_escaped(seeded, cli_env, tmp_path):
    html = _export(tmp_path, "html", what=("--incident", "seed:xss-2024")).read_text(encoding="utf-8")
    svg = _export(tmp_path, "svg", what=("--incident", "XSS probe")).read_text(encoding="utf-8")
    for page in (html, svg):
        assert "<img src=x" not in page and "<iframe" not in page and "<b>source" not in page
        assert "window.__xss=2</script>" not in page and "<script>alert" not in page
    assert "\\u0026lt;img src=x onerror=\\u0026quot;window.__xss=1\\u0026quot;\\u0026gt;" in html
    # the SVG parses, and shows the name as text
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert any(XSS[:20] in t for t in texts)
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in svg
    graphml = _export(tmp_path, "graphml", what=("--incident", "XSS probe"))
    assert nx.read_graphml(graphml).nodes["actor:xss"]["name"] == XSS


def test_render_api_for_the_app(seeded):
    sub = incident_subgraph(seeded, "AstraZeneca")
    page = render_html(sub, height_px=500)
    assert page.startswith("<!DOCTYPE html>") and "height: 500px" in page
    assert render_html(sub) == render_html(sub)  # deterministic layout
    kinds = {row["kind"] for row in legend_items(sub)}
    assert {"Incident", "Claim", "Actor", "Source", "attributes", "denies", "disputes"} <= kinds
