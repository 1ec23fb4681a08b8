"""``fp-count``: distance between fixed-point signatures (counts by index, attractor dims, cycles).

For each constant-input condition of the suite (:mod:`simbench.dynamics.inputs`) a
network's signature is the vector

    [#stable, #index-1, #index-2, #index-≥3 fixed points, slow-manifold dimension, #limit cycles]

Fixed points lying on a detected slow manifold (condition with manifold dimension > 0
and a slow mode at the point, :func:`simbench.dynamics.attractors.slow_modes`) are not
counted: a
trained approximation of a line attractor holds an arbitrary number of isolated fixed
points along the line, and the manifold dimension already describes it.

Distance: with ``scale="log"`` (default) each entry is mapped to log2(1 + x), so 8 vs 4
attractors weighs like 1 vs 0 cycles; ``scale="linear"`` uses the raw numbers. The
distance is the L1 distance between the mapped signatures, averaged over conditions.
It is a pseudo-metric (symmetric, triangle inequality; 0 for networks with the same
counts). Needs the network (``input = "network"``).
"""

from __future__ import annotations

import numpy as np

from simbench.dynamics.attractors import slow_modes
from simbench.metrics.dynamics_base import ANALYSIS_PARAMETERS, DynamicsMetric
from simbench.metrics.base import Param

COLUMNS = ("stable", "index1", "index2", "index3plus", "manifold_dim", "cycles")


def signature(result, cap: float = 0.5, gap: float = 3.0) -> np.ndarray:
    """The ``[K, 6]`` count signature of a DynamicsResult (see module doc)."""
    K = result.n_conditions
    out = np.zeros((K, len(COLUMNS)))
    marginal = slow_modes(result.step_eigenvalues, result.alpha, cap, gap) > 0 if len(result.fp_q) \
        else np.zeros(0, bool)
    for k in range(K):
        here = result.fp_condition == k
        if result.manifold_dim[k] > 0:
            here &= ~marginal
        idx = np.minimum(result.fp_unstable[here], 3)
        out[k, :4] = np.bincount(idx, minlength=4)[:4]
        out[k, 4] = result.manifold_dim[k]
        out[k, 5] = int((result.cycle_condition == k).sum())
    return out


class FPCount(DynamicsMetric):
    id = "fp-count"
    kind = "topology"
    description = "L1 distance between counts of fixed points by index, attractor dimensions and cycles."
    triangle_inequality = True
    parameters = {
        **ANALYSIS_PARAMETERS,
        "scale": Param("log", choices=("log", "linear"), doc="log2(1+x) or raw counts"),
    }

    def _signature(self, result):
        sig = signature(result, result.options.get("slow_cap", 0.5), result.options.get("slow_gap", 3.0))
        return {"signature": np.log2(1 + sig) if self.scale == "log" else sig}

    def _distance(self, a, b) -> float:
        return float(np.abs(a["signature"] - b["signature"]).sum(1).mean())

    def _pairwise_states(self, states):
        S = np.stack([s["signature"] for s in states])            # [n, K, 6]
        return np.abs(S[:, None] - S[None]).sum(-1).mean(-1)
