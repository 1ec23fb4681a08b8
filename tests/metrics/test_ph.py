"""Persistent homology metric ``ph``: known diagrams, invariances, subsampling bound."""

from __future__ import annotations

import numpy as np
import pytest

from simbench.metrics import get_metric
from simbench.metrics.ph import diagram_distance, diagrams, normalise_cloud


def circle(rng, n=200, noise=0.05, d=6, radius=1.0, centre=(0.0, 0.0)):
    t = rng.uniform(0, 2 * np.pi, n)
    P = np.column_stack([radius * np.cos(t) + centre[0], radius * np.sin(t) + centre[1]])
    P = P + noise * rng.standard_normal(P.shape)
    return np.column_stack([P, noise * rng.standard_normal((n, d - 2))])


def two_circles(rng, n=200, noise=0.05, d=6):
    a = circle(rng, n // 2, noise, d, centre=(-1.6, 0.0))
    b = circle(rng, n - n // 2, noise, d, centre=(1.6, 0.0))
    return np.concatenate([a, b])


def sphere(rng, n=200, noise=0.02, d=4):
    P = rng.standard_normal((n, 3))
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    P = P + noise * rng.standard_normal(P.shape)
    return np.column_stack([P, noise * rng.standard_normal((n, d - 3))])


def lifetimes(D):
    return np.sort(D[:, 1] - D[:, 0])[::-1] if len(D) else np.zeros(0)


def test_h0_of_points_on_a_line_has_the_gap_lengths_as_deaths():
    # H0 deaths of a Rips filtration are the edge lengths of the minimum spanning tree
    X = np.array([[0.0], [1.0], [3.0], [6.0]])
    dgms, _, used = diagrams(X, max_dim=0, n_perm=None)
    assert used == 4
    np.testing.assert_allclose(np.sort(dgms[0][:, 1]), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(dgms[0][:, 0], 0.0)


def test_noisy_circle_has_one_dominant_h1_bar():
    rng = np.random.default_rng(0)
    m = get_metric("ph")
    s = m.prepare(circle(rng, 300, noise=0.05))
    life = lifetimes(s["dgm1"])
    assert len(life) >= 1
    # radius 1 circle at RMS radius ~1: the loop is born near 0 and dies near sqrt(3)
    assert life[0] > 1.0
    assert life[0] > 10 * (life[1] if len(life) > 1 else 0.0)
    assert s["dgm0"].shape[1] == 2 and np.all(np.isfinite(s["dgm0"]))  # infinite bar dropped
    assert len(s["dgm0"]) == s["n_points"] - 1


def test_two_circles_have_two_dominant_h1_bars():
    rng = np.random.default_rng(1)
    s = get_metric("ph").prepare(two_circles(rng, 300))
    life = lifetimes(s["dgm1"])
    assert life[1] > 5 * life[2]


def test_sphere_has_one_dominant_h2_bar():
    rng = np.random.default_rng(2)
    m = get_metric("ph:max_dim=2,n_perm=0")
    s = m.prepare(sphere(rng, 150))
    life2 = lifetimes(s["dgm2"])
    assert len(life2) >= 1
    assert life2[0] > 0.3
    assert life2[0] > 5 * (life2[1] if len(life2) > 1 else 0.0)
    # and no dominant loop: the sphere is simply connected
    life1 = lifetimes(s["dgm1"])
    assert (life1[0] if len(life1) else 0.0) < 0.5 * life2[0]


@pytest.mark.parametrize("distance", ["wasserstein", "bottleneck"])
def test_rotated_shifted_rescaled_copy_is_at_distance_zero(distance):
    rng = np.random.default_rng(3)
    X = circle(rng, 250, noise=0.1)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    Xt = 4.2 * X @ Q + rng.standard_normal(6)
    m = get_metric(f"ph:distance={distance}")
    assert m(X, Xt) == pytest.approx(0.0, abs=1e-9)
    # also a reordering of the units
    assert m(X, X[:, ::-1]) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("spec", ["ph", "ph:distance=wasserstein,h0_weight=0"])
def test_circle_vs_two_circles_is_farther_than_circle_vs_noisier_circle(spec):
    rng = np.random.default_rng(4)
    m = get_metric(spec)
    c = m.prepare(circle(rng, 300, noise=0.05))
    noisier = m.prepare(circle(rng, 300, noise=0.1))
    two = m.prepare(two_circles(rng, 300, noise=0.05))
    d_noise, d_two = m.distance(c, noisier), m.distance(c, two)
    assert d_two > 2 * d_noise
    # the H1 term alone tells them apart too
    assert m.dimension_distances(c, two)[1] > 2 * m.dimension_distances(c, noisier)[1]


def test_wasserstein_order_1_on_h0_measures_sampling_density():
    """The documented pitfall: W1 sums over all n - 1 H0 bars."""
    rng = np.random.default_rng(4)
    m = get_metric("ph:distance=wasserstein,order=1")
    c = m.prepare(circle(rng, 300, noise=0.05))
    noisier = m.prepare(circle(rng, 300, noise=0.1))
    two = m.prepare(two_circles(rng, 300, noise=0.05))
    assert m.dimension_distances(c, noisier)[0] > m.dimension_distances(c, two)[0]


def test_subsampled_diagrams_are_within_the_stability_bound():
    """Rips stability: d_B(Dgm(X), Dgm(L)) <= 2 d_H(X, L) = 2 r_cover for landmarks L."""
    rng = np.random.default_rng(5)
    X = normalise_cloud(circle(rng, 500, noise=0.1))
    full, _, n_full = diagrams(X, max_dim=1, n_perm=None)
    sub, r_cover, n_sub = diagrams(X, max_dim=1, n_perm=100)
    assert (n_full, n_sub) == (500, 100)
    assert r_cover > 0
    for k in range(2):
        assert diagram_distance(full[k], sub[k], "bottleneck") <= 2 * r_cover + 1e-12


def test_gudhi_distances_agree_with_persim_and_a_hand_computed_value():
    # one bar (0, 2) vs nothing: L-infinity distance to the diagonal = 1
    D1, D0 = np.array([[0.0, 2.0]]), np.zeros((0, 2))
    assert diagram_distance(D1, D0, "bottleneck") == pytest.approx(1.0)
    assert diagram_distance(D1, D0, "wasserstein") == pytest.approx(1.0)
    # (0, 2) vs (0.5, 2): matched, L-infinity cost 0.5
    assert diagram_distance(D1, np.array([[0.5, 2.0]]), "wasserstein") == pytest.approx(0.5)
    persim = pytest.importorskip("persim")
    rng = np.random.default_rng(6)
    m = get_metric("ph:n_perm=80")
    a, b = m.prepare(circle(rng, 200)), m.prepare(two_circles(rng, 200))
    for k in (0, 1):
        ours = diagram_distance(a[f"dgm{k}"], b[f"dgm{k}"], "bottleneck")
        assert ours == pytest.approx(persim.bottleneck(a[f"dgm{k}"], b[f"dgm{k}"]), abs=1e-9)
        ours_w = diagram_distance(a[f"dgm{k}"], b[f"dgm{k}"], "wasserstein", order=1.0,
                                  internal_p=2.0)  # persim: order 1, Euclidean ground metric
        assert ours_w == pytest.approx(persim.wasserstein(a[f"dgm{k}"], b[f"dgm{k}"]), rel=1e-6)


def test_parameters_and_bad_input():
    with pytest.raises(ValueError, match="max_dim=2 needs n_perm <= 300"):
        get_metric("ph:max_dim=2,n_perm=500")
    m = get_metric("ph:max_dim=2,n_perm=0")
    with pytest.raises(ValueError, match="only affordable for <= 300 points"):
        m.prepare(np.random.default_rng(0).standard_normal((301, 3)))
    with pytest.raises(ValueError, match="zero spread"):
        get_metric("ph").prepare(np.ones((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        X = np.random.default_rng(0).standard_normal((10, 3))
        X[2, 1] = np.nan
        get_metric("ph").prepare(X)
    # fewer points than n_perm: the full cloud is used
    s = get_metric("ph").prepare(np.random.default_rng(0).standard_normal((40, 3)))
    assert s["n_points"] == 40


def test_a_square_point_cloud_is_read_as_points_and_quietly():
    """ripser warns when a point cloud happens to be square (n points in n dimensions);
    simbench always passes points: the diagrams are those of the Euclidean distances."""
    import warnings

    from ripser import ripser
    from scipy.spatial.distance import pdist, squareform

    from simbench.metrics.ph import _diagrams_ripser

    X = np.random.default_rng(3).normal(size=(6, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dgms, _, used = _diagrams_ripser(X, max_dim=1, n_perm=None)
    expected = ripser(squareform(pdist(X)), maxdim=1, distance_matrix=True)["dgms"]
    assert used == 6
    for got, want in zip(dgms, expected):
        np.testing.assert_allclose(got, want[np.isfinite(want).all(1)], rtol=1e-12)
