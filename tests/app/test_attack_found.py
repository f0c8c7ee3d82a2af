"""One ATT&CK: after `attrib load <ATT&CK file>`, `attrib extract` and the Draft page learn techniques from
the bundle the graph holds, without a flag (its copy kept at load time under the cache), and the
page shows the model's progress only while it works."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from app.cli import main
from graph.settings import load_settings
from graph.store import schema
from graph.store.server import LocalServer
from tests.app.test_pages import ENTRY
from tests.conftest import shared_file

# Our own sentences: an ATT&CK ID and a technique name, which only a technique recogniser reports.
REPORT = ("Operation Quiet Harbour\n\nIn March 2021 the intruders created a scheduled task (T1053.005) on the "
          "servers of a German bank. They ran PowerShell scripts that downloaded a second stage.")


@pytest.fixture(scope="module")
def attack_home(settings, session_db, neo4j_server, tmp_path_factory):
    """The test graph holding ATT&CK Enterprise 15.1 loaded with `attrib load FILE`, and an ATTRIB_HOME
    of its own (no download in its cache: only the load's kept copy can give the model). The models
    directory is the machine's, so the model is built once, not once per run."""
    bundle = shared_file("attack", "enterprise-attack-15.1.json.gz")
    models = load_settings().cache_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("attrib-home")
    (home / "cache").mkdir()
    (home / "cache" / "models").symlink_to(models, target_is_directory=True)
    if settings.external:
        uri, user, password = settings.uri, settings.user, settings.password or ""
    else:
        server = LocalServer(settings)
        uri, user, password = server.status().uri, "neo4j", server.password()
    with pytest.MonkeyPatch.context() as env:
        for name, value in (("ATTRIB_HOME", str(home)), ("NEO4J_URI", uri), ("NEO4J_USER", user),
                            ("NEO4J_PASSWORD", password)):
            env.setenv(name, value)
        schema.reset(session_db)
        assert main(["load", str(bundle)]) == 0
        yield home
    schema.reset(session_db)


def test_extract_without_a_flag_learns_from_the_attack_the_graph_holds(attack_home, capsys, tmp_path):
    kept = [p.name.split("-", 1)[1] for p in (attack_home / "cache" / "attack" / "loaded").iterdir()]
    assert kept == ["enterprise-attack-15.1.json.gz"]
    path = tmp_path / "harbour.txt"
    path.write_text(REPORT)
    code = main(["extract", str(path), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "techniques are not recognised" not in out.err
    selected = {t["value"] for t in json.loads(out.out)["drafts"][0]["techniques"] if t["selected"]}
    assert {"T1053.005", "T1059.001"} <= selected, selected


def test_the_draft_page_too_and_no_spinner_after_the_work(attack_home, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=900)
    at.run()
    at.switch_page("views/draft.py")
    at.run()
    at.text_area(key="draft_text").input(REPORT)
    at.run()
    for _ in range(2):  # the first run loads (or builds) the model, the second takes it from memory
        next(b for b in at.button if b.label == "Draft").click()
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert not at.status, [(s.label, s.state) for s in at.status]
        values = {at.text_input(key=box.key.replace("_use_", "_val_")).value
                  for box in at.checkbox if box.label == "technique" and box.value}
        assert {"T1053.005", "T1059.001"} <= values, values
        assert not any("not recognised" in i.value for i in at.info)
