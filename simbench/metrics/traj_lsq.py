"""Least-squares trajectory mapping residual (after Tolmachev & Engel, Nature Machine
Intelligence 7:1742, 2025).

``prepare`` centres X ``[samples, units]`` and projects it on its top
``n_components`` principal axes: features ``F = X V_k`` [samples, k] with
k = min(n_components, rank X). It stores F and the orthonormal basis U of its column
space (``F = U diag(s)``). The residual of the best linear map from A's features to
B's (with centred features, an affine map) is a projection residual::

    r(A→B) = min_W ‖F_B − F_A W‖_F / ‖F_B‖_F = ‖F_B − U_A U_Aᵀ F_B‖_F / ‖F_B‖_F
    d      = ( r(A→B) + r(B→A) ) / 2        ∈ [0, 1]

Invariances: translation, rotation/reflection, permutation and isotropic scaling of
the units (PCA commutes with them); *not* invariant to general linear maps (they
change the principal axes). Triangle inequality: does **not** hold. Deviation: the
paper compares trajectories through MDS of trajectory distances and low-dimensional
projections; simbench uses this symmetrised linear-predictability residual on the
top-k PC trajectories as a single-number distance.

Samples: the two k-dimensional feature spaces are subspaces of the (n − 1)-dimensional
space of centred samples and share at least k_A + k_B − n + 1 directions, which the
least-squares map reproduces exactly whatever the data (with k ≥ n − 1, as for
recordings with fewer samples than components, every residual is 0). ``prepare``
therefore refuses a recording unless n > 2k (k = min(n_components, rank)). Wide
recordings are otherwise fine (PCA of n samples of many units is well defined).
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import centre
from simbench.metrics.base import Metric, Param, State


class TrajLSQ(Metric):
    """Symmetrised least-squares residual between top-k PC trajectories."""

    id = "traj-lsq"
    kind = "geometry"
    description = "Residual of the least-squares map between top-k PC trajectories, symmetrised (Tolmachev & Engel 2025)."
    triangle_inequality = False
    invariances = ("translation", "rotation", "permutation", "scale")
    version = 2  # n > 2k is checked: cached states of thinner data are refused
    parameters = {
        "n_components": Param(10, low=1, doc="number of principal components kept"),
    }

    def _prepare(self, X: np.ndarray) -> dict:
        Xc = centre(X)
        n, d = Xc.shape
        U, s, _ = np.linalg.svd(Xc, full_matrices=False)
        if s[0] == 0.0:
            raise ValueError(f"{self.id}: recording has zero variance (every unit is constant)")
        rank = int(np.count_nonzero(s > s[0] * max(n, d) * np.finfo(float).eps))
        k = min(self._params["n_components"], rank)
        U = np.ascontiguousarray(U[:, :k])
        return {"U": U, "F": U * s[:k][None, :]}

    def _check_prepared(self, out, n_samples: int, label: str) -> None:
        self._require_samples(n_samples, out["U"].shape[1], label, "principal components",
                              "two k-dimensional feature spaces share at least 2k - n + 1 "
                              "directions of the centred samples, predicted exactly whatever "
                              "the data", ratio=2)

    @staticmethod
    def _residual(Ua: np.ndarray, Fb: np.ndarray) -> float:
        R = Fb - Ua @ (Ua.T @ Fb)
        return float(np.linalg.norm(R) / np.linalg.norm(Fb))

    def _distance(self, a: State, b: State) -> float:
        return 0.5 * (self._residual(a["U"], b["F"]) + self._residual(b["U"], a["F"]))
