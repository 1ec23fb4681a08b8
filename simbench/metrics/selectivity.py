"""Single-unit selectivity configurations compared by point-cloud registration (after
Tolmachev & Engel, Nature Machine Intelligence 7:1742, 2025).

Each *unit* is a point: unit j of a recording X ``[samples, units]`` (samples =
conditions × time) is its response profile ``X[:, j]``. ``prepare`` centres the cloud
of units (the mean unit, ``X.mean(1)``, is subtracted from every unit), projects it on
its top ``n_components`` principal axes and scales it to unit total variance::

    P = (X − X 1 1ᵀ / N)ᵀ = U S Vᵀ                       (N units)
    Z = U_k S_k / sqrt(Σ_c var(z_c))                     [N, k], (1/N) Σ_j ‖z_j‖² = 1

k = min(n_components, rank). The sign of each axis is fixed by the cloud (third
moment ≥ 0), so the configuration depends on the set of units only. Two networks'
clouds A ``[N_A, K]`` and B ``[N_B, K]`` (zero-padded to K = max(k_A, k_B)) are
registered by an orthogonal map with nearest-neighbour matching::

    r(A→B) = min_{Q ∈ O(K)} sqrt( (1/N_A) Σ_i min_j ‖a_i Q − b_j‖² )
    d      = ( r(A→B) + r(B→A) ) / 2

The minimum over Q is sought by ICP (iterative closest point; Besl & McKay 1992): match
each a_i Q to its nearest b_j, replace Q by the orthogonal Procrustes solution
``Q = U Vᵀ`` of ``svd(Aᵀ B_matched)``, repeat until the matching no longer changes (each
step lowers the residual, so this terminates) or after ``max_iter`` steps. ICP finds a
local minimum; it starts from ``restarts`` rotations, the identity (the clouds are
already PCA-aligned, so a network and a permuted or cloud-rotated copy of it meet at 0
from there) and ``restarts − 1`` Haar-random orthogonal matrices drawn from ``seed``
(the same for every pair), and keeps the best. All restarts run at once as one batch
of ``[restarts, N, K]`` products, ``[restarts, N_A, N_B]`` distance tables and
``[restarts, K, K]`` SVDs. d is therefore an upper bound on the minimum over Q (a
better optimiser can only lower it).

Invariances: permutation of the units (a cloud is a set) and isotropic scaling (unit
total variance); an orthogonal map of the *samples* (the same one for every unit, e.g.
reordering the conditions) too, since it rotates the cloud. Deliberately *not*
invariant to rotations or translations of the units: mixing units changes what single
units respond to, which is what this metric measures (the paper's point is that the
activation function shapes single-unit selectivity while rotation-invariant geometry
cannot see it). Triangle inequality: does **not** hold (a one-sided nearest-neighbour
residual, averaged both ways, is a chamfer-type divergence, and ICP only bounds it
from above).

Deviations from the paper's code: the residual is the root *mean* squared distance
(the paper's is the root of the sum, which grows with the number of units); restarts
include the identity; ICP stops when the matching is fixed (the paper: when the
residual changes by less than 1e-10, at most 1000 steps) and its Procrustes steps carry
a tiny proximal term (see :func:`icp_residuals`); principal axes get a fixed sign.

The random restarts are a weak optimiser in 10 dimensions: registering a cloud of 32
points onto an exactly rotated, permuted copy from a random orientation, 60 restarts
recover the rotation for 10 of 10 seeds in 3-D, 6 of 10 in 5-D and 1 of 10 in 10-D.
What makes a permuted, cloud-rotated copy of a network meet it at 0 is the identity
start: in the PCA frames the two clouds coincide.

Cost (``tests/benchmarks/bench_selectivity.py``, 6 cddm networks of the reference zoo,
recordings 135 000 × 32, k = 10, 60 restarts, 1 thread, measured while the 2-core
machine ran at load 14): ``prepare`` 0.35 s CPU per network (one thin SVD); a pair
≈ 23 ms CPU, both directions, with 5.5 ICP steps per start on average and 18 at most;
running the same code one restart at a time costs 2.6× more CPU. Of a pair, ≈ 60 % is
the batched 10×10 SVDs of the Procrustes steps and ≈ 15 % the nearest-neighbour tables;
the restart rotations (59 QR factorisations, ≈ 6 %) are now drawn once per
``(K, restarts, seed)`` and shared: old/new CPU per pair 1.04–1.08× (memory3 1.08×,
context 1.07×, oscillation 1.07×, cddm 1.04×; ``tests/benchmarks/bench_loop_metrics.py``,
28 pairs per suite, 2 cores at load ≈ 10), the same residuals bit for bit. The SVDs are
the method: another polar factorisation would change the numbers.
"""

from __future__ import annotations

import functools

import numpy as np

from simbench.metrics.base import Metric, Param, State


def centred_units(X: np.ndarray, label: str = "X", metric_id: str = "selectivity") -> np.ndarray:
    """``X`` minus its mean unit; ``ValueError`` for fewer than 2 units or identical units."""
    units = X.shape[1]
    if units < 2:
        raise ValueError(f"{metric_id}: {label} has {units} unit; a selectivity cloud needs at "
                         "least 2 units (each unit is one point)")
    P = X - X.mean(axis=1, keepdims=True)
    spread = np.abs(P).max()
    if spread == 0.0 or spread <= 1e-12 * np.abs(X).max():
        raise ValueError(f"{metric_id}: {label} has zero variance across units (every unit "
                         "responds identically); its selectivity cloud is a single point")
    return P


def selectivity_cloud(X: np.ndarray, n_components: int, label: str = "X",
                      metric_id: str = "selectivity") -> np.ndarray:
    """The units of ``X [samples, units]`` as points ``[units, k]`` (see module docstring)."""
    P = centred_units(X, label, metric_id)
    n, units = X.shape
    _, s, Vt = np.linalg.svd(P, full_matrices=False)
    rank = int(np.count_nonzero(s > s[0] * max(n, units) * np.finfo(float).eps))
    k = min(n_components, rank)
    Z = Vt[:k].T * s[:k]
    third = (Z ** 3).sum(axis=0)
    largest = Z[np.abs(Z).argmax(axis=0), np.arange(k)]
    sign = np.where(np.abs(third) > 1e-9 * (np.abs(Z) ** 3).sum(axis=0), np.sign(third), np.sign(largest))
    Z = Z * sign
    return np.ascontiguousarray(Z / np.sqrt((Z ** 2).sum() / units))


def random_orthogonal(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """``count`` Haar-distributed orthogonal ``dim × dim`` matrices (QR with sign fix)."""
    Q, R = np.linalg.qr(rng.standard_normal((count, dim, dim)))
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]


def restart_rotations(dim: int, restarts: int, seed: int) -> np.ndarray:
    """The identity followed by ``restarts − 1`` Haar-random rotations ``[restarts, dim, dim]``."""
    rng = np.random.default_rng([seed, dim])
    return np.concatenate([np.eye(dim)[None], random_orthogonal(rng, restarts - 1, dim)])


#: relative weight of the proximal term that makes each Procrustes step unique (icp_residuals)
PROXIMAL = 1e-9


def _nearest(AQ: np.ndarray, B: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Index of the nearest row of B for every row of every ``AQ[r]``: ``[restarts, N_A]``."""
    return (b_sq[None, None, :] - 2.0 * (AQ @ B.T)).argmin(axis=-1)


def icp_residuals(A: np.ndarray, B: np.ndarray, Q0: np.ndarray, max_iter: int = 100
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ICP of cloud A ``[N_A, K]`` onto B ``[N_B, K]`` from every start ``Q0 [R, K, K]`` at once.

    Each step replaces Q by the Procrustes solution for the current matching,
    ``polar(Aᵀ B_matched + ε Q)`` with ε = ``PROXIMAL`` · ‖Aᵀ B_matched‖_F, and
    rematches; a start whose matching did not change has converged and leaves the batch
    (the others go on, at most ``max_iter`` steps). The small proximal term (it adds
    ε‖Q' − Q‖² to the residual minimised, so every step still lowers the residual)
    picks, where the Procrustes solution is not unique — fewer than K distinct matched
    points leave ``Aᵀ B_matched`` rank deficient — the solution closest to the current
    Q; without it LAPACK's rounding chooses, and a permuted copy of a cloud could follow
    another path. One final step leaves every Q within O(ε²) of the exact Procrustes
    solution of its matching. Returns ``(rms [R], Q [R, K, K], steps [R])``: per start
    the root mean squared distance ``sqrt(mean_i min_j ‖a_i Q − b_j‖²)`` at its final
    rotation Q, and its step count.
    """
    b_sq = np.einsum("ij,ij->i", B, B)
    Q = np.array(Q0, dtype=np.float64)
    match = _nearest(A @ Q, B, b_sq)
    steps = np.zeros(len(Q), dtype=int)
    active = np.arange(len(Q))
    for _ in range(max_iter):
        if active.size == 0:
            break
        Q[active] = _procrustes_step(A, B[match[active]], Q[active])
        steps[active] += 1
        new = _nearest(A @ Q[active], B, b_sq)
        changed = (new != match[active]).any(axis=1)
        match[active] = new
        active = active[changed]
    Q = _procrustes_step(A, B[match], Q)  # the proximal step's remaining ε-bias, squared
    match = _nearest(A @ Q, B, b_sq)
    residual = A @ Q - B[match]
    return np.sqrt(np.einsum("rik,rik->r", residual, residual) / len(A)), Q, steps


def _procrustes_step(A: np.ndarray, matched: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """``polar(Aᵀ matched[r] + ε Q[r])`` for every r: the rotations ``[R, K, K]``."""
    M = A.T @ matched
    M += (PROXIMAL * np.linalg.norm(M, axis=(1, 2)))[:, None, None] * Q
    U, _, Vt = np.linalg.svd(M)
    return U @ Vt


@functools.lru_cache(maxsize=16)
def _shared_restarts(dim: int, restarts: int, seed: int) -> np.ndarray:
    """:func:`restart_rotations`, drawn once per ``(dim, restarts, seed)`` and shared by
    every pair (read-only; :func:`icp_residuals` copies its starts)."""
    Q = restart_rotations(dim, restarts, seed)
    Q.flags.writeable = False
    return Q


def _padded(C: np.ndarray, K: int) -> np.ndarray:
    """``C`` with zero columns up to ``K`` (``C`` itself when it has ``K``)."""
    return C if C.shape[1] == K else np.pad(C, ((0, 0), (0, K - C.shape[1])))


def registration_residual(A: np.ndarray, B: np.ndarray, restarts: int = 60, max_iter: int = 100,
                          seed: int = 0) -> float:
    """``r(A→B)``: the best ICP residual of cloud A onto cloud B over seeded restarts.

    The restart rotations depend on ``(K, restarts, seed)`` only, so they are drawn once
    and shared (drawing them, 59 QR factorisations, was ~6 % of a pair's cost)."""
    K = max(A.shape[1], B.shape[1])
    rms, _, _ = icp_residuals(_padded(A, K), _padded(B, K), _shared_restarts(K, restarts, seed), max_iter)
    return float(rms.min())


class Selectivity(Metric):
    """Symmetrised ICP residual between the networks' clouds of single-unit responses."""

    id = "selectivity"
    kind = "geometry"
    description = "Single-unit selectivity: ICP registration residual between PCA clouds of units (Tolmachev & Engel 2025)."
    triangle_inequality = False
    invariances = ("permutation", "scale")
    parameters = {
        "n_components": Param(10, low=1, doc="principal components of the cloud of units"),
        "restarts": Param(60, low=1, doc="ICP starts: the identity and restarts-1 random rotations"),
        "max_iter": Param(100, low=1, doc="ICP matching steps at most, per start"),
        "seed": Param(0, low=0, doc="seed of the random restart rotations"),
    }

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        centred_units(X, label, self.id)

    def _prepare(self, X: np.ndarray) -> dict:
        return {"cloud": selectivity_cloud(X, self._params["n_components"], metric_id=self.id)}

    def _distance(self, a: State, b: State) -> float:
        p = self._params
        options = (p["restarts"], p["max_iter"], p["seed"])
        return 0.5 * (registration_residual(a["cloud"], b["cloud"], *options)
                      + registration_residual(b["cloud"], a["cloud"], *options))
