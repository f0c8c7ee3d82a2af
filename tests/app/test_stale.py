"""Issue 27: nothing on screen belongs to an earlier choice (AppTest against the real test graph)."""
from __future__ import annotations

from tests.app.test_pages import app, frames


def test_console_drops_the_result_when_another_saved_query_is_picked(seeded, app_env):
    at = app("views/console.py")
    at.selectbox(key="console_saved").set_value("incident_claims").run()
    at.button(key="console_run").click().run()
    assert "Reuters" in frames(at)[0].to_string()
    at.selectbox(key="console_saved").set_value("denials").run()
    assert not at.exception, [e.message for e in at.exception]
    assert frames(at) == [] and not any("row(s) in" in str(c.value) for c in at.caption)
    at.button(key="console_run").click().run()
    assert frames(at) and "denies" in frames(at)[0].to_string()


def test_compare_and_the_workbench_count_the_same_actors(seeded, app_env):
    """Issue 27: specificity counted 305 actors on the Workbench and 1,297 on Compare."""
    import re

    from graph.reads import explore

    at = app()
    why = frames(at)[3]["why"]
    bases = {int(m.group(1)) for w in why for m in [re.search(r"of (\d+) actors' profiles", str(w))] if m}
    cmp = explore.compare_actors(seeded, ["attack:G0032", "actor:cerium", "attack:G0007"])
    assert bases == {cmp.n_actors}, (bases, cmp.n_actors)
    at.switch_page("views/compare.py")
    at.run()
    assert any(f"the {cmp.n_actors} actors with a profile" in str(c.value) for c in at.caption)
