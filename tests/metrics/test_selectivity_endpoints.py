"""selectivity and endpoints: invariances, closed forms, brute force, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from simbench.metrics import get_metric
from simbench.metrics.conformance import check_metric, trajectories
from simbench.metrics.selectivity import (
    random_orthogonal,
    registration_residual,
    selectivity_cloud,
)


@pytest.fixture(scope="module")
def recordings():
    rng = np.random.default_rng(5)
    X = trajectories(rng, 16, n_conditions=4, n_time=30)
    Y = trajectories(rng, 12, n_conditions=4, n_time=30)
    return X, Y


# ----------------------------------------------------------------------- selectivity ---
def test_permuted_and_rotated_copy_scores_zero(recordings):
    X, Y = recordings
    rng = np.random.default_rng(0)
    m = get_metric("selectivity")
    R = random_orthogonal(rng, 1, X.shape[0])[0]  # rotates every unit's response profile
    copy = (R @ X)[:, rng.permutation(X.shape[1])] * 2.5
    assert m(X, copy) < 1e-10
    assert m(copy, Y) == pytest.approx(m(X, Y), abs=1e-10)
    a = m.prepare(X)
    assert m._distance(a, m.prepare(X.copy())) < 1e-12  # the formula itself, not the identical-input shortcut


def test_icp_recovers_a_rotated_permuted_cloud():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((25, 3)) * [2.0, 1.0, 0.5]
    B = (A @ random_orthogonal(rng, 1, 3)[0])[rng.permutation(25)]
    assert registration_residual(B, A, restarts=60) < 1e-10
    noisy = B + 0.1 * rng.standard_normal(B.shape)  # a pair with no exact fit: order must not matter
    r = registration_residual(noisy, A)
    assert r > 0.01 and registration_residual(noisy[::-1], A) == pytest.approx(r, abs=1e-12)


def test_icp_equals_a_brute_force_search_over_planar_rotations():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((15, 2)), rng.standard_normal((11, 2))
    theta = np.linspace(0.0, 2 * np.pi, 6000, endpoint=False)
    c, s = np.cos(theta), np.sin(theta)
    rotations = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], 1)  # [θ, 2, 2]
    grid = np.concatenate([rotations, rotations * [[1.0], [-1.0]]])  # and the reflections
    d2 = (((A @ grid)[:, :, None, :] - B[None, None]) ** 2).sum(-1)  # [Q, 15, 11]
    brute = np.sqrt(d2.min(-1).mean(-1)).min()
    icp = registration_residual(A, B, restarts=60, seed=3)
    step = theta[1] * np.linalg.norm(A, axis=1).max()  # how far a grid point can be from the optimum
    assert brute - step <= icp <= brute + 1e-12


def test_distance_is_the_mean_of_both_directions(recordings):
    X, Y = recordings
    m = get_metric("selectivity:restarts=20,seed=4")
    A, B = m.prepare(X)["cloud"], m.prepare(Y)["cloud"]
    one_way = registration_residual(A, B, 20, 100, 4), registration_residual(B, A, 20, 100, 4)
    assert one_way[0] != pytest.approx(one_way[1])  # 16 points onto 12 and back differ
    assert m(X, Y) == m(Y, X) == pytest.approx(np.mean(one_way), abs=1e-15)


def test_rotating_the_units_is_seen_unlike_procrustes(recordings):
    X, _ = recordings
    mixed = X @ random_orthogonal(np.random.default_rng(6), 1, X.shape[1])[0]
    assert get_metric("procrustes")(X, mixed) < 1e-7
    assert get_metric("selectivity")(X, mixed) > 0.05


def test_cloud_is_centred_unit_variance_with_fixed_signs(recordings):
    X, _ = recordings
    Z = selectivity_cloud(X, 10)
    assert Z.shape == (16, 10)
    np.testing.assert_allclose(Z.mean(0), 0.0, atol=1e-12)
    assert (Z ** 2).sum(1).mean() == pytest.approx(1.0)
    assert ((Z ** 3).sum(0) >= 0).all()
    variances = Z.var(0)
    assert np.all(np.diff(variances) <= 1e-12)  # principal axes, largest first
    assert selectivity_cloud(X[:, :4], 10).shape == (4, 3)  # 4 points span 3 dimensions


def test_selectivity_refuses_bad_input(recordings):
    X, _ = recordings
    m = get_metric("selectivity")
    with pytest.raises(ValueError, match="selectivity: Y has 1 unit; .* at least 2 units"):
        m(X, X[:, :1])
    same = np.repeat(X[:, :1], 5, axis=1)
    with pytest.raises(ValueError, match="selectivity: X has zero variance across units"):
        m(same, X)
    with pytest.raises(ValueError, match="contains NaN"):
        m.prepare(np.where(np.eye(*X.shape) > 0, np.nan, X))
    with pytest.raises(ValueError, match="parameter 'restarts'"):
        get_metric("selectivity:restarts=0")


# ------------------------------------------------------------------------- endpoints ---
def _embed(config, rng, units=6, n_time=7):
    """A recording whose condition c ends at config[c] (2-D) seen through random units."""
    C = len(config)
    W = random_orthogonal(rng, 1, units)[0][:2]  # orthonormal rows: 2-D plane in unit space
    X = rng.standard_normal((C, n_time, units))  # earlier time steps are irrelevant
    X[:, -1] = config @ W + rng.standard_normal(units)
    return X.reshape(C * n_time, units)


def test_endpoints_equals_the_planar_procrustes_closed_form():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    X, Y = _embed(a, rng), _embed(b, rng)
    za = (a[:, 0] + 1j * a[:, 1]) - (a[:, 0] + 1j * a[:, 1]).mean()
    zb = (b[:, 0] + 1j * b[:, 1]) - (b[:, 0] + 1j * b[:, 1]).mean()
    # best rotation |<za, zb>|, best reflection |<za, conj zb>|
    aligned = max(abs(np.vdot(za, zb)), abs(np.vdot(za, zb.conj())))
    na, nb = np.linalg.norm(za), np.linalg.norm(zb)
    angular = get_metric("endpoints:n_conditions=5")
    euclidean = get_metric("endpoints:n_conditions=5,score=euclidean")
    assert angular(X, Y) == pytest.approx(np.arccos(aligned / (na * nb)), abs=1e-12)
    assert euclidean(X, Y) == pytest.approx(np.sqrt(na ** 2 + nb ** 2 - 2 * aligned), abs=1e-12)
    rotated = b @ np.array([[0.6, -0.8], [0.8, 0.6]]) * 3.0 + 1.0
    assert angular(Y, _embed(rotated, rng)) < 1e-7


def test_endpoints_with_one_component_is_the_angle_between_first_pc_scores():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((6, 2)) * [3.0, 1.0], rng.standard_normal((6, 2)) * [3.0, 1.0]
    X, Y = _embed(a, rng), _embed(b, rng)

    def first_scores(c):
        U, s, _ = np.linalg.svd(c - c.mean(0))
        return U[:, 0] * s[0]

    fa, fb = first_scores(a), first_scores(b)
    # in one dimension the orthogonal group is {+1, -1}: the angle between ±fa and fb
    expected = np.arccos(abs(fa @ fb) / (np.linalg.norm(fa) * np.linalg.norm(fb)))
    assert get_metric("endpoints:n_conditions=6,n_components=1")(X, Y) == pytest.approx(expected, abs=1e-12)


def test_endpoints_needs_the_trajectory_structure(recordings):
    X, Y = recordings
    with pytest.raises(ValueError, match="endpoints: n_conditions is not set"):
        get_metric("endpoints")(X, Y)
    with pytest.raises(ValueError, match="X has 120 samples, not divisible by n_conditions=7"):
        get_metric("endpoints:n_conditions=7")(X, Y)
    X_flat = X.reshape(4, 30, -1).copy()
    X_flat[:, -1] = X_flat[0, -1]
    with pytest.raises(ValueError, match="Y has zero variance across its 4 endpoints"):
        get_metric("endpoints:n_conditions=4")(X, X_flat.reshape(120, -1))
    from simbench.bench.run import with_trajectory_structure  # how simbench run configures it

    configured = with_trajectory_structure(get_metric("endpoints"), 4)
    assert configured.params["n_conditions"] == 4
    assert configured(X, Y) == get_metric("endpoints:n_conditions=4")(X, Y)


@pytest.mark.parametrize("spec", ["selectivity:restarts=10", "endpoints:n_conditions=4,score=euclidean"])
def test_conformance_for_another_seed(spec):
    check_metric(get_metric(spec), rng_seed=3)
