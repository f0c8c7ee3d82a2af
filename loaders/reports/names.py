"""The names the graph knows (tools, actors, sources) as plain data, and finding them in a sentence.

The CLI and the app read the rows with `graph.reads.gazetteer_rows(db)` and pass
`Gazetteer.from_rows(rows)` in: extraction never touches the database.

A name matches where the text spells it as a name: the span holds a capital letter or a digit
(a known spelling that is all lower case, like the `net` or `at` commands, matches only exactly and
next to a word such as "tool" or "command"), and a single word that is also an everyday English
word at the start of a sentence does not count.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from graph.model import normalise_name

# Words near a name that say it is software.
SOFTWARE_CUE = re.compile(
    r"\b(?:malware|backdoors?|RATs?|remote access (?:trojan|tool)s?|trojans?|loaders?|ransomware|implants?|"
    r"droppers?|stealers?|infostealers?|wipers?|downloaders?|keyloggers?|rootkits?|botnets?|web ?shells?|"
    r"payloads?|variants?|famil(?:y|ies)|tools?|utilit(?:y|ies)|commands?|binar(?:y|ies)|frameworks?|"
    r"beacons?|samples?|executables?|scripts?|modules?|plugins?)\b", re.I)
# A name the text introduces as new software ("a backdoor called Foo", "the Foo backdoor").
_KIND = (r"(?:malware|backdoor|RAT|remote access trojan|trojan|loader|ransomware|implant|dropper|stealer|"
         r"infostealer|wiper|downloader|keylogger|rootkit|botnet|web ?shell)")
_TOOL_NAME = r"([A-Z][A-Za-z0-9]*[A-Za-z0-9_.-]*[A-Za-z0-9]|[A-Z])"
NEW_TOOL = [
    re.compile(_KIND + r"\s+(?:called|named|dubbed|known as|tracked as)\s+[\"'\u201c]?" + _TOOL_NAME),
    re.compile(r"\b(?:the|a|an|new|custom|its)\s+[\"'\u201c]?" + _TOOL_NAME + r"[\"'\u201d]?\s+" + _KIND + r"\b"),
    re.compile(_TOOL_NAME + r"\s+(?:is|was)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}" + _KIND + r"\b"),
]
# Capitalised words that precede "malware" without naming a family.
GENERIC_SOFTWARE_WORDS = frozenset(
    "the a an new custom this that its their remote access android windows linux macos ios mobile "
    "python powershell javascript java go office word excel modular malicious additional second "
    "first final initial known unknown same other sophisticated destructive commodity open source "
    "placeholder".split())
# Group names by vendors' naming schemes, for actors the graph does not know yet.
GROUP_NAME = re.compile(
    r"\b(?:APT ?-?\d{1,3}|UNC\d{2,5}|TA\d{3,4}|FIN\d{1,2}|TEMP\.[A-Z][a-z]+|DEV-\d{4}|Storm-\d{4}|"
    r"G\d{4}|[A-Z][a-z]+ (?:Panda|Bear|Kitten|Chollima|Spider|Tiger|Jackal|Typhoon|Blizzard|Sleet|"
    r"Sandstorm|Tempest|Hail|Rain|Dust|Flood|Tsunami|Cyclone))\b")
MAX_TOKENS = 6
# Function words: as one-word names (a galaxy synonym "It", "Us", "Who") they never count.
FUNCTION_WORDS = frozenset(
    "a about above after again against all also am an and any are as at be because been before being "
    "below between both but by can could did do does doing down during each either few for from further "
    "had has have having he her here hers him his how i if in into is it its itself just me more most my "
    "no nor not now of off on once only or other our ours out over own same she should so some such than "
    "that the their them then there these they this those through to too under until up us very was we "
    "were what when where which while who whom why will with would you your".split())
_WORD = re.compile(r"[\w][\w.&+'-]*[\w+]|[\w]")


@dataclass(frozen=True)
class Known:
    key: str
    name: str
    kind: str | None = None          # actor kind, source kind
    country: str | None = None       # a state actor's country
    external_ids: tuple[str, ...] = ()


@dataclass
class Gazetteer:
    """Normalised name -> what it names (several entries when sources disagree)."""

    tools: dict[str, list[Known]] = field(default_factory=dict)
    actors: dict[str, list[Known]] = field(default_factory=dict)
    sources: dict[str, Known] = field(default_factory=dict)
    spellings: dict[str, set[str]] = field(default_factory=dict)  # normalised -> spellings seen
    actor_keys: dict[str, Known] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: dict) -> "Gazetteer":
        """`rows` as graph.reads.gazetteer_rows returns them:
        {"tools": [{key, name, aliases}], "actors": [{key, name, kind, country, external_ids, aliases}],
         "sources": [{key, name, kind}]}."""
        g = cls()
        for row in rows.get("tools", []):
            tool = Known(row["key"], row.get("name") or row["key"], external_ids=tuple(row.get("external_ids") or ()))
            for name in [row.get("name")] + list(row.get("aliases") or []):
                g._add(g.tools, name, tool)
        for row in rows.get("actors", []):
            actor = Known(row["key"], row.get("name") or row["key"], row.get("kind"), row.get("country"),
                          tuple(row.get("external_ids") or ()))
            g.actor_keys[actor.key] = actor
            for name in [row.get("name")] + list(row.get("aliases") or []):
                g._add(g.actors, name, actor)
        for row in rows.get("sources", []):
            source = Known(row["key"], row.get("name") or row["key"], row.get("kind"))
            for name in (row.get("name"), row["key"]):
                if name and normalise_name(name):
                    g.sources.setdefault(normalise_name(name), source)
        return g

    def _add(self, table: dict[str, list[Known]], name: str | None, item: Known) -> None:
        if not name or not isinstance(name, str):
            return
        key = normalise_name(name)
        if len(key) < 2:
            return
        entries = table.setdefault(key, [])
        if item not in entries:
            entries.append(item)
        self.spellings.setdefault(key, set()).add(name.strip())

    def source(self, name_or_key: str) -> Known | None:
        return self.sources.get(normalise_name(name_or_key))

    def government_source(self, country_name: str) -> Known | None:
        """A government Source named after the country ("Government of North Korea (KCNA)")."""
        folded = country_name.casefold()
        for source in self.sources.values():
            if source.kind == "government" and folded in source.name.casefold():
                return source
        return None


@dataclass(frozen=True)
class Match:
    text: str
    start: int
    end: int
    entries: tuple[Known, ...]


def find_names(sentence: str, table: dict[str, list[Known]], gazetteer: Gazetteer,
               software: bool = False) -> list[Match]:
    """Longest spans of `sentence` that `table` knows, left to right, none overlapping."""
    if not table:
        return []
    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(sentence)]
    found: list[Match] = []
    i = 0
    while i < len(words):
        hit = None
        for n in range(min(MAX_TOKENS, len(words) - i), 0, -1):
            start, end = words[i][1], words[i + n - 1][2]
            text = sentence[start:end]
            key = _normalised(text)
            if key in table and _spelt_as_name(text, key, i == 0, n, sentence, start, end, gazetteer, software):
                hit = Match(text, start, end, tuple(table[key]))
                i += n
                break
        if hit:
            found.append(hit)
        else:
            i += 1
    return found


# A sentence's spans are looked up in several tables (tools, actors) and by several readers: one
# normalisation per distinct span.
_normalised = lru_cache(maxsize=1 << 17)(normalise_name)


def _spelt_as_name(text: str, key: str, first: bool, n: int, sentence: str, start: int, end: int,
                   gazetteer: Gazetteer, software: bool) -> bool:
    spellings = gazetteer.spellings.get(key, set())
    if not any(c.isupper() or c.isdigit() for c in text):
        # all-lower-case names ("net", "at") only right next to a word that says software
        return software and text in {sp.lower() for sp in spellings} and _cue_near(sentence, start, end, 12)
    if n == 1 and text.lower() in FUNCTION_WORDS:
        return False
    if n == 1 and first and text.istitle() and text.lower() == key and not _cue_near(sentence, start, end):
        return text in spellings and len(text) > 5
    return True


def _cue_near(sentence: str, start: int, end: int, reach: int = 40) -> bool:
    return bool(SOFTWARE_CUE.search(sentence[max(0, start - reach):start]) or
                SOFTWARE_CUE.search(sentence[end:end + reach]))


def new_tool_names(sentence: str) -> list[tuple[str, int, int]]:
    """Names the sentence calls malware/a backdoor/a RAT/... (name, start, end)."""
    out = []
    for pattern in NEW_TOOL:
        for m in pattern.finditer(sentence):
            name = m.group(1).rstrip(".-")
            if name.lower() in GENERIC_SOFTWARE_WORDS or len(name) < 3 or "PLACEHOLDER" in name.upper():
                continue
            if all(name != n for n, _, _ in out):
                out.append((name, m.start(1), m.start(1) + len(name)))
    return out


def best(entries: tuple[Known, ...], text: str) -> Known:
    """Of several things one name denotes: the one whose own name it is, then an ATT&CK one."""
    key = normalise_name(text)
    return sorted(entries, key=lambda k: (normalise_name(k.name) != key, not k.key.startswith("attack:"),
                                          k.key))[0]
