"""graph.reads.explore's pure helpers (no database)."""
from datetime import date

import pytest

from graph.reads import explore


def test_fulltext_query_escapes_lucene_syntax():
    q = explore.fulltext_query('<img src=x onerror="a()"> AND:*')
    assert '\\"' in q and "\\:" in q and "\\*" in q
    assert explore.fulltext_query("  ") is None
    assert explore.fulltext_query("Lazarus group") == '"Lazarus group"^4 OR (lazarus* AND group*)'


def test_partial_dates():
    assert explore.parse_partial_date("2020") == date(2020, 1, 1)
    assert explore.parse_partial_date("2020", end=True) == date(2020, 12, 31)
    assert explore.parse_partial_date("2020-02", end=True) == date(2020, 2, 29)
    assert explore.parse_partial_date("2020-11-27") == date(2020, 11, 27)
    assert explore.parse_partial_date("soon") is None


def test_specificity_weights_rare_items_and_discounts_public_tools():
    assert explore.specificity(1, 100) == 1.0
    assert explore.specificity(100, 100) == 0.0
    assert explore.specificity(5, 100) > explore.specificity(50, 100)
    assert explore.specificity(1, 100, "public") == 0.25


def test_neighbour_filter_refuses_bad_dates_and_labels():
    with pytest.raises(ValueError):
        explore.NeighbourFilter(since="last year").params()
    with pytest.raises(ValueError):
        explore.NeighbourFilter(labels=["Nope"]).params()
    assert explore.NeighbourFilter(until="2020-11").params()["until"] == "2020-11"


def test_graph_view_notice_and_subgraph():
    v = explore.GraphView(focus=["1"])
    v.add_node(explore.GNode("1", "k1", "Actor", "A"))
    v.add_node(explore.GNode("2", None, "Claim", "c", {"stance": "denies"}))
    v.add_edge(explore.GEdge("2", "1", "NAMES"))
    v.add_edge(explore.GEdge("2", "9", "NAMES"))  # endpoint not shown: dropped
    v.omit("Technique", 3)
    assert len(v.edges) == 1
    assert v.omitted_text() == "3 more neighbours not shown: 3 Technique (3 by the node cap)"
    v.per_label, v.cap = 60, 300
    v.omit("Technique", 32, by_limit=True)
    assert v.omitted_by_cap == 3
    assert v.omitted_text() == ("35 more neighbours not shown: 35 Technique (32 by the limit of 60 neighbours "
                                "per label of each expanded node; 3 by the node cap of 300 nodes)")
    sub = v.to_subgraph("t")
    assert sub.focus == "k1" and {n.id for n in sub.nodes} == {"k1", "2"}
    assert sub.edges[0].source == "2" and sub.edges[0].target == "k1"
