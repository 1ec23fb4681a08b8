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
workers instead).

The pair step is :func:`square_loss_gw`: POT's solver put together from its parts
without the work whose result the value never reads; the value is the same bit for bit
as ``ot.gromov.gromov_wasserstein2`` (kept as ``_square_loss_gw_pot``, compared in the
tests). CPU per pair, old/new (``tests/benchmarks/bench_loop_metrics.py``, 28 pairs of
8 reference networks per suite, fastest of 3, 2 cores at load ≈ 10): memory3 1.07×,
context 1.10×, oscillation 1.09×, cddm 1.31×. What remains is ≈ 70 % the exact OT
solves (POT's network simplex, ≈ 6 a pair at 150 × 150, the CG's linear step) and
≈ 25 % the m×m×m products of the gradient and line search; both are the algorithm. An
assignment solver (scipy's ``linear_sum_assignment``) in place of the network simplex
was no faster on these gradients (5 vs 7.5 ms) and, where they have ties (repeated
states), picks another of the optimal permutations, as would a warm-started simplex.
Paper: Mémoli, *Found. Comput. Math.* 11 (2011); Peyré, Cuturi & Solomon, ICML 2016.
"""

from __future__ import annotations

import hashlib

import numpy as np
import ot
from ot.backend import NumpyBackend
from ot.gromov import init_matrix, solve_gromov_linesearch, tensor_product
from scipy.spatial.distance import pdist, squareform
from threadpoolctl import ThreadpoolController

from simbench.metrics.base import Metric, Param, State

_THREADS = ThreadpoolController()
_NX = NumpyBackend()
#: POT's defaults for ``gromov_wasserstein``: CG steps, relative and absolute tolerances,
#: network-simplex iterations per exact OT solve
_MAX_ITER, _TOL_REL, _TOL_ABS, _MAX_ITER_EMD = int(1e4), 1e-9, 1e-9, 100000


def square_loss_gw(C1: np.ndarray, C2: np.ndarray) -> float:
    """The square-loss GW value between two symmetric m×m matrices with uniform weights,
    solved from the identity coupling: the same iterations, and the same float64 value, as
    ``ot.gromov.gromov_wasserstein2(C1, C2, w, w, "square_loss", symmetric=True,
    G0=diag(w))`` (:func:`_square_loss_gw_pot`; the tests compare them bit for bit), put
    together from the pieces that function uses (``init_matrix``, ``tensor_product``,
    ``solve_gromov_linesearch``, ``ot.optim.generic_conditional_gradient``, ``ot.emd``)
    without the work whose result the value never reads: the gradients with respect to
    C1, C2, p, q that ``gromov_wasserstein2`` attaches to its value (four m×m×m matrix
    products a pair), the loss and the gradient at G0 each computing the same
    ``tensor_product`` (two more), and each exact OT solve's dual potentials (centred
    and logged) and marginal check. The exact OT solves (network simplex, ~6 a pair)
    are about 70 % of what remains.
    """
    m = C1.shape[0]
    w = np.full(m, 1.0 / m)
    constC, hC1, hC2 = init_matrix(C1, C2, w, w, "square_loss", _NX)
    last: list = [None, None]  # the coupling of the latest tensor_product, and its value

    def tens(G):
        if last[0] is not G:
            last[0], last[1] = G, tensor_product(constC, hC1, hC2, G, _NX)
        return last[1]

    def f(G):  # ot.gromov.gwloss
        return _NX.sum(tens(G) * G)

    def df(G):  # ot.gromov.gwggrad
        return 2 * tens(G)

    def line_search(cost, G, deltaG, Mi, cost_G, df_G, **kwargs):
        return solve_gromov_linesearch(G, deltaG, cost_G, hC1, hC2, M=0.0, reg=1.0, nx=_NX,
                                       symmetric=True)

    def lp_solver(a, b, M, **kwargs):
        return ot.emd(a, b, M, _MAX_ITER_EMD, center_dual=False, check_marginals=False), {}

    _, log = ot.optim.generic_conditional_gradient(
        w, w, 0.0, f, df, 1.0, None, lp_solver, line_search, G0=np.diag(w), numItermax=_MAX_ITER,
        stopThr=_TOL_REL, stopThr2=_TOL_ABS, log=True, nx=_NX)
    return float(log["loss"][-1])


def _square_loss_gw_pot(C1: np.ndarray, C2: np.ndarray) -> float:
    """:func:`square_loss_gw` through POT's one call (how ``gw`` solved a pair before; the
    tests check that both give the same value)."""
    m = C1.shape[0]
    w = np.full(m, 1.0 / m)
    return float(ot.gromov.gromov_wasserstein2(C1, C2, w, w, loss_fun="square_loss",
                                               symmetric=True, G0=np.diag(w)))


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
        with _THREADS.limit(limits=1, user_api="blas"):
            val = square_loss_gw(a["C"], b["C"])
        return float(0.5 * np.sqrt(max(val, 0.0)))
