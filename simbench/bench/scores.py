"""Separation scores: how well a distance matrix separates architecture from task.

For a distance matrix D over networks with known architecture and task labels
(DESIGN.md, "Benchmark protocol"):

- ``arch_auc``: among pairs of networks trained on the same task, the AUROC of
  "different architecture" against "same architecture", scored by D (0.5 = blind to
  architecture, 1 = every cross-architecture pair is farther than every within pair).
- ``task_auc``: among same-architecture pairs, AUROC of "different task" vs "same task".
- ``knn_arch``: leave-one-out 1-nearest-neighbour accuracy of the architecture label,
  neighbours searched among networks of the same task; ``knn_task`` likewise for the
  task among networks of the same architecture.
- ``scaffold_specificity`` = task_auc − arch_auc.
- ``topology_rho``: Spearman correlation between D and a topology distance, if given.

Confidence intervals: percentile bootstrap over networks (resampling networks with
replacement; pairs of a network with its own copy are ignored).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

SCORES = ("arch_auc", "task_auc", "knn_arch", "knn_task", "scaffold_specificity", "topology_rho")


def _pair_auc(distance, origin, group, label) -> float:
    """AUROC of 'different label' vs 'same label' over pairs i<j sharing ``group``."""
    i, j = np.triu_indices(len(distance), k=1)
    keep = (group[i] == group[j]) & (origin[i] != origin[j])
    different = label[i][keep] != label[j][keep]
    if different.all() or not different.any():
        return float("nan")
    return float(roc_auc_score(different, distance[i, j][keep]))


def _knn_accuracy(distance, origin, group, label) -> float:
    """Leave-one-out 1-NN accuracy of ``label`` with neighbours in the same ``group``."""
    if len(np.unique(label)) < 2:
        return float("nan")  # one class only: nothing to classify
    d = distance.astype(float).copy()
    excluded = (group[:, None] != group[None, :]) | (origin[:, None] == origin[None, :])
    d[excluded] = np.inf
    has_neighbour = np.isfinite(d).any(1)
    if not has_neighbour.any():
        return float("nan")
    nearest = d.argmin(1)
    return float((label[nearest] == label)[has_neighbour].mean())


def separation_scores(distance, architecture, task, topology=None, origin=None) -> dict[str, float]:
    """The protocol's scores for one distance matrix (see the module docstring)."""
    distance = np.asarray(distance, dtype=float)
    n = len(distance)
    if distance.shape != (n, n):
        raise ValueError(f"distance matrix must be square, got {distance.shape}")
    architecture, task = np.asarray(architecture), np.asarray(task)
    if len(architecture) != n or len(task) != n:
        raise ValueError(f"{n} networks but {len(architecture)} architecture and {len(task)} task labels")
    origin = np.arange(n) if origin is None else np.asarray(origin)
    scores = {
        "arch_auc": _pair_auc(distance, origin, task, architecture),
        "task_auc": _pair_auc(distance, origin, architecture, task),
        "knn_arch": _knn_accuracy(distance, origin, task, architecture),
        "knn_task": _knn_accuracy(distance, origin, architecture, task),
    }
    scores["scaffold_specificity"] = scores["task_auc"] - scores["arch_auc"]
    scores["topology_rho"] = float("nan")
    if topology is not None:
        i, j = np.triu_indices(n, k=1)
        keep = origin[i] != origin[j]
        d, t = distance[i, j][keep], np.asarray(topology)[i, j][keep]
        if d.size > 1 and np.ptp(d) > 0 and np.ptp(t) > 0:  # else the rank correlation is undefined (NaN)
            scores["topology_rho"] = float(spearmanr(d, t)[0])
    return scores


def bootstrap_scores(distance, architecture, task, topology=None, n_boot: int = 200,
                     seed: int = 0, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of every score, resampling networks."""
    rng = np.random.default_rng(seed)
    distance = np.asarray(distance, dtype=float)
    architecture, task = np.asarray(architecture), np.asarray(task)
    n = len(distance)
    draws = {name: [] for name in SCORES}
    for _ in range(n_boot):
        pick = rng.integers(0, n, size=n)
        sub = distance[np.ix_(pick, pick)]
        top = None if topology is None else np.asarray(topology)[np.ix_(pick, pick)]
        for name, value in separation_scores(sub, architecture[pick], task[pick], top, origin=pick).items():
            draws[name].append(value)
    tail = (1 - level) / 2 * 100
    out = {}
    for name, values in draws.items():
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        out[name] = ((float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
                     if len(values) else (float("nan"), float("nan")))
    return out
