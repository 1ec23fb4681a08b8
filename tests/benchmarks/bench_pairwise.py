"""All-pairs throughput of the vectorised CCA / Procrustes ``pairwise``.

Run: ``python tests/benchmarks/bench_pairwise.py`` (200 networks, the full benchmark)
or ``--networks 20`` for a quick look.

N networks × 3200 samples × 64 units of random float64 data. For ``cca`` and
``procrustes`` the script times three ways of filling the N×N distance matrix:

(a) refit: every pair from scratch, ``metric(X_i, X_j)`` (prepare both + distance);
(b) loop: prepare (whiten) each network once, then one cross product + one SVD per
    pair in a sequential Python loop (``metric.distance(state_i, state_j)``);
(c) pairwise: ``metric.pairwise(states)``: blocked large matrix products over the
    stacked whitened networks and batched ``torch.linalg.svdvals``.

(b) and (c) start from the same prepared states (preparation is timed separately and
added to both); it checks that all three give equal values (max |difference| ≤ 1e-8)
and prints the ratios (a)/(c) and (b)/(c). Targets: ≥ 10× against (a), ≥ 3× against
(b). Threads: torch and BLAS are both limited to ``--threads`` (default 2).

Know the bound: (b) and (c) do the same arithmetic per pair (one 2·samples·units²
flop cross product plus one units×units SVD); (c) only runs it as large, efficient
matrix products and batched SVDs. The script measures the machine's float64
matrix-multiply rate on a large product and prints the rate (b) and (c) reach, so the
ratio (b)/(c) can be read against its ceiling (peak rate / (b)'s rate, diluted by the
SVD share). On a 2-core machine that is busy with other work, use ``--threads 1``:
multi-threaded BLAS on oversubscribed cores spins and slows down by 10–100×.
Refitting every pair costs N(N−1) preparations, so (a) is timed on a random subset of
``--refit-pairs`` pairs and extrapolated (the subset's values are still compared).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from simbench.metrics import get_metric


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=200)
    ap.add_argument("--samples", type=int, default=3200)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--refit-pairs", type=int, default=300,
                    help="pairs timed for the refit baseline (a); all pairs if larger")
    ap.add_argument("--metrics", default="cca,procrustes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs of (b), (c)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    N, n, d = args.networks, args.samples, args.units
    nets = [rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) for _ in range(N)]
    pairs = list(itertools.combinations(range(N), 2))
    print(f"{N} networks x {n} samples x {d} units, {len(pairs)} pairs, "
          f"{args.threads} threads (torch {torch.__version__})")

    flop_pair = 2.0 * n * d * d
    with threadpool_limits(args.threads):
        A, B = rng.standard_normal((2048, n)), rng.standard_normal((2048, n))
        peak = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            A @ B.T
            peak = max(peak, 2.0 * n * 2048 * 2048 / (time.perf_counter() - t0) / 1e9)
        print(f"measured float64 matmul rate (2048x{n} @ {n}x2048, best of 3): {peak:.1f} GFLOP/s")
        del A, B
        for spec in args.metrics.split(","):
            m = get_metric(spec)

            t0 = time.perf_counter()
            states = [m.prepare(X) for X in nets]
            t_prep = time.perf_counter() - t0

            m.pairwise(states[: min(N, 4)])  # warm-up (thread pools, allocator)
            t_loop_pairs = t_vec_pairs = float("inf")
            for _ in range(args.repeat):  # best of --repeat, alternating (b) and (c)
                t0 = time.perf_counter()
                D_loop = np.zeros((N, N))
                for i, j in pairs:
                    D_loop[i, j] = D_loop[j, i] = m.distance(states[i], states[j])
                t_loop_pairs = min(t_loop_pairs, time.perf_counter() - t0)

                t0 = time.perf_counter()
                D_vec = m.pairwise(states)
                t_vec_pairs = min(t_vec_pairs, time.perf_counter() - t0)
            t_loop = t_loop_pairs + t_prep
            t_vec = t_vec_pairs + t_prep

            sub = pairs if len(pairs) <= args.refit_pairs else [
                pairs[k] for k in rng.choice(len(pairs), args.refit_pairs, replace=False)]
            t0 = time.perf_counter()
            refit = [m(nets[i], nets[j]) for i, j in sub]
            t_refit = (time.perf_counter() - t0) * len(pairs) / len(sub)

            err_loop = float(np.max(np.abs(D_vec - D_loop)))
            err_refit = max(abs(D_vec[i, j] - v) for (i, j), v in zip(sub, refit))
            ok = err_loop <= 1e-8 and err_refit <= 1e-8
            print(f"\n{m.name}")
            print(f"  prepare (once per network)  {t_prep:8.3f} s")
            print(f"  (a) refit every pair        {t_refit:8.3f} s"
                  f"{'  (extrapolated from %d pairs)' % len(sub) if len(sub) < len(pairs) else ''}")
            print(f"  (b) loop, one SVD per pair  {t_loop:8.3f} s")
            print(f"  (c) vectorised pairwise     {t_vec:8.3f} s")
            print(f"  max |c - b| = {err_loop:.2e}, max |c - a| = {err_refit:.2e}  "
                  f"{'OK' if ok else 'MISMATCH'}")
            print(f"  cross products: (b) {len(pairs) * flop_pair / t_loop_pairs / 1e9:5.1f} GFLOP/s, "
                  f"(c) {len(pairs) * flop_pair / t_vec_pairs / 1e9:5.1f} GFLOP/s "
                  f"(SVDs included; matmul peak {peak:.1f})")
            print(f"  speed-up vs (a): {t_refit / t_vec:6.1f}x  (target >= 10x)")
            print(f"  speed-up vs (b): {t_loop / t_vec:6.1f}x  (target >= 3x)")
            assert ok, f"{m.name}: vectorised values differ from the per-pair path"


if __name__ == "__main__":
    main()
