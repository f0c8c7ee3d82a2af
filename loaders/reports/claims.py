"""Attributing sentences -> claims: who says it, which actor, which stance, what confidence.

Stance: "attributes" (attributed to, linked to, was behind, suspected, accused ...), "denies"
(denied, rejected the accusations, described the allegations as ...), "disputes" (disputed, cast
doubt on, no evidence linking ...). Confidence: the estimative language of the sentence, by
`ESTIMATIVE` (docs/reports.md prints the table).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from graph.countries import country_name
from loaders.reports.names import GROUP_NAME, Gazetteer, best, find_names
from loaders.reports.places import country_mentions

# (phrase, confidence 0-100), the first match in this order wins: longer, stronger phrases first.
# Likelihood words follow the US ICD 203 bands (midpoints); confidence levels STIX's High/Medium/Low.
ESTIMATIVE: list[tuple[str, int]] = [
    ("almost certainly", 95), ("nearly certain", 95), ("high confidence", 85),
    ("highly likely", 85), ("very likely", 85), ("very probably", 85),
    ("highly unlikely", 10), ("very unlikely", 10), ("almost no chance", 5), ("remote chance", 5),
    ("moderate confidence", 50), ("medium confidence", 50), ("roughly even chance", 50),
    ("low confidence", 15),
    ("unlikely", 30), ("probably not", 30),
    ("likely", 70), ("probably", 70), ("probable", 70), ("we assess", 70), ("assessed", 70),
    ("suspected", 50), ("believed", 50), ("believe", 50), ("appears to", 50), ("allegedly", 40),
    ("possibly", 30), ("possible", 30), ("may have", 30), ("might", 30), ("could", 30),
]
_ESTIMATIVE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p, _ in ESTIMATIVE) + r")\b", re.I)
_RANK = {p: (i, c) for i, (p, c) in enumerate(ESTIMATIVE)}
# A plain statement with no estimative word, and a denial (categorical by nature).
PLAIN_CONFIDENCE = 60
DENIAL_CONFIDENCE = 80

DENIES = re.compile(
    r"\b(?:denied|denies|deny|denying|rejected|rejects|dismissed|dismisses|refuted|refutes)\b|"
    r"\b(?:described|called|branded|termed|labell?ed) (?:the |such |these |those )?(?:allegations?|accusations?|claims|charges|reports)\b|"
    r"\b(?:allegations?|accusations?|claims) (?:were|are|was|is) (?:baseless|groundless|unfounded|fabricated|false|slander)", re.I)
DISPUTES = re.compile(
    r"\b(?:disputed?|disputes|disputing|contested|questioned|challenged)\b|\bcast(?:s|ing)? doubt\b|"
    r"\bnot convinced\b|\bno (?:evidence|proof) (?:that|linking|of|tying)\b|\bskeptical\b|\bsceptical\b", re.I)
ATTRIBUTES = re.compile(
    r"\b(?:attribut(?:ed|es|ing|ion)|linked (?:to|with)|links? (?:it|them|the \w+) to|tied to|ties (?:it|them) to|"
    r"connected to|behind|blamed|blames|blaming|accused|accuses|accusing|responsible for|carried out by|"
    r"conducted by|the work of|suspected|believed to be|assessed to be|sponsored by|on behalf of|"
    r"affiliated with|overlaps? with|consistent with)\b", re.I)
# "North Korean hackers", "Russian state-sponsored group": a nationality given to the attackers.
ACTOR_NOUN = re.compile(
    r"^\s*(?:state[- ]sponsored |government[- ]backed |state[- ]backed |military |intelligence )?"
    r"(?:hackers?|hacking (?:group|team)s?|threat actors?|actors?|groups?|APTs?|operators?|spies|cyber ?spies|"
    r"attackers?|intruders?|cyber ?criminals?|intelligence|military|hacking|cyber ?espionage)\b", re.I)
# The speaker of a sentence: "X said", "according to X", "X told".
_SPEAKER_AFTER = re.compile(r"\b(?:according to|citing|as reported by|said by)\s+((?:[\w'.&-]+\s+){0,5}?[\w'.&-]+?)(?=[,;:]|\s+(?:that|who|,|and said)\b|$)", re.I)
_SPEAKER_BEFORE = re.compile(r"((?:[\w'.&-]+\s+){0,4}[\w'.&-]+)\s+(?:has |have |had )?(?:said|says|reported|reports|told|stated|states|wrote|writes|announced|alleged|alleges|claimed|claims|concluded|assessed|assesses|believes|found|noted|added|accused|accuses|attributed)\b")
# A sentence's opening reporting frame: "The source said:", "According to two people familiar with the
# matter,", "Microsoft said earlier this month that". It says who speaks, not what was done.
REPORTING_FRAME = re.compile(
    r"^\s*(?:according to\s+(?:[\w'.&()-]+\s+){0,7}?[\w'.&()-]+\s*,"
    r"|(?:[\w'.&()-]+\s+){0,5}?(?:said|says|reported|reports|told\s+[\w'.-]+|stated|states|wrote|writes|added|noted)"
    r"(?:\s+(?:on|in|earlier|last|this|on\s+\w+)(?:\s+[\w]+){0,2}?)?\s*(?::|,|\s+that\b))\s*", re.I)
# Speakers that are not a party of their own: the report itself conveys them.
ANONYMOUS = re.compile(r"\b(?:sources?|people|persons?|individuals|officials|researchers|investigators|"
                       r"experts|analysts|someone|insiders?|a person|they|it|he|she|who)\b", re.I)
# Parties that speak for a government ("US prosecutors", "Pyongyang", "the Kremlin").
GOVERNMENT_WORDS = re.compile(r"\b(?:government|officials|prosecutors|authorities|ministry|minister|"
                              r"embassy|spokes(?:man|woman|person)|department|agency|state media|president)\b", re.I)


def confidence(sentence: str, stance: str) -> int:
    """The confidence of the first ESTIMATIVE phrase (in table order) the sentence uses."""
    found = [_RANK[m.group(0).lower()] for m in _ESTIMATIVE.finditer(sentence)]
    if found:
        return min(found)[1]
    return DENIAL_CONFIDENCE if stance == "denies" else PLAIN_CONFIDENCE


def stance(sentence: str) -> str | None:
    if DENIES.search(sentence):
        return "denies"
    if DISPUTES.search(sentence):
        return "disputes"
    if ATTRIBUTES.search(sentence):
        return "attributes"
    return None


@dataclass(frozen=True)
class Party:
    key: str
    name: str
    kind: str            # actor kind: group | state
    country: str | None
    new: bool


def state_party(code: str, gazetteer: Gazetteer) -> Party:
    known = gazetteer.actor_keys.get(f"state:{code}")
    if known:
        return Party(known.key, known.name, "state", code, False)
    return Party(f"state:{code}", country_name(code), "state", code, True)


@dataclass(frozen=True)
class Named:
    """An actor a sentence names, where, how sure, and whether the naming itself attributes
    ("North Korean hackers") or needs an attributing verb ("linked to Lazarus")."""

    party: Party
    start: int
    end: int
    score: float
    intrinsic: bool


def named_actors(sentence: str, gazetteer: Gazetteer) -> list[Named]:
    """Actors a sentence names: known aliases, nationalities given to attackers ("North Korean
    hackers", "hackers from Iran, China and Russia"), states accused by name ("attributed to North
    Korea"), and group names by vendors' schemes (APT38, UNC1234) the graph does not know.
    """
    out: list[Named] = []
    spans: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in spans)

    # countries first: a state is named as the actor only in an accusing position ("attributed to
    # North Korea", "North Korean hackers", "hackers from Iran, China and Russia"); any other
    # mention ("US officials", "a bank in Bangladesh") names no actor, whatever the aliases say
    listed_until = -1  # end of the last accused country, for lists
    for m in country_mentions(sentence):
        spans.append((m.start, m.end))
        before = sentence[max(0, m.start - 80):m.start]  # the cues end right before the name
        origin = bool(_ORIGIN.search(before))
        accused = bool(_ACCUSED.search(before))
        listed = listed_until >= 0 and _LIST_GAP.fullmatch(sentence[listed_until:m.start]) is not None
        nationality = m.form == "adjective" and ACTOR_NOUN.match(sentence[m.end:]) is not None
        if nationality or (m.form == "name" and (accused or origin or listed)):
            listed_until = m.end
            out.append(Named(state_party(m.code, gazetteer), m.start, m.end, 0.8, nationality or origin or listed))
    for m in find_names(sentence, gazetteer.actors, gazetteer):
        if free(m.start, m.end):
            actor = best(m.entries, m.text)
            spans.append((m.start, m.end))
            out.append(Named(Party(actor.key, actor.name, actor.kind or "group", actor.country, False),
                             m.start, m.end, 0.9, False))
    for m in GROUP_NAME.finditer(sentence):
        if free(m.start(), m.end()):
            name = " ".join(m.group(0).split())
            out.append(Named(Party("actor:" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"), name, "group",
                                   None, True), m.start(), m.end(), 0.7, False))
    return sorted(out, key=lambda n: n.start)


_ACCUSED = re.compile(r"(?:attribut\w* (?:\w+ ){0,3}to|link\w* (?:\w+ ){0,3}(?:to|with)|tied (?:\w+ ){0,3}to|"
                      r"accus\w*|blam\w*|carried out by|conducted by|sponsored by|backed by|on behalf of)\s+(?:the\s+)?$", re.I)
_ORIGIN = re.compile(r"\b(?:hackers?|actors?|groups?|attackers?|spies|operators?|intruders?)\s+(?:\w+\s+)?"
                     r"(?:from|in|based in|working for|linked to)\s+(?:the\s+)?$", re.I)
_LIST_GAP = re.compile(r",\s*(?:and\s+|or\s+)?(?:the\s+)?|\s+(?:and|or)\s+(?:the\s+)?")


def reported_content(sentence: str) -> str:
    """The sentence without its opening reporting frame (`REPORTING_FRAME`): what the speaker says
    happened. A sentence that is only a frame stays whole."""
    rest = REPORTING_FRAME.sub("", sentence, count=1)
    return rest if rest.strip() else sentence


def speaker(sentence: str) -> str | None:
    """Who the sentence quotes, as written ("Microsoft", "the source", "US prosecutors"), else None."""
    for pattern in (_SPEAKER_AFTER, _SPEAKER_BEFORE):
        m = pattern.search(sentence)
        if m:
            return m.group(1).strip(" ,.")
    return None


_DETERMINERS = re.compile(r"^(?:(?:the|a|an|two|three|four|several|some|many|other|unnamed|anonymous)\s+)+", re.I)


def is_anonymous(speaker_text: str) -> bool:
    """"two sources familiar with the matter", "the source", "people": no party of their own
    ("Microsoft researchers" and "US officials" are parties)."""
    words = _DETERMINERS.sub("", speaker_text.strip())
    return bool(ANONYMOUS.search(words)) and not GOVERNMENT_WORDS.search(words) \
        and not any(w[:1].isupper() for w in words.split())


def deniers(sentence: str) -> list[str]:
    """Countries whose governments deny in this sentence (named before the denying words:
    "Pyongyang described the allegations as ...", "Tehran, Beijing and Moscow have denied ...")."""
    m = DENIES.search(sentence)
    if not m:
        return []
    codes = []
    for mention in country_mentions(sentence[:m.start()], capitals=True):
        if mention.code not in codes:
            codes.append(mention.code)
    return codes
