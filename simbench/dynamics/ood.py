"""Out-of-distribution behaviour of CDDM networks: psychometric maps beyond the training range.

Tolmachev & Engel (Nat. Mach. Intell. 7:1742, 2025) test networks trained on
context-dependent decision making (:mod:`simbench.zoo.tasks.cddm`, coherences in
[−1, 1]) on coherences up to ±4, where only the inductive bias of the architecture
decides the answer. For each context k ∈ (motion, color), relevant coherence c_r and
irrelevant coherence c_i on the grid ``L = linspace(−bound, bound, n_levels)`` (default
±4 in 31 levels, as in the paper; spacing 4/15, so ±1 is not on it):

    P_k(c_r, c_i) = (1/R) Σ_r ( 1[ȳ_R > ȳ_L] + ½ 1[ȳ_R = ȳ_L] ),

the fraction of R noisy repeats in which the network chooses output 0 ("R", the
answer to a positive relevant coherence); ȳ is the mean output over the decision
period ``[DECISION_ON, T)``, the choice rule of ``ContextDecision.performance``. An
ideal decider has P = 1[c_r > 0] + ½ 1[c_r = 0] whatever c_i.

Noise and repeats: ``repeats = 7`` as in the paper, white noise of std ``noise = 0.03``
(the task's training noise, :data:`~simbench.zoo.tasks.cddm.NOISE`) on the four stimulus
channels while they are on, drawn from one generator seeded by ``seed`` step by step in
a fixed order. Every network therefore sees the *same* noisy trials (common random
numbers), so the difference of two maps reflects the networks, not the draws.
Deviations from the paper: it also adds recurrent noise (σ_rec = 0.03) and reads the
choice at the last step; state noise has no architecture-neutral form (a gated cell's
state, an LSTM's cell), so the noise here enters through the inputs only, and the choice
rule is the task's own.

Networks of one architecture are simulated as one batched system
(:mod:`simbench.dynamics.simulate`), in float32 like the recordings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from simbench.dynamics.simulate import group_system, network_label, stack_groups, task_of, torch_threads
from simbench.zoo.tasks import cddm

#: the paper's grid and repeats
BOUND, N_LEVELS, REPEATS = 4.0, 31, 7
TRAINING_RANGE = 1.0


@dataclass(frozen=True)
class OODMap:
    """A network's psychometric maps: ``choice[k, i, j]`` = P(choice R) in context
    ``CONTEXTS[k]`` at relevant coherence ``levels[i]`` and irrelevant ``levels[j]``."""

    choice: np.ndarray
    levels: np.ndarray
    repeats: int
    noise: float
    seed: int
    network: str = ""
    seconds: float = 0.0
    contexts: tuple[str, ...] = field(default=cddm.CONTEXTS)

    def accuracy(self, region: str = "all", context: int | None = None) -> float:
        """Mean P(correct) over the cells with c_r ≠ 0 of ``region`` ∈ {all, inside, outside}
        (inside: both |c| ≤ 1, the training range), in one context or both."""
        relevant = self.levels[:, None]
        inside = (np.abs(relevant) <= TRAINING_RANGE) & (np.abs(self.levels[None, :]) <= TRAINING_RANGE)
        cells = {"all": np.ones_like(inside), "inside": inside, "outside": ~inside}
        if region not in cells:
            raise ValueError(f"region must be one of {', '.join(cells)}, got {region!r}")
        choice = self.choice if context is None else self.choice[context:context + 1]
        correct = np.where(relevant > 0, choice, 1.0 - choice)
        keep = np.broadcast_to(cells[region] & (relevant != 0), choice.shape)
        return float(correct[keep].mean()) if keep.any() else float("nan")  # nan: no such cell

    def summary(self) -> pd.DataFrame:
        """Accuracy inside and outside the training range, per context."""
        return pd.DataFrame([{"context": name, "inside": self.accuracy("inside", k),
                              "outside": self.accuracy("outside", k)} for k, name in enumerate(self.contexts)])


def ood_levels(bound: float = BOUND, n_levels: int = N_LEVELS) -> np.ndarray:
    """The coherence grid ``linspace(−bound, bound, n_levels)``."""
    if not bound > 0 or n_levels < 2:
        raise ValueError(f"need bound > 0 and n_levels >= 2, got bound={bound!r}, n_levels={n_levels!r}")
    return np.linspace(-bound, bound, int(n_levels))


def cddm_inputs(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free inputs ``(before, after) [2·L·L, 6]`` of the map's conditions, ordered
    (context, relevant, irrelevant): the input is ``before`` for t < STIM_ON, ``after`` from
    then on (the stimulus channels carry (1 ± c)/2, as in :mod:`~simbench.zoo.tasks.cddm`)."""
    n = len(levels)
    relevant, irrelevant = (a.ravel() for a in np.meshgrid(levels, levels, indexing="ij"))
    before, after = np.zeros((2, n * n, 6)), np.zeros((2, n * n, 6))
    for k in range(2):  # k = 0: motion context (motion relevant); k = 1: color context
        motion, color = (relevant, irrelevant) if k == 0 else (irrelevant, relevant)
        before[k, :, k] = after[k, :, k] = 1.0
        after[k, :, 2:] = np.stack([(1 + motion) / 2, (1 - motion) / 2, (1 + color) / 2, (1 - color) / 2], -1)
    return before.reshape(-1, 6), after.reshape(-1, 6)


def _choices(system, before, after, noise: float, seed: int) -> torch.Tensor:
    """P(choice R) per trial ``[N, B]`` of the systems' networks (no graph)."""
    dtype = system.dtype
    before, after = (torch.as_tensor(a, dtype=dtype) for a in (before, after))
    batch = before.shape[0]
    generator = torch.Generator().manual_seed(int(seed))
    h = system.initial_state(batch)
    total = torch.zeros(system.n, batch, system.n_outputs, dtype=dtype)
    drift = torch.zeros(batch, 6, dtype=dtype)
    with torch.no_grad():
        for t in range(cddm.T):
            u = before if t < cddm.STIM_ON else after
            if t >= cddm.STIM_ON and noise > 0:
                drift[:, 2:] = torch.randn(batch, 4, generator=generator).to(dtype)
                u = u + noise * drift
            h = system.step(h, u.expand(system.n, batch, 6))
            if t >= cddm.DECISION_ON:
                total += system.readout(h)
    right, left = total[..., 0], total[..., 1]
    return (right > left).to(torch.float64) + 0.5 * (right == left).to(torch.float64)


def ood_maps(networks: Sequence, *, bound: float = BOUND, n_levels: int = N_LEVELS, repeats: int = REPEATS,
             noise: float = cddm.NOISE, seed: int = 0, threads: int = 1) -> list[OODMap]:
    """OOD psychometric maps of CDDM networks (see the module docstring), one per network.

    ``networks``: zoo Networks or Network-like objects whose ``metadata["task"]`` is a task
    of the ``cddm`` suite; anything else is one ``ValueError`` naming it. Each map's
    ``seconds`` is its share of its batch's simulation time.
    """
    networks = list(networks)
    for i, net in enumerate(networks):
        task = task_of(net, "ood", network_label(net, f"network {i}"))
        if task.suite.name != cddm.CDDM.name:
            raise ValueError(f"ood: {network_label(net, f'network {i}')} is trained on {task.name!r} (suite "
                             f"{task.suite.name!r}); OOD maps are defined for the cddm suite only "
                             "(context-dependent decision making)")
    if not (isinstance(repeats, (int, np.integer)) and repeats >= 1) or not noise >= 0:
        raise ValueError(f"ood: need repeats >= 1 and noise >= 0, got repeats={repeats!r}, noise={noise!r}")
    levels = ood_levels(bound, n_levels)
    before, after = (np.repeat(a, repeats, axis=0) for a in cddm_inputs(levels))
    maps: list = [None] * len(networks)
    with torch_threads(threads):
        for group in stack_groups(networks):
            start = time.perf_counter()
            p = _choices(group_system([networks[i] for i in group]), before, after, noise, seed)
            share = (time.perf_counter() - start) / len(group)
            p = p.numpy().reshape(len(group), 2, len(levels), len(levels), repeats).mean(-1)
            for k, i in enumerate(group):
                maps[i] = OODMap(p[k], levels, int(repeats), float(noise), int(seed),
                                 network_label(networks[i], f"network {i}"), share)
    return maps


def ood_map(network, **options) -> OODMap:
    """The OOD map of one network (see :func:`ood_maps` for the options)."""
    return ood_maps([network], **options)[0]


def plot_ood_map(result: OODMap, path, title: str | None = None) -> Path:
    """Save the two context panels of ``result`` as a PNG heat map; returns the path.

    Rows: relevant coherence; columns: irrelevant coherence; the dashed square is the
    training range ±1.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simbench.zoo.store import atomic_write

    lo, hi = result.levels[0], result.levels[-1]
    pad = (hi - lo) / (len(result.levels) - 1) / 2
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.6), layout="constrained")
    for k, ax in enumerate(axes):
        image = ax.imshow(result.choice[k], origin="lower", cmap="RdBu_r", vmin=0, vmax=1,
                          extent=(lo - pad, hi + pad, lo - pad, hi + pad), interpolation="nearest")
        r = TRAINING_RANGE
        ax.plot([-r, r, r, -r, -r], [-r, -r, r, r, -r], "k--", linewidth=1)
        irrelevant = result.contexts[1 - k]
        ax.set(title=f"{result.contexts[k]} context", xlabel=f"{irrelevant} coherence (irrelevant)",
               ylabel=f"{result.contexts[k]} coherence (relevant)")
    fig.colorbar(image, ax=axes, shrink=0.85, label="P(choice R)")
    fig.suptitle(title or f"{result.network}: OOD psychometric maps ({result.repeats} repeats, "
                          f"noise {result.noise:g})")
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path
