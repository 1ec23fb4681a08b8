"""``fp-config``: label-aware Procrustes distance between fixed-point configurations.

After Tolmachev & Engel (Nat. Mach. Intell. 2025), who compare how networks arrange
their fixed points in state space. For each network:

1. **Configuration.** All fixed points of all constant-input conditions
   (:mod:`simbench.dynamics`), each with a label ``"<condition>:<unstable dims>|<readout
   signs>"``; the points are centred, projected on their own first ``n_components``
   principal components (zero-padded if they span fewer), and scaled to unit RMS norm
   (so the configuration is invariant to rotation, translation and scale of the state
   space, and the units of different architectures do not matter).
2. **Directed distance** d(A→B): for an orthogonal Q (reflections allowed), every point
   a of A is matched to the nearest point of B *with the same label* (after Q); with
   the matches fixed, Q is the orthogonal Procrustes solution; both steps alternate
   (``iters`` times) from the rotation that aligns the labels' centroids (and, when
   fewer than two labels are shared, from each of the 2^p axis reflections), keeping the
   best. A point whose label B lacks costs ``unmatched`` (default 1, the mean squared
   radius of a normalised configuration). d(A→B) = mean over A's points of the squared
   residual.
3. **Symmetrised**: d(A, B) = sqrt(½ (d(A→B) + d(B→A))), in [0, √unmatched] for
   matched labels. Networks with one fixed point each (a configuration of one point at
   the origin) are at distance 0 when the labels agree.

Triangle inequality: not guaranteed (the matching may differ between pairs). Needs the
network (``input = "network"``).
"""

from __future__ import annotations

import itertools

import numpy as np

from simbench.metrics.dynamics_base import ANALYSIS_PARAMETERS, DynamicsMetric
from simbench.metrics.base import Param


def configuration(result, n_components: int) -> tuple[np.ndarray, list[str]]:
    """Normalised ``[P, n_components]`` fixed-point coordinates and their labels."""
    x = np.asarray(result.fp_x, dtype=np.float64)
    labels = [f"{c}:{lab}" for c, lab in zip(result.fp_condition.tolist(), result.fp_labels())]
    if len(x) == 0:
        return np.zeros((0, n_components)), labels
    centred = x - x.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:n_components].T
    coords = np.pad(coords, ((0, 0), (0, n_components - coords.shape[1])))
    norm = np.sqrt((coords ** 2).sum() / len(coords))
    return (coords / norm if norm > 1e-12 else coords), labels


def _procrustes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Orthogonal Q minimising ‖a − b Q‖ (rows matched)."""
    u, _, vt = np.linalg.svd(b.T @ a)
    return u @ vt


def directed(A: np.ndarray, la: list[str], B: np.ndarray, lb: list[str], iters: int = 20,
             unmatched: float = 1.0) -> float:
    """Mean squared residual of A's points against same-label points of Q-rotated B (module doc)."""
    if len(A) == 0:
        return 0.0
    groups: dict[str, np.ndarray] = {}
    for label in set(lb):
        groups[label] = np.flatnonzero(np.array(lb) == label)
    matched = np.array([label in groups for label in la])
    penalty = unmatched * float((~matched).sum())
    if not matched.any():
        return penalty / len(A)
    p = A.shape[1]
    shared = sorted(set(la) & set(groups))
    starts = []
    if len(shared) >= 2:
        ca = np.stack([A[np.array(la) == s].mean(0) for s in shared])
        cb = np.stack([B[groups[s]].mean(0) for s in shared])
        starts.append(_procrustes(ca, cb))
    if len(shared) < 2 or len(shared) <= p:
        starts.extend(np.diag(signs) for signs in itertools.product([1.0, -1.0], repeat=p))
    rows = np.flatnonzero(matched)
    best = np.inf
    for Q in starts:
        prev = np.inf
        for _ in range(iters):
            Bq = B @ Q
            partner = np.empty(len(rows), dtype=np.int64)
            cost = 0.0
            for r, i in enumerate(rows):
                cand = groups[la[i]]
                d = ((Bq[cand] - A[i]) ** 2).sum(1)
                j = int(np.argmin(d))
                partner[r] = cand[j]
                cost += d[j]
            if cost >= prev - 1e-12:
                break
            prev = cost
            Q = _procrustes(A[rows], B[partner])
        best = min(best, prev)
    return (best + penalty) / len(A)


class FPConfig(DynamicsMetric):
    id = "fp-config"
    kind = "dynamics"
    description = "Label-aware Procrustes distance between PCA fixed-point configurations, symmetrised."
    triangle_inequality = False
    parameters = {
        **ANALYSIS_PARAMETERS,
        "n_components": Param(3, low=1, doc="principal components of the configuration"),
        "iters": Param(20, low=1, doc="match / Procrustes alternations per start"),
        "unmatched": Param(1.0, low=0.0, doc="squared cost of a point whose label the other network lacks"),
    }

    def _signature(self, result):
        coords, labels = configuration(result, self.n_components)
        return {"coords": coords, "labels": labels}

    def _distance(self, a, b) -> float:
        A, la, B, lb = a["coords"], a.info["labels"], b["coords"], b.info["labels"]
        ab = directed(A, la, B, lb, self.iters, self.unmatched)
        ba = directed(B, lb, A, la, self.iters, self.unmatched)
        return float(np.sqrt(max(0.5 * (ab + ba), 0.0)))
