"""Indicators in a sentence: URLs, e-mail addresses, domains, IPv4 addresses, file hashes and CVEs
(as `vulnerability` infrastructure), defanged forms made whole first (loaders/reports/text.py).

What is dropped: the publisher's own domains (the report's site), well-known benign domains
(search engines, social networks, vendors' sites, standards bodies) unless the text defanged
them, private and reserved IP addresses, dotted words whose "TLD" is a file extension
(`invoice.pdf`, `setup.exe`) unless defanged, and whatever a redaction left that cannot be an
indicator (`https://[malicious domain]/x`, `hxxp://[redacted].67[.]12/`, `140.147.xxx.xxx`,
`xxx@example.com`): an indicator is given whole or not at all.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from graph.model import infrastructure_value
from loaders.reports.text import refang

URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+", re.I)
# A host ends where no label follows: not before "-x", ".x" or a dot and a redaction ("evil.com.[redacted]").
_HOST_END = r"(?![\w-]|(?:\.|\[\.|\\\.)[\w\[\]({<*])"
EMAIL = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
                   + _HOST_END)
IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.]*\d)")
DOMAIN = re.compile(r"(?<![\w.@\]-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}" + _HOST_END)
HASH = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{32})(?![0-9A-Fa-f])")
CVE = re.compile(r"\bCVE-(\d{4})-(\d{4,7})\b", re.I)
HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}
# A label a redaction left: xxx, XX, ***, "redacted".
_REDACTED_LABEL = re.compile(r"^(?:[xX*]{2,}|redacted|removed|hidden|masked)$", re.I)

# Top-level domains accepted for a bare (not defanged) domain: the generic ones reports meet,
# and every two-letter country code that is not also a common file extension.
_GENERIC_TLDS = frozenset(
    "com net org info biz edu gov mil int io co me ru cn kp ir su xyz top site online club live app dev "
    "cloud tech space icu vip shop store pro name mobi asia tk ml ga cf gq cc tv ws uk us de fr jp kr in "
    "br au ca nl it es se no fi dk pl ch at be cz hu ro bg ua by kz tr il sa ae qa pk bd vn th my sg id "
    "ph tw hk mx ar cl pe za ng ke eg gr pt ie nz lt lv ee sk si hr ba mk al am az ge md mn np lk mm la kh "
    "uz tj tm kg af iq sy lb jo kw bh om ye ly tn dz ma".split())
# Dotted words that are file names, not hosts (unless the text defanged them).
_FILE_EXTENSIONS = frozenset(
    "exe dll sys bat cmd ps1 vbs js jse hta lnk scr msi jar zip rar 7z gz tar iso img doc docx docm xls "
    "xlsx xlsm ppt pptx pdf rtf txt log csv json xml html htm php asp aspx py sh pl so dat bin tmp ini "
    "cfg conf png jpg jpeg gif bmp mp4 db sql bak".split())
# Sites a report mentions without them being attacker infrastructure.
BENIGN_DOMAINS = frozenset(
    "google.com microsoft.com apple.com amazon.com amazonaws.com facebook.com twitter.com x.com "
    "linkedin.com whatsapp.com youtube.com instagram.com github.com gitlab.com wikipedia.org "
    "virustotal.com mitre.org cve.org nist.gov cisa.gov us-cert.gov ncsc.gov.uk fbi.gov justice.gov "
    "w3.org schema.org reuters.com bbc.co.uk nytimes.com washingtonpost.com apnews.com "
    "bloomberg.com theguardian.com zdnet.com wired.com bleepingcomputer.com thehackernews.com "
    "medium.com t.co bit.ly windows.com office.com live.com outlook.com skype.com mozilla.org "
    "adobe.com cloudflare.com akamai.com verisign.com digicert.com letsencrypt.org "
    "mandiant.com fireeye.com crowdstrike.com kaspersky.com symantec.com broadcom.com eset.com "
    "welivesecurity.com trendmicro.com paloaltonetworks.com unit42.paloaltonetworks.com "
    "sophos.com mcafee.com trellix.com checkpoint.com proofpoint.com sentinelone.com "
    "recordedfuture.com clearskysec.com talosintelligence.com cisco.com secureworks.com "
    "volexity.com group-ib.com securelist.com attack.mitre.org".split())
# Second-level labels under which a registrable domain has three labels (bbc.co.uk).
_SECOND_LEVEL = frozenset("co com net org gov ac edu ne or go".split())


@dataclass(frozen=True)
class Indicator:
    kind: str        # an INFRA_KINDS value
    value: str       # canonical (graph.model.infrastructure_value)
    defanged: bool


def registrable(host: str) -> str:
    """`blogs.microsoft.com` -> `microsoft.com`; `news.bbc.co.uk` -> `bbc.co.uk`."""
    labels = host.lower().strip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _host(url: str) -> str | None:
    """The host of a URL if it can be one (a global IPv4 address, an IPv6 address in brackets,
    or a whole domain name), else None: redacted and half-defanged hosts are no indicator."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # unbalanced brackets: "https://login.live.]com/", "[malicious domain]"
        return None
    if ":" in host:
        try:
            return host if ipaddress.ip_address(host).is_global else None
        except ValueError:
            return None
    if IPV4.fullmatch(host):
        return host if ipaddress.ip_address(host).is_global else None
    return host if _domain_name(host) else None


def _domain_name(host: str) -> bool:
    """A whole domain name, not a redaction's remains (`xxx.evil.com`, `140.147.xxx.xxx`)."""
    if not DOMAIN.fullmatch(host):
        return False
    labels = host.lower().split(".")
    return not any(_REDACTED_LABEL.match(label) for label in labels)


def indicators(sentence: str, own_domains: frozenset[str] = frozenset()) -> list[Indicator]:
    """The indicators one sentence gives, in order, each once."""
    text = refang(sentence)
    found: list[Indicator] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    def add(kind: str, value: str, m: re.Match | None = None) -> None:
        if m is not None:
            taken.append(m.span())
        item = Indicator(kind, infrastructure_value(kind, value), value not in sentence)
        if all((i.kind, i.value) != (item.kind, item.value) for i in found):
            found.append(item)

    def skip(host: str, defanged: bool) -> bool:
        site = registrable(host)
        return site in own_domains or (not defanged and (site in BENIGN_DOMAINS or host.lower() in BENIGN_DOMAINS))

    for m in URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?)]}'\"")
        host = _host(url)
        taken.append(m.span())
        if not host or skip(host, url not in sentence):
            continue
        parts = urlsplit(url)
        if re.search(r"[\[\]]", parts.path + parts.query + parts.fragment):  # redacted: the host alone
            add("ip" if IPV4.fullmatch(host) else "domain", host)
        else:
            add("url", url)
    for m in EMAIL.finditer(text):
        if free(m):
            taken.append(m.span())
            local, host = m.group(0).rsplit("@", 1)
            if _domain_name(host) and not _REDACTED_LABEL.match(local):
                add("email", m.group(0))
    for m in CVE.finditer(text):
        add("vulnerability", f"CVE-{m.group(1)}-{m.group(2)}", m)
    for m in HASH.finditer(text):
        value = m.group(0)
        if free(m) and any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            add(HASH_KINDS[len(value)], value, m)
    for m in IPV4.finditer(text):
        if free(m):
            taken.append(m.span())
            if ipaddress.ip_address(m.group(0)).is_global:
                add("ip", m.group(0))
    for m in DOMAIN.finditer(text):
        if not free(m):
            continue
        host = m.group(0).rstrip(".")
        tld = host.rsplit(".", 1)[-1].lower()
        defanged = host not in sentence
        if not defanged and (tld not in _GENERIC_TLDS or tld in _FILE_EXTENSIONS or host[0].isupper()):
            continue  # "Inc.Com"-like capitals and file names are not hosts
        if _domain_name(host) and not skip(host, defanged):
            add("domain", host, m)
    return found
