"""Optimal transport between the two networks' units (2-Wasserstein).

Each unit is represented by its *tuning* over the matched samples: its centred
response vector scaled to unit norm, a point on the unit sphere of R^samples (a
constant unit, e.g. a dead ReLU, has no direction and sits at the origin). A network
is the uniform distribution over its units. ``prepare`` computes these vectors once;
the pair step is one matrix product for the squared-Euclidean cost
``Cᵢⱼ = ‖uᵢ − vⱼ‖² = ‖uᵢ‖² + ‖vⱼ‖² − 2 uᵢ·vⱼ`` and one exact transport problem (POT
``ot.emd2``, network simplex) with uniform weights 1/dₓ and 1/dᵧ::

    d = W₂ = sqrt( min_{T ∈ Π(1/dₓ, 1/dᵧ)} Σᵢⱼ Tᵢⱼ Cᵢⱼ )        ∈ [0, 2]

Why this design: it keeps all per-network work in ``prepare`` and makes the networks'
*units* the objects compared, so it sees single-unit selectivity (Tolmachev & Engel
2025). Consequently it is invariant to permutations of units (the distribution is
unchanged), to per-unit (hence isotropic) scaling, sign-preserving, and to translation
(centring), but **not** to rotations of the unit space: mixing units changes every
tuning vector. It also distinguishes a unit from its sign flip. Unequal numbers of
units are handled by the uniform weights. Triangle inequality: holds (W₂ is a metric
on distributions; the map network → distribution of tuning vectors is per network, so
this is a pseudometric). Paper: Villani, *Optimal transport* (2009); POT: Flamary et
al., JMLR 2021.

Samples and units: any numbers (units are points on the sphere of R^samples; with few
samples and many units, two networks whose units are spread alike are close, as they
should be). Size: the exact problem between dₓ and dᵧ units holds the dₓ×dᵧ cost
matrix, the transport plan and the network simplex's arcs, about 40 bytes per pair of
units (measured with POT 0.9.7: 0.36 GB at 3000 × 3000, 1.3 GB at ≈ 5700 units), and at
3000 × 3000 the solver stopped at its default 100,000 iterations. ``prepare`` refuses
recordings with more than :data:`MAX_UNITS` = 2048 units (a pair then needs at most
≈ 170 MB), naming the size; compare a subset of units or a Gram-matrix metric (cka,
procrustes) instead.
"""

from __future__ import annotations

import numpy as np
import ot

from simbench.metrics._linear import centre
from simbench.metrics.base import Metric, State

#: Largest number of units ``prepare`` accepts (memory and time of the exact OT problem).
MAX_UNITS = 2048
#: Measured memory of ``ot.emd2`` per pair of units (cost, plan, network-simplex arcs).
BYTES_PER_PAIR = 40


class OTUnits(Metric):
    """2-Wasserstein distance between the networks' unit tuning vectors."""

    id = "ot-units"
    kind = "geometry"
    description = "2-Wasserstein distance between units seen as normalised response vectors (POT emd2)."
    triangle_inequality = True
    invariances = ("translation", "permutation", "scale")
    version = 2  # at most MAX_UNITS units: cached states of wider recordings are refused
    parameters: dict = {}

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        d = X.shape[1]
        if d > MAX_UNITS:
            raise ValueError(
                f"{self.id}: {label} has {d} units; the exact transport problem between two "
                f"networks of {d} units needs about {BYTES_PER_PAIR * d * d / 2**30:.1f} GiB and "
                f"O(d^3) time; {self.id} accepts at most {MAX_UNITS} units (compare a subset of "
                "units, or use a metric on Gram matrices such as cka or procrustes)")

    def _prepare(self, X: np.ndarray) -> dict:
        Xc = centre(X)
        norms = np.linalg.norm(Xc, axis=0)
        scale = float(norms.max())
        if scale == 0.0:
            raise ValueError(f"{self.id}: recording has zero variance (every unit is constant)")
        ok = norms > scale * 1e-12
        U = np.zeros_like(Xc)
        U[:, ok] = Xc[:, ok] / norms[ok]
        return {"U": np.ascontiguousarray(U.T), "sq": ok.astype(float)}

    def _distance(self, a: State, b: State) -> float:
        Ua, Ub = a["U"], b["U"]
        C = np.maximum(a["sq"][:, None] + b["sq"][None, :] - 2.0 * (Ua @ Ub.T), 0.0)
        wa = np.full(Ua.shape[0], 1.0 / Ua.shape[0])
        wb = np.full(Ub.shape[0], 1.0 / Ub.shape[0])
        cost, log = ot.emd2(wa, wb, C, log=True)
        if log.get("warning"):
            raise RuntimeError(f"{self.id}: POT emd2 did not converge: {log['warning']}")
        return float(np.sqrt(max(float(cost), 0.0)))
