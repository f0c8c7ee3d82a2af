"""Technique recognition learnt from MITRE ATT&CK: sentences -> ATT&CK technique IDs with scores.

Three ways a sentence names a technique, each a `TechniqueHit` with its `method`:

- "id": an ATT&CK technique ID written in the text (`T1566.003`), score 1.0;
- "name": a technique's name written in the text ("Spearphishing via Service", or a
  sub-technique's full "Phishing: Spearphishing via Service"), score `NAME_SCORE`; names that are
  everyday words ("Proxy", "Tool") do not count (see `name_patterns`);
- "model": a linear model over TF-IDF word and character n-grams, trained on ATT&CK's own
  procedure examples (the descriptions of `uses` relationships to techniques, ~13,000 in v15.1)
  and the techniques' names and descriptions (each description sentence a text of its own: they
  say what a technique looks like in plainer words than the procedure examples, e.g. "create fake
  social media accounts and message employees for potential job opportunities"). Citations and
  links are stripped, English stop words are not word features (they mark a text's register, news
  or ATT&CK prose, rather than a behaviour), and the names of the group, software or campaign a
  procedure example describes are masked (`MASK`), so the model learns behaviour, not names. Its
  score is a probability that the technique is right for the sentence, calibrated on the procedure
  examples of reports held out from the linear model (all the examples citing a report go one way),
  so that it is calibrated for a report the model has not read, and scores compare across sentences.

`TechniqueRecognizer.predict` keeps hits at or above `threshold`, one per technique (its best
sentence), best first. `recognizer_for(bundle, cache_dir)` trains from an ATT&CK STIX bundle
(.json or .json.gz) and caches the fitted model under `cache_dir/models/`, keyed by the bundle's
content hash and `MODEL_VERSION`: a changed bundle gets a new model, an unchanged one loads in
well under a second. The model is always rebuilt from the bundle, never shipped.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from graph.errors import ValidationError
from graph.model import TECHNIQUE_ID
from loaders.common import parse_json, read_text
from loaders.stix import ACTOR_TYPES, SOFTWARE_TYPES, _BundleReader, is_stix_bundle

attack_id_of = _BundleReader._attack_id  # the STIX loader's reading of an object's ATT&CK ID

# Bump when features, training data or the pickled layout change: cached models are rebuilt.
MODEL_VERSION = 8
# What a masked group, software or campaign name becomes, in training and in pseudo-reports.
MASK = "[PLACEHOLDER]"
NAME_SCORE = 0.9
ID_SCORE = 1.0
# Chosen with `tests/benchmarks/extract.py --tune` on the validation split of ATT&CK v15.1
# (relationships created 2021-10..2022-10, the train side of the time split).
DEFAULT_THRESHOLD = 0.6
# ... and C = 0.5 (top-1 0.705 against 0.700 for C = 1.0 on that split)
DEFAULT_C = 0.5

# The label of texts that describe no technique; never reported.
NO_TECHNIQUE = "-"
# A technique's name text: its name and the first sentences of its description ...
TECHNIQUE_SENTENCES = 2
# ... and each of the first sentences of the description as a text of its own (the rest of a long
# description is mostly detail on platforms and variants)
DESCRIPTION_SENTENCES = 12
NEGATIVE_SENTENCES = 3

CITATION = re.compile(r"\(Citation:[^)]*\)")
ATTACK_OBJECT_LINK = re.compile(r"\[([^\]]*)\]\(https?://attack\.mitre\.org/(?:groups|software|campaigns)/[^)]*\)")
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
CODE = re.compile(r"</?code>")
TECHNIQUE_IN_TEXT = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
SPACE = re.compile(r"\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[])")
# How reports also spell words of technique names (as regexes).
SPELLINGS = {"spearphishing": r"spear[\s\-]?phishing", "email": r"e-?mail"}
# Technique names that are everyday words in a report; they count only as "Parent: Sub" or via the model.
GENERIC_NAMES = frozenset({
    "proxy", "rootkit", "malware", "tool", "tools", "server", "servers", "domains", "botnet",
    "services", "service", "credentials", "dns", "vulnerabilities", "exploits", "software",
    "accessibility features", "web services", "serverless", "compromise", "impersonation",
    "reflection", "trap", "scripting", "downgrade attack", "port knocking", "traffic signaling",
})


@dataclass(frozen=True)
class TechniqueHit:
    technique: str  # ATT&CK ID, e.g. "T1566.003"
    name: str
    score: float  # 0..1, comparable across sentences
    sentence: str  # the sentence it came from
    method: str  # "id" | "name" | "model"


@dataclass(frozen=True)
class Example:
    """One training text: a cleaned, masked procedure example (or a technique's own text)."""

    text: str
    technique: str
    created: str  # ISO timestamp of the relationship (or technique) creation
    kind: str  # "procedure" | "technique" | "negative"
    # where a procedure example comes from: the report it cites first, else the STIX id of the
    # group, software or campaign it describes ("" for the other kinds); the calibration holds out
    # whole origins
    origin: str = ""


@dataclass
class AttackCorpus:
    """What the recogniser learns from one ATT&CK bundle."""

    techniques: dict[str, str]  # active technique ID -> name ("Parent: Sub" for sub-techniques)
    examples: list[Example]  # procedure examples, in bundle order
    technique_texts: list[Example]  # each technique's name text and its description's sentences
    negatives: list[Example]  # sentences that name no technique (about groups, campaigns, software)


# -- reading a bundle ---------------------------------------------------------------------------------
def clean(text: str, names: Iterable[str] = (), mask_links: bool = True) -> str:
    """ATT&CK description -> plain text: no citations, links reduced to their text, `names` masked;
    with `mask_links`, every linked group, software and campaign name masked too."""
    text = CITATION.sub(" ", text)
    if mask_links:
        text = ATTACK_OBJECT_LINK.sub(f" {MASK} ", text)
    text = MARKDOWN_LINK.sub(r"\1", text)
    text = CODE.sub("", text)
    pattern = mask_pattern(names)
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return SPACE.sub(" ", text).strip()


def mask_pattern(names: Iterable[str]) -> re.Pattern | None:
    """One regex matching any of `names` as whole words, longest first, any case."""
    words = sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=lambda n: (-len(n), n))
    if not words:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w])", re.I)


def _active(obj: dict) -> bool:
    return obj.get("revoked") is not True and obj.get("x_mitre_deprecated") is not True


def object_names(obj: dict) -> list[str]:
    """A STIX object's name and aliases."""
    names = [obj.get("name")] + list(obj.get("aliases") or []) + list(obj.get("x_mitre_aliases") or [])
    return [n for n in names if isinstance(n, str) and n.strip()]


def corpus_from_document(path: Path, data: dict) -> AttackCorpus:
    if not is_stix_bundle(data) or not isinstance(data.get("objects"), list):
        raise ValidationError(path, "not a STIX bundle: technique recognition learns from an ATT&CK bundle",
                              hint="use enterprise-attack.json from `attrib load attack`")
    objects: dict[str, dict] = {}
    for obj in data["objects"]:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            old = objects.get(obj["id"])
            if old is None or str(obj.get("modified") or "") >= str(old.get("modified") or ""):
                objects[obj["id"]] = obj
    techniques: dict[str, str] = {}
    by_stix: dict[str, str] = {}
    for obj in objects.values():
        if obj.get("type") == "attack-pattern" and _active(obj):
            attack_id = (attack_id_of(obj) or "").upper()
            if TECHNIQUE_ID.match(attack_id) and isinstance(obj.get("name"), str):
                by_stix[obj["id"]] = attack_id
                techniques[attack_id] = obj["name"].strip()
    for attack_id, name in list(techniques.items()):
        parent = techniques.get(attack_id.split(".")[0])
        if "." in attack_id and parent:
            techniques[attack_id] = f"{parent}: {name}"
    if not techniques:
        raise ValidationError(path, "the bundle holds no ATT&CK techniques (attack-pattern objects with a T-ID)",
                              hint="use an ATT&CK bundle such as enterprise-attack.json")
    actor_like = ACTOR_TYPES + SOFTWARE_TYPES + ("campaign",)
    examples = []
    for rel in objects.values():
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "uses" or not _active(rel):
            continue
        technique = by_stix.get(rel.get("target_ref"))
        source = objects.get(rel.get("source_ref"))
        description = rel.get("description")
        if technique is None or source is None or not isinstance(description, str):
            continue
        text = clean(description, object_names(source))
        if text:
            cited = CITATION.search(description)
            examples.append(Example(text, technique, str(rel.get("created") or ""), "procedure",
                                    cited.group(0) if cited else source["id"]))
    texts = []
    for stix_id, attack_id in by_stix.items():
        obj = objects[stix_id]
        created = str(obj.get("created") or "")
        described = sentences(clean(_description(obj)))
        texts.append(Example(f"{techniques[attack_id]}. {' '.join(described[:TECHNIQUE_SENTENCES])}", attack_id,
                             created, "technique"))
        texts.extend(Example(s, attack_id, created, "technique") for s in described[:DESCRIPTION_SENTENCES])
    # What groups, campaigns and software are ("X is a threat group attributed to ...", "has
    # targeted ...", "is a backdoor first seen in ..."): the sentences of a news story or report
    # that describe no technique. Software descriptions soon turn to behaviour: their first sentence only.
    negatives = []
    for obj in objects.values():
        if obj.get("type") in actor_like and _active(obj):
            first = NEGATIVE_SENTENCES if obj["type"] not in SOFTWARE_TYPES else 1
            for sentence in sentences(clean(_description(obj), object_names(obj)))[:first]:
                negatives.append(Example(sentence, NO_TECHNIQUE, str(obj.get("created") or ""), "negative"))
    return AttackCorpus(techniques, examples, texts, negatives)


def _description(obj: dict) -> str:
    return obj["description"] if isinstance(obj.get("description"), str) else ""


def sentences(text: str) -> list[str]:
    """A description split into sentences (ATT&CK's prose: a full stop, then a capital or a mask)."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def read_corpus(bundle: Path) -> AttackCorpus:
    return corpus_from_document(bundle, parse_json(bundle, read_text(bundle)))


# -- name matching ----------------------------------------------------------------------------------------
def name_patterns(techniques: dict[str, str]) -> list[tuple[tuple[str, ...], re.Pattern]]:
    """(techniques, regex) for the names that identify techniques in free text.

    A sub-technique's full name ("Phishing: Spearphishing via Service") names it alone; a bare
    name names every technique that has it ("Spearphishing Attachment": T1566.001 and T1598.002,
    of which `predict` takes the one its model prefers for the sentence), unless it is in
    GENERIC_NAMES or shorter than four letters. Case, hyphens/spaces and a plural "s" do not matter.
    """
    def regex(name: str) -> str:
        words = [SPELLINGS.get(w.casefold(), re.escape(w)) for w in re.split(r"[\s\-]+", name.strip()) if w]
        return r"[\s\-]+".join(words)

    def compiled(alternatives: list[str]) -> re.Pattern:
        return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")s?(?![\w-])", re.I)

    owners: dict[str, list[str]] = {}
    for attack_id, full in sorted(techniques.items()):
        owners.setdefault(full.split(": ", 1)[-1].casefold(), []).append(attack_id)
    patterns = [((attack_id,), compiled([regex(full)])) for attack_id, full in sorted(techniques.items())
                if ": " in full]
    for bare, ids in sorted(owners.items()):
        if bare not in GENERIC_NAMES and len(bare) > 3:
            patterns.append((tuple(ids), compiled([regex(techniques[ids[0]].split(": ", 1)[-1])])))
    return patterns


# -- the estimator ----------------------------------------------------------------------------------------
class TechniqueRecognizer:
    """Sentences -> ATT&CK techniques. scikit-learn style: `fit(texts, techniques, names=...)`, `predict`.

    Parameters
    - threshold: a hit's minimum score (0..1) to be reported by `predict`.
    - C: regularisation of the linear SVM (smaller: smoother, larger: fits the examples closer).
    - word_features, char_features: vocabulary sizes of the word 1-2-gram and character 3-5-gram
      TF-IDF parts (the model holds techniques x features weights: keep them lean).
    - calibration_fraction: share of the text groups (`fit`'s `groups`) held out from the SVM to fit
      the score calibration (one fit, not two: the first build must stay within a minute).
    - random_state: seed for the held-out split and the SVM, so a rebuild gives the same model.

    Texts labelled NO_TECHNIQUE teach the model what a sentence without a technique looks like;
    that label is never reported, and its value lowers the scores of the techniques.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, C: float = DEFAULT_C, word_features: int = 20000,
                 char_features: int = 20000, calibration_fraction: float = 0.1, random_state: int = 0):
        self.threshold = threshold
        self.C = C
        self.word_features = word_features
        self.char_features = char_features
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state

    def fit(self, texts: list[str], techniques: list[str], groups: list[str] | None = None,
            names: dict[str, str] | None = None,
            progress: Callable[[str], None] | None = None) -> "TechniqueRecognizer":
        """Learn from `texts` labelled with technique IDs (or NO_TECHNIQUE). `groups`: where each
        text comes from (`training_set` gives the report a procedure example cites): the calibration
        holds out whole groups, so it sees texts like those of a report the SVM never read (default:
        every text its own group). `names`: technique ID -> name, for hits and name matching
        (default: the IDs themselves)."""
        labels = np.asarray(techniques)
        groups = list(texts) if groups is None else groups
        if len(texts) != len(labels) or len(groups) != len(labels) or len(set(techniques) - {NO_TECHNIQUE}) < 2:
            raise ValueError("fit needs as many labels and groups as texts and at least two techniques")
        say = progress or (lambda _message: None)
        held = np.array([self._held_out(g) for g in groups], dtype=bool)
        say(f"training on {int((~held).sum())} texts, {len(set(techniques))} labels")
        self.vectorizer_ = FeatureUnion([
            # English stop words dropped: "and", "with", "the" tell news prose from ATT&CK's, not techniques
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.5, sublinear_tf=True,
                                      stop_words="english", max_features=self.word_features,
                                      dtype=np.float32)),
            # n-grams in more than 5 % of the texts ("the", "ed ") tell techniques apart little
            # and are most of the nonzeros: dropping them halves the training time
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_df=0.05,
                                      sublinear_tf=True, max_features=self.char_features, dtype=np.float32)),
        ])
        X = self.vectorizer_.fit_transform([t for t, h in zip(texts, held) if not h])
        for _name, part in self.vectorizer_.transformer_list:
            part.stop_words_ = None  # the pruned terms: only for inspection, and large to pickle
        # tol 1e-2 instead of 1e-4: the same rankings on the validation split, in less time
        svm = LinearSVC(C=self.C, tol=1e-2, random_state=self.random_state).fit(X, labels[~held])
        self.classes_ = svm.classes_
        self.coef_ = svm.coef_.astype(np.float32)
        self.intercept_ = svm.intercept_.astype(np.float32)
        if self.coef_.shape[0] == 1:  # two labels: LinearSVC keeps one row (for classes_[1])
            self.coef_, self.intercept_ = np.vstack([-self.coef_, self.coef_]), np.r_[-self.intercept_,
                                                                                      self.intercept_]
        self.techniques_ = np.flatnonzero(self.classes_ != NO_TECHNIQUE)
        self.none_ = np.flatnonzero(self.classes_ == NO_TECHNIQUE)
        say(f"calibrating scores on {int(held.sum())} held-out texts")
        top, features = self._candidates([t for t, h in zip(texts, held) if h], 5)
        target = self.classes_[top] == labels[held][:, None]
        if target.all() or not target.any():
            raise ValueError("too few texts to calibrate the scores: give more texts per technique")
        self.calibrator_ = LogisticRegression(random_state=self.random_state).fit(
            features.reshape(-1, features.shape[-1]), target.reshape(-1))
        self.counts_ = {str(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True))}
        self.names_ = dict(names) if names else {str(c): str(c) for c in self.classes_[self.techniques_]}
        self.patterns_ = name_patterns(self.names_)
        return self

    def _held_out(self, group: str) -> bool:
        """Whether `group` is held out for the calibration: a hash, the same on every run."""
        digest = hashlib.blake2b(f"{self.random_state}:{group}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2 ** 64 < self.calibration_fraction

    def decision_function(self, texts: list[str]) -> np.ndarray:
        """Raw linear-model values, one column per label in `classes_`."""
        X = sparse.csr_matrix(self.vectorizer_.transform(texts))
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def _candidates(self, texts: list[str], k: int, D: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k best technique columns per text, and for each the calibration features:
        its value, its lead over the best other technique, the no-technique value, and its value
        as a z-score among all the text's technique values (the SVM's values shrink on wording
        unlike ATT&CK's, such as news prose, while a clear winner still stands out from the rest)."""
        D = self.decision_function(texts) if D is None else D
        tech = D[:, self.techniques_]
        k = min(k, tech.shape[1])
        order = np.argsort(-tech, axis=1, kind="stable")[:, :max(k, 2)]
        values = np.take_along_axis(tech, order, axis=1)
        lead = (values - np.where(np.arange(values.shape[1]) == 0, values[:, [1]], values[:, [0]]))[:, :k]
        order, values = order[:, :k], values[:, :k]
        none = D[:, self.none_[0]][:, None].repeat(k, axis=1) if len(self.none_) else np.zeros_like(values)
        spread = tech.std(axis=1, keepdims=True)
        z = (values - tech.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1)
        return self.techniques_[order], np.stack([values, lead, none, z], axis=-1)

    def rank(self, texts: list[str], k: int = 3, D: np.ndarray | None = None) -> list[list[tuple[str, float]]]:
        """The model's k best techniques per text with calibrated scores, best first (`D`: the
        texts' decision_function, if already computed)."""
        if not texts:
            return []
        top, features = self._candidates(texts, k, D)
        scores = self.calibrator_.predict_proba(features.reshape(-1, features.shape[-1]))[:, 1]
        scores = scores.reshape(top.shape)
        return [[(str(self.classes_[c]), float(s)) for c, s in zip(row, srow)] for row, srow in zip(top, scores)]

    def any_name(self) -> re.Pattern:
        """One regex for every technique name: most sentences name none, and one search says so."""
        if getattr(self, "any_name_", None) is None:
            self.any_name_ = re.compile("|".join(f"(?:{p.pattern})" for _, p in self.patterns_), re.I)
        return self.any_name_

    def predict(self, sentences: list[str], threshold: float | None = None) -> list[TechniqueHit]:
        """Hits scoring at least `threshold` (default: the estimator's), one per technique (its
        best sentence), best first. A technique a sentence names (by ID or name) is a hit of that
        kind for the sentence, whatever the model scores it there."""
        best: dict[str, TechniqueHit] = {}
        named: set[tuple[str, str]] = set()  # (sentence, technique) hits by ID or name
        floor = self.threshold if threshold is None else threshold

        def offer(hit: TechniqueHit) -> None:
            old = best.get(hit.technique)
            if hit.method != "model":
                named.add((hit.sentence, hit.technique))
            if hit.score >= floor and (old is None or hit.score > old.score):
                best[hit.technique] = hit

        if not sentences:
            return []
        D = self.decision_function(sentences)
        column = {str(c): i for i, c in enumerate(self.classes_)}
        any_name = self.any_name()
        for row, sentence in enumerate(sentences):
            for found in TECHNIQUE_IN_TEXT.findall(sentence):
                if found in self.names_:
                    offer(TechniqueHit(found, self.names_[found], ID_SCORE, sentence, "id"))
            for owners, pattern in self.patterns_ if any_name.search(sentence) else ():
                if pattern.search(sentence):
                    # a name several techniques share ("Spearphishing Attachment": T1566.001 and
                    # T1598.002): the one ATT&CK gives most procedure examples, then the model's choice
                    technique = min(owners, key=lambda t: (-self.counts_.get(t, 0),
                                                           -D[row, column[t]] if t in column else np.inf, t))
                    offer(TechniqueHit(technique, self.names_[technique], NAME_SCORE, sentence, "name"))
        for sentence, ranked in zip(sentences, self.rank(sentences, k=3, D=D)):
            for technique, score in ranked:
                if (sentence, technique) not in named:
                    offer(TechniqueHit(technique, self.names_.get(technique, technique), round(score, 4),
                                       sentence, "model"))
        return sorted(best.values(), key=lambda h: (-h.score, h.technique))


def training_set(corpus: AttackCorpus,
                 examples: list[Example] | None = None) -> tuple[list[str], list[str], list[str]]:
    """Texts, labels and groups (`TechniqueRecognizer.fit`'s): the given procedure examples
    (default all), every technique's own texts and the sentences that name no technique (label
    NO_TECHNIQUE). A procedure example's group is its origin (its report); any other text is a group
    of its own."""
    chosen = (corpus.examples if examples is None else examples) + corpus.technique_texts + corpus.negatives
    return [e.text for e in chosen], [e.technique for e in chosen], [e.origin or e.text for e in chosen]
