"""What saving the distance matrix block by block costs: checkpointed ``all_pairs`` against
one ``pairwise`` call, in this process, interleaved, on the same states.

Run: ``python tests/benchmarks/bench_checkpoint.py [--networks 60] [--repeat 2]``.

A benchmark run computes its matrix in :data:`~simbench.bench.checkpoint.BLOCKS` blocks
of rows (``pairwise`` on the block, ``cross`` against the rows below it) and saves the
matrix after each block (:mod:`simbench.bench.checkpoint`). For the vectorised metrics
(the CCA / shape family batch their products and SVDs; DSA batches its alignments)
the blocks are smaller batches; this measures what that and the saving cost. Printed per
metric: seconds of each (best of ``--repeat``), their ratio, and max |ΔD|.

Synthetic recordings: ``--networks`` networks of 1,000 samples × 32 units (a memory3
recording's shape); DSA on a third of them with 200 optimiser steps.

Measured (2 cores busy with two benchmark runs, one BLAS thread, ``--networks 200
--repeat 1``; the ratios at the default 60 networks were 0.99–1.06)::

    metric                                n  pairwise s  blocked s  ratio  max |dD|
    cca                                 200        2.90       2.74   0.95   0.0e+00
    procrustes                          200        2.71       2.48   0.91   0.0e+00
    cka                                 200        2.47       2.54   1.03   0.0e+00
    dsa:n_conditions=8,iters=200         66       51.16      44.02   0.86   0.0e+00

With fixed blocks of 1/24 of the pairs each (the first design) the vectorised family
took 1.2× (200 networks) to 2× (60): the later blocks are now sized by time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from simbench.bench.engine import all_pairs
from simbench.metrics import get_metric


def _recordings(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((1000, 6))
    return [latent @ rng.standard_normal((6, 32)) + 0.3 * rng.standard_normal((1000, 32)) for _ in range(n)]


def _best(function, repeat: int) -> tuple[float, np.ndarray]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    cases = [("cca", args.networks), ("procrustes", args.networks), ("cka", args.networks),
             ("dsa:n_conditions=8,iters=200", max(args.networks // 3, 4))]
    print(f"{'metric':34s} {'n':>4s} {'pairwise s':>11s} {'blocked s':>10s} {'ratio':>6s} {'max |dD|':>9s}")
    with tempfile.TemporaryDirectory() as folder:
        for spec, n in cases:
            metric = get_metric(spec)
            states = [metric.prepare(X) for X in _recordings(n)]
            path = Path(folder) / "pairs.npz"

            def blocked():
                path.unlink(missing_ok=True)
                return all_pairs(metric, states, checkpoint=(path, spec))[0]

            one, D = _best(lambda: metric.pairwise(states), args.repeat)
            saved, B = _best(blocked, args.repeat)
            print(f"{spec:34s} {n:4d} {one:11.2f} {saved:10.2f} {saved / one:6.2f} {np.abs(B - D).max():9.1e}")


if __name__ == "__main__":
    main()
