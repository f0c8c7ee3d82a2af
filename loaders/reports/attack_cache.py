"""Which ATT&CK bundle the technique model learns from: the one the graph holds, found without a flag.

A load keeps a copy of every ATT&CK bundle it wrote (`keep_attack_bundles`, under
`$ATTRIB_HOME/cache/attack/loaded/<content hash>-<file name>`); the graph's Technique nodes carry
the bundle's content hash (`attack_bundle`, loaders/stix.py), so `find_attack_bundle` goes from the
graph to the file (`recognizer_for` in loaders/reports/model_cache.py builds or loads its model).
Light on purpose: `attrib load` calls it without importing the model's libraries.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from loaders.common import file_digest


def find_attack_bundle(settings, held: str | None = None) -> Path | None:
    """The ATT&CK bundle to learn techniques from. `held`: the content hash of the bundle the graph
    holds (graph.reads.attack_bundles, best first): its copy kept at load time (`keep_attack_bundles`),
    else a cached bundle with that content (a download, a TAXII pull), else None. Without `held` (no
    graph, or one without ATT&CK): the Enterprise bundle `attrib load attack` downloaded, newest first;
    else any other ATT&CK bundle there; else None."""
    if held:
        kept = sorted(_kept_dir(settings.cache_dir).glob(f"{held}-*"))
        if kept:
            return kept[0]
        for path in _cached_bundles(settings.cache_dir):
            if file_digest(path) == held:
                return path
        return None
    directory = settings.cache_dir / "attack"
    if not directory.is_dir():
        return None
    found = [p for p in directory.iterdir() if _is_bundle_file(p)]
    found.sort(key=lambda p: ("enterprise" not in p.name.lower(), -p.stat().st_mtime, p.name))
    return found[0] if found else None


def keep_attack_bundles(held: list[str], files: Iterable[Path | str], cache_dir: Path,
                        say: Callable[[str], None] | None = None) -> list[Path]:
    """After a load: a copy under `cache_dir/attack/loaded/` of each loaded file that is an ATT&CK bundle
    the graph now holds (`held`: content hashes), so that its technique model is found later without
    a flag, whatever loaded it (a file, an upload, a URL, a TAXII pull, `attrib load attack`). Files in
    the cache are linked, others copied. Returns the new copies."""
    directory = _kept_dir(cache_dir)
    missing = {h for h in held if not any(directory.glob(f"{h}-*"))}
    kept = []
    for file in map(Path, files):
        if not missing or not _is_bundle_file(file):
            continue
        try:
            digest = file_digest(file)
            if digest not in missing:
                continue
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / f"{digest}-{file.name}"
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-")
            os.close(fd)
            try:
                if Path(cache_dir).resolve() in file.resolve().parents:
                    os.unlink(tmp)
                    os.link(file, tmp)
                else:
                    shutil.copyfile(file, tmp)
                os.replace(tmp, target)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            if say:
                say(f"note: cannot keep a copy of the ATT&CK bundle {file} ({exc}): attrib extract will "
                    "not find its technique model without --attack")
            continue
        missing.discard(digest)
        kept.append(target)
    return kept


def _kept_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "attack" / "loaded"


def _is_bundle_file(path: Path) -> bool:
    name = path.name.lower()
    return (path.is_file() and not name.startswith(".") and name.endswith((".json", ".json.gz"))
            and not name.endswith(".meta.json"))


def _cached_bundles(cache_dir: Path) -> list[Path]:
    """Bundles in the cache a load may have come from: downloads and TAXII pulls."""
    roots = [Path(cache_dir) / "attack", Path(cache_dir) / "taxii"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*") if _is_bundle_file(p)
                  and p.parent != _kept_dir(cache_dir))
