"""``ph-fp``: persistent homology of the fixed-point cloud (the ``ph`` variant on dynamics).

``ph`` reads the shape of the trajectories. This variant reads the shape of the
*attractor skeleton* found by :mod:`simbench.dynamics` instead. Per constant-input
condition k of the suite, the cloud is

    C_k = fixed points ∪ limit-cycle orbits (32 phases each)

centred on its mean and divided by the network's trajectory spread, so it is
invariant to translation, rotation and isotropic scaling of the state space. A limit
cycle gives one H1 bar, 8 flip-flop attractors with their saddles a cube of H0 bars,
a line attractor a chain of closely spaced fixed points. Slow points are left out: the
finder's Adam steps are not rotation-equivariant, so where optimisation stalls depends
on the coordinates (measured: d = 0.21 between a sine network and itself in rotated,
rescaled coordinates with slow points, 4e-6 without). The Rips diagrams (ripser,
full clouds: at most a few hundred points) are compared as in ``ph``:

    d(X, Y) = (1/K) Σ_k [ h0_weight · d(H0_k) + Σ_{j=1..max_dim} d(Hj_k) ]

with bottleneck (default) or order-p Wasserstein per dimension (gudhi). It is a
pseudometric (a sum of diagram metrics; triangle inequality holds). It needs the
network (``input = "network"``).
"""

from __future__ import annotations

import warnings

import numpy as np

from simbench.metrics.dynamics_base import ANALYSIS_PARAMETERS, DynamicsMetric
from simbench.metrics.base import Param, State
from simbench.metrics.ph import diagrams, diagrams_distance


def attractor_cloud(result, condition: int) -> np.ndarray:
    """Fixed points and cycle orbits of one condition, ``[n, S]``, centred and divided by
    the trajectory spread (empty ``[0, S]`` if the finder found none)."""
    parts = [result.fp_x[result.fp_condition == condition],
             result.cycle_orbit[result.cycle_condition == condition].reshape(-1, result.fp_x.shape[-1])]
    cloud = np.concatenate(parts).astype(np.float64)
    if len(cloud) == 0:
        return cloud
    return (cloud - cloud.mean(0)) / max(float(result.spread), np.finfo(float).tiny)


class PHFixedPoints(DynamicsMetric):
    id = "ph-fp"
    kind = "topology"
    description = ("Persistent homology of each network's fixed points and limit cycles per "
                   "constant input; bottleneck/Wasserstein between diagrams.")
    triangle_inequality = True
    parameters = {
        **ANALYSIS_PARAMETERS,
        "max_dim": Param(1, low=0, high=1, doc="highest homology dimension"),
        "distance": Param("bottleneck", choices=("bottleneck", "wasserstein"),
                          doc="diagram distance per homology dimension"),
        "order": Param(2.0, low=1.0, doc="order p of the Wasserstein distance"),
        "h0_weight": Param(1.0, low=0.0, doc="weight of the H0 term (H1 has weight 1)"),
    }

    def _signature(self, result):
        out = {}
        for k in range(result.n_conditions):
            cloud = attractor_cloud(result, k)
            with warnings.catch_warnings():  # fewer fixed points than state dimensions is normal
                warnings.filterwarnings("ignore", message="The input point cloud has more columns than rows")
                dgms = diagrams(cloud, self.max_dim, None)[0] if len(cloud) > 1 else []
            for j in range(self.max_dim + 1):
                out[f"c{k}_h{j}"] = dgms[j] if j < len(dgms) else np.zeros((0, 2))
        return out

    def _distance(self, a: State, b: State) -> float:
        dimensions = range(self.max_dim + 1)
        return sum(diagrams_distance([a[f"c{k}_h{j}"] for j in dimensions], [b[f"c{k}_h{j}"] for j in dimensions],
                                     self.distance, self.order, self.h0_weight)
                   for k in range(a.n_samples)) / a.n_samples


__all__ = ["PHFixedPoints", "attractor_cloud"]
