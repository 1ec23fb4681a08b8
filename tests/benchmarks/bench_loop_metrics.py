"""Old against new code of the three metrics with per-pair loops: ``gw``, ``ph``, ``selectivity``.

Run: ``python tests/benchmarks/bench_loop_metrics.py`` (reference zoo, about 1–2 minutes
on a loaded 2-core machine) or ``--metrics gw --networks 10`` for one of them.

Each metric keeps its earlier code path as a private function, and the script times it
against the current one in the same process, on recordings of the reference zoo
(``zoo/reference``, networks that pass), and checks that both give the same numbers
(bit for bit: ``==`` on floats and ``array_equal`` on diagrams):

- ``gw`` pair: :func:`simbench.metrics.gw.square_loss_gw` against
  ``_square_loss_gw_pot`` (``ot.gromov.gromov_wasserstein2``) on the prepared m×m
  matrices of ``--networks`` networks of ``--pair-suites`` (every pair, both in
  canonical order), one BLAS thread as the metric runs them;
- ``ph`` prepare: :func:`simbench.metrics.ph.diagrams` (landmarks by
  ``greedy_permutation``) against ``_diagrams_ripser`` (landmarks by ripser) on the
  normalised clouds of ``--ph-networks`` networks of each of ``--ph-suites`` (cddm's
  recordings are 135 000 × 32, memory3's 4800 × 32);
- ``selectivity`` pair: :func:`simbench.metrics.selectivity.registration_residual`
  (restart rotations drawn once) against drawing them per call, both directions.

Timing: CPU seconds of this single-threaded process (``time.process_time``), the
steadier figure on a machine shared with other work; each item runs old and new
alternately ``--repeats`` times and keeps each one's fastest run, so a burst of load
on the other core hits both alike. Printed: the summed times and the ratio old/new.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from simbench.bench.run import for_suite  # noqa: E402
from simbench.metrics import get_metric  # noqa: E402
from simbench.metrics.gw import _THREADS, _square_loss_gw_pot, square_loss_gw  # noqa: E402
from simbench.metrics.ph import _diagrams_ripser, diagrams, normalise_cloud  # noqa: E402
from simbench.metrics.selectivity import icp_residuals, registration_residual, restart_rotations  # noqa: E402
from simbench.zoo.store import load_zoo  # noqa: E402


def recordings(zoo, suite, count):
    kept = zoo.filter(suite=suite, passed=True)
    ids = list(kept.ids)[:: max(1, len(kept) // count)][:count]
    return [kept.recording(i).samples() for i in ids]


def race(items, old, new, repeats, same):
    """Summed fastest CPU seconds of ``old(*item)`` and ``new(*item)`` over the items."""
    total = {"old": 0.0, "new": 0.0}
    for item in items:
        best = {"old": np.inf, "new": np.inf}
        for _ in range(repeats):
            for name, fn in (("old", old), ("new", new)):
                start = time.process_time()
                value = fn(*item)
                best[name] = min(best[name], time.process_time() - start)
                if name == "old":
                    reference = value
            assert same(reference, value), f"{new.__name__} differs from {old.__name__}"
        for name in total:
            total[name] += best[name]
    return total


def report(label, total, count, unit):
    print(f"{label:<34} old {1e3 * total['old'] / count:8.1f} ms/{unit}, new {1e3 * total['new'] / count:8.1f} "
          f"ms/{unit}  old/new {total['old'] / total['new']:.2f}x  ({count} {unit}s, equal)")


def pairs_of(n):
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def bench_gw(zoo, suites, networks, repeats):
    for suite in suites:
        metric = for_suite(get_metric("gw"), suite)  # as the bench runs it
        states = [metric.prepare(X) for X in recordings(zoo, suite, networks)]
        items = [tuple(s["C"] for s in sorted((states[i], states[j]), key=lambda s: s["key"]))
                 for i, j in pairs_of(len(states))]
        with _THREADS.limit(limits=1, user_api="blas"):
            total = race(items, _square_loss_gw_pot, square_loss_gw, repeats, lambda a, b: a == b)
        report(f"gw pair ({suite})", total, len(items), "pair")


def same_diagrams(a, b):
    return a[1:] == b[1:] and all(np.array_equal(p, q) for p, q in zip(a[0], b[0], strict=True))


def bench_ph(zoo, suites, networks, repeats):
    for suite in suites:
        clouds = [normalise_cloud(np.asarray(X, dtype=np.float64)) for X in recordings(zoo, suite, networks)]
        items = [(X, 1, 300) for X in clouds]
        total = race(items, _diagrams_ripser, diagrams, repeats, same_diagrams)
        report(f"ph prepare ({suite}, {clouds[0].shape[0]} rows)", total, len(items), "network")


def selectivity_old(A, B, restarts=60, max_iter=100, seed=0):
    """``registration_residual`` as it was: rotations drawn and clouds padded per call."""
    K = max(A.shape[1], B.shape[1])
    A, B = (np.pad(C, ((0, 0), (0, K - C.shape[1]))) for C in (A, B))
    rms, _, _ = icp_residuals(A, B, restart_rotations(K, restarts, seed), max_iter)
    return float(rms.min())


def bench_selectivity(zoo, suites, networks, repeats):
    for suite in suites:
        metric = for_suite(get_metric("selectivity"), suite)
        clouds = [metric.prepare(X)["cloud"] for X in recordings(zoo, suite, networks)]
        items = [(clouds[i], clouds[j]) for i, j in pairs_of(len(clouds))]

        def old(A, B):
            return selectivity_old(A, B) + selectivity_old(B, A)

        def new(A, B):
            return registration_residual(A, B) + registration_residual(B, A)

        total = race(items, old, new, repeats, lambda a, b: a == b)
        report(f"selectivity pair ({suite})", total, len(items), "pair")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="zoo/reference")
    parser.add_argument("--metrics", default="gw,ph,selectivity")
    parser.add_argument("--pair-suites", default="memory3,cddm")
    parser.add_argument("--networks", type=int, default=6, help="networks per suite for the pair timings")
    parser.add_argument("--ph-suites", default="memory3,cddm")
    parser.add_argument("--ph-networks", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    zoo = load_zoo(args.zoo)
    pair_suites = args.pair_suites.split(",")
    chosen = args.metrics.split(",")
    if "gw" in chosen:
        bench_gw(zoo, pair_suites, args.networks, args.repeats)
    if "ph" in chosen:
        bench_ph(zoo, args.ph_suites.split(","), args.ph_networks, max(1, args.repeats - 1))
    if "selectivity" in chosen:
        bench_selectivity(zoo, pair_suites, args.networks, args.repeats)


if __name__ == "__main__":
    main()
