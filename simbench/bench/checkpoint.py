"""All pairs in blocks of rows, each finished block saved: a cut run keeps its pairs.

A distance matrix of a slow metric (DSA, GW, single-unit selectivity on a few hundred
networks) takes the better part of an hour on two cores; a run stopped by a session's
end, a crash or Ctrl-C would otherwise start again from its first pair. Here the rows
are computed in consecutive blocks, block ``[r0, r1)`` as

    D[r0:r1, r0:r1] = metric.pairwise(states[r0:r1])
    D[r0:r1, r1:]   = metric.cross(states[r0:r1], states[r1:])

(the metric's own vectorised methods), and after each block the matrix so far, the
rows finished and the seconds spent are written atomically to the checkpoint file. The
first block holds about 1/:data:`FIRST_BLOCK` of the pairs; each later one as many
pairs as the measured rate computes in about :data:`SECONDS_PER_BLOCK` seconds, so a
cut run loses about that much work, and a cheap metric runs in two or three calls (few
blocks: little lost to smaller batches; ``tests/benchmarks/bench_checkpoint.py``).
A new call with the same ``key`` and number of networks starts at the first unfinished
row; a file saved under another key is ignored (and overwritten). The seconds returned
count every session's work on the matrix.

An error of the metric names the networks by their place in the whole matrix, as one
``pairwise`` call would. The file is ``.npz`` read with ``allow_pickle=False``: arrays
and one string.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import numpy as np

from simbench.zoo.store import atomic_write

logger = logging.getLogger(__name__)

#: the first block holds about 1/FIRST_BLOCK of the pairs (its time sets the rate)
FIRST_BLOCK = 24
#: later blocks hold about this many seconds of pairs at the measured rate
SECONDS_PER_BLOCK = 60.0


def checkpointed_pairs(metric, states: list, path: Path, key: str,
                       seconds_per_block: float | None = None) -> tuple[np.ndarray, float]:
    """The ``[n, n]`` distance matrix of ``states`` and the seconds it took over all
    sessions, computed block by block with each finished block saved to ``path``
    (module docstring). ``key`` names the metric configuration and the networks;
    ``seconds_per_block`` defaults to :data:`SECONDS_PER_BLOCK`."""
    n = len(states)
    seconds_per_block = SECONDS_PER_BLOCK if seconds_per_block is None else seconds_per_block
    distance, row, seconds = _resumed(path, key, n)
    pairs = max(1, n * (n - 1) // 2 // FIRST_BLOCK)
    while row < n:
        end = _block_end(n, row, pairs)
        start = time.perf_counter()
        try:
            distance[row:end, row:end] = metric.pairwise(states[row:end])
            if end < n:
                distance[row:end, end:] = metric.cross(states[row:end], states[end:])
        except ValueError as error:  # name the networks as one pairwise call would
            raise ValueError(_matrix_labels(str(error), row, end)) from error
        distance[end:, row:end] = distance[row:end, end:].T
        took = time.perf_counter() - start
        pairs = max(1, int(_pairs(n, row, end) / max(took, 1e-9) * seconds_per_block))
        row, seconds = end, seconds + took
        _save(path, key, distance, row, seconds)
    return distance, seconds


def _matrix_labels(message: str, row: int, end: int) -> str:
    """A block's error message with its networks named by their place in the whole
    matrix: ``network i`` of the block's ``pairwise`` and ``network i of a`` of its
    ``cross`` are ``network row+i``, ``network j of b`` is ``network end+j``
    (:func:`~simbench.metrics.base._network_label` writes those forms)."""
    def relabel(match: re.Match) -> str:
        return f"network {int(match[1]) + (end if match[2] == 'b' else row)}"
    return re.sub(r"\bnetwork (\d+)(?: of (a|b)\b)?", relabel, message)


def _pairs(n: int, r0: int, r1: int) -> int:
    """Pairs (i, j), i < j, with i in ``[r0, r1)``."""
    return sum(n - 1 - i for i in range(r0, r1))


def _block_end(n: int, r0: int, pairs: int) -> int:
    """The end of the block starting at ``r0`` that holds about ``pairs`` pairs (≥ 1 row)."""
    work = np.cumsum(np.arange(n - 1 - r0, -1, -1))  # pairs of rows r0..r0+k
    end = r0 + 1 + int(np.searchsorted(work, pairs, side="left").clip(0, n - r0 - 1))
    return n if end == n - 1 else end  # the last row has no pairs of its own


def _resumed(path: Path, key: str, n: int) -> tuple[np.ndarray, int, float]:
    """``(matrix so far, rows finished, seconds)`` from ``path``, or a fresh start."""
    fresh = np.zeros((n, n)), 0, 0.0
    if not path.exists():
        return fresh
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["key"]) != key or saved["distance"].shape != (n, n):
                logger.info("checkpoint %s is for another run; starting afresh", path)
                return fresh
            row = int(saved["rows_done"])
            logger.info("resuming %s: %d of %d rows of pairs done", path, row, n)
            return saved["distance"].copy(), row, float(saved["seconds"])
    except (OSError, ValueError, KeyError) as error:
        logger.warning("unreadable checkpoint %s (%s); starting afresh", path, error)
        return fresh


def _save(path: Path, key: str, distance: np.ndarray, rows_done: int, seconds: float) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # np.savez on a path would append ".npz"
            np.savez(handle, key=np.array(key), distance=distance, rows_done=np.array(rows_done),
                     seconds=np.array(seconds))
    atomic_write(path, write)
