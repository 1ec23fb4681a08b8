"""One network: the interface every analysis in simbench consumes.

A :class:`Network` is any object with ``step(h, u) -> h'`` (differentiable torch),
``readout(h)``, ``initial_state(batch)``, ``time`` ("discrete" or "continuous", with
``alpha`` for the latter) and a ``metadata`` dict. Zoo members wrap a population of
one; user code may supply its own object of the same shape.
"""

from __future__ import annotations

import torch

from simbench.zoo.architectures.population import Population


class Network:
    """A single member of a population, with batch-only shapes ``h [B,S]``, ``u [B,I]``."""

    def __init__(self, population: Population, metadata: dict | None = None):
        if population.size != 1:
            raise ValueError(f"a Network wraps a population of one, got {population.size}")
        self.population = population
        self.metadata = dict(metadata or {})

    @classmethod
    def from_population(cls, population: Population, index: int, metadata=None) -> Network:
        return cls(population.select([index]), metadata)

    @property
    def time(self) -> str:
        return self.population.time

    @property
    def alpha(self) -> float | None:
        return getattr(self.population, "alpha", None)

    @property
    def n_inputs(self) -> int:
        return self.population.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.population.n_outputs

    @property
    def state_size(self) -> int:
        return self.population.state_size

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        return self.population.initial_state(batch)[0]

    def step(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.population.step(h[None], u[None])[0]

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return self.population.readout(h[None])[0]

    def run(self, inputs, h0: torch.Tensor | None = None):
        """Noise-free simulation: inputs ``[B,T,I]`` → ``(states [B,T,S], outputs [B,T,O])``."""
        inputs = torch.as_tensor(inputs, dtype=torch.float32)
        states, outputs = self.population(inputs[None], h0=None if h0 is None else h0[None])
        return states[0], outputs[0]

    def parameters(self) -> dict[str, torch.Tensor]:
        return self.population.member_parameters(0)

    def __repr__(self) -> str:
        described = ", ".join(f"{k}={v}" for k, v in self.metadata.items() if k in ("task", "architecture", "seed"))
        return f"<Network {described}>"
