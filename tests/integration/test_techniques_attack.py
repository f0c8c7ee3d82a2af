"""Technique recognition trained on the shared ATT&CK Enterprise v15.1 (no database needed).

The model is built once per bundle and cached under $ATTRIB_HOME/cache/models/ (the cache
`attrib extract` uses, keyed by the bundle's and the annotated corpora's hashes): the first run
trains it (about 135 s of CPU with the corpora), later runs load it in a few seconds.
"""
from __future__ import annotations

import time

import pytest

from graph.settings import load_settings
from loaders.reports.text import split_sentences
from loaders.reports.model_cache import recognizer_for
from tests.conftest import REPO, shared_file

LINKEDIN = ("Hackers disguised themselves as recruiters on LinkedIn and WhatsApp and contacted "
            "AstraZeneca employees with fake job offers.")
# the techniques the seed story's first step is: social engineering through job offers
SOCIAL = {"T1566.003", "T1566", "T1585.001", "T1585", "T1656", "T1534", "T1204", "T1204.002"}


@pytest.fixture(scope="module")
def recognizer():
    return recognizer_for(shared_file("attack", "enterprise-attack-15.1.json.gz"), load_settings().cache_dir)


def test_seed_sentence_gives_social_engineering_techniques(recognizer):
    ranked = recognizer.rank([LINKEDIN], k=3)[0]
    assert ranked[0][0] == "T1566.003"  # Phishing: Spearphishing via Service
    assert {t for t, _ in ranked} & SOCIAL


def test_seed_article_hits_are_few_and_carry_their_sentence(recognizer):
    text = (REPO.parent / "shared" / "seed-article.txt").read_text()
    sentences = [s.text for s in split_sentences(text)]
    started = time.monotonic()
    hits = recognizer.predict(sentences)
    assert time.monotonic() - started < 2
    assert len(hits) <= 5  # a news story: few sentences describe techniques
    assert all(h.sentence in sentences and 0 <= h.score <= 1 for h in hits)
    # the story's social engineering: the best-scored sentence for T1566.003 is the LinkedIn one
    scored = [(score, s) for s, ranked in zip(sentences, recognizer.rank(sentences, k=3))
              for t, score in ranked if t == "T1566.003"]
    assert "LinkedIn" in max(scored)[1]


def test_ids_and_names_in_text(recognizer):
    hits = {h.technique: h for h in recognizer.predict(
        ["The implant (T1027) hides its strings.", "Operators relied on Spearphishing Attachment lures."])}
    assert hits["T1027"].method == "id" and hits["T1027"].name == "Obfuscated Files or Information"
    assert hits["T1566.001"].method == "name"
