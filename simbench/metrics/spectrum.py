"""``spectrum``: distance between eigenvalue spectra of the linearised dynamics at the attractors.

After Maheswaranathan et al. (NeurIPS 2019, Fig. 3e): networks that share a scaffold
share the leading eigenvalues of their linearisation around the attractors, whatever
their architecture. For every constant-input condition:

1. the *attractors* are the stable fixed points; if a condition has none, the fixed
   points with the fewest unstable dimensions stand in; if it has no fixed point at all,
   the slowest slow point (e.g. on an approximate line attractor) does;
2. at each, the eigenvalues of the **one-step map** (discrete: ∂F/∂h; continuous:
   1 + α μ for the right-hand side's eigenvalues μ, so discrete- and continuous-time
   networks are compared in the same unit, one time step) are folded into the upper half
   plane (λ̃ = |λ| e^{i|arg λ|}: a conjugate pair becomes two equal points), sorted by
   modulus, largest first, and the top ``k`` kept (zero-padded);
3. the condition's spectrum is the mean of these sorted vectors over its attractors.

Distance: mean over conditions and over the k ranks of |λ̃_a − λ̃_b|. A pseudo-metric
(an L1 norm on the signatures: symmetric, triangle inequality). Invariant to any
invertible change of state coordinates (similar Jacobians share eigenvalues). Needs
the network (``input = "network"``).
"""

from __future__ import annotations

import numpy as np

from simbench.metrics.dynamics_base import ANALYSIS_PARAMETERS, DynamicsMetric
from simbench.metrics.base import Param


def folded_sorted(eigenvalues: np.ndarray, k: int) -> np.ndarray:
    """Upper-half-plane representatives sorted by modulus (descending), top ``k``, zero-padded."""
    lam = np.abs(eigenvalues) * np.exp(1j * np.abs(np.angle(eigenvalues)))
    order = np.lexsort((-lam.imag, -np.abs(lam)), axis=-1)
    lam = np.take_along_axis(lam, order, -1)[..., :k]
    if lam.shape[-1] < k:
        lam = np.concatenate([lam, np.zeros(lam.shape[:-1] + (k - lam.shape[-1],))], -1)
    return lam


def attractor_spectra(result, k: int) -> np.ndarray:
    """``[K, k]`` complex: mean folded, sorted step-map spectrum at each condition's attractors."""
    out = np.zeros((result.n_conditions, k), complex)
    step = result.step_eigenvalues
    for c in range(result.n_conditions):
        here = np.flatnonzero(result.fp_condition == c)
        if len(here):
            fewest = result.fp_unstable[here].min()
            chosen = here[result.fp_unstable[here] == fewest]
            out[c] = folded_sorted(step[chosen], k).mean(0)
        else:
            out[c] = folded_sorted(result.slow_spectrum_re[c] + 1j * result.slow_spectrum_im[c], k)
    return out


class Spectrum(DynamicsMetric):
    id = "spectrum"
    kind = "dynamics"
    description = "Mean distance between sorted eigenvalue spectra of the one-step map at the attractors."
    triangle_inequality = True
    parameters = {
        **ANALYSIS_PARAMETERS,
        "k": Param(10, low=1, doc="leading eigenvalues compared per attractor"),
    }

    def _signature(self, result):
        spec = attractor_spectra(result, self.k)
        return {"spectrum_re": spec.real.copy(), "spectrum_im": spec.imag.copy()}

    def _distance(self, a, b) -> float:
        za = a["spectrum_re"] + 1j * a["spectrum_im"]
        zb = b["spectrum_re"] + 1j * b["spectrum_im"]
        return float(np.abs(za - zb).mean())

    def _pairwise_states(self, states):
        Z = np.stack([s["spectrum_re"] + 1j * s["spectrum_im"] for s in states])   # [n, K, k]
        return np.abs(Z[:, None] - Z[None]).mean((-1, -2))
