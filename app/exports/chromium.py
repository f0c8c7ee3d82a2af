"""PNG and PDF: the SVG briefing figure in an offline HTML page rendered by headless Chromium
(PNG at device scale factor 2, PDF as one vector page sized to the figure)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from app.exports.base import ExportError, Format, Job
from app.exports.svg import render_print_page

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
                  "--mute-audio", "--no-default-browser-check"]
PNG_SCALE = 2
CHROMIUM_TIMEOUT_S = 90


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


def _print(page: str, width: int, height: int, out: Path, fmt: str) -> None:
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


def _writer(fmt: str):
    def write(job: Job, out: Path) -> list[Path]:
        o = job.options
        page, width, height = render_print_page(job.sub, title=o.title, tlp=o.tlp, date=o.date)
        _print(page, width, height, out, fmt)
        return [out]
    return write


PNG = Format("png", "png", "image/png", "the briefing figure as PNG (2x), via headless Chromium", _writer("png"))
PDF = Format("pdf", "pdf", "application/pdf", "the briefing figure as one vector PDF page, via headless Chromium",
             _writer("pdf"))
