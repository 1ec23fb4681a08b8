"""Projection-weighted CCA (Morcos, Raghu & Bengio, NeurIPS 2018).

``prepare`` centres X ``[samples, units]`` and whitens it (as in
:mod:`simbench.metrics.cca`, with eigenvalue floor ``reg``) into Q with ``QᵀQ = I``; it
also stores ``P = QᵀX`` so that the per-pair step never touches the samples twice.
Per pair, ``QₓᵀQᵧ = U diag(ρ) Vᵀ`` gives the canonical correlations ρᵢ and the
canonical variates ``hᵢ = Qₓ uᵢ`` (unit-norm vectors over samples), i ≤ k = min(rank X,
rank Y). Morcos et al. weight each canonical pair by how much of the units' activity
it accounts for::

    wᵢ ∝ Σⱼ |⟨hᵢ / ‖hᵢ‖, xⱼ⟩|        (xⱼ: centred activity of unit j of X)
    ρ_PW(X→Y) = Σᵢ wᵢ ρᵢ / Σᵢ wᵢ

The original is asymmetric (weights from the first network); simbench symmetrises::

    d = 1 − ( ρ_PW(X→Y) + ρ_PW(Y→X) ) / 2        ∈ [0, 1]

Invariances: translation, permutation of units, isotropic (and per-network) scaling.
*Not* invariant to rotations or general linear maps of the units (the weights sum
absolute projections onto individual units), although the ρᵢ are. Triangle inequality:
does **not** hold. Needs more than twice as many samples as units (n > 2d), for the
reason given in :mod:`simbench.metrics.cca` (otherwise some canonical correlations are 1
whatever the data).
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import centre, partial_whiten
from simbench.metrics.base import Metric, Param, State
from simbench.metrics.shape import SUBSPACE_WHY


class PWCCA(Metric):
    """Projection-weighted mean canonical correlation, symmetrised."""

    id = "pwcca"
    kind = "geometry"
    description = "Projection-weighted CCA: 1 - weighted mean canonical correlation, symmetrised (Morcos et al. 2018)."
    triangle_inequality = False
    invariances = ("translation", "permutation", "scale")
    version = 2  # n > 2 × units (was n > units): cached states of thinner data are refused
    parameters = {
        "reg": Param(1e-6, low=0.0, high=1.0, low_open=True, high_open=True,
                     doc="relative eigenvalue floor for near-singular covariances"),
    }

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        self._require_samples(X.shape[0], X.shape[1], label, "units", SUBSPACE_WHY, ratio=2)

    def _prepare(self, X: np.ndarray) -> dict:
        Xc = centre(X)
        Xw, info = partial_whiten(Xc, 0.0, self._params["reg"], metric_id=self.id)
        Q = Xw / info["rho_scale"]
        return {"Q": Q, "P": Q.T @ Xc, "g": np.einsum("ij,ij->j", Q, Q), "rank": info["rank"]}

    @staticmethod
    def _weighted(Uk: np.ndarray, P: np.ndarray, g: np.ndarray, rho: np.ndarray) -> float:
        norms = np.sqrt(np.maximum((Uk ** 2 * g[:, None]).sum(axis=0), 1e-300))
        w = np.abs(Uk.T @ P).sum(axis=1) / norms
        total = w.sum()
        if total <= 0.0:  # pragma: no cover - needs an all-zero network, refused earlier
            return float(rho.mean())
        return float((w * rho).sum() / total)

    def _distance(self, a: State, b: State) -> float:
        U, s, Vt = np.linalg.svd(a["Q"].T @ b["Q"])
        k = max(1, min(a["rank"], b["rank"]))
        rho = np.clip(s[:k], 0.0, 1.0)
        r_ab = self._weighted(U[:, :k], a["P"], a["g"], rho)
        r_ba = self._weighted(Vt[:k].T, b["P"], b["g"], rho)
        return 1.0 - 0.5 * (r_ab + r_ba)
