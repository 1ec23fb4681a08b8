"""Adam for a population: every network has its own clipping, step count and stop flag.

Parameters are stacked with a leading population axis. Each network's gradient is
clipped to a global norm over *its own* parameters, L2 (``weight_decay · p``) is added
after clipping to the weight matrices only, and networks marked inactive (early
stopped) keep their parameters and moments untouched. Because every operation is
elementwise or reduces within one network, a network's trajectory does not depend on
which other networks share the population.

Update (Kingma & Ba 2015), per network n with its own step count t_n and learning
rate lr_n: m ← β₁ m + (1 − β₁) g, v ← β₂ v + (1 − β₂) g², p ← p − lr_n · m̂ / (√v̂ + ε).
"""

from __future__ import annotations

import torch


class PopulationAdam:
    def __init__(self, parameters, decayed, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0, max_grad_norm=1.0):
        self.parameters = list(parameters)
        self.decayed = list(decayed)
        if len(self.decayed) != len(self.parameters):
            raise ValueError("decayed must flag every parameter")
        self.betas, self.eps = betas, eps
        self.weight_decay, self.max_grad_norm = weight_decay, max_grad_norm
        n = self.parameters[0].shape[0]
        lr = torch.as_tensor(lr, dtype=torch.float32)
        if lr.ndim > 1 or lr.numel() not in (1, n):
            raise ValueError(f"lr must be a number or one rate per network ({n}), got shape {tuple(lr.shape)}")
        self.lr = lr.expand(n).clone()
        self.steps = torch.zeros(n, dtype=torch.float64)
        self.m = [torch.zeros_like(p) for p in self.parameters]
        self.v = [torch.zeros_like(p) for p in self.parameters]

    def select(self, rows, parameters) -> "PopulationAdam":
        """This optimiser's state for the listed networks, bound to ``parameters``."""
        other = PopulationAdam(parameters, self.decayed, self.lr[rows], self.betas, self.eps,
                               self.weight_decay, self.max_grad_norm)
        other.steps = self.steps[rows].clone()
        other.m = [m[rows].clone() for m in self.m]
        other.v = [v[rows].clone() for v in self.v]
        return other

    def grad_norms(self) -> torch.Tensor:
        """Per-network global gradient norm ``[N]``."""
        squares = [p.grad.flatten(1).pow(2).sum(1) for p in self.parameters]
        return torch.stack(squares).sum(0).sqrt()

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.grad = None

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """Update the networks flagged in ``active`` (bool ``[N]``)."""
        scale = (self.max_grad_norm / (self.grad_norms() + 1e-6)).clamp(max=1.0)
        self.steps += active.to(self.steps.dtype)
        beta1, beta2 = self.betas
        t = self.steps.clamp(min=1.0)
        correction1 = (1 - beta1**t).to(torch.float32)
        correction2 = (1 - beta2**t).to(torch.float32)
        for p, m, v, decayed in zip(self.parameters, self.m, self.v, self.decayed):
            view = (-1,) + (1,) * (p.ndim - 1)
            g = p.grad * scale.view(view)
            if decayed and self.weight_decay:
                g = g + self.weight_decay * p
            on = active.view(view)
            m.copy_(torch.where(on, beta1 * m + (1 - beta1) * g, m))
            v.copy_(torch.where(on, beta2 * v + (1 - beta2) * g * g, v))
            m_hat = m / correction1.view(view)
            v_hat = v / correction2.view(view)
            p.sub_(torch.where(on, self.lr.view(view) * m_hat / (v_hat.sqrt() + self.eps), 0.0))
