"""Trajectory endpoints compared by orthogonal Procrustes (after Tolmachev & Engel, Nature
Machine Intelligence 7:1742, 2025).

A recording X ``[samples, units]`` holds ``n_conditions`` trajectories of equal length,
condition-major (rows ``[condition, time]``, as simbench's probes record them;
``simbench run`` sets ``n_conditions`` from the suite's probe). ``prepare`` keeps the
state at the last time step of every condition, centres these C endpoints and projects
them on their top ``n_components`` principal axes::

    E = [x_1(T), …, x_C(T)]ᵀ  [C, units],   E − 1 ēᵀ = U S Vᵀ,   F = U_k S_k  [C, k]

k = min(n_components, rank). The configurations of two networks (their endpoints for
the same conditions, rows matched) are compared after the optimal orthogonal
alignment, which has the closed form of a nuclear norm (unequal k: zero-padding)::

    angular:    d = arccos( ‖F_Aᵀ F_B‖_* / (‖F_A‖_F ‖F_B‖_F) )          ∈ [0, π/2]
    euclidean:  d = sqrt( ‖F_A‖² + ‖F_B‖² − 2 ‖F_Aᵀ F_B‖_* ) = min_Q ‖F_A Q − F_B‖_F

Both are symmetric in A and B (aligning B onto A gives the same value), unlike the
one-sided residual of :func:`scipy.linalg.orthogonal_procrustes`. A nuclear norm is
non-negative, so the angle lies in [0, π/2].

Invariances: translation, rotation/reflection and permutation of the units (the
principal axes move with them), and isotropic scaling for the angular score.
Triangle inequality: **holds** for both scores (a per-network transform followed by
the Procrustes distance, a metric on configurations modulo rotations; Williams et al.
2021); a pseudometric, 0 for configurations that differ by the invariances. Computed
like :mod:`simbench.metrics.procrustes` (vectorised ``pairwise``). Deviation: the paper
plots and clusters the endpoint configurations; simbench scores them as one
Procrustes distance per pair.
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import CrossProductMetric, angular_from_nuclear, centre, euclidean_from_nuclear
from simbench.metrics.base import Param


def endpoint_states(X: np.ndarray, n_conditions: int) -> np.ndarray:
    """The last state of each of ``n_conditions`` condition-major trajectories ``[C, units]``."""
    n, d = X.shape
    return X.reshape(n_conditions, n // n_conditions, d)[:, -1, :]


class Endpoints(CrossProductMetric):
    """Procrustes distance between the top-k PC configurations of trajectory endpoints."""

    id = "endpoints"
    kind = "geometry"
    description = "Trajectory endpoints: Procrustes distance of the last states' top-k PC configurations (Tolmachev & Engel 2025)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {
        "n_conditions": Param(None, type=int, low=2, allow_none=True,
                              doc="trajectories in the recording (samples = conditions x time)"),
        "n_components": Param(10, low=1, doc="principal components of the endpoints kept"),
        "score": Param("angular", choices=("angular", "euclidean"),
                       doc="angular distance in [0, pi/2] or euclidean Procrustes distance"),
    }

    def _configure(self) -> None:
        if self._params["score"] == "euclidean":  # in the units of the states: not scale-free
            self.invariances = ("translation", "rotation", "permutation")

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        C = self._params["n_conditions"]
        if C is None:
            raise ValueError(f"{self.id}: n_conditions is not set; the endpoints of {label} are the "
                             "last rows of its trajectories, so give their number "
                             "(endpoints:n_conditions=C; simbench run sets it from the suite's probe)")
        if X.shape[0] % C != 0:
            raise ValueError(f"{self.id}: {label} has {X.shape[0]} samples, not divisible by "
                             f"n_conditions={C} (samples must be conditions x time)")
        E = endpoint_states(X, C)
        if not np.any(E != E[0]):
            raise ValueError(f"{self.id}: {label} has zero variance across its {C} endpoints (every "
                             "condition ends in the same state)")

    def _transform(self, X: np.ndarray):
        Ec = centre(endpoint_states(X, self._params["n_conditions"]))
        U, s, _ = np.linalg.svd(Ec, full_matrices=False)
        rank = int(np.count_nonzero(s > s[0] * max(Ec.shape) * np.finfo(float).eps))
        k = min(self._params["n_components"], rank)
        F = np.ascontiguousarray(U[:, :k] * s[:k])
        return F, {"rank": k, "rho_scale": float("nan"), "sq_norm": float(np.einsum("ij,ij->", F, F))}

    def _from_singular(self, s, a, b):
        nuc = s.sum(axis=-1)
        if self._params["score"] == "angular":
            return angular_from_nuclear(nuc, a["sq_norm"], b["sq_norm"])
        return euclidean_from_nuclear(nuc, a["sq_norm"], b["sq_norm"])
