import pytest

from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def seeded(session_db):
    """The seed story, loaded once for the module (its tests must not write)."""
    schema.reset(session_db)
    report = load_paths(session_db, [SEED_DIR])
    assert report.ok, report.refused
    return session_db
