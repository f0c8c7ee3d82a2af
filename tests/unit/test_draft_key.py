"""A draft's default incident key (loaders/reports/draft.py): words plus a hash of the text, so two
texts never share a key by accident and the same text always gets the same one."""
from __future__ import annotations

import re

from loaders.reports import ReportMeta, draft_report

PASTE_A = "Hackers breached a Polish bank in March 2021 and stole customer records."
PASTE_B = "Hackers breached a Polish bank in June 2021 through a supplier's VPN."


def test_two_pastes_without_a_title_get_two_keys_from_their_first_words():
    a = draft_report(PASTE_A, meta=ReportMeta(name="pasted text"))
    b = draft_report(PASTE_B, meta=ReportMeta(name="pasted text"))
    assert a.key != b.key
    assert re.fullmatch(r"report:hackers-breached-a-polish-bank-in-march-[0-9a-f]{8}", a.key), a.key
    assert re.fullmatch(r"report:hackers-breached-a-polish-bank-in-june-[0-9a-f]{8}", b.key), b.key


def test_the_same_text_keeps_its_key_whatever_its_spacing():
    assert draft_report(PASTE_A).key == draft_report("  " + PASTE_A.replace(" ", "  ") + "\n\n").key


def test_a_title_or_the_file_name_gives_the_words():
    text = "Operation Quiet Harbour\n\n" + PASTE_A
    assert re.fullmatch(r"report:operation-quiet-harbour-[0-9a-f]{8}", draft_report(text).key)
    assert re.fullmatch(r"report:apt-notes-[0-9a-f]{8}",
                        draft_report(text, meta=ReportMeta(name="apt notes.txt", stem="apt notes")).key)


def test_long_words_are_cut_at_a_word_and_a_given_key_is_kept():
    key = draft_report("Attackers " * 30 + "targeted banks.").key
    words = key.removeprefix("report:").rsplit("-", 1)[0]
    assert len(words) <= 40 and not words.endswith("-") and words.endswith("attackers")
    assert draft_report(PASTE_A, key="report:mine").key == "report:mine"
