"""Leaky rate recurrences, x ← (1 − α) x + α f(x W_rec + a_t), with hand-written BPTT.

α = 1 is the vanilla RNN h' = f(h W_rec + a_t); α = dt/τ < 1 an Euler-discretised
continuous-time network. f ∈ {ReLU, tanh, sigmoid(7.5·z)}; its slope is computed
from the rate r = f(z) alone, so the backward pass needs no pre-activations.
"""

from __future__ import annotations

import torch

from simbench.zoo.architectures.functional import ACTIVATIONS, ACTIVATIONS_INTO, SLOPES, SLOPES_INTO
from simbench.zoo.architectures.population import Population

class LeakyRecurrence(Population):
    """Shared dynamics of :class:`Vanilla` (α = 1) and :class:`CTRNN` (α < 1)."""

    alpha: float = 1.0

    def _set_activation(self, activation: str, valid) -> None:
        if activation not in valid:
            raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(valid)}")
        self.f, self.slope = ACTIVATIONS[activation], SLOPES[activation]
        self.f_into, self.slope_into = ACTIVATIONS_INTO[activation], SLOPES_INTO[activation]

    def _recur(self, x, drive):
        rate = self.f(torch.baddbmm(drive, x, self.w_rec))
        return rate if self.alpha == 1 else torch.lerp(x, rate, self.alpha)

    def scan(self, drive, h0, save=True):
        states = h0.new_empty(len(drive), *h0.shape)
        leaky = self.alpha != 1
        rates = self.workspace.take(h0, *states.shape) if leaky and save else states
        x = h0
        for t in range(len(drive)):
            pre = torch.baddbmm(drive[t], x, self.w_rec)
            # the rate goes to its saved slot, else (leaky) over pre, else (vanilla) it is the state
            slot = rates[t] if leaky and save else (pre if leaky else states[t])
            rate = self.f_into(pre, slot)
            if leaky:
                torch.lerp(x, rate, self.alpha, out=states[t])
            x = states[t]
        return states, (rates if save else None)

    def scan_backward(self, boundary, h0, states, rates):
        # every step writes into the buffers below: no allocation inside the loop
        alpha, w_t = self.alpha, self.w_rec.transpose(1, 2)
        d_w = torch.zeros_like(self.w_rec)
        g, carried, slope, scratch, d_pre = (torch.empty_like(h0) for _ in range(5))
        for t in reversed(range(len(rates))):
            if t == len(rates) - 1:
                g.copy_(boundary.state(t))
            elif alpha == 1:
                torch.baddbmm(boundary.state(t), d_pre, w_t, out=g)
            else:  # g ← ∂L/∂h_t + (1 − α) g + δ_{t+1} W_recᵀ
                torch.add(boundary.state(t), torch.mul(g, 1 - alpha, out=carried), out=carried)
                torch.baddbmm(carried, d_pre, w_t, out=g)
            self.slope_into(rates[t], slope, scratch)
            torch.mul(torch.mul(g, alpha, out=carried), slope, out=d_pre)
            d_w.baddbmm_((states[t - 1] if t else h0).transpose(1, 2), d_pre)
            boundary.drive(t, d_pre)
        d_h0 = torch.bmm(d_pre, w_t)
        if alpha != 1:
            d_h0 += (1 - alpha) * g
        return d_h0, (d_w,)
