"""Latent-circuit distillation: a planted circuit embedded by a known orthonormal Q is
recovered (fit, connectivity up to relabelling), the returned arrays mean what they say,
fits are seeded, and bad input gets one clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dynamics_helpers import REFERENCE_ZOO
from scipy.optimize import linear_sum_assignment

from simbench.dynamics.latent_circuit import (
    LatentCircuitOptions,
    fit_latent_arrays,
    fit_latent_circuits,
    fitted_conditions,
    run_circuit,
)
from simbench.zoo.store import load_zoo

#: a 4-unit circuit: inputs 0, 1 drive units 0, 1; units 2, 3 are driven through W_rec only
PLANTED = np.array([[0.2, 0.0, -0.3, 0.0], [0.0, 0.1, 0.0, -0.4], [1.2, -0.5, 0.0, 0.3], [-0.4, 1.0, -0.6, 0.0]])
ALPHA = 0.2
OPTIONS = LatentCircuitOptions(n_latent=4, alpha=ALPHA, n_pcs=10, iterations=1000, stride=2, restarts=4)


def planted_data(w_rec=PLANTED, widths=(10, 14), batch=16, steps=60, seed=0):
    """``(inputs, latent, states per width, targets, mask)``: random input pulses, the planted
    circuit's activity z, and states Q z + offset for one random orthonormal Q per width."""
    rng = np.random.default_rng(seed)
    inputs = np.zeros((batch, steps, 2))
    for b in range(batch):
        for k in range(2):
            on = rng.integers(2, steps // 2)
            inputs[b, on:on + rng.integers(steps // 6, steps // 2), k] = rng.uniform(0.2, 1.5)
    latent = run_circuit(w_rec, np.array([[1.0, 0.0], [0.0, 0.8], [0.0, 0.0], [0.0, 0.0]]), inputs, ALPHA)
    states = [latent @ np.linalg.qr(rng.normal(size=(s, 4)))[0].T + rng.normal(size=s) for s in widths]
    targets = np.stack([latent @ rng.normal(size=(2, 4)).T] * len(widths))
    return inputs, latent, states, targets, np.ones_like(targets)


def matched(latent, fit, stride):
    """The fit's W_rec with its units matched to the planted ones (|correlation| assignment),
    an implementation independent of the metric's."""
    truth = latent[:, stride - 1::stride].reshape(-1, latent.shape[-1])
    corr = np.nan_to_num(np.corrcoef(truth.T, fit.activity.reshape(-1, truth.shape[1]).T)[:4, 4:])
    _, cols = linear_sum_assignment(-np.abs(corr))
    return fit.w_rec[np.ix_(cols, cols)], cols


@pytest.fixture(scope="module")
def planted_fits():
    inputs, latent, states, targets, mask = planted_data()
    return latent, states, fit_latent_arrays(states, inputs, targets, mask, OPTIONS)


def test_the_circuit_model_is_the_leaky_relu_recursion():
    inputs = np.random.default_rng(1).uniform(size=(3, 5, 2))
    w_in = np.array([[1.0, 0.0], [0.0, 0.5], [0.0, 0.0], [0.0, 0.0]])
    x = np.zeros((3, 4))
    for t in range(5):
        x = 0.8 * x + 0.2 * np.maximum(x @ PLANTED.T + inputs[:, t] @ w_in.T, 0)
    np.testing.assert_allclose(run_circuit(PLANTED, w_in, inputs, 0.2)[:, -1], x)


def test_a_planted_circuit_is_recovered_from_two_embeddings(planted_fits):
    latent, _, fits = planted_fits
    for fit in fits:
        assert fit.states_r2 > 0.999 and fit.outputs_r2 > 0.999
        w, units = matched(latent, fit, OPTIONS.stride)
        assert list(units[:2]) == [0, 1]  # the input units keep their inputs
        np.testing.assert_allclose(w, PLANTED, atol=0.15)
        assert np.abs(w - PLANTED).mean() < 0.04


def test_the_embedding_is_orthonormal_and_reconstructs_the_states(planted_fits):
    _, states, fits = planted_fits
    for s, fit in zip(states, fits):
        np.testing.assert_allclose(fit.embedding.T @ fit.embedding, np.eye(4), atol=1e-5)
        y = s[:, OPTIONS.stride - 1::OPTIONS.stride].reshape(-1, s.shape[-1])
        x = fit.activity.reshape(-1, 4)
        rebuilt = fit.mean + fit.scale * (x - x.mean(0)) @ fit.embedding.T
        r2 = 1 - ((rebuilt - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum()
        assert r2 == pytest.approx(fit.states_r2, abs=1e-3)
        off_mask = fit.w_in.copy()
        off_mask[[0, 1], [0, 1]] = 0
        assert (np.diag(fit.w_in[:2]) >= 0).all() and not off_mask.any()


def test_fits_are_seeded_and_threads_restored():
    inputs, _, states, targets, mask = planted_data(widths=(8,), steps=20)
    quick = LatentCircuitOptions(n_latent=4, alpha=ALPHA, n_pcs=8, iterations=5, stride=2, restarts=2)
    threads = torch.get_num_threads()
    a, b = (fit_latent_arrays(states, inputs, targets[:1], mask[:1], quick, threads=1)[0] for _ in range(2))
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(a.w_rec, b.w_rec)
    np.testing.assert_array_equal(a.activity, b.activity)
    other = fit_latent_arrays(states, inputs, targets[:1], mask[:1],
                              LatentCircuitOptions(**{**quick.as_dict(), "seed": 1}))[0]
    assert not np.array_equal(a.w_rec, other.w_rec)


def test_a_networks_fit_does_not_depend_on_the_networks_fitted_with_it():
    inputs, _, states, targets, mask = planted_data(widths=(8, 9), steps=20)
    quick = LatentCircuitOptions(n_latent=4, alpha=ALPHA, n_pcs=8, iterations=30, stride=2, restarts=2)
    alone = fit_latent_arrays(states[:1], inputs, targets[:1], mask[:1], quick)[0]
    together = fit_latent_arrays(states, inputs, targets, mask, quick)[0]
    np.testing.assert_allclose(together.w_rec, alone.w_rec, rtol=1e-5, atol=1e-6)
    assert together.loss == pytest.approx(alone.loss, rel=1e-5)


def test_zoo_networks_are_fitted_on_evenly_spaced_probe_conditions():
    chosen = fitted_conditions(450, 100)
    assert len(chosen) == 100 and chosen[0] == 0 and chosen[-1] == 449
    assert np.array_equal(fitted_conditions(40, 100), np.arange(40))
    zoo = load_zoo(REFERENCE_ZOO)
    ids = ["cddm-ctrnn-tanh-free-h32-s0", "cddm-lstm-h32-s0"]  # state sizes 32 and 64
    fits = fit_latent_circuits([zoo.network(i) for i in ids], LatentCircuitOptions(iterations=3, restarts=1))
    assert [f.network for f in fits] == ids
    assert [f.embedding.shape for f in fits] == [(32, 8), (64, 8)]
    assert fits[0].activity.shape == (100, 60, 8) and fits[0].w_in.shape == (8, 6)


def test_bad_input_gets_one_clear_error():
    inputs, _, states, targets, mask = planted_data(widths=(8,), steps=20)
    with pytest.raises(ValueError, match="2 input channels need n_latent >= 2"):
        fit_latent_arrays(states, inputs, targets, mask, LatentCircuitOptions(n_latent=1))
    bad = states[0].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_latent_arrays([bad], inputs, targets, mask, OPTIONS)
    with pytest.raises(ValueError, match="cannot hold 4 orthonormal"):
        fit_latent_arrays([states[0][..., :3]], inputs, targets, mask, OPTIONS)
    with pytest.raises(ValueError, match="restarts must be a positive integer"):
        LatentCircuitOptions(restarts=0)
    with pytest.raises(ValueError, match="no metadata\\['task'\\]"):
        fit_latent_circuits([type("Bare", (), {"step": len, "readout": len, "initial_state": len})()])
