"""Procrustes shape distance: the shape metric with α = 1 (no whitening).

With centred recordings X, Y (columns = units, unequal widths zero-padded)::

    angular:    d = arccos( ‖XᵀY‖_* / (‖X‖_F ‖Y‖_F) )              ∈ [0, π]
    euclidean:  d = sqrt( ‖X‖_F² + ‖Y‖_F² − 2 ‖XᵀY‖_* ) = min_{Q orthogonal} ‖X − YQ‖_F

Invariant to translation, rotations/reflections and permutations of units (and, for
the angular score, isotropic scaling); *not* invariant to general linear maps.
Triangle inequality holds (Williams et al., NeurIPS 2021). Same machinery and
vectorised ``pairwise`` as :class:`simbench.metrics.shape.Shape`.

Wide recordings (more units than samples) are fine: the distance is a function of the
sample Gram matrices XXᵀ, YYᵀ (the Bures distance between them), and ``prepare``
reduces such a recording exactly to its principal coordinates [samples, samples].
netrep: this is netrep's ``LinearMetric(alpha=1)`` exactly, for both scores and any
widths (no whitening, so neither netrep's floor nor its variance rescaling applies and
zero-padding is invisible); hence no ``convention`` parameter here.
"""

from __future__ import annotations

from simbench.metrics.shape import Shape


class Procrustes(Shape):
    """Shape metric with alpha fixed to 1 (rotations only)."""

    id = "procrustes"
    description = "Procrustes shape distance: centring + optimal rotation, no whitening (Williams et al. 2021)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {"score": Shape.parameters["score"]}

    @property
    def _alpha(self) -> float:
        return 1.0
