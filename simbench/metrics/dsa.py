"""Dynamical similarity analysis (Ostrow, Eisen, Kozachkov & Fiete, NeurIPS 2023).

DSA compares two networks through linear models of their *dynamics*, not through the
geometry of their states. A recording ``[samples, units]`` is read as trajectories:

1. **Trajectories.** The columns are centred (mean over all samples; a deviation from
   the authors' code, which does not centre, so that the metric is translation
   invariant) and the rows reshaped to ``[n_conditions, time, units]`` (condition-major
   order, as simbench's probes record them; the number of samples must be divisible
   by ``n_conditions``).
2. **Delay embedding.** Each condition's trajectory becomes a Hankel matrix with
   ``n_delays`` copies of the state spaced ``delay_interval`` steps apart (row t holds
   ``x_{t+(n−1)τ}, …, x_{t+τ}, x_t``, the authors' ordering); the matrices of all
   conditions are stacked: ``H`` ``[conditions · (time − (n_delays−1)·τ), units · n_delays]``.
3. **Reduced-rank linear operator (HAVOK DMD).** ``H = V Σ Wᵀ`` (thin SVD); the first
   ``r = min(rank, numerical rank of H)`` columns of V (one row per embedded time point,
   unit-norm columns; signs fixed so that each column's largest-magnitude entry is
   positive, which removes the SVD's sign ambiguity) are the eigen-time-delay
   coordinates. Within each condition, consecutive rows give the regression
   ``v_{t+1} ≈ A v_t``, solved by ridge least squares::

       A = ( (V₋ᵀV₋ + ridge·I)⁻¹ V₋ᵀ V₊ )ᵀ          (r × r)

   ``prepare`` fits A once per network (one SVD and one r×r solve).
4. **Pair step.** ``score="angular"`` (default; the paper's Procrustes analysis over
   vector fields): with unit-Frobenius-norm operators Â, B̂ zero-padded to a common
   size n::

       d = arccos( max_{C ∈ O(n)} ⟨Â, C B̂ Cᵀ⟩_F )          ∈ [0, π]

   (equivalently min_C ‖Â − C B̂ Cᵀ‖_F = sqrt(2 − 2 cos d)). The maximisation over the
   orthogonal group is non-convex; it is solved in torch (float64) by Adam on the
   group (:func:`align_operators`: closed-form body-frame gradient skew(Cᵀ∇f), Adam
   moments, Cayley retraction, so C stays orthogonal) for ``iters`` steps with learning
   rate ``lr`` from ``restarts`` starting points — C = I, the reflection
   diag(−1, 1, …, 1) (the other component of O(n)), the match of the eigenbases of the
   symmetric parts (:func:`spectral_start`), then random rotations from seed ``seed``
   — all restarts (and, in :meth:`DSA.pairwise`, all pairs) optimised as one batch.
   The best alignment seen is kept, so d is an upper bound of the exact value. The
   pair is always solved in a canonical order (by a digest of the two operators), so
   ``d(X, Y) == d(Y, X)`` exactly; solving it in the other order changes d by no more
   than the optimiser tolerance (tested). Measured optimiser tolerance: 8 pairs of
   random, unrelated 15×15 operators (d ≈ 0.33–0.42): within 0.014 rad of the best of
   24 restarts × 5000 steps, and solving a pair in the other order changes d by
   ≤ 0.014 rad; 28 pairs of DMD operators of small oscillator / line-attractor
   systems (rank 8): within 0.007 rad of the best known.

   ``score="wasserstein"`` (the default of the authors' current package, ``dsa-metric``
   2.x): the operators' eigenvalues λ (of A, not normalised) and μ are two point sets in
   the complex plane, the smaller zero-padded; with uniform weights the optimal
   transport plan is a permutation, so::

       W_p = ( min_π (1/n) Σᵢ |λᵢ − μ_π(i)|^p )^(1/p)      (``wasserstein_p`` = p ∈ {1, 2})

   solved exactly with the Hungarian algorithm. ``dsa-metric`` reports Σ T_ij |λᵢ − μⱼ|²
   (POT ``emd2`` on squared distances), i.e. **W₂²**; simbench reports W₂ (p = 2, the
   default), a metric. No optimisation, so it is deterministic and fast.

Parameters (defaults):
  ``n_conditions`` (1): trajectories in the recording; samples = n_conditions × time.
  ``n_delays`` (15): copies of the state in the delay embedding (1 = no embedding).
  ``delay_interval`` (1): time steps between delays.
  ``rank`` (15): number of SVD components of the Hankel matrix kept (capped at its
  numerical rank: singular values above ``σ₁ · max(shape) · eps``).
  ``ridge`` (1e-8): ridge penalty of the regression (V has unit-norm columns, so this
  is relative; the authors' DMD class default).
  ``score`` ("angular"): angular Procrustes over vector fields, or "wasserstein".
  ``iters`` (500), ``lr`` (0.03), ``restarts`` (8), ``seed`` (0): the optimiser of the
  angular score (the authors' package uses 1500 steps of Adam at 5e-3 on a Cayley
  parametrisation through a small learned network, and 2 starts). Why these: the
  cost is ∝ iters × restarts (restarts are batched), and at equal or similar cost
  more starts beat more steps on this non-convex problem. Measured (script
  ``metrics/measurements/dsa_agreement.py`` and the tests): with 1000 steps at 0.01
  and 3 starts, one of 6 hidden orthogonal conjugations of an 8×8 operator was missed
  (d = 0.18 instead of 0) and the worst of 28 realistic pairs (rank 8) was 0.041 rad
  above the best alignment known; with the defaults all 6 conjugations are found
  (d < 1e-7) and the worst gap is 0.0066 rad (mean 0.0003), for 1.3× the cost.
  ``wasserstein_p`` (2): order of the eigenvalue Wasserstein distance.

Invariances: translation (centring), rotation/reflection and permutation of units (the
time-side singular vectors V do not depend on an orthogonal map of the units), isotropic
scaling (V has unit-norm columns). Not invariant to general linear maps when the rank
is truncated. Triangle inequality: for ``angular`` the exact value is the quotient
metric of the orthogonal-conjugation action, which is isometric on the unit sphere,
so it **holds** up to the optimiser's tolerance (Ostrow et al. 2023, Williams et al.
2021); ``wasserstein`` W_p is a metric on eigenvalue multisets, so it holds
(pseudometric on networks).

Cost (measured on the 2-core machine while other jobs kept it at load ≈ 4, so
upper bounds; ``metrics/measurements/dsa_agreement.py``): recordings 8 conditions ×
100 steps × 32 units, defaults (n_delays 15, rank 15): ``prepare`` (one SVD of the
688 × 480 Hankel matrix) 0.43 s per network; the angular pair step 57 ms per pair in
:meth:`DSA.pairwise` (66 pairs × 8 restarts optimised as one batch; at most
``PAIR_BLOCK`` = 256 pairs per batch) and 0.1 s for a single ``distance``;
the Wasserstein score 0.12 ms per pair. The authors' package took 2.6–9 s per pair
(angular, 1500 steps, float32) on the same machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from simbench.metrics.base import Metric, Param, State, _same_input

#: pairs optimised together in one batch by :meth:`DSA.pairwise`
PAIR_BLOCK = 256
#: batches with fewer pairs run on one torch thread
SMALL_BATCH = 32


def hankel(traj: np.ndarray, n_delays: int, delay_interval: int) -> np.ndarray:
    """Delay embedding of ``[conditions, time, units]`` → ``[conditions, time', units·n_delays]``.

    Row t of condition c holds ``x_{t+(n−1)τ}, …, x_{t+τ}, x_t`` (the ordering of the
    authors' ``embed_signal_torch``), with time' = time − (n_delays − 1)·τ.
    """
    C, T, d = traj.shape
    Te = T - (n_delays - 1) * delay_interval
    if Te < 1:
        raise ValueError(f"dsa: {n_delays} delays spaced {delay_interval} need more than "
                         f"{T} time points per condition")
    blocks = [traj[:, (n_delays - 1 - k) * delay_interval:(n_delays - 1 - k) * delay_interval + Te]
              for k in range(n_delays)]
    return np.concatenate(blocks, axis=2)


def fit_operator(traj: np.ndarray, n_delays: int, delay_interval: int, rank: int,
                 ridge: float) -> tuple[np.ndarray, dict[str, Any]]:
    """HAVOK-style DMD operator of trajectories ``[conditions, time, units]``.

    Returns ``(A, info)`` with A ``[r, r]`` such that ``v_{t+1} ≈ A v_t`` on the first r
    eigen-time-delay coordinates, and info holding r, the singular values kept and the
    relative one-step residual of the fit.
    """
    H3 = hankel(traj, n_delays, delay_interval)
    C, Te, F = H3.shape
    H = H3.reshape(C * Te, F)
    U, s, _ = np.linalg.svd(H, full_matrices=False)
    if s.size == 0 or not s[0] > 0.0:
        raise ValueError("dsa: the recording has zero variance (every unit is constant)")
    tol = s[0] * max(H.shape) * np.finfo(np.float64).eps
    r = int(min(rank, np.count_nonzero(s > tol)))
    V = U[:, :r].copy()
    # Fix the SVD sign ambiguity: the largest-magnitude entry of each column is positive.
    idx = np.argmax(np.abs(V), axis=0)
    V *= np.sign(V[idx, np.arange(r)])[None, :]
    V3 = V.reshape(C, Te, r)
    Vm = V3[:, :-1].reshape(-1, r)
    Vp = V3[:, 1:].reshape(-1, r)
    G = Vm.T @ Vm + ridge * np.eye(r)
    A = np.linalg.solve(G, Vm.T @ Vp).T
    resid = Vp - Vm @ A.T
    rel = float(np.sqrt(np.einsum("ij,ij->", resid, resid) / max(np.einsum("ij,ij->", Vp, Vp), 1e-300)))
    return A, {"rank_used": r, "singular_values": s[:r].copy(), "fit_residual": rel}


def _pad(M: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, n))
    out[:M.shape[0], :M.shape[1]] = M
    return out


def _digest(a: State) -> str:
    return hashlib.sha1(np.ascontiguousarray(a.arrays["A"]).tobytes()).hexdigest()


@contextmanager
def _torch_threads(n: int):
    """Run a block with ``n`` torch threads (restored afterwards)."""
    old = torch.get_num_threads()
    if n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def align_operators(A: np.ndarray, B: np.ndarray, *, iters: int = 500, lr: float = 0.03,
                    restarts: int = 8, seed: int = 0) -> np.ndarray:
    """max over C ∈ O(n) of ⟨A_p, C B_p Cᵀ⟩ for a batch of unit-norm operators ``[P, n, n]``.

    Riemannian Adam on O(n) in torch (float64, no autograd: the gradient is closed
    form). Each step takes the body-frame gradient ``g = skew(Cᵀ ∇_C f)`` with
    ``∇_C f = A C Bᵀ + Aᵀ C B``, Adam's moment estimates on g (β = 0.9, 0.999, ε = 1e-8;
    element-wise Adam keeps the step skew-symmetric) and moves along the group with the
    Cayley retraction ``C ← C (I − S/2)⁻¹ (I + S/2)``, so C stays exactly orthogonal
    and no parametrisation singularity is ever met. Starts: restart 0 at C = I,
    restart 1 at the reflection R = diag(−1, 1, …, 1) (the other component of O(n)),
    restart 2 at :func:`spectral_start`, restart r ≥ 3 at R^r·exp(K_r − K_rᵀ) with K_r
    standard normal from a generator seeded by ``seed``, r and n (independent of the
    other pairs, so batching never changes a result).
    Returns the best alignment seen over steps and restarts per pair (``[P]``).

    Threads: a batch of fewer than :data:`SMALL_BATCH` pairs runs on one torch thread
    (for a few n × n matrices per step, thread start-up costs more than it saves:
    measured 0.13 s vs 1.0 s for one 4 × 4 pair on a loaded 2-core machine); larger
    batches use the caller's torch setting.
    """
    threads = 1 if np.shape(A)[0] < SMALL_BATCH else torch.get_num_threads()
    with _torch_threads(threads):
        return _align(A, B, iters, lr, restarts, seed)


def _align(A, B, iters, lr, restarts, seed) -> np.ndarray:
    A_np = np.asarray(A, dtype=np.float64)
    B_np = np.asarray(B, dtype=np.float64)
    A_t = torch.as_tensor(A_np)
    B_t = torch.as_tensor(B_np)
    P, n, _ = A_t.shape
    R = int(restarts)
    eye = torch.eye(n, dtype=torch.float64)
    C0 = eye.repeat(P, R, 1, 1)
    C0[:, 1::2, 0, :] *= -1.0  # odd restarts start in the other component of O(n)
    if R > 2:
        C0[:, 2] = torch.as_tensor(np.stack([spectral_start(a, b) for a, b in zip(A_np, B_np)]))
    for r in range(3, R):
        g = torch.Generator().manual_seed(int(seed) * 7919 + r * 104729 + n)
        K = torch.randn(n, n, generator=g, dtype=torch.float64)
        C0[:, r] = C0[:, r] @ torch.linalg.matrix_exp(K - K.T)
    # batch layout: pair-major, restart-minor
    A_b = A_t.repeat_interleave(R, dim=0)
    B_b = B_t.repeat_interleave(R, dim=0)
    A_bT = A_b.transpose(-1, -2).contiguous()
    B_bT = B_b.transpose(-1, -2).contiguous()
    C = C0.reshape(P * R, n, n)
    m = torch.zeros_like(C)
    v = torch.zeros_like(C)
    b1, b2, eps = 0.9, 0.999, 1e-8
    best = torch.full((P * R,), -np.inf, dtype=torch.float64)
    for t in range(1, iters + 1):
        CB = C @ B_b
        CBT = C @ B_bT
        al = (A_b * (CB @ C.transpose(-1, -2))).sum(dim=(-2, -1))
        best = torch.maximum(best, al)
        # ∇_C f = A C Bᵀ + Aᵀ C B ; body-frame gradient W = Cᵀ ∇_C f, skew part
        W = C.transpose(-1, -2) @ (A_b @ CBT + A_bT @ CB)
        g = 0.5 * (W - W.transpose(-1, -2))
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        step = (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt_() + eps)
        step.mul_(0.5 * lr)
        C = C @ torch.linalg.solve(eye - step, eye + step)
    al = (A_b * (C @ B_b @ C.transpose(-1, -2))).sum(dim=(-2, -1))
    best = torch.maximum(best, al)
    return best.view(P, R).max(dim=1).values.numpy()


def spectral_start(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A starting point for the alignment: match the eigenbases of the symmetric parts.

    If ``C B Cᵀ = A`` then C maps the eigenvectors of ``B + Bᵀ`` onto those of
    ``A + Aᵀ``; so take ``C = U_A S U_Bᵀ`` (eigenvectors sorted by eigenvalue) with the
    signs S = diag(±1) chosen by greedy single flips that increase
    ``⟨A, C B Cᵀ⟩ = sᵀ (Ã ∘ B̃) s`` (Ã = U_Aᵀ A U_A, B̃ = U_Bᵀ B U_B).
    """
    _, Ua = np.linalg.eigh(A + A.T)
    _, Ub = np.linalg.eigh(B + B.T)
    M = (Ua.T @ A @ Ua) * (Ub.T @ B @ Ub)
    M = M + M.T
    np.fill_diagonal(M, 0.0)
    s = np.ones(A.shape[0])
    for _ in range(2 * A.shape[0]):
        gain = -s * (M @ s)            # change of sᵀMs/2 when flipping each sign
        i = int(np.argmax(gain))
        if gain[i] <= 1e-15:
            break
        s[i] = -s[i]
    return (Ua * s) @ Ub.T


def eigenvalue_wasserstein(la: np.ndarray, lb: np.ndarray, p: int = 2) -> float:
    """W_p between two eigenvalue sets (complex, or ``[k, 2]`` real/imag), uniform weights.

    The smaller set is zero-padded (as in ``dsa-metric``); for equal-size uniform
    measures the optimal plan is a permutation, found with the Hungarian algorithm.
    """
    from scipy.optimize import linear_sum_assignment

    la = np.asarray(la)
    lb = np.asarray(lb)
    if not np.iscomplexobj(la):
        la = la[:, 0] + 1j * la[:, 1]
    if not np.iscomplexobj(lb):
        lb = lb[:, 0] + 1j * lb[:, 1]
    n = max(len(la), len(lb))
    la = np.concatenate([la, np.zeros(n - len(la))])
    lb = np.concatenate([lb, np.zeros(n - len(lb))])
    cost = np.abs(la[:, None] - lb[None, :]) ** p
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean() ** (1.0 / p))


class DSA(Metric):
    """Dynamical similarity analysis: HAVOK DMD operators compared up to orthogonal conjugation."""

    id = "dsa"
    kind = "dynamics"
    description = ("Dynamical similarity analysis: delay-embedded DMD operators compared by "
                   "Procrustes over vector fields (Ostrow et al. 2023).")
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {
        "n_conditions": Param(1, low=1, doc="trajectories in the recording (samples = conditions x time)"),
        "n_delays": Param(15, low=1, doc="number of delays in the Hankel embedding"),
        "delay_interval": Param(1, low=1, doc="time steps between delays"),
        "rank": Param(15, low=1, doc="SVD components of the Hankel matrix kept"),
        "ridge": Param(1e-8, low=0.0, doc="ridge penalty of the operator regression"),
        "score": Param("angular", choices=("angular", "wasserstein"),
                       doc="Procrustes over vector fields (angular) or eigenvalue Wasserstein"),
        "iters": Param(500, low=1, doc="Adam steps of the orthogonal alignment (angular)"),
        "lr": Param(0.03, low=0.0, low_open=True, doc="Adam learning rate (angular)"),
        "restarts": Param(8, low=1, doc="starting points of the alignment (angular)"),
        "seed": Param(0, low=0, doc="seed of the random restarts (angular)"),
        "wasserstein_p": Param(2, choices=(1, 2), doc="order p of the eigenvalue Wasserstein"),
    }

    # -- per network -------------------------------------------------------------------
    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        n = X.shape[0]
        C = self._params["n_conditions"]
        if n % C:
            raise ValueError(f"dsa: {label} has {n} samples, not divisible by "
                             f"n_conditions={C} (samples must be conditions x time)")
        T = n // C
        span = (self._params["n_delays"] - 1) * self._params["delay_interval"]
        if T - span < 2:
            raise ValueError(f"dsa: {label} has {T} time points per condition; n_delays="
                             f"{self._params['n_delays']} with delay_interval="
                             f"{self._params['delay_interval']} needs at least {span + 2}")

    def _prepare(self, X: np.ndarray) -> dict:
        C = self._params["n_conditions"]
        Xc = X - X.mean(axis=0, keepdims=True)
        traj = Xc.reshape(C, X.shape[0] // C, X.shape[1])
        A, info = fit_operator(traj, self._params["n_delays"], self._params["delay_interval"],
                               self._params["rank"], self._params["ridge"])
        norm = float(np.linalg.norm(A))
        if not norm > 0.0:
            raise ValueError("dsa: the fitted operator is zero (no predictable dynamics)")
        lam = np.linalg.eigvals(A)
        order = np.lexsort((lam.imag, lam.real))
        lam = lam[order]
        return {"A": A, "A_unit": A / norm, "eig": np.column_stack([lam.real, lam.imag]),
                "singular_values": info["singular_values"], "rank_used": info["rank_used"],
                "fit_residual": info["fit_residual"]}

    # -- per pair ----------------------------------------------------------------------
    def _ordered(self, a: State, b: State) -> tuple[State, State]:
        return (a, b) if _digest(a) <= _digest(b) else (b, a)

    def _angular_batch(self, pairs: Sequence[tuple[State, State]]) -> np.ndarray:
        n = max(max(a["A_unit"].shape[0], b["A_unit"].shape[0]) for a, b in pairs)
        A = np.stack([_pad(a["A_unit"], n) for a, _ in pairs])
        B = np.stack([_pad(b["A_unit"], n) for _, b in pairs])
        al = align_operators(A, B, iters=self._params["iters"], lr=self._params["lr"],
                             restarts=self._params["restarts"], seed=self._params["seed"])
        return np.arccos(np.clip(al, -1.0, 1.0))

    def _distance_ordered(self, a: State, b: State) -> float:
        """The distance with the pair solved in the given order (no canonical swap)."""
        if self._params["score"] == "wasserstein":
            return eigenvalue_wasserstein(a["eig"], b["eig"], self._params["wasserstein_p"])
        return float(self._angular_batch([(a, b)])[0])

    def _distance(self, a: State, b: State) -> float:
        return self._distance_ordered(*self._ordered(a, b))

    def pairwise(self, items: Sequence[State | Any]) -> np.ndarray:
        """All pairs; the angular alignments of all pairs run as batches of PAIR_BLOCK pairs."""
        if self._params["score"] == "wasserstein":
            return super().pairwise(items)
        states = self._states(items)
        k = len(states)
        D = np.zeros((k, k))
        todo = [(i, j) for i in range(k) for j in range(i + 1, k)
                if not _same_input(states[i], states[j])]
        # group by padded size so that each batch has one matrix size
        groups: dict[int, list[tuple[int, int]]] = {}
        for i, j in todo:
            n = max(states[i]["A_unit"].shape[0], states[j]["A_unit"].shape[0])
            groups.setdefault(n, []).append((i, j))
        for idx in groups.values():
            for s in range(0, len(idx), PAIR_BLOCK):
                block = idx[s:s + PAIR_BLOCK]
                pairs = [self._ordered(states[i], states[j]) for i, j in block]
                d = self._angular_batch(pairs)
                for (i, j), v in zip(block, d):
                    D[i, j] = D[j, i] = max(float(v), 0.0)
        return D
