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

Measured 2026-11-22, 2 threads, quiet 2-core machine (nothing else running), median of
15 rounds (quartiles in the output), three runs each of this code and of the code at
the start of the session (47bbae4), run with the same script:

    vanilla-tanh      3.71× 3.15× 3.67×   (before: 2.70× 2.79× 2.73×)
    ctrnn-tanh-free   3.29× 4.04× 3.14×   (before: 2.61× 3.09× 2.80×)
    gru               3.28× 3.18× 3.29×   (before: 2.92× 2.61× 2.68×)
    lstm              1.14× 1.04× 1.02×   (before: 0.80× 0.80× 0.78×)

Again 2026-11-23 on the code of 5699c78 (per-network learning rates, identity-like
vanilla tanh init), five runs; two runs of ceaa449 interleaved with the last two:

    vanilla-tanh      4.26× 2.84× 2.97× 3.42× 3.29×   (ceaa449: 3.70× 4.10×)
    ctrnn-tanh-free   3.61× 3.19× 3.26× 3.52× 3.19×   (ceaa449: 2.79× 3.27×)
    gru               3.40× 3.16× 2.92× 3.25× 3.32×   (ceaa449: 3.09× 3.25×)
    lstm              1.04× 0.99× 0.94× 1.04× 1.09×   (ceaa449: 0.97× 1.01×)

The medians meet the targets; single runs fall below them (vanilla, LSTM) as often as
the earlier code's do, and LSTM sits on its 1× line.

What got it there: each thread trains its own share of the population
(Population.parts); step buffers are reused (Workspace); the input drive and the
readout/drive gradients are computed inside the time loops, so no [T, N, B, ·] tensor
but the states and the saved activations is written; and each step makes few passes
over memory (activation gains folded into the products, in-place accumulation, one
sigmoid over all four LSTM gates). The rounds scatter (quartiles often ±15 %) because
one step takes ~0.1 s on a shared machine. Under load the per-network baseline
suffers more than the population, so compare figures taken on a quiet machine only.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
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


def ratio_quartiles(baseline, ours, rounds):
    """Quartiles over interleaved rounds of baseline time / our time, and our best time."""
    baseline(), ours()  # warm-up
    pairs = [(_seconds(baseline), _seconds(ours)) for _ in range(rounds)]
    q1, median, q3 = np.quantile([b / o for b, o in pairs], [0.25, 0.5, 0.75])
    return (median, q1, q3), min(o for _, o in pairs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
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
        (ratios[arch], q1, q3), seconds = ratio_quartiles(base, ours, args.rounds)
        print(f"{arch:16s} vs torch.nn.{BASELINES[arch].__name__:5s}: {ratios[arch]:5.2f}x "
              f"(quartiles {q1:.2f}–{q3:.2f}; target {TARGETS[arch]:.0f}x; "
              f"{args.networks / seconds:.0f} network-steps/s)", flush=True)
    return ratios


if __name__ == "__main__":
    main()
