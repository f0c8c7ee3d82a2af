"""Issue 18's plain helpers (no database, no browser): the as-of control's words, why a claim is
not scored, the claim expanders' numbers, a subgraph as known on a date, the layout of big graphs
and label boxes that do not overlap."""
from __future__ import annotations

import pytest

from app.web.asof import check_as_of, default_as_of, not_scored_reason
from app.exports.style import DENSE_LAYOUT_FROM, MAX_DRAWN_NODES, declutter, layout
from app.web.workbench_view import point_text
from graph.analysis.scoring import Point
from graph.reads.subgraph import SubEdge, SubNode, Subgraph, display_name, known_on


def test_as_of_defaults_to_the_first_seen_day_and_explains_bad_dates():
    assert default_as_of("2020-11") == "2020-11-01"
    assert check_as_of("2020-12-31", "2020-11") == ("2020-12-31", None)
    assert check_as_of("2021", "2020-11") == ("2021-12-31", None)  # a year means its end, as in the CLI
    as_of, error = check_as_of("2019-05-01", "2020-11-01")
    assert as_of is None and "first seen 2020-11-01" in error and "Pick 2020-11-01 or later" in error
    as_of, error = check_as_of("last week", "2020-11-01")
    assert as_of is None and "'last week' is not a date" in error and "press Enter" in error
    for text in ("2019-05-01", "last week", ""):
        assert "--as-of" not in (check_as_of(text, "2020-11-01")[1] or "")


def test_every_not_scored_claim_has_a_reason():
    assert not_scored_reason({"actor_key": "a", "date": "2020-11-27"}, "2020-11-01") == \
        "not scored: made 2020-11-27, after the as-of date 2020-11-01"
    assert "not yet known on 2020-12-31" in not_scored_reason({"actor_key": "a", "date": "2020-11-27"}, "2020-12-31")
    assert not_scored_reason({"actor_key": None, "date": None}, None) == "not scored: it names no actor"


def test_claim_points_say_what_their_number_is():
    assert point_text(Point("confidence", "the source's own confidence is only 50/100", 0.5)) == \
        "the source's own confidence is only 50/100 (the claim counts at 50% of its full weight)"
    assert point_text(Point("alternative", "APT38 fits almost as well", -0.83)) == \
        "APT38 fits almost as well (weight -0.83)"
    assert point_text(Point("ambiguous-alias", "the name also names others")) == "the name also names others"


def _sub() -> Subgraph:
    nodes = [SubNode("i", "Incident", "i", "Incident", {}),
             SubNode("c1", "Claim", "c1", "early", {"date": "2020-11-27"}),
             SubNode("c2", "Claim", "c2", "late", {"date": "2021-02"}),
             SubNode("a", "Actor", "a", "Only named late", {}),
             SubNode("t", "Technique", "T1", "T1", {"created": "2019-01-01"})]
    edges = [SubEdge("c1", "i", "ABOUT"), SubEdge("c2", "i", "ABOUT"), SubEdge("c2", "a", "NAMES"),
             SubEdge("i", "t", "USED", {"first_seen": "2022-01-01"})]
    return Subgraph(nodes, edges, "t", "i")


def test_a_subgraph_as_known_on_a_date():
    sub = known_on(_sub(), "2020-12-31")
    assert {n.id for n in sub.nodes} == {"i", "c1"}  # the later claim, its actor and the later USED go
    assert [(e.source, e.target) for e in sub.edges] == [("c1", "i")]
    assert {n.id for n in known_on(_sub(), "2022-06-30").nodes} == {"i", "c1", "c2", "a", "t"}


def test_alias_nodes_are_labelled_with_their_spelling():
    assert display_name("Alias", {"key": "labyrinthchollima", "spellings": ["Labyrinth Chollima"]},
                        "labyrinthchollima") == "Labyrinth Chollima"


def _star(n: int) -> Subgraph:
    nodes = [SubNode(f"n{i:04d}", "Technique", None, f"T{i}") for i in range(n)]
    return Subgraph(nodes, [SubEdge("n0000", f"n{i:04d}", "USED") for i in range(1, n)], focus="n0000")


def test_big_graphs_are_laid_out_deterministically_in_the_unit_square():
    sub = _star(DENSE_LAYOUT_FROM + 137)
    pos = layout(sub)
    assert len(pos) == len(sub.nodes) and pos == layout(sub)
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y in pos.values())
    assert len({(round(x, 3), round(y, 3)) for x, y in pos.values()}) > 0.95 * len(pos)  # spread, not piled up
    with pytest.raises(ValueError, match="too many to draw"):
        layout(_star(MAX_DRAWN_NODES + 1))


def test_declutter_leaves_no_two_label_boxes_overlapping():
    boxes = {f"b{i}": (100.0 + (i % 3), 100.0 + (i % 2), 80.0, 30.0) for i in range(12)}  # all on one spot
    boxes["focus"] = (300.0, 200.0, 60.0, 30.0)
    moved = declutter(boxes, (0.0, 0.0, 600.0, 400.0), fixed="focus")
    assert moved["focus"] == (300.0, 200.0)
    ids = sorted(moved)
    for n, a in enumerate(ids):
        (ax, ay), (aw, ah) = moved[a], boxes[a][2:]
        assert aw / 2 <= ax <= 600 - aw / 2 and ah / 2 <= ay <= 400 - ah / 2
        for b in ids[n + 1:]:
            (bx, by), (bw, bh) = moved[b], boxes[b][2:]
            assert abs(ax - bx) >= (aw + bw) / 2 - 1e-6 or abs(ay - by) >= (ah + bh) / 2 - 1e-6, (a, b)


def test_a_denial_lists_its_points_with_the_sign_they_have_for_the_claim():
    """Issue 27: the engine signs weights for the actor's involvement; under "Weakens" a denial
    showed "(weight +0.73)" for the evidence that the actor did it."""
    involvement = Point("blind-rank", "the evidence alone ranks Lazarus Group #1 of 8", 0.73)
    assert point_text(involvement, "denies").endswith("(weight -0.73)")
    assert point_text(involvement, "disputes").endswith("(weight -0.73)")
    assert point_text(involvement, "attributes").endswith("(weight +0.73)")
    assert point_text(Point("denial", "the government denies it", -0.48), "attributes").endswith("(weight -0.48)")


def test_no_cell_shows_minus_zero():
    from types import SimpleNamespace

    from graph.analysis.scoring import Actor

    import pandas as pd

    from app.web.workbench_view import ach_frame, ach_styler, contribution_rows, hypothesis_rows, signed
    from graph.analysis.scoring import Contribution

    assert [signed(v) for v in (-0.001, 0.0, 0.004, -0.73, 0.5)] == ["0.00", "0.00", "0.00", "-0.73", "+0.50"]
    actor = Actor(key="a", name="A")
    hyp = SimpleNamespace(actor=actor, rank=1, score=-0.001, probability=0.2, verdict="weak",
                          items=[Contribution("technique", "T1", "T1", 0.5, -0.0004, False, "")])
    ach = SimpleNamespace(hypotheses=[hyp], rows=[{"name": "T1", "kind": "technique", "weight": 0.5,
                                                   "diagnosticity": 0.0, "cells": [
                                                       {"value": -0.001, "assessment": "neutral"},
                                                       {"value": 0.0, "assessment": "neutral"}]}])
    html = ach_styler(ach_frame(ach), ach).to_html()
    assert "-0.00" not in html and "0.00" in html
    # the numeric columns: "%+.2f" / "%+.3f" of what the table holds
    unknown = SimpleNamespace(best_named=-0.001, probability=0.8, verdict="strong")
    rows = hypothesis_rows(SimpleNamespace(hypotheses=[hyp], unknown=unknown))
    assert "%+.2f" % rows[0]["score"] == "+0.00"
    assert "%+.3f" % contribution_rows(hyp)[0]["contribution"] == "+0.000"
    assert pd.notna(rows[0]["score"])


def test_partial_dates_are_read_one_way_and_said():
    """Issue 27: as-of "2021" means 2021-12-31 and a first seen "2021" starts on 2021-01-01:
    the page says both where they apply."""
    from app.web.asof import AS_OF_HELP, as_of_reading

    assert as_of_reading("2021", "2021-12-31") == "'2021' counts to its end: as of 2021-12-31."
    assert as_of_reading("2021-03-04", "2021-03-04") is None
    assert "2021 = 2021-12-31" in AS_OF_HELP and "2021 = 2021-01-01" in AS_OF_HELP
    _, error = check_as_of("2020-06", "2020-11")
    assert "first seen 2020-11 (from 2020-11-01)" in error
