"""Separation scores: how well a distance matrix separates the factors of a zoo.

For a distance matrix D over networks whose factors are known (a
:class:`~simbench.bench.design.Design`), following the benchmark protocol:

- every ``*_auc`` score is the AUROC of D on a :class:`~simbench.bench.design.PairSet`
  (positive: pairs that differ in a factor; negative: two seeds of one cell), i.e.
  ``P(D_pos > D_neg) + ½ P(D_pos = D_neg)``; see :mod:`simbench.bench.design` for the
  pairs of ``arch_auc``, ``task_auc``, ``activation_auc``, ``dale_auc``, ``gating_auc``,
  ``width_auc`` and ``control_auc``;
- ``knn_arch``: leave-one-out 1-nearest-neighbour accuracy of the architecture label,
  neighbours searched among networks of the same task and hidden size; ``knn_task``
  likewise for the task among networks of the same architecture and hidden size;
- ``scaffold_specificity`` = task_auc − arch_auc; ``activation_vs_dale`` =
  activation_auc − dale_auc (Tolmachev & Engel 2025: activation dominates Dale's law);
- ``topology_rho``, ``ood_rho``: Spearman correlation, over pairs of trained networks,
  of D with a reference distance (fixed-point topology; out-of-distribution behaviour).

Every score is computed as a function of per-network *weights* ``W [B, n]``: the point
estimate uses ``W = 1``; the design bootstrap (:mod:`simbench.bench.bootstrap`) draws
other weights. A pair (i, j) weighs ``W_i W_j``; a network never pairs with itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from simbench.bench.design import Design, PairSet, pair_sets

AUC_SCORES = ("arch_auc", "task_auc", "activation_auc", "dale_auc", "gating_auc", "width_auc",
              "control_auc")
SCORES = ("arch_auc", "task_auc", "knn_arch", "knn_task", "scaffold_specificity", "topology_rho",
          "activation_auc", "dale_auc", "activation_vs_dale", "gating_auc", "width_auc", "control_auc",
          "ood_rho")
#: scores that are differences of two others
DIFFERENCES = {"scaffold_specificity": ("task_auc", "arch_auc"),
               "activation_vs_dale": ("activation_auc", "dale_auc")}
#: reference distances a score correlates with
REFERENCES = {"topology_rho": "topology", "ood_rho": "ood"}


def weighted_auc(distance: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC of ``distance`` for positive vs negative pairs under pair weights ``[B, P]``.

    ``Σ_pos Σ_neg w_p w_q (1[d_p > d_q] + ½ 1[d_p = d_q]) / (Σ_pos w_p · Σ_neg w_q)``,
    one value per row of ``weights`` (NaN where a class has no weight). With unit
    weights this is the Mann–Whitney AUROC (``sklearn.metrics.roc_auc_score``).
    O(B · P) after one sort.
    """
    order = np.argsort(distance, kind="stable")
    d, pos, w = distance[order], positive[order], np.atleast_2d(weights)[:, order]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
    w_pos = np.add.reduceat(w * pos, starts, axis=1)
    w_neg = np.add.reduceat(w * ~pos, starts, axis=1)
    below = np.cumsum(w_neg, axis=1) - w_neg
    numerator = (w_pos * (below + 0.5 * w_neg)).sum(1)
    denominator = w_pos.sum(1) * w_neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def pair_auc(distance: np.ndarray, pairs: PairSet, weights: np.ndarray) -> np.ndarray:
    """:func:`weighted_auc` of a pair set, pair weights ``W_i W_j``."""
    if not pairs.defined:
        return np.full(len(weights), np.nan)
    d = distance[pairs.i, pairs.j]
    return weighted_auc(d, pairs.positive, weights[:, pairs.i] * weights[:, pairs.j])


@dataclass(frozen=True)
class NeighbourHits:
    """Leave-one-out 1-NN outcomes, and what they become when one network is deleted.

    ``hits[i]``: 1 if the nearest candidate of network i has its label, 0 if not, NaN
    without a candidate; ``nearest[i]`` that candidate (−1 if none); ``runner_up[i]``
    the outcome with the second-nearest candidate (NaN if none), which replaces
    ``hits[i]`` when ``nearest[i]`` is deleted (the jackknife, :meth:`deleted`).
    """

    hits: np.ndarray
    nearest: np.ndarray
    runner_up: np.ndarray

    @classmethod
    def of(cls, distance, group, label, eligible) -> NeighbourHits:
        d = np.array(distance, dtype=float)
        n = len(d)
        excluded = (group[:, None] != group[None, :]) | ~eligible[None, :] | np.eye(n, dtype=bool)
        d[excluded] = np.inf
        order = np.argsort(d, axis=1, kind="stable")[:, :2] if n > 1 else np.zeros((n, 2), int)
        first, second = order[:, 0], order[:, min(1, order.shape[1] - 1)]
        rows = np.arange(n)
        has_first = np.isfinite(d[rows, first]) & eligible
        has_second = has_first & np.isfinite(d[rows, second]) & (second != first)
        hits = np.where(has_first, (label[first] == label).astype(float), np.nan)
        runner_up = np.where(has_second, (label[second] == label).astype(float), np.nan)
        return cls(hits, np.where(has_first, first, -1), runner_up)

    def accuracy(self) -> float:
        finite = np.isfinite(self.hits)
        return float(self.hits[finite].mean()) if finite.any() else float("nan")

    def deleted(self, k: int) -> float:
        """The accuracy with network ``k`` removed from the zoo."""
        values = np.where(self.nearest == k, self.runner_up, self.hits)
        values[k] = np.nan
        finite = np.isfinite(values)
        return float(values[finite].mean()) if finite.any() else float("nan")


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``Σ_i W_i v_i / Σ_i W_i`` over the finite ``v_i``, one value per row of ``weights``."""
    ok = np.isfinite(values)
    if not ok.any():
        return np.full(len(weights), np.nan)
    w = weights[:, ok]
    total = w.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, w @ values[ok] / np.where(total > 0, total, 1), np.nan)


def weighted_rank_correlation(distance: np.ndarray, reference: np.ndarray, i: np.ndarray, j: np.ndarray,
                              weights: np.ndarray) -> np.ndarray:
    """Spearman correlation of two distances over pairs (i, j), pair weights ``W_i W_j``.

    The Pearson correlation of the pairs' ranks (average ranks for ties), weighted; with
    unit weights it equals ``scipy.stats.spearmanr``. NaN where either is constant.
    """
    x, y = distance[i, j], reference[i, j]
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.full(len(weights), np.nan)
    rx, ry = rankdata(x), rankdata(y)
    w = weights[:, i] * weights[:, j]
    total = w.sum(1, keepdims=True)
    mx, my = (w @ rx)[:, None] / total, (w @ ry)[:, None] / total
    cx, cy = rx[None, :] - mx, ry[None, :] - my
    cov = (w * cx * cy).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt((w * cx**2).sum(1) * (w * cy**2).sum(1))


class ScoreFunction:
    """Every score of one distance matrix, as a function of network weights.

    Built once per matrix (pair sets, neighbour hits and ranks do not depend on the
    weights); ``self(W)`` returns ``{score: array [B]}`` for weights ``W [B, n]``.
    """

    def __init__(self, distance, design: Design, references: dict | None = None):
        distance = np.asarray(distance, dtype=float)
        n = len(design)
        if distance.shape != (n, n):
            raise ValueError(f"distance matrix must be square over the design's {n} networks, "
                             f"got {distance.shape}")
        self.distance, self.design = distance, design
        self.pairs = pair_sets(design)
        trained = design.trained
        task, arch = design.column("task"), design.column("architecture")
        self.neighbours = {
            "knn_arch": _hits_if_two_classes(distance, design.codes(("task", "hidden")), arch, trained),
            "knn_task": _hits_if_two_classes(distance, design.codes(("architecture", "hidden")), task, trained),
        }
        i, j = np.triu_indices(n, k=1)
        both = trained[i] & trained[j]
        self.reference_pairs = (i[both], j[both])
        self.references = {}
        for score, key in REFERENCES.items():
            matrix = (references or {}).get(key)
            if matrix is not None:
                matrix = np.asarray(matrix, dtype=float)
                if matrix.shape != (n, n):
                    raise ValueError(f"{key} reference must be {n} × {n}, got {matrix.shape}")
                self.references[score] = matrix

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        out = {name: pair_auc(self.distance, pairs, weights) for name, pairs in self.pairs.items()}
        for name, neighbours in self.neighbours.items():
            out[name] = weighted_mean(neighbours.hits, weights)
        for score, matrix in self.references.items():
            out[score] = weighted_rank_correlation(self.distance, matrix, *self.reference_pairs, weights)
        nan = np.full(len(weights), np.nan)
        for name, (a, b) in DIFFERENCES.items():
            out[name] = out.get(a, nan) - out.get(b, nan)
        return {name: out.get(name, nan) for name in SCORES}


def _hits_if_two_classes(distance, group, label, eligible) -> NeighbourHits:
    if len(np.unique(label[eligible])) < 2:  # one class only: nothing to classify
        nan = np.full(len(label), np.nan)
        return NeighbourHits(nan, np.full(len(label), -1), nan)
    return NeighbourHits.of(distance, group, label, eligible)


def separation_scores(distance, architecture=None, task=None, topology=None, design: Design | None = None,
                      references: dict | None = None) -> dict[str, float]:
    """Point estimates of every score (module docstring) for one distance matrix.

    Give either label arrays ``architecture`` and ``task`` (other factors follow from the
    architecture names) or a ``design``; ``topology`` is the fixed-point-topology
    reference (or pass ``references={"topology": T, "ood": O}``).
    """
    design = _design(distance, architecture, task, design)
    references = {**(references or {}), **({"topology": topology} if topology is not None else {})}
    values = ScoreFunction(distance, design, references)(np.ones((1, len(design))))
    return {name: float(v[0]) for name, v in values.items()}


def _design(distance, architecture, task, design) -> Design:
    if design is not None:
        return design
    n = len(np.asarray(distance))
    if architecture is None or task is None:
        raise ValueError("give architecture and task labels, or a design")
    if len(architecture) != n or len(task) != n:
        raise ValueError(f"{n} networks but {len(architecture)} architecture and {len(task)} task labels")
    return Design.from_labels(architecture, task)
