"""`attrib --help` and argument errors answer at once: they load none of the heavy libraries
(each costs 0.2-1.5 s to import; the commands that need them import them where they are used)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("neo4j", "pandas", "numpy", "sklearn", "pyarrow", "streamlit", "networkx", "yaml", "pypdf", "trafilatura")

PROBE = """
import json, sys
from app.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
print(json.dumps({"status": status, "loaded": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def run(*argv: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "stderr": out.stderr}


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["load", "--help"],
    ["hypotheses", "--help"],
    ["nonsense"],
    ["extract", "report.txt", "--date", "27/11/2020"],
    ["hypotheses", "X", "--as-of", "2020-13"],
    ["export", "--incident", "X", "-o", "x.png", "--tlp", "purple"],
])
def test_help_and_argument_errors_load_no_heavy_library(argv):
    result = run(*argv)
    assert result["loaded"] == [], f"attrib {' '.join(argv)} imported {result['loaded']}"
    assert result["status"] in (0, 2)


def test_a_bad_date_is_refused_before_the_input_is_read():
    result = run("extract", "no-such-report.txt", "--date", "27/11/2020")
    assert result["status"] == 2
    assert "'27/11/2020' is not a date" in result["stderr"] and "no-such-report" not in result["stderr"]


def test_lazy_choices_still_list_and_check_the_formats():
    result = run("export", "--incident", "X", "-o", "x", "--format", "nope")
    assert result["status"] == 2 and "invalid choice: 'nope'" in result["stderr"] and "'navigator'" in result["stderr"]
