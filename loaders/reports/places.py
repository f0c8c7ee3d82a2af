"""Countries (names, demonyms, adjectives, capitals as metonyms), sectors and organisations in a
sentence: the raw mentions; victims.py and claims.py decide what each mention is."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from graph.countries import country_code

# Adjectives and demonyms -> ISO alpha-2 (names themselves resolve through graph.countries).
DEMONYMS: dict[str, str] = {
    "afghan": "AF", "albanian": "AL", "algerian": "DZ", "american": "US", "argentine": "AR",
    "argentinian": "AR", "armenian": "AM", "australian": "AU", "austrian": "AT", "azerbaijani": "AZ",
    "azeri": "AZ", "bahraini": "BH", "bangladeshi": "BD", "belarusian": "BY", "belgian": "BE",
    "bolivian": "BO", "bosnian": "BA", "brazilian": "BR", "british": "GB", "bulgarian": "BG",
    "burmese": "MM", "cambodian": "KH", "cameroonian": "CM", "canadian": "CA", "chilean": "CL",
    "chinese": "CN", "colombian": "CO", "croatian": "HR", "cuban": "CU", "cypriot": "CY",
    "czech": "CZ", "danish": "DK", "dutch": "NL", "ecuadorian": "EC", "egyptian": "EG",
    "emirati": "AE", "english": "GB", "estonian": "EE", "ethiopian": "ET", "filipino": "PH",
    "finnish": "FI", "french": "FR", "georgian": "GE", "german": "DE", "ghanaian": "GH",
    "greek": "GR", "hungarian": "HU", "icelandic": "IS", "indian": "IN", "indonesian": "ID",
    "iranian": "IR", "iraqi": "IQ", "irish": "IE", "israeli": "IL", "italian": "IT",
    "japanese": "JP", "jordanian": "JO", "kazakh": "KZ", "kazakhstani": "KZ", "kenyan": "KE",
    "kuwaiti": "KW", "kyrgyz": "KG", "latvian": "LV", "lebanese": "LB", "libyan": "LY",
    "lithuanian": "LT", "malaysian": "MY", "maltese": "MT", "mexican": "MX", "moldovan": "MD",
    "mongolian": "MN", "montenegrin": "ME", "moroccan": "MA", "nepalese": "NP", "nepali": "NP",
    "new zealand": "NZ", "nigerian": "NG", "north korean": "KP", "norwegian": "NO", "omani": "OM",
    "pakistani": "PK", "palestinian": "PS", "peruvian": "PE", "polish": "PL", "portuguese": "PT",
    "qatari": "QA", "romanian": "RO", "russian": "RU", "saudi": "SA", "saudi arabian": "SA",
    "scottish": "GB", "serbian": "RS", "singaporean": "SG", "slovak": "SK", "slovenian": "SI",
    "south african": "ZA", "south korean": "KR", "spanish": "ES", "sri lankan": "LK",
    "sudanese": "SD", "swedish": "SE", "swiss": "CH", "syrian": "SY", "taiwanese": "TW",
    "tajik": "TJ", "thai": "TH", "tunisian": "TN", "turkish": "TR", "turkmen": "TM",
    "ugandan": "UG", "ukrainian": "UA", "uzbek": "UZ", "venezuelan": "VE", "vietnamese": "VN",
    "welsh": "GB", "yemeni": "YE", "zimbabwean": "ZW",
}
# Capitals and seats of government that news reports use for the government itself.
CAPITALS: dict[str, str] = {
    "pyongyang": "KP", "tehran": "IR", "beijing": "CN", "moscow": "RU", "the kremlin": "RU",
    "kremlin": "RU", "washington": "US", "the white house": "US", "london": "GB", "whitehall": "GB",
    "seoul": "KR", "tokyo": "JP", "kyiv": "UA", "kiev": "UA", "minsk": "BY", "damascus": "SY",
    "hanoi": "VN", "islamabad": "PK", "new delhi": "IN", "tel aviv": "IL", "jerusalem": "IL",
    "riyadh": "SA", "ankara": "TR", "caracas": "VE", "havana": "CU", "taipei": "TW",
}
# Upper-case short forms accepted as country mentions ("IT" or "AM" are not).
_SHORT_FORMS = frozenset({"US", "U.S.", "U.S", "UK", "U.K.", "USA", "UAE", "DPRK", "PRC", "ROK"})
_CONNECTORS = frozenset({"of", "and", "the", "of the"})

# Sector words -> the sector names the project uses (seed/ and the MISP galaxies).
SECTORS: list[tuple[re.Pattern, str]] = [(re.compile(p, re.I), name) for p, name in [
    (r"\bpharma(?:ceuticals?)?\b|\bvaccine (?:makers?|developers?|manufacturers?|research(?:ers)?)\b|\bdrug ?makers?\b", "pharmaceuticals"),
    (r"\bhealth ?care\b|\bhospitals?\b|\bhealth (?:officials|sector|organi[sz]ations?|agenc(?:y|ies)|providers?)\b|\bmedical\b", "healthcare"),
    (r"\bdefen[cs]e (?:compan(?:y|ies)|firms?|contractors?|industry|sector|industrial base|organi[sz]ations?)\b|\bmilitary contractors?\b", "defense"),
    (r"\baerospace\b|\baviation\b|\bairlines?\b", "aerospace"),
    (r"\bmedia (?:compan(?:y|ies)|organi[sz]ations?|outlets?|firms?)\b|\bjournalists?\b|\bnews (?:organi[sz]ations?|outlets?)\b|\bbroadcasters?\b", "media"),
    (r"\bbanks?\b|\bbanking\b|\bfinancial (?:institutions?|sector|services|organi[sz]ations?|firms?)\b|\bfintech\b", "financial"),
    (r"\bcrypto(?:currency)? (?:exchanges?|firms?|compan(?:y|ies))\b|\bblockchain (?:firms?|compan(?:y|ies))\b", "cryptocurrency"),
    (r"\benergy (?:compan(?:y|ies)|sector|firms?|utilit(?:y|ies))\b|\boil and gas\b|\bpower (?:grid|plants?|utilit(?:y|ies))\b|\belectric utilit(?:y|ies)\b", "energy"),
    (r"\btelecom(?:munications?)?(?: (?:compan(?:y|ies)|operators?|providers?|firms?))?\b", "telecommunications"),
    (r"\buniversit(?:y|ies)\b|\bacademi(?:a|c institutions?)\b|\beducation(?:al institutions?| sector)?\b", "education"),
    (r"\bresearch (?:institutes?|institutions?|centers?|centres?|organi[sz]ations?|labs?|laboratories)\b|\bthink tanks?\b", "research"),
    (r"\bgovernment (?:agenc(?:y|ies)|networks?|ministr(?:y|ies)|departments?|entities|institutions?|organi[sz]ations?|officials)\b|\bministr(?:y|ies) of\b|\bembass(?:y|ies)\b|\bdiplomat(?:s|ic)\b", "government"),
    (r"\bentertainment\b|\bfilm studios?\b|\bgaming compan(?:y|ies)\b", "entertainment"),
    (r"\bmanufactur(?:ing|ers?)\b|\bindustrial (?:firms?|compan(?:y|ies))\b", "manufacturing"),
    (r"\bchemical (?:compan(?:y|ies)|industry|firms?|plants?)\b", "chemical"),
    (r"\bnuclear\b", "nuclear"),
    (r"\bretail(?:ers?)?\b", "retail"),
    (r"\blaw firms?\b|\blegal sector\b", "legal"),
    (r"\bshipping\b|\bmaritime\b|\blogistics\b|\btransport(?:ation)?(?: sector| compan(?:y|ies))?\b", "transportation"),
    (r"\bhotels?\b|\bhospitality\b", "hospitality"),
    (r"\binsurance (?:compan(?:y|ies)|firms?|sector)\b|\binsurers?\b", "insurance"),
    (r"\b(?:tech(?:nology)?|software|IT|cloud|internet) (?:compan(?:y|ies)|firms?|providers?|sector)\b|\bmanaged service providers?\b", "technology"),
    (r"\bNGOs?\b|\bnon-?governmental organi[sz]ations?\b|\bnon-?profits?\b|\bhuman rights\b", "ngo"),
]]

# A word that introduces an organisation name right after it ("company AstraZeneca").
_ORG_NOUN = r"(?:company|firm|maker|manufacturer|developer|giant|conglomerate|corporation|bank|provider|operator|agency|ministry|university|hospital|institute|contractor|organi[sz]ation|group|outlet|studio|exchange|lab|laboratory)"
_NAME = r"((?:[A-Z](?:\.[A-Z])+\.|[A-Z][\w&'.-]*[\w&]|[A-Z])(?:\s+(?:[A-Z][\w&'.-]*[\w&]|of|and|&)){0,4})"
ORG_PATTERNS = [
    re.compile(_ORG_NOUN + r",?\s+" + _NAME),
    re.compile(_NAME + r"(?:'s)?\s+(?:employees|staff|workers|personnel|scientists|executives)\b"),
    re.compile(_NAME + r"['\u2019]s\s+(?:\w+\s+)?(?:systems|networks?|servers?|computers|data|email|accounts|customers)\b"),
    re.compile(r"(?:targeted|breached|hacked|attacked|compromised|infiltrated|penetrated|break into|hack into|hacked into|broke into|targeting|infiltrate|breach)\s+(?:the\s+)?(?:systems\s+of\s+|networks?\s+of\s+)?" + _NAME),
    re.compile(_NAME + r",\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}" + _ORG_NOUN + r"\b"),
]
# Organisations named as hit: "the breach of the Office of Personnel Management", "the Sony hack",
# "X confirmed that it was compromised", "A, B and C are among the companies whose networks were
# breached", "stolen from the Ronin network".
VICTIM_PATTERNS = [
    re.compile(r"\b(?:breach|hack|hacking|attack|attacks|theft|intrusion|intrusions|compromise|heist|cyberattack|"
               r"cyber-attack|infiltration)\s+(?:of|on|at|against|into)\s+(?:the\s+)?" + _NAME),
    re.compile(_NAME + r"\s+(?:was|were|had been|has been|have been)\s+(?:\w+ly\s+)?(?:hacked|breached|compromised|"
               r"attacked|targeted|hit|infiltrated|penetrated|affected)\b"),
    re.compile(_NAME + r"\s+(?:confirmed|said|acknowledged|admitted|disclosed|reported)\s+(?:that\s+)?(?:it|its \w+)\s+"
               r"(?:was|were|had been|has been)\s+(?:\w+\s+)?(?:hacked|breached|compromised|attacked|targeted|hit|affected)\b"),
    re.compile(r"(?<![\w-])" + _NAME + r"\s+(?i:hack|breach|data breach|heist|intrusion|cyberattack)\b"),
    re.compile(r"\b(?:stole|stolen|steal|stealing|theft|thefts|heist|drained|siphoned)\b[^.;]{0,80}?\bfrom\s+(?:the\s+)?" + _NAME),
]
_LIST_OF_VICTIMS = re.compile(
    r"((?:[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,3})(?:,\s+(?:[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,3}))*,?\s+and\s+"
    r"(?:[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,3}))\s+(?:are|were|is|was)\s+among\s+(?:the\s+)?(?:[\w-]+\s+){0,3}"
    r"(?:compan(?:y|ies)|firms?|organi[sz]ations?|victims?|targets?|providers?|operators?|banks?|agencies)\b")
# A name followed by these is a product or a team, not the organisation hit.
_PRODUCT_AFTER = re.compile(r"^\s*(?:Server|servers?|software|products?|platforms?|cloud|deployments?|customers|users|"
                            r"systems?|hosts?|machines?|devices?|endpoints?|environments?|accounts?|instances?|"
                            r"installations?|versions?|applications?|apps?|credentials?|process(?:es)?|memory|"
                            r"vulnerabilit(?:y|ies)|flaws?|bugs?|exploits?|files?|services?|"
                            r"researchers|experts|analysts|Threat|said|told|reported)\b", re.I)
# Platforms and products that texts name as what was attacked ("targeting Windows", "compromised
# Active Directory"): never the victim organisation.
PRODUCTS = frozenset(n.lower() for n in (
    "Windows", "Linux", "macOS", "iOS", "Android", "Azure", "Azure AD", "Entra ID", "Active Directory", "Office",
    "Office 365", "Microsoft 365", "Exchange", "Exchange Server", "Exchange Online", "SharePoint", "Outlook",
    "OneDrive", "Teams", "Chrome", "Firefox", "Edge", "Safari", "WordPress", "Drupal", "Joomla", "VMware", "ESXi",
    "vCenter", "Citrix", "NetScaler", "Pulse Secure", "Confluence", "Jira", "Jenkins", "GitHub", "GitLab", "Docker",
    "Kubernetes", "AWS", "Google Cloud", "Google Workspace", "Gmail", "Telegram", "WhatsApp", "LinkedIn",
    "Facebook", "Twitter", "Dropbox", "MEGA", "Tor", "SSH", "RDP", "VPN", "IP", "DNS", "HTTP", "HTTPS", "SQL",
    "MS SQL", "MySQL", "PowerShell", "CI", "ATMs", "ATM", "PoS", "Windows Defender", "Azure AD Connect"))
# One capitalised word that is no name: an adverb, a month, a weekday, a heading word.
_NOT_ONE_WORD = re.compile(r"^(?:\w+ly|January|February|March|April|May|June|July|August|September|October|November|"
                           r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Use|Name|Attack|Later|"
                           r"Administrators?|Users?|Victims?|Targets?)$")
# Capitalised words that start sentences or name generic things, never an organisation.
NOT_NAMES = frozenset(
    "the a an this that these those it its they their he she we our you i in on at of for and or but "
    "after before during according however also then there here when while microsoft said source "
    "sources covid covid-19 hackers attackers".split())
_TRIM = re.compile(r"(?:\s+(?:of|and|&|the))+$")


@dataclass(frozen=True)
class Mention:
    code: str          # ISO alpha-2
    text: str          # as written
    start: int
    end: int
    form: str          # "name" | "adjective" | "capital"


_TOKEN = re.compile(r"[A-Za-z][A-Za-z.'\u2019-]*[A-Za-z.]|[A-Za-z]")


def country_mentions(sentence: str, capitals: bool = False) -> list[Mention]:
    """Country names ("North Korea", "the United States", "UK"), adjectives and demonyms
    ("British", "South Korean"), and with `capitals` seats of government ("Pyongyang"); each
    span once, longest first, only where the text capitalises it."""
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(sentence)]
    found: list[Mention] = []
    i = 0
    while i < len(tokens):
        if not tokens[i][0][0].isupper():
            i += 1
            continue
        hit = None
        for n in range(min(6, len(tokens) - i), 0, -1):
            span = tokens[i:i + n]
            if span[-1][0].lower() in _CONNECTORS or any(t[0].lower() not in _CONNECTORS and not t[0][0].isupper()
                                                         for t in span):
                continue
            text = sentence[span[0][1]:span[-1][2]]
            text = re.sub(r"['\u2019]s?$", "", text)  # a possessive: "Ukraine's", "Kremlin's"
            hit = _resolve(text.rstrip("."), capitals) or (_resolve(text, capitals) if text.endswith(".") else None)
            possessive = text != sentence[span[0][1]:span[-1][2]]
            if hit and hit[1] == "name" and not possessive and _in_personal_name(sentence, tokens, i, i + n):
                hit = None  # "Jordan" of "Michael Jordan", "Georgia" of "Georgia Smith"
            if hit:
                code, form, text = hit
                found.append(Mention(code, text, span[0][1], span[0][1] + len(text), form))
                i += n
                break
        else:
            i += 1
    return found


def _in_personal_name(sentence: str, tokens: list, i: int, j: int) -> bool:
    """A one-word country name between a given name and a surname's place: the capitalised word
    right before it (not at a sentence start, not a function word) or a capitalised lower-case
    word right after it that is no government or organisation word."""
    if j - i != 1:
        return False
    prev = tokens[i - 1] if i > 0 else None
    nxt = tokens[j] if j < len(tokens) else None
    if prev and prev[0][:1].isupper() and prev[0][1:].islower() and prev[0].lower() not in _FUNCTION \
            and sentence[prev[2]:tokens[i][1]] == " " and i - 1 > 0 and not re.search(r"[.!?\"]\s*$", sentence[:prev[1]]):
        return True
    return bool(nxt and nxt[0][:1].isupper() and nxt[0][1:].islower() and sentence[tokens[i][2]:nxt[1]] == " "
                and nxt[0].lower() not in _FUNCTION and not _ORG_WORD.match(nxt[0])
                and not _resolve(nxt[0], False))


_FUNCTION = frozenset("the a an in on at of for and or but by to from with as is was are were it its this that "
                      "north south east west new".split())
_ORG_WORD = re.compile(r"(?:Government|Ministry|Embassy|Army|Navy|Police|Bank|Central|National|State|Federal|"
                       r"Republic|Foreign|Defence|Defense|Security|Intelligence|Cyber|Department|Office|Agency|"
                       r"Treasury|Parliament|Today|Times|Post|Prime|President|Minister|Secretary|Justice|"
                       r"Interior|Home|Attorney|Deputy|Director|Chief|Special|Health|Finance|Election|Electoral)\b")


@lru_cache(maxsize=65536)
def _resolve(text: str, capitals: bool) -> tuple[str, str, str] | None:
    folded = " ".join(text.split()).lower()
    if folded in DEMONYMS:
        return DEMONYMS[folded], "adjective", text
    if capitals and folded in CAPITALS:
        return CAPITALS[folded], "capital", text
    letters = text.replace(".", "")
    if letters.isupper() and len(letters) <= 4 and text not in _SHORT_FORMS:
        return None
    if len(letters) <= 3 and text not in _SHORT_FORMS:
        return None  # "It", "To", "In", "No", "By", "Ke" (of "Xu Ke") are no country mentions
    code = country_code(text)
    return (code, "name", text) if code else None


# All of SECTORS in one pattern (one pass over a sentence): group s<i> is SECTORS[i].
_ANY_SECTOR = re.compile("|".join(f"(?P<s{i}>{p.pattern})" for i, (p, _) in enumerate(SECTORS)), re.I)


def sectors(sentence: str) -> list[tuple[str, str]]:
    """(sector name, the words that named it) for each sector the sentence mentions."""
    out: list[tuple[str, str]] = []
    for m in _ANY_SECTOR.finditer(sentence):
        name = SECTORS[int(m.lastgroup[1:])][1]
        if all(name != s for s, _ in out):
            out.append((name, m.group(0)))
    return out


def organisations(sentence: str) -> list[str]:
    """Organisation names the sentence introduces as such ("company AstraZeneca",
    "AstraZeneca employees", "hacked into Sony Pictures", "the breach of the Office of Personnel
    Management", "Verizon, AT&T and Lumen are among the companies breached"); not products
    ("Exchange servers") or teams ("Mandiant researchers")."""
    spans = [(m.group(1), m.end(1)) for pattern in ORG_PATTERNS + VICTIM_PATTERNS for m in pattern.finditer(sentence)]
    for m in _LIST_OF_VICTIMS.finditer(sentence):
        spans.extend((part, len(sentence)) for part in re.split(r",\s+(?:and\s+)?|\s+and\s+", m.group(1)))
    names: list[str] = []
    for raw, end in spans:
        if _PRODUCT_AFTER.match(sentence[end:]):
            continue
        name = re.sub(r"\s*\([^)]*\)?$", "", _TRIM.sub("", raw).strip(" .,'"))
        words = name.split()
        while words and words[0].lower() in NOT_NAMES:
            words = words[1:]
        name = " ".join(words)
        if len(name) < 2:
            continue
        whole = [m for m in country_mentions(name + ("." if re.search(r"\b[A-Z]\.[A-Z]$", name) else ""), capitals=True)
                 if m.start == 0 and m.end >= len(name)]
        if name.endswith("-based") or _NOT_ONE_WORD.match(name) or name.lower() in PRODUCTS or whole \
                or (name.split()[0].lower() in PRODUCTS and _PRODUCT_AFTER.match(" " + " ".join(name.split()[1:]))):
            continue  # "Atlanta-based": where, not who; "Recently", "Later": no name
        if len(name) >= 2 and name.lower() not in NOT_NAMES and name not in names:
            names.append(name)
    return names
