"""Hand-built Network-like systems and zoo access for the dynamics tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

REFERENCE_ZOO = Path(__file__).resolve().parents[2] / "zoo" / "reference"


class MapNetwork:
    """A Network-like object from a step function ``f(h [B,S], u [B,I])`` (float64).

    ``time="continuous"`` with ``alpha`` means f is the Euler step x + α(g(x,u) − x).
    """

    def __init__(self, f, state_size, n_inputs=1, w_out=None, time="discrete", alpha=None, metadata=None):
        self.f, self.state_size, self.n_inputs = f, state_size, n_inputs
        self.w_out = torch.eye(state_size, dtype=torch.float64) if w_out is None else torch.as_tensor(w_out)
        self.n_outputs = self.w_out.shape[1]
        self.time, self.alpha = time, alpha
        self.metadata = dict(metadata or {})

    def step(self, h, u):
        return self.f(h, u)

    def readout(self, h):
        return h @ self.w_out.to(h.dtype)

    def initial_state(self, batch=1):
        return torch.zeros(batch, self.state_size, dtype=torch.float64)


class Conjugate:
    """``step'(h, u) = M step(M⁻¹ h, u)``, ``readout'(h) = readout(M⁻¹ h)``: the same dynamics
    in coordinates h' = M h."""

    def __init__(self, network, M):
        self.net = network
        self.M = torch.as_tensor(M, dtype=torch.float64)
        self.Minv = torch.linalg.inv(self.M)
        self.state_size, self.n_inputs = network.state_size, network.n_inputs
        self.n_outputs = network.n_outputs
        self.time, self.alpha = network.time, network.alpha
        self.metadata = {k: v for k, v in getattr(network, "metadata", {}).items() if k != "content_hash"}

    def step(self, h, u):
        M, Minv = self.M.to(h.dtype), self.Minv.to(h.dtype)
        return self.net.step(h @ Minv.T, u) @ M.T

    def readout(self, h):
        return self.net.readout(h @ self.Minv.to(h.dtype).T)

    def initial_state(self, batch=1):
        return self.net.initial_state(batch).to(torch.float64) @ self.M.T


def pulses(n_inputs=1, T=40, levels=(-1.0, -0.3, 0.3, 1.0), width=3):
    """Probe inputs ``[C, T, I]``: one pulse per condition and channel, then silence."""
    trials = []
    for channel in range(n_inputs):
        for level in levels:
            x = np.zeros((T, n_inputs))
            x[:width, channel] = level
            trials.append(x)
    return np.stack(trials)


def zoo_or_skip():
    if not (REFERENCE_ZOO / "manifest.csv").exists():
        pytest.skip("reference zoo absent")
    from simbench.zoo.store import load_zoo

    return load_zoo(REFERENCE_ZOO)


def zoo_network(zoo, network_id):
    if network_id not in zoo.ids:
        pytest.skip(f"{network_id} not in the reference zoo")
    return zoo.network(network_id)
