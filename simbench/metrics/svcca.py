"""SVCCA: singular vector canonical correlation analysis (Raghu, Gilmer, Yosinski &
Sohl-Dickstein, NeurIPS 2017).

``prepare``: centre X, take its SVD ``X = U S Vᵀ`` and keep the smallest number k of
leading directions whose variance ``Σ_{i≤k} sᵢ² / Σ sᵢ²`` reaches ``keep_variance``
(directions with numerically zero singular value, ``sᵢ ≤ s₁ · max(n, d) · eps``, are
never kept). The reduced, whitened representation is the orthonormal basis
``U_k`` [samples, k]. Per pair, the canonical correlations of the two reduced
representations are the singular values ρᵢ of ``U_kᵀ U'_k'`` (cosines of the principal
angles between the two subspaces). Scores:

    one_minus_mean (default): d = 1 − (1/m) Σ_{i≤m} ρᵢ, m = min(k, k')  ∈ [0, 1]
                              (1 − the "SVCCA similarity" of Raghu et al.; used by
                              Maheswaranathan et al. 2019);
    angular:                  d = arccos( Σᵢ ρᵢ / sqrt(k k') )  ∈ [0, π/2]
                              (the CCA shape metric on the reduced representations).

Invariances: translation, rotation, permutation and isotropic scaling of the units;
with ``keep_variance=1`` (all nonzero directions kept) every invertible linear map,
like CCA. With ``keep_variance < 1`` it is not invariant to general linear maps (they
change which directions carry 99% of the variance). Triangle inequality: **not** for
``one_minus_mean``; holds for ``angular`` (a per-network map followed by the CCA
angular metric). Deviation from Raghu et al.: their reference implementation truncates
with a fixed number of directions or the variance threshold on the uncentred data and
adds an epsilon to the covariance; simbench centres and uses the exact orthonormal
basis.

Samples: the reduced representations are k- and k'-dimensional subspaces of the
(n − 1)-dimensional space of centred samples, so they share at least k + k' − n + 1
directions, each a canonical correlation of exactly 1 whatever the data (random
recordings with fewer samples than units keep k ≈ n − 1 directions and would be at
distance 0). ``prepare`` therefore refuses a recording unless n > 2k (k: its kept
directions), which rules this out for every pair. Wide recordings with few dominant
directions (k ≪ n) are fine: that is what the SVD step is for.
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import (
    CrossProductMetric,
    angular_from_nuclear,
    centre,
    topk_sum,
)
from simbench.metrics.base import Param

SVCCA_WHY = ("two subspaces of k and k' kept directions share at least k + k' - n + 1 "
             "directions of the n - 1 dimensional space of centred samples, each a canonical "
             "correlation of 1 whatever the data")


def reduce_by_variance(X: np.ndarray, keep_variance: float, metric_id: str = "svcca"
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis ``U_k`` of the leading directions of centred X and their sᵢ."""
    n, d = X.shape
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    if s[0] == 0.0:
        raise ValueError(f"{metric_id}: recording has zero variance (every unit is constant)")
    nonzero = int(np.count_nonzero(s > s[0] * max(n, d) * np.finfo(float).eps))
    var = s[:nonzero] ** 2
    frac = np.cumsum(var) / var.sum()
    if keep_variance >= 1.0:
        k = nonzero
    else:
        k = int(np.searchsorted(frac, keep_variance - 1e-12) + 1)
        k = min(max(k, 1), nonzero)
    return np.ascontiguousarray(U[:, :k]), s[:k]


class SVCCA(CrossProductMetric):
    """SVD reduction to `keep_variance` of the variance, then CCA."""

    id = "svcca"
    kind = "geometry"
    description = "SVCCA: SVD keeping a fraction of variance, then 1 - mean canonical correlation (Raghu et al. 2017)."
    triangle_inequality = False
    invariances = ("translation", "rotation", "permutation", "scale")
    version = 2  # n > 2k is checked: cached states of thinner data are refused
    parameters = {
        "keep_variance": Param(0.99, low=0.0, high=1.0, low_open=True,
                               doc="fraction of variance the SVD step keeps"),
        "score": Param("one_minus_mean", choices=("one_minus_mean", "angular"),
                       doc="1 - mean rho or arccos(sum rho / sqrt(k k'))"),
    }

    def _configure(self) -> None:
        self.triangle_inequality = self._params["score"] == "angular"

    def _check_prepared(self, out, n_samples: int, label: str) -> None:
        self._require_samples(n_samples, out["rank"], label, "kept directions", SVCCA_WHY, ratio=2)

    def _transform(self, X: np.ndarray):
        U, _ = reduce_by_variance(centre(X), self._params["keep_variance"], self.id)
        k = U.shape[1]
        return U, {"rank": k, "rho_scale": 1.0, "sq_norm": float(k)}

    def _from_singular(self, s, a, b):
        if self._params["score"] == "angular":
            return angular_from_nuclear(s.sum(axis=-1), a["sq_norm"], b["sq_norm"])
        k = np.minimum(a["rank"], b["rank"]).astype(int)
        rho = np.clip(s, 0.0, 1.0)
        return 1.0 - topk_sum(rho, k) / np.maximum(k, 1)
