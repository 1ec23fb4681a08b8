"""Leaky rate recurrences, x ← (1 − α) x + α f(x W_rec + a_t), with hand-written BPTT.

α = 1 is the vanilla RNN h' = f(h W_rec + a_t); α = dt/τ < 1 an Euler-discretised
continuous-time network. f ∈ {ReLU, tanh, sigmoid(7.5·z)}; its slope is computed
from the rate r = f(z) alone, so the backward pass needs no pre-activations.

The loops are bound by passes over memory, not by arithmetic (a step's products are
small), so each step makes as few as it can: f's input gain is folded into the
recurrent product (:data:`~simbench.zoo.architectures.functional.FOLDED`), and the
backward pass carries G = α ∂L/∂x, for which one step is

    G_t = (1 − α) G_{t+1} + α (δ_{t+1} W_recᵀ + ∂L/∂x_t),    δ_t = G_t ⊙ f'(z_t),

with δ_t = ∂L/∂a_t the gradient of the drive (and of the pre-activation).
"""

from __future__ import annotations

import torch

from simbench.zoo.architectures.functional import ACTIVATIONS, FOLDED, SLOPES
from simbench.zoo.architectures.population import Population

class LeakyRecurrence(Population):
    """Shared dynamics of :class:`Vanilla` (α = 1) and :class:`CTRNN` (α < 1)."""

    alpha: float = 1.0

    def _set_activation(self, activation: str, valid) -> None:
        if activation not in valid:
            raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(valid)}")
        self.f, self.slope, self.folded = ACTIVATIONS[activation], SLOPES[activation], FOLDED[activation]

    def _recur(self, x, drive):
        rate = self.f(torch.baddbmm(drive, x, self.w_rec))
        return rate if self.alpha == 1 else torch.lerp(x, rate, self.alpha)

    def scan(self, drive, h0, save=True):
        states = h0.new_empty(len(drive), *h0.shape)
        leaky, (gain, rate_into, _) = self.alpha != 1, self.folded
        rates = self.workspace.take(h0, *states.shape) if leaky and save else states
        x = h0
        for t in range(len(drive)):
            pre = drive[t].baddbmm_(x, self.w_rec, beta=gain, alpha=gain)  # k z_t, in the drive's buffer
            # the rate goes to its saved slot, else (leaky) over pre, else (vanilla) it is the state
            rate = rate_into(pre, rates[t] if leaky and save else (pre if leaky else states[t]))
            if leaky:
                torch.lerp(x, rate, self.alpha, out=states[t])
            x = states[t]
        return states, (rates if save else None)

    def scan_backward(self, boundary, h0, states, rates):
        # every step writes into the buffers below: no allocation inside the loop
        alpha, w_t, slope_into = self.alpha, self.w_rec.transpose(1, 2), self.folded.slope_into
        d_w = torch.zeros_like(self.w_rec)
        big_g, slope, d_pre = torch.zeros_like(h0), torch.empty_like(h0), torch.empty_like(h0)
        for t in reversed(range(len(rates))):
            if t < len(rates) - 1:  # G_t = (1 − α) G_{t+1} + α δ_{t+1} W_recᵀ + α ∂L/∂x_t
                if alpha == 1:
                    torch.bmm(d_pre, w_t, out=big_g)
                else:
                    big_g.mul_(1 - alpha).baddbmm_(d_pre, w_t, alpha=alpha)
            boundary.add_state(t, big_g, alpha=alpha)
            torch.mul(big_g, slope_into(rates[t], slope), out=d_pre)
            d_w.baddbmm_((states[t - 1] if t else h0).transpose(1, 2), d_pre)
            boundary.drive(t, d_pre)
        d_h0 = torch.bmm(d_pre, w_t)
        if alpha != 1:  # ∂L/∂x_0 = δ_1 W_recᵀ + (1 − α) g_1 with g = G / α
            d_h0.add_(big_g, alpha=(1 - alpha) / alpha)
        return d_h0, (d_w,)
