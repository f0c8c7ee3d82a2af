"""ISO 3166-1 alpha-2 country codes and names, and a lookup from the names found in feeds.

The ISO 3166 table comes from `pycountry` (every current alpha-2 code with its ISO short,
official and common names). `DISPLAY_NAMES` replaces the ISO short name where it is not what
briefings say ("Russian Federation" -> "Russia"); `ALTERNATIVE_NAMES` maps the lower-cased
formal and colloquial names found in MISP galaxies, CFR and news reporting that ISO lacks.
Regions and organisations ("European Union", "Middle East") deliberately do not resolve.
"""
from __future__ import annotations

import unicodedata

import pycountry

# ISO's short name reads as an index entry or an official title for these; graphs show these.
DISPLAY_NAMES: dict[str, str] = {
    "BN": "Brunei",
    "BQ": "Caribbean Netherlands",
    "CD": "Democratic Republic of the Congo",
    "CG": "Republic of the Congo",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "MF": "Saint Martin",
    "PN": "Pitcairn Islands",
    "PS": "Palestine",
    "RU": "Russia",
    "SX": "Sint Maarten",
    "TR": "Turkey",
    "VA": "Vatican City",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
}

COUNTRIES: dict[str, str] = {
    c.alpha_2: DISPLAY_NAMES.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
    for c in pycountry.countries
}

ALTERNATIVE_NAMES: dict[str, str] = {
    "emirates": "AE",
    "u.a.e.": "AE",
    "uae": "AE",
    "bosnia": "BA",
    "bosnia-herzegovina": "BA",
    "the bahamas": "BS",
    "congo, democratic republic of the": "CD",
    "congo-kinshasa": "CD",
    "dr congo": "CD",
    "drc": "CD",
    "zaire": "CD",
    "congo-brazzaville": "CG",
    "republic of congo": "CG",
    "ivory coast": "CI",
    "china, people's republic of": "CN",
    "mainland china": "CN",
    "p.r.c.": "CN",
    "prc": "CN",
    "cape verde": "CV",
    "malvinas": "FK",
    "britain": "GB",
    "england": "GB",
    "great britain": "GB",
    "northern ireland": "GB",
    "scotland": "GB",
    "the united kingdom": "GB",
    "u.k.": "GB",
    "uk": "GB",
    "wales": "GB",
    "the gambia": "GM",
    "hong kong sar": "HK",
    "hong kong sar china": "HK",
    "hong kong special administrative region": "HK",
    "hong kong, china": "HK",
    "republic of ireland": "IE",
    "iran (islamic republic of)": "IR",
    "persia": "IR",
    "st. kitts and nevis": "KN",
    "d.p.r.k.": "KP",
    "dprk": "KP",
    "korea (democratic people's republic of)": "KP",
    "korea, north": "KP",
    "n. korea": "KP",
    "korea (republic of)": "KR",
    "korea, south": "KR",
    "republic of korea": "KR",
    "rok": "KR",
    "s. korea": "KR",
    "lao pdr": "LA",
    "lebonon": "LB",
    "st. lucia": "LC",
    "fyrom": "MK",
    "macedonia": "MK",
    "macedonia, the former yugoslav republic of": "MK",
    "the former yugoslav republic of macedonia": "MK",
    "burma": "MM",
    "macao sar": "MO",
    "macao sar china": "MO",
    "macao special administrative region": "MO",
    "macau": "MO",
    "macau sar": "MO",
    "holland": "NL",
    "the netherlands": "NL",
    "the philippines": "PH",
    "gaza": "PS",
    "gaza strip": "PS",
    "occupied palestinian territory": "PS",
    "palestinian territories": "PS",
    "palestinian territory": "PS",
    "state of palestine": "PS",
    "west bank": "PS",
    "the russian federation": "RU",
    "ksa": "SA",
    "são tomé and príncipe": "ST",
    "swaziland": "SZ",
    "east timor": "TL",
    "timor leste": "TL",
    "republic of turkey": "TR",
    "chinese taipei": "TW",
    "republic of china": "TW",
    "republic of china (taiwan)": "TW",
    "the united states": "US",
    "the united states of america": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "us": "US",
    "usa": "US",
    "holy see": "VA",
    "vatican": "VA",
    "vatican city state": "VA",
    "st. vincent and the grenadines": "VC",
    "united states virgin islands": "VI",
    "us virgin islands": "VI",
    "socialist republic of vietnam": "VN",
}

def _fold(text: str) -> str:
    """Lower-case, collapse whitespace, unify apostrophes."""
    text = " ".join(text.replace("\u2019", "'").split())
    return text.casefold()


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


_BY_NAME: dict[str, str] = {}
for _country in pycountry.countries:
    for _name in (_country.name, getattr(_country, "official_name", None),
                  getattr(_country, "common_name", None)):
        if _name:
            _BY_NAME[_fold(_name)] = _country.alpha_2
for _code, _name in DISPLAY_NAMES.items():
    _BY_NAME[_fold(_name)] = _code
_BY_NAME.update(ALTERNATIVE_NAMES)
for _key, _code in list(_BY_NAME.items()):
    _BY_NAME.setdefault(_strip_accents(_key), _code)


def country_code(text: str) -> str | None:
    """The alpha-2 code for a code (any case) or a country name (case-insensitive), else None."""
    if not text or not text.strip():
        return None
    raw = text.strip()
    if len(raw) == 2 and raw.upper() in COUNTRIES:
        return raw.upper()
    key = _fold(raw)
    return _BY_NAME.get(key) or _BY_NAME.get(_strip_accents(key))


def country_name(code: str) -> str:
    """The English short name for an alpha-2 code, or the code itself if it is unknown."""
    return COUNTRIES.get(code.strip().upper(), code) if code else code
