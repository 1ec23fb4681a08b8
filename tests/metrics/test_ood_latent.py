"""The ``ood`` and ``latent-circuit`` metrics: registered with input = "model", zero for a
network against itself, invariant to relabelling latent units, blind to the embedding of
one planted circuit, and prepared in one batched call (and cached) by the bench engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from simbench.bench.engine import prepare_all
from simbench.dynamics.latent_circuit import LatentCircuitOptions, fit_latent_arrays, run_circuit
from simbench.metrics import available_metrics, get_metric
from simbench.metrics.base import State
from simbench.metrics.latent_circuit import directed_distance, matched_weights, unit_matching
from simbench.zoo.store import load_zoo

torch.set_num_threads(1)
REFERENCE_ZOO = Path(__file__).resolve().parents[2] / "zoo" / "reference"
CDDM_IDS = ["cddm-ctrnn-relu-dale-h32-s0", "cddm-ctrnn-tanh-free-h32-s0"]
OOD = "ood:n_levels=9,repeats=2"
LATENT = "latent-circuit:iterations=20,restarts=1"


@pytest.fixture(scope="module")
def zoo():
    return load_zoo(REFERENCE_ZOO)


def test_both_are_registered_as_model_metrics():
    records = {r.id: r for r in available_metrics()}
    for mid, triangle in (("ood", True), ("latent-circuit", False)):
        assert records[mid].error is None and records[mid].kind == "dynamics"
        assert records[mid].cls.input == "model" and records[mid].triangle_inequality is triangle


@pytest.mark.parametrize("spec", [OOD, LATENT])
def test_every_network_scores_zero_against_itself(zoo, spec):
    metric = get_metric(spec)
    a, again, b = zoo.network(CDDM_IDS[0]), zoo.network(CDDM_IDS[0]), zoo.network(CDDM_IDS[1])
    D = metric.pairwise([a, again, b])
    assert D[0, 1] == 0.0 and D[0, 2] > 0 and np.array_equal(D, D.T) and not np.diag(D).any()
    state = metric.prepare(a)
    assert metric._distance(state, state) == 0.0  # the computation itself, not the identity shortcut
    assert metric.distance(state, metric.prepare(b)) == pytest.approx(D[0, 2])


def _circuit_state(w_rec, activity) -> State:
    metric = get_metric("latent-circuit")
    return State(metric.name, len(activity), {"w_rec": w_rec, "activity": activity}, {})


def test_latent_distance_is_blind_to_relabelling_and_flipping_units():
    rng = np.random.default_rng(0)
    w, activity = rng.normal(size=(6, 6)), rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    perm, signs = rng.permutation(6), np.array([1.0, -1, 1, 1, -1, 1])
    a = _circuit_state(w, activity)
    b = _circuit_state(matched_weights(w, np.argsort(perm), np.ones(6)), activity[:, np.argsort(perm)])
    found, found_signs = unit_matching(a["activity"], b["activity"])
    np.testing.assert_array_equal(b["activity"][:, found], a["activity"])
    assert (found_signs == 1).all() and directed_distance(a, b) == pytest.approx(0, abs=1e-12)
    flipped = _circuit_state(signs[:, None] * signs[None, :] * w, activity * signs)
    assert directed_distance(a, flipped) == pytest.approx(0, abs=1e-12)
    other = _circuit_state(rng.normal(size=(6, 6)), activity)
    metric = get_metric("latent-circuit")
    assert metric.distance(a, other) == metric.distance(other, a) > 0.5


def _planted(w_rec, inputs, rng, width):
    latent = run_circuit(w_rec, np.array([[1.0, 0.0], [0.0, 0.8], [0.0, 0.0], [0.0, 0.0]]), inputs, 0.2)
    q = np.linalg.qr(rng.normal(size=(width, 4)))[0]
    return latent @ q.T, latent @ np.array([[1.0, -0.5, 0.8, 0.3], [-0.2, 0.9, -0.6, 1.1]]).T


def test_two_embeddings_of_one_circuit_are_close_and_another_circuit_is_far():
    rng = np.random.default_rng(3)
    inputs = np.zeros((16, 60, 2))
    for b in range(16):
        for k in range(2):
            on = rng.integers(2, 30)
            inputs[b, on:on + rng.integers(10, 30), k] = rng.uniform(0.2, 1.5)
    circuit = np.array([[0.2, 0.0, -0.3, 0.0], [0.0, 0.1, 0.0, -0.4], [1.2, -0.5, 0.0, 0.3], [-0.4, 1.0, -0.6, 0.0]])
    other = np.array([[-0.3, 0.4, 0.0, 0.5], [0.3, -0.2, 0.6, 0.0], [0.2, 0.9, -0.4, 0.0], [0.8, 0.0, 0.0, -0.5]])
    data = [_planted(circuit, inputs, rng, 10), _planted(circuit, inputs, rng, 14), _planted(other, inputs, rng, 12)]
    options = LatentCircuitOptions(n_latent=4, alpha=0.2, n_pcs=10, iterations=1000, stride=2, restarts=4)
    targets = np.stack([t for _, t in data])
    fits = fit_latent_arrays([s for s, _ in data], inputs, targets, np.ones_like(targets), options)
    assert min(f.states_r2 for f in fits) > 0.99
    metric = get_metric("latent-circuit:n_latent=4")
    same, different = metric.distance(fits[0], fits[1]), metric.distance(fits[0], fits[2])
    assert same < 0.05 and different > 5 * same


def test_the_engine_prepares_model_metrics_in_one_batched_call_and_caches_them(zoo, tmp_path, monkeypatch):
    metric = get_metric(OOD)
    calls = []
    original = type(metric).prepare_many
    monkeypatch.setattr(type(metric), "prepare_many",
                        lambda self, items, labels=None: calls.append(len(items)) or original(self, items, labels))
    loaders = [lambda i=i: zoo.network(i) for i in CDDM_IDS]
    hashes = [zoo.row(i)["content_hash"] for i in CDDM_IDS]
    first, seconds, hits = prepare_all(metric, loaders, hashes, cache=tmp_path)
    assert calls == [2] and hits == 0 and seconds > 0
    again, _, hits = prepare_all(metric, loaders, hashes, cache=tmp_path)
    assert calls == [2] and hits == 2
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["choice"], b["choice"])
        assert b.info["network"] == a.info["network"]


def test_model_metrics_refuse_recordings_and_other_suites(zoo):
    for spec in (OOD, LATENT):
        with pytest.raises(ValueError, match="needs the network itself"):
            get_metric(spec).prepare(np.zeros((40, 5)))
    with pytest.raises(ValueError, match="cddm suite only"):
        get_metric(OOD).prepare(zoo.network("flipflop3-gru-h32-s0"))
