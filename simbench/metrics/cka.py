"""Linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton, ICML 2019).

With linear kernels ``K = XXᵀ`` and ``L = YYᵀ`` over samples::

    CKA = HSIC(K, L) / sqrt( HSIC(K, K) · HSIC(L, L) )
    d   = arccos( clip(CKA, 0, 1) )        ∈ [0, π/2]

``estimator="biased"`` (default): HSIC(K, L) = tr(KHLH)/(n−1)² with centring matrix
H; for centred X, Y this is ‖XᵀY‖_F² / ‖XᵀX‖_F ‖YᵀY‖_F (never forms n×n matrices).

``estimator="unbiased"``: the unbiased HSIC of Song et al. (JMLR 2012), with K̃, L̃ the
kernels with zeroed diagonals::

    HSIC_u = [ tr(K̃L̃) + (1ᵀK̃1)(1ᵀL̃1)/((n−1)(n−2)) − 2/(n−2) · 1ᵀK̃L̃1 ] / (n(n−3))

computed from per-network vectors (``tr(K̃L̃) = ‖XᵀY‖_F² − Σᵢ KᵢᵢLᵢᵢ``,
``K̃1 = X(Xᵀ1) − diag K``), so the pair step is one [units × units] product plus two
length-n dot products. It needs n ≥ 4 samples and can go slightly negative for
unrelated networks; it is clipped to [0, 1] before arccos (distances saturate at π/2).

Scale: ``prepare`` divides each centred recording by its largest entry and then by its
Frobenius norm (CKA is invariant to isotropic scaling), so the Gram and cross-covariance
entries are at most 1 before the fourth powers ``‖XᵀY‖_F²``: no overflow or underflow
for recordings anywhere from 1e-150 to 1e150 (the raw fourth powers overflow float64
past |x| ≈ 1e77).

Samples and units: CKA compares n×n Gram matrices, so it is defined for any number of
units, including more units than samples.

Invariances: translation, rotation/reflection, permutation and isotropic scaling of the
units; *not* invariant to general invertible linear maps. Triangle inequality: holds.
arccos of CKA is the angle between the (centred, resp. U-centred — Székely & Rizzo 2014)
Gram matrices seen as vectors, and truncating a metric at π/2 keeps it a metric.
"""

from __future__ import annotations

import numpy as np

from simbench.metrics._linear import centre
from simbench.metrics.base import Metric, Param, State


class CKA(Metric):
    """Linear CKA as an angular distance."""

    id = "cka"
    kind = "geometry"
    description = "Linear centred kernel alignment as arccos(CKA) (Kornblith et al. 2019)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    version = 2  # recordings normalised to unit Frobenius norm in prepare (scale-safe)
    parameters = {
        "estimator": Param("biased", choices=("biased", "unbiased"),
                           doc="biased HSIC or the unbiased estimator of Song et al. 2012"),
    }

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        if self._params["estimator"] == "unbiased" and X.shape[0] < 4:
            raise ValueError(f"{self.id}: {label} has {X.shape[0]} samples; the unbiased "
                             "estimator needs at least 4")

    def _prepare(self, X: np.ndarray) -> dict:
        Xc = centre(X)
        n = Xc.shape[0]
        peak = float(np.abs(Xc).max())
        if peak == 0.0:
            raise ValueError(f"{self.id}: recording has zero variance (every unit is constant)")
        Xc /= peak                   # entries in [-1, 1]: the squares below cannot underflow
        Xc /= np.linalg.norm(Xc)     # ‖Xc‖_F = 1: Gram entries ≤ 1 before the fourth powers
        G = Xc.T @ Xc
        self_sq = float(np.einsum("ij,ij->", G, G))
        out = {"Xc": Xc}
        if self._params["estimator"] == "biased":
            out["self"] = self_sq
        else:
            diag = np.einsum("ij,ij->i", Xc, Xc)
            row = Xc @ Xc.sum(axis=0) - diag          # K̃1
            tot = float(row.sum())                    # 1ᵀK̃1
            out.update(diag=diag, row=row, tot=tot)
            hs = self._hsic_u(n, self_sq, float(diag @ diag), tot, tot, float(row @ row))
            if hs <= 0.0:
                raise ValueError(f"{self.id}: unbiased HSIC of the recording with itself is "
                                 f"{hs:.3g} <= 0 (too few distinct samples)")
            out["self"] = hs
        return out

    @staticmethod
    def _hsic_u(n: int, cross_sq: float, diag_dot: float, tot_a: float, tot_b: float,
                row_dot: float) -> float:
        trace = cross_sq - diag_dot
        return (trace + tot_a * tot_b / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * row_dot) / (n * (n - 3))

    def similarity(self, a: State, b: State) -> float:
        """The CKA value itself (biased in [0, 1]; unbiased unclipped)."""
        M = a["Xc"].T @ b["Xc"]
        cross = float(np.einsum("ij,ij->", M, M))
        if self._params["estimator"] == "biased":
            return cross / np.sqrt(a["self"] * b["self"])
        n = a.n_samples
        hs = self._hsic_u(n, cross, float(a["diag"] @ b["diag"]), a["tot"], b["tot"],
                          float(a["row"] @ b["row"]))
        return hs / np.sqrt(a["self"] * b["self"])

    def _distance(self, a: State, b: State) -> float:
        return float(np.arccos(np.clip(self.similarity(a, b), 0.0, 1.0)))
