"""The all-pairs engine: prepare each network once (cached on disk), then all pairs.

``prepare`` results are cached as safetensors under
``<cache>/<producer key>/<network content hash>.safetensors``, the producer key
(:func:`~simbench.zoo.cache.producer_key`) naming the metric's configuration, its
:attr:`~simbench.metrics.base.Metric.version` and the producer of its inputs, so a
second run of the same metric configuration on the same networks skips the
per-network work, and a changed metric or input never reads an old state. A stale or
broken entry is recomputed with a logged warning. No pickle: a state is numpy arrays
plus JSON-serialisable scalars.

Pairs run in-process through the metric's own ``pairwise`` (vectorised for the CCA /
shape family), or in blocks of rows on a local process pool (``workers > 1``) or a
Dask cluster (``scheduler="tcp://…"``): each block computes ``distance`` for its pairs.
With a ``checkpoint``, the rows run in blocks in-process and each finished block is
saved, so a cut run resumes at its first unfinished row (:mod:`simbench.bench.checkpoint`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from simbench.bench.checkpoint import checkpointed_pairs
from simbench.metrics.base import Metric, State
from simbench.zoo.cache import producer_key
from simbench.zoo.pool import process_pool
from simbench.zoo.store import atomic_write

logger = logging.getLogger(__name__)


def state_key(metric: Metric, input_key: str = "") -> str:
    """Producer key of ``metric``'s prepared states made from inputs named by ``input_key``."""
    return producer_key(metric.name, type(metric).version, {"input": input_key})


def _load_state(path: Path, metric: Metric, producer: str) -> tuple[State, float] | None:
    try:
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
        if meta.get("metric") != metric.name or meta.get("producer") != producer:
            logger.warning("%s: cached state made by another metric version or input; recomputing", path)
            return None
        state = State(metric.name, int(meta["n_samples"]), arrays, json.loads(meta["info"]))
        return state, float(meta["seconds"])
    except (OSError, SafetensorError, KeyError, ValueError) as error:
        logger.warning("%s: broken cached state (%s); recomputing", path, error)
        return None


def _save_state(path: Path, state: State, seconds: float, producer: str) -> None:
    try:
        info = json.dumps(dict(state.info))
    except TypeError:
        return  # not cacheable without pickle: keep it in memory only
    arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
    meta = {"metric": state.metric, "producer": producer, "n_samples": str(state.n_samples),
            "info": info, "seconds": repr(seconds)}
    try:
        atomic_write(path, lambda tmp: save_file(arrays, str(tmp), meta))
    except OSError as error:
        logger.warning("%s: cannot cache a prepared state (%s); continuing without", path, error)


def prepare_all(metric: Metric, recordings, keys=None, cache=None, labels=None,
                input_key: str = "", stored=None, refused: str = "raise") -> tuple[list, float, int]:
    """Prepared states of ``recordings`` (callables or arrays), cached by ``keys``.

    A recording may be a zero-argument callable so that cached networks are never
    loaded or simulated. ``keys`` (network content hashes) name the cache entries,
    ``input_key`` the producer of the recordings (see :func:`state_key`) and ``labels``
    (network ids) the recordings in error messages. Returns the states, the seconds
    ``metric.prepare`` took (as measured when each state was made, so a cached run
    reports the same cost), and how many states came from the cache.

    ``stored``: a folder of states that travel with the zoo (``ZOO/analyses/states``,
    :func:`store_states`), read before the cache and never written.

    ``refused``: what a network that the metric refuses (a ``ValueError`` from its input
    or its checks) becomes: ``"raise"`` (the error propagates) or ``"none"`` (its state is
    ``None`` and a warning names it; for untrained controls, which may be degenerate).
    """
    if refused not in ("raise", "none"):
        raise ValueError(f"refused must be 'raise' or 'none', got {refused!r}")
    producer = state_key(metric, input_key)
    folder = Path(cache) / producer if cache else None
    committed = Path(stored) / producer if stored else None
    named = labels is not None
    labels = list(labels) if named else [f"network {i}" for i in range(len(recordings))]
    if getattr(metric, "input", "recording") == "model":
        return _prepare_models(metric, recordings, keys, folder, producer, labels, committed, refused)
    states, seconds, hits = [], 0.0, 0
    for index, recording in enumerate(recordings):
        key = keys[index] if keys is not None else None
        path = folder / f"{key}.safetensors" if folder and key else None
        cached = _stored_state(committed, key, metric, producer) or (
            _load_state(path, metric, producer) if path and path.exists() else None)
        if cached is None:
            try:
                data = recording() if callable(recording) else recording
                start = time.perf_counter()  # the metric's own work, not the loading
                state = metric.prepare(data, label=labels[index])
            except ValueError as error:
                if refused == "raise":
                    raise
                states.append(_left_out(metric, labels[index], error))
                continue
            took = time.perf_counter() - start
            if path:
                _save_state(path, state, took, producer)
        else:
            (state, took), hits = cached, hits + 1
        seconds += took
        if named and isinstance(state.info, dict):
            state.info["network"] = labels[index]  # names it in pairwise errors (not cached)
        states.append(state)
    return states, seconds, hits


def _left_out(metric: Metric, label: str, error: ValueError) -> None:
    """The state of a network ``metric`` refused: ``None``, with a warning naming it."""
    logger.warning("%s: %s cannot be scored and is left out (%s)", metric.id, label, error)
    return None


def _stored_state(committed: Path | None, key, metric: Metric, producer: str) -> tuple[State, float] | None:
    """The state of network ``key`` among the zoo's stored states, if there and intact."""
    path = committed / f"{key}.safetensors" if committed and key else None
    return _load_state(path, metric, producer) if path and path.exists() else None


def _prepare_models(metric: Metric, networks, keys, folder, producer, labels,
                    committed=None, refused: str = "raise") -> tuple[list, float, int]:
    """:func:`prepare_all` for metrics that need the networks themselves (``input = "model"``):
    the uncached networks are loaded and analysed in one ``prepare_many`` call (batched
    populations), and each of their states is charged an equal share of that call. When
    the batch is refused and ``refused="none"``, each network is tried on its own."""
    paths = [folder / f"{keys[i]}.safetensors" if folder and keys is not None else None
             for i in range(len(networks))]
    states: list = [None] * len(networks)
    seconds, todo = 0.0, []
    for index, path in enumerate(paths):
        key = keys[index] if keys is not None else None
        cached = _stored_state(committed, key, metric, producer) or (
            _load_state(path, metric, producer) if path and path.exists() else None)
        if cached is None:
            todo.append(index)
        else:
            states[index], took = cached
            seconds += took
    fresh: dict = {}
    try:
        fresh = _prepare_batch(metric, networks, todo, labels) if todo else {}
    except ValueError:
        if refused == "raise":
            raise
        for index in todo:  # find the networks it refuses
            try:
                fresh.update(_prepare_batch(metric, networks, [index], labels))
            except ValueError as error:
                _left_out(metric, labels[index], error)
    for index, (state, took) in fresh.items():
        states[index], seconds = state, seconds + took
        if paths[index]:
            _save_state(paths[index], state, took, producer)
    return states, seconds, len(networks) - len(todo)


def _prepare_batch(metric: Metric, networks, batch: list[int], labels) -> dict[int, tuple[State, float]]:
    """``{index: (state, seconds)}`` of networks ``batch`` from one ``prepare_many`` call,
    each charged an equal share of the call (the analysis, not the loading)."""
    data = [networks[i]() if callable(networks[i]) else networks[i] for i in batch]
    start = time.perf_counter()
    fresh = metric.prepare_many(data, labels=[labels[i] for i in batch])
    took = (time.perf_counter() - start) / len(batch)
    return {index: (state, took) for index, state in zip(batch, fresh)}


def _block_distances(metric: Metric, states: list[State], rows: list[int]) -> list[tuple[int, int, float]]:
    return [(i, j, metric.distance(states[i], states[j], labels=(_label(states, i), _label(states, j))))
            for i in rows for j in range(i + 1, len(states))]


def _label(states: list[State], i: int) -> str:
    """``network i (id)``, as the metric's own ``pairwise`` names a network in its errors."""
    name = states[i].info.get("network")
    return f"network {i} ({name})" if name else f"network {i}"


def _row_blocks(n: int, blocks: int) -> list[list[int]]:
    """Rows split so that each block holds about the same number of pairs (i < j)."""
    work = np.arange(n)[::-1].cumsum()  # pairs of rows 0..i
    edges = np.searchsorted(work, np.linspace(0, work[-1], blocks + 1)[1:-1])
    return [list(b) for b in np.split(np.arange(n), edges) if len(b)]


def all_pairs(metric: Metric, states: list[State], workers: int = 1,
              scheduler: str | None = None, checkpoint: tuple[Path, str] | None = None
              ) -> tuple[np.ndarray, float]:
    """The ``[n, n]`` distance matrix and the seconds it took.

    ``checkpoint=(path, key)``: compute in-process in blocks of rows, saving each to
    ``path`` and resuming from a file saved under the same ``key``
    (:func:`~simbench.bench.checkpoint.checkpointed_pairs`; the seconds then count the
    earlier runs' work too). Ignored with ``workers > 1`` or a ``scheduler``.
    """
    n = len(states)
    if checkpoint and n >= 2 and workers == 1 and not scheduler:
        return checkpointed_pairs(metric, states, *checkpoint)
    start = time.perf_counter()
    if n < 2 or (workers == 1 and not scheduler):
        return metric.pairwise(states), time.perf_counter() - start
    blocks = _row_blocks(n, 4 * max(workers, 1))
    if scheduler:
        results = _run_dask(metric, states, blocks, scheduler)
    else:
        with process_pool(workers) as pool:
            results = list(pool.map(_block_distances, [metric] * len(blocks), [states] * len(blocks), blocks))
    distance = np.zeros((n, n))
    for block in results:
        for i, j, d in block:
            distance[i, j] = distance[j, i] = d
    return distance, time.perf_counter() - start


def _run_dask(metric, states, blocks, scheduler):
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("--scheduler needs Dask: pip install 'simbench[dask]' -c constraints.txt") from None
    with Client(scheduler) as client:
        shared = client.scatter(states, broadcast=True)
        futures = [client.submit(_block_distances, metric, shared, rows, pure=False) for rows in blocks]
        return client.gather(futures)
