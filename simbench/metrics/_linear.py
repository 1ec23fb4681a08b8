"""Shared linear algebra of the CCA / shape family: partial whitening and nuclear norms.

Every metric of the family reduces to the same per-pair quantity: the singular values
of the cross product ``X̃ᵀỸ`` of two per-network transformed recordings. The per-pair
path computes them with one small SVD; :func:`cross_singular_values` computes them for
all pairs at once with blocked matrix products and batched SVDs, and
:func:`block_singular_values` for every pair of two lists (the same kernel on two
stacks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simbench.metrics.base import Metric, State

#: Default floor on normalised covariance eigenvalues (relative to their mean).
EIG_FLOOR = 1e-6


def centre(X: np.ndarray) -> np.ndarray:
    """Subtract the column means."""
    return X - X.mean(axis=0, keepdims=True)


def principal_coordinates(Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred data on its principal axes: ``(P, λ)`` with ``P = Xc V`` and ``λ`` the
    eigenvalues of ``C = XcᵀXc/n = V diag(λ) Vᵀ`` belonging to the columns of P.

    For d ≤ n (units ≤ samples), V is the full eigenbasis of C (``np.linalg.eigh``, λ
    ascending) and P is [n, d]. For d > n, C has at most n nonzero eigenvalues: the
    thin SVD ``Xc = U S Wᵀ`` gives ``P = U S`` [n, n] and ``λ = s²/n`` (descending), and
    the d − n directions left out carry no data (their eigenvalue is exactly 0). Either
    way ``P Pᵀ = Xc Xcᵀ``, so every metric of the family (a function of the transformed
    data up to an orthogonal map of the units) is unchanged, and wide recordings cost
    O(n²d) once instead of O(d³) per network and per pair.
    """
    n, d = Xc.shape
    if d <= n:
        lam, V = np.linalg.eigh((Xc.T @ Xc) / n)
        return Xc @ V, lam
    U, sv, _ = np.linalg.svd(Xc, full_matrices=False)
    return U * sv[None, :], sv ** 2 / n


def partial_whiten(Xc: np.ndarray, alpha: float, floor: float = EIG_FLOOR,
                   label: str = "X", metric_id: str = "shape") -> tuple[np.ndarray, dict]:
    """Partially whiten centred data, preserving its Frobenius norm.

    With ``C = XᵀX/n = V diag(λ) Vᵀ`` and ``λ̂ = max(λ / mean(λ), floor)`` (the mean over
    all d eigenvalues), the transformed data is ``X̃ = c · X V diag(α + (1−α) λ̂^{-1/2})``,
    where ``c`` makes ``‖X̃‖_F = ‖X‖_F``. α = 1 leaves X unchanged, α = 0 whitens it fully
    (then ``X̃ᵀX̃/n`` is a multiple of the identity on the non-floored directions). With
    more units than samples X̃ is returned on the principal axes that carry data
    (:func:`principal_coordinates`; for α = 1 too), [samples, samples].

    Deviations from netrep (``netrep.utils.whiten``; :func:`netrep_whiten` reproduces
    it): eigenvalues are normalised by their mean before mixing with the identity, so
    that 0 < α < 1 is invariant to the overall scale of X (netrep mixes the raw
    ``XᵀX``); the floor is relative instead of the absolute ``1e-7``; the norm is
    preserved exactly (netrep's rescaling counts floored directions, among them those of
    zero-padding, as if they carried variance); the trailing ``Vᵀ`` rotation is omitted
    (an orthogonal map of the unit axis that no metric of the family can see).

    Returns ``(X̃, info)`` where ``info`` holds ``rank`` (number of eigenvalues above
    the floor), ``rho_scale`` (for α = 0: the factor with ``X̃ = rho_scale · Q`` and
    ``QᵀQ = I`` on the kept directions, so singular values of ``X̃ᵀỸ`` divided by both
    factors are canonical correlations) and ``sq_norm`` = ‖X̃‖².
    """
    n, d = Xc.shape
    sq_norm = float(np.einsum("ij,ij->", Xc, Xc))
    if sq_norm == 0.0:
        raise ValueError(f"{metric_id}: {label} has zero variance (every unit is constant)")
    if alpha >= 1.0:
        Xw = Xc if d <= n else np.ascontiguousarray(principal_coordinates(Xc)[0])
        return Xw, {"rank": Xw.shape[1], "rho_scale": float("nan"), "sq_norm": sq_norm}
    P, lam = principal_coordinates(Xc)
    mean = float(lam.sum()) / d
    lam_hat = lam / mean
    rank = int(np.count_nonzero(lam_hat > floor))
    lam_hat = np.maximum(lam_hat, floor)
    dvec = alpha + (1.0 - alpha) / np.sqrt(lam_hat)
    Xw = P * dvec[None, :]
    scale = np.sqrt(sq_norm / float(np.einsum("ij,ij->", Xw, Xw)))
    Xw *= scale
    # For α = 0, X V diag(λ̂^{-1/2}) / sqrt(n·mean) has orthonormal (kept) columns.
    rho_scale = scale * np.sqrt(n * mean) if alpha == 0.0 else float("nan")
    return np.ascontiguousarray(Xw), {"rank": rank, "rho_scale": float(rho_scale),
                                      "sq_norm": sq_norm}


#: netrep's absolute floor on the eigenvalues of the raw ``XᵀX`` (``eigval_tol``).
NETREP_EIG_TOL = 1e-7


def netrep_whiten(Xc: np.ndarray, alpha: float, label: str = "X",
                  metric_id: str = "shape") -> tuple[np.ndarray, dict]:
    """netrep's partial whitening (``netrep.utils.whiten``, Williams et al. 2021), with its
    variance rescaling left to the pair (it depends on the zero-padded width).

    netrep pads both recordings with zero units to the larger width D, centres them and,
    unless α > 1 − 10⁻⁷ (then X is used as it is), computes with the eigenvalues of the
    *raw* ``XᵀX = V diag(λ) Vᵀ`` floored at ``t = 1e-7`` (padded directions have λ = 0,
    hence t)::

        X̃ = c · X V diag(α + (1−α) λ^{-1/2}) Vᵀ,
        c² = Σ_D λ / Σ_D g(λ),    g(λ) = (α √λ + 1 − α)²

    (``c`` would preserve ``tr XᵀX`` if every direction carried its floored eigenvalue;
    padded and floored directions carry none, so ‖X̃‖ ≠ ‖X‖ in general). Padding adds
    ``(D − d)·t`` to ``Σλ`` and ``(D − d)·g(t)`` to ``Σg`` and changes nothing else, so
    this returns the unscaled ``X V diag(α + (1−α) λ^{-1/2})`` [samples, d] (``Vᵀ``
    omitted: invisible to the nuclear norms) and, in ``info``: ``width`` d, ``sum_lam``
    and ``sum_g`` over the d own directions, ``pad_lam`` = t and ``pad_g`` = g(t) per
    padded direction (both 0 when X is used unwhitened, so that ``c = 1``), ``sq_norm``
    of the unscaled data and ``rank`` (eigenvalues above t). :func:`netrep_scale` gives
    c² for a pair.
    """
    n, d = Xc.shape
    sq = float(np.einsum("ij,ij->", Xc, Xc))
    if sq == 0.0:
        raise ValueError(f"{metric_id}: {label} has zero variance (every unit is constant)")
    info = {"width": d, "rho_scale": float("nan")}
    if alpha > 1.0 - NETREP_EIG_TOL:
        return Xc, {**info, "rank": d, "sq_norm": sq, "sum_lam": 1.0, "sum_g": 1.0,
                    "pad_lam": 0.0, "pad_g": 0.0}
    lam, V = np.linalg.eigh(Xc.T @ Xc)
    rank = int(np.count_nonzero(lam > NETREP_EIG_TOL))
    lam = np.maximum(lam, NETREP_EIG_TOL)
    Xw = (Xc @ V) * (alpha + (1.0 - alpha) / np.sqrt(lam))[None, :]
    g = (alpha * np.sqrt(lam) + 1.0 - alpha) ** 2
    g_tol = (alpha * np.sqrt(NETREP_EIG_TOL) + 1.0 - alpha) ** 2
    return np.ascontiguousarray(Xw), {
        **info, "rank": rank, "sq_norm": float(np.einsum("ij,ij->", Xw, Xw)),
        "sum_lam": float(lam.sum()), "sum_g": float(g.sum()),
        "pad_lam": NETREP_EIG_TOL, "pad_g": float(g_tol)}


def netrep_scale(a: dict, width) -> np.ndarray:
    """netrep's squared rescaling c² of networks ``a`` (arrays of :func:`netrep_whiten`
    info) zero-padded to ``width`` units."""
    pad = np.asarray(width) - a["width"]
    return (a["sum_lam"] + pad * a["pad_lam"]) / (a["sum_g"] + pad * a["pad_g"])


def singular_values(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Singular values of ``AᵀB`` (descending), the per-pair path."""
    return np.linalg.svd(A.T @ B, compute_uv=False)


def angular_from_nuclear(nuc: np.ndarray | float, sq_a, sq_b):
    """``arccos(‖AᵀB‖_* / (‖A‖ ‖B‖))`` in [0, π]."""
    c = np.asarray(nuc) / np.sqrt(np.asarray(sq_a) * np.asarray(sq_b))
    return np.arccos(np.clip(c, -1.0, 1.0))


def euclidean_from_nuclear(nuc: np.ndarray | float, sq_a, sq_b):
    """``sqrt(‖A‖² + ‖B‖² − 2‖AᵀB‖_*)``: Procrustes distance after optimal rotation."""
    return np.sqrt(np.maximum(np.asarray(sq_a) + np.asarray(sq_b) - 2.0 * np.asarray(nuc), 0.0))


def topk_sum(s: np.ndarray, k) -> np.ndarray:
    """Sum of the ``k`` largest of descending singular values ``s[..., :]`` (k per row)."""
    k = np.asarray(k)
    cs = np.cumsum(s, axis=-1)
    idx = np.clip(k - 1, 0, s.shape[-1] - 1)
    out = np.take_along_axis(cs, idx[..., None], axis=-1)[..., 0] if cs.ndim > 1 else cs[idx]
    return np.where(k > 0, out, 0.0)


def cross_singular_values(mats: Sequence[np.ndarray],
                          reduce: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                          block_width: int = 2048, products: str = "auto") -> np.ndarray:
    """Apply ``reduce(s, i, j)`` to the singular values of every ``Aᵢᵀ Aⱼ`` (i < j).

    ``mats`` are ``[samples, width_i]`` arrays with the same number of rows, zero-padded
    to the largest width D (zero-padding leaves the nonzero singular values unchanged).
    The cross products come from one of two layouts (``products``):

    * ``"stack"``: the matrices stacked once into one ``[N·D, samples]`` float64 array
      (network i in rows ``i·D … i·D + width_i``); for each pair of row blocks (b networks
      each, b·D ≤ ``block_width``; upper block triangle only) one large matrix product
      gives the b×b cross products at once (diagonal blocks, ``A Aᵀ``, go to BLAS syrk at
      half the cost);
    * ``"gram"``: the Gram matrix ``[N·D, N·D]`` of all the networks' columns, accumulated
      over chunks of samples (one syrk per chunk), whose D×D blocks are the cross
      products. Same flops; the memory is (N·D)² instead of N·D·samples, which is what
      lets a suite with long recordings be scored (cddm: 135 000 samples; 154 networks
      of up to 64 units stack to 10.6 GB, their Gram takes 0.8 GB);
    * ``"auto"`` (default): the smaller of the two.

    The products of each pair of row blocks are reshaped to a batch of D×D matrices (only
    i < j inside diagonal blocks) whose singular values come from one batched
    ``np.linalg.svd`` call. ``reduce`` receives the descending singular values ``s``
    ``[pairs, D]`` and the index arrays ``i``, ``j`` of the pairs and returns one number
    per pair. Returns the symmetric ``[N, N]`` matrix with zero diagonal. Products and
    SVDs use numpy's BLAS / LAPACK; the thread count is the caller's to set
    (threadpoolctl). Both layouts agree to rounding (summation order).

    Cost: the products are the same 2·samples·D² flops per pair as a per-pair loop, but
    run as large GEMMs at the machine's matrix-multiply peak (a 64×3200 @ 3200×64
    product reaches about half of it); the 64×64 SVDs add about 40% of the products'
    time at peak. A symmetric eigensolver on the D×D Gram ``MᵀM`` is ≈ 25% faster than
    the SVD but returns small singular values only to ``sqrt(eps)·σ₁`` (measured
    relative error of the nuclear norm up to 4e-10 on ill-conditioned pairs), so the
    SVD is kept.
    """
    N = len(mats)
    out = np.zeros((N, N))
    if N < 2:
        return out
    D = max(m.shape[1] for m in mats)
    block = _block_products(mats, D, products)
    b = max(1, block_width // D)
    starts = list(range(0, N, b))
    for bi, i0 in enumerate(starts):
        i1 = min(N, i0 + b)
        for j0 in starts[bi:]:
            j1 = min(N, j0 + b)
            if i0 == j0:
                ii, jj = np.triu_indices(i1 - i0, k=1)
                if ii.size == 0:
                    continue
            else:
                ii, jj = _all_pairs(i1 - i0, j1 - j0)
            s = _pair_singular_values(block(i0, i1, j0, j1), ii, jj, D)
            gi, gj = ii + i0, jj + j0
            vals = reduce(s, gi, gj)
            out[gi, gj] = vals
            out[gj, gi] = vals
    return out


def _block_products(mats: Sequence[np.ndarray], D: int, products: str) -> Callable:
    """``block(i0, i1, j0, j1)``: the ``[(i1−i0)·D, (j1−j0)·D]`` cross products of networks
    i0…i1 with j0…j1, from the stack or the Gram matrix (:func:`cross_singular_values`)."""
    if products not in ("auto", "stack", "gram"):
        raise ValueError(f"products must be 'auto', 'stack' or 'gram', got {products!r}")
    samples, width = mats[0].shape[0], len(mats) * D
    if products == "gram" or (products == "auto" and samples > width):
        G = _gram(mats, D)
        return lambda i0, i1, j0, j1: G[i0 * D:i1 * D, j0 * D:j1 * D]
    big = _stack(mats, D)
    # a diagonal block is a block times itself, which numpy hands to BLAS syrk (half the flops)
    return lambda i0, i1, j0, j1: big[i0 * D:i1 * D] @ big[j0 * D:j1 * D].T


def _gram(mats: Sequence[np.ndarray], D: int, chunk: int = 4096) -> np.ndarray:
    """``[N·D, N·D]`` Gram matrix of the zero-padded columns of ``mats``, summed over
    chunks of ``chunk`` samples (the full stack is never held)."""
    G = np.zeros((len(mats) * D, len(mats) * D))
    for start in range(0, mats[0].shape[0], chunk):
        part = _stack([m[start:start + chunk] for m in mats], D)
        G += part @ part.T
    return G


def block_singular_values(mats_a: Sequence[np.ndarray], mats_b: Sequence[np.ndarray],
                          reduce: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                          block_width: int = 2048) -> np.ndarray:
    """Apply ``reduce(s, i, j)`` to the singular values of every ``Aᵢᵀ Bⱼ``.

    The kernel of :func:`cross_singular_values` on two stacks: ``mats_a`` and ``mats_b``
    (``[samples, width]``, one number of rows for all) are each stacked zero-padded to
    the largest width D of both, and every pair of row blocks (b networks each, b·D ≤
    ``block_width``) is one matrix product and one batched SVD. ``i`` indexes
    ``mats_a`` and ``j`` ``mats_b``. Returns the ``[len(mats_a), len(mats_b)]`` matrix.
    """
    Na, Nb = len(mats_a), len(mats_b)
    out = np.zeros((Na, Nb))
    if Na == 0 or Nb == 0:
        return out
    D = max(m.shape[1] for m in (*mats_a, *mats_b))
    big_a, big_b = _stack(mats_a, D), _stack(mats_b, D)
    b = max(1, block_width // D)
    for i0 in range(0, Na, b):
        i1 = min(Na, i0 + b)
        for j0 in range(0, Nb, b):
            j1 = min(Nb, j0 + b)
            ii, jj = _all_pairs(i1 - i0, j1 - j0)
            s = _pair_singular_values(big_a[i0 * D:i1 * D] @ big_b[j0 * D:j1 * D].T, ii, jj, D)
            out[ii + i0, jj + j0] = reduce(s, ii + i0, jj + j0)
    return out


def _stack(mats: Sequence[np.ndarray], D: int) -> np.ndarray:
    """``[N·D, samples]``: network k's transposed matrix in rows ``k·D …``, zero-padded to D."""
    big = np.zeros((len(mats) * D, mats[0].shape[0]))
    for k, m in enumerate(mats):
        big[k * D:k * D + m.shape[1]] = m.T
    return big


def _all_pairs(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    return tuple(x.ravel() for x in np.meshgrid(np.arange(n), np.arange(m), indexing="ij"))


def _pair_singular_values(G: np.ndarray, ii: np.ndarray, jj: np.ndarray, D: int) -> np.ndarray:
    """Singular values ``[pairs, D]`` of the D×D blocks ``(ii, jj)`` of the cross products
    ``G`` of two row blocks of networks (``[rows·D, columns·D]``)."""
    G = G.reshape(G.shape[0] // D, D, G.shape[1] // D, D)
    batch = np.ascontiguousarray(G[ii, :, jj, :])  # [pairs, D, D]
    return np.linalg.svd(batch, compute_uv=False)


class CrossProductMetric(Metric):
    """Base of the CCA / shape family: per-network transform, per-pair ``svd(X̃ᵀỸ)``.

    Subclasses implement ``_transform(X) -> (X̃, info)`` (info with ``sq_norm``,
    ``rank``, ``rho_scale``) and ``_from_singular(s, a, b)`` turning descending singular
    values ``s`` ``[pairs, D]`` and per-pair arrays of the two networks' info into
    distances. :meth:`pairwise` is vectorised with :func:`cross_singular_values`,
    :meth:`cross` with :func:`block_singular_values`; both give the per-pair values to
    rounding (≈1e-12).
    """

    def _transform(self, X: np.ndarray) -> tuple[np.ndarray, dict]:
        raise NotImplementedError

    def _from_singular(self, s: np.ndarray, a: dict, b: dict) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, X: np.ndarray) -> dict:
        Xw, info = self._transform(X)
        return {"Xw": Xw, **info}

    #: per-network scalars of the state that :meth:`_from_singular` receives as arrays
    info_keys: tuple[str, ...] = ("sq_norm", "rank", "rho_scale")

    def _info_arrays(self, states: Sequence[State], idx: np.ndarray) -> dict:
        return {k: np.array([states[i].info[k] for i in idx], dtype=float) for k in self.info_keys}

    def _distance(self, a: State, b: State) -> float:
        s = singular_values(a.arrays["Xw"], b.arrays["Xw"])[None, :]
        return float(self._from_singular(s, self._info_arrays([a], np.array([0])),
                                         self._info_arrays([b], np.array([0])))[0])

    def pairwise(self, items: Sequence[State | Any], block_width: int = 2048,
                 products: str = "auto") -> np.ndarray:
        """All-pairs distances with blocked matrix products and batched SVDs (see module;
        ``products``: where the cross products come from, :func:`cross_singular_values`)."""
        states = self._states(items)
        per = self._info_arrays(states, np.arange(len(states)))

        def reduce(s: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
            return self._from_singular(s, {k: v[i] for k, v in per.items()},
                                       {k: v[j] for k, v in per.items()})

        D = cross_singular_values([st.arrays["Xw"] for st in states], reduce, block_width, products)
        return self._zero_identical(D, states)

    def cross(self, items_a: Sequence[State | Any], items_b: Sequence[State | Any],
              block_width: int = 2048) -> np.ndarray:
        """Distances of every network of ``items_a`` to every one of ``items_b`` with
        blocked matrix products and batched SVDs (see module)."""
        states_a, states_b = self._states_of_both(items_a, items_b)
        per_a = self._info_arrays(states_a, np.arange(len(states_a)))
        per_b = self._info_arrays(states_b, np.arange(len(states_b)))

        def reduce(s: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
            return self._from_singular(s, {k: v[i] for k, v in per_a.items()},
                                       {k: v[j] for k, v in per_b.items()})

        D = block_singular_values([st.arrays["Xw"] for st in states_a],
                                  [st.arrays["Xw"] for st in states_b], reduce, block_width)
        return self._zero_identical_cross(D, states_a, states_b)
