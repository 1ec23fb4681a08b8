"""Population training throughput against per-network torch.nn loops.

Run: ``python tests/benchmarks/bench_training.py`` (``--networks 8`` for a quick look).

Both sides train N networks of H units on batches [B, T, I] with Adam, the same number
of optimiser steps and the same torch thread count. The baseline trains each network
separately with torch.nn.RNN / GRU / LSTM (torch's fused CPU kernels) plus a Linear
readout; simbench trains them as one population (stacked parameters, hand-written
BPTT). Throughput is network-steps per second; the script prints the median ratio over
rounds that alternate baseline and population steps, so load drift on a shared machine
hits both sides alike.
Targets (2 cores, N=32, H=64, T=100, B=64): ≥ 3× for vanilla and continuous-time
populations, ≥ 1× against the fused GRU and LSTM kernels.

Measured (median of 5 rounds, 2 threads, quiet 2-core machine, load 0.2–1.4), two
runs a few minutes apart: vanilla-tanh 2.10× / 3.24×, ctrnn-tanh-free 2.57× / 2.93×,
gru 2.76× / 2.65×, lstm 0.84× / 0.77× (at the start of 2026-11-22: 1.3×, 1.2×,
0.79×, 0.73×). Since then each thread trains its own share of the population
(Population.parts), because torch's intra-op threads made both threads wait on each
other at every small batched product. The step buffers are reused (Workspace), and
nothing of shape [T, N, B, H] is permuted.
Under load the per-network baseline suffers more than the population (load ≈ 2:
3.8×, 4.2×, 6.0×, 1.0×), so compare figures taken on a quiet machine only.
"""

from __future__ import annotations

import argparse
import time

import torch

from simbench.zoo.architectures import get_architecture
from simbench.zoo.optim import PopulationAdam
from simbench.zoo.training import masked_mse

BASELINES = {"vanilla-tanh": torch.nn.RNN, "ctrnn-tanh-free": torch.nn.RNN,
             "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
TARGETS = {"vanilla-tanh": 3.0, "ctrnn-tanh-free": 3.0, "gru": 1.0, "lstm": 1.0}


def baseline_step(cls, n, hidden, inputs, targets):
    """One Adam step of every network, each its own torch.nn module (fused CPU kernel)."""
    nets = [torch.nn.ModuleDict({"rnn": cls(inputs.shape[-1], hidden, batch_first=True),
                                 "out": torch.nn.Linear(hidden, targets.shape[-1])}) for _ in range(n)]
    optimisers = [torch.optim.Adam(net.parameters(), lr=1e-3) for net in nets]

    def one_step():
        for net, opt, x, y in zip(nets, optimisers, inputs, targets):
            opt.zero_grad()
            states, _ = net["rnn"](x)
            ((net["out"](states) - y) ** 2).mean().backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
    return one_step


def population_step(arch, n, hidden, inputs, targets):
    """One step of the same networks as one simbench population."""
    population = get_architecture(arch).population(inputs.shape[-1], targets.shape[-1], hidden, range(n))
    names = [name for name, _ in population.named_parameters()]
    optimiser = PopulationAdam(list(population.parameters()), [m in population.weight_names for m in names])
    mask = torch.ones_like(targets)
    active = torch.ones(n, dtype=torch.bool)

    def one_step():
        optimiser.zero_grad()
        _, outputs = population(inputs)
        masked_mse(outputs, targets, mask).sum().backward()
        optimiser.step(active)
        population.project()
    return one_step


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ratio(baseline, ours, rounds):
    """Median over interleaved rounds of baseline time / our time, and our best time."""
    baseline(), ours()  # warm-up
    pairs = [(_seconds(baseline), _seconds(ours)) for _ in range(rounds)]
    ratios = sorted(b / o for b, o in pairs)
    return ratios[len(ratios) // 2], min(o for _, o in pairs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", nargs="*", default=list(BASELINES))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    inputs = torch.randn(args.networks, args.batch, args.time, 3)
    targets = torch.randn(args.networks, args.batch, args.time, 3)
    print(f"N={args.networks} H={args.hidden} T={args.time} B={args.batch} threads={args.threads}")
    ratios = {}
    for arch in args.arch:
        base = baseline_step(BASELINES[arch], args.networks, args.hidden, inputs, targets)
        ours = population_step(arch, args.networks, args.hidden, inputs, targets)
        ratios[arch], seconds = median_ratio(base, ours, args.rounds)
        print(f"{arch:16s} vs torch.nn.{BASELINES[arch].__name__:5s}: {ratios[arch]:5.2f}x "
              f"(target {TARGETS[arch]:.0f}x; {args.networks / seconds:.0f} network-steps/s)", flush=True)
    return ratios


if __name__ == "__main__":
    main()
