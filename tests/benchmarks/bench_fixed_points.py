"""Fixed-point search throughput: one batched population against one network at a time.

Run: ``python tests/benchmarks/bench_fixed_points.py`` (64 networks × 1024 initial states,
the full benchmark) or ``--networks 8 --states 256`` for a quick look.

N vanilla-tanh networks of H units (random orthogonal W_rec scaled to gain ``--gain`` so
each has several fixed points; seeds 0…N−1) and M initial states per network
(N(0, 0.5²), seeded). Both sides run exactly the same code, :func:`minimise_speed`
(Adam with per-state adaptive rates and the same stopping rules) followed by
:func:`newton_polish`, in float64 on ``--threads`` torch threads:

(a) loop: each network as its own :class:`~simbench.dynamics.System` (N = 1), one
    after the other;
(b) batched: all N networks stacked into one System, all N × M states in one batch.

The script checks that both find the same fixed points (q ≤ tol_q, unique within
tol_unique, equal counts per network and positions within 1e-6) and prints wall and CPU
times and the ratio (a)/(b) (CPU time is the steadier figure on a shared machine).
Target: ≥ 5× at 64 × 1024 on 2 cores.

Know the bound. Every state stops on its own (per-state stopping and compaction), so
(a) pays the per-iteration overhead o (Python and dispatch of ~30 operations) Σ_n iters_n
times and (b) only max_n iters_n times; the elementwise work per state-iteration, c
(closed-form speed gradient and the Adam update on [B, S]), is the same in both, but (b)
pads every network's row to the widest one (P ≥ 1.7 × the useful state-iterations U,
counted from the states' iteration numbers). Hence

    ratio ≈ (o · Σ_n iters_n + c · U) / (o · max_n iters_n + c · P)

Measured on the shared 2-core machine (load 4.5–6, 1 thread, CPU seconds): Σ_n iters_n /
max_n iters_n = 23–26 (the ceiling if overhead dominated); o ≈ 0.33 ms, c ≈ 2.2 µs per
state-iteration (fitted on 64 × 64 and 64 × 256), U ≈ 1.0 M / 4.0 M / 16 M at 64, 256
and 1024 states per network. Ratios: 64 × 64: 3.5× CPU (2.9× wall); 64 × 256: 1.1×;
64 × 1024: 0.6–0.7× (31.9 s vs 51.5 s CPU, 54 s vs 138 s wall at load 7), with 1.0× for
the previous autograd finder (418 s vs 405 s wall, 3–8× slower on both sides). At
64 × 1024 the elementwise work c · U ≈ 25–36 s dwarfs the loop's overhead
o · Σ iters ≈ 11 s, so even an unpadded batch with zero overhead would reach only
≈ 1.3–1.4×: the ≥ 5× target needs c ≥ 10× smaller at equal overhead (a GPU) or few
states per network, not a CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from simbench.dynamics import FinderOptions, as_system, minimise_speed, newton_polish
from simbench.dynamics.fixed_points import unique_points
from simbench.zoo.architectures import Network, get_architecture


def networks(n: int, hidden: int, gain: float) -> list[Network]:
    population = get_architecture("vanilla-tanh").population(3, 3, hidden, list(range(n)), init="orthogonal",
                                                              input_gain=1.0)
    with torch.no_grad():
        population.w_rec.mul_(gain)
    return [Network.from_population(population, i) for i in range(n)]


def search(system, u, h0, options):
    found = minimise_speed(system, u, h0, options)
    return newton_polish(system, u, found.h, options.newton_iters, options.jacobian_chunk, options.newton_q)


def fixed_points(h, q, options):
    out = []
    for n in range(h.shape[0]):
        keep = unique_points(h[n].numpy(), q[n].numpy(), options.tol_unique)
        keep = keep[q[n, keep].numpy() <= options.tol_q]
        x = h[n, keep].numpy()
        out.append(x[np.lexsort(x.T[::-1])])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", type=int, default=64)
    ap.add_argument("--states", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--gain", type=float, default=1.5)
    ap.add_argument("--max-iters", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    nets = networks(args.networks, args.hidden, args.gain)
    options = FinderOptions(max_iters=args.max_iters)
    gen = torch.Generator().manual_seed(0)
    S = nets[0].state_size
    h0 = 0.5 * torch.randn(args.networks, args.states, S, generator=gen, dtype=torch.float64)
    u = torch.zeros(args.networks, args.states, 3, dtype=torch.float64)

    start, cpu = time.perf_counter(), time.process_time()
    looped = [search(as_system(net), u[i:i + 1], h0[i:i + 1], options) for i, net in enumerate(nets)]
    t_loop, c_loop = time.perf_counter() - start, time.process_time() - cpu
    h_loop = torch.cat([h for h, _ in looped])
    q_loop = torch.cat([q for _, q in looped])

    start, cpu = time.perf_counter(), time.process_time()
    h_batch, q_batch = search(as_system(nets), u, h0, options)
    t_batch, c_batch = time.perf_counter() - start, time.process_time() - cpu

    a, b = fixed_points(h_loop, q_loop, options), fixed_points(h_batch, q_batch, options)
    counts = [len(x) for x in a]
    agree = all(len(x) == len(y) and (len(x) == 0 or np.abs(x - y).max() < 1e-6) for x, y in zip(a, b))
    print(f"{args.networks} networks × {args.states} initial states, H={args.hidden}, "
          f"threads={args.threads}")
    print(f"fixed points per network: min {min(counts)}, median {int(np.median(counts))}, max {max(counts)}; "
          f"loop and batched agree: {agree}")
    print(f"(a) one network at a time: {t_loop:8.2f} s wall, {c_loop:8.2f} s CPU")
    print(f"(b) batched population:    {t_batch:8.2f} s wall, {c_batch:8.2f} s CPU")
    print(f"ratio (a)/(b): {t_loop / t_batch:.1f}x wall, {c_loop / c_batch:.1f}x CPU  (target >= 5x at 64 x 1024)")
    if not agree:
        raise SystemExit("batched and looped searches disagree")


if __name__ == "__main__":
    main()
