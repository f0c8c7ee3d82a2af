"""`attrib extract` over several inputs, offline: every good input drafted, every bad one named on
one line, exit 1, never a traceback; the half-defanged and redacted URLs of issue 23 draft alone and
in a batch."""
from __future__ import annotations

import pytest
import yaml

from app.cli import main

# The four shapes that raised "ValueError: Invalid IPv6 URL" out of the extractor (issue 23), in
# sentences of our own; the value each must give (None: nothing, a redaction is no indicator).
SHAPES = {
    "malicious-domain.txt": ("The dropper was fetched from https://[malicious domain]/path/update.bin in May 2023.",
                             None),
    "redacted-ip.txt": ("The implant beaconed to hxxp://[redacted].67[.]12:222/ every ten minutes in May 2023.",
                        None),
    "half-bracket-domain.txt": ("Victims were sent to a fake page at login.live.]com in May 2023.",
                                {"kind": "domain", "value": "login.live.com"}),
    "half-bracket-ip.txt": ("The operators used 140.]147.]12.]9 as a staging server in May 2023.",
                            {"kind": "ip", "value": "140.147.12.9"}),
}
GOOD = ("Hackers linked to APT99 breached a Polish bank in March 2021 through "
        "hxxps://login-bank[.]com/x.")


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No Neo4j server and no ATT&CK bundle: the command drafts with what the texts say."""
    monkeypatch.setenv("ATTRIB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:9")  # nothing listens on the discard port
    return tmp_path


def run(capsys, *argv) -> tuple[int, dict | None, list[str], str]:
    code = main(["extract", *map(str, argv)])
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in out.err
    return code, (yaml.safe_load(out.out) if out.out.strip() else None), errors, out.err


def write(directory, name: str, text: str):
    path = directory / name
    path.write_text(text + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", SHAPES)
def test_each_shape_alone_gives_a_draft(offline, capsys, name):
    text, expected = SHAPES[name]
    code, doc, errors, err = run(capsys, write(offline, name, text))
    assert (code, errors) == (0, []), err
    [incident] = doc["incidents"]
    infrastructure = incident.get("infrastructure", [])
    assert infrastructure == ([expected] if expected else []), infrastructure


def test_the_shapes_in_one_batch_with_a_good_text_and_two_bad_inputs(offline, capsys):
    paths = [write(offline, name, text) for name, (text, _) in SHAPES.items()]
    good = write(offline, "good.txt", GOOD)
    binary = offline / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    missing = offline / "missing.txt"
    code, doc, errors, err = run(capsys, paths[0], binary, paths[1], good, missing, paths[2], paths[3])
    assert code == 1
    assert len(errors) == 2, err
    assert "binary.bin" in errors[0] and "missing.txt" in errors[1]
    assert len(doc["incidents"]) == 5  # the four shapes and the good text, in input order
    keys = [i["key"] for i in doc["incidents"]]
    assert keys[2].startswith("report:good-") and len(set(keys)) == 5
    assert {"kind": "url", "value": "https://login-bank.com/x"} in doc["incidents"][2]["infrastructure"]
    assert "2 input(s) failed" in err


def test_the_same_text_twice_is_one_draft_and_one_named_error(offline, capsys):
    one = write(offline, "one.txt", GOOD)
    again = write(offline, "one.txt.bak", GOOD)
    code, doc, errors, err = run(capsys, one, again, "--key", "report:x")
    assert code == 0 and len(doc["incidents"]) == 2  # --key: report:x and report:x-2
    code, doc, errors, err = run(capsys, one, write(offline, "one-copy.txt", GOOD))
    assert code == 0  # the file names differ, so do the keys
    stem_again = offline / "sub"
    stem_again.mkdir()
    code, doc, errors, err = run(capsys, one, write(stem_again, "one.txt", GOOD))
    assert code == 1 and len(doc["incidents"]) == 1
    assert len(errors) == 1 and "one.txt" in errors[0] and "the same text twice" in errors[0]


def test_only_bad_inputs_write_nothing(offline, capsys):
    out = offline / "out.yaml"
    code, doc, errors, err = run(capsys, offline / "nope.txt", "-o", out)
    assert code == 1 and doc is None and len(errors) == 1 and not out.exists()
