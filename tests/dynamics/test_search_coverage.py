"""The fixed-point search finds every fixed point of a system whose complete set is known.

The system (continuous time, Euler steps h ← h + dt f(h) + u, in complex notation
z = x + iy):

    f(z) = z (1 − |z|²) + i z (ω − c Im(z⁴)),

i.e. ṙ = r (1 − r²) and θ̇ = ω − c r⁴ sin 4θ. With c > ω its fixed points are exactly

- the origin: linear part (1 + iω) z, a spiral source (2 unstable dimensions);
- on the unit circle, where sin 4θ = ω/c: four stable nodes (cos 4θ > 0) and, between
  them, four saddles (cos 4θ < 0). In the polar frame the Jacobian is triangular
  (∂θ̇/∂r ≠ 0, ∂ṙ/∂θ = 0), so its eigenvalues are μ_r = −2 and μ_θ = −4c cos 4θ.

The step map's eigenvalues are 1 + dt μ. The probe pushes the state from the origin
towards each node, so the trajectories run out to the nodes and never pass the
saddles: seeded from the trajectories alone, a small search misses them; seeded also
uniformly in the trajectories' bounding box (``n_box``) it finds all nine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dynamics_helpers import Conjugate, MapNetwork

from simbench.dynamics import analyse
from simbench.metrics import get_metric

DT, OMEGA, C = 0.1, 0.3, 1.0
BOX = dict(n_initial=16, n_box=64)   # the documented option, at a deliberately small search


def four_wells(h, u):
    x, y = h[..., 0], h[..., 1]
    r2 = x * x + y * y
    rotation = OMEGA - C * (4 * x ** 3 * y - 4 * x * y ** 3)   # ω − c Im(z⁴)
    f = torch.stack([x * (1 - r2) - y * rotation, y * (1 - r2) + x * rotation], -1)
    return h + DT * f + u


def known_fixed_points():
    """``(points [9,2], unstable dims [9], step-map eigenvalues [9,2])`` (module doc)."""
    shift = np.arcsin(OMEGA / C)
    nodes = (shift + 2 * np.pi * np.arange(4)) / 4
    saddles = (np.pi - shift + 2 * np.pi * np.arange(4)) / 4
    angles = np.concatenate([nodes, saddles])
    points = np.concatenate([[[0.0, 0.0]], np.stack([np.cos(angles), np.sin(angles)], 1)])
    unstable = np.array([2] + [0] * 4 + [1] * 4)
    tangential = -4 * C * np.cos(4 * angles)
    mu = np.concatenate([[[1 + 1j * OMEGA, 1 - 1j * OMEGA]],
                         np.stack([np.full(8, -2.0 + 0j), tangential + 0j], 1)])
    return points, unstable, 1 + DT * mu


@pytest.fixture(scope="module")
def system():
    directions = known_fixed_points()[0][1:5]              # towards the four nodes
    probe = np.zeros((4, 80, 2))
    probe[:, :3] = 0.3 * directions[:, None]
    return MapNetwork(four_wells, 2, n_inputs=2), probe


def _match(found: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Index into ``expected`` of each found point; every expected point found exactly once."""
    distance = np.linalg.norm(found[:, None] - expected[None], axis=-1)
    index = distance.argmin(1)
    assert distance.min(1).max() < 1e-9, distance.min(1)
    assert sorted(index.tolist()) == list(range(len(expected)))
    return index


def _check_complete(result, points, unstable, eigenvalues):
    index = _match(result.fp_x, points)
    np.testing.assert_array_equal(result.fp_unstable, unstable[index])
    assert np.bincount(result.fp_unstable).tolist() == [4, 4, 1]
    for got, want in zip(result.step_eigenvalues, eigenvalues[index]):
        np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(want), atol=1e-9)


def test_bounding_box_seeds_find_the_saddles_off_the_trajectories(system):
    net, probe = system
    points, unstable, eigenvalues = known_fixed_points()
    without = analyse(net, inputs=probe, constants=[[0.0, 0.0]], n_initial=BOX["n_initial"])
    assert len(without.fp_q) < 9 and (without.fp_unstable == 1).sum() < 4   # why the option exists
    _check_complete(analyse(net, inputs=probe, constants=[[0.0, 0.0]], **BOX), points, unstable, eigenvalues)


def test_default_search_is_complete(system):
    net, probe = system
    _check_complete(analyse(net, inputs=probe, constants=[[0.0, 0.0]]), *known_fixed_points())


def test_same_fixed_points_in_other_coordinates(system):
    """h' = M h (M invertible, stretching 4:1): fixed points M x*, the same eigenvalues
    (the Jacobians are similar), the same topology graph."""
    net, probe = system
    rng = np.random.default_rng(0)
    q1, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    q2, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    M = q1 @ np.diag([0.5, 2.0]) @ q2.T
    original = analyse(net, inputs=probe, constants=[[0.0, 0.0]], **BOX)
    image = analyse(Conjugate(net, M), inputs=probe, constants=[[0.0, 0.0]], **BOX)
    points, unstable, eigenvalues = known_fixed_points()
    _check_complete(image, points @ M.T, unstable, eigenvalues)
    index = _match(image.fp_x, original.fp_x @ M.T)
    np.testing.assert_array_equal(image.fp_unstable, original.fp_unstable[index])
    topology = get_metric("fp-topology")
    assert topology.distance(*topology.prepare_many([original, image])) == 0.0
    assert original.graph(0).number_of_edges() == image.graph(0).number_of_edges() > 0
