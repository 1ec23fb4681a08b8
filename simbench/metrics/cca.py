"""Canonical correlation analysis distance (the shape metric with α = 0).

Each recording is centred and fully whitened once (``prepare``): with
``C = XᵀX/n = V diag(λ) Vᵀ``, ``Q = X V diag(λ^{-1/2})`` has ``QᵀQ/n = I``. The
canonical correlations of X and Y are the singular values ρ₁ ≥ ρ₂ ≥ … of
``QₓᵀQᵧ/n`` (Hotelling 1936). Scores:

    angular (default):  d = arccos( Σᵢ ρᵢ / sqrt(dₓ dᵧ) )   ∈ [0, π/2]
                         — netrep's LinearMetric with α = 0 (for dₓ = dᵧ = d it is
                         arccos of the mean canonical correlation; for rank-deficient
                         data dₓ, dᵧ are effectively the ranks);
    one_minus_mean:      d = 1 − (1/k) Σ_{i≤k} ρᵢ,  k = min(rank X, rank Y)  ∈ [0, 1].

Invariances: translation and every invertible linear map of the units (hence rotation,
permutation, scaling). Triangle inequality: holds for ``angular`` (Williams et al.
2021), **not** for ``one_minus_mean``.

Regularisation: covariance eigenvalues below ``reg · mean(λ)`` are raised to it, so
near-singular directions are damped instead of amplified (they count neither in the
rank nor, appreciably, in Σρ).

Samples: needs more than twice as many samples as units (n > 2d). The centred samples
span an (n − 1)-dimensional space; the column spaces of two networks of d and d' units
share at least d + d' − n + 1 of its directions, each a canonical correlation of exactly
1 whatever the data (with n ≤ d + 1 all of them: every pair is at distance 0). n > 2d
for each network rules this out for every pair of accepted networks.

netrep: the angular score is netrep's ``LinearMetric(alpha=0)`` (padding and netrep's
variance rescaling cancel in the angle); the two differ only where eigenvalues are
floored (here ``reg`` relative to the mean of ``XᵀX/n``, netrep 1e-7 absolute on the
raw ``XᵀX``). ``shape:alpha=0,convention=netrep`` reproduces netrep exactly, floor
included.
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import (
    CrossProductMetric,
    angular_from_nuclear,
    centre,
    partial_whiten,
    topk_sum,
)
from simbench.metrics.base import Param
from simbench.metrics.shape import SUBSPACE_WHY


def canonical_correlations(a: dict, b: dict, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical correlations from singular values of ``X̃ᵀỸ`` and the number to keep."""
    rho = np.clip(s / (a["rho_scale"] * b["rho_scale"])[:, None], 0.0, 1.0)
    k = np.minimum(a["rank"], b["rank"]).astype(int)
    return rho, k


class CCA(CrossProductMetric):
    """Mean canonical correlation as a distance (angular or 1 − mean ρ)."""

    id = "cca"
    kind = "geometry"
    description = "Canonical correlation analysis: angular distance of mean canonical correlation (shape metric, alpha=0)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale", "linear")
    version = 2  # n > 2 × units (was n > units): cached states of thinner data are refused
    parameters = {
        "score": Param("angular", choices=("angular", "one_minus_mean"),
                       doc="arccos(sum rho / sqrt(dx dy)) or 1 - mean rho"),
        "reg": Param(1e-6, low=0.0, high=1.0, low_open=True, high_open=True,
                     doc="relative eigenvalue floor for near-singular covariances"),
    }

    def _configure(self) -> None:
        self.triangle_inequality = self._params["score"] == "angular"

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        self._require_samples(X.shape[0], X.shape[1], label, "units", SUBSPACE_WHY, ratio=2)

    def _transform(self, X: np.ndarray):
        return partial_whiten(centre(X), 0.0, self._params["reg"], metric_id=self.id)

    def canonical_correlations(self, X, Y) -> np.ndarray:
        """The k = min(rank X, rank Y) canonical correlations, descending.

        ``X``, ``Y``: recordings or states prepared by this metric.
        """
        a = self._ensure_state(X, "X")
        b = self._ensure_state(Y, "Y")
        self._check_pair(a, b, "X", "Y")
        s = np.linalg.svd(a["Xw"].T @ b["Xw"], compute_uv=False)[None, :]
        rho, k = canonical_correlations(self._info_arrays([a], np.array([0])),
                                        self._info_arrays([b], np.array([0])), s)
        return rho[0, :int(k[0])]

    def _from_singular(self, s, a, b):
        if self._params["score"] == "angular":
            return angular_from_nuclear(s.sum(axis=-1), a["sq_norm"], b["sq_norm"])
        rho, k = canonical_correlations(a, b, s)
        return 1.0 - topk_sum(rho, k) / np.maximum(k, 1)
