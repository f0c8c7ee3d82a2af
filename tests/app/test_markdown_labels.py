"""No string from data reaches a Markdown-rendered element unescaped: a record named like a
Markdown image (`![x](http://host/pixel)`) would make every viewer's browser fetch that URL. Every
page is walked (AppTest) after such records were uploaded on the Load page, and every Markdown
field of every element (bodies, labels, help, progress text, link labels) is checked."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_pages import ENTRY, PAGES

PIXEL = "![x](http://127.0.0.1:9/pixel)"
LINK = "[click](javascript:alert(1))"
RECORDS = f"""
sources:
  - {{key: "src:md-test", name: "{PIXEL} news", kind: news, url: "javascript:alert(1)"}}
actors:
  - {{key: "actor:md", name: "{LINK}", kind: group}}
incidents:
  - {{key: "test:md-incident", name: "{PIXEL}", first_seen: "2021-03", sources: ["src:md-test"]}}
claims:
  - {{incident: "test:md-incident", actor: "actor:md", source: "src:md-test", stance: attributes,
     confidence: 40, date: "2021-03-05", statement: "{PIXEL} said so", url: "javascript:alert(2)"}}
"""
# Fields Streamlit renders as Markdown (element bodies and labels; option lists and tables are text).
MARKDOWN_FIELDS = {"body", "label", "help", "text", "caption"}


def markdown_strings(at: AppTest) -> list[str]:
    found = []

    def fields(msg) -> None:
        for fd, value in msg.ListFields():
            if fd.type == fd.TYPE_MESSAGE:
                for v in (value if fd.is_repeated else [value]):
                    fields(v)
            elif fd.name in MARKDOWN_FIELDS and isinstance(value, str):
                found.append(value)

    def walk(node) -> None:
        if getattr(node, "proto", None) is not None:
            fields(node.proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def unescaped(strings: list[str]) -> list[str]:
    return [s for s in strings if "](http" in s or "](javascript" in s]


@pytest.fixture
def uploaded(db, app_env, tmp_path):
    """The Load page after uploading the records (the page the labels were found on)."""
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/load.py").run()
    at.file_uploader(key="load_files").set_value([(f"{PIXEL}.yaml", RECORDS.encode(), "application/yaml")]).run()
    [b for b in at.button if b.label == "Load uploaded files"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_load_page_escapes_names_in_its_links(uploaded):
    strings = markdown_strings(uploaded)
    links = [s for s in strings if "pixel" in s]
    assert links, "the new incident's link is not on the page"  # the walk sees what it checks
    assert unescaped(strings) == []


@pytest.mark.parametrize("page", PAGES)
def test_no_page_renders_data_as_markdown(uploaded, page):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["incident"] = "test:md-incident"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert unescaped(markdown_strings(at)) == []
