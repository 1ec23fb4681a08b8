"""The fast paths of ``dsa`` against the former implementations, on real recordings.

``prepare``: the Gram / Rayleigh–Ritz leading singular vectors (``fit_operator``'s
default) against the full SVD of the Hankel matrix (``method="svd"``, the former
implementation), one network of every suite of the reference zoo. The pair step:
:func:`_align` (run in the frame of C) against :func:`_align_reference` (the former
implementation, C tracked in torch) on 30 pairs of real networks.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from simbench.metrics import get_metric
from simbench.metrics.dsa import (DSA, GRAM_FLOOR, _hankel_gram, _hankel_times, align_operators,
                                  fit_operator, hankel)

REFERENCE_ZOO = Path(__file__).resolve().parents[2] / "zoo" / "reference"

#: one network per suite (for oscillation the one with the smallest σ_15/σ_1 found,
#: 9e-5, the hardest case for a Gram matrix); conditions kept (None: all) so that the
#: full-SVD reference stays quick: memory3 24, context 32 and cddm 450 conditions in all
NETWORKS = {
    "memory3": ("decay3-ctrnn-relu-dale-h32-s0", 8),
    "context": ("cdi-gru-h32-s0", 12),
    "oscillation": ("hold-gru-h32-s0", None),
    "cddm": ("cddm-ctrnn-tanh-free-h32-s0", 12),
    "gonogo": ("gonogo-immediate-ugrnn-h32-s1", None),
    "memorynumber": ("memorynumber-binary-ctrnn-sigmoid-dale-h32-s0", None),
}
#: suites whose probes are 11 conditions × 120 steps (one metric, dsa:n_conditions=11, and
#: matched samples), and how many networks of each make the pairs of the pair-step test
PAIR_SUITES = {"oscillation": 5, "memorynumber": 4}


@pytest.fixture(scope="module")
def zoo():
    if not (REFERENCE_ZOO / "manifest.csv").exists():
        pytest.skip("the reference zoo is not in this checkout")
    from simbench.zoo.store import load_zoo

    return load_zoo(REFERENCE_ZOO)


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS and torch thread: on a busy 2-core machine threaded BLAS spins (measured
    40× slower for these sizes)."""
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(old)


def trajectories(zoo, network_id: str, keep: int | None = None) -> np.ndarray:
    """The centred recording of a reference network as ``[conditions, time, units]``."""
    from simbench.bench.run import for_suite

    suite = zoo.manifest.set_index("id").loc[network_id, "suite"]
    C = for_suite(get_metric("dsa"), suite).params["n_conditions"]
    X = np.asarray(zoo.recording(network_id).samples(), dtype=np.float64)
    traj = X.reshape(C, X.shape[0] // C, X.shape[1])[:keep]
    return traj - traj.reshape(-1, traj.shape[2]).mean(axis=0)


@pytest.mark.parametrize("suite", sorted(NETWORKS))
def test_gram_path_gives_the_full_svd_operator_on_real_recordings(zoo, suite):
    network_id, keep = NETWORKS[suite]
    traj = trajectories(zoo, network_id, keep)
    A, info = fit_operator(traj, 15, 1, 15, 1e-8)
    A_ref, ref = fit_operator(traj, 15, 1, 15, 1e-8, method="svd")
    assert info["method"] == "gram" and ref["method"] == "svd"
    assert info["rank_used"] == ref["rank_used"] == 15
    # measured ≤ 2.3e-12 (oscillation) and ≤ 1e-14 elsewhere
    assert np.linalg.norm(A - A_ref) <= 1e-9 * np.linalg.norm(A_ref)
    np.testing.assert_allclose(info["singular_values"], ref["singular_values"], rtol=1e-10)
    assert info["fit_residual"] == pytest.approx(ref["fit_residual"], rel=1e-8)


def test_gram_and_hankel_products_without_forming_the_hankel_matrix():
    rng = np.random.default_rng(0)
    traj = rng.standard_normal((5, 40, 3))
    for n_delays, tau in ((1, 1), (4, 1), (4, 3)):
        H = hankel(traj, n_delays, tau).reshape(-1, 3 * n_delays)
        np.testing.assert_allclose(_hankel_gram(traj, n_delays, tau), H.T @ H, rtol=1e-12,
                                   atol=1e-12)
        W = rng.standard_normal((3 * n_delays, 4))
        Y = _hankel_times(traj, W, n_delays, tau, chunk=200)       # several chunks
        np.testing.assert_allclose(Y.reshape(-1, 4), H @ W, rtol=1e-12, atol=1e-12)


def test_full_svd_where_the_gram_matrix_cannot_resolve_the_kept_spectrum():
    """σ_r below GRAM_FLOOR·σ₁, a numerically rank-deficient recording, or a Hankel
    matrix too small to gain: the full SVD (the former implementation) is used."""
    rng = np.random.default_rng(1)
    t = np.arange(80)
    traj = np.sin(rng.uniform(0.05, 0.6, 12) * t[None, :, None]
                  + rng.uniform(0, 6.3, (20, 1, 12))) * 0.05 ** np.arange(12)
    traj -= traj.reshape(-1, 12).mean(axis=0)
    A, info = fit_operator(traj, 6, 2, 15, 1e-8)
    assert info["singular_values"][-1] < GRAM_FLOOR * info["singular_values"][0]
    assert info["method"] == "svd"
    low = traj[..., :2] @ rng.standard_normal((2, 12))               # 2-D: rank 2·6 at most
    assert fit_operator(low, 6, 2, 15, 1e-8)[1]["method"] == "svd"
    assert fit_operator(traj[:1, :20], 6, 2, 15, 1e-8)[1]["method"] == "svd"   # 10 rows
    with pytest.raises(ValueError, match="method"):
        fit_operator(traj, 6, 2, 15, 1e-8, method="eig")


def test_the_version_moved_with_the_prepared_states():
    assert DSA.version >= 2


def test_pair_step_agrees_with_the_former_implementation_on_real_pairs(zoo):
    """36 pairs of real operators (9 networks, rank 15, d ≈ 0.01–0.6): the distances of
    ``DSA.pairwise`` and of the former optimiser agree to 1e-6 rad (measured ≤ 4e-8),
    and d(X, Y) == d(Y, X) exactly."""
    metric = get_metric("dsa:n_conditions=11")
    states = []
    for suite, k in PAIR_SUITES.items():
        ids = zoo.filter(suite=suite, passed=True).ids
        for i in np.linspace(0, len(ids) - 1, k).astype(int):
            states.append(metric.prepare(zoo.recording(ids[i]).samples()))
    pairs = list(itertools.combinations(range(len(states)), 2))
    ordered = [metric._ordered(states[i], states[j]) for i, j in pairs]
    A = np.stack([a["A_unit"] for a, _ in ordered])
    B = np.stack([b["A_unit"] for _, b in ordered])
    al = align_operators(A, B)
    new = np.arccos(np.clip(al, -1, 1))
    ref = np.arccos(np.clip(align_operators(A, B, reference=True), -1, 1))
    assert np.max(np.abs(new - ref)) <= 1e-6
    torch.set_num_threads(2)                   # the batch is split over two threads
    np.testing.assert_array_equal(align_operators(A, B), al)
    torch.set_num_threads(1)
    D = metric.pairwise(states)
    np.testing.assert_array_equal(D, D.T)
    assert np.max(np.abs(np.array([D[i, j] for i, j in pairs]) - ref)) <= 1e-6
    a, b = states[0], states[4]
    assert metric.distance(a, b) == metric.distance(b, a) == D[0, 4]
