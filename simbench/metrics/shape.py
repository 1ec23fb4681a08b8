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

Samples and units: with α = 0 two networks of d and d' units share at least
d + d' − n + 1 directions of the (n − 1)-dimensional space of centred samples, each a
canonical correlation of exactly 1 whatever the data, so α = 0 needs more than twice as
many samples as units (n > 2d, as :mod:`simbench.metrics.cca`). For α > 0 the distance
is a function of the two (transformed) sample Gram matrices ``X̃X̃ᵀ``, ``ỸỸᵀ`` and is
well defined for any n; recordings with more units than samples are reduced exactly to
their n principal coordinates in ``prepare`` (cost O(n²d) instead of O(d³) per pair).
Independent random recordings with d ≫ n are nearly congruent (their Gram matrices
approach multiples of the centring matrix), so all distances shrink there: a property
of such data, not rounding; as α → 0 they approach the degenerate α = 0 case.

``convention``: ``simbench`` (default) or ``netrep``. The default deviates from
netrep's ``LinearMetric`` (``netrep.utils.whiten``) in three places, on purpose:

1. 0 < α < 1: covariance eigenvalues are divided by their mean before mixing with the
   identity, so the distance is invariant to the overall scale of X; netrep mixes the
   eigenvalues of the raw ``XᵀX`` (not even divided by n), so its distance changes when
   a recording is multiplied by a constant or recorded for longer.
2. Floor: eigenvalues below ``1e-6 · mean`` are raised to it; netrep floors the raw
   eigenvalues at the absolute ``1e-7``, which depends on the units of the data.
3. Variance and padding: the default scales X̃ to ‖X̃‖_F = ‖X‖_F exactly and pads after
   whitening, so ``prepare`` is independent of the other network. netrep pads the
   narrower network with zero units *before* whitening and rescales with the sum over
   all D (padded) directions, counting each floored direction as carrying 1e-7; its
   ‖X̃‖ therefore depends on the partner's width. This changes the euclidean score for
   α < 1 whenever the widths differ or eigenvalues are floored; the angular score is
   unaffected (the scale cancels).

Where these do not bite, the two conventions agree: α = 1 (no whitening) for both
scores and every width; α = 0 with the angular score when no eigenvalue is floored;
equal widths, no floored eigenvalue and α ∈ {0, 1} for the euclidean score.
``convention=netrep`` reproduces netrep's ``LinearMetric(alpha, center_columns=True,
zero_pad=True, score_method=score)`` (to rounding, see
:func:`simbench.metrics._linear.netrep_whiten`): raw ``XᵀX`` mixing, its 1e-7 floor, its
variance rescaling with zero-padding before whitening (done per pair as one scalar, so
``prepare`` stays per network). Under it, 0 < α < 1 is not scale invariant and, for the
euclidean score with unequal widths, the triangle inequality is not guaranteed (a
network's scale depends on its partner's width). The n > 2d requirement of α = 0 holds
under both conventions (netrep returns the degenerate values).
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import (
    EIG_FLOOR,
    CrossProductMetric,
    angular_from_nuclear,
    centre,
    euclidean_from_nuclear,
    netrep_scale,
    netrep_whiten,
    partial_whiten,
)
from simbench.metrics.base import Param

#: Why α = 0 (and CCA) needs n > 2 × units; shared with cca and pwcca.
SUBSPACE_WHY = ("two networks of d and d' units share at least d + d' - n + 1 directions of "
                "the n - 1 dimensional space of centred samples, each a canonical "
                "correlation of 1 whatever the data")

CONVENTION = Param("simbench", choices=("simbench", "netrep"), named=False,
                   doc="simbench (scale-invariant mixing, exact norm) or netrep's LinearMetric")


class Shape(CrossProductMetric):
    """Generalized shape metric with partial whitening α (netrep's LinearMetric)."""

    id = "shape"
    kind = "geometry"
    description = "Generalized shape metric: partial whitening (alpha) + optimal rotation (Williams et al. 2021)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    version = 2
    parameters = {
        "alpha": Param(1.0, low=0.0, high=1.0,
                       doc="whitening: 0 = CCA (full whitening), 1 = Procrustes (none)"),
        "score": Param("angular", choices=("angular", "euclidean"),
                       doc="angular distance in [0, pi] or euclidean Procrustes distance"),
        "convention": CONVENTION,
    }

    @property
    def _alpha(self) -> float:
        return self._params["alpha"]

    @property
    def _netrep(self) -> bool:
        return self._params.get("convention") == "netrep"

    def _configure(self) -> None:
        euclidean = self._params["score"] == "euclidean"
        raw_mixing = self._netrep and 0.0 < self._alpha < 1.0
        if euclidean or raw_mixing:
            self.invariances = tuple(i for i in type(self).invariances if i != "scale")
        self.triangle_inequality = not (self._netrep and euclidean)
        if self._netrep:
            self.info_keys = CrossProductMetric.info_keys + (
                "width", "sum_lam", "sum_g", "pad_lam", "pad_g")

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        if self._alpha == 0.0:
            self._require_samples(X.shape[0], X.shape[1], label, "units", SUBSPACE_WHY, ratio=2)

    def _transform(self, X: np.ndarray):
        if self._netrep:
            return netrep_whiten(centre(X), self._alpha, metric_id=self.id)
        return partial_whiten(centre(X), self._alpha, EIG_FLOOR, metric_id=self.id)

    def _from_singular(self, s, a, b):
        nuc, sq_a, sq_b = s.sum(axis=-1), a["sq_norm"], b["sq_norm"]
        if self._netrep:  # netrep's rescaling for the pair's padded width
            width = np.maximum(a["width"], b["width"])
            ca, cb = netrep_scale(a, width), netrep_scale(b, width)
            nuc, sq_a, sq_b = nuc * np.sqrt(ca * cb), sq_a * ca, sq_b * cb
        if self._params["score"] == "angular":
            return angular_from_nuclear(nuc, sq_a, sq_b)
        return euclidean_from_nuclear(nuc, sq_a, sq_b)
