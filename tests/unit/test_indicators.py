"""Indicators from defanged and redacted text (loaders/reports/indicators.py): every common
defanging made whole, whatever a redaction left dropped, and no exception ever.

Property-based and seeded like tests/unit/test_fuzz.py (`ATTRIB_FUZZ_EXAMPLES=5000` for the long mode).
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, seed, strategies as st

from loaders.reports.indicators import BENIGN_DOMAINS, indicators, registrable
from tests.unit.test_fuzz import FUZZ, SEED

# Independent of the module under test: what a well-formed value of each kind looks like.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
WELL_FORMED_DOMAIN = re.compile(rf"(?:{LABEL}\.)+[a-z]{{2,24}}")
WELL_FORMED_EMAIL = re.compile(rf"[a-z0-9][a-z0-9._%+-]*@(?:{LABEL}\.)+[a-z]{{2,24}}", re.I)
PLACEHOLDERS = ["[malicious domain]", "[redacted]", "[REDACTED]", "[removed]", "xxx", "XXX", "[domain]",
                "[IP address]", "***"]

DOTS = [".", "[.]", "(.)", "{.}", "[dot]", "(dot)", "[DOT]", ".]", "[.", "\\.", " [.] "]
ATS = ["@", "[at]", "(at)", "{at}", "[@]", "(@)", "[AT]", " [at] "]
SCHEMES = [("http", "http"), ("hxxp", "http"), ("hXXp", "http"), ("h[tt]p", "http"), ("h**p", "http"),
           ("https", "https"), ("hxxps", "https"), ("HXXPS", "https"), ("fxp", "ftp")]
SEPARATORS = ["://", "[://]", "[:]//", "(:)//"]
TLDS = ["com", "net", "org", "info", "ru", "cn", "top", "xyz", "io", "de", "kr"]

label = st.from_regex(re.compile(r"[a-z][a-z0-9-]{0,10}[a-z0-9]"), fullmatch=True).filter(
    lambda s: not re.fullmatch(r"x+", s))
domains = st.builds(lambda labels, tld: ".".join(labels + [tld]), st.lists(label, min_size=1, max_size=3),
                    st.sampled_from(TLDS)).filter(lambda d: registrable(d) not in BENIGN_DOMAINS)
global_ips = st.ip_addresses(v=4).filter(lambda ip: ip.is_global).map(str)
paths = st.from_regex(re.compile(r"(?:/[a-z0-9_-]{1,8}){0,3}(?:\.php)?"), fullmatch=True)


@st.composite
def defanged(draw, value: str) -> str:
    """`value` with each dot (and @, and the port's colon) written in some defanged form."""
    out = []
    for ch in value:
        if ch == ".":
            out.append(draw(st.sampled_from(DOTS)))
        elif ch == "@":
            out.append(draw(st.sampled_from(ATS)))
        else:
            out.append(ch)
    return "".join(out)


@st.composite
def urls(draw) -> tuple[str, str]:
    """(the URL as a report might write it, the URL it stands for)."""
    shown, scheme = draw(st.sampled_from(SCHEMES))
    host = draw(domains | global_ips)
    port = draw(st.sampled_from(["", ":8080", ":443"]))
    path = draw(paths)
    sep = draw(st.sampled_from(SEPARATORS))
    return f"{shown}{sep}{draw(defanged(host))}{port.replace(':', draw(st.sampled_from([':', '[:]'])))}{path}", \
        f"{scheme}://{host}{port}{path}"


def sentence(item: str) -> str:
    return f"The operators used {item} in the second stage."


def well_formed(kind: str, value: str) -> bool:
    if kind == "ip":
        return ipaddress.ip_address(value).is_global
    if kind == "domain":
        return bool(WELL_FORMED_DOMAIN.fullmatch(value))
    if kind == "email":
        return bool(WELL_FORMED_EMAIL.fullmatch(value))
    if kind == "url":
        host = urlsplit(value).hostname or ""
        return bool(WELL_FORMED_DOMAIN.fullmatch(host)) or ipaddress.ip_address(host.strip("[]")).is_global
    return True


# -- made whole ---------------------------------------------------------------------------------------
@seed(SEED)
@FUZZ
@given(urls())
def test_a_defanged_url_is_found_whole(case):
    shown, url = case
    assert ("url", url) in {(i.kind, i.value) for i in indicators(sentence(shown))}


@seed(SEED)
@FUZZ
@given(st.data())
def test_a_defanged_domain_ip_or_email_is_found_whole(data):
    kind, value = data.draw(st.sampled_from(["domain", "ip", "email"]).flatmap(lambda k: st.tuples(
        st.just(k), domains if k == "domain" else global_ips if k == "ip"
        else st.builds(lambda local, d: f"{local}@{d}", label, domains))))
    shown = data.draw(defanged(value))
    found = indicators(sentence(shown))
    assert (kind, value) in {(i.kind, i.value) for i in found}, (shown, found)
    assert all(well_formed(i.kind, i.value) for i in found)


# -- redacted: nothing, or only the part that is whole -----------------------------------------------
@st.composite
def redacted(draw) -> str:
    """A URL, domain, IP or e-mail address with a part replaced by a redaction placeholder."""
    mark = draw(st.sampled_from(PLACEHOLDERS))
    host = draw(domains | global_ips)
    parts = host.split(".")
    parts[draw(st.integers(0, len(parts) - 1))] = mark
    shape = draw(st.sampled_from(["url", "host", "email-host", "email-local"]))
    dots = draw(defanged(".".join(parts)))
    if shape == "url":
        shown, _ = draw(st.sampled_from(SCHEMES))
        return f"{shown}{draw(st.sampled_from(SEPARATORS))}{dots}{draw(paths)}"
    if shape == "host":
        return dots
    if shape == "email-host":
        return f"{draw(label)}{draw(st.sampled_from(ATS))}{dots}"
    return f"{mark}{draw(st.sampled_from(ATS))}{draw(defanged(draw(domains)))}"


@seed(SEED)
@FUZZ
@given(redacted())
def test_a_redacted_indicator_gives_nothing(shown):
    assert indicators(sentence(shown)) == []


@seed(SEED)
@FUZZ
@given(st.lists(st.sampled_from(
    DOTS + ATS + PLACEHOLDERS + [s for s, _ in SCHEMES] + SEPARATORS + TLDS
    + ["[", "]", "(", ")", "{", "}", ":", "/", "//", " ", "-", "evil", "140", "67", "12", "222", "x", "@",
       "[2001:db8::1]", "[::1]", "%", "?q=", "#"]), max_size=25).map("".join))
def test_no_text_makes_the_extractor_raise(text):
    found = indicators(text)
    assert all(well_formed(i.kind, i.value) for i in found), found
    assert not any(re.search(r"[\s\[\](){}]", i.value.split("://", 1)[-1].split("/", 1)[0].strip("[]"))
                   for i in found), found


# -- the four shapes of issue 23 -----------------------------------------------------------------------
@pytest.mark.parametrize("shown, expected", [
    ("https://[malicious domain]/path", []),
    ("hxxp://[redacted].67[.]12:222/", []),
    ("https://login.live.]com/oauth2/authorize", [("url", "https://login.live.com/oauth2/authorize")]),
    ("login.live.]com", [("domain", "login.live.com")]),
    ("140.]147.]12.]9", [("ip", "140.147.12.9")]),
    ("140.]147.]xxx.]xxx", []),
    ("hxxps://evil[.]com/[redacted]/x", [("domain", "evil.com")]),
    ("xxx@evil[.]com", []),
])
def test_the_issue_shapes(shown, expected):
    assert [(i.kind, i.value) for i in indicators(sentence(shown))] == expected


def test_prose_in_parentheses_is_no_defanging():
    """"(DOT)" after a name is an agency's abbreviation, not a dot: `example(dot)com` only without spaces."""
    assert indicators("The Department of Transportation (DOT) said it was hit, as did example(dot)com.") == [
        indicators("See example[.]com.")[0]]
