"""``dsa`` on real reference recordings: the fast paths against the former implementations.

Run: ``python tests/benchmarks/bench_dsa.py`` (about 1–3 minutes on a busy 2-core
machine; ``--cddm 0`` skips the slow full SVDs of the cddm suite).

Both sides run in this one process, interleaved, on the same data, so the ratios hold
under whatever load the machine carries (absolute times on a shared machine do not):

prepare
    ``fit_operator`` (the Gram matrix of the Hankel matrix from lagged products, its
    leading eigenvectors, a Rayleigh–Ritz SVD of ``H W``) against
    ``fit_operator(..., method="svd")`` (the full thin SVD of the Hankel matrix, the
    former implementation), with each suite's probe conditions (``for_suite``); one
    network of each suite and ``--cddm`` networks of cddm (Hankel 128,700 × 480).
    Printed: wall and CPU seconds of each, their ratio, and ‖A − A_svd‖ / ‖A_svd‖.
pair step
    ``align_operators`` (the optimiser run in the frame of C: four n×n products and
    one inverse per step, numpy products) against ``align_operators(...,
    reference=True)`` (the former implementation: C tracked in torch, seven products
    and a solve per step) on ``--pairs`` pairs of real operators (rank 15) batched as
    :meth:`DSA.pairwise` batches them; best of ``--repeat`` runs of each. Printed: the
    ratio and max |d − d_ref| in radians.

Threads: each of ``--threads`` (default 1 and 2; the BLAS and the caller's torch
setting, which the former pair step used as its thread count). The new paths run their
small products on one BLAS thread, and the pair step splits its batch over the torch
setting's threads at the Python level (one thread each). On a 2-core machine busy with
other work, threaded OpenBLAS and torch's OpenMP spin: measured there, one 1,166 × 480
Hankel matrix took 10.2 s of CPU for its full SVD with 2 threads and 0.14 s with 1, and
the former pair step 43 s with 2 torch threads against 3.8 s with 1 (128 pairs × 200
steps), so the ratios at 2 threads on such a machine mostly measure that.

Measured (2 cores, load average ≈ 3.5 from other jobs, defaults; 2.7 minutes)::

    === 1 BLAS / torch thread(s)
    prepare                                      Hankel   svd s   new s  wall x  cpu x  rel err A
      memory3       decay3-ctrnn-relu-dale-h32-s0   4464x480    0.40    0.06     6.3    6.1    3.3e-15
      context       cdi-ctrnn-relu-dale-h32-s0      2752x480    0.21    0.03     6.5    6.4    3.5e-15
      oscillation   hold-ctrnn-relu-dale-h32-s0     1166x480    0.11    0.02     4.7    4.5    2.9e-14
      gonogo        gonogo-ctrnn-relu-dale-h32-s0    506x480    0.06    0.02     2.9    2.7    1.6e-15
      memorynumber  memorynumber-binary-...-s0      1166x480    0.11    0.02     4.6    4.3    3.7e-15
      cddm          cddm-ctrnn-relu-dale-h32-s0   128700x480   13.15    0.75    17.5   18.0    1.3e-15
      cddm          cddm-ctrnn-relu-dale-h32-s1   128700x480   11.76    0.65    18.2   17.7    7.4e-16
      all: wall 25.8 s -> 1.6 s (16.6x), CPU 25.1 s -> 1.5 s (16.5x)
    pair step: 64 pairs of 12 memory3 networks, 500 steps x 8 restarts
      reference 3.58 s (56.0 ms/pair), new 1.92 s (30.0 ms/pair): wall 1.86x, CPU 1.86x
      max |d - d_ref| = 1.1e-11 rad (d in 0.032..0.286)
    === 2 BLAS / torch thread(s)
    prepare
      oscillation   hold-ctrnn-relu-dale-h32-s0     1166x480   10.24    0.02   460.1  454.7    3.2e-14
      gonogo        gonogo-ctrnn-relu-dale-h32-s0    506x480    2.84    0.04    71.1   70.5    1.6e-15
    pair step: 32 pairs of 9 memory3 networks
      reference 102.69 s (3209.1 ms/pair), new 1.12 s (35.1 ms/pair): wall 91.5x, CPU 90.5x
      max |d - d_ref| = 8.8e-13 rad

On 62 other real pairs (all six suites and across them, d ≈ 0.01–0.55) the pair step
agreed to 3.6e-8 rad; two full cddm networks' operators to ≤ 1.9e-15 relative.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

SUITES = ("memory3", "context", "oscillation", "gonogo", "memorynumber", "cddm")


def timed(f):
    """``(result, wall seconds, CPU seconds)`` of ``f()``."""
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - w, time.process_time() - c


def trajectories(zoo, network_id: str, n_conditions: int) -> np.ndarray:
    X = np.asarray(zoo.recording(network_id).samples(), dtype=np.float64)
    X = X - X.mean(axis=0, keepdims=True)
    return X.reshape(n_conditions, X.shape[0] // n_conditions, X.shape[1])


def bench_prepare(zoo, n_cddm: int, suites=SUITES) -> None:
    from simbench.bench.run import for_suite
    from simbench.metrics import get_metric
    from simbench.metrics.dsa import fit_operator

    print("prepare: fit_operator (Gram + Rayleigh-Ritz) vs method='svd' (full SVD)")
    print(f"  {'suite':13s} {'network':42s} {'Hankel':>14s} {'svd s':>7s} {'new s':>7s} "
          f"{'wall x':>7s} {'cpu x':>7s} {'rel err A':>9s}")
    tot = np.zeros(4)
    for suite in suites:
        k = n_cddm if suite == "cddm" else 1
        ids = zoo.filter(suite=suite, passed=True).ids
        C = for_suite(get_metric("dsa"), suite).params["n_conditions"]
        for network_id in ids[:k]:
            traj = trajectories(zoo, network_id, C)
            (A, info), w1, c1 = timed(lambda: fit_operator(traj, 15, 1, 15, 1e-8))
            (A0, _), w0, c0 = timed(lambda: fit_operator(traj, 15, 1, 15, 1e-8, method="svd"))
            err = np.linalg.norm(A - A0) / np.linalg.norm(A0)
            shape = f"{C * (traj.shape[1] - 14)}x{traj.shape[2] * 15}"
            print(f"  {suite:13s} {network_id:42s} {shape:>14s} {w0:7.2f} {w1:7.2f} "
                  f"{w0 / w1:7.1f} {c0 / c1:7.1f} {err:9.1e}  ({info['method']})", flush=True)
            tot += (w0, w1, c0, c1)
    print(f"  all networks above: wall {tot[0]:.1f} s -> {tot[1]:.1f} s ({tot[0] / tot[1]:.1f}x), "
          f"CPU {tot[2]:.1f} s -> {tot[3]:.1f} s ({tot[2] / tot[3]:.1f}x)")


def real_pairs(zoo, n_pairs: int, suite: str):
    from simbench.bench.run import for_suite
    from simbench.metrics import get_metric

    metric = for_suite(get_metric("dsa"), suite)
    ids = zoo.filter(suite=suite, passed=True).ids
    k = 2
    while k * (k - 1) // 2 < n_pairs and k < len(ids):
        k += 1
    picks = [ids[i] for i in np.linspace(0, len(ids) - 1, k).astype(int)]
    states = [metric.prepare(zoo.recording(i).samples()) for i in picks]
    pairs = list(itertools.combinations(range(k), 2))[:n_pairs]
    ordered = [metric._ordered(states[i], states[j]) for i, j in pairs]
    return (np.stack([a["A_unit"] for a, _ in ordered]),
            np.stack([b["A_unit"] for _, b in ordered]), k)


def bench_pairs(zoo, n_pairs: int, suite: str, iters: int, repeat: int) -> None:
    from simbench.metrics.dsa import align_operators

    A, B, k = real_pairs(zoo, n_pairs, suite)
    print(f"pair step: {len(A)} pairs of {k} {suite} networks (operators {A.shape[1]}x"
          f"{A.shape[1]}), {iters} steps x 8 restarts, one batch")
    runs = {"reference": [], "new": []}
    d = {}
    for _ in range(repeat):
        for name, ref in (("reference", True), ("new", False)):
            al, w, c = timed(lambda: align_operators(A, B, iters=iters, reference=ref))
            runs[name].append((w, c))
            d[name] = np.arccos(np.clip(al, -1, 1))
    (w0, c0), (w1, c1) = (np.min(runs[n], axis=0) for n in ("reference", "new"))
    print(f"  reference {w0:.2f} s ({1e3 * w0 / len(A):.1f} ms/pair), new {w1:.2f} s "
          f"({1e3 * w1 / len(A):.1f} ms/pair): wall {w0 / w1:.2f}x, CPU {c0 / c1:.2f}x "
          f"(best of {repeat})")
    print(f"  max |d - d_ref| = {np.max(np.abs(d['new'] - d['reference'])):.1e} rad "
          f"(d in {d['reference'].min():.3f}..{d['reference'].max():.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", default="zoo/reference")
    ap.add_argument("--cddm", type=int, default=2, help="cddm networks in the prepare run")
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--pair-suite", default="memory3")
    ap.add_argument("--iters", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=2, help="runs of the pair step (first "
                    "thread count; one run at the others)")
    ap.add_argument("--threads", default="1,2",
                    help="BLAS / torch thread counts, comma-separated; at the others than "
                         "the first: prepare on oscillation and gonogo only, half the "
                         "pairs (at least SMALL_BATCH, so that threads are used), one run")
    ap.add_argument("--skip", choices=("prepare", "pairs"), default=None)
    args = ap.parse_args()

    import simbench
    import simbench.metrics.dsa as dsa  # loads scipy's BLAS before the thread limit

    zoo = simbench.load_zoo(args.zoo)
    for i, threads in enumerate(int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        with threadpool_limits(threads):
            print(f"\n=== {threads} BLAS / torch thread(s)")
            if args.skip != "prepare":
                bench_prepare(zoo, args.cddm, SUITES if i == 0 else ("oscillation", "gonogo"))
            if args.skip != "pairs":
                first = i == 0
                bench_pairs(zoo, args.pairs if first else max(dsa.SMALL_BATCH, args.pairs // 2),
                            args.pair_suite, args.iters, args.repeat if first else 1)


if __name__ == "__main__":
    main()
