"""CCA / shape family: closed forms, invariances, triangle inequality, sklearn, pairwise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_helpers import random_invertible, random_orthogonal, related, structured
from scipy.linalg import orthogonal_procrustes

from simbench.metrics import get_metric
from simbench.metrics._linear import partial_whiten

PROPS = settings(derandomize=True, max_examples=25, deadline=None)
seeds = st.integers(0, 2**31 - 1)


def orthonormal_columns(rng, n, k):
    """k centred, orthonormal vectors over n samples (columns)."""
    A = rng.standard_normal((n, k))
    A -= A.mean(axis=0)
    Q, _ = np.linalg.qr(A)
    return Q


# ---------------------------------------------------------------- closed forms -----
@given(seeds)
@PROPS
def test_procrustes_of_rotated_copy_is_zero(seed):
    rng = np.random.default_rng(seed)
    X = structured(rng, n=40, d=4)
    Q = random_orthogonal(rng, 4)
    for score in ("angular", "euclidean"):
        m = get_metric("procrustes", score=score)
        assert m(X, X @ Q) == pytest.approx(0.0, abs=1e-6)
        assert m(X, X @ Q + rng.standard_normal(4)) == pytest.approx(0.0, abs=1e-6)


def test_angular_scale_invariance_and_euclidean_scaling():
    rng = np.random.default_rng(0)
    X = structured(rng, n=50, d=4)
    Y = related(rng, X)
    for spec in ("procrustes", "shape:alpha=0.5", "shape:alpha=0.0", "cca", "permutation"):
        m = get_metric(spec)
        assert m(X, 3.7 * X) == pytest.approx(0.0, abs=1e-6)
        assert m(2.0 * X, 0.1 * Y) == pytest.approx(m(X, Y), abs=1e-9)
    for spec in ("procrustes:score=euclidean", "shape:alpha=0.3,score=euclidean",
                 "permutation:score=euclidean"):
        m = get_metric(spec)
        assert m(2.5 * X, 2.5 * Y) == pytest.approx(2.5 * m(X, Y), rel=1e-9)
        assert m(X, 2.0 * X) == pytest.approx(np.linalg.norm(X - X.mean(0)), rel=1e-9)


def test_known_angles_for_orthonormal_columns():
    rng = np.random.default_rng(1)
    U = orthonormal_columns(rng, 30, 4)
    u1, u2, u3, u4 = U.T
    X = np.column_stack([u1, u2])
    Y = np.column_stack([u1, u3])  # XᵀY = diag(1, 0): cos = 1 / (√2 √2)
    W = np.column_stack([u3, u4])  # XᵀW = 0
    proc = get_metric("procrustes")
    assert proc(X, Y) == pytest.approx(np.pi / 3, abs=1e-12)
    assert proc(X, W) == pytest.approx(np.pi / 2, abs=1e-12)
    eu = get_metric("procrustes:score=euclidean")
    assert eu(X, Y) == pytest.approx(np.sqrt(2 + 2 - 2 * 1), abs=1e-12)
    assert eu(X, W) == pytest.approx(2.0, abs=1e-12)
    # Unequal widths (zero padding): X vs [u1] : cos = 1/√2.
    assert proc(X, u1[:, None]) == pytest.approx(np.pi / 4, abs=1e-12)
    # CCA: canonical correlations (1, 0) -> angular arccos(1/2), 1 - mean = 1/2.
    assert get_metric("cca")(X, Y) == pytest.approx(np.pi / 3, abs=1e-9)
    assert get_metric("cca:score=one_minus_mean")(X, Y) == pytest.approx(0.5, abs=1e-9)


def test_cca_known_canonical_correlations():
    rng = np.random.default_rng(2)
    u = orthonormal_columns(rng, 200, 6).T
    rhos = np.array([0.9, 0.5, 0.2])
    X = u[:3].T
    Y = (rhos[:, None] * u[:3] + np.sqrt(1 - rhos[:, None] ** 2) * u[3:]).T
    A = random_invertible(rng, 3, cond=20)
    B = random_invertible(rng, 3, cond=20)
    cca = get_metric("cca")
    got = cca.canonical_correlations(X @ A + 1.0, Y @ B - 2.0)
    np.testing.assert_allclose(got, rhos, atol=1e-10)
    assert get_metric("cca:score=one_minus_mean")(X @ A, Y @ B) == pytest.approx(
        1 - got.mean(), abs=1e-12)
    assert cca(X @ A, Y @ B) == pytest.approx(np.arccos(got.sum() / 3), abs=1e-9)


@given(seeds)
@PROPS
def test_cca_of_invertible_linear_map_is_zero(seed):
    rng = np.random.default_rng(seed)
    X = structured(rng, n=50, d=4, latent=4)
    A = random_invertible(rng, 4, cond=30)
    for spec in ("cca", "cca:score=one_minus_mean", "svcca:keep_variance=1.0",
                 "svcca:keep_variance=1.0,score=angular", "shape:alpha=0.0"):
        assert get_metric(spec)(X, X @ A + 3.0) == pytest.approx(0.0, abs=1e-6), spec
    rho = get_metric("cca").canonical_correlations(X, X @ A)
    np.testing.assert_allclose(rho, 1.0, atol=1e-10)


# ----------------------------------------------------------------- invariances -----
INVARIANT_TO_ROTATION = ["procrustes", "procrustes:score=euclidean", "shape:alpha=0.5",
                         "shape:alpha=0.5,score=euclidean", "shape:alpha=0.0", "cca",
                         "cca:score=one_minus_mean", "svcca", "svcca:score=angular"]


@given(seeds, st.integers(2, 5), st.integers(2, 5))
@PROPS
def test_invariance_rotation_permutation_translation(seed, dx, dy):
    rng = np.random.default_rng(seed)
    X = structured(rng, n=40, d=dx)
    Y = related(rng, X, d=dy)
    Q = random_orthogonal(rng, dx)
    perm = rng.permutation(dy)
    shift = rng.standard_normal(dx) * 5
    for spec in INVARIANT_TO_ROTATION:
        m = get_metric(spec)
        d0 = m(X, Y)
        assert m(X @ Q, Y) == pytest.approx(d0, abs=1e-7), spec
        assert m(X, Y[:, perm]) == pytest.approx(d0, abs=1e-7), spec
        assert m(X + shift, Y) == pytest.approx(d0, abs=1e-7), spec


def test_procrustes_is_not_invariant_to_general_linear_maps():
    rng = np.random.default_rng(4)
    X = structured(rng, n=60, d=4, latent=4)
    A = random_invertible(rng, 4, cond=10)
    assert get_metric("procrustes")(X, X @ A) > 0.05
    assert get_metric("shape:alpha=0.5")(X, X @ A) > 0.01
    assert get_metric("svcca")(X, X @ A) >= 0.0  # may keep fewer directions after the map
    # Partial whitening sits between: monotone in alpha on this pair.
    ds = [get_metric("shape", alpha=a)(X, X @ A) for a in (0.0, 0.5, 1.0)]
    assert ds[0] == pytest.approx(0.0, abs=1e-6) and ds[0] < ds[1] < ds[2]


def test_svcca_with_variance_cut_is_not_linear_invariant_but_cca_is():
    rng = np.random.default_rng(5)
    X = structured(rng, n=80, d=6, latent=2, noise=0.05)
    A = random_invertible(rng, 6, cond=100)
    assert get_metric("cca")(X, X @ A) == pytest.approx(0.0, abs=1e-6)
    assert get_metric("svcca:keep_variance=0.9")(X, X @ A) > 1e-3


# ----------------------------------------------------------- triangle inequality --
TRIANGLE_SPECS = ["procrustes", "procrustes:score=euclidean", "shape:alpha=0.5",
                  "shape:alpha=0.25,score=euclidean", "shape:alpha=0.0", "cca",
                  "svcca:score=angular"]


@given(seeds)
@PROPS
def test_triangle_inequality_on_random_triples(seed):
    rng = np.random.default_rng(seed)
    widths = rng.integers(2, 6, size=3)
    X = structured(rng, n=30, d=int(widths[0]))
    Y = related(rng, X, d=int(widths[1]), noise=1.0)
    Z = structured(rng, n=30, d=int(widths[2]))
    for spec in TRIANGLE_SPECS:
        m = get_metric(spec)
        assert m.triangle_inequality
        D = m.pairwise([X, Y, Z])
        for i, j, k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
            assert D[i, j] <= D[i, k] + D[k, j] + 1e-9, spec


# ------------------------------------------------------- second implementations --
def test_euclidean_procrustes_equals_explicit_rotation():
    rng = np.random.default_rng(6)
    X = structured(rng, n=40, d=4)
    Y = related(rng, X)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    R, _ = orthogonal_procrustes(Yc, Xc)
    expected = np.linalg.norm(Xc - Yc @ R)
    assert get_metric("procrustes:score=euclidean")(X, Y) == pytest.approx(expected, rel=1e-10)
    cos = np.sum(Xc * (Yc @ R)) / (np.linalg.norm(Xc) * np.linalg.norm(Yc))
    assert get_metric("procrustes")(X, Y) == pytest.approx(np.arccos(cos), abs=1e-10)


def test_partial_whitening_matches_definition_and_preserves_norm():
    rng = np.random.default_rng(7)
    X = structured(rng, n=50, d=4, latent=4)
    Xc = X - X.mean(0)
    n = Xc.shape[0]
    for alpha in (0.0, 0.3, 1.0):
        Xw, info = partial_whiten(Xc, alpha)
        assert np.linalg.norm(Xw) == pytest.approx(np.linalg.norm(Xc), rel=1e-12)
        lam, V = np.linalg.eigh(Xc.T @ Xc / n)
        Z = V @ np.diag(alpha + (1 - alpha) / np.sqrt(lam / lam.mean())) @ V.T
        ref = Xc @ Z
        ref *= np.linalg.norm(Xc) / np.linalg.norm(ref)
        # Same representation up to an orthogonal map of the units (invisible to the
        # metrics): equal sample-by-sample Gram matrices.
        np.testing.assert_allclose(Xw @ Xw.T, ref @ ref.T, atol=1e-10)
    Xw, info = partial_whiten(Xc, 0.0)
    Q = Xw / info["rho_scale"]
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-10)
    assert info["rank"] == 4


def test_cca_agrees_with_sklearn():
    from sklearn.cross_decomposition import CCA as SkCCA

    rng = np.random.default_rng(8)
    n = 400
    Z = rng.standard_normal((n, 3))
    noise = np.array([0.2, 0.8, 2.0])  # three clearly separated canonical correlations
    X = Z @ random_invertible(rng, 3, 5) + 0.1 * rng.standard_normal((n, 3))
    Y = (Z + noise * rng.standard_normal((n, 3))) @ random_invertible(rng, 3, 5)
    ours = get_metric("cca").canonical_correlations(X, Y)
    sk = SkCCA(n_components=3, max_iter=5000, tol=1e-12).fit(X, Y)
    xs, ys = sk.transform(X, Y)
    theirs = np.array([abs(np.corrcoef(xs[:, i], ys[:, i])[0, 1]) for i in range(3)])
    assert np.all(np.diff(ours) <= 0)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert get_metric("cca:score=one_minus_mean")(X, Y) == pytest.approx(1 - theirs.mean(), abs=1e-5)


def test_shape_family_consistency():
    rng = np.random.default_rng(9)
    X = structured(rng, n=40, d=3)
    Y = related(rng, X, d=5)
    assert get_metric("shape:alpha=0")(X, Y) == pytest.approx(get_metric("cca")(X, Y), abs=1e-12)
    for score in ("angular", "euclidean"):
        assert get_metric("shape", alpha=1.0, score=score)(X, Y) == get_metric(
            "procrustes", score=score)(X, Y)
    # Angular CCA with equal widths is arccos(mean canonical correlation).
    Y3 = Y[:, :3]
    rho = get_metric("cca").canonical_correlations(X, Y3)
    assert get_metric("cca")(X, Y3) == pytest.approx(np.arccos(rho.mean()), abs=1e-9)


def test_rank_deficient_input_is_regularised():
    rng = np.random.default_rng(10)
    Z = rng.standard_normal((60, 2))
    X = np.column_stack([Z, Z[:, 0] + Z[:, 1]])  # rank 2 in 3 units
    Y = Z @ random_invertible(rng, 2)
    m = get_metric("cca")
    assert m.prepare(X)["rank"] == 2
    assert m.canonical_correlations(X, Y) == pytest.approx([1.0, 1.0], abs=1e-6)
    assert get_metric("cca:score=one_minus_mean")(X, Y) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(m(X, Y))


# ----------------------------------------------------------------- pairwise -------
@pytest.mark.parametrize("spec", ["cca", "cca:score=one_minus_mean", "procrustes",
                                  "procrustes:score=euclidean", "shape:alpha=0.5",
                                  "shape:alpha=0.3,score=euclidean", "svcca",
                                  "svcca:score=angular,keep_variance=0.9"])
def test_vectorised_pairwise_equals_per_pair(spec):
    rng = np.random.default_rng(11)
    nets = [structured(rng, n=50, d=int(d)) for d in (3, 5, 4, 7, 2, 6)]
    nets.append(nets[2].copy())
    m = get_metric(spec)
    states = [m.prepare(X) for X in nets]
    loop = np.zeros((len(nets), len(nets)))
    for i in range(len(nets)):
        for j in range(i + 1, len(nets)):
            loop[i, j] = loop[j, i] = m.distance(states[i], states[j])
    for width in (8, 21, 2048):  # several blocks, ragged edges, one block
        for products in ("stack", "gram"):  # the cross products from the stack or the Gram matrix
            D = m.pairwise(states, block_width=width, products=products)
            np.testing.assert_allclose(D, loop, atol=1e-8, rtol=0)
            assert D[2, 6] == 0.0
    np.testing.assert_allclose(m.pairwise(nets), loop, atol=1e-8, rtol=0)


def test_the_gram_matrix_summed_over_sample_chunks_is_the_stacks_product():
    from simbench.metrics._linear import _gram, _stack

    rng = np.random.default_rng(5)
    mats = [rng.normal(size=(103, w)) for w in (3, 5, 4)]
    stack = _stack(mats, 5)
    np.testing.assert_allclose(_gram(mats, 5, chunk=10), stack @ stack.T, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="products must be"):
        get_metric("cca").pairwise(mats, products="svd")
