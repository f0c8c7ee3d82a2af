"""Origin and motive hints: what a report says about the actor without naming it ("a
Pakistan-linked group", "Chinese state-sponsored hackers", "financially motivated",
"hacktivists"). Each hint becomes a draft item of kind "hint" (value "origin:PK",
"origin:state" or "motive:financial", graph.model.MOTIVES) with the sentence that gave it; the
record keeps it in the incident's `hints`, and the engine weighs it against what actors are known
to be (their sponsors, their motives). A hint is never a claim: it names no actor.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from loaders.reports.places import country_mentions

# "<country>-linked", "-nexus", ... ("Pakistan-linked", "North Korea-nexus", "pro-Russian")
_LINK_WORDS = r"(?:linked|nexus|aligned|based|backed|sponsored|affiliated|attributed|connected|tied|origin)\b"
_LINKED = re.compile(r"^\s?[-\u2010\u2011]\s?" + _LINK_WORDS, re.I)
_HYPHENATED = re.compile(r"((?:[A-Z][\w.]*\s)?[A-Z][\w.]*)[-\u2010\u2011](" + _LINK_WORDS
                         + r")|\b[Pp]ro[-\u2010\u2011]([A-Z]\w+)")
# "-based" and the like say where anything sits ("U.S.-based enterprises"): a hint only before who acted
_PLACE_WORDS = ("based", "origin", "connected", "tied")
# an adjective followed by who acted ("Iranian hackers", "North Korean state-sponsored group")
_ACTOR_NOUN = re.compile(r"^(?:\s+(?!hackers?\b|actors?\b|groups?\b)[\w-]+){0,2}?\s+"
                         r"(?:(?:state|government|military)[- ](?:sponsored|backed|linked)\s+|nation[- ]state\s+|"
                         r"cyber[- ]?espionage\s+|intelligence\s+|threat\s+)?"
                         r"(?:hackers?|actors?|threat actors?|groups?|APTs?|operators?|adversar(?:y|ies)|"
                         r"intrusion sets?|attackers?|crews?|gangs?|cyberspies|spies|clusters?|campaigns?)\b", re.I)
_STATE = re.compile(r"\b(?:state|government|nation)[- ](?:sponsored|backed|aligned)\b|\bnation[- ]state\b", re.I)
MOTIVE_CUES = {
    "financial": re.compile(r"\bfinancially[- ]motivated\b|\bfinancial gain\b|\bcybercrim(?:e|inal)s?\b|"
                            r"\bfor profit\b", re.I),
    "hacktivism": re.compile(r"\bhacktivis(?:t|ts|m)\b", re.I),
    "espionage": re.compile(r"\b(?:cyber[- ]?)?espionage\b|\bintelligence[- ]gathering\b", re.I),
    "sabotage": re.compile(r"\bsabotage\b|\bdestructive attacks?\b", re.I),
    "influence": re.compile(r"\binfluence operations?\b|\bdisinformation\b", re.I),
}


@dataclass(frozen=True)
class Hint:
    value: str        # "origin:PK", "origin:state", "motive:financial"
    cue: str          # the words that gave it
    sentence: str


def hints_in(sentence: str) -> list[Hint]:
    """The origin and motive hints of one sentence, each value once."""
    found: dict[str, Hint] = {}
    for m in country_mentions(sentence):
        rest = sentence[m.end:]
        linked = _LINKED.match(rest)
        actor = m.form == "adjective" and _ACTOR_NOUN.match(rest)
        if linked or actor:
            cue = sentence[m.start:m.end + (linked or actor).end()]
            found.setdefault(f"origin:{m.code}", Hint(f"origin:{m.code}", cue.strip(), sentence))
    for m in _HYPHENATED.finditer(sentence):
        if m.group(2) and m.group(2).casefold() in _PLACE_WORDS and not _ACTOR_NOUN.match(sentence[m.end():]):
            continue
        named = country_mentions(m.group(1) or m.group(3))
        if named:
            code = named[-1].code
            found.setdefault(f"origin:{code}", Hint(f"origin:{code}", m.group(0), sentence))
    state = _STATE.search(sentence)
    if state:
        found.setdefault("origin:state", Hint("origin:state", state.group(0), sentence))
    for motive, cue in MOTIVE_CUES.items():
        hit = cue.search(sentence)
        if hit:
            found.setdefault(f"motive:{motive}", Hint(f"motive:{motive}", hit.group(0), sentence))
    return list(found.values())
