"""A zoo's dynamics analyses: read from its committed analyses, else a cache, else computed.

The zoo knows nothing of the analyses done on it; this module keeps them next to it.
Each network's :class:`~simbench.dynamics.result.DynamicsResult` is one safetensors file
(arrays, JSON in its metadata; no pickle) named by the network's content hash, in a
folder named by the *analysis key*

    key = producer_key("dynamics", ANALYSIS_VERSION, options.as_dict())

(:func:`simbench.zoo.cache.producer_key`), so a changed analysis (a bumped
:data:`~simbench.dynamics.analysis.ANALYSIS_VERSION`) or other options never read a
stale entry. Two places hold such folders, read in this order:

- ``ZOO/analyses/dynamics/KEY/`` — the zoo's **committed analyses**, built by
  :func:`analyse_zoo` (``simbench zoo analyse ZOO``) and shipped with the zoo, so a
  fresh clone scores dynamics metrics and ``topology_rho`` without analysing anything.
  ``KEY/analysis.json`` records the version and options they were made with; when the
  folder for the current key is missing but one made with the same options by another
  version exists, one message says they are stale and skipped.
- ``cache_dir(ZOO, "dynamics")/KEY/`` — the cache of analyses computed on demand by
  :func:`zoo_dynamics` (the zoo's own ``dynamics/`` folder, or a user cache folder when
  the zoo is read-only, :func:`simbench.zoo.cache.cache_dir`).

Every entry is checked on load: its metadata must name the network's content hash and
the analysis key, and its arrays must match the SHA-256 digest stored with them. A
broken or stale entry is skipped with a logged warning and the network analysed again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from simbench.dynamics.analysis import ANALYSIS_VERSION, AnalysisOptions, analyse_many
from simbench.dynamics.result import DynamicsResult
from simbench.zoo.cache import arrays_digest, cache_dir, producer_key
from simbench.zoo.store import atomic_write, atomic_write_text

logger = logging.getLogger(__name__)

#: the committed analyses of a zoo live under ``ZOO/ANALYSES``
ANALYSES = Path("analyses") / "dynamics"
INDEX = "analysis.json"

_warned: set = set()


def analysis_key(options: AnalysisOptions | None = None) -> str:
    """The cache key of an analysis: producer, :data:`ANALYSIS_VERSION` and options."""
    return producer_key("dynamics", ANALYSIS_VERSION, (options or AnalysisOptions()).as_dict())


def analyses_folder(zoo_root, options: AnalysisOptions | None = None) -> Path:
    """``ZOO/analyses/dynamics/KEY``: where :func:`analyse_zoo` writes the committed analyses."""
    return Path(zoo_root) / ANALYSES / analysis_key(options)


def cache_folder(zoo_root, options: AnalysisOptions | None = None) -> Path:
    """``cache_dir(ZOO, "dynamics")/KEY``: where on-demand analyses are cached."""
    return cache_dir(zoo_root, "dynamics") / analysis_key(options)


def write_entry(path: Path, result: DynamicsResult, content_hash: str, key: str) -> None:
    """Store one result (atomic write), its metadata naming the content hash, key and digest."""
    arrays, meta = result.to_arrays()
    header = {"dynamics": json.dumps(meta), "content_hash": content_hash, "key": key, "digest": arrays_digest(arrays)}
    atomic_write(Path(path), lambda tmp: save_file(arrays, str(tmp), header))


def read_entry(path: Path, content_hash: str, key: str, network_id: str = "") -> DynamicsResult | None:
    """The result stored at ``path`` if it is intact and made for this network and key;
    else ``None``, with a logged warning (``None`` silently if there is no file)."""
    if not path.exists():
        return None
    name = network_id or content_hash[:16]
    try:
        with safe_open(str(path), "np") as f:
            header = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
        problem = ("made for other weights" if header.get("content_hash") != content_hash else
                   "made by another analysis version or options" if header.get("key") != key else
                   "does not match its digest" if header.get("digest") != arrays_digest(arrays) else None)
        result = None if problem else DynamicsResult.from_arrays(arrays, json.loads(header["dynamics"]))
    except (OSError, SafetensorError, KeyError, ValueError, TypeError) as error:
        problem, result = f"unreadable ({type(error).__name__}: {error})", None
    if problem:
        logger.warning("%s: cached dynamics analysis of %s %s; analysing it again", path, name, problem)
    return result


def _check_stale(zoo_root: Path, options: AnalysisOptions) -> None:
    """One message per zoo and key when its committed analyses are for another version."""
    root, key = zoo_root / ANALYSES, analysis_key(options)
    if (root / key).exists() or (zoo_root, key) in _warned or not root.is_dir():
        return
    wanted = json.loads(json.dumps(options.as_dict()))
    for index in sorted(root.glob(f"*/{INDEX}")):
        try:
            made = json.loads(index.read_text())
        except (OSError, ValueError):
            continue
        if made.get("options") == wanted and made.get("version") != ANALYSIS_VERSION:
            _warned.add((zoo_root, key))
            logger.warning("%s: the zoo's committed dynamics analyses were made by analysis version %s; this "
                           "simbench has version %s, so they are skipped and networks are analysed again "
                           "(run `simbench zoo analyse %s` to rebuild them)", index.parent,
                           made.get("version"), ANALYSIS_VERSION, zoo_root)
            return


def cached_dynamics(zoo, network_ids: Sequence[str], options: AnalysisOptions | None = None) -> dict:
    """``{id: DynamicsResult}`` of the networks whose analysis is stored (committed or
    cached) and intact; the others are missing from the dict."""
    options = options or AnalysisOptions()
    key = analysis_key(options)
    _check_stale(Path(zoo.path), options)
    folders = list(dict.fromkeys([analyses_folder(zoo.path, options), cache_folder(zoo.path, options)]))
    found = {}
    for network_id in dict.fromkeys(network_ids):
        digest = zoo.row(network_id)["content_hash"]
        for folder in folders:
            result = read_entry(folder / f"{digest}.safetensors", digest, key, network_id)
            if result is not None:
                found[network_id] = result
                break
    return found


def _batches(zoo, ids: Sequence[str], batch: int) -> list[list[str]]:
    """``ids`` split into batches of at most ``batch`` networks of one architecture, size,
    options and task (what :func:`~simbench.dynamics.analysis.analyse_many` stacks)."""
    groups: dict = {}
    for network_id in ids:
        row = zoo.row(network_id)
        key = (row["architecture"], row["hidden"], str(row.get("options", "")), row["task"])
        groups.setdefault(key, []).append(network_id)
    return [members[s:s + batch] for members in groups.values() for s in range(0, len(members), batch)]


def analyse_missing(zoo, network_ids: Sequence[str], options: AnalysisOptions, folder: Path,
                    progress: bool = False, batch: int = 32, description: str = "fixed points") -> dict:
    """Analyse ``network_ids`` in batches, storing each batch's results in ``folder`` as
    soon as it is done (so an interrupted run keeps them); ``{id: result}``.

    Each result's ``network["analysis_seconds"]`` is its share of its batch's time.
    """
    key, out = analysis_key(options), {}
    with _progress(len(network_ids), description, progress) as advance:
        for ids in _batches(zoo, network_ids, batch):
            networks = [zoo.network(i) for i in ids]
            start = time.perf_counter()
            results = analyse_many(networks, options=options, batch=batch)
            share = (time.perf_counter() - start) / len(ids)
            for network_id, result in zip(ids, results):
                result.network["analysis_seconds"] = share
                digest = zoo.row(network_id)["content_hash"]
                try:
                    write_entry(folder / f"{digest}.safetensors", result, digest, key)
                except OSError as error:
                    logger.warning("%s: cannot store the dynamics analysis of %s (%s); continuing without",
                                   folder, network_id, error)
                out[network_id] = result
            advance(len(ids))
    return out


def zoo_dynamics(zoo, network_ids, options: AnalysisOptions | None = None, progress: bool = False,
                 batch: int = 32) -> list[DynamicsResult]:
    """Dynamics results of a zoo's networks, in the order of ``network_ids`` (module doc).

    Read from the zoo's committed analyses or the cache when stored there and intact;
    the others are analysed as batched populations (``batch`` networks of one
    architecture at a time, :func:`~simbench.dynamics.analysis.analyse_many`) and cached.
    ``progress`` shows a progress bar over the networks analysed.
    """
    options = options or AnalysisOptions()
    ids = [network_ids] if isinstance(network_ids, str) else list(network_ids)
    results = cached_dynamics(zoo, ids, options)
    todo = [i for i in dict.fromkeys(ids) if i not in results]
    if todo:
        results.update(analyse_missing(zoo, todo, options, cache_folder(zoo.path, options), progress, batch))
    return [results[i] for i in ids]


def _stored(zoo, network_id: str, options: AnalysisOptions) -> bool:
    """Whether a file for the network's analysis exists (committed or cached; not read)."""
    name = f"{zoo.row(network_id)['content_hash']}.safetensors"
    return any((folder / name).exists() for folder in (analyses_folder(zoo.path, options),
                                                       cache_folder(zoo.path, options)))


def lazy_dynamics(zoo, network_ids: Sequence[str], options: AnalysisOptions | None = None,
                  progress: bool = False, batch: int = 32) -> list:
    """One zero-argument loader per network returning its dynamics result, for consumers
    that need only some of them (a metric whose prepared states are mostly cached).

    Nothing is read or analysed until a loader is called. A called loader reads its
    network's stored analysis; if there is none, the networks from this one to the end
    of ``network_ids`` that have no stored analysis are analysed together (batched, and
    cached), since a caller walking the list in order will ask for them next.
    """
    options = options or AnalysisOptions()
    ids = list(network_ids)
    known: dict = {}

    def load(position: int) -> DynamicsResult:
        network_id = ids[position]
        if network_id not in known:
            known.update(cached_dynamics(zoo, [network_id], options))
        if network_id not in known:
            todo = [i for i in dict.fromkeys(ids[position:]) if i not in known and
                    (i == network_id or not _stored(zoo, i, options))]
            known.update(analyse_missing(zoo, todo, options, cache_folder(zoo.path, options), progress, batch))
        return known[network_id]

    return [lambda position=position: load(position) for position in range(len(ids))]


def analyse_zoo(zoo, options: AnalysisOptions | None = None, batch: int = 32, progress: bool = False,
                analyse: bool = True) -> dict:
    """Build (or complete) the zoo's committed analyses, ``ZOO/analyses/dynamics/KEY/``,
    for the networks of ``zoo`` (a filtered zoo, e.g. ``zoo.filter(passed=True)``: the
    networks a benchmark row scores, stores those only).

    Resumable: networks already there are skipped, those in the cache are copied, the
    rest analysed in batches, each batch stored as soon as it is done (``analyse=False``:
    only copied, so a long analysis running elsewhere can be saved as it stands).
    Returns counts (``present``, ``copied``, ``analysed``), the ``folder`` and its size
    in ``bytes``.
    """
    options = options or AnalysisOptions()
    key, folder = analysis_key(options), analyses_folder(zoo.path, options)
    digests = {i: zoo.row(i)["content_hash"] for i in zoo.ids}
    present = {i for i in zoo.ids if read_entry(folder / f"{digests[i]}.safetensors", digests[i], key, i)}
    _check_stale(Path(zoo.path), options)
    copied, todo = [], []
    for network_id in (i for i in zoo.ids if i not in present):
        name = f"{digests[network_id]}.safetensors"
        result = read_entry(cache_folder(zoo.path, options) / name, digests[network_id], key, network_id)
        if result is None:
            todo.append(network_id)
        else:
            write_entry(folder / name, result, digests[network_id], key)
            copied.append(network_id)
    todo = todo if analyse else []
    _write_index(folder, options, digests)
    if todo:
        analyse_missing(zoo, todo, options, folder, progress, batch, description=f"analysing {zoo.path.name}")
        _write_index(folder, options, digests)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return {"present": len(present), "copied": len(copied), "analysed": len(todo), "folder": folder, "bytes": size}


@contextmanager
def _progress(total: int, description: str, show: bool):
    """A rich progress bar over ``total`` networks; yields ``advance(n)``."""
    if not show or not total:
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("networks"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _write_index(folder: Path, options: AnalysisOptions, digests: dict[str, str]) -> None:
    """``KEY/analysis.json``: what made the folder, and which network each of its files
    belongs to (files present only; each file is still checked on its own when read)."""
    index = folder / INDEX
    try:
        known = json.loads(index.read_text()).get("networks", {}) if index.exists() else {}
    except (OSError, ValueError):
        known = {}
    stored = {i: h for i, h in {**known, **digests}.items() if (folder / f"{h}.safetensors").exists()}
    made = {"producer": "dynamics", "version": ANALYSIS_VERSION, "key": analysis_key(options),
            "options": options.as_dict(), "networks": dict(sorted(stored.items()))}
    atomic_write_text(index, json.dumps(made, indent=1, sort_keys=True) + "\n")


__all__ = ["ANALYSES", "analyse_zoo", "analyses_folder", "analysis_key", "cache_folder", "cached_dynamics",
           "lazy_dynamics", "read_entry", "write_entry", "zoo_dynamics"]
