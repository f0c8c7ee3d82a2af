"""The attribution engine against a real Neo4j: the seed story and small record files."""
from __future__ import annotations

import json
import textwrap

import pytest

from app.cli import main
from graph.analysis import engine, scoring
from graph.errors import NotFound
from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths

AZ = "seed:astrazeneca-2020"


def load(db, *paths) -> None:
    report = load_paths(db, list(paths))
    assert report.ok, report.refused


def load_text(db, path, text: str) -> None:
    """Write a record file's text to `path` and load it."""
    path.write_text(text)
    load(db, path)


@pytest.fixture(scope="module")
def seed_db(session_db):
    schema.reset(session_db)
    engine.clear_cache()
    load(session_db, SEED_DIR)
    yield session_db
    engine.clear_cache()


def cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main(list(argv) + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


# -- the seed story --------------------------------------------------------------------------------------
def test_blind_ranks_a_north_korean_group_first(seed_db):
    result = engine.hypotheses(seed_db, "AstraZeneca", blind=True)
    snap = engine.snapshot(seed_db)
    top = result.ranking[0]
    assert top.actor.key == "attack:G0032"                       # Lazarus Group (ZINC)
    assert "KP" in snap.actors[top.actor.key].sponsors
    assert "ZINC" in top.actor.aliases
    assert top.score > result.ranking[1].score


def test_a_member_and_a_sponsor_are_weighed_through_the_group_not_as_rivals(seed_db, cli_env, capsys):
    """WannaCry: Park Jin Hyok (a member of Lazarus Group per the DOJ) and North Korea (its sponsor)
    are shown with the group, not ranked against it; claims naming either count for the group."""
    for blind in (True, False):
        result = engine.hypotheses(seed_db, "seed:wannacry-2017", blind=blind)
        top = result.ranking[0]
        assert top.actor.key == "attack:G0032", (blind, result.ranking[:3])
        assert result.get("actor:park-jin-hyok") is None and result.get("state:KP") is None
        assert top.actor.label == "Lazarus Group - incl. Park Jin Hyok, sponsored by North Korea"
        wannacry = top.contribution("attack:S0366")
        # the tool is known only from Park's own record: his evidence counts for the group, held by one candidate
        assert wannacry.matched and wannacry.detail.startswith("in 1 of ")
    claims = {c.name.split(" attributes it to ")[-1].split(" (")[0] for c in top.items if c.kind == "claim"}
    assert {"Lazarus Group", "Park Jin Hyok"} <= claims
    x = engine.explain(seed_db, "seed:wannacry-2017", actor="Park Jin Hyok")
    doj = next(a for a in x.assessments if a.actor.key == "actor:park-jin-hyok")
    assert doj.represented_by[0].actor.key == "attack:G0032"
    overlap = next(p.text for p in doj.supports if p.kind == "overlap" and "WannaCry" in p.text)
    assert "recorded on Park Jin Hyok (actor:park-jin-hyok, a member per src:us-doj)" in overlap
    shown = cli_json(capsys, "hypotheses", "seed:wannacry-2017", "--blind")["hypotheses"][0]["actor"]
    assert shown["members"] == ["Park Jin Hyok"] and shown["sponsored_by"] == ["North Korea"]
    capsys.readouterr()
    assert main(["hypotheses", "seed:wannacry-2017", "--blind"]) == 0
    assert "- incl. Park Jin Hyok, sponsored by North Korea [attack:G0032]" in capsys.readouterr().out


def test_explain_astrazeneca_supports_weakens_and_alternatives(seed_db):
    x = engine.explain(seed_db, "AstraZeneca")
    by_source = {a.claim.source: a for a in x.assessments}
    reuters = by_source["src:reuters"]
    assert reuters.claim.stance == "attributes" and reuters.actor.key == "state:KP"
    assert reuters.represented_by[0].actor.key == "attack:G0032" and reuters.blind_rank == 1
    overlaps = [p for p in reuters.supports if p.kind == "overlap"]
    assert overlaps and all(p.weight >= 0.5 for p in overlaps)
    assert any("ZINC" in p.text and "Lazarus Group" in p.text for p in reuters.supports)
    denials = [p for p in reuters.weakens if p.kind == "denial"]
    assert denials and "North Korea" in denials[0].text and denials[0].ref == by_source["src:dprk-government"].claim.key
    # the denial is itself weakened by the overlaps, the attribution and its source's grade
    denial = by_source["src:dprk-government"]
    assert {"overlap", "attribution", "source"} <= {p.kind for p in denial.weakens}
    d = x.to_dict()
    assert len(d["alternatives"]) == 5 and d["alternatives"][0]["actor"]["name"] == "Lazarus Group"
    assert d["claims"][0]["blind_rank"] == 1 and d["unknown"]["verdict"]


def test_explain_cli_text(seed_db, cli_env, capsys):
    capsys.readouterr()
    assert main(["explain", "AstraZeneca"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Reuters" in out and "ZINC" in out and "denies involvement of North Korea" in out
    assert "Alternatives" in out and "supports:" in out and "weakens:" in out
    assert main(["explain", "AstraZeneca", "--actor", "Fancy Bear"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Hypothesis (no claim names it): APT28" in out


def test_hypotheses_json_shape_and_contributions_add_up(seed_db, cli_env, capsys):
    for argv in (["hypotheses", "AstraZeneca", "--top", "20"], ["hypotheses", AZ, "--blind"],
                 ["hypotheses", "Sony", "--as-of", "2019"]):
        d = cli_json(capsys, *argv)
        assert d["incident"] == {"key": d["incident"]["key"], "name": d["incident"]["name"]}
        assert set(d["unknown"]) >= {"score", "verdict"}
        assert d["hypotheses"], argv
        scores = [h["score"] for h in d["hypotheses"]]
        assert scores == sorted(scores, reverse=True)
        for h in d["hypotheses"]:
            assert {"key", "name", "external_ids"} <= set(h["actor"]) <= {"key", "name", "external_ids", "members",
                                                                          "sponsored_by"}
            assert h["verdict"] in ("strong", "moderate", "weak", "inconsistent")
            assert h["score"] == pytest.approx(sum(i["contribution"] for i in h["items"]), abs=1e-9)
            for item in h["items"]:
                assert set(item) == {"kind", "key", "name", "weight", "contribution"}
        # the shown hypotheses, the unknown actor and the candidates not shown: probabilities sum to 1
        probabilities = [h["probability"] for h in d["hypotheses"]]
        assert probabilities == sorted(probabilities, reverse=True) and all(0 <= p <= 1 for p in probabilities)
        assert d["others"]["count"] == d["candidates"] - len(d["hypotheses"])
        assert abs(sum(probabilities) + d["unknown"]["probability"] + d["others"]["probability"] - 1) <= 1e-6
        assert d["unknown"]["probability"] > 0 and "an unknown actor" in d["headline"]
        # the unknown actor's probability is explained by the open-set features it was computed from
        f = d["unknown"]["features"]
        assert d["unknown"]["explanation"].startswith(f"the best fit, {f['best']}, explains {f['matched']} of "
                                                     f"{f['items']} items")
    # every hypothesis, not just the shown ones
    result = engine.hypotheses(seed_db, AZ)
    for h in result.ranking:
        assert h.score == pytest.approx(sum(c.contribution for c in h.items), abs=1e-9)
    assert any(c.kind == "claim" for c in result.ranking[0].items)       # not blind: claims are items


def test_find_incident(seed_db, cli_env):
    assert engine.find_incident(seed_db, "AstraZeneca").key == AZ
    assert engine.find_incident(seed_db, AZ).key == AZ
    with pytest.raises(NotFound, match="matches .* incidents"):
        engine.find_incident(seed_db, "Operation")         # Dream Job and In(ter)ception
    with pytest.raises(NotFound, match="no incident matches"):
        engine.find_incident(seed_db, "no such thing")
    assert main(["hypotheses", "no such thing"]) == 1


def test_as_of_uses_only_what_was_known(seed_db):
    with pytest.raises(NotFound, match="first seen"):
        engine.hypotheses(seed_db, "AstraZeneca", as_of="2020-06-01")
    then = engine.snapshot(seed_db, "2018-01-01")
    assert then.claims and all(c.date <= "2018-01-01" for c in then.claims)
    # Lazarus's profile in 2018 holds WannaCry (UK, Dec 2017) but not Dream Job (ClearSky, Aug 2020)
    lazarus = then.profiles()["attack:G0032"]
    assert "seed:wannacry-2017" in set().union(*lazarus.origins.values())
    assert "seed:operation-dream-job-2020" not in set().union(*lazarus.origins.values())
    result = engine.hypotheses(seed_db, "Bangladesh", as_of="2018", blind=False)
    assert result.as_of == "2018-12-31"
    assert {c.key for c in result.claims} <= {c.key for c in engine.snapshot(seed_db).claims if c.date <= "2018-12-31"}


def test_ach_matrix(seed_db):
    m = engine.ach_matrix(seed_db, "AstraZeneca", actors=["APT28"], top=3)
    d = m.to_dict()
    keys = [h["actor"]["key"] for h in d["hypotheses"]]
    assert keys[:1] == ["attack:G0032"] and "attack:G0007" in keys and keys[-1] == "unknown"
    for row in d["rows"]:
        assert [c["actor"] for c in row["cells"]] == keys
        assert all(c["assessment"] in ("consistent", "inconsistent", "neutral") for c in row["cells"])
    assert d["rows"][0]["diagnosticity"] >= d["rows"][-2]["diagnosticity"]


# -- blind mode does not see the claims about the incident ------------------------------------------------------
EXTRA_CLAIMS = """
sources:
  - {key: "src:extra", name: Extra Vendor, kind: vendor, reliability: A}
claims:
  - {incident: "seed:astrazeneca-2020", actor: "attack:G0007", source: "src:extra", stance: attributes,
     confidence: 95, date: "2020-12-01"}
  - {incident: "seed:astrazeneca-2020", actor: "attack:G0032", source: "src:extra", stance: disputes,
     confidence: 90, date: "2020-12-02"}
"""


def test_blind_output_does_not_change_when_claims_about_the_incident_change(seed_db, tmp_path):
    def blind() -> str:
        return json.dumps(engine.hypotheses(seed_db, AZ, blind=True, top=50).to_dict(), sort_keys=True)

    def seen() -> str:
        return json.dumps(engine.hypotheses(seed_db, AZ, top=50).to_dict(), sort_keys=True)

    before, before_seen = blind(), seen()
    load_text(seed_db, tmp_path / "extra.yaml", EXTRA_CLAIMS)
    assert blind() == before
    assert seen() != before_seen                                   # the claims do count outside blind mode
    # remove every claim about the incident, the seed's own included
    seed_db.write("MATCH (c:Claim)-[:ABOUT]->(:Incident {key: $key}) DETACH DELETE c", {"key": AZ})
    assert blind() == before
    seed_db.write("MATCH (s:Source {key: 'src:extra'}) DETACH DELETE s")
    load(seed_db, SEED_DIR)                                          # put the seed claims back
    assert blind() == before and seen() == before_seen


# -- small synthetic worlds ----------------------------------------------------------------------------------------
WORLD = textwrap.dedent("""
    sources:
      - {key: "src:v", name: Vendor, kind: vendor, reliability: B}
    actors:
      - {key: "actor:red", name: Red, kind: group, tools: [{name: RedRAT, availability: custom}],
         techniques: [T1566.001, T1059.001, T1105, T1027, T1071.001]}
      - {key: "actor:blue", name: Blue, kind: group, tools: [{name: BlueDoor, availability: custom}],
         techniques: [T1566.001, T1059.001, T1105, T1027, T1190]}
      - {key: "actor:green", name: Green, kind: group, tools: [{name: Mimikatz, availability: public}],
         techniques: [T1566.001, T1059.001, T1105, T1027, T1133]}
      - {key: "actor:grey", name: Grey, kind: group, techniques: [T1566.001, T1059.001, T1105, T1027, T1021.001]}
    incidents:
      - {key: "x:earlier", name: Earlier intrusion, first_seen: 2021, sources: ["src:v"],
         tools: [{name: RedRAT, availability: custom}], infrastructure: ["domain:c2.red.example"]}
      - {key: "x:specific", name: Specific intrusion, first_seen: 2022, sources: ["src:v"],
         tools: [{name: RedRAT, availability: custom}], techniques: [T1071.001, T1566.001],
         infrastructure: ["domain:c2.red.example"]}
      - {key: "x:generic", name: Generic intrusion, first_seen: 2022, sources: ["src:v"],
         techniques: [T1566.001, T1059.001], tools: [{name: Mimikatz, availability: public}]}
    claims:
      - {incident: "x:earlier", actor: "actor:red", source: "src:v", stance: attributes, confidence: 80,
         date: 2021-06-01}
    """)


def test_specific_evidence_names_an_actor_and_generic_evidence_the_unknown(db, tmp_path):
    engine.clear_cache()
    load_text(db, tmp_path / "world.yaml", WORLD)
    specific = engine.hypotheses(db, "x:specific", blind=True)
    red = specific.ranking[0]
    assert red.actor.key == "actor:red" and red.verdict in ("strong", "moderate")
    assert specific.unknown.margin < 0 and red.score > specific.ranking[1].score + 2
    assert specific.unknown.probability < red.probability and specific.unknown.features.best == red.actor.name
    # the C2 domain is known for Red only through the earlier incident a claim attributes to it
    assert red.contribution("domain:c2.red.example").contribution >= scoring.SPECIFIC
    generic = engine.hypotheses(db, "x:generic", blind=True)
    assert generic.ranking[0].score < 0 < generic.unknown.margin
    assert generic.unknown.probability > generic.ranking[0].probability
    assert generic.unknown.features.specific == 0 < specific.unknown.features.specific
    engine.clear_cache()


SAME_GROUP = textwrap.dedent("""
    sources:
      - {key: "src:v", name: Vendor, kind: vendor, reliability: B}
    actors:
      - {key: "actor:red", name: Red, kind: group, tools: [{name: RedRAT, availability: custom}],
         techniques: [T1566.001, T1059.001, T1105, T1027]}
      - {key: "actor:crimson", name: Crimson, kind: group, tools: [{name: CrimsonLoader, availability: custom}],
         techniques: [T1566.001]}
      - {key: "actor:blue", name: Blue, kind: group, tools: [{name: BlueDoor, availability: custom}],
         techniques: [T1566.001, T1059.001, T1190]}
      - {key: "actor:grey", name: Grey, kind: group, techniques: [T1566.001, T1105, T1021.001]}
    incidents:
      - {key: "x:both", name: Both tools, first_seen: 2022, sources: ["src:v"],
         tools: [{name: RedRAT, availability: custom}, {name: CrimsonLoader, availability: custom}],
         techniques: [T1566.001]}
    claims:
      - {incident: "x:both", actor: "actor:crimson", source: "src:v", stance: attributes, confidence: 70,
         date: 2022-06-01}
    """)


def test_evidence_on_two_nodes_a_source_says_are_one_group_counts_for_the_group(db, tmp_path):
    from graph.model import Batch
    from graph.store.writer import write_batch

    engine.clear_cache()
    load_text(db, tmp_path / "same.yaml", SAME_GROUP)
    apart = engine.hypotheses(db, "x:both", blind=True)
    red, crimson = apart.get("actor:red"), apart.get("actor:crimson")
    assert not next(c for c in red.items if c.name == "CrimsonLoader").matched
    assert not next(c for c in crimson.items if c.name == "RedRAT").matched
    batch = Batch("same-as.yaml")
    batch.rel("SAME_AS", ("Actor", "actor:crimson"), ("Actor", "actor:red"), sources=["src:v"], created="2023-01-01")
    write_batch(db, batch)
    engine.clear_cache()
    pooled = engine.hypotheses(db, "x:both", blind=True)
    # one hypothesis for the group, standing on the node with the larger profile; both tools match it
    assert pooled.get("actor:crimson") is None and pooled.ranking[0].actor.key == "actor:red"
    top = pooled.ranking[0]
    tools = [c for c in top.items if c.kind == "tool"]
    assert len(tools) == 2 and all(c.matched for c in tools)
    assert top.score > max(red.score, crimson.score)
    assert top.actor.to_dict()["same_as"] == ["actor:crimson"]
    assert top.score == pytest.approx(sum(c.contribution for c in top.items), abs=1e-9)
    assert abs(sum(h.probability for h in pooled.ranking) + pooled.unknown.probability - 1) <= 1e-6
    # the nodes stay distinct in the graph
    snap = engine.snapshot(db)
    assert {"actor:red", "actor:crimson"} <= set(snap.actors)
    # the claim naming Crimson is weighed through the group, and the explanation names the node each item came from
    x = engine.explain(db, "x:both")
    (assessment,) = x.assessments
    assert assessment.actor.key == "actor:crimson" and assessment.represented_by[0].actor.key == "actor:red"
    overlaps = {p.text.split(":")[0]: p.text for p in assessment.supports if p.kind == "overlap"}
    loader = next(t for name, t in overlaps.items() if "CrimsonLoader" in name)
    assert "recorded on Crimson (actor:crimson, the same group per src:v)" in loader
    rat = next(t for name, t in overlaps.items() if "RedRAT" in name)
    assert "Red: known to use or target it" in rat and "Crimson" not in rat
    # as of a date before a source said so, the two nodes are separate candidates again
    before = engine.hypotheses(db, "x:both", blind=True, as_of="2022-12-31")
    assert before.get("actor:crimson") is not None and before.get("actor:red") is not None
    engine.clear_cache()


def test_same_as_from_a_record_file_pools_the_group(db, tmp_path):
    """An analyst's record that a source says Crimson is Red: loaded like any record (twice
    changes nothing), and the engine weighs the two nodes as one group."""
    engine.clear_cache()
    load_text(db, tmp_path / "same.yaml", SAME_GROUP)
    said = tmp_path / "said.yaml"
    said.write_text(SAME_GROUP.replace(
        "techniques: [T1566.001]}\n  - {key: \"actor:blue\"",
        "techniques: [T1566.001], same_as: [\"actor:red\"], sources: [\"src:v\"]}\n  - {key: \"actor:blue\"", 1))
    assert "same_as" in said.read_text()
    load(db, said)
    count = "MATCH (:Actor {key: 'actor:crimson'})-[r:SAME_AS]->(:Actor {key: 'actor:red'}) RETURN count(r) AS n, r.sources AS s"
    assert db.read(count)[0] == {"n": 1, "s": ["src:v"]}
    load(db, said)
    assert db.read(count)[0]["n"] == 1
    pooled = engine.hypotheses(db, "x:both", blind=True)
    assert pooled.get("actor:crimson") is None and pooled.ranking[0].actor.key == "actor:red"
    assert all(c.matched for c in pooled.ranking[0].items if c.kind == "tool")
    engine.clear_cache()


MISP_ACTORS = {"type": "threat-actor", "name": "Threat Actor", "values": [
    {"uuid": "11111111-1111-4111-8111-111111111111", "value": "Tide Walker",
     "meta": {"country": "PK", "cfr-suspected-victims": ["India", "Afghanistan"],
              "cfr-target-category": ["Government", "Military"], "cfr-type-of-incident": ["Espionage"]}},
    {"uuid": "22222222-2222-4222-8222-222222222222", "value": "Sand Harrier",
     "meta": {"country": "IR", "cfr-suspected-victims": ["India"], "cfr-target-category": ["Government"],
              "cfr-type-of-incident": ["Espionage"]}},
    {"uuid": "44444444-4444-4444-8444-444444444444", "value": "Quiet Heron",
     "meta": {"refs": ["https://attack.mitre.org/groups/G1999/"]}}]}
MISP_TOOLS = {"type": "malpedia", "name": "Malpedia", "values": [
    {"uuid": "33333333-3333-4333-8333-333333333333", "value": "TideRAT",
     "related": [{"dest-uuid": "11111111-1111-4111-8111-111111111111", "type": "used-by"}]}]}
MISP_WORLD = textwrap.dedent("""
    sources:
      - {key: "src:v", name: Vendor, kind: vendor, reliability: B}
    actors:
      - {key: "actor:red", name: Red, kind: group, sponsor: CN, targets: {countries: [IN]},
         techniques: [T1566.001, T1059.001, T1105], tools: [{name: RedRAT, availability: custom}]}
      - {key: "actor:blue", name: Blue, kind: group, techniques: [T1566.001, T1190, T1105]}
    incidents:
      - {key: "x:tide", name: Tide report, first_seen: 2024, sources: ["src:v"],
         victims: {countries: [IN], sectors: [government]}, techniques: [T1566.001],
         tools: [{name: TideRAT, key: "misp:33333333-3333-4333-8333-333333333333"}],
         hints: [{kind: origin, value: PK, text: "The intrusion set is assessed as Pakistan-linked."},
                 "motive:espionage"]}
    """)


def test_a_misp_only_actor_with_matching_victims_software_and_origin_ranks_first(db, tmp_path):
    engine.clear_cache()
    (tmp_path / "threat-actor.json").write_text(json.dumps(MISP_ACTORS))
    (tmp_path / "malpedia.json").write_text(json.dumps(MISP_TOOLS))
    load(db, tmp_path / "threat-actor.json", tmp_path / "malpedia.json")
    load_text(db, tmp_path / "world.yaml", MISP_WORLD)
    result = engine.hypotheses(db, "x:tide", blind=True)
    top = result.ranking[0]
    assert top.actor.key == "misp:11111111-1111-4111-8111-111111111111", result.ranking[:3]
    assert top.actor.label == "Tide Walker - sponsored by Pakistan"
    matched = {c.key: c for c in top.items if c.matched}
    assert {"misp:33333333-3333-4333-8333-333333333333", "IN", "sector:government", "origin:PK",
            "motive:espionage"} <= set(matched)
    # the hint is explained with the sentence that gave it
    assert 'the report: "The intrusion set is assessed as Pakistan-linked."' in matched["origin:PK"].name
    assert matched["misp:33333333-3333-4333-8333-333333333333"].contribution >= scoring.SPECIFIC
    # the other MISP-only actor (Iran, same victims) carries evidence too, and is below
    harrier = result.get("misp:22222222-2222-4222-8222-222222222222")
    assert harrier is not None and harrier.rank > 1 and not harrier.contribution("origin:PK").matched
    # a cluster naming an ATT&CK ID the graph's ATT&CK lacks: a stub without a name, shown by the cluster's
    assert engine.snapshot(db).actors["attack:G1999"].name == "Quiet Heron"
    x = engine.explain(db, "x:tide", actor="Tide Walker")
    overlaps = [p.text for p in x.hypothetical.supports if p.kind == "overlap"]
    assert any("TideRAT" in t and "known to use or target it" in t for t in overlaps), overlaps
    engine.clear_cache()
