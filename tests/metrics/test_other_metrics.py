"""Permutation, CKA, PWCCA, RSA, OT over units, Gromov-Wasserstein and traj-lsq."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_helpers import random_invertible, random_orthogonal, related, structured
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import pdist, squareform
from scipy.stats import pearsonr, spearmanr

from simbench.metrics import get_metric
from simbench.metrics.gw import stratified_sample

PROPS = settings(derandomize=True, max_examples=20, deadline=None)
seeds = st.integers(0, 2**31 - 1)


def pair(seed, n=40, dx=4, dy=4):
    rng = np.random.default_rng(seed)
    X = structured(rng, n=n, d=dx)
    return rng, X, related(rng, X, d=dy)


# ------------------------------------------------------------------ permutation ---
def test_permutation_equals_brute_force_over_permutations():
    rng, X, Y = pair(0, dx=3, dy=4)
    Xc = np.column_stack([X - X.mean(0), np.zeros(len(X))])  # zero-pad to 4 units
    Yc = Y - Y.mean(0)
    best = max(np.sum(Xc * Yc[:, list(p)]) for p in itertools.permutations(range(4)))
    norms = np.linalg.norm(Xc) * np.linalg.norm(Yc)
    assert get_metric("permutation")(X, Y) == pytest.approx(np.arccos(best / norms), abs=1e-12)
    eu = np.sqrt(np.sum(Xc**2) + np.sum(Yc**2) - 2 * best)
    assert get_metric("permutation:score=euclidean")(X, Y) == pytest.approx(eu, abs=1e-12)


def test_permutation_invariances_and_not_rotation():
    rng, X, Y = pair(1)
    m = get_metric("permutation")
    d0 = m(X, Y)
    assert m(X[:, rng.permutation(4)], Y) == pytest.approx(d0, abs=1e-12)
    assert m(X + 3.0, 2.0 * Y) == pytest.approx(d0, abs=1e-9)
    assert m(X, X[:, ::-1]) == pytest.approx(0.0, abs=1e-7)
    Q = random_orthogonal(rng, 4)
    assert m(X, X @ Q) > 0.1
    assert get_metric("procrustes")(X, X @ Q) == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- CKA --
def cka_direct(X, Y, unbiased):
    n = X.shape[0]
    K, L = X @ X.T, Y @ Y.T
    if not unbiased:
        H = np.eye(n) - 1.0 / n
        hs = lambda A, B: np.trace(A @ H @ B @ H)  # noqa: E731
    else:
        def hs(A, B):
            A, B = A.copy(), B.copy()
            np.fill_diagonal(A, 0)
            np.fill_diagonal(B, 0)
            one = np.ones(n)
            return (np.trace(A @ B) + (one @ A @ one) * (one @ B @ one) / ((n - 1) * (n - 2))
                    - 2.0 / (n - 2) * (one @ A @ B @ one)) / (n * (n - 3))
    return hs(K, L) / np.sqrt(hs(K, K) * hs(L, L))


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_cka_matches_kernel_formula(estimator):
    rng, X, Y = pair(2, n=30, dx=4, dy=6)
    m = get_metric("cka", estimator=estimator)
    a, b = m.prepare(X), m.prepare(Y)
    expected = cka_direct(X, Y, estimator == "unbiased")  # uncentred: tests translation too
    assert m.similarity(a, b) == pytest.approx(expected, abs=1e-12)
    assert m(X, Y) == pytest.approx(np.arccos(np.clip(expected, 0, 1)), abs=1e-10)


def test_cka_unbiased_is_clipped_for_unrelated_networks():
    rng = np.random.default_rng(3)
    m = get_metric("cka:estimator=unbiased")
    sims = [m.similarity(m.prepare(rng.standard_normal((20, 3))), m.prepare(rng.standard_normal((20, 3))))
            for _ in range(20)]
    assert min(sims) < 0  # the unbiased estimator goes negative ...
    for _ in range(5):
        X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 3))
        assert 0.0 <= m(X, Y) <= np.pi / 2  # ... the distance stays in [0, π/2]
    with pytest.raises(ValueError, match="at least 4"):
        m.prepare(rng.standard_normal((3, 2)))


def test_cka_invariances_and_not_linear():
    rng, X, Y = pair(4, dx=4, dy=5)
    for est in ("biased", "unbiased"):
        m = get_metric("cka", estimator=est)
        d0 = m(X, Y)
        Q = random_orthogonal(rng, 4)
        assert m(X @ Q * 3.0 + 1.0, Y[:, rng.permutation(5)]) == pytest.approx(d0, abs=1e-9)
        X4 = structured(rng, n=40, d=4, latent=4)
        assert m(X4, X4 @ random_invertible(rng, 4, cond=10)) > 0.05


# ------------------------------------------------------------------------- PWCCA --
def pwcca_direct(X, Y):
    """Independent implementation: QR bases, explicit canonical variates."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Qx, _ = np.linalg.qr(Xc)
    Qy, _ = np.linalg.qr(Yc)
    U, rho, Vt = np.linalg.svd(Qx.T @ Qy)
    k = min(X.shape[1], Y.shape[1])

    def weighted(Q, A, W):
        H = Q @ W[:, :k]
        H /= np.linalg.norm(H, axis=0)
        w = np.abs(H.T @ A).sum(axis=1)
        return np.sum(w * rho[:k]) / w.sum()

    return 1 - 0.5 * (weighted(Qx, Xc, U) + weighted(Qy, Yc, Vt.T))


def test_pwcca_matches_independent_implementation():
    for seed, (dx, dy) in enumerate([(4, 4), (3, 5), (6, 2)]):
        rng, X, Y = pair(10 + seed, n=60, dx=dx, dy=dy)
        assert get_metric("pwcca")(X, Y) == pytest.approx(pwcca_direct(X, Y), abs=1e-9)


def test_pwcca_invariances_and_not_rotation():
    rng, X, Y = pair(5, n=60)
    m = get_metric("pwcca")
    d0 = m(X, Y)
    assert 0.0 < d0 < 1.0
    assert m(5 * X[:, rng.permutation(4)] - 2.0, 0.3 * Y) == pytest.approx(d0, abs=1e-10)
    Q = random_orthogonal(rng, 4)
    assert abs(m(X @ Q, Y) - d0) > 1e-4
    assert m(X, X @ Q) == pytest.approx(0.0, abs=1e-9)  # all rho = 1 whatever the weights


# --------------------------------------------------------------------------- RSA --
@pytest.mark.parametrize("rdm,compare", [("correlation", "spearman"), ("euclidean", "pearson"),
                                         ("correlation", "pearson"), ("euclidean", "spearman")])
def test_rsa_matches_scipy(rdm, compare):
    rng, X, Y = pair(6, n=50, dx=4, dy=6)
    m = get_metric("rsa", rdm=rdm, compare=compare, max_items=20)
    idx = np.unique(np.round(np.linspace(0, 49, 20)).astype(int))
    ra = pdist(X[idx], metric=rdm)
    rb = pdist(Y[idx], metric=rdm)
    r = (spearmanr if compare == "spearman" else pearsonr)(ra, rb)[0]
    assert m(X, Y) == pytest.approx(1 - r, abs=1e-10)


def test_rsa_condition_averaging():
    rng = np.random.default_rng(7)
    C, T = 6, 5
    X = rng.standard_normal((C * T, 4))
    Y = rng.standard_normal((C * T, 3))
    m = get_metric("rsa:n_conditions=6,compare=pearson")
    mx = X.reshape(C, T, 4).mean(1)
    my = Y.reshape(C, T, 3).mean(1)
    r = pearsonr(pdist(mx, "correlation"), pdist(my, "correlation"))[0]
    assert m(X, Y) == pytest.approx(1 - r, abs=1e-10)
    with pytest.raises(ValueError, match="not divisible by n_conditions=7"):
        get_metric("rsa:n_conditions=7").prepare(X)
    with pytest.raises(ValueError, match="at least 3"):
        get_metric("rsa:n_conditions=2").prepare(X)


def test_rsa_invariances_and_zero_patterns():
    rng, X, Y = pair(8, n=40)
    Q = random_orthogonal(rng, 4)
    eu = get_metric("rsa:rdm=euclidean")
    assert eu(X @ Q * 2 + 1, Y) == pytest.approx(eu(X, Y), abs=1e-10)
    co = get_metric("rsa")
    assert co(3 * X[:, rng.permutation(4)], Y) == pytest.approx(co(X, Y), abs=1e-10)
    assert abs(co(X @ Q, Y) - co(X, Y)) > 1e-3  # correlation RDM is not rotation-invariant
    Xz = X.copy()
    Xz[0] = 0.0  # e.g. the zero initial state of an RNN
    assert np.isfinite(co(Xz, Y)) and 0 <= co(Xz, Y) <= 2


# -------------------------------------------------------------------- OT (units) --
def test_ot_units_equals_brute_force_assignment():
    rng, X, Y = pair(9, dx=4, dy=4)

    def tuning(A):
        A = A - A.mean(0)
        return (A / np.linalg.norm(A, axis=0)).T

    U, V = tuning(X), tuning(Y)
    best = min(np.mean(np.sum((U - V[list(p)]) ** 2, axis=1))
               for p in itertools.permutations(range(4)))
    assert get_metric("ot-units")(X, Y) == pytest.approx(np.sqrt(best), abs=1e-10)


def test_ot_units_invariances():
    rng, X, Y = pair(10, dx=4, dy=3)
    m = get_metric("ot-units")
    d0 = m(X, Y)
    scales = np.array([0.5, 2.0, 7.0, 1.0])
    assert m(X[:, rng.permutation(4)] * scales + 4.0, Y) == pytest.approx(d0, abs=1e-9)
    assert m(X, np.column_stack([X, X])) == pytest.approx(0.0, abs=1e-7)  # same distribution
    assert m(X, X @ random_orthogonal(rng, 4)) > 0.1  # not rotation-invariant
    dead = np.column_stack([X, np.ones(len(X))])  # a constant unit sits at the origin
    assert np.isfinite(m(dead, Y))


# ------------------------------------------------------------------------------ GW --
def test_gw_properties():
    rng, X, Y = pair(11, n=60)
    m = get_metric("gw:n_samples=25")
    d = m(X, Y)
    assert d > 0 and m(Y, X) == d  # canonical order: exactly symmetric
    Q = random_orthogonal(rng, 4)
    assert m(X, X @ Q * 3.0 + 1.0) == pytest.approx(0.0, abs=1e-6)
    assert m(X @ Q, Y[:, rng.permutation(4)]) == pytest.approx(d, abs=1e-6)
    # Never worse than the coupling given by the sample matching (same rows in both).
    idx = stratified_sample(60, 25, seed=0)
    ca, cb = (squareform(pdist(A[idx]) / pdist(A[idx]).mean()) for A in (X, Y))
    matched = 0.5 * np.sqrt(np.sum((ca - cb) ** 2) / 25**2)
    assert d <= matched + 1e-12


def test_stratified_sample_one_row_per_stratum():
    for n, m in [(60, 25), (135000, 150), (103, 50)]:
        idx = stratified_sample(n, m, seed=3)
        edges = np.round(np.linspace(0, n, m + 1))
        assert len(idx) == m and np.all((edges[:-1] <= idx) & (idx < edges[1:]))
        assert np.array_equal(idx, stratified_sample(n, m, seed=3))
        assert not np.array_equal(idx, stratified_sample(n, m, seed=4))
    assert np.array_equal(stratified_sample(20, 25, seed=0), np.arange(20))
    assert get_metric("gw:n_samples=25,seed=1")(*pair(11, n=60)[1:]) != get_metric(
        "gw:n_samples=25,seed=2")(*pair(11, n=60)[1:])


def gw_local_search(C1, C2):
    """A second implementation of the solver: Frank–Wolfe from the identity coupling.

    For Euclidean distance matrices of equal size and uniform weights the square-loss
    objective is concave on the Birkhoff polytope, so each exact line search ends at a
    vertex: the step goes to the permutation that maximises ⟨C1 T C2, P⟩ (an
    assignment problem) if it lowers the objective.
    """
    n = len(C1)
    f = lambda p: np.mean((C1 - C2[np.ix_(p, p)]) ** 2)  # noqa: E731
    perm = np.arange(n)
    while True:
        _, nxt = linear_sum_assignment(C1 @ np.eye(n)[perm] @ C2, maximize=True)
        if f(nxt) >= f(perm) - 1e-15:
            return f(perm)
        perm = nxt


def test_gw_matches_independent_solver_and_brute_force_bounds():
    m = get_metric("gw:n_samples=10")  # n = 8 samples: every row is kept
    perms = np.array(list(itertools.permutations(range(8))))
    for seed in range(6):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((8, 3))
        Y = rng.standard_normal((8, 4)) if seed % 2 else related(rng, X, d=4)
        C1, C2 = (squareform(pdist(A) / pdist(A).mean()) for A in (X, Y))
        d = m(X, Y)
        assert d == pytest.approx(0.5 * np.sqrt(gw_local_search(C1, C2)), abs=1e-9)
        # The exact GW is attained at a permutation coupling: brute force over all 8!.
        exact = np.mean((C1 - C2[perms[:, :, None], perms[:, None, :]]) ** 2, axis=(1, 2)).min()
        matched = np.mean((C1 - C2) ** 2)
        assert 0.5 * np.sqrt(exact) - 1e-12 <= d <= 0.5 * np.sqrt(matched) + 1e-12


def test_gw_solves_with_one_blas_thread(monkeypatch):
    import ot
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    seen = []
    solve = ot.optim.generic_conditional_gradient  # the solver square_loss_gw runs

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return solve(*args, **kwargs)

    monkeypatch.setattr(ot.optim, "generic_conditional_gradient", spy)
    before = blas_threads()
    get_metric("gw:n_samples=20")(*pair(12, n=30)[1:])
    assert seen and all(t == 1 for t in seen[0]) and blas_threads() == before


# ------------------------------------------------------------------------ traj-lsq --
def test_traj_lsq_matches_lstsq_on_pca():
    from sklearn.decomposition import PCA

    rng, X, Y = pair(12, n=50, dx=6, dy=5)
    k = 3
    Fa = PCA(k).fit_transform(X)
    Fb = PCA(k).fit_transform(Y)

    def r(A, B):
        W, *_ = np.linalg.lstsq(A, B, rcond=None)
        return np.linalg.norm(B - A @ W) / np.linalg.norm(B)

    m = get_metric("traj-lsq", n_components=k)
    assert m(X, Y) == pytest.approx(0.5 * (r(Fa, Fb) + r(Fb, Fa)), abs=1e-10)


def test_traj_lsq_invariances_and_not_linear():
    rng = np.random.default_rng(13)
    X = structured(rng, n=50, d=5, latent=5)
    X = X * np.array([5.0, 3.0, 1.0, 0.3, 0.1])  # distinct principal axes
    m = get_metric("traj-lsq:n_components=2")
    assert m(X, 2.0 * X @ random_orthogonal(rng, 5) + 1.0) == pytest.approx(0.0, abs=1e-9)
    assert m(X, X[:, ::-1]) == pytest.approx(0.0, abs=1e-9)
    assert m(X, X @ random_invertible(rng, 5, cond=50)) > 1e-3
    Y = related(rng, X, d=4)
    assert 0.0 < m(X, Y) <= 1.0


# -------------------------------------------------------------- triangle inequality --
@given(seeds)
@PROPS
def test_triangle_inequality_other_metrics(seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(2, 6, size=3)
    X = structured(rng, n=30, d=int(w[0]))
    Y = related(rng, X, d=int(w[1]), noise=1.0)
    Z = structured(rng, n=30, d=int(w[2]))
    for spec in ("permutation", "permutation:score=euclidean", "cka", "cka:estimator=unbiased",
                 "ot-units"):
        m = get_metric(spec)
        assert m.triangle_inequality
        D = m.pairwise([X, Y, Z])
        for i, j, k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
            assert D[i, j] <= D[i, k] + D[k, j] + 1e-9, spec
