"""attrib extract without a database: reading inputs, indicators, victims, claims, the draft's records."""
from __future__ import annotations

import io
import re
import zlib

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.errors import ValidationError
from loaders.records import records_from_document
from loaders.reports import Gazetteer, ReportMeta, draft_report, drafts_yaml, read_report
from loaders.reports.claims import ESTIMATIVE, confidence, reported_content, stance
from loaders.reports.indicators import indicators
from loaders.reports.inputs import MAX_CHARS, read_bytes
from loaders.reports.text import refang, split_sentences
from tests.conftest import html_server

SEED_LIKE = (
    "Suspected North Korean hackers targeted AstraZeneca\n\n"
    "Reuters reported on Friday, citing two sources familiar with the matter, that North Korean hackers were "
    "suspected of trying to break into the systems of British pharmaceutical company AstraZeneca in the past "
    "few weeks. Pyongyang described the allegations as part of Washington's attempts to destroy its image.")

GAZETTEER = Gazetteer.from_rows({
    "tools": [{"key": "attack:S0366", "name": "WannaCry", "external_ids": ["S0366"], "aliases": []},
              {"key": "attack:S0039", "name": "Net", "external_ids": ["S0039"], "aliases": ["net.exe"]}],
    "actors": [{"key": "attack:G0032", "name": "Lazarus Group", "kind": "group", "country": None,
                "external_ids": ["G0032"], "aliases": ["Lazarus Group", "HIDDEN COBRA", "ZINC"]},
               {"key": "state:KP", "name": "North Korea", "kind": "state", "country": "KP",
                "external_ids": [], "aliases": ["North Korea", "DPRK"]}],
    "sources": [{"key": "src:reuters", "name": "Reuters", "kind": "news"},
                {"key": "src:dprk-government", "name": "Government of North Korea (KCNA)", "kind": "government"}],
})


def values(draft, kind, selected=True):
    return [i.value for i in draft.items if i.kind == kind and (i.selected or not selected)]


def loads(draft, tmp_path):
    """The draft's YAML is what to_records says, and the record loader validates it."""
    text = draft.to_yaml()
    doc = yaml.safe_load(text)
    assert doc == draft.to_records()
    path = tmp_path / "draft.yaml"
    path.write_text(text)
    return records_from_document(path, doc)


# -- text, refanging, indicators ---------------------------------------------------------------------
def test_refang_and_defanged_indicators_are_found():
    s = ("The loader called hxxps://evil[.]com/a/b.php and 1.2.3[.]4, mail went to ops[at]bad-domain[.]net, "
         "and the C2 was update(.)example-cdn(.)org.")
    assert "https://evil.com/a/b.php" in refang(s)
    found = {(i.kind, i.value): i.defanged for i in indicators(s)}
    assert found == {("url", "https://evil.com/a/b.php"): True, ("ip", "1.2.3.4"): True,
                     ("email", "ops@bad-domain.net"): True, ("domain", "update.example-cdn.org"): True}


def test_hashes_cves_and_what_is_dropped():
    s = ("The dropper invoice.pdf (MD5 d41d8cd98f00b204e9800998ecf8427e, SHA-256 "
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855) exploited cve-2021-44228, "
         "then contacted 10.0.0.5, 8.8.8.8, www.microsoft.com and reports.vendor.com; see https://github.com/x.")
    found = {(i.kind, i.value) for i in indicators(s, own_domains=frozenset({"vendor.com"}))}
    assert found == {("md5", "d41d8cd98f00b204e9800998ecf8427e"),
                     ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                     ("vulnerability", "CVE-2021-44228"), ("ip", "8.8.8.8")}


def test_a_defanged_benign_domain_counts():
    assert [(i.kind, i.value) for i in indicators("It beaconed to login-microsoft[.]com daily.")] == \
        [("domain", "login-microsoft.com")]


def test_sentences_keep_abbreviations_and_domains_whole():
    text = "The U.S. government said so. Files went to evil.com. Then e.g. this one!\n\nA new paragraph."
    assert [s.text for s in split_sentences(text)] == [
        "The U.S. government said so.", "Files went to evil.com.", "Then e.g. this one!", "A new paragraph."]


# -- victims -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sentence, code", [
    ("The group targeted an Indian defense contractor in March.", "IN"),
    ("Attackers breached South Korean media organizations.", "KR"),
    ("Hackers attacked British pharmaceutical company AstraZeneca.", "GB"),
    ("The campaign targeted government agencies in the United Kingdom.", "GB"),
])
def test_victim_countries_from_names_and_adjectives(sentence, code):
    draft = draft_report(sentence, date="2021-01-01")
    assert values(draft, "country") == [code]


def test_the_attackers_nationality_is_a_claim_not_a_victim():
    draft = draft_report("Russian hackers targeted Ukrainian energy companies.", date="2022-01-10")
    assert values(draft, "country") == ["UA"]
    assert values(draft, "sector") == ["energy"]
    assert [(c.stance, c.actor) for c in draft.claims] == [("attributes", "state:RU")]


def test_organisation_with_its_country_and_sector():
    draft = draft_report(SEED_LIKE, date="2020-11-27", gazetteer=GAZETTEER)
    orgs = [i for i in draft.items if i.kind == "organization" and i.selected]
    assert [(o.value, o.extra.get("country"), o.extra.get("sector")) for o in orgs] == \
        [("AstraZeneca", "GB", "pharmaceuticals")]
    assert "British pharmaceutical company AstraZeneca" in orgs[0].sentence


# -- claims: stance, confidence, parties ------------------------------------------------------------
@pytest.mark.parametrize("sentence, expected", [
    ("Mandiant attributed the intrusion to APT41.", "attributes"),
    ("The activity is linked to Lazarus Group.", "attributes"),
    ("Moscow denied any involvement.", "denies"),
    ("The ministry rejected the accusations.", "denies"),
    ("Pyongyang described the allegations as slander.", "denies"),
    ("Other researchers disputed the attribution.", "disputes"),
    ("The weather was fine.", None),
])
def test_stance(sentence, expected):
    assert stance(sentence) == expected


@pytest.mark.parametrize("sentence, value", [
    ("We assess with high confidence that APT28 was behind it.", 85),
    ("It was almost certainly the work of Sandworm.", 97),   # ICD 203 "almost certain": 95-99 %
    ("This is likely linked to Turla.", 68),                 # "likely": 55-80 %
    ("This is unlikely to be Turla.", 32),                   # "unlikely": 20-45 %
    ("With moderate confidence we link it to APT29.", 50),
    ("It is possibly connected to FIN7.", 30),
    ("Microsoft attributed it to ZINC.", 60),
])
def test_confidence_from_estimative_language(sentence, value):
    assert confidence(sentence, "attributes") == value


def test_estimative_table_puts_longer_phrases_first():
    phrases = [p for p, _ in ESTIMATIVE]
    for i, p in enumerate(phrases):
        for q in phrases[i + 1:]:
            assert p not in q, f"'{q}' contains '{p}' but comes after it: it could never match"


def test_seed_like_claims_resolve_through_the_gazetteer(tmp_path):
    draft = draft_report(SEED_LIKE, date="2020-11-27", source="Reuters", gazetteer=GAZETTEER)
    selected = [(c.source, c.stance, c.actor, c.confidence) for c in draft.claims if c.selected]
    assert selected == [("src:reuters", "attributes", "state:KP", 50),
                        ("src:dprk-government", "denies", "state:KP", 80)]
    assert draft.new_actors == {} and draft.new_sources == {}  # all known: referenced, not redefined
    batch = loads(draft, tmp_path)
    assert {r.type for r in batch.rels} >= {"ABOUT", "NAMES", "STATED_BY", "TARGETED"}


def test_unknown_names_become_new_actors_and_sources(tmp_path):
    draft = draft_report("Mandiant said the intrusions were carried out by UNC2452 in 2020.", date="2021-01-05")
    assert [(c.source, c.actor) for c in draft.claims] == [("src:mandiant", "actor:unc2452")]
    records = draft.to_records()
    assert {"key": "actor:unc2452", "name": "UNC2452", "kind": "group"} in records["actors"]
    assert any(s["key"] == "src:mandiant" for s in records["sources"])
    loads(draft, tmp_path)


def test_masked_names_are_absent_and_actors_are_never_evidence():
    text = ("[PLACEHOLDER] has used the [PLACEHOLDER] backdoor and WannaCry ransomware. "
            "The attack was attributed to [PLACEHOLDER]. Lazarus Group used spearphishing.")
    draft = draft_report(text, gazetteer=GAZETTEER)
    assert values(draft, "tool") == ["S0366"]
    assert not any("PLACEHOLDER" in c.actor.upper() for c in draft.claims)
    assert all(i.value not in ("attack:G0032", "Lazarus Group") for i in draft.items)


def test_tools_known_and_new():
    text = ("The operators deployed a new backdoor called DarkPulse and the WannaCry ransomware, "
            "then ran the net command; the net result was nil.")
    draft = draft_report(text, gazetteer=GAZETTEER)
    assert values(draft, "tool") == ["S0366", "S0039", "DarkPulse"]


# -- inputs -----------------------------------------------------------------------------------------
HTML = """<!DOCTYPE html><html><head><title>Hackers hit a bank</title>
<meta property="og:site_name" content="Example News"><script>var nav = "Home Sport Weather";</script>
</head><body><nav><ul><li>Home</li><li>Sport</li><li>Weather</li></ul></nav>
<article><h1>Hackers hit a bank</h1><p>North Korean hackers breached a Bangladeshi bank in February and
moved the money through accounts in the Philippines, investigators said on Monday.</p>
<p>The attackers used a custom backdoor called Nestegg and contacted 203.0.113.7 and files-update[.]com.</p>
</article><footer>Cookie settings | Subscribe to our newsletter</footer>
<script>document.write("tracking pixel")</script></body></html>"""


def test_html_gives_the_article_not_menus_or_scripts():
    text, meta = read_bytes(HTML.encode(), "page.html", suffix=".html")
    assert "North Korean hackers breached" in text
    for noise in ("Sport", "tracking pixel", "var nav", "Cookie settings"):
        assert noise not in text
    assert meta.title == "Hackers hit a bank" and meta.kind == "html"
    draft = draft_report(text, meta=meta)
    assert "BD" in values(draft, "country")
    assert "domain:files-update.com" in values(draft, "infrastructure")
    assert "Nestegg" in values(draft, "tool")


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a text layer, written by hand (objects, xref table, trailer)."""
    content = "BT /F1 11 Tf 50 750 Td 14 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines) + " ET"
    stream = zlib.compress(content.encode("latin-1"))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Title (Operation Test) /Author (Example Vendor) /CreationDate (D:20210304120000Z) >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_pdf_text_layer_and_metadata(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(minimal_pdf(["Operation Test", "The group targeted Japanese government agencies",
                                  "with a loader called QuietStep in February 2021."]))
    pages = []
    text, meta = read_report(str(path), progress=pages.append)
    assert "Japanese government agencies" in text and pages == ["reading PDF page 1/1"]
    assert (meta.title, meta.publisher, meta.date, meta.kind) == ("Operation Test", "Example Vendor",
                                                                 "2021-03-04", "pdf")
    draft = draft_report(text, meta=meta)
    assert re.fullmatch(r"report:report-[0-9a-f]{8}", draft.key) and draft.name == "Operation Test"
    assert values(draft, "country") == ["JP"] and "QuietStep" in values(draft, "tool")
    assert draft.first_seen == "2021-02" and draft.source == "src:example-vendor"


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"   \n\n  ", "is empty"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 20, "binary file"),
    (b"%PDF-1.4\nthis is not really a pdf", "cannot read the PDF"),
])
def test_bad_inputs_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "input.bin"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as info:
        read_report(str(path))
    assert message in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ValidationError, match="file not found"):
        read_report(str(tmp_path / "nope.txt"))
    with pytest.raises(ValidationError, match="is a directory"):
        read_report(str(tmp_path))


def test_ten_megabytes_of_text_is_refused_clearly(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text(("Hackers targeted a bank in Brazil. " * 30 + "\n\n") * 10_000)
    assert path.stat().st_size > 10_000_000
    with pytest.raises(ValidationError) as info:
        read_report(str(path))
    assert f"at most {MAX_CHARS / 1e6:.0f} million" in str(info.value) and info.value.hint


def test_bare_text_gives_a_loadable_draft_with_the_file_as_source(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\nAttackers used [a site](hxxp://bad[.]example[.]org/x) against Canadian banks.\n")
    text, meta = read_report(str(path))
    draft = draft_report(text, meta=meta)
    assert draft.source == "src:notes-md"
    assert re.fullmatch(r"report:notes-[0-9a-f]{8}", draft.key)
    assert "url:http://bad.example.org/x" in values(draft, "infrastructure")
    batch = loads(draft, tmp_path)
    assert any(n.label == "Source" and n.props["kind"] == "other" for n in batch.nodes)


def test_stdin_and_several_drafts_in_one_file(tmp_path):
    text, meta = read_report("-", stdin=io.BytesIO(SEED_LIKE.encode()))
    assert meta.name == "stdin"
    one = draft_report(text, meta=meta, gazetteer=GAZETTEER, date="2020-11-27")
    two = draft_report("Iranian hackers targeted Israeli shipping firms.", key="report:two", date="2021-05-01",
                       gazetteer=GAZETTEER)
    doc = yaml.safe_load(drafts_yaml([one, two]))
    assert [i["key"] for i in doc["incidents"]] == [one.key, "report:two"]
    path = tmp_path / "both.yaml"
    path.write_text(drafts_yaml([one, two]))
    records_from_document(path, doc)


def test_json_lists_techniques_best_first_with_sentences():
    class Recognizer:  # the TechniqueRecognizer interface: predict(sentences, threshold) -> hits, best first
        threshold = 0.3

        def predict(self, sentences, threshold=None):
            from loaders.reports.techniques import TechniqueHit

            assert sentences[1].startswith("Pyongyang")
            hits = [TechniqueHit("T1566.003", "Phishing: Spearphishing via Service", 0.8, sentences[0], "model"),
                    TechniqueHit("T1485", "Data Destruction", 0.4, sentences[1], "model"),
                    TechniqueHit("T1204.002", "User Execution: Malicious File", 0.9, sentences[0], "model"),
                    TechniqueHit("T1585.001", "Establish Accounts: Social Media Accounts", 0.25, sentences[0],
                                 "model"),
                    TechniqueHit("T1059", "Command and Scripting Interpreter", 0.1, sentences[0], "model")]
            return [h for h in hits if h.score >= (self.threshold if threshold is None else threshold)]

    draft = draft_report(SEED_LIKE, recognizer=Recognizer(), date="2020-11-27")
    out = draft.to_json()
    # T1585.001 is below the threshold but above SUGGEST_AT: listed unticked; T1059 not at all
    assert [t["value"] for t in out["techniques"]] == ["T1204.002", "T1566.003", "T1485", "T1585.001"]
    assert [t["selected"] for t in out["techniques"]] == [True, True, False, False]  # a denial describes no activity
    assert "suggestion" in out["techniques"][3]["method"]
    assert all(t["sentence"] and t["score"] for t in out["techniques"])
    assert out["records"]["incidents"][0]["techniques"] == ["T1204.002", "T1566.003"]


@pytest.mark.parametrize("sentence, content", [
    ("The source said: Hackers posed as recruiters on LinkedIn.", "Hackers posed as recruiters on LinkedIn."),
    ("According to two people familiar with the matter, the hackers used WhatsApp.", "the hackers used WhatsApp."),
    ("Microsoft said earlier this month that it had seen phishing e-mails.", "it had seen phishing e-mails."),
    ("[PLACEHOLDER] has used a tool that reports the system time to its C2.",
     "[PLACEHOLDER] has used a tool that reports the system time to its C2."),
    ("Then they sent documents with macros.", "Then they sent documents with macros."),
    ("Kaspersky said:", "Kaspersky said:"),  # nothing but a frame: kept whole
])
def test_the_reporting_frame_is_not_what_happened(sentence, content):
    assert reported_content(sentence) == content


def test_techniques_are_read_without_the_reporting_frame_and_shown_with_it():
    seen = []

    class Recognizer:  # the TechniqueRecognizer interface
        threshold = 0.5

        def predict(self, sentences, threshold=None):
            from loaders.reports.techniques import TechniqueHit

            seen.extend(sentences)
            return [TechniqueHit("T1566.003", "Phishing: Spearphishing via Service", 0.7, s, "model")
                    for s in sentences if "LinkedIn" in s]

    text = ("Hackers targeted a bank\n\nThe source said: Hackers posed as recruiters on LinkedIn "
            "and sent fake job offers.")
    draft = draft_report(text, recognizer=Recognizer(), date="2021-02-03")
    assert "Hackers posed as recruiters on LinkedIn and sent fake job offers." in seen
    assert not any(s.startswith("The source said") for s in seen)
    [technique] = draft.to_json()["techniques"]
    assert technique["sentence"].startswith("The source said: Hackers posed")
    assert technique["selected"]


def test_draft_without_any_date_is_still_loadable(tmp_path):
    draft = draft_report("Attackers compromised a Dutch university.", meta=ReportMeta(name="x.txt", stem="x"))
    assert draft.first_seen and draft.notes
    loads(draft, tmp_path)


def test_the_docs_print_the_estimative_table_as_the_code_has_it():
    from tests.unit.test_docs import DOCS

    rows = [(m.group(1), int(m.group(2))) for m in re.finditer(r"^\| ([a-z ]+) \| (\d+) \|$", DOCS["reports.md"], re.M)]
    assert rows == ESTIMATIVE


def test_a_cve_is_vulnerability_infrastructure_the_loader_takes(tmp_path):
    draft = draft_report("The attackers exploited CVE-2023-23397 against Polish government agencies.",
                         date="2023-03-15")
    assert "vulnerability:CVE-2023-23397" in values(draft, "infrastructure")
    batch = loads(draft, tmp_path)
    assert any(n.key == "vulnerability:CVE-2023-23397" for n in batch.nodes if n.label == "Infrastructure")


def test_a_galaxy_tool_is_referenced_by_its_own_key(tmp_path):
    gazetteer = Gazetteer.from_rows({"tools": [{"key": "misp:0a1b", "name": "Dtrack", "external_ids": [],
                                                "aliases": ["Dtrack", "Preft"]}]})
    draft = draft_report("The intruders installed the Preft backdoor on the servers.", gazetteer=gazetteer,
                         date="2019-10-30")
    assert draft.to_records()["incidents"][0]["tools"] == [{"key": "misp:0a1b", "name": "Dtrack"}]
    batch = loads(draft, tmp_path)
    assert any(r.type == "USED" and r.end_key == "misp:0a1b" for r in batch.rels)


@pytest.mark.parametrize("name, content", [
    ("empty.txt", b""),
    ("binary.bin", bytes(range(256)) * 64),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"),
    ("scripts.html", b"<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>"),
])
def test_the_command_gives_one_clear_error_never_a_traceback(tmp_path, monkeypatch, capsys, name, content):
    from app.cli import main

    monkeypatch.setenv("ATTRIB_HOME", str(tmp_path / "home"))  # no server, no ATT&CK bundle: offline
    for var in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["extract", str(path)]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and name in errors[0] and "Traceback" not in err


def test_the_command_drafts_defanged_text_offline(tmp_path, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("ATTRIB_HOME", str(tmp_path / "home"))
    for var in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "iocs.txt"
    path.write_text("The implant beaconed to hxxp://cdn-update[.]info/gate.php from 45.77.12[.]9.\n")
    out = tmp_path / "out.yaml"
    assert main(["extract", str(path), "--date", "2024-05-01", "-o", str(out)]) == 0
    infra = yaml.safe_load(out.read_text())["incidents"][0]["infrastructure"]
    assert {"kind": "url", "value": "http://cdn-update.info/gate.php"} in infra
    assert {"kind": "ip", "value": "45.77.12.9"} in infra
    assert "no Neo4j server answers" in capsys.readouterr().err


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8")))
def test_any_bytes_give_a_draft_or_a_validation_error(data):
    try:
        text, meta = read_bytes(data, "fuzz.txt")
    except ValidationError:
        return
    draft = draft_report(text, meta=meta)
    yaml.safe_load(draft.to_yaml())


def test_a_url_is_read_through_the_download_cache(tmp_path):
    with html_server(HTML) as base:
        url = f"{base}/news/bank-hack.html"
        text, meta = read_report(url, cache_dir=tmp_path)
    assert "Bangladeshi bank" in text and meta.url == url
    assert list((tmp_path / "reports").glob("*bank-hack.html"))  # cached beside the ATT&CK downloads
    text_again, _ = read_report(url, cache_dir=tmp_path)  # server gone: the cached copy ("stale")
    assert text_again == text


@pytest.mark.parametrize("speaker, anonymous", [
    ("two sources familiar with the matter", True), ("The source", True), ("people", True),
    ("Microsoft researchers", False), ("US officials", False), ("Mandiant", False),
])
def test_who_is_an_anonymous_speaker(speaker, anonymous):
    from loaders.reports.parties import classify

    party = classify(speaker)
    assert (party is None or party.kind == "anonymous") is anonymous


# -- claims v2, victims v2, names v2 (issue 23; sentences written for these tests) --------------------------
NEWS_GAZETTEER = Gazetteer.from_rows({
    "tools": [{"key": "attack:S0154", "name": "Cobalt Strike", "external_ids": ["S0154"], "aliases": []},
              {"key": "attack:S9001", "name": "Milan", "external_ids": ["S9001"], "aliases": ["James"]},
              {"key": "misp:aaaa", "name": "August", "aliases": []},
              {"key": "misp:bbbb", "name": "Payload", "aliases": []},
              {"key": "attack:S0368", "name": "NotPetya", "external_ids": ["S0368"], "aliases": []}],
    "actors": [{"key": "attack:G0080", "name": "Cobalt Group", "kind": "group", "country": None,
                "external_ids": ["G0080"], "aliases": ["Cobalt"]},
               {"key": "attack:G0032", "name": "Lazarus Group", "kind": "group", "country": "KP",
                "external_ids": ["G0032"], "aliases": ["Lazarus"]},
               {"key": "misp:cccc", "name": "Quiet Kitten", "kind": "group", "country": None, "aliases": ["Harbor"]}],
    "sources": []})


def claims_of(text, date="2023-05-10", selected=True, **kw):
    draft = draft_report(text, date=date, source="Example Wire", gazetteer=NEWS_GAZETTEER, **kw)
    return draft, [(c.stance, c.actor, c.source) for c in draft.claims if c.selected or not selected]


@pytest.mark.parametrize("sentence, actor, source", [
    ("The FBI on Tuesday formally accused the Iranian government of the intrusion at the dam.", "state:IR", "src:fbi"),
    ("Canada's foreign ministry publicly blamed Russia for the outage at the port.", "state:RU",
     "src:government-of-canada"),
    ("Prosecutors in Norway said the Chinese government was responsible for the breach.", "state:CN",
     "src:government-of-norway"),
    ("The Treasury confirmed that Lazarus Group is responsible for the theft.", "attack:G0032", "src:treasury"),
    ("The breach was attributed to Lazarus by the NCSC.", "attack:G0032", "src:ncsc"),
    ("Investigators said officials in Pyongyang were behind the theft.", "state:KP", "src:example-wire"),
    ("Acme Security held Iran's Revolutionary Guards responsible for the intrusion.", "state:IR", "src:acme-security"),
])
def test_accusing_verbs_in_all_forms_with_the_speaker_resolved(sentence, actor, source):
    _, claims = claims_of(sentence)
    assert ("attributes", actor, source) in claims, claims


def test_the_speaker_is_the_party_named_earlier():
    text = ("The attack on the water utility was discussed by the FBI on Monday. "
            "\"We have concluded that the North Korean government is responsible for the attack,\" the agency said. "
            "Norway's Justice Minister Kari Nordmann spoke later. Nordmann said Russia was behind the attack.")
    _, claims = claims_of(text)
    assert ("attributes", "state:KP", "src:fbi") in claims
    assert ("attributes", "state:RU", "src:government-of-norway") in claims


def test_a_quotation_over_several_sentences_has_one_speaker():
    text = ("\"Our analysts traced the servers. We now know that Lazarus Group carried out the theft. "
            "We will act,\" the Treasury said in a statement.")
    _, claims = claims_of(text)
    assert ("attributes", "attack:G0032", "src:treasury") in claims


def test_a_false_flag_is_never_an_attribution_to_the_impersonated():
    text = ("Investigators said the Russian hackers posed as Iranian activists to make it appear as if "
            "Iran had carried out the attack on the broadcaster.")
    draft, claims = claims_of(text)
    assert ("attributes", "state:RU", "src:example-wire") in claims
    assert not any(actor == "state:IR" for _, actor, _ in claims)
    flagged = [c for c in draft.claims if c.actor == "state:IR"]
    assert flagged and all(not c.selected and "false flag" in c.note and c.stance != "attributes" for c in flagged)


def test_accusing_the_accuser_of_fabrication_is_a_denial():
    text = ("Denmark's intelligence service blamed China for the intrusion at the shipyard. "
            "Beijing accused Denmark of fabricating the story to smear China.")
    _, claims = claims_of(text)
    assert ("denies", "state:CN", "src:government-of-china") in claims
    assert not any(actor == "state:DK" for _, actor, _ in claims)


def test_a_denial_is_linked_to_the_accusation_in_another_sentence():
    text = ("Estonia's government blamed Russia for the outage at the bank. "
            "Several weeks passed without a word from anyone. "
            "The Kremlin flatly rejected the accusation on Friday.")
    draft, claims = claims_of(text)
    assert ("denies", "state:RU", "src:kremlin") in claims
    denial = next(c for c in draft.claims if c.stance == "denies")
    assert denial.answers.startswith("Estonia's government blamed Russia")


def test_a_denial_answers_an_accusation_of_its_state_or_of_a_group_of_that_state():
    _, claims = claims_of("The Kremlin flatly rejected the accusation on Friday.")
    assert claims == []  # nothing here accuses Russia: the denial is not selected
    _, claims = claims_of("Investigators linked the theft to Lazarus Group. Pyongyang denied any role in it.")
    assert ("denies", "state:KP", "src:government-of-north-korea") in claims


def test_claims_about_other_incidents_are_not_selected():
    text = ("Estonia's government blamed Russia for the outage at the bank. "
            "Lazarus Group was previously thought to be behind thefts from banks in Asia.")
    draft, claims = claims_of(text)
    assert not any(actor == "attack:G0032" for _, actor, _ in claims)
    assert any(c.actor == "attack:G0032" and not c.selected and c.note for c in draft.claims)


def test_the_background_date_rule_never_unticks_the_subject_incident():
    text = ("Britain blames Russia for NotPetya\n\n"
            "The UK government on Thursday accused Russia's military of being behind the NotPetya attack of 2017.")
    _, claims = claims_of(text, date="2021-02-15")
    assert ("attributes", "state:RU", "src:government-of-united-kingdom") in claims


def test_negated_and_open_accusations_are_no_claims():
    _, claims = claims_of("Officials stopped short of accusing Iran of the attack on the dam.")
    assert claims == []
    _, claims = claims_of("Officials refused to confirm whether Iran was responsible for the attack on the dam.")
    assert claims == []


@pytest.mark.parametrize("sentence, expected", [
    ("NCSC assessed it is almost certain that Lazarus Group did this.", ("almost certain", [95, 99], None)),
    ("We assess with moderate confidence that it is likely Lazarus Group.", ("likely", [55, 80], "moderate")),
    ("We assess with high confidence that Lazarus Group was behind it.", (None, None, "high")),
    ("There is a remote chance that Lazarus Group was involved.", ("remote", [1, 5], None)),
])
def test_likelihood_and_confidence_level_are_kept_apart(sentence, expected):
    from loaders.reports.claims import estimate

    got = estimate(sentence, "attributes").to_json()
    assert (got.get("likelihood", {}).get("term"), got.get("likelihood", {}).get("range"),
            got.get("confidence_level")) == expected


def test_the_accused_state_is_never_a_victim():
    draft = draft_report("The FBI blamed the North Korean government for the attack on a Japanese bank.",
                         date="2023-01-02")
    assert values(draft, "country") == ["JP"]


@pytest.mark.parametrize("text", [
    "It was quiet. In the end, nobody came. No one knew. To be fair, Is that so? By then it was late.",
    "Defendants Li Wei and Xu Ke were charged in the hacking of the bank.",
])
def test_function_words_and_person_names_are_no_countries(text):
    draft = draft_report(text, date="2023-01-02")
    assert values(draft, "country", selected=False) == []


def test_named_victim_organisations_with_country_and_not_investigators_or_products():
    text = ("The breach of the Federal Office of Statistics was blamed on Russian hackers. "
            "Mandiant researchers said the intruders used Exchange servers. "
            "Northwind Bank, Contoso and Fabrikam Energy are among the companies whose networks were breached. "
            "The Norwegian parliament's email systems were hacked.")
    draft = draft_report(text, date="2023-01-02", gazetteer=NEWS_GAZETTEER)
    orgs = values(draft, "organization")
    assert {"Federal Office of Statistics", "Northwind Bank", "Contoso", "Fabrikam Energy"} <= set(orgs)
    assert not {"Mandiant", "Exchange", "Exchange Server"} & set(orgs)
    assert "NO" in values(draft, "country")


@pytest.mark.parametrize("text", [
    "By James Pearson. A film starring James Franco opened on Friday.",
    "The group has been active since August 2024.",
    "The report describes the Payload in detail.",
])
def test_person_names_months_and_common_words_are_no_tools(text):
    draft = draft_report(text, date="2025-01-02", gazetteer=NEWS_GAZETTEER)
    assert values(draft, "tool", selected=False) == []


def test_a_tool_with_a_cue_is_still_found_and_its_name_makes_no_group_claim():
    text = "The attack on the bank was attributed to Lazarus Group, which deployed Cobalt Strike and a Payload dropper."
    draft, claims = claims_of(text)
    assert {"S0154", "Payload"} <= set(values(draft, "tool"))
    assert ("attributes", "attack:G0032", "src:example-wire") in claims
    assert not any(c.actor == "attack:G0080" for c in draft.claims)


def test_an_everyday_alias_names_a_group_only_as_a_group():
    draft, _ = claims_of("The ship entered Harbor at noon, officials said, after the attack was linked to it.")
    assert not any(c.actor == "misp:cccc" for c in draft.claims)
    _, claims = claims_of("Investigators linked the attack to the Harbor group.")
    assert ("attributes", "misp:cccc", "src:example-wire") in claims


def test_victim_countries_in_lists_and_as_objects_but_never_a_speakers():
    text = ("The UK Foreign Secretary said on Monday that the intruders stole data on citizens of Denmark, "
            "Finland and Sweden, and that the campaign sought to destabilise Estonia.")
    draft = draft_report(text, date="2023-01-02")
    assert sorted(values(draft, "country")) == ["DK", "EE", "FI", "SE"]


def test_the_year_rule_never_unticks_the_text_s_own_incident():
    text = ("Prosecutors charge four over Northwind breach\n\n"
            "Four men were charged on Monday with the 2019 Northwind breach, which exposed data of Danish "
            "customers of Northwind Bank.")
    draft = draft_report(text, date="2023-03-01")
    assert "DK" in values(draft, "country") and "Northwind" in values(draft, "organization")


def test_incident_dates_skip_a_tool_s_history():
    draft = draft_report("The backdoor has been active since 2020. The intrusion at the ministry began in March 2021 "
                         "and lasted until May 2021.", date="2021-06-01")
    assert (draft.first_seen, draft.last_seen) == ("2021-03", "2021-05")


def test_an_organisation_keeps_the_country_named_before_it():
    draft = draft_report("Hackers breached the U.S. Office of Naval Archives last week.", date="2023-01-02")
    orgs = [(i.value, i.extra.get("country")) for i in draft.items if i.kind == "organization" and i.selected]
    assert orgs == [("Office of Naval Archives", "US")]


def test_the_claim_record_carries_the_likelihood_and_the_confidence_level(tmp_path):
    draft, _ = claims_of("The NCSC said with moderate confidence that Lazarus Group was very likely behind the theft.")
    record = draft.to_records()["claims"][0]
    assert (record["likelihood"], record["confidence_level"], record["confidence"]) == ("very likely", "moderate", 88)
    loads(draft, tmp_path)


def test_a_ransomware_gang_goes_by_its_ransomware_s_name():
    _, claims = claims_of("The FBI confirms that the Blackwater ransomware is responsible for the pipeline outage.")
    assert ("attributes", "actor:blackwater", "src:fbi") in claims


def test_persons_charged_by_name_are_person_actors():
    draft, claims = claims_of("Defendants Wu Ping, Li Qiang and Zhao Lei were indicted on Monday for the theft.")
    assert {actor for _, actor, _ in claims} == {"actor:wu-ping", "actor:li-qiang", "actor:zhao-lei"}
    assert draft.new_actors["actor:li-qiang"]["kind"] == "person"


def test_platforms_are_no_victims_and_claimed_identities_no_attributions():
    draft, claims = claims_of("The intruders compromised Active Directory and kept targeting Windows users at the "
                              "port. They claimed to represent Lazarus Group in a ransom note.")
    assert values(draft, "organization", selected=False) == []
    assert not any(actor == "attack:G0032" for _, actor, _ in claims)


def test_in_the_past_few_weeks_is_this_incident_and_every_denier_counts():
    from loaders.reports.dates import about_other_incident

    assert not about_other_incident("Hackers tried to break into the bank in the past few weeks.", "2020-11-27",
                                    frozenset())
    assert about_other_incident("Hackers tried to break into banks in the past.", "2020-11-27", frozenset())
    _, claims = claims_of("Hackers from Iran, China and Russia attacked the port. "
                          "Tehran, Beijing and Moscow have denied the accusations.")
    assert {actor for stance, actor, _ in claims if stance == "denies"} == {"state:IR", "state:CN", "state:RU"}
