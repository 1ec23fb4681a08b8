"""The faster code paths of ``gw``, ``ph`` and ``selectivity`` give the numbers of the old ones.

Each metric keeps the code it replaced as a private function; these tests compare the
two bit for bit (``==`` on floats, ``array_equal`` on arrays), on synthetic inputs with
ties (repeated points) and on recordings of the reference zoo.
``tests/benchmarks/bench_loop_metrics.py`` times them against each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from simbench.metrics import get_metric
from simbench.metrics.gw import _THREADS, _square_loss_gw_pot, square_loss_gw
from simbench.metrics.ph import _diagrams_ripser, diagrams, greedy_permutation, normalise_cloud
from simbench.metrics.selectivity import (_shared_restarts, icp_residuals, registration_residual,
                                          restart_rotations)
from simbench.zoo.store import load_zoo

REFERENCE_ZOO = Path(__file__).resolve().parents[2] / "zoo" / "reference"


@pytest.fixture(scope="module")
def memory3():
    """Recordings (float32, 4800 × 32) of three passing memory3 networks of the reference zoo."""
    if not (REFERENCE_ZOO / "manifest.csv").exists():
        pytest.skip("no reference zoo")
    kept = load_zoo(REFERENCE_ZOO).filter(suite="memory3", passed=True)
    return [kept.recording(i).samples() for i in list(kept.ids)[:3]]


def with_repeats(rng, n, d):
    """A cloud in which a third of the points are copies of others (ties everywhere)."""
    X = rng.standard_normal((n, d))
    copies = rng.integers(0, n, n // 3)
    X[rng.integers(0, n, n // 3)] = X[copies]
    return X


# ---------------------------------------------------------------------------------- gw --
def test_gw_solver_gives_pots_value_bit_for_bit(memory3):
    rng = np.random.default_rng(0)
    matrices = []
    for m in (4, 9, 25, 40):
        for make in (lambda: rng.standard_normal((m, 3)), lambda: with_repeats(rng, m, 5)):
            A, B = make(), make()
            matrices.append([squareform(pdist(X) / pdist(X).mean()) for X in (A, B)])
    metric = get_metric("gw")
    states = sorted((metric.prepare(X) for X in memory3), key=lambda s: s["key"])
    matrices += [[states[i]["C"], states[j]["C"]] for i, j in ((0, 1), (0, 2), (1, 2))]
    with _THREADS.limit(limits=1, user_api="blas"):
        for C1, C2 in matrices:
            assert square_loss_gw(C1, C2) == _square_loss_gw_pot(C1, C2)
        # (inside the limit: the metric solves with one BLAS thread, and a product split
        # over two threads can round differently)
        a, b = states[0], states[1]
        assert metric.distance(a, b) == 0.5 * np.sqrt(max(_square_loss_gw_pot(a["C"], b["C"]), 0.0))


# ---------------------------------------------------------------------------------- ph --
def test_greedy_permutation_is_ripsers_bit_for_bit():
    from ripser.ripser import get_greedy_perm

    X = normalise_cloud(with_repeats(np.random.default_rng(1), 900, 6))
    for n_perm in (2, 40, 300):
        landmarks, cover, dm = greedy_permutation(X, n_perm)
        idx, lambdas, dperm2all = get_greedy_perm(X, n_perm=n_perm)
        assert np.array_equal(landmarks, idx) and cover == lambdas[-1]
        assert dm.dtype == np.float32 and np.array_equal(dm, dperm2all[:, idx].astype(np.float32))


def same_diagrams(a, b):
    return a[1:] == b[1:] and all(np.array_equal(p, q) for p, q in zip(a[0], b[0], strict=True))


def test_ph_diagrams_are_ripsers_bit_for_bit(memory3):
    rng = np.random.default_rng(2)
    X = normalise_cloud(with_repeats(rng, 700, 4))
    for max_dim, n_perm in ((0, 300), (1, 120), (1, None), (2, 50)):
        Y = X[:200] if n_perm is None else X
        assert same_diagrams(diagrams(Y, max_dim, n_perm), _diagrams_ripser(Y, max_dim, n_perm))
    cloud = normalise_cloud(np.asarray(memory3[0], dtype=np.float64))
    new, old = diagrams(cloud, 1, 300), _diagrams_ripser(cloud, 1, 300)
    assert same_diagrams(new, old) and len(new[0][0]) == 299
    state = get_metric("ph").prepare(memory3[0])
    assert all(np.array_equal(state[f"dgm{k}"], old[0][k]) for k in (0, 1))
    assert state["cover_radius"] == old[1] and state["n_points"] == 300
    # a float32 cloud still goes through ripser's own landmarks (its distances upcast)
    assert same_diagrams(diagrams(cloud[:800].astype(np.float32), 1, 100),
                         _diagrams_ripser(cloud[:800].astype(np.float32), 1, 100))


# ------------------------------------------------------------------------- selectivity --
def old_registration_residual(A, B, restarts=60, max_iter=100, seed=0):
    """``registration_residual`` before the restarts were shared: drawn and padded per call."""
    K = max(A.shape[1], B.shape[1])
    A, B = (np.pad(C, ((0, 0), (0, K - C.shape[1]))) for C in (A, B))
    rms, _, _ = icp_residuals(A, B, restart_rotations(K, restarts, seed), max_iter)
    return float(rms.min())


def test_selectivity_shared_restarts_give_the_old_residuals(memory3):
    rng = np.random.default_rng(3)
    clouds = [rng.standard_normal((n, k)) for n, k in ((20, 4), (33, 6), (12, 6), (25, 3))]
    metric = get_metric("selectivity")
    clouds += [metric.prepare(X)["cloud"] for X in memory3]
    for i, A in enumerate(clouds):
        for B in clouds[i + 1:]:
            for options in ((60, 100, 0), (7, 5, 2)):
                assert registration_residual(A, B, *options) == old_registration_residual(A, B, *options)
                assert registration_residual(B, A, *options) == old_registration_residual(B, A, *options)
    shared = _shared_restarts(10, 60, 0)
    assert not shared.flags.writeable and np.array_equal(shared, restart_rotations(10, 60, 0))
