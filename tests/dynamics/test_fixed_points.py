"""Fixed points, stability, Jacobians, slow manifolds and cycles of systems solved by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from dynamics_helpers import MapNetwork, pulses
from scipy.optimize import brentq

from simbench.dynamics import AnalysisOptions, FinderOptions, analyse, as_system, jacobian, minimise_speed
from simbench.dynamics.analysis import fixed_point_jacobians
from simbench.dynamics.attractors import periodic_orbit
from simbench.dynamics.fixed_points import newton_polish, unique_points
from simbench.zoo.architectures import get_architecture

FAST = dict(n_initial=64, cycle_transient=300, cycle_window=300, edge_steps=600)


def tanh_unit(w):
    return MapNetwork(lambda h, u: torch.tanh(w * h + u), 1)


def test_bistable_tanh_unit():
    """h' = tanh(w h), w = 2: fixed points 0 (unstable, slope 2) and ±h*, h* = tanh(2 h*)."""
    w = 2.0
    h_star = brentq(lambda h: math.tanh(w * h) - h, 0.1, 1.0)
    r = analyse(tanh_unit(w), inputs=pulses(), constants=[[0.0]], keep_jacobians=True, **FAST)
    order = np.argsort(r.fp_x[:, 0])
    np.testing.assert_allclose(r.fp_x[order, 0], [-h_star, 0.0, h_star], atol=1e-9)
    assert r.fp_q.max() <= 1e-12
    np.testing.assert_array_equal(r.fp_unstable[order], [0, 1, 0])
    slope = w * (1 - h_star ** 2)
    np.testing.assert_allclose(r.fp_eig_re[order, 0], [slope, w, slope], atol=1e-8)
    np.testing.assert_allclose(r.fp_jacobian[order, 0, 0], [slope, w, slope], atol=1e-8)
    np.testing.assert_array_equal(fixed_point_jacobians(tanh_unit(w), r), r.fp_jacobian)
    assert analyse(tanh_unit(w), inputs=pulses(), constants=[[0.0]], **FAST).fp_jacobian.shape == (0, 1, 1)
    # the saddle's two unstable half-lines end at the two attractors
    edges = {tuple(e) for e in r.edges.tolist()}
    saddle = order[1]
    assert edges == {(0, saddle, 0, order[0]), (0, saddle, 0, order[2])}
    assert r.manifold_dim.tolist() == [0] and len(r.cycle_period) == 0


def test_two_bistable_units_topology():
    """Two independent bistable units: 4 attractors, 4 index-1 saddles, 1 index-2 source."""
    net = MapNetwork(lambda h, u: torch.tanh(2.0 * h + u), 2, n_inputs=2)
    kicks = [(a * s1, b * s2) for s1 in (1, -1) for s2 in (1, -1) for a, b in ((1, 1), (0.05, 0.05), (0.05, 0), (0, 0.05))]
    probe = np.zeros((len(kicks), 30, 2))
    probe[:, :3] = np.array(kicks)[:, None]
    r = analyse(net, inputs=probe, constants=[[0.0, 0.0]], **FAST)
    assert np.bincount(r.fp_unstable).tolist() == [4, 4, 1]
    assert r.fp_readout.shape == (9, 2)
    g = r.graph(0)
    source = [v for v, k in g.nodes(data="label") if k.startswith("2|")]
    assert len(source) == 1
    # unstable directions of the source run along the axes and stop at the saddles
    assert sorted(g.nodes[v]["label"] for v in g.successors(source[0])) == ["1|+0", "1|-0", "1|0+", "1|0-"]
    for v, label in g.nodes(data="label"):
        if label.startswith("1|"):
            targets = sorted(g.nodes[t]["label"] for t in g.successors(v))
            assert len(targets) == 2 and all(t.startswith("0|") for t in targets)


def test_linear_continuous_system():
    """τ ẋ = −x + W x + B u: x* = −(W − I)⁻¹ B u, rhs Jacobian W − I, known eigenvalues."""
    alpha = 0.1
    A = np.array([[-0.5, -2.0, 0.0], [2.0, -0.5, 0.0], [0.0, 0.0, 0.3]])  # W − I: −0.5 ± 2i and +0.3
    Wt = torch.as_tensor(A + np.eye(3))
    B = torch.tensor([[1.0, -0.5, 0.25]], dtype=torch.float64)

    def step(x, u):
        return x + alpha * (x @ Wt.T + u @ B - x)

    net = MapNetwork(step, 3, time="continuous", alpha=alpha)
    u = np.array([[0.7]])
    r = analyse(net, inputs=pulses(T=20), constants=u, **FAST)
    expected = -np.linalg.solve(A, (u @ B.numpy())[0])
    assert len(r.fp_q) == 1
    np.testing.assert_allclose(r.fp_x[0], expected, atol=1e-9)
    ev = np.sort_complex(r.eigenvalues[0])
    np.testing.assert_allclose(ev, np.sort_complex(np.linalg.eigvals(A)), atol=1e-9)
    assert r.fp_unstable[0] == 1 and not r.fp_stable[0]
    np.testing.assert_allclose(np.sort_complex(r.step_eigenvalues[0]),
                               np.sort_complex(1 + alpha * np.linalg.eigvals(A)), atol=1e-9)


def test_line_and_plane_attractors():
    """h' = D h + u with D = diag(1 (d times), 0.5, …): a d-dimensional plane of fixed points."""
    probe = np.random.default_rng(0).normal(size=(12, 30, 5)) * 0.1
    for d in (1, 3):
        diag = torch.tensor([1.0] * d + [0.5] * (5 - d), dtype=torch.float64)
        net = MapNetwork(lambda h, u, diag=diag: h * diag + u, 5, n_inputs=5)
        r = analyse(net, inputs=probe, constants=[[0.0] * 5], **{**FAST, "n_initial": 256})
        assert r.manifold_dim.tolist() == [d]
        assert r.manifold_pca_dim[0] == d
        # the fixed points lie on the plane (exactly: Newton's least-squares step)
        assert len(r.fp_q) > 10
        np.testing.assert_allclose(r.fp_x[:, d:], 0.0, atol=1e-12)


def test_limit_cycle_of_a_hopf_map():
    """Rotation by ω with radial map r ← r + 0.2 r (1 − r²): a circle of radius 1, period 2π/ω."""
    omega = 0.17

    def step(h, u):
        r = h.norm(dim=-1, keepdim=True)
        c, s = math.cos(omega), math.sin(omega)
        rot = torch.stack([c * h[:, 0] - s * h[:, 1], s * h[:, 0] + c * h[:, 1]], -1)
        return rot * (1 + 0.2 * (1 - r * r)) + u * torch.tensor([1.0, 0.0], dtype=h.dtype)

    net = MapNetwork(step, 2)
    r = analyse(net, inputs=pulses(T=30), constants=[[0.0]], n_initial=32)
    # fixed point at the origin (a source, complex pair |λ| = 1.2) and one cycle
    assert len(r.fp_q) == 1 and r.fp_unstable[0] == 2
    assert len(r.cycle_period) == 1
    assert r.cycle_omega[0] == pytest.approx(omega, rel=1e-3)
    assert r.cycle_amplitude[0] == pytest.approx(1.0, rel=1e-3)
    # orbit samples interpolate linearly between steps: chord sag ≤ 1 − cos(ω/2) ≈ 0.0036
    np.testing.assert_allclose(np.linalg.norm(r.cycle_orbit[0], axis=1), 1.0, atol=4e-3)
    # the source's unstable directions lead onto the cycle
    assert set(r.edges[:, 2].tolist()) == {1}


def test_periodic_orbit_rejects_rest_and_noise():
    assert periodic_orbit(np.ones((200, 3)), 1e-6) is None
    assert periodic_orbit(np.random.default_rng(0).normal(size=(400, 3)), 1e-6) is None
    t = np.arange(600)
    x = np.stack([np.cos(0.3 * t), np.sin(0.3 * t)], 1)
    assert periodic_orbit(x, 1e-6)["period"] == pytest.approx(2 * np.pi / 0.3, rel=1e-3)


def test_finder_batches_networks_and_states():
    """Two different tanh units in one System: each network's own fixed points."""
    nets = [tanh_unit(2.0), tanh_unit(3.0)]
    system = as_system(nets)
    assert system.n == 2
    h0 = torch.linspace(-1, 1, 41, dtype=torch.float64).reshape(1, 41, 1).repeat(2, 1, 1)
    u = torch.zeros(2, 41, 1, dtype=torch.float64)
    found = minimise_speed(system, u, h0, FinderOptions())
    h, q = newton_polish(system, u, found.h)
    for n, w in enumerate((2.0, 3.0)):
        h_star = brentq(lambda x: math.tanh(w * x) - x, 0.1, 1.0)
        keep = unique_points(h[n].numpy(), q[n].numpy(), 1e-3)
        got = np.sort(h[n, keep, 0].numpy()[q[n, keep].numpy() <= 1e-12])
        np.testing.assert_allclose(got, [-h_star, 0.0, h_star], atol=1e-9)


def test_jacobian_matches_autograd():
    torch.manual_seed(0)
    W = torch.randn(4, 4, dtype=torch.float64)
    net = MapNetwork(lambda h, u: torch.tanh(h @ W.T + u), 4)
    system = as_system(net)
    h = torch.randn(1, 5, 4, dtype=torch.float64)
    u = torch.randn(1, 5, 1, dtype=torch.float64)
    J = jacobian(system, h, u)
    for b in range(5):
        ref = torch.autograd.functional.jacobian(lambda x: net.step(x[None], u[0, b:b + 1])[0], h[0, b])
        torch.testing.assert_close(J[0, b], ref)


@pytest.mark.parametrize("architecture", ["vanilla-tanh", "vanilla-relu", "ctrnn-sigmoid-dale", "ctrnn-tanh-free"])
def test_closed_forms_match_autograd(architecture):
    """Leaky populations: closed-form speed gradient and step Jacobian equal autograd's."""
    population = get_architecture(architecture).population(3, 2, 6, [0, 1])
    system = as_system(population)
    assert system.closed_jacobian is not None
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(2, 5, 6, generator=gen, dtype=torch.float64)
    u = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    q, g = system.speed_grad(h, u)
    x = h.clone().requires_grad_(True)
    r = system.rhs(x, u)
    q_ref = 0.5 * (r * r).sum(-1)
    (g_ref,) = torch.autograd.grad(q_ref.sum(), x)
    torch.testing.assert_close(q, q_ref.detach())
    torch.testing.assert_close(g, g_ref)
    J = jacobian(system, h, u)
    for n, b in ((0, 0), (1, 4)):
        def step(y):
            return system.step(y[None, None].expand(2, 1, 6), u[:, b:b + 1])[n, 0]
        torch.testing.assert_close(J[n, b], torch.autograd.functional.jacobian(step, h[n, b]))


def test_options_roundtrip_and_validation():
    o = AnalysisOptions().with_(n_initial=16, max_iters=100)
    assert o.n_initial == 16 and o.finder.max_iters == 100
    assert AnalysisOptions.from_dict(o.as_dict()) == o
    with pytest.raises(ValueError, match="unknown analysis option"):
        AnalysisOptions().with_(bogus=1)
