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
from graph.model import CONFIDENCE_LEVELS as LEVELS, ICD_203, normalise_name
from loaders.reports.names import GROUP_NAME, SOFTWARE_CUE, Gazetteer, best, find_names
from loaders.reports.parties import ORGAN, Discourse, Speaker, organ_country, subject_before
from loaders.reports.places import country_mentions

# ICD 203's likelihood terms and their ranges (graph.model.ICD_203): a claim's confidence is the
# midpoint. Confidence levels (ICD 203: how sound the judgement is, not how likely) take STIX's
# High/Medium/Low values only where the sentence gives no likelihood.
CONFIDENCE_LEVELS: dict[str, int] = dict(zip(LEVELS, (85, 50, 15)))
# (phrase, what it is: an ICD 203 term, "level:<confidence level>", or a hedge's own value)
_PHRASES: list[tuple[str, str | int]] = [
    ("almost certainly", "almost certain"), ("nearly certain", "almost certain"),
    ("virtually certain", "almost certain"), ("almost certain", "almost certain"),
    ("high confidence", "level:high"), ("highly confident", "level:high"),
    ("highly likely", "very likely"), ("very likely", "very likely"), ("very probably", "very likely"),
    ("highly probable", "very likely"),
    ("highly unlikely", "very unlikely"), ("very unlikely", "very unlikely"), ("highly improbable", "very unlikely"),
    ("almost no chance", "remote"), ("remote chance", "remote"), ("remote possibility", "remote"),
    ("moderate confidence", "level:moderate"), ("medium confidence", "level:moderate"),
    ("roughly even chance", "roughly even chance"), ("roughly even odds", "roughly even chance"),
    ("low confidence", "level:low"),
    ("unlikely", "unlikely"), ("probably not", "unlikely"), ("improbable", "unlikely"),
    ("likely", "likely"), ("probably", "likely"), ("probable", "likely"),
    ("we assess", 70), ("assessed", 70),
    ("suspected", 50), ("believed", 50), ("believe", 50), ("appears to", 50), ("allegedly", 40),
    ("possibly", 30), ("possible", 30), ("may have", 30), ("might", 30), ("could", 30),
]


def _value(kind: str | int) -> int:
    if isinstance(kind, int):
        return kind
    if kind.startswith("level:"):
        return CONFIDENCE_LEVELS[kind[6:]]
    lo, hi = ICD_203[kind]
    return round((lo + hi) / 2)


# (phrase, confidence 0-100), the first match in this order wins: longer, stronger phrases first.
ESTIMATIVE: list[tuple[str, int]] = [(p, _value(k)) for p, k in _PHRASES]
_ESTIMATIVE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p, _ in ESTIMATIVE) + r")\b", re.I)
_RANK = {p: (i, c) for i, (p, c) in enumerate(ESTIMATIVE)}
_KIND = dict(_PHRASES)
# A plain statement with no estimative word, and a denial (categorical by nature).
PLAIN_CONFIDENCE = 60
DENIAL_CONFIDENCE = 80


@dataclass(frozen=True)
class Estimate:
    """A sentence's estimative language: the claim's confidence (0-100), the ICD 203 likelihood
    term with its range, and the confidence level, kept apart."""

    confidence: int
    likelihood: str | None = None          # an ICD_203 term
    level: str | None = None               # high | moderate | low

    def to_json(self) -> dict:
        out: dict = {}
        if self.likelihood:
            lo, hi = ICD_203[self.likelihood]
            out["likelihood"] = {"term": self.likelihood, "range": [lo, hi]}
        if self.level:
            out["confidence_level"] = self.level
        return out


def estimate(sentence: str, stance: str) -> Estimate:
    """The likelihood (the strongest ICD 203 phrase, in table order) and the confidence level the
    sentence states; the confidence from the likelihood, else the level, else a hedge's value."""
    found = sorted(_RANK[m.group(0).lower()] + (m.group(0).lower(),) for m in _ESTIMATIVE.finditer(sentence))
    kinds = [_KIND[p] for _, _, p in found]
    term = next((k for k in kinds if isinstance(k, str) and not k.startswith("level:")), None)
    level = next((k[6:] for k in kinds if isinstance(k, str) and k.startswith("level:")), None)
    if term:
        return Estimate(_value(term), term, level)
    if level:
        return Estimate(CONFIDENCE_LEVELS[level], None, level)
    if found:
        return Estimate(found[0][1])
    return Estimate(DENIAL_CONFIDENCE if stance == "denies" else PLAIN_CONFIDENCE)


DENIES = re.compile(
    r"\b(?:denied|denies|deny|denying|rejected|rejects|reject|rejecting|dismissed|dismisses|refuted|refutes)\b|"
    r"\b(?:described|called|branded|termed|labell?ed|dismissed) (?:the |such |these |those )?(?:\w+ )?(?:allegations?|accusations?|claims|charges|reports)\b|"
    r"\b(?:allegations?|accusations?|claims) (?:were|are|was|is) (?:\w+ )?(?:baseless|groundless|unfounded|fabricated|false|slander|absurd)|"
    r"\b(?:has|had|have) nothing to do with\b|\b(?:was|is|were|are) not (?:involved|responsible|behind)\b|"
    r"\bno (?:involvement|role|part) in\b|" + r"\b(?:groundless|baseless|unfounded|absurd) (?:allegations?|accusations?|claims|charges)\b|"
    r"\b(?:fabricat\w*|concoct\w*|false narrative|smear\w*|slander\w*|to frame|framing|framed)\b", re.I)
# Wording that accuses the accuser of inventing the story: a denial by whoever says it, never an
# attribution to the one accused of inventing ("X accused Y of fabricating" is X's denial).
FABRICATION = re.compile(r"\b(?:fabricat\w*|concoct\w*|false narrative|smear\w*|slander\w*|to frame|framing|framed|"
                         r"lies|lying|disinformation|hyp(?:e|ing) up|politici[sz]\w*|groundless|baseless|absurd|"
                         r"Russophob\w*|Sinophob\w*)\b", re.I)
DISPUTES = re.compile(
    r"\b(?:disputed?|disputes|disputing|contested|questioned|challenged)\b|\bcast(?:s|ing)? doubt\b|"
    r"\bnot convinced\b|\bno (?:evidence|proof) (?:that|linking|of|tying)\b|\bskeptical\b|\bsceptical\b|"
    r"\bnot (?:a |an )?(?:state[- ]sponsored|state[- ]backed|government[- ]backed|authori[sz]ed government)\b|"
    r"\brather than (?:a |an )?(?:state[- ]sponsored|state[- ]backed|government)\b", re.I)
ATTRIBUTES = re.compile(
    r"\b(?:attribut(?:ed|es|ing|ion)|link(?:ed|s|ing)? (?:[\w'-]+ ){0,4}?(?:to|with)|linking|ti(?:ed|es|e) (?:[\w'-]+ ){0,4}?to|"
    r"connected to|behind|blamed|blames|blame|blaming|accused|accuses|accuse|accusing|accusations?|"
    r"responsible|accountable|culprits?|perpetrat\w+|carried out|conducted by|orchestrated|launched by|"
    r"committed by|the work of|suspected|believed to be|assessed to be|sponsored by|on behalf of|"
    r"affiliated with|associated with|overlaps? with|consistent with|pinned|point(?:ed|ing|s)? the finger|"
    r"charged|indicted|at fault)\b", re.I)
# Impersonation and false flags: an actor named after these words is the one impersonated.
FALSE_FLAG = re.compile(
    r"\b(?:pos(?:ing|ed|e|es) as|masquerad\w* as|impersonat\w*|disguis\w* (?:themselves |itself )?as|"
    r"pretend\w* to be|false[- ]flag|pseudo[- ]flag|made to (?:look|appear)|make it (?:look|appear)|"
    r"to (?:look|appear) (?:as if|as though|like)|appear(?:ed)? to (?:come|originate) from|mimic\w*|"
    r"plant\w* (?:false|misleading) (?:clues|evidence|flags)|misdirect\w*|frame (?!of)|"
    r"claim\w* to (?:represent|be|belong to|be part of|act for)|(?:under|using) the (?:name|banner|guise|moniker) of)", re.I)
# Negated or open accusations: "did not formally charge North Korea", "refused to confirm whether".
_NEGATED = re.compile(
    r"\b(?:not|never|no|declined to|refused to|did not|didn't|without|stopped short of|whether)\b"
    r"(?:\s+\w+){0,3}\s+(?:confirm\w*|say|said|blam\w*|accus\w*|attribut\w*|nam\w*|specif\w*|identif\w*|charg\w*|"
    r"point\w*|pin\w*|link\w*|or not)\b|\bwhether\b", re.I)
# "... groups such as ..., which have been linked to ..."; claims about earlier incidents.
# An actor's record: claims about what it did before ("has long been accused of").
ACTOR_RECORD = re.compile(
    r"\b(?:has|have|had) (?:\w+ )?(?:long |previously |repeatedly |also |already |allegedly )?been "
    r"(?:accused|blamed|linked|tied|behind|suspected|charged|named)\b|\bover the (?:past )?years\b|"
    r"\b(?:was|were) (?:previously |earlier |once )?(?:thought|believed|said|suspected) to (?:be|have)\b", re.I)
# Earlier events without the text's own incident ("previously", "in the past", "other attacks").
EARLIER = re.compile(
    r"\bpreviously\b(?! (?:unknown|undocumented|unreported|unseen|undisclosed|unidentified|undetected))|"
    r"\bin the past\b(?! (?:few |several |couple of |two |three |\d+ )?(?:days|weeks|months|hours)\b)|\b(?:other|earlier|previous|prior|similar) (?:attacks|incidents|hacks|breaches|campaigns|operations)\b",
    re.I)
# "North Korean hackers", "Russian state-sponsored group": a nationality given to the attackers.
ACTOR_NOUN = re.compile(
    r"^\s*(?:state[- ]sponsored |government[- ]backed |state[- ]backed |military |intelligence )?"
    r"(?:hackers?|hacking (?:group|team)s?|threat actors?|actors?|groups?|APTs?|operators?|spies|cyber ?spies|"
    r"attackers?|intruders?|cyber ?criminals?|intelligence|military|hacking|cyber ?espionage)\b", re.I)
# A sentence's opening reporting frame: "The source said:", "According to two people familiar with the
# matter,", "Microsoft said earlier this month that". It says who speaks, not what was done.
REPORTING_FRAME = re.compile(
    r"^\s*(?:according to\s+(?:[\w'.&()-]+\s+){0,7}?[\w'.&()-]+\s*,"
    r"|(?:[\w'.&()-]+\s+){0,5}?(?:said|says|reported|reports|told\s+[\w'.-]+|stated|states|wrote|writes|added|noted)"
    r"(?:\s+(?:on|in|earlier|last|this|on\s+\w+)(?:\s+[\w]+){0,2}?)?\s*(?::|,|\s+that\b))\s*", re.I)
def confidence(sentence: str, stance: str) -> int:
    return estimate(sentence, stance).confidence


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
    described: bool = False    # a state named only as a group's origin or sponsor ("operating out of China")


def named_actors(sentence: str, gazetteer: Gazetteer) -> list[Named]:
    """Actors a sentence names: known aliases, nationalities given to attackers ("North Korean
    hackers", "hackers from Iran, China and Russia"), states accused by name ("attributed to North
    Korea", "officials in Moscow", "Russia is almost certainly behind"), arms of a state ("the GRU",
    "People's Liberation Army": their state), and group names by vendors' schemes (APT38,
    UNC1234) the graph does not know. A known actor's name inside a tool's name ("Cobalt" in
    "Cobalt Strike") names no actor.
    """
    out: list[Named] = []
    spans: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in spans)

    # a tool's name is not an actor's: its span is taken first (kept only to block actors)
    tool_spans = [(m.start, m.end) for m in find_names(sentence, gazetteer.tools, gazetteer, software=True)
                  if len(m.text.split()) > 1 or SOFTWARE_CUE.search(sentence[m.end:m.end + 25])]
    # arms of a state first ("the Russian military", "Chinese People's Liberation Army")
    for m in ORGAN.finditer(sentence):
        code = organ_country(m.group(0))
        if code:
            spans.append((m.start(), m.end()))
            out.append(Named(state_party(code[0], gazetteer), m.start(), m.end(), 0.85,
                             ACTOR_NOUN.match(sentence[m.end():]) is not None))
    # countries: a state is named as the actor only in an accusing position ("attributed to
    # North Korea", "North Korean hackers", "hackers from Iran, China and Russia", "officials in
    # Moscow", "Russia is behind"); any other mention ("US officials", "a bank in Bangladesh")
    # names no actor, whatever the aliases say
    listed_until = -1  # end of the last accused country, for lists
    for m in country_mentions(sentence, capitals=True):
        if not free(m.start, m.end):
            continue
        spans.append((m.start, m.end))
        before = sentence[max(0, m.start - 80):m.start]  # the cues end right before the name
        after = sentence[m.end:m.end + 80]
        origin = bool(_ORIGIN.search(sentence[max(0, m.start - 200):m.start]))
        accused = bool(_ACCUSED.search(before))
        accused_after = bool(_ACCUSED_AFTER.match(after))
        listed = listed_until >= 0 and _LIST_GAP.fullmatch(sentence[listed_until:m.start]) is not None
        nationality = m.form == "adjective" and ACTOR_NOUN.match(after) is not None
        government = m.form in ("adjective", "name") and _STATE_NOUN.match(after) is not None \
            and (accused or bool(_ACCUSED_AFTER.match(after[_STATE_NOUN.match(after).end():])))
        if m.form == "capital" and not (accused or accused_after or listed or origin):
            continue
        if nationality or government or (m.form in ("name", "capital") and (accused or origin or listed or accused_after)):
            listed_until = m.end
            out.append(Named(state_party(m.code, gazetteer), m.start, m.end, 0.8,
                             nationality or origin or listed or accused_after or government,
                             described=bool(_DESCRIBED.search(before)) and not accused_after))
    for m in find_names(sentence, gazetteer.actors, gazetteer):
        if free(m.start, m.end) and not any(a <= m.start and m.end <= b and (a, b) != (m.start, m.end)
                                            for a, b in tool_spans):
            actor = best(m.entries, m.text)
            if _plain_word(m.text) and normalise_name(actor.name) != normalise_name(m.text) \
                    and not _GROUP_CUE.match(sentence[m.end:]) and not _ACCUSED.search(sentence[max(0, m.start - 80):m.start]):
                continue  # an everyday word that is also an alias ("Dune", "Snake"): only as a group's name
            spans.append((m.start, m.end))
            out.append(Named(Party(actor.key, actor.name, actor.kind or "group", actor.country, False),
                             m.start, m.end, 0.9, False))
    # persons charged by name: "Defendants A B and C D were indicted", "charged two men, A B and C D"
    for m in _CHARGED_PERSONS.finditer(sentence):
        names = m.group("before") or m.group("after")
        offset = m.start("before") if m.group("before") else m.start("after")
        for p in _PERSON_NAME.finditer(names):
            a, b = offset + p.start(), offset + p.end()
            if free(a, b) and not country_mentions(p.group(0), capitals=True):
                spans.append((a, b))
                key = "actor:" + re.sub(r"[^a-z0-9]+", "-", p.group(0).lower()).strip("-")
                out.append(Named(Party(key, p.group(0), "person", None, True), a, b, 0.75, False))
    # a ransomware gang goes by its ransomware's name: "the DarkSide ransomware is responsible"
    for m in _RANSOMWARE_GANG.finditer(sentence):
        if free(m.start(1), m.end(1)) and (_ACCUSED_AFTER.match(sentence[m.end():])
                                           or _ACCUSED.search(sentence[max(0, m.start() - 80):m.start()])):
            known = find_names(m.group(1), gazetteer.actors, gazetteer)
            if known:
                actor = best(known[0].entries, m.group(1))
                party = Party(actor.key, actor.name, actor.kind or "group", actor.country, False)
            else:
                party = Party("actor:" + re.sub(r"[^a-z0-9]+", "-", m.group(1).lower()).strip("-"), m.group(1),
                              "group", None, True)
            spans.append((m.start(1), m.end(1)))
            out.append(Named(party, m.start(1), m.end(1), 0.8, False))
    for m in GROUP_NAME.finditer(sentence):
        if free(m.start(), m.end()):
            name = " ".join(m.group(0).split())
            out.append(Named(Party("actor:" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"), name, "group",
                                   None, True), m.start(), m.end(), 0.7, False))
    return sorted(out, key=lambda n: n.start)


_ACCUSED = re.compile(r"(?:attribut\w* (?:[\w'-]+ ){0,6}to|link\w* (?:[\w'-]+ ){0,5}(?:to|with)|tied (?:\w+ ){0,3}to|"
                      r"accus\w*|blam\w*|blamed on|pinned (?:\w+ ){0,4}on|(?:the )?finger at|charg\w*|indict\w*|"
                      r"carried out by|conducted by|perpetrated by|orchestrated by|launched by|committed by|"
                      r"sponsored by|backed by|on behalf of|associated with|affiliated with|work of|"
                      r"confront\w*|sanction\w*|condemn\w*|held|hold|holding)\s+(?:the\s+)?"
                      r"(?:(?:officials|authorities|leaders|government|regime|hackers|spies|agents|intelligence services?)"
                      r"\s+(?:in|of|from)\s+(?:the\s+)?)?$", re.I)
# After a state's name: "Russia is almost certainly behind", "the DPRK would be held accountable".
_ACCUSED_AFTER = re.compile(
    r"^(?:['\u2019]s\s+(?:government|military|regime|intelligence(?: services?)?))?\s*"
    r"(?:(?:is|was|are|were|has been|had been|would be|will be|should be|must be|be)\s+"
    r"(?:(?:\w+ly|almost certainly|most likely|likely|probably|also|not|the one|held)\s+){0,3}"
    r"(?:behind|responsible|accountable|to blame|at fault|the culprit|the perpetrator|guilty|"
    r"(?:accused|blamed|suspected) (?:of|for))|"
    r"(?:had |has |have )?(?:\w+ly\s+)?(?:carried out|conducted|perpetrated|orchestrated|launched|mounted|staged) "
    r"(?:the|this|these|that|last)\b)\b", re.I)
# After an adjective or name: the state itself ("the North Korean government is responsible").
_STATE_NOUN = re.compile(r"^\s*(?:government|regime|state|authorities|leadership|administration)\b", re.I)
_ORIGIN = re.compile(r"\b(?:hackers?|actors?|groups?|attackers?|spies|operators?|intruders?)\s+(?:\w+\s+)?"
                     r"(?:from|in|based in|working for|linked to)\s+(?:the\s+)?$|"
                     r"\b(?:hackers?|actors?|group|groups|attackers?|spies|operators?|intruders?|gang|crew|APT\w*)\b"
                     r"[^.;:]{0,160}?\b(?:based|located|operating|run) (?:in|out of|from)\s+(?:the\s+)?$|"
                     r"\b(?:originating|emanating|coming|launched|routed|directed) (?:in|from|out of)\s+(?:the\s+)?$", re.I)
_DESCRIBED = re.compile(r"\b(?:based|located|operating|originating) (?:in|out of|from)\s+(?:the\s+)?$|"
                       r"\b(?:associated|affiliated|aligned) with\s+(?:the\s+)?$|\b(?:sponsored|backed) by\s+(?:the\s+)?$", re.I)
_PERSON_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2}\b")
_NAME_LIST = r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2}(?:(?:,\s+|,?\s+and\s+)[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2})*"
_CHARGED_PERSONS = re.compile(
    r"\b(?i:defendants?|suspects?|nationals?|officers?|men|individuals|hackers?|members?|citizens?)\s+(?P<before>" + _NAME_LIST +
    r")\s+(?:were|was|have been|has been|are|is)\s+(?:\w+ly\s+)?(?:indicted|charged|accused|named|sanctioned|convicted)\b|"
    r"\b(?:indicted|charged|accused|named|sanctioned|convicted)\s+(?:\w+\s+){0,3}?(?:defendants?|suspects?|nationals?|"
    r"officers?|men|individuals|hackers?|members?|citizens?),?\s+(?P<after>" + _NAME_LIST + r")")
_RANSOMWARE_GANG = re.compile(r"(?:the\s+)?\b([A-Z][\w-]*[A-Za-z0-9])\s+ransomware(?:\s+(?:gang|group|operators?|crew|"
                              r"affiliates?|actors?))?\b")
_GROUP_CUE = re.compile(r"[\"'\u201d]?\s+(?:[\w-]+\s+)?(?:group|gang|team|hackers?|actors?|collective|crew|APT|operators?|"
                        r"unit|cell|cluster|outfit|threat|hacking|cyber ?espionage|espionage)\b", re.I)


def _plain_word(text: str) -> bool:
    """One word spelt like an everyday word ("Snake", "Dune"): no digit, no capital inside."""
    return " " not in text and text[:1].isupper() and text[1:].islower() and text.isalpha()


_LIST_GAP = re.compile(r",\s*(?:and\s+|or\s+)?(?:the\s+)?|\s+(?:and|or)\s+(?:the\s+)?")


def reported_content(sentence: str) -> str:
    """The sentence without its opening reporting frame (`REPORTING_FRAME`): what the speaker says
    happened. A sentence that is only a frame stays whole."""
    rest = REPORTING_FRAME.sub("", sentence, count=1)
    return rest if rest.strip() else sentence


# Verbs whose subject is the accuser ("The FBI formally accused ...", "Mandiant attributed ...").
_ACCUSING = re.compile(
    r"\b(?:accused|accuses|accuse|accusing|blamed|blames|blame|blaming|attributed|attributes|attribute|"
    r"attributing|linked|links|link|linking|tied|ties|charged|charges|indicted|indicts|pinned|pins|"
    r"pointed the finger|points the finger|point the finger|held|holds|hold|implicated|implicates|"
    r"named|names|assign(?:s|ed)? the blame|confirmed|confirms|concluded|concludes|assessed|assesses|assess|"
    r"determined|said|says|told|stated|announced|reported|reports|claimed|claims|alleged|alleges)\b", re.I)
_PASSIVE = re.compile(r"\b(?:is|are|was|were|been|be|being)\s+(?:\w+ly\s+)?$", re.I)
_ACCUSATION_BY = re.compile(
    r"(?:\b(?:the\s+)?((?:[\w.'\u2019-]+\s+){0,3}?[\w.'\u2019-]+)\s+(?:accusations?|allegations?|charges?)\s+(?:that|of|against)\b)|"
    r"(?:\b(?:accusations?|allegations?|claims|charges)\s+(?:by|from)\s+(?:the\s+)?((?:[\w.'\u2019-]+\s+){0,3}?[\w.'\u2019-]+?)"
    r"(?=\s+(?:and|that|of|against|over)\b|[,.;]|$))", re.I)


@dataclass
class Reading:
    """What one sentence claims: a stance on an actor, said by a speaker (None: the report)."""

    stance: str
    party: Party
    score: float
    speaker: Speaker | None
    note: str = ""
    review_only: bool = False     # recorded for the reviewer, never selected (a false flag)


def read_sentence(sentence: str, named: list[Named], gazetteer: Gazetteer, discourse: Discourse,
                  quoted_by: Speaker | None = None) -> list[Reading]:
    """The claims of one sentence. The speaker: the accuser for an accusing verb with a party as its
    subject, else whom the sentence quotes (a quotation's attribution, "according to X", the
    subject of a reporting verb, or `quoted_by`: the attribution of the quotation it is part of).
    False flags name the impersonated party (recorded for review, never an attribution); "X
    accused Y of fabricating" is X's denial; negated or open accusations ("did not charge",
    "whether") and a state named only as a group's origin are no claims of their own."""
    reporter = _reporter(sentence, discourse) or quoted_by
    accuser = _accuser(sentence, discourse)
    speaker = accuser if accuser and accuser.kind != "anonymous" else reporter
    found = stance(sentence)
    out: list[Reading] = []
    fabrication = FABRICATION.search(sentence)
    if found == "denies" or (fabrication and found in (None, "attributes")):
        denial = DENIES.search(sentence)
        subject = discourse.resolve(subject_before(sentence, denial.start())) if denial else None
        if subject and subject.kind == "government":
            speaker = subject   # "The Kremlin flatly rejected ...", "Russia denied ..."
        for code in _deniers(sentence, speaker, reporter, bool(fabrication)):
            party = state_party(code, gazetteer)
            denier = speaker if speaker and speaker.country == code else None
            out.append(Reading("denies", party, 0.85, denier or _state_speaker(code)))
            for accusing in _accusations_by(sentence, discourse):
                if accusing.country != code:
                    out.append(Reading("attributes", party, 0.7, accusing, "the accusation the denial answers"))
        return out
    if found == "disputes" and not any(not n.described for n in named):
        if speaker and speaker.country:   # "a criminal case, not state-sponsored", said for a state
            out.append(Reading("disputes", state_party(speaker.country, gazetteer), 0.7, speaker))
        return out
    if found is None and any(n.intrinsic for n in named):
        found = "attributes"
    if found is None:
        return out
    flag = FALSE_FLAG.search(sentence)
    groups = any(n.party.kind != "state" for n in named)
    for n in named:
        if speaker and normalise_name(n.party.name) == normalise_name(speaker.name):
            continue
        if n.described and groups:
            continue
        if flag and flag.start() < n.start:
            out.append(Reading("disputes", n.party, n.score, speaker,
                               f"false flag: '{flag.group(0)}' this actor (the impersonated party)", True))
            continue
        if _NEGATED.search(sentence[max(0, n.start - 60):n.start]):
            continue
        out.append(Reading(found, n.party, n.score, speaker))
    return out


def _reporter(sentence: str, discourse: Discourse) -> Speaker | None:
    """Whom the sentence quotes."""
    from loaders.reports.parties import REPORTING_VERB, according_to, quote_attribution

    for phrase in (quote_attribution(sentence), according_to(sentence)):
        found = discourse.resolve(phrase)
        if found:
            return found
    for m in re.finditer(r"\b" + REPORTING_VERB + r"\b", sentence):
        found = discourse.resolve(subject_before(sentence, m.start()))
        if found:
            return found
    return None


def _accuser(sentence: str, discourse: Discourse) -> Speaker | None:
    """The subject of the first accusing verb in the active voice; in the passive, its "by" agent."""
    for m in _ACCUSING.finditer(sentence):
        if m.group(0).lower().endswith(("ed", "held")) and re.match(r"\s+(?:to|with)\b", sentence[m.end():]) \
                and not _PASSIVE.search(sentence[:m.start()]):
            continue  # a participle ("campaigns attributed to X"): no accuser
        if m.group(0).lower().endswith(("ed", "held", "told")) and _PASSIVE.search(sentence[:m.start()]):
            by = re.match(r"\s+(?:\w+\s+){0,6}?by\s+((?:the\s+)?(?:[\w.'&\u2019()-]+\s+){0,5}?[\w.'&\u2019()-]+?)(?=[,.;]|\s+(?:to|in|on|as|for|of|that)\b|$)",
                          sentence[m.end():])
            found = discourse.resolve(by.group(1)) if by else None
        else:
            found = discourse.resolve(subject_before(sentence, m.start()))
        if found:
            return found
    return None


def _deniers(sentence: str, speaker, reporter, fabrication: bool) -> list[str]:
    """The states that deny: the speaker's (a government saying the story is invented, or
    denying), else the countries named before the denying words ("Tehran, Beijing and Moscow
    have denied")."""
    codes: list[str] = []
    for party in (speaker, reporter):
        if party and party.country and party.kind == "government" and party.country not in codes:
            codes.append(party.country)
    if codes and fabrication:
        return codes[:1]
    m = DENIES.search(sentence)
    if m and not fabrication:
        for mention in country_mentions(sentence[:m.start()], capitals=True):
            before = sentence[max(0, mention.start - 30):mention.start]
            if re.search(r"\b(?:by|from|of)\s+(?:the\s+)?$", before, re.I):
                continue  # "claims by the U.S. government": the accuser
            if mention.code not in codes:
                codes.insert(0, mention.code) if not codes else codes.append(mention.code)
    return codes if not fabrication else codes[:1]


def _accusations_by(sentence: str, discourse: Discourse) -> list[Speaker]:
    """Who made the accusation a denial names ("rejected the U.S. accusation that ...", "claims by
    the U.S. government")."""
    out = []
    for m in _ACCUSATION_BY.finditer(sentence):
        phrase = m.group(1) or m.group(2)
        found = discourse.resolve(phrase) if phrase else None
        if found and found.kind == "government":
            out.append(found)
    return out


def _state_speaker(code: str) -> Speaker:
    return Speaker(country_name(code), "government", code)
