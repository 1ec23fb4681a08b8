"""Gromov–Wasserstein distance between the networks' sample geometries.

``prepare`` keeps m = ``n_samples`` rows drawn by a seeded stratified sample (see
:func:`stratified_sample`; the same rows for every network, since samples are
matched), computes the Euclidean distance matrix between those states and divides it
by its mean off-diagonal entry (so the distance is invariant to isotropic scaling).
The pair step solves the square-loss Gromov–Wasserstein problem between the two m×m
matrices with uniform weights (POT ``ot.gromov.gromov_wasserstein2``, conditional
gradient with an exact OT solve per iteration)::

    GW = min_{T ∈ Π(1/m, 1/m)} Σ_{i,j,k,l} (C¹ᵢₖ − C²ⱼₗ)² Tᵢⱼ Tₖₗ
    d  = ½ sqrt(GW)        (Mémoli's GW₂, 2011)

GW compares the two geometries without using the sample matching (any relabelling of
samples is allowed); the solver is started from the identity coupling that the
matching provides, so its value is never worse than the matched one, and identical
inputs get exactly 0. The problem is non-convex and the solver returns a local
optimum, so the **triangle inequality is not guaranteed** (the exact GW₂ is a metric).
For Euclidean distance matrices of equal size with uniform weights the exact optimum
is a permutation coupling (the objective is concave on the Birkhoff polytope), which
the tests use as an independent check. For exact symmetry the pair is always solved
in a canonical order (by a digest of the two matrices). Invariances: translation,
rotation/reflection and permutation of units, isotropic scaling.

The subsample: rows are cut into m equal consecutive strata and one row is drawn
uniformly from each. Evenly spaced rows tie the condition to the time step through the
recording's condition × time layout, and on ``cddm`` (450 conditions × 300 steps) three
shifted grids of m = 150 rows gave distances that barely agree (Spearman ρ = 0.33);
purely random rows spread more than stratified ones (ρ = 0.76 there). Default
m = 150, chosen by measuring, on 10 networks per suite of the reference zoo, the
spread of the distance over 3 stratified draws (mean within-pair s.d. / s.d. across
pairs; Spearman ρ of the distances between two draws) against the cost per pair
(CPU time, one BLAS thread)::

    suite          m=100                 m=150                 m=200
    cddm           0.45 / 0.68 /  7 ms   0.24 / 0.91 / 17 ms   0.31 / 0.84 / 33 ms
    context        0.14 / 0.97 /  7 ms   0.12 / 0.98 / 22 ms   0.15 / 0.97 / 45 ms
    memory3        0.20 / 0.97 /  9 ms   0.11 / 0.98 / 29 ms   0.09 / 0.99 / 62 ms
    oscillation    0.16 / 0.97 /  8 ms   0.10 / 0.98 / 26 ms   0.09 / 0.99 / 58 ms

m = 200 costs twice as much without a smaller spread. With m = 150 the reference zoo's
≈ 9,400 pairs took 3.9 CPU minutes, measured (cddm 10 s, context 45 s, memory3 111 s,
oscillation 68 s; 7 minutes wall-clock with one worker on 2 cores loaded 4–6 by other
work), one pair at most ≈ 0.1 s. The solver works on m×m matrices, where
BLAS threads do not pay; on a busy 2-core machine two threads made one pair 10× slower,
so each solve runs with one BLAS thread (parallelise over pairs with the engine's
workers instead). Paper: Mémoli, *Found. Comput. Math.* 11 (2011); Peyré, Cuturi &
Solomon, ICML 2016.
"""

from __future__ import annotations

import hashlib

import numpy as np
import ot
from scipy.spatial.distance import pdist, squareform
from threadpoolctl import ThreadpoolController

from simbench.metrics.base import Metric, Param, State

_THREADS = ThreadpoolController()


def stratified_sample(n: int, m: int, seed: int) -> np.ndarray:
    """m increasing row indices, one drawn uniformly from each of m equal consecutive
    strata of ``range(n)`` (all rows when n ≤ m)."""
    if n <= m:
        return np.arange(n)
    edges = np.round(np.linspace(0, n, m + 1)).astype(int)
    return np.random.default_rng(seed).integers(edges[:-1], edges[1:])


class GromovWasserstein(Metric):
    """Gromov–Wasserstein distance between normalised sample distance matrices."""

    id = "gw"
    kind = "geometry"
    description = "Gromov-Wasserstein distance between sample-by-sample distance matrices (POT)."
    triangle_inequality = False
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {
        "n_samples": Param(150, low=3, doc="rows kept per network (stratified sample)"),
        "seed": Param(0, low=0, doc="seed of the stratified sample of rows"),
    }

    def _prepare(self, X: np.ndarray) -> dict:
        idx = stratified_sample(X.shape[0], self._params["n_samples"], self._params["seed"])
        d = pdist(X[idx], metric="euclidean")
        mean = float(d.mean())
        if mean == 0.0:
            raise ValueError(f"{self.id}: the recording is constant over the kept samples (zero distance matrix)")
        C = np.ascontiguousarray(squareform(d / mean))
        return {"C": C, "key": hashlib.blake2b(C.tobytes(), digest_size=16).hexdigest()}

    def _distance(self, a: State, b: State) -> float:
        if a["key"] > b["key"]:
            a, b = b, a
        m = a["C"].shape[0]
        w = np.full(m, 1.0 / m)
        with _THREADS.limit(limits=1, user_api="blas"):
            val = ot.gromov.gromov_wasserstein2(a["C"], b["C"], w, w, loss_fun="square_loss",
                                                symmetric=True, G0=np.diag(w))
        return float(0.5 * np.sqrt(max(float(val), 0.0)))
