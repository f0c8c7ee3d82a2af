"""Who speaks in a news sentence and for whom: the parties a text names (a government by its
agencies, seats and officials; a company; a person with the organisation the text gives them) and
the subject of a reporting or accusing verb, with coreference to the party named earlier ("the
agency said", "Barr said", "he added").

`Party` here is a speaker: `country` set for a government (or a body speaking for it), `name` the
party's own name as the text writes it. claims.py decides what they say.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from loaders.reports.places import country_mentions

# Government bodies that speak for their state (agencies, ministries, seats, official media): the
# name as news writes it -> ISO alpha-2. Generic names ("the foreign ministry") need a country.
GOVERNMENT_BODIES: dict[str, str] = {n.lower(): c for c, names in {
    "US": ["FBI", "Federal Bureau of Investigation", "NSA", "National Security Agency", "CIA",
           "Central Intelligence Agency", "DHS", "Department of Homeland Security", "Homeland Security",
           "CISA", "Cybersecurity and Infrastructure Security Agency", "Justice Department",
           "Department of Justice", "DOJ", "Treasury", "Treasury Department", "Department of the Treasury",
           "State Department", "Department of State", "White House", "Pentagon", "Department of Defense",
           "Cyber Command", "ODNI", "Office of the Director of National Intelligence", "Secret Service",
           "US Cyber Command", "OFAC"],
    "GB": ["NCSC", "National Cyber Security Centre", "GCHQ", "Foreign Office", "Foreign and Commonwealth Office",
           "Foreign, Commonwealth and Development Office", "FCDO", "Home Office", "Downing Street",
           "Ministry of Defence", "MI5", "MI6", "Whitehall"],
    "RU": ["Kremlin", "FSB", "Federal Security Service", "TASS", "RIA Novosti", "Roskomnadzor"],
    "CN": ["Xinhua", "Xinhua News Agency", "Global Times", "CGTN", "Zhongnanhai"],
    "KP": ["KCNA", "Korean Central News Agency", "Rodong Sinmun"],
    "UA": ["SBU", "Security Service of Ukraine", "CERT-UA", "State Service of Special Communications"],
    "DE": ["BSI", "BfV", "Federal Office for Information Security", "Bundesamt für Verfassungsschutz"],
    "FR": ["ANSSI"], "NL": ["AIVD", "MIVD"], "NO": ["PST"],
    "AU": ["Australian Signals Directorate", "ASD", "ACSC", "Australian Cyber Security Centre"],
    "CA": ["Communications Security Establishment", "Canadian Centre for Cyber Security"],
    "NZ": ["GCSB", "Government Communications Security Bureau"],
    "IR": ["IRNA", "Fars"],
}.items() for n in names}
# Arms of a state that act (intelligence services, armed forces): an actor so named is its state.
ORGANS: dict[str, str] = {n.lower(): c for c, names in {
    "RU": ["GRU", "Main Intelligence Directorate", "Russian military intelligence", "SVR",
           "Foreign Intelligence Service", "FSB", "Federal Security Service", "Russian military"],
    "CN": ["People's Liberation Army", "PLA", "Ministry of State Security", "MSS", "Chinese military"],
    "KP": ["Reconnaissance General Bureau", "RGB", "North Korean military"],
    "IR": ["IRGC", "Islamic Revolutionary Guard Corps", "Revolutionary Guards", "MOIS",
           "Ministry of Intelligence and Security", "Ministry of Intelligence"],
}.items() for n in names}
_BODY = re.compile(r"(?<![\w.])(?:" + "|".join(sorted((re.escape(n) for n in GOVERNMENT_BODIES), key=len, reverse=True))
                   + r")(?![\w])", re.I)
ORGAN = re.compile(r"(?<![\w.])(?:" + "|".join(sorted((re.escape(n) for n in ORGANS), key=len, reverse=True))
                    + r")(?![\w])", re.I)

# Nouns that make a party of a country ("US officials", "the Chinese foreign ministry") or that are
# the party's role ("spokesman", "Defence Secretary").
GOVERNMENT_NOUN = re.compile(
    r"\b(?:government|administration|officials?|authorities|prosecutors?|ministry|minister|ministers|"
    r"embassy|spokes(?:man|woman|person)|department|agency|agencies|state media|president|premier|"
    r"prime minister|secretary|attorney general|chancellor|intelligence|law enforcement|cabinet|"
    r"regime|parliament|leaders?|diplomats?|envoy|ambassador|police|court|grand jury|military|army|"
    r"(?:security|intelligence) services?|services)\b", re.I)
# Speakers with no party of their own: the report conveys them (the outlet is the speaker).
ANONYMOUS_HEAD = re.compile(
    r"^(?:sources?|people|persons?|individuals|researchers?|investigators?|experts?|analysts?|specialists?|"
    r"someone|insiders?|observers?|critics|a person|officials?|authorities|it|they|who|many|some|others)$", re.I)
# Pronouns and definite descriptions that point back at a party named earlier, by the kind they need.
ANAPHORS: dict[str, str] = {
    "he": "person", "she": "person", "the spokesman": "person", "the spokeswoman": "person",
    "the spokesperson": "person", "the official": "person", "the minister": "person",
    "the agency": "government", "the bureau": "government", "the ministry": "government",
    "the department": "government", "the government": "government", "the embassy": "government",
    "the statement": "any", "the report": "any", "the indictment": "government",
    "the company": "company", "the firm": "company", "the vendor": "company", "the researchers": "company",
    "the newspaper": "media", "the paper": "media", "the outlet": "media", "the journal": "media",
    "the agency's": "government", "it": "any", "they": "any",
}
# Words that introduce a company or team ("security firm FireEye", "the research team iSIGHT Partners").
_COMPANY_WORDS = re.compile(r"\b(?:company|firm|vendor|team|group|giant|maker|provider|lab|labs|researchers|"
                            r"unit|center|centre)\b", re.I)
_MEDIA_WORDS = re.compile(r"\b(?:Journal|Times|Post|News|Reuters|Bloomberg|Associated Press|AP|BBC|CNN|"
                          r"Guardian|Telegraph|Wire|Herald|Tribune|Gazette|Magazine|Agency)\b")

REPORTING_VERB = (r"(?:said|says|say|told|tells|stated|states|state|announced|announces|reported|reports|"
                  r"wrote|writes|added|adds|noted|notes|claimed|claims|alleged|alleges|concluded|concludes|"
                  r"assessed|assesses|assess|believes|believe|found|finds|confirmed|confirms|revealed|reveals|"
                  r"warned|warns|explained|continued|insisted|insists|argued|commented|responded|replied|"
                  r"declared|determined|asserted|maintained)")
_ADVERBIAL = re.compile(
    r"(?:\s+(?:has|have|had|is|are|was|were|been|being|will|would|could|can|may|might|did|does|do|also|now|then|publicly|formally|officially|jointly|separately|previously|promptly|"
    r"categorically|firmly|flatly|strongly|repeatedly|again|later|first|on|in|at|late|early|last|this|long|"
    r"earlier|recently|and|so|far|\w+ly|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\w*\.?|\d{1,2}(?:st|nd|rd|th)?,?|"
    r"\d{4},?|week|month|year|statement|a|an|the))*\s*$", re.I)


@dataclass(frozen=True)
class Speaker:
    """A party that says something: its own name, a country when it speaks for a government."""

    name: str
    kind: str            # government | company | media | person | anonymous | international
    country: str | None = None


def government_country(phrase: str) -> str | None:
    """The state a phrase speaks for: a government body ("the FBI", "the Kremlin"), a seat
    ("Pyongyang"), or a country with a government noun ("US officials", "China's foreign ministry",
    "the UK Defence Secretary")."""
    m = _BODY.search(phrase)
    if m:
        return GOVERNMENT_BODIES[m.group(0).lower()]
    mentions = country_mentions(phrase, capitals=True)
    if not mentions:
        return None
    if any(m.form == "capital" for m in mentions) or GOVERNMENT_NOUN.search(phrase):
        return mentions[0].code
    words = [w for w in re.findall(r"[\w'.-]+", phrase) if w.lower() not in ("the", "'s")]
    if len(words) <= 3 and all(any(m.start <= phrase.find(w) < m.end for m in mentions) for w in words):
        return mentions[0].code     # the country alone: "Russia denied", "The U.S. ... is accusing"
    return None


def organ_country(phrase: str) -> tuple[str, str] | None:
    """(ISO2, name) of an arm of a state the phrase names ("the GRU", "People's Liberation Army")."""
    m = ORGAN.search(phrase)
    return (ORGANS[m.group(0).lower()], m.group(0)) if m else None


def classify(phrase: str) -> Speaker | None:
    """What party a speaker phrase names; None when it names none (an empty or lower-case phrase)."""
    text = re.sub(r"\s+", " ", phrase).strip(" ,;:\"'\u201c\u201d")
    text = re.sub(r"^(?:the|a|an|these|those|this|that|such|our|their|its|his|her)\s+", "", text, flags=re.I)
    if not text or text.lower() in _PRONOUNS or text.split()[-1].lower() in _PRONOUNS:
        return None   # "We", "they": the quotation's speaker, or the coreference, says who
    code = government_country(text)
    head = re.sub(r"^(?:the|a|an|two|three|several|some|many|other|unnamed|anonymous|senior|\S+-based)\s+", "",
                  text, flags=re.I)
    words = head.split()
    anonymous_head = bool(words) and bool(ANONYMOUS_HEAD.match(words[-1]))
    proper = [w for w in words if any(ch.isupper() for ch in w) and w.lower() not in _COMMON_ADJECTIVES
              and not GOVERNMENT_NOUN.fullmatch(w) and not ANONYMOUS_HEAD.match(w)
              and not country_mentions(w, capitals=True)]
    if code and not (anonymous_head and re.search(r"researchers?|experts?|analysts?|specialists?|sources?|people",
                                                  words[-1], re.I)):
        return Speaker(text, "government", code)
    if re.search(r"\b(?:EU|E\.U\.|European Union|European Council|European Commission|NATO|Five Eyes|Western)\b", text):
        return Speaker(_proper_run(text) or text, "international")
    if anonymous_head and not proper:
        return Speaker(text, "anonymous")
    name = _proper_run(text)
    if not proper or not name:
        return None
    if _MEDIA_WORDS.search(name):
        return Speaker(name, "media")
    if len(proper) >= 2 and all(w[:1].isupper() and w[1:].islower() for w in name.split()) \
            and not _COMPANY_WORDS.search(text) and len(name.split()) <= 3:
        return Speaker(name, "person")
    return Speaker(name, "company")


def _proper_run(text: str) -> str:
    """The longest run of name words ("iSIGHT Partners", "Microsoft Threat Intelligence Center (MSTIC)")."""
    runs, cur = [], []
    for w in re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.I).split():
        if any(ch.isupper() for ch in w) or (cur and (w.lower() in ("of", "and", "&", "for") or w.isdigit())) \
                or w.startswith("("):
            cur.append(w)
        else:
            if cur:
                runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    while runs and runs[-1] and runs[-1][-1].lower() in ("of", "and", "&", "for"):
        runs[-1].pop()
    best = max(runs, key=len) if runs else []
    return " ".join(best).strip(" ,.;:'\"").removesuffix("'s").removesuffix("\u2019s")


# Capitalised at the start of a speaker phrase without naming anyone ("Federal authorities").
_COMMON_ADJECTIVES = frozenset("federal local state national senior top regional independent private public "
                               "security government intelligence military cybersecurity cyber foreign "
                               "officials authorities investigators researchers experts analysts".split())


def subject_before(sentence: str, verb_start: int) -> str | None:
    """The noun phrase right before a verb (adverbs, time words and auxiliaries skipped), with an
    appositive ("The UK Defence Secretary, Gavin Williamson, publicly accused"); None when the
    words before the verb are no subject (a preposition's object: "in Ethereum reported")."""
    left = sentence[:verb_start]
    m = _ADVERBIAL.search(left)
    left = left[:m.start()] if m else left
    rest = left.rstrip()
    if rest.endswith(","):
        # a parenthetical between subject and verb: "The U.S., a source of ..., is accusing";
        # an appositive that names: "The UK Defence Secretary, Gavin Williamson, publicly accused"
        clause = re.split(r"[.;:\"\u201c\u201d]\s", rest[:-1])[-1]
        parts = [x.strip() for x in clause.split(",")]
        if len(parts) >= 2 and len(parts[0].split()) <= 7:
            named = parts[1] if len(parts) == 2 and _PERSON.fullmatch(parts[1]) else ""
            return f"{parts[0]}, {named}" if named else parts[0]
        rest = rest[:-1]
    words: list[str] = []
    while rest:
        m = re.search(r"([\w][\w.'&\u2019()-]*)$", rest)
        if not m:
            break
        w = m.group(1)
        if w.lower() in _STOP_LEFT:
            head = re.search(r"([\w'\u2019-]+)\s+$", rest[:m.start()])
            if w.lower() in ("in", "of", "from", "at") and words and words[0][:1].isupper() and head \
                    and (GOVERNMENT_NOUN.fullmatch(head.group(1)) or ANONYMOUS_HEAD.match(head.group(1))):
                words.insert(0, w)   # "Prosecutors in Norway", "officials at the ministry"
                rest = rest[:m.start()].rstrip()
                continue
            if w.lower() in _PREPOSITIONS and words:
                return None   # a preposition's object: "in Ethereum reported"
            break
        words.insert(0, w)
        rest = rest[:m.start()].rstrip()
        if len(words) >= 8:
            break
        if rest.endswith(","):
            break
    if not words:
        return None
    phrase = " ".join(words)
    return phrase


_PREPOSITIONS = frozenset("in of from on at by for with to into about against over under after before than as".split())
_STOP_LEFT = _PREPOSITIONS | frozenset("that which who whom whose and or but while when where because if "
                                       "although though since said says told".split())


def quote_attribution(sentence: str) -> str | None:
    """The speaker of a quotation: '... ," the agency said', '"...", said the spokesman',
    '"..." X added.'"""
    m = re.search(r"[,.!?]?[\"\u201d\u2019']\s*,?\s*((?:[\w.'&\u2019()-]+\s+){0,6}?[\w.'&\u2019()-]+)\s+"
                  + REPORTING_VERB + r"\b", sentence)
    if m and not re.search(r"\b(?:that|which)\b", m.group(1)):
        return m.group(1)
    m = re.search(r"[\"\u201d\u2019']\s*,?\s*" + REPORTING_VERB + r"\s+((?:[\w.'&\u2019()-]+\s+){0,6}?[\w.'&\u2019()-]+?)"
                  r"(?=\s*(?:[,.;]|\s+(?:in|on|at|to|of|late|early)\b|$))", sentence)
    if m:
        return m.group(m.lastindex)
    return None


def according_to(sentence: str) -> str | None:
    m = re.search(r"\b(?:according to|citing|as reported by|reports?|reported by)\s+((?:the\s+)?(?:[\w.'&\u2019()-]+\s+){0,6}?"
                  r"[\w.'&\u2019()-]+?)(?=\s*(?:[,;:]|\.?\s*$|\s+(?:that|who|and said|on|in)\b))", sentence, re.I)
    if m and m.group(0)[:7].lower() in ("accordi", "citing ", "as repo", "reporte") or \
            (m and re.search(r"[,\"\u201d']\s*$", sentence[:m.start()])):
        return m.group(1)
    return None


_PRONOUNS = frozenset("the a an we i you they it he she us our this that these those who".split())
# Titles before a person's name: part of the party, not of the name.
_TITLES = frozenset("minister secretary president premier chancellor spokesman spokeswoman spokesperson justice "
                    "defence defense foreign interior home attorney general prime deputy director chief senator "
                    "ambassador governor mayor commissioner special agent officer head vice state".split())
_PERSON = re.compile(r"\b([A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,4})\b")


class Discourse:
    """The parties named so far in a text, for coreference: the last one of each kind, and each
    person's party by surname ("U.S. Attorney General William Barr" ... "Barr said")."""

    def __init__(self) -> None:
        self.last: dict[str, Speaker] = {}
        self.persons: dict[str, Speaker] = {}
        self.companies: list[Speaker] = []

    def note(self, sentence: str) -> None:
        """Remember the government bodies, companies and titled persons the sentence names."""
        for m in _BODY.finditer(sentence):
            self._set(Speaker(m.group(0), "government", GOVERNMENT_BODIES[m.group(0).lower()]))
        for m in _PERSON.finditer(sentence):
            words = m.group(1).split()
            start = m.start()
            while words and words[0].lower() in _TITLES:
                start += len(words[0]) + 1
                words = words[1:]
            name = " ".join(words)
            if len(words) < 2 or country_mentions(name, capitals=True) or _BODY.search(name) \
                    or words[0].lower() in _NOT_GIVEN:
                continue
            before = sentence[max(0, start - 70):start]
            before = re.split(r"[.;:\"\u201c\u201d]|\b(?:and|said|that|while)\b", before)[-1]
            party = None
            code = government_country(before) if before.strip() else None
            if code:
                party = Speaker(before.strip(" ,"), "government", code)
            elif re.search(r"\b(?:CEO|founder|researcher|analyst|head|chief|director|spokes\w+|officer)\b", before, re.I):
                run = _proper_run(before)
                party = Speaker(run, "company") if run else None
            if party:
                self.persons[name.split()[-1]] = party
                self._set(party)

    def _set(self, speaker: Speaker) -> None:
        if speaker.kind == "company":
            self.companies.append(speaker)
        self.last[speaker.kind] = speaker
        self.last["any"] = speaker

    def resolve(self, phrase: str | None) -> Speaker | None:
        """The party a speaker phrase names, through coreference where it only points back."""
        if not phrase:
            return None
        text = re.sub(r"\s+", " ", phrase).strip(" ,;:\"'\u201c\u201d")
        low = text.lower().rstrip(".")
        if low in ANAPHORS:
            kind = ANAPHORS[low]
            if kind == "person":
                return self.last.get("person-party") or self.last.get("government")
            return self.last.get(kind) or (self.last.get("any") if kind == "any" else None)
        surname = text.split()[-1] if text else ""
        if surname in self.persons and (len(text.split()) == 1 or _PERSON.fullmatch(text)):
            return self.persons[surname]
        speaker = classify(text)
        if speaker and speaker.kind == "person" and speaker.name.split()[-1] in self.persons:
            return self.persons[speaker.name.split()[-1]]
        if speaker and speaker.kind == "company":
            for earlier in reversed(self.companies):
                if earlier.name.split()[0] == speaker.name.split()[0]:
                    return earlier   # "iSIGHT" after "iSIGHT Partners"
        if speaker and speaker.kind in ("government", "company", "media"):
            self._set(speaker)
        return speaker


_NOT_GIVEN = frozenset("the a an in on at for from by of to with this that these those its their our "
                       "mr mrs ms dr".split())
