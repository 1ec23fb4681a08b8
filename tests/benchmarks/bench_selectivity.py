"""Cost of the ``selectivity`` metric: batched ICP restarts against one restart at a time.

Run: ``python tests/benchmarks/bench_selectivity.py`` (8 cddm networks of the reference
zoo, 28 pairs) or ``--suite memory3 --networks 6``.

Per network, ``prepare`` is one thin SVD of the ``[samples, units]`` recording (the
cloud of units). Per pair, the distance runs ICP in both directions from the same 60
starts; the script times two ways of doing it with the same code
(:func:`simbench.metrics.selectivity.icp_residuals`):

(a) loop: each start on its own (a batch of 1), one after the other;
(b) batched: all starts in one ``[restarts, units, k]`` batch, converged starts leaving it.

It checks that both give the same distances (≤ 1e-12) and prints per-pair wall and CPU
milliseconds, the ratio (a)/(b), and the ICP steps per start. Know the bound: a step
costs a ``[units, units]`` distance table, ``units × k × k`` flops for the cross
product and one k×k SVD per start, a few microseconds of arithmetic; (a) pays numpy's
per-call overhead (≈ 10 calls per step) for every start, (b) once per step for all of
them, so the ratio approaches restarts × (mean steps / max steps) when overhead
dominates. Threads: one (``OMP_NUM_THREADS=1``); the 10×10 work gains nothing from more.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from simbench.metrics import get_metric  # noqa: E402
from simbench.metrics.selectivity import icp_residuals, restart_rotations  # noqa: E402
from simbench.zoo.store import load_zoo  # noqa: E402


def one_way(A, B, restarts, batched):
    K = max(A.shape[1], B.shape[1])
    A, B = (np.pad(C, ((0, 0), (0, K - C.shape[1]))) for C in (A, B))
    starts = restart_rotations(K, restarts, 0)
    if batched:
        rms, _, steps = icp_residuals(A, B, starts)
        return rms.min(), steps
    out = [icp_residuals(A, B, starts[r:r + 1]) for r in range(restarts)]
    return min(o[0][0] for o in out), np.concatenate([o[2] for o in out])


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="zoo/reference")
    parser.add_argument("--suite", default="cddm")
    parser.add_argument("--networks", type=int, default=8)
    parser.add_argument("--restarts", type=int, default=60)
    args = parser.parse_args()
    zoo = load_zoo(args.zoo).filter(suite=args.suite, passed=True)
    ids = list(zoo.ids)[:: max(1, len(zoo) // args.networks)][: args.networks]
    metric = get_metric(f"selectivity:restarts={args.restarts}")
    recordings = [zoo.recording(i).samples() for i in ids]
    states, wall, cpu = timed(lambda: [metric.prepare(X) for X in recordings])
    print(f"{args.suite}: {len(ids)} networks, recordings {recordings[0].shape}; "
          f"prepare {1e3 * wall / len(ids):.1f} ms wall / {1e3 * cpu / len(ids):.1f} ms CPU per network")
    clouds = [s["cloud"] for s in states]
    pairs = [(i, j) for i in range(len(ids)) for j in range(i + 1, len(ids))]
    results = {}
    for batched in (False, True):
        def run():
            return [[one_way(clouds[i], clouds[j], args.restarts, batched),
                     one_way(clouds[j], clouds[i], args.restarts, batched)] for i, j in pairs]
        out, wall, cpu = timed(run)
        distances = np.array([(a[0] + b[0]) / 2 for a, b in out])
        steps = np.concatenate([np.concatenate([a[1], b[1]]) for a, b in out])
        results[batched] = (distances, wall, cpu)
        label = "(b) batched" if batched else "(a) loop   "
        print(f"{label}: {1e3 * wall / len(pairs):7.1f} ms wall, {1e3 * cpu / len(pairs):7.1f} ms CPU per pair; "
              f"ICP steps per start: mean {steps.mean():.1f}, max {steps.max()}")
    gap = np.abs(results[True][0] - results[False][0]).max()
    reference = np.array([metric.distance(states[i], states[j]) for i, j in pairs])
    assert gap <= 1e-12 and np.abs(reference - results[True][0]).max() <= 1e-12, gap
    print(f"ratio (a)/(b): {results[False][1] / results[True][1]:.1f}x wall, "
          f"{results[False][2] / results[True][2]:.1f}x CPU; distances agree to {gap:.1e}; "
          f"median distance {np.median(reference):.3f}")


if __name__ == "__main__":
    main()
