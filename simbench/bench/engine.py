"""The all-pairs engine: prepare each network once (cached on disk), then all pairs.

``prepare`` results are cached as safetensors under
``<cache>/<sha256(metric name)[:16]>/<network content hash>.safetensors``, so a second
run of the same metric configuration on the same networks skips the per-network work.
No pickle: a state is numpy arrays plus JSON-serialisable scalars.

Pairs run in-process through the metric's own ``pairwise`` (vectorised for the CCA /
shape family), or in blocks of rows on a local process pool (``workers > 1``) or a
Dask cluster (``scheduler="tcp://…"``): each block computes ``distance`` for its pairs.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from simbench.metrics.base import Metric, State
from simbench.zoo.store import atomic_write


def _cache_file(cache: Path, metric: Metric, key: str) -> Path:
    folder = hashlib.sha256(metric.name.encode()).hexdigest()[:16]
    return cache / folder / f"{key}.safetensors"


def _load_state(path: Path, metric: Metric) -> tuple[State, float] | None:
    try:
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
            if meta.get("metric") != metric.name:
                return None
            arrays = {k: f.get_tensor(k) for k in f.keys()}
        state = State(metric.name, int(meta["n_samples"]), arrays, json.loads(meta["info"]))
        return state, float(meta["seconds"])
    except (OSError, SafetensorError, KeyError, ValueError):
        return None  # a broken cache entry is recomputed


def _save_state(path: Path, state: State, seconds: float) -> None:
    try:
        info = json.dumps(dict(state.info))
    except TypeError:
        return  # not cacheable without pickle: keep it in memory only
    arrays = {k: np.ascontiguousarray(v) for k, v in state.arrays.items()}
    meta = {"metric": state.metric, "n_samples": str(state.n_samples), "info": info,
            "seconds": repr(seconds)}
    atomic_write(path, lambda tmp: save_file(arrays, str(tmp), meta))


def prepare_all(metric: Metric, recordings, keys=None, cache=None) -> tuple[list[State], float, int]:
    """Prepared states of ``recordings`` (callables or arrays), cached by ``keys``.

    A recording may be a zero-argument callable so that cached networks are never
    loaded or simulated. Returns the states, the seconds ``metric.prepare`` took (as
    measured when each state was made, so a cached run reports the same cost), and how
    many states came from the cache.
    """
    cache = Path(cache) if cache else None
    if getattr(metric, "input", "recording") == "model":
        return _prepare_models(metric, recordings, keys, cache)
    states, seconds, hits = [], 0.0, 0
    for index, recording in enumerate(recordings):
        key = keys[index] if keys is not None else None
        path = _cache_file(cache, metric, key) if cache and key else None
        cached = _load_state(path, metric) if path and path.exists() else None
        if cached is None:
            data = recording() if callable(recording) else recording
            start = time.perf_counter()
            state = metric.prepare(data, label=key or f"network {index}")
            took = time.perf_counter() - start
            if path:
                _save_state(path, state, took)
        else:
            (state, took), hits = cached, hits + 1
        seconds += took
        states.append(state)
    return states, seconds, hits


def _prepare_models(metric: Metric, networks, keys, cache) -> tuple[list[State], float, int]:
    """:func:`prepare_all` for metrics that need the networks themselves (``input = "model"``):
    the uncached networks are loaded and analysed in one ``prepare_many`` call (batched
    populations), and each of their states is charged an equal share of that call."""
    paths = [_cache_file(cache, metric, keys[i]) if cache and keys is not None else None
             for i in range(len(networks))]
    states: list = [None] * len(networks)
    seconds, todo = 0.0, []
    for index, path in enumerate(paths):
        cached = _load_state(path, metric) if path and path.exists() else None
        if cached is None:
            todo.append(index)
        else:
            states[index], took = cached
            seconds += took
    if todo:
        data = [networks[i]() if callable(networks[i]) else networks[i] for i in todo]
        start = time.perf_counter()
        fresh = metric.prepare_many(data, labels=[keys[i] if keys is not None else f"network {i}" for i in todo])
        took = (time.perf_counter() - start) / len(todo)
        for index, state in zip(todo, fresh):
            states[index], seconds = state, seconds + took
            if paths[index]:
                _save_state(paths[index], state, took)
    return states, seconds, len(networks) - len(todo)


def _block_distances(metric: Metric, states: list[State], rows: list[int]) -> list[tuple[int, int, float]]:
    return [(i, j, metric.distance(states[i], states[j])) for i in rows for j in range(i + 1, len(states))]


def _row_blocks(n: int, blocks: int) -> list[list[int]]:
    """Rows split so that each block holds about the same number of pairs (i < j)."""
    work = np.arange(n)[::-1].cumsum()  # pairs of rows 0..i
    edges = np.searchsorted(work, np.linspace(0, work[-1], blocks + 1)[1:-1])
    return [list(b) for b in np.split(np.arange(n), edges) if len(b)]


def all_pairs(metric: Metric, states: list[State], workers: int = 1,
              scheduler: str | None = None) -> tuple[np.ndarray, float]:
    """The ``[n, n]`` distance matrix and the seconds it took."""
    start = time.perf_counter()
    n = len(states)
    if n < 2 or (workers == 1 and not scheduler):
        return metric.pairwise(states), time.perf_counter() - start
    blocks = _row_blocks(n, 4 * max(workers, 1))
    if scheduler:
        results = _run_dask(metric, states, blocks, scheduler)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
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
