"""``ood``: distance between two CDDM networks' out-of-distribution psychometric maps.

Each network is run on context × relevant × irrelevant coherences extended to ±4 (31
levels; training range ±1) with noisy repeats, giving P_k(c_r, c_i), the fraction of
choices R (:mod:`simbench.dynamics.ood`; Tolmachev & Engel, Nat. Mach. Intell. 7:1742,
2025). The distance is the RMS difference over the map's cells,

    d(a, b) = sqrt( (1 / 2L²) Σ_{k, i, j} (P^a_k(i, j) − P^b_k(i, j))² )  ∈ [0, 1],

a Euclidean norm scaled by a constant, so it is symmetric, 0 for identical maps and
satisfies the triangle inequality. 0 does not require identical networks, only identical
behaviour on these trials: the maps use common random numbers (every network sees the
same noisy trials), so two networks that always choose alike score exactly 0. It needs
the network (``input = "model"``) and is defined for the ``cddm`` suite only; networks of
other suites get one error naming them. Ground truth for the benchmark's ``ood_rho``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform

from simbench.dynamics.ood import BOUND, N_LEVELS, REPEATS, OODMap, ood_maps
from simbench.metrics.base import Param, State
from simbench.metrics.model_base import ModelMetric
from simbench.zoo.tasks.cddm import NOISE


class OOD(ModelMetric):
    id = "ood"
    description = "RMS difference of out-of-distribution psychometric maps of CDDM networks (coherences to ±4)"
    triangle_inequality = True
    result_type = OODMap
    #: the maps are defined for the CDDM task's inputs only
    suites = ("cddm",)
    parameters = {
        "bound": Param(BOUND, low=0.0, low_open=True, doc="largest coherence of the grid"),
        "n_levels": Param(N_LEVELS, low=2, doc="coherence levels per axis"),
        "repeats": Param(REPEATS, low=1, doc="noisy repeats per condition"),
        "noise": Param(NOISE, low=0.0, doc="std of the white noise on the stimulus channels"),
        "seed": Param(0, low=0, doc="seed of the noise (shared by all networks)"),
    }

    def _analyse(self, networks):
        return ood_maps(networks, **self.params)

    def _signature(self, result: OODMap):
        info = {"network": result.network, "seconds": result.seconds,
                "accuracy_inside": result.accuracy("inside"), "accuracy_outside": result.accuracy("outside")}
        return {"choice": result.choice, "levels": result.levels}, info, result.choice.size

    def _distance(self, a: State, b: State) -> float:
        diff = a["choice"] - b["choice"]
        return float(np.sqrt(np.mean(diff * diff)))

    def _pairwise_states(self, states):
        maps = np.stack([s["choice"].ravel() for s in states])
        return squareform(pdist(maps, "euclidean")) / np.sqrt(maps.shape[1])

    def _cross_states(self, states_a, states_b):
        maps_a, maps_b = (np.stack([s["choice"].ravel() for s in states]) for states in (states_a, states_b))
        return cdist(maps_a, maps_b, "euclidean") / np.sqrt(maps_a.shape[1])
