"""Activation functions of the zoo and their slopes written in terms of their outputs."""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

SIGMOID_SLOPE = 7.5


def tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh(z) = 2σ(2z) − 1.

    Same function (|error| < 2e-7 in float32); on the CPUs we train on, torch's
    ``tanh`` kernel is about 5× slower than ``sigmoid``, and the recurrences call it
    once per step.
    """
    return 2 * torch.sigmoid(2 * z) - 1


ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": tanh,
    "sigmoid": lambda z: torch.sigmoid(SIGMOID_SLOPE * z),
}


def tanh_into(z: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """:func:`tanh` of ``z`` written into ``out`` in three passes, with the same bits."""
    return _tanh_from_doubled(torch.mul(z, 2, out=out), out)


def _tanh_from_doubled(z: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """tanh = 2σ(2z) − 1 from 2z, written into ``out`` in two passes."""
    return tanh_from_sigmoid_(torch.sigmoid(z, out=out))


def tanh_from_sigmoid_(s: torch.Tensor) -> torch.Tensor:
    """tanh(z) from s = σ(2z), in place: 2s − 1, computed as −1 + 2·s (the bits of :func:`tanh`)."""
    return torch.add(s.new_full((), -1.0), s, alpha=2, out=s)


def tanh_slope_into(r: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """tanh'(z) = 1 − r² from r = tanh(z), one pass into ``out``."""
    return torch.addcmul(r.new_ones(()), r, r, value=-1, out=out)


def logistic_slope_into(s: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """σ'(z) = s − s² from s = σ(z), one pass into ``out``."""
    return torch.addcmul(s, s, s, value=-1, out=out)


#: f'(z) written as a function of r = f(z), so backward passes need no pre-activations
SLOPES = {
    "relu": lambda r: (r > 0).to(r.dtype),
    "tanh": lambda r: 1 - r * r,
    "sigmoid": lambda r: SIGMOID_SLOPE * r * (1 - r),
}


class Folded(NamedTuple):
    """f(z) = φ(k·z) for the time loops of the leaky recurrences, in as few passes over
    memory as possible: ``gain`` k is folded into the recurrent product (baddbmm's
    ``alpha`` and ``beta``, exact for k = 2), ``rate_into(k·z, out)`` writes f(z) and
    ``slope_into(r, out)`` writes f'(z) from the rate r = f(z) alone.
    """

    gain: float
    rate_into: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    slope_into: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


FOLDED = {
    "relu": Folded(1.0, lambda z, out: torch.clamp_min(z, 0, out=out),
                   lambda r, out: torch.sign(r, out=out)),  # r ≥ 0: sign(r) = [r > 0]
    "tanh": Folded(2.0, _tanh_from_doubled, tanh_slope_into),
    "sigmoid": Folded(SIGMOID_SLOPE, lambda z, out: torch.sigmoid(z, out=out),
                      lambda r, out: logistic_slope_into(r, out).mul_(SIGMOID_SLOPE)),
}
