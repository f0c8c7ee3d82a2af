"""The README and the manual (docs/) are part of the product: their commands and examples must stay true."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import yaml

from app.cli import build_parser
from loaders.records import records_from_document

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
PAGES = sorted((REPO / "docs").glob("*.md"))
DOCS = {p.name: p.read_text(encoding="utf-8") for p in PAGES}
EVERYTHING = README + "\n".join(DOCS.values())


def fenced(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    demo, tests = [block.strip() for block in fenced("bash")[:2]]
    assert demo == "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && attrib demo"
    assert tests == "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert tests in ci_lines


def test_the_readme_is_short_and_maps_every_page_of_the_manual():
    assert len(README.splitlines()) < 250
    linked = set(re.findall(r"\]\(docs/([a-z0-9-]+\.md)\)", README))
    assert PAGES and linked == set(DOCS), f"pages not in the README's map: {sorted(set(DOCS) - linked)}"
    for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (REPO / picture).is_file(), picture


def test_every_attrib_command_in_the_docs_exists():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    used = set(re.findall(r"\battrib ([a-z][a-z0-9-]*)", EVERYTHING))
    assert used, "the docs name no attrib command"
    assert used <= commands, f"the docs name commands the CLI lacks: {sorted(used - commands)}"


def attrib_lines() -> list[tuple[str, str]]:
    """(page, command) for every `attrib ...` line of a bash block in the README and docs/."""
    found = []
    for name, text in [("README.md", README), *DOCS.items()]:
        for block in fenced("bash", text) + fenced("", text):
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                line = re.sub(r"^.*?&& (?=attrib )", "", line)  # `eval "$(...)"`, `cd x && attrib ...`
                if line.startswith("attrib ") and "$(" not in line and "|" not in line:
                    found.append((name, line))
    return found


@pytest.mark.parametrize("page,command", attrib_lines())
def test_every_attrib_example_parses(page, command):
    """Every command line the docs show is one the CLI takes (argument names, choices, dates)."""
    argv = shlex.split(command)[1:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{page}: `{command}` is refused by the CLI (exit {exc.code})")


def test_every_yaml_example_in_the_docs_parses():
    blocks = [b for text in DOCS.values() for b in fenced("yaml", text)]
    assert blocks
    for block in blocks:
        yaml.safe_load(block)


def test_record_format_example_is_valid():
    examples = [yaml.safe_load(block) for block in fenced("yaml", DOCS["records.md"])]
    records = [e for e in examples if isinstance(e, dict) and "incidents" in e]
    assert records, "the README has no record-format example"
    batch = records_from_document(Path("README.md"), records[0])
    labels = {n.label for n in batch.nodes}
    assert {"Source", "Actor", "Incident", "Claim", "Tool", "Technique"} <= labels
