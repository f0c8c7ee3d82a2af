"""The README is part of the product: its commands and examples must stay true."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.cli import build_parser
from loaders.records import records_from_document

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def fenced(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    demo, tests = [block.strip() for block in fenced("bash")[:2]]
    assert demo == "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && attrib demo"
    assert tests == "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert tests in ci_lines


def test_every_attrib_command_in_the_readme_exists():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    used = set(re.findall(r"\battrib ([a-z][a-z0-9-]*)", README))
    assert used, "the README names no attrib command"
    assert used <= commands, f"README names commands the CLI lacks: {sorted(used - commands)}"


def test_record_format_example_is_valid():
    examples = [yaml.safe_load(block) for block in fenced("yaml")]
    records = [e for e in examples if isinstance(e, dict) and "incidents" in e]
    assert records, "the README has no record-format example"
    batch = records_from_document(Path("README.md"), records[0])
    labels = {n.label for n in batch.nodes}
    assert {"Source", "Actor", "Incident", "Claim", "Tool", "Technique"} <= labels
