"""Techniques of a whole report, decided per document, learnt from annotated real reports.

Three parts (built by `model_cache.recognizer_for`, cached with the model):

- the sentence model (`techniques.TechniqueRecognizer`, "A"): ATT&CK's prose, every technique;
- the report-sentence model ("B"): one linear SVM per technique over TF-IDF word 1-2-grams and
  character 3-5-grams of the annotated reports' sentences (`ttp_corpora`; techniques with at least
  `MIN_SENTENCES` labelled sentences). A sub-technique's sentence also teaches its parent. A corpus
  says nothing about a technique outside its label space (TRAM 2 labels 50 techniques: its other
  sentences are no negatives for the rest), so each technique learns from the corpora that label it;
- the document decision: per candidate technique of a report, figures of the whole report
  (`FEATURES`: its best and second-best sentence scores by A and by B, how many sentences, the best
  three-sentence neighbourhood, its sub-techniques' and parent's scores, its ID written in the text,
  in an ID list or table, only in advice, its name written, how often reports mention it) go through
  a logistic regression, fitted on report-sentence scores of reports B did not learn from
  (`FOLDS`-fold cross-fitting by document). Its threshold is the one with the best mean
  per-document F1 on the training reports' held-out folds, the highest within `PRECISION_FIRST` of
  the best (precision first). Sentences that describe no behaviour (`structure.kinds`: headings,
  captions, IOC runs, YARA/Sigma rules, mitigation and recommendation sections) give no model score;
  IDs written count anywhere but in IOC runs and rules.

Without annotated corpora the decision is A's own over the behaviour sentences (IDs written anywhere
outside IOC runs and rules), and `trained_on` says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from loaders.reports import structure
from loaders.reports.techniques import ID_SCORE, NAME_SCORE, TECHNIQUE_IN_TEXT, TechniqueHit, TechniqueRecognizer
from loaders.reports.ttp_corpora import Report, label_space, parent

MIN_SENTENCES = 3
FOLDS = 3
PRECISION_FIRST = 0.01
THRESHOLDS = tuple(round(0.025 * i, 3) for i in range(2, 39))
# A technique is a candidate for a report when A ranks it in a behaviour sentence's top 5 with at
# least this score, or B's sigmoid reaches B_FLOOR, or the text writes its ID or name.
A_FLOOR = 0.1
B_FLOOR = 0.2
COUNT_AT = 0.3  # a sentence "states" a technique from this score
FEATURES = ("a_max", "a_second", "a_count", "a_context", "a_sub", "a_parent",
            "b_max", "b_second", "b_count", "b_context", "b_sub", "b_parent", "has_b",
            "id_count", "id_list", "id_advice_only", "id_sub", "name", "prior", "length")
SKIP_IDS = ("indicators", "rule")  # sentence kinds whose IDs do not count


def per_document_f1(predicted: list[set[str]], truth: list[set[str]]) -> dict:
    """Mean over documents of F1, precision and recall of the predicted and true ID sets (the
    caller cuts both to the label space). Empty truth and empty prediction: F1 1."""
    f1s, ps, rs = [], [], []
    for p, t in zip(predicted, truth):
        right = len(p & t)
        prec = right / len(p) if p else float(not t)
        rec = right / len(t) if t else float(not p)
        ps.append(prec)
        rs.append(rec)
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    n = max(len(f1s), 1)
    return {"f1": round(sum(f1s) / n, 3), "precision": round(sum(ps) / n, 3), "recall": round(sum(rs) / n, 3),
            "documents": len(f1s)}


def rolled_up(ids: set[str]) -> set[str]:
    return {parent(t) for t in ids}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ReportSentenceModel:
    """B: report sentences -> one margin per technique (one linear SVM each)."""

    def __init__(self, C: float = 0.5, random_state: int = 0):
        self.C = C
        self.random_state = random_state

    def fit(self, X: sparse.csr_matrix, labels: list[frozenset[str]], spaces: list[frozenset[str]],
            min_sentences: int = MIN_SENTENCES) -> "ReportSentenceModel":
        """`X`: the sentences' features; `labels`: each sentence's IDs; `spaces`: the label space of
        each sentence's corpus (a sentence is a negative only for techniques its corpus labels)."""
        positives: dict[str, set[int]] = {}
        for i, ids in enumerate(labels):
            for t in ids | rolled_up(set(ids)):
                positives.setdefault(t, set()).add(i)
        space_rows: dict[frozenset, np.ndarray] = {}
        for space in set(spaces):
            space_rows[space] = np.array([i for i, s in enumerate(spaces) if s == space])
        self.classes_, coef, intercept = [], [], []
        for t in sorted(t for t, rows in positives.items() if len(rows) >= min_sentences):
            pos = np.array(sorted(positives[t]))
            rows = np.union1d(pos, np.concatenate([r for s, r in space_rows.items() if t in s] or [pos]))
            y = np.isin(rows, pos)
            if y.all():  # no corpus labels it (a parent only rolled up from sub-techniques): no negatives
                continue
            self.classes_.append(t)
            svm = LinearSVC(C=self.C, tol=1e-2, random_state=self.random_state).fit(X[rows], y)
            coef.append(svm.coef_[0].astype(np.float32))
            intercept.append(float(svm.intercept_[0]))
        self.coef_ = np.vstack(coef) if coef else np.zeros((0, X.shape[1]), np.float32)
        self.intercept_ = np.asarray(intercept, dtype=np.float32)
        self.column_ = {t: i for i, t in enumerate(self.classes_)}
        return self

    def margins(self, X: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_


def vectorizer() -> TfidfVectorizer:
    """B's features: word 1-2-grams (character n-grams, as A has, took 6 times the CPU here)."""
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.5, sublinear_tf=True, max_features=30000,
                           dtype=np.float32)


@dataclass
class Reading:
    """One report read by A (and B): what the document decision needs."""

    sentences: list[str]
    kinds: list[str | None]
    a: dict[str, np.ndarray]  # technique -> A's score per sentence (0 outside its top 5)
    b: np.ndarray | None  # sentences x B's classes: sigmoid of the margins
    b_column: dict[str, int]  # technique -> its column of `b`
    ids: dict[str, list[int]]  # technique -> sentences writing its ID (not in IOC runs or rules)
    names: dict[str, list[int]]  # technique -> behaviour sentences writing its name


class ReportRecognizer:
    """A report's sentences -> its techniques, decided per document (see the module's docstring).

    `predict(sentences, threshold)`: one hit per technique with its document-level score (0-1) and
    the sentence that best shows it, best first; `threshold` the document decision's."""

    def __init__(self, sentence_model: TechniqueRecognizer, trained_on: str = "ATT&CK alone"):
        self.sentence_model = sentence_model
        self.trained_on = trained_on
        self.report_model: ReportSentenceModel | None = None
        self.vectorizer_: TfidfVectorizer | None = None
        self.combiner_ = None
        self.threshold = sentence_model.threshold
        self.prior_: dict[str, float] = {}
        self.validation_: dict = {}

    # the sentence model's interface, for callers that rank single sentences
    @property
    def names_(self) -> dict[str, str]:
        return self.sentence_model.names_

    def rank(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        return self.sentence_model.rank(texts, k)

    # -- reading ---------------------------------------------------------------------------------
    def read(self, sentences: list[str], a_scores: list[list[tuple[str, float]]] | None = None,
             b_margins: tuple[dict[str, int], np.ndarray] | None = None) -> Reading:
        """`a_scores`: A's top 5 per sentence, when already computed; `b_margins`: (columns,
        margins) of a B model other than this one's (a cross-fitting fold's)."""
        kinds = structure.kinds(sentences)
        model = self.sentence_model
        if a_scores is None:
            a_scores = model.rank(sentences, k=5) if sentences else []
        a: dict[str, np.ndarray] = {}
        for i, ranked in enumerate(a_scores):
            for t, p in ranked:
                a.setdefault(t, np.zeros(len(sentences), np.float32))[i] = p
        b, b_column = None, {}
        if b_margins is not None:
            b_column, b = b_margins[0], sigmoid(b_margins[1])
        elif self.report_model is not None and sentences:
            b_column = self.report_model.column_
            b = sigmoid(self.report_model.margins(sparse.csr_matrix(self.vectorizer_.transform(sentences))))
        ids: dict[str, list[int]] = {}
        names: dict[str, list[int]] = {}
        for i, (s, kind) in enumerate(zip(sentences, kinds)):
            if kind in SKIP_IDS:
                continue
            for found in set(TECHNIQUE_IN_TEXT.findall(s)):
                if found in model.names_:
                    ids.setdefault(found, []).append(i)
            if kind is None and model.any_name().search(s):
                for owners, pattern in model.patterns_:
                    if pattern.search(s):
                        names.setdefault(min(owners, key=lambda t: (-model.counts_.get(t, 0), t)), []).append(i)
        return Reading(sentences, kinds, a, b, b_column, ids, names)

    def candidates(self, r: Reading) -> set[str]:
        behaviour = np.array([k is None for k in r.kinds], dtype=bool)
        found = {t for t, v in r.a.items() if (v[behaviour] >= A_FLOOR).any()}
        if r.b is not None and behaviour.any():
            best = r.b[behaviour].max(axis=0)
            found |= {t for t, j in r.b_column.items() if best[j] >= B_FLOOR}
        found |= set(r.ids) | set(r.names)
        found |= rolled_up(found)
        return {t for t in found if t in self.names_}

    def features(self, r: Reading, techniques: list[str]) -> np.ndarray:
        n = len(r.sentences)
        behaviour = np.array([k is None for k in r.kinds], dtype=bool)
        zeros = np.zeros(n, np.float32)
        subs: dict[str, list[str]] = {}
        for t in set(r.a) | set(r.ids) | set(r.b_column):
            if "." in t:
                subs.setdefault(parent(t), []).append(t)

        def profile(v: np.ndarray) -> tuple[float, float, float, float]:
            v = np.where(behaviour, v, 0)
            top = np.sort(v)[::-1]
            window = np.convolve(v, np.ones(3, np.float32) / 3, mode="same") if n else v
            return (float(top[0]) if n else 0.0, float(top[1]) if n > 1 else 0.0,
                    float(np.log1p((v >= COUNT_AT).sum())), float(window.max()) if n else 0.0)

        def b_column(t: str) -> np.ndarray | None:
            j = r.b_column.get(t)
            return None if j is None or r.b is None else r.b[:, j]

        rows = []
        for t in techniques:
            a_max, a_second, a_count, a_context = profile(r.a.get(t, zeros))
            a_sub = max((profile(r.a[s])[0] for s in subs.get(t, []) if s in r.a), default=0.0)
            a_parent = profile(r.a.get(parent(t), zeros))[0] if "." in t else 0.0
            b = b_column(t)
            b_max, b_second, b_count, b_context = profile(b) if b is not None else (0.0, 0.0, 0.0, 0.0)
            b_sub = max((profile(c)[0] for s in subs.get(t, []) if (c := b_column(s)) is not None), default=0.0)
            pb = b_column(parent(t)) if "." in t else None
            b_parent = profile(pb)[0] if pb is not None else 0.0
            at = r.ids.get(t, [])
            id_list = any(len(set(TECHNIQUE_IN_TEXT.findall(r.sentences[i]))) >= 2 for i in at)
            id_advice_only = bool(at) and all(r.kinds[i] == "advice" for i in at)
            id_sub = any(s in r.ids for s in subs.get(t, []))
            rows.append([a_max, a_second, a_count, a_context, a_sub, a_parent,
                         b_max, b_second, b_count, b_context, b_sub, b_parent, float(b is not None),
                         np.log1p(len(at)), float(id_list), float(id_advice_only), float(id_sub),
                         float(t in r.names), self.prior_.get(t, 0.0), np.log1p(n)])
        return np.asarray(rows, dtype=np.float32).reshape(len(techniques), len(FEATURES))

    def decide(self, r: Reading) -> dict[str, float]:
        """Each candidate technique's document-level score."""
        techniques = sorted(self.candidates(r))
        if not techniques:
            return {}
        if self.combiner_ is None:  # ATT&CK alone: A's best behaviour sentence; an ID written, ID_SCORE
            behaviour = np.array([k is None for k in r.kinds], dtype=bool)
            return {t: ID_SCORE if t in r.ids else float(np.where(behaviour, r.a.get(t, 0), 0).max(initial=0))
                    for t in techniques}
        scores = self.combiner_.predict_proba(self.features(r, techniques))[:, 1]
        # an ID the report writes (prose, its ATT&CK table, a mitigation citing it) or a technique's
        # name in its prose is the report's own statement: selected as the sentence model's
        # `predict` does, whatever the corpora's tables (often left unlabelled) taught
        decided = {t: ID_SCORE if t in r.ids else max(s, NAME_SCORE) if t in r.names else s
                   for t, s in zip(techniques, scores.tolist())}
        # a parent the report is decided to show, refined to the sub-technique the ATT&CK model is
        # sure of (at its own threshold) in a behaviour sentence: the corpora label few sub-techniques
        behaviour = np.array([k is None for k in r.kinds], dtype=bool)
        for t in techniques:
            p = parent(t)
            if t != p and decided.get(p, 0) >= self.threshold and t in r.a \
                    and np.where(behaviour, r.a[t], 0).max() >= self.sentence_model.threshold:
                decided[t] = max(decided[t], decided[p])
        return decided

    def predict(self, sentences: list[str], threshold: float | None = None) -> list[TechniqueHit]:
        """The techniques scoring at least `threshold` (default: the decision's), best first, each
        with the sentence that shows it best: its ID written (prose or table before advice), else
        its best behaviour sentence by B, else by A."""
        if not sentences:
            return []
        r = self.read(list(sentences))
        floor = self.threshold if threshold is None else threshold
        hits = []
        for t, score in self.decide(r).items():
            if score < floor:
                continue
            i, method = self._evidence(r, t)
            hits.append(TechniqueHit(t, self.names_.get(t, t), round(float(score), 4), r.sentences[i], method))
        return sorted(hits, key=lambda h: (-h.score, h.technique))

    def _evidence(self, r: Reading, t: str) -> tuple[int, str]:
        if t in r.ids:
            return min(r.ids[t], key=lambda i: (r.kinds[i] == "advice", i)), "id"
        if t in r.names:
            return r.names[t][0], "name"
        behaviour = np.array([k is None for k in r.kinds], dtype=bool)
        family = [t] + [s for s in r.a if parent(s) == t and s != t]
        best = np.zeros(len(r.sentences), np.float32)
        j = r.b_column.get(t)
        if j is not None and r.b is not None:
            best = np.maximum(best, r.b[:, j])
        for s in family:
            if s in r.a:
                best = np.maximum(best, r.a[s])
        best = np.where(behaviour, best, -1)
        return int(best.argmax()), "model"

    # -- learning ------------------------------------------------------------------------------------
    def fit(self, reports: list[Report], progress: Callable[[str], None] | None = None,
            a_scores: list[list[list[tuple[str, float]]]] | None = None) -> "ReportRecognizer":
        """Learn B and the document decision from annotated `reports` (A is fitted already).
        `a_scores`: A's top-5 per sentence of each report, when already computed."""
        say = progress or (lambda _message: None)
        fold = report_folds(len(reports))
        rows = self.learn_sentences(reports, fold, say, a_scores)
        say("learning the document decision")
        return self.learn_decision(reports, rows, fold, say)

    def learn_sentences(self, reports: list[Report], fold: np.ndarray, say: Callable[[str], None],
                        a_scores: list | None = None) -> tuple:
        """B (cross-fitted by `fold`, then on all `reports`) and the document decision's training rows."""
        spaces = {c: label_space([r for r in reports if r.corpus == c]) for c in {r.corpus for r in reports}}
        corpora = ", ".join(f"{c} ({sum(r.corpus == c for r in reports)} reports)" for c in sorted(spaces))
        self.trained_on = f"ATT&CK and annotated reports: {corpora}"
        if a_scores is None:
            say(f"reading {sum(len(r.sentences) for r in reports)} report sentences with the ATT&CK model")
            a_scores = [self.sentence_model.rank(list(r.sentences), k=5) for r in reports]
        texts = [s for r in reports for s in r.sentences]
        labels = [ids for r in reports for ids in r.labels]
        space_of = [spaces[r.corpus] for r in reports for _ in r.sentences]
        offsets = np.cumsum([0] + [len(r.sentences) for r in reports])
        say(f"learning report sentences ({len(texts)}, {sum(bool(x) for x in labels)} labelled)")
        self.vectorizer_ = vectorizer()
        X = sparse.csr_matrix(self.vectorizer_.fit_transform(texts))
        margins: list = [None] * len(reports)
        for k in range(FOLDS):  # B's margins on each report from a B that did not learn it
            say(f"  report-sentence model, fold {k + 1} of {FOLDS} (by report)")
            train = np.concatenate([np.arange(offsets[d], offsets[d + 1])
                                    for d in range(len(reports)) if fold[d] != k])
            model = ReportSentenceModel().fit(X[train], [labels[i] for i in train], [space_of[i] for i in train])
            for d in np.flatnonzero(fold == k):
                margins[d] = (model.column_, model.margins(X[offsets[d]:offsets[d + 1]]))
        say("  report-sentence model, all reports")
        self.report_model = ReportSentenceModel().fit(X, labels, space_of)
        return self._training_rows(reports, spaces, fold, a_scores, margins)

    def _training_rows(self, reports, spaces, fold, a_scores, margins) -> tuple:
        """The document decision's training rows: (report, candidate in its corpus's label space)
        read with B's held-out margins: features, truth, report, technique."""
        fold_priors = [self._priors([r for d, r in enumerate(reports) if fold[d] != k]) for k in range(FOLDS)]
        feats, ys, docs, techs = [], [], [], []
        for d, r in enumerate(reports):
            self.prior_ = fold_priors[fold[d]]
            reading = self.read(list(r.sentences), a_scores[d], margins[d])
            ts = sorted(t for t in self.candidates(reading) if t in spaces[r.corpus])
            if ts:
                feats.append(self.features(reading, ts))
                ys.extend(t in r.techniques for t in ts)
                docs.extend([d] * len(ts))
                techs.extend(ts)
        self.prior_ = self._priors(reports)
        if not feats:
            raise ValueError("the annotated reports give no candidate techniques to learn from")
        return np.vstack(feats), np.asarray(ys), np.asarray(docs), np.asarray(techs)

    def learn_decision(self, reports: list[Report], rows: tuple, fold: np.ndarray,
                       say: Callable[[str], None]) -> "ReportRecognizer":
        """The combiner on all `rows`, its threshold on their held-out folds' scores."""
        F, y, docs, techs = rows
        if y.all() or not y.any():
            raise ValueError("too few annotated reports to learn the document decision")
        spaces = {c: label_space([r for r in reports if r.corpus == c]) for c in {r.corpus for r in reports}}
        oof = np.zeros(len(y))
        for k in range(FOLDS):
            inside = fold[docs] != k
            oof[~inside] = combiner().fit(F[inside], y[inside]).predict_proba(F[~inside])[:, 1]
        named = F[:, FEATURES.index("name")] > 0  # as `decide` does
        oof[named] = np.maximum(oof[named], NAME_SCORE)
        oof[F[:, FEATURES.index("id_count")] > 0] = ID_SCORE
        self.combiner_ = combiner().fit(F, y)
        self.threshold, self.validation_ = choose_threshold(reports, spaces, docs, techs, oof)
        say(f"document threshold {self.threshold:g} (held-out folds of the training reports: "
            f"per-document F1 {self.validation_['f1']})")
        return self

    def _priors(self, reports: list[Report]) -> dict[str, float]:
        """log share of the training reports that have a technique (or a sub-technique of it)."""
        counts: dict[str, int] = {}
        for r in reports:
            for t in r.techniques | rolled_up(set(r.techniques)):
                counts[t] = counts.get(t, 0) + 1
        return {t: float(np.log((c + 1) / (len(reports) + 2))) for t, c in counts.items()}


def report_folds(n: int) -> np.ndarray:
    """FOLDS folds of n reports, the same for the same n."""
    return (np.arange(n) % FOLDS)[np.random.default_rng(0).permutation(n)]


def combiner():
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def choose_threshold(reports: list[Report], spaces: dict[str, frozenset[str]], docs: np.ndarray,
                     techs: np.ndarray, scores: np.ndarray) -> tuple[float, dict]:
    """The threshold with the best mean per-document F1 (each report's prediction and truth cut to
    its corpus's label space), the highest within PRECISION_FIRST of the best."""
    truth = [set(r.techniques) & spaces[r.corpus] for r in reports]
    results = {}
    for th in THRESHOLDS:
        predicted = [set() for _ in reports]
        for d, t, s in zip(docs, techs, scores):
            if s >= th:
                predicted[d].add(str(t))
        results[th] = per_document_f1(predicted, truth)
    best = max(r["f1"] for r in results.values())
    chosen = max(th for th, r in results.items() if r["f1"] >= best - PRECISION_FIRST)
    return chosen, results[chosen]
