"""Continuous-time rate networks of Tolmachev & Engel (Nat. Mach. Intell. 2025), as populations.

τ dx/dt = −x + f(W_rec x + W_in u + b + ξ), Euler-discretised with α = dt/τ = 0.1:

    x ← (1 − α) x + α f(W_rec x + W_in u + b + ξ)

f ∈ {ReLU, sigmoid(7.5·z), tanh}. W_rec is scaled to spectral radius 1.2 at
initialisation. With Dale's law a fraction ``excitatory`` (default 0.8) of units is
excitatory: W_rec columns of E units are ≥ 0, of I units ≤ 0, W_in ≥ 0, and the readout
sees E units only; these signs are projected back after every optimiser step.
Deviation: the paper's formula has no bias; we add a trainable bias ``b`` (zero at
initialisation), which lets sigmoid units sit below half-activation at rest.
"""

from __future__ import annotations

import math

import torch

from simbench.zoo.architectures.functional import ACTIVATIONS
from simbench.zoo.architectures.leaky import LeakyRecurrence
from simbench.zoo.architectures.population import spectral_radius

ALPHA = 0.1
SPECTRAL_RADIUS = 1.2


class CTRNN(LeakyRecurrence):
    """Continuous-time RNN; see the module docstring for the equations."""

    time = "continuous"
    default_noise = 0.05
    weight_names = ("w_in", "w_rec", "w_out")

    def __init__(self, n_inputs, n_outputs, hidden, seeds, activation="relu", dale=False,
                 excitatory=0.8, alpha=ALPHA):
        self._set_activation(activation, tuple(ACTIVATIONS))
        if not 0 < excitatory < 1:
            raise ValueError(f"excitatory fraction must lie in (0, 1), got {excitatory!r}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha = dt/tau must lie in (0, 1], got {alpha!r}")
        self.alpha = float(alpha)
        n_exc = int(round(excitatory * hidden)) if dale else hidden
        if dale and not 0 < n_exc < hidden:
            raise ValueError(
                f"Dale's law needs excitatory and inhibitory units: excitatory={excitatory} of "
                f"hidden={hidden} gives {n_exc} excitatory units"
            )
        #: +1 for excitatory (or unconstrained) units, −1 for inhibitory ones
        self.unit_sign = torch.ones(hidden)
        self.unit_sign[n_exc:] = -1.0
        super().__init__(n_inputs, n_outputs, hidden, seeds, activation=activation,
                         dale=bool(dale), excitatory=float(excitatory), alpha=float(alpha))

    def _init_member(self, g):
        h, i = self.hidden, self.n_inputs
        w_in = torch.randn(i, h, generator=g) / math.sqrt(i)
        w_rec = torch.randn(h, h, generator=g) / math.sqrt(h)
        w_out = torch.randn(h, self.n_outputs, generator=g) / math.sqrt(h)
        if self.options["dale"]:
            inhibitory = self.unit_sign < 0
            w_in = w_in.abs()
            # rows are presynaptic in x @ w_rec: inhibitory rows negative, balanced against E
            w_rec = w_rec.abs()
            w_rec[inhibitory] *= -(~inhibitory).sum() / inhibitory.sum()
            w_out[inhibitory] = 0.0
        w_rec *= SPECTRAL_RADIUS / spectral_radius(w_rec)
        return {
            "w_in": w_in,
            "b_in": torch.zeros(1, h),
            "w_rec": w_rec,
            "w_out": w_out,
            "b_out": torch.zeros(1, self.n_outputs),
        }

    def project(self):
        """Dale's law: re-impose the sign of every presynaptic unit, W_in ≥ 0, E-only readout."""
        if not self.options["dale"]:
            return
        sign = self.unit_sign[:, None]
        with torch.no_grad():
            self.w_rec.copy_(sign * torch.relu(sign * self.w_rec))
            self.w_in.clamp_(min=0.0)
            self.w_out.mul_((sign > 0).to(self.w_out.dtype))
