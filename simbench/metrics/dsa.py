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

   ``prepare`` fits A once per network. Only the first r singular vectors are needed,
   so the full SVD of H (rows × units·n_delays, 128,700 × 480 on the cddm suite) is
   not computed: the Gram matrix HᵀH is assembled from lagged products of the
   recording without forming H, its leading r + 10 eigenvectors W span the leading
   right singular subspace, and the thin SVD of ``H W`` (a Rayleigh–Ritz step) gives
   V and Σ to the accuracy of a full SVD (:func:`fit_operator`; on every suite of the
   reference zoo A agrees with the full SVD's to ≤ 3e-12 relative, tested). A Gram
   matrix cannot resolve singular values below ≈ sqrt(eps)·σ₁, so when σ_r < 1e-5·σ₁
   (:data:`GRAM_FLOOR`; measured error there ≈ 1e-12, 1.5e-8 at σ_r ≈ 4e-7·σ₁) or the
   Hankel matrix is too small to gain, the full SVD is used (``method="svd"`` forces
   it). Then one r×r solve.
4. **Pair step.** ``score="angular"`` (default; the paper's Procrustes analysis over
   vector fields): with unit-Frobenius-norm operators Â, B̂ zero-padded to a common
   size n::

       d = arccos( max_{C ∈ O(n)} ⟨Â, C B̂ Cᵀ⟩_F )          ∈ [0, π]

   (equivalently min_C ‖Â − C B̂ Cᵀ‖_F = sqrt(2 − 2 cos d)). The maximisation over the
   orthogonal group is non-convex; it is solved in float64 by Adam on the group
   (:func:`align_operators`: closed-form body-frame gradient skew(Cᵀ∇f), Adam moments,
   Cayley retraction, so C stays orthogonal; run in the frame of C, on Ã = CᵀAC, so that
   a step costs four n×n products and one inverse) for ``iters`` steps with learning
   rate ``lr`` from ``restarts`` starting points — C = I, the reflection
   diag(−1, 1, …, 1) (the other component of O(n)), the match of the eigenbases of the
   symmetric parts (:func:`spectral_start`), then random rotations from seed ``seed`` —
   all restarts (and, in :meth:`DSA.pairwise`, all pairs) optimised as one batch. The
   best alignment seen is kept, so d is an upper bound of the exact value. The pair is
   always solved in a canonical order (by a digest of the two operators), so
   ``d(X, Y) == d(Y, X)`` exactly; solving it in the other order changes d by no more
   than the optimiser tolerance (tested). Measured optimiser tolerance: 8 pairs of
   random, unrelated 15×15 operators (d ≈ 0.33–0.42): within 0.014 rad of the best of 24
   restarts × 5000 steps, and solving a pair in the other order changes d by
   ≤ 0.014 rad; 28 pairs of DMD operators of small oscillator / line-attractor systems
   (rank 8): within 0.007 rad of the best known.

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

Cost (measured on the 2-core machine while other jobs kept it at load ≈ 3.5, so upper
bounds; defaults n_delays 15, rank 15; ratios from ``tests/benchmarks/bench_dsa.py``,
old and new implementation in one process on the reference zoo's recordings, one BLAS
and torch thread): ``prepare`` on cddm (450 conditions × 300 steps, Hankel matrix
128,700 × 480) 0.65–0.75 s per network against 11.8–13.2 s for the full SVD (17.5–18×);
memory3 (4,464 × 480) 0.06 s (6.3×), context 6.5×, oscillation and memorynumber 4.6×,
gonogo (506 × 480) 2.9×, with A equal to ≤ 3e-14 relative. The angular pair step
30 ms per pair in :meth:`DSA.pairwise` (64 pairs × 8 restarts optimised as one batch;
at most ``PAIR_BLOCK`` = 256 pairs per batch) against 56 ms for the former optimiser
(1.9×; same iteration, results equal to ≤ 4e-8 rad), 0.09 s for a single ``distance``
(1.6×); the Wasserstein score 0.12 ms per pair. With 2 threads, the default on 2
cores, on that busy machine threaded OpenBLAS and torch's OpenMP spin, so the former
implementation took 10 s for a 1,166 × 480 full SVD and 3.2 s per pair (460× and 91×
the new paths, which keep their small products on one thread and split a batch over
Python threads). The authors' package took 2.6–9 s per pair (angular, 1500 steps,
float32) on the same machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.linalg
import torch
from threadpoolctl import ThreadpoolController

from simbench.metrics.base import Metric, Param, State, _same_input

_BLAS = ThreadpoolController()
#: pairs optimised together in one batch by :meth:`DSA.pairwise`
PAIR_BLOCK = 256
#: batches with fewer pairs run on one torch thread
SMALL_BATCH = 32
#: leading singular vectors computed beyond ``rank`` by the Gram path of :func:`fit_operator`
GRAM_OVERSAMPLE = 10
#: the Gram path is used only while σ_rank ≥ GRAM_FLOOR · σ₁ (else the full SVD)
GRAM_FLOOR = 1e-5


def _embedded_length(T: int, n_delays: int, delay_interval: int) -> int:
    """Rows per condition of the delay embedding, time' = time − (n_delays − 1)·τ."""
    Te = T - (n_delays - 1) * delay_interval
    if Te < 1:
        raise ValueError(f"dsa: {n_delays} delays spaced {delay_interval} need more than "
                         f"{T} time points per condition")
    return Te


def hankel(traj: np.ndarray, n_delays: int, delay_interval: int) -> np.ndarray:
    """Delay embedding of ``[conditions, time, units]`` → ``[conditions, time', units·n_delays]``.

    Row t of condition c holds ``x_{t+(n−1)τ}, …, x_{t+τ}, x_t`` (the ordering of the
    authors' ``embed_signal_torch``), with time' = time − (n_delays − 1)·τ.
    """
    C, T, d = traj.shape
    Te = _embedded_length(T, n_delays, delay_interval)
    blocks = [traj[:, (n_delays - 1 - k) * delay_interval:(n_delays - 1 - k) * delay_interval + Te]
              for k in range(n_delays)]
    return np.concatenate(blocks, axis=2)


def _delay_offsets(n_delays: int, delay_interval: int) -> list[int]:
    """Time offset of each column block of the Hankel matrix (block j holds x_{t + offset_j})."""
    return [(n_delays - 1 - j) * delay_interval for j in range(n_delays)]


def _hankel_gram(traj: np.ndarray, n_delays: int, delay_interval: int) -> np.ndarray:
    """``HᵀH`` of the delay embedding without forming H: ``[units·n_delays, units·n_delays]``.

    Block (j, k) is Σ_c Σ_{t<time'} x_{c,t+a_j} x_{c,t+a_k}ᵀ (a_j the block's offset): a
    window sum of the lag-(a_k − a_j) products P_L[s] = Σ_c x_{c,s} x_{c,s+L}ᵀ, so only
    n_delays batched products over the conditions (time × units² × conditions each)
    instead of one rows × (units·n_delays)² product.
    """
    C, T, d = traj.shape
    n = n_delays
    Te = _embedded_length(T, n, delay_interval)
    a = _delay_offsets(n, delay_interval)
    Z = np.ascontiguousarray(traj.transpose(1, 2, 0))    # [T, d, C]
    Zt = np.ascontiguousarray(traj.transpose(1, 0, 2))   # [T, C, d]
    G = np.empty((n * d, n * d))
    for lag in range(n):
        L = lag * delay_interval
        P = np.matmul(Z[:T - L], Zt[L:])                 # P[s] = Σ_c x_s x_{s+L}ᵀ
        for j in range(lag, n):                          # block (j, j − lag): a_j ≤ a_{j−lag}
            k = j - lag
            blk = P[a[j]:a[j] + Te].sum(axis=0)
            G[j * d:(j + 1) * d, k * d:(k + 1) * d] = blk
            G[k * d:(k + 1) * d, j * d:(j + 1) * d] = blk.T
    return G


def _hankel_times(traj: np.ndarray, W: np.ndarray, n_delays: int, delay_interval: int,
                  chunk: int = 1 << 22) -> np.ndarray:
    """``H W`` without forming H: W ``[units·n_delays, k]`` → ``[conditions, time', k]``."""
    C, T, d = traj.shape
    k = W.shape[1]
    n = n_delays
    Te = _embedded_length(T, n, delay_interval)
    a = _delay_offsets(n, delay_interval)
    Wc = W.reshape(n, d, k).transpose(1, 0, 2).reshape(d, n * k)   # [d, (block, k)]
    out = np.empty((C, Te, k))
    step = max(1, chunk // max(1, T * n * k))            # conditions per chunk (≈ 32 MB)
    for c0 in range(0, C, step):
        XW = (traj[c0:c0 + step].reshape(-1, d) @ Wc).reshape(-1, T, n, k)
        Y = XW[:, a[0]:a[0] + Te, 0].copy()
        for j in range(1, n):
            Y += XW[:, a[j]:a[j] + Te, j]
        out[c0:c0 + step] = Y
    return out


def _leading_left_singular(traj: np.ndarray, n_delays: int, delay_interval: int,
                           k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k left singular vectors and values of the Hankel matrix, without its SVD.

    The k leading eigenvectors W of the Gram matrix HᵀH (:func:`_hankel_gram`, one
    (units·n_delays)² symmetric eigenproblem) span the leading right singular subspace;
    a Rayleigh–Ritz step, the thin SVD of the tall, thin ``Y = H W``, then resolves the
    singular vectors within it to the accuracy of an SVD of H (the Gram matrix alone
    would only resolve σ down to ≈ sqrt(eps)·σ₁ and mix nearly equal ones). Returns
    ``(U [rows, k], s [k])``.
    """
    G = _hankel_gram(traj, n_delays, delay_interval)
    F = G.shape[0]
    _, W = scipy.linalg.eigh(G, subset_by_index=[F - k, F - 1])
    Y = _hankel_times(traj, W[:, ::-1], n_delays, delay_interval)
    U, s, _ = np.linalg.svd(Y.reshape(-1, k), full_matrices=False)
    return U, s


def fit_operator(traj: np.ndarray, n_delays: int, delay_interval: int, rank: int,
                 ridge: float, method: str = "auto") -> tuple[np.ndarray, dict[str, Any]]:
    """HAVOK-style DMD operator of trajectories ``[conditions, time, units]``.

    Returns ``(A, info)`` with A ``[r, r]`` such that ``v_{t+1} ≈ A v_t`` on the first r
    eigen-time-delay coordinates, and info holding r, the singular values kept, the
    relative one-step residual of the fit and the ``method`` used for the singular vectors.

    ``method``: ``"svd"`` takes them from the thin SVD of the Hankel matrix (the former
    implementation: cost ∝ rows · (units·n_delays)²); ``"auto"`` (default) from the
    Gram matrix and a Rayleigh–Ritz step (:func:`_leading_left_singular`, oversampled by
    :data:`GRAM_OVERSAMPLE`), falling back to the SVD when the problem is too small for
    that (rank + oversampling ≥ the smaller side of H) or when σ_r < :data:`GRAM_FLOOR`·σ₁,
    near the precision floor of a Gram matrix. Both give the same A to ≤ 3e-12 relative
    on real recordings (tested on every suite of the reference zoo).
    """
    if method not in ("auto", "svd"):
        raise ValueError(f"dsa: fit_operator method must be 'auto' or 'svd', not {method!r}")
    C, T, d = traj.shape
    Te = _embedded_length(T, n_delays, delay_interval)
    N, F = C * Te, d * n_delays
    tol_factor = max(N, F) * np.finfo(np.float64).eps
    U = None
    used = "svd"
    if method == "auto" and rank + GRAM_OVERSAMPLE < min(N, F):
        # one BLAS thread: small or thin products, and on a busy machine threaded
        # OpenBLAS spins (measured 40x slower on a loaded 2-core machine)
        with _BLAS.limit(limits=1, user_api="blas"):
            U, s = _leading_left_singular(traj, n_delays, delay_interval, rank + GRAM_OVERSAMPLE)
        if not (s[0] > 0.0 and s[rank - 1] > max(GRAM_FLOOR, tol_factor) * s[0]):
            U = None                                     # near the Gram floor: full SVD
        else:
            used = "gram"
    if U is None:
        H = hankel(traj, n_delays, delay_interval).reshape(N, F)
        U, s, _ = np.linalg.svd(H, full_matrices=False)
    if s.size == 0 or not s[0] > 0.0:
        raise ValueError("dsa: the recording has zero variance (every unit is constant)")
    tol = s[0] * tol_factor
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
    return A, {"rank_used": r, "singular_values": s[:r].copy(), "fit_residual": rel,
               "method": used}


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
                    restarts: int = 8, seed: int = 0, reference: bool = False) -> np.ndarray:
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
    Computed by :func:`_align` in the frame of C (four products and one inverse per
    step); ``reference=True`` runs the former implementation :func:`_align_reference`
    (C tracked in torch, seven products and a solve per step, ≈ 2–3× slower), which
    agrees to rounding (≤ 1e-7 rad on real pairs).

    Threads: a batch of fewer than :data:`SMALL_BATCH` pairs runs on one torch thread
    (for a few n × n matrices per step, thread start-up costs more than it saves:
    measured 0.13 s vs 1.0 s for one 4 × 4 pair on a loaded 2-core machine); larger
    batches use the caller's torch setting: :func:`_align` splits the pairs into that
    many parts, each optimised on one thread (numpy and torch release the GIL; every
    pair is computed alone, so the split does not change a result, tested).
    """
    P = np.shape(A)[0]
    threads = 1 if P < SMALL_BATCH else torch.get_num_threads()
    if reference:
        with _torch_threads(threads):
            return _align_reference(A, B, iters, lr, restarts, seed)
    parts = np.array_split(np.arange(P), max(1, min(threads, P // (SMALL_BATCH // 2))))
    with _torch_threads(1), _BLAS.limit(limits=1, user_api="blas"):
        if len(parts) == 1:
            return _align(A, B, iters, lr, restarts, seed)
        with ThreadPoolExecutor(len(parts)) as pool:
            out = pool.map(lambda idx: _align(np.asarray(A)[idx], np.asarray(B)[idx], iters, lr,
                                              restarts, seed), parts)
            return np.concatenate(list(out))


def _starts(A_np: np.ndarray, B_np: np.ndarray, R: int, seed: int) -> torch.Tensor:
    """The starting points of :func:`align_operators`, ``[P·R, n, n]`` (pair-major)."""
    P, n, _ = A_np.shape
    eye = torch.eye(n, dtype=torch.float64)
    C0 = eye.repeat(P, R, 1, 1)
    C0[:, 1::2, 0, :] *= -1.0  # odd restarts start in the other component of O(n)
    if R > 2:
        C0[:, 2] = torch.as_tensor(np.stack([spectral_start(a, b) for a, b in zip(A_np, B_np)]))
    for r in range(3, R):
        g = torch.Generator().manual_seed(int(seed) * 7919 + r * 104729 + n)
        K = torch.randn(n, n, generator=g, dtype=torch.float64)
        C0[:, r] = C0[:, r] @ torch.linalg.matrix_exp(K - K.T)
    return C0.reshape(P * R, n, n)


def _align(A, B, iters, lr, restarts, seed) -> np.ndarray:
    """The optimiser of :func:`align_operators`, run in the frame of each C.

    The same iteration as :func:`_align_reference` (the former implementation), with
    the state held as ``Ã = Cᵀ A C`` instead of C: the alignment is ⟨Ã, B⟩, the
    body-frame gradient ``Cᵀ∇_C f = Ã Bᵀ + Ãᵀ B``, and a step ``C ← C Q`` becomes
    ``Ã ← Qᵀ Ã Q`` with the Cayley factor ``Q = (I − S)⁻¹(I + S) = 2 (I − S)⁻¹ − I``:
    four n × n products and one inverse per step instead of seven products and a solve.
    The products run in numpy (about 2× faster than torch's bmm for stacks of 15 × 15
    matrices), the inverse in torch. Adam's moments are kept for 2g (the skew part
    W − Wᵀ without the halving; power-of-two scalings are exact), and the bias
    corrections are folded into one scale. Results differ from the reference by
    rounding only, which the non-convex iteration amplifies to at most 4e-8 rad on 62
    real pairs (tested to 1e-6 rad).
    """
    A_np = np.asarray(A, dtype=np.float64)
    B_np = np.asarray(B, dtype=np.float64)
    P, n, _ = A_np.shape
    R = int(restarts)
    C = _starts(A_np, B_np, R, seed).numpy()
    # batch layout: pair-major, restart-minor
    A_b = np.repeat(A_np, R, axis=0)
    B_b = np.repeat(B_np, R, axis=0)
    B_bT = np.ascontiguousarray(B_b.transpose(0, 2, 1))
    At = C.transpose(0, 2, 1) @ A_b @ C                  # Ã = Cᵀ A C
    m = np.zeros_like(At)                                # Adam moments of G = 2g
    v = np.zeros_like(At)
    W, G, tmp, X = (np.empty_like(At) for _ in range(4))
    diag = np.arange(n)
    b1, b2, eps = 0.9, 0.999, 1e-8
    best = np.full(P * R, -np.inf)
    for t in range(1, iters + 1):
        np.maximum(best, np.einsum("bij,bij->b", At, B_b), out=best)
        np.matmul(At, B_bT, out=W)                        # W = Ã Bᵀ + Ãᵀ B
        W += np.matmul(At.transpose(0, 2, 1), B_b, out=tmp)
        np.subtract(W, W.transpose(0, 2, 1), out=G)       # G = 2 skew(W)
        m *= b1
        np.multiply(G, 1 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(G, G, out=tmp)
        tmp *= 1 - b2
        v += tmp
        # X = (I − S)/2 with S = (lr/2) m̂ / (sqrt(v̂) + ε) the reference's step
        c1 = 1 - b1 ** t
        np.sqrt(v, out=tmp)
        tmp *= -4.0 * c1 / (lr * np.sqrt(1 - b2 ** t))
        tmp -= 8.0 * c1 * eps / lr
        np.divide(m, tmp, out=X)
        X[:, diag, diag] += 0.5
        # 2 (I − S)⁻¹, through the transposes so that LAPACK needs no copies
        Q = torch.linalg.inv_ex(torch.from_numpy(X).mT)[0].mT.numpy()
        Q[:, diag, diag] -= 1.0                                      # Cayley factor
        At = Q.transpose(0, 2, 1) @ At @ Q
    np.maximum(best, np.einsum("bij,bij->b", At, B_b), out=best)
    return best.reshape(P, R).max(axis=1)


def _align_reference(A, B, iters, lr, restarts, seed) -> np.ndarray:
    """The former implementation of :func:`_align` (C tracked in torch), kept as the reference.

    Same starts and iteration; the tests and ``tests/benchmarks/bench_dsa.py`` compare
    :func:`_align` against it. ``align_operators(..., reference=True)`` runs it.
    """
    A_np = np.asarray(A, dtype=np.float64)
    B_np = np.asarray(B, dtype=np.float64)
    A_t = torch.as_tensor(A_np)
    B_t = torch.as_tensor(B_np)
    P, n, _ = A_t.shape
    R = int(restarts)
    eye = torch.eye(n, dtype=torch.float64)
    C = _starts(A_np, B_np, R, seed)
    A_b = A_t.repeat_interleave(R, dim=0)
    B_b = B_t.repeat_interleave(R, dim=0)
    A_bT = A_b.transpose(-1, -2).contiguous()
    B_bT = B_b.transpose(-1, -2).contiguous()
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
    #: 2: the Gram / Rayleigh–Ritz fit of A (same A to rounding; cached states recomputed)
    version = 2
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
        todo = [(i, j) for i in range(k) for j in range(i + 1, k)
                if not _same_input(states[i], states[j])]
        D = self._angular_pairs(states, states, todo, (k, k))
        return np.maximum(D, D.T)  # each pair was solved once, above the diagonal

    def cross(self, items_a: Sequence[State | Any], items_b: Sequence[State | Any]) -> np.ndarray:
        """Every network of ``items_a`` against every one of ``items_b``, the angular
        alignments batched as in :meth:`pairwise` (the same value per pair: batching
        never changes a result, :func:`align_operators`)."""
        if self._params["score"] == "wasserstein":
            return super().cross(items_a, items_b)
        states_a, states_b = self._states_of_both(items_a, items_b)
        todo = [(i, j) for i in range(len(states_a)) for j in range(len(states_b))
                if not _same_input(states_a[i], states_b[j])]
        return self._angular_pairs(states_a, states_b, todo, (len(states_a), len(states_b)))

    def _angular_pairs(self, states_a: Sequence[State], states_b: Sequence[State],
                       todo: list[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
        """``D[i, j]`` for each ``(i, j)`` of ``todo`` (0 elsewhere): pairs grouped by padded
        operator size so that each batch of at most PAIR_BLOCK pairs has one matrix size."""
        D = np.zeros(shape)
        groups: dict[int, list[tuple[int, int]]] = {}
        for i, j in todo:
            n = max(states_a[i]["A_unit"].shape[0], states_b[j]["A_unit"].shape[0])
            groups.setdefault(n, []).append((i, j))
        for idx in groups.values():
            for s in range(0, len(idx), PAIR_BLOCK):
                block = idx[s:s + PAIR_BLOCK]
                pairs = [self._ordered(states_a[i], states_b[j]) for i, j in block]
                d = self._angular_batch(pairs)
                for (i, j), v in zip(block, d):
                    D[i, j] = max(float(v), 0.0)
        return D
