"""Plain report text -> sentences, with defanged indicators made whole again first."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Defanging as threat reports write it, made whole: hxxp(s)/hXXp/h[tt]p/h**p/fxp schemes; [.] (.) {.}
# [dot] and the half-brackets .] [. (login.live.]com, 140.]147); \. ; [at] (at) [@]; [:] [://] [/].
_REFANG = [
    (re.compile(r"[\[({]\s?(:|://|//|/)\s?[\])}]"), r"\1"),
    (re.compile(r"\b(?:h(?:xx|tt|\[tt\]|\[xx\]|\*\*|xt|tx)p|hxxxp)(s?)(?=://)", re.I),
     lambda m: "http" + m.group(1).lower()),
    (re.compile(r"\bf(?:x|\[t\])p(?=://)", re.I), "ftp"),
    (re.compile(r"\s?(?:[\[({]\s?\.\s?[\])}]|[\[{]\s?dot\s?[\]}])\s?|\(dot\)", re.I), "."),  # not "(DOT) said"
    (re.compile(r"(?<=\w)(?:\.\]|\[\.|\\\.)(?=\w)"), "."),
    (re.compile(r"\s?[\[({]\s?(?:@|at)\s?[\])}]\s?", re.I), "@"),
]

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st no vs etc e.g i.e inc ltd corp co jan feb mar apr jun jul aug sep "
    "sept oct nov dec u.s u.k u.n e.u fig al approx dept gov gen col lt sgt rep sen".split())
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
# Longest sentence kept whole; longer runs (tables, dumps) are cut at this length.
MAX_SENTENCE = 1000


@dataclass(frozen=True)
class Sentence:
    index: int
    text: str


def refang(text: str) -> str:
    for pattern, repl in _REFANG:
        text = pattern.sub(repl, text)
    return text


def split_sentences(text: str) -> list[Sentence]:
    """Paragraphs (blank lines, or single lines in line-broken text) split at full stops that
    end a sentence (not "U.S.", "e.g." or "Inc.")."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\r\n\s*\r\n", text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        parts = _join_wrapped(lines)
        for part in parts:
            out.extend(_split_paragraph(" ".join(part.split())))
    return [Sentence(i, s) for i, s in enumerate(out)]


_BULLET = re.compile(r"^(?:[-*\u2022\u25cf]|\d{1,2}[.)])\s")


def _join_wrapped(lines: list[str]) -> list[str]:
    """Lines of one block -> its parts: hard-wrapped lines (PDF text, e-mail) join up; a short
    line without a full stop (a heading, a list item) and a bulleted line stand alone."""
    longest = max(len(ln) for ln in lines)
    parts: list[str] = []
    current: list[str] = []
    for ln in lines:
        if _BULLET.match(ln) and current:
            parts.append(" ".join(current))
            current = []
        current.append(ln)
        heading = len(ln) < 0.6 * longest and not ln.endswith((",", ";", "-"))
        if heading or len(lines) == 1:
            parts.append(" ".join(current))
            current = []
    if current:
        parts.append(" ".join(current))
    return parts


def _split_paragraph(paragraph: str) -> list[str]:
    sentences, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        before = paragraph[start:m.start()].rstrip("\"')]")
        word = before.rsplit(None, 1)[-1].rstrip(".").lower() if before.strip() else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        sentences.append(paragraph[start:m.start()].strip())
        start = m.end()
    sentences.append(paragraph[start:].strip())
    result = []
    for s in sentences:
        while len(s) > MAX_SENTENCE:
            cut = s.rfind(" ", 0, MAX_SENTENCE)
            cut = cut if cut > MAX_SENTENCE // 2 else MAX_SENTENCE
            result.append(s[:cut].strip())
            s = s[cut:].strip()
        if s:
            result.append(s)
    return result
