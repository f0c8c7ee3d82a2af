"""The technique model drafts use (`recognizer_for`): learnt from an ATT&CK bundle and the annotated
report corpora, built once and cached under the project cache, keyed by the bundle's and the corpora's
content and `techniques.MODEL_VERSION`."""
from __future__ import annotations

import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Callable

from graph.errors import ValidationError
from loaders.common import file_digest
from loaders.reports import report_model, ttp_corpora
from loaders.reports.techniques import MODEL_VERSION, TechniqueRecognizer, read_corpus, training_set


def bundle_hash(bundle: Path) -> str:
    try:
        return file_digest(bundle)
    except OSError as exc:
        raise ValidationError(bundle, f"cannot read the ATT&CK bundle ({exc})") from exc


def model_path(bundle: Path, cache_dir: Path, corpora: list[Path] | None = None) -> Path:
    """The cached model of `bundle` and the annotated corpus files `corpora` (none: ATT&CK alone)."""
    learnt = ttp_corpora.corpora_hash(corpora) if corpora else "attack"
    return cache_dir / "models" / f"techniques-v{MODEL_VERSION}-{bundle_hash(bundle)}-{learnt}.pickle"


_FOUND = object()  # recognizer_for's default: the corpora `ttp_corpora.corpora_dir` finds


def recognizer_for(bundle: Path, cache_dir: Path, progress: Callable[[str], None] | None = None,
                   reports: Path | None | object = _FOUND):
    """The recogniser (`report_model.ReportRecognizer`) learnt from `bundle` and the annotated
    report corpora in the folder `reports` (default: `ttp_corpora.corpora_dir()`, i.e.
    $ATTRIB_TTP_REPORTS or ../shared/data/ttp-reports beside the checkout; None: ATT&CK alone), from
    `cache_dir/models/` if built before, else built now (with `progress` messages).

    `cache_dir` is the project cache (`settings.cache_dir`, i.e. $ATTRIB_HOME/cache).
    """
    say = progress or (lambda _message: None)
    folder = ttp_corpora.corpora_dir() if reports is _FOUND else reports
    files = ttp_corpora.corpus_files(Path(folder)) if folder is not None else []
    path = model_path(Path(bundle), Path(cache_dir), files)
    if path.exists():
        try:
            with open(path, "rb") as f:
                cached = pickle.load(f)  # our own cache file, written below
            if isinstance(cached, report_model.ReportRecognizer):
                return cached
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
            say(f"rebuilding the technique model: the cached one is unreadable ({exc})")
    started = time.monotonic()
    say(f"learning ATT&CK techniques from {Path(bundle).name} (once per bundle and corpora)")
    corpus = read_corpus(Path(bundle))
    texts, labels, groups = training_set(corpus)
    try:
        sentence_model = TechniqueRecognizer().fit(texts, labels, groups, names=corpus.techniques, progress=say)
    except ValueError as exc:
        raise ValidationError(bundle, f"cannot learn techniques from this bundle: {exc}",
                              hint="use a full ATT&CK bundle such as enterprise-attack.json") from exc
    recognizer = report_model.ReportRecognizer(sentence_model)
    reports_read = [r for f in files for r in ttp_corpora.read_reports(f)]
    if reports_read:
        say(f"learning from {len(reports_read)} annotated reports in {folder}")
        try:
            recognizer.fit(reports_read, progress=say)
        except ValueError as exc:
            raise ValidationError(folder, f"cannot learn techniques from these annotated reports: {exc}",
                                  hint=f"point {ttp_corpora.ENV} at the TRAM 2 / AnnoCTR corpora") from exc
    else:
        say(f"no annotated report corpora ({ttp_corpora.ENV} unset, no {ttp_corpora.DEFAULT}): "
            "techniques are learnt from ATT&CK alone, decided on each report's behaviour sentences")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(recognizer, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # models of older versions of the same bundle will never be read again (~100 MB each)
    for stale in path.parent.glob(f"techniques-v*-{bundle_hash(Path(bundle))}*.pickle"):
        if not stale.name.startswith(f"techniques-v{MODEL_VERSION}-"):
            stale.unlink(missing_ok=True)
    say(f"model built in {time.monotonic() - started:.0f} s ({recognizer.trained_on}), cached in {path}")
    return recognizer
