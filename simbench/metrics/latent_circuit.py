"""``latent-circuit``: distance between two networks' distilled latent circuits.

Each network is distilled into an ``n``-unit latent circuit (Langdon & Engel, Nat.
Neurosci. 2025; :mod:`simbench.dynamics.latent_circuit`): a ReLU RNN whose orthonormal
embedding reproduces the network's states and whose readout solves its task. Tolmachev &
Engel (Nat. Mach. Intell. 7:1742, 2025) compare these circuits across architectures.
Latent units are only defined up to relabelling, so units are matched first: with C the
correlation matrix of the two circuits' latent activities on the same probe trials,

    π = argmax_π Σ_k |C_{k, π(k)}|   (``scipy.optimize.linear_sum_assignment``),
    s_k = sign C_{k, π(k)},   W'_b[k, l] = s_k s_l W_b[π(k), π(l)],
    d(a → b) = sqrt( mean_{k, l} (W_a[k, l] − W'_b[k, l])² ),

the RMS difference of the recurrent weights (``W_rec``, the circuit's mechanism; W_rec
is unchanged when the states are rescaled, by the ReLU's homogeneity). The sign makes
the distance blind to flipping a unit, the symmetry of odd activations; for ReLU
circuits anti-correlated matches are rare. The distance is ½ (d(a → b) + d(b → a)):
symmetric, ≥ 0, 0 for identical circuits; the matching depends on the pair, so the
triangle inequality is not guaranteed. Fits are cached per network by the bench's
prepared-state cache; each state also records the fit (``states_r2``, ``outputs_r2``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from simbench.dynamics.latent_circuit import LatentCircuit, LatentCircuitOptions, fit_latent_circuits
from simbench.metrics.base import Param, State
from simbench.metrics.model_base import ModelMetric


def unit_matching(activity_a: np.ndarray, activity_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(π, s)`` matching the latent units of b to those of a (see the module docstring).

    ``activity_*``: ``[samples, n]`` on the same trials. A silent unit correlates 0 with all.
    """
    a = activity_a - activity_a.mean(0)
    b = activity_b - activity_b.mean(0)
    norms = np.outer(np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0))
    corr = np.divide(a.T @ b, norms, out=np.zeros((a.shape[1], b.shape[1])), where=norms > 0)
    rows, cols = linear_sum_assignment(-np.abs(corr))
    return cols[np.argsort(rows)], np.where(corr[rows, cols][np.argsort(rows)] < 0, -1.0, 1.0)


def matched_weights(w_b: np.ndarray, perm: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """``W'[k, l] = s_k s_l W_b[π(k), π(l)]``."""
    return signs[:, None] * signs[None, :] * w_b[np.ix_(perm, perm)]


def directed_distance(a: State, b: State) -> float:
    """d(a → b): RMS difference of W_rec after matching b's units to a's."""
    perm, signs = unit_matching(a["activity"], b["activity"])
    diff = a["w_rec"] - matched_weights(b["w_rec"], perm, signs)
    return float(np.sqrt(np.mean(diff * diff)))


class LatentCircuitDistance(ModelMetric):
    id = "latent-circuit"
    description = "RMS difference of fitted latent circuits' recurrent weights after matching latent units"
    triangle_inequality = False
    result_type = LatentCircuit
    #: the papers fit latent circuits to CDDM networks (n = 8: six input channels + two)
    suites = ("cddm",)
    parameters = {
        "n_latent": Param(8, low=1, doc="latent units (one per input channel, plus free units)"),
        "iterations": Param(LatentCircuitOptions.iterations, low=1, doc="Adam steps of the fit"),
        "restarts": Param(LatentCircuitOptions.restarts, low=1, doc="fits per network; the best is kept"),
        "seed": Param(0, low=0, doc="seed of the initial circuits"),
    }

    @property
    def options(self) -> LatentCircuitOptions:
        return LatentCircuitOptions(n_latent=self.n_latent, iterations=self.iterations,
                                    restarts=self.restarts, seed=self.seed)

    def _analyse(self, networks):
        return fit_latent_circuits(networks, self.options)

    def _signature(self, result: LatentCircuit):
        activity = result.activity.reshape(-1, result.activity.shape[-1])
        arrays = {"w_rec": result.w_rec, "w_in": result.w_in, "w_out": result.w_out, "activity": activity}
        info = {"network": result.network, "seconds": result.seconds, "states_r2": result.states_r2,
                "outputs_r2": result.outputs_r2, "loss": result.loss}
        return arrays, info, activity.shape[0]

    def _check_pair(self, a: State, b: State, la: str, lb: str) -> None:
        super()._check_pair(a, b, la, lb)
        if a["w_rec"].shape != b["w_rec"].shape:
            raise ValueError(f"{la} has a {len(a['w_rec'])}-unit latent circuit, {lb} a {len(b['w_rec'])}-unit one")

    def _distance(self, a: State, b: State) -> float:
        return 0.5 * (directed_distance(a, b) + directed_distance(b, a))
