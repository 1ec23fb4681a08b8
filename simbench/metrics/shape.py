"""Generalized shape metrics (Williams, Kunz, Kornblith & Linderman, NeurIPS 2021).

Each network's recording X ``[samples, units]`` is centred (column means removed) and
partially whitened with parameter α ∈ [0, 1] (see
:func:`simbench.metrics._linear.partial_whiten`)::

    C = XᵀX/n = V diag(λ) Vᵀ,   λ̂ = λ / mean(λ)
    X̃ = c · X V diag(α + (1−α) λ̂^{-1/2}),   c chosen so that ‖X̃‖_F = ‖X‖_F

α = 1 gives Procrustes (rotations only), α = 0 gives CCA (any invertible linear map).
Two networks are compared after the optimal orthogonal alignment of X̃ and Ỹ, which
has the closed form of the nuclear norm of their cross product::

    angular:    d = arccos( ‖X̃ᵀỸ‖_* / (‖X̃‖_F ‖Ỹ‖_F) )                ∈ [0, π]
    euclidean:  d = sqrt( ‖X̃‖_F² + ‖Ỹ‖_F² − 2 ‖X̃ᵀỸ‖_* )  = min_Q ‖X̃ − ỸQ‖_F

Unequal widths behave as zero-padding the narrower network (the nuclear norm of the
rectangular ``X̃ᵀỸ`` is the padded one).

Invariances: translation, rotation/reflection and permutation of units (all α); the
angular score is invariant to isotropic scaling; α = 0 adds every invertible linear
map. The euclidean score scales with the data (its units are those of X).
Triangle inequality: **holds** for both scores (the transform is per network and the
alignment group is orthogonal; Williams et al. 2021, Prop. 1 and 2). It is a
pseudometric: networks related by the invariances are at distance 0.

Deviations from netrep: the covariance eigenvalues are normalised by their mean before
mixing with the identity (so 0 < α < 1 is scale-invariant; netrep mixes raw ``XᵀX``);
eigenvalues below ``1e-6 · mean`` are floored (netrep: absolute 1e-7); zero-padding
happens after whitening instead of before (same distances for α = 1, and for α < 1 it
keeps ``prepare`` independent of the other network). With α = 0 the distance needs
more samples than units.
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import (
    EIG_FLOOR,
    CrossProductMetric,
    angular_from_nuclear,
    centre,
    euclidean_from_nuclear,
    partial_whiten,
)
from simbench.metrics.base import Param


class Shape(CrossProductMetric):
    """Generalized shape metric with partial whitening α (netrep's LinearMetric)."""

    id = "shape"
    kind = "geometry"
    description = "Generalized shape metric: partial whitening (alpha) + optimal rotation (Williams et al. 2021)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {
        "alpha": Param(1.0, low=0.0, high=1.0,
                       doc="whitening: 0 = CCA (full whitening), 1 = Procrustes (none)"),
        "score": Param("angular", choices=("angular", "euclidean"),
                       doc="angular distance in [0, pi] or euclidean Procrustes distance"),
    }

    @property
    def _alpha(self) -> float:
        return self._params["alpha"]

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        if self._alpha == 0.0:
            self._require_more_samples_than_units(
                X, label, "full whitening (alpha=0) makes any n <= units networks identical")

    def _transform(self, X: np.ndarray):
        return partial_whiten(centre(X), self._alpha, EIG_FLOOR, metric_id=self.id)

    def _from_singular(self, s, a, b):
        nuc = s.sum(axis=-1)
        if self._params["score"] == "angular":
            return angular_from_nuclear(nuc, a["sq_norm"], b["sq_norm"])
        return euclidean_from_nuclear(nuc, a["sq_norm"], b["sq_norm"])
