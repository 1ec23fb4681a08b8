"""Serialisation of dynamics results; the four dynamics metrics' contract; conjugate invariance."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from dynamics_helpers import Conjugate, MapNetwork

from simbench.dynamics import DynamicsResult, analyse, analyse_many
from simbench.dynamics.topology import wl_distance, wl_distribution, wl_features
from simbench.metrics import get_metric
from simbench.metrics.fp_topology import topology_distance_matrix

IDS = ["fp-topology", "fp-count", "spectrum", "fp-config"]
SMALL = "n_initial=256,max_iters=2000"
FAST = dict(n_initial=256, max_iters=2000)


def kicks(n_inputs, T=8):
    """Probe: 3-step kicks with every combination of (±1, ±0.05, 0) over the channels, so
    trajectories pass near every corner, edge midpoint and face centre of the cube."""
    import itertools

    rows = [r for r in itertools.product((1.0, -1.0, 0.05, -0.05, 0.0), repeat=n_inputs) if any(r)]
    probe = np.zeros((len(rows), T, n_inputs))
    probe[:, :3] = np.array(rows)[:, None]
    return probe


def bistable(n, gain=2.0, coupling=0.0, seed=0, decay=None):
    """h' = tanh(W h + u) with W = gain·I (+ coupling noise); ``decay`` units are linear, ×0.3."""
    rng = np.random.default_rng(seed)
    W = gain * np.eye(n) + coupling * rng.normal(size=(n, n)) / np.sqrt(n)
    W = torch.as_tensor(W)
    lin = torch.zeros(n, dtype=torch.bool)
    if decay:
        lin[-decay:] = True

    def step(h, u):
        z = h @ W.T.to(h.dtype) + u
        return torch.where(lin, 0.3 * h + u, torch.tanh(z))

    w_out = torch.as_tensor(np.random.default_rng(n).normal(size=(n, 2)))   # one readout per size
    net = MapNetwork(step, n, n_inputs=n, w_out=w_out)
    net.metadata = {"content_hash": f"bistable-{n}-{gain}-{coupling}-{seed}-{decay}"}
    return net


@pytest.fixture(scope="module")
def systems():
    nets = [bistable(3, coupling=0.1, seed=0), bistable(3, coupling=0.1, seed=1),
            bistable(3, decay=1, seed=2), bistable(3, gain=0.5, seed=3)]
    probe = kicks(3)
    constants = np.zeros((1, 3))
    results = [analyse(n, inputs=probe, constants=constants, **FAST) for n in nets]
    return nets, results


def test_known_structure(systems):
    _, results = systems
    stable = [int(r.fp_stable.sum()) for r in results]
    assert stable == [8, 8, 4, 1]           # 2³ corners, 2² corners × decay, one fixed point
    assert np.bincount(results[0].fp_unstable).tolist() == [8, 12, 6, 1]


def test_result_roundtrip(systems, tmp_path):
    _, results = systems
    r = results[0]
    arrays, meta = r.to_arrays()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    back = DynamicsResult.from_arrays(arrays, json.loads(json.dumps(meta)))
    assert back == r
    r.save(tmp_path / "r.safetensors")
    loaded = DynamicsResult.load(tmp_path / "r.safetensors")
    assert loaded == r
    assert loaded.summary().equals(r.summary())
    assert set(loaded.graph().edges) == set(r.graph().edges)
    with pytest.raises(ValueError, match="missing arrays"):
        DynamicsResult.from_arrays({k: v for k, v in arrays.items() if k != "edges"}, meta)


@pytest.mark.parametrize("mid", IDS)
def test_metric_contract(systems, mid):
    nets, results = systems
    metric = get_metric(f"{mid}:{SMALL}")
    assert metric.input == "network"
    assert metric.kind in ("dynamics", "topology")
    states = metric.prepare_many(results)
    for s in states:
        json.dumps(dict(s.info))                       # cacheable without pickle
        assert all(isinstance(v, np.ndarray) for v in s.arrays.values())
    D = metric.pairwise(states)
    assert D.shape == (4, 4)
    np.testing.assert_allclose(D, D.T)
    assert (D >= 0).all() and (np.diag(D) == 0).all()
    for i in range(4):
        for j in range(4):
            assert metric.distance(states[i], states[j]) == pytest.approx(D[i, j], abs=1e-12)
    # different scaffolds are told apart, same scaffold closer than different
    assert D[0, 3] > 0 and D[2, 3] > 0
    assert D[0, 1] < D[0, 3]
    # the (arrays, meta) pair of a cached result prepares to the same state
    again = metric.prepare(results[0].to_arrays())
    assert metric.distance(again, states[0]) == 0.0
    assert again.info["fingerprint"] == states[0].info["fingerprint"]
    # recordings are refused with a clear message
    with pytest.raises(ValueError, match="needs|network"):
        metric.prepare(np.zeros((10, 3)))


def test_networks_of_different_suites_are_refused(systems):
    _, results = systems
    metric = get_metric(f"fp-count:{SMALL}")
    a = metric.prepare(results[0])
    other = analyse(bistable(3, seed=5), inputs=kicks(3), constants=np.zeros((2, 3)), **FAST)
    with pytest.raises(ValueError, match="constant inputs"):
        metric.distance(a, metric.prepare(other))


@pytest.mark.parametrize("mid", IDS + ["ph-fp"])
def test_cross_is_the_block_of_pairwise(systems, mid):
    """``cross(a, b)`` is the off-diagonal block of ``pairwise(a + b)`` (the stacked block
    of a vectorised pairwise, or the loop over pairs), a result in both lists scores 0,
    and a network of another suite is named."""
    _, results = systems
    metric = get_metric(f"{mid}:{SMALL}")
    a, b = results[:2], [results[2], results[0], results[3]]
    C = metric.cross(a, b)
    assert C.shape == (2, 3) and C[0, 1] == 0.0 and (C >= 0).all()
    np.testing.assert_allclose(C, metric.pairwise(a + b)[:2, 2:], rtol=0, atol=1e-10)
    other = analyse(bistable(3, seed=5), inputs=kicks(3), constants=np.zeros((2, 3)), **FAST)
    with pytest.raises(ValueError, match="network 0 of a .*1 constant inputs, network 1 of b with 2"):
        metric.cross(a, [b[0], other])


def test_conjugate_systems():
    """h ↦ M h (M invertible, not orthogonal): same dynamics, different geometry."""
    net = bistable(3, coupling=0.2, seed=7)
    M = np.array([[2.0, 0.5, 0.0], [0.0, 1.0, -0.7], [0.3, 0.0, 0.5]])
    conj = Conjugate(net, M)
    probe = kicks(3)
    constants = np.zeros((1, 3))
    # enough initial states that every saddle is found in both coordinate systems (the
    # search itself is not coordinate-free: Adam's paths differ under M)
    ra = analyse(net, inputs=probe, constants=constants, **{**FAST, "n_initial": 1024})
    rb = analyse(conj, inputs=probe, constants=constants, **{**FAST, "n_initial": 1024})
    assert len(ra.fp_q) == len(rb.fp_q) == 27
    topo = get_metric(f"fp-topology:{SMALL}")
    assert topo.distance(topo.prepare(ra), topo.prepare(rb)) == 0.0
    for mid in ("fp-count", "spectrum"):
        m = get_metric(f"{mid}:{SMALL}")
        assert m.distance(m.prepare(ra), m.prepare(rb)) == pytest.approx(0.0, abs=1e-8)
    # the recordings differ by M: Procrustes (orthogonal alignment only) sees it
    with torch.no_grad():
        X = _record(net, probe)
        Y = _record(conj, probe)
    np.testing.assert_allclose(Y, X @ M.T, atol=1e-10)
    assert get_metric("procrustes")(X, Y) > 0.1


def _record(net, probe):
    h = net.initial_state(len(probe)).to(torch.float64)
    u = torch.as_tensor(probe)
    states = []
    for t in range(probe.shape[1]):
        h = net.step(h, u[:, t])
        states.append(h)
    return torch.stack(states, 1).reshape(-1, net.state_size).numpy()


def test_wl_distance_properties(systems):
    _, results = systems
    graphs = [r.graph(0) for r in results]
    feats = [wl_distribution(wl_features(g, 2)) for g in graphs]
    D = np.array([[wl_distance(a, b, 2) for b in feats] for a in feats])
    np.testing.assert_allclose(D, D.T)
    assert np.diag(D).max() == 0 and D.max() <= 1 + 1e-12
    for i in range(4):               # triangle inequality (a pseudo-metric)
        for j in range(4):
            assert (D[i, j] <= D[i] + D[:, j] + 1e-12).all()
    # relabelling nodes (an isomorphism) changes nothing
    g = graphs[0]
    mapping = {v: ("x", k) for k, v in enumerate(reversed(list(g.nodes)))}
    import networkx as nx

    assert wl_distance(wl_distribution(wl_features(nx.relabel_nodes(g, mapping), 2)), feats[0], 2) == 0


def test_topology_distance_matrix_and_batching():
    """Zoo-shaped populations: batched analysis equals one-at-a-time; the helper matrix."""
    from simbench.zoo.architectures import Network, get_architecture

    pop = get_architecture("vanilla-tanh").population(2, 1, 6, [0, 1, 2], init="orthogonal")
    with torch.no_grad():
        pop.w_rec.mul_(2.5)                       # strong recurrence: several fixed points
    nets = [Network.from_population(pop, i, {"content_hash": f"toy{i}"}) for i in range(3)]
    probe = np.random.default_rng(0).normal(size=(8, 25, 2))
    constants = np.zeros((1, 2))
    batched = analyse_many(nets, inputs=probe, constants=constants, **FAST)
    single = [analyse(n, inputs=probe, constants=constants, **FAST) for n in nets]
    for a, b in zip(batched, single):
        assert len(a.fp_q) == len(b.fp_q)
        np.testing.assert_allclose(np.sort(a.fp_x[:, 0]), np.sort(b.fp_x[:, 0]), atol=1e-8)
        assert a.fp_unstable.tolist() == b.fp_unstable.tolist()
    D = topology_distance_matrix(batched)
    assert D.shape == (3, 3) and np.allclose(D, D.T) and (np.diag(D) == 0).all()


def test_prepare_zoo_network_memoised():
    """A zoo-shaped network with a task: analysed on the task's probe, once per process."""
    from simbench.metrics import dynamics_base as metric_base
    from simbench.zoo.architectures import Network, get_architecture

    metric_base.clear_analysis_cache()
    pop = get_architecture("gru").population(3, 3, 8, [0])
    net = Network(pop, {"task": "flipflop3", "content_hash": "toy-gru"})
    topo = get_metric("fp-topology:n_initial=32,max_iters=500")
    count = get_metric("fp-count:n_initial=32,max_iters=500")
    a = topo.prepare(net)
    assert a.n_samples == 1 and len(metric_base._CACHE) == 1
    count.prepare(net)                                  # same analysis options: reused
    assert len(metric_base._CACHE) == 1
    assert topo.distance(a, topo.prepare(net)) == 0.0


@pytest.mark.parametrize("mid", IDS + ["ph-fp"])
def test_dynamics_metrics_pass_the_conformance_suite(mid):
    """The conformance suite on three trained networks of one suite: self-distance,
    symmetry, non-negativity, separation and pairwise (invariances and bad recordings do
    not apply to networks, and the report says so)."""
    from dynamics_helpers import zoo_network, zoo_or_skip

    from simbench.metrics.conformance import check_metric

    zoo = zoo_or_skip()
    nets = tuple(zoo_network(zoo, i) for i in ("flipflop3-gru-h32-s0", "integrate3-lstm-h32-s0",
                                                "decay3-ctrnn-tanh-free-h32-s0"))
    report = check_metric(get_metric(f"{mid}:{SMALL}"), data=nets)
    assert {"self-distance", "symmetry", "separation", "pairwise"} <= {c.split(":")[0] for c in report.checks}
    assert report.skipped


def test_ph_fp_sees_limit_cycles_and_ignores_similar_coordinates():
    """Known answers: a sine network's cloud (its limit cycle per cue) has a dominant H1
    bar, a hold network's (one fixed point per cue) none; the same dynamics in rotated and
    rescaled coordinates is at distance ≈ 0, a different scaffold clearly farther."""
    from dynamics_helpers import zoo_network, zoo_or_skip
    from scipy.stats import ortho_group

    from simbench.metrics.ph_fp import attractor_cloud

    zoo = zoo_or_skip()
    sine, hold = zoo_network(zoo, "sine-gru-h32-s0"), zoo_network(zoo, "hold-gru-h32-s0")
    metric = get_metric(f"ph-fp:{SMALL}")
    r_sine, r_hold = metric.analyse([sine, hold])
    cued = [k for k in range(r_sine.n_conditions) if (r_sine.cycle_condition == k).any()]
    assert cued, "the sine network has limit cycles"
    for k in cued:
        bars = metric.prepare(r_sine)[f"c{k}_h1"]
        lengths = np.sort(bars[:, 1] - bars[:, 0])[::-1]
        assert lengths[0] > 0.3 and (len(lengths) == 1 or lengths[0] > 3 * lengths[1])
        assert len(attractor_cloud(r_sine, k)) >= 32
    hold_state = metric.prepare(r_hold)
    assert all(len(hold_state[f"c{k}_h1"]) == 0 or np.ptp(hold_state[f"c{k}_h1"], axis=1).max() < 0.1
               for k in range(r_hold.n_conditions))
    M = 2.5 * ortho_group.rvs(sine.state_size, random_state=0)
    same = metric(sine, Conjugate(sine, M))
    other = metric(sine, hold)
    assert same < 1e-3 and other > 0.3
