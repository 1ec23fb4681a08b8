"""Architectures of the zoo: discrete-time cells and continuous-time rate networks."""

from __future__ import annotations

from dataclasses import dataclass, field

from simbench.zoo.architectures.ctrnn import CTRNN
from simbench.zoo.architectures.discrete import GRU, LSTM, UGRNN, Vanilla
from simbench.zoo.architectures.network import Network
from simbench.zoo.architectures.population import Population


@dataclass(frozen=True)
class Architecture:
    """A named architecture: its population class and fixed options."""

    name: str
    cls: type[Population]
    activation: str
    dale: bool = False
    options: dict = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.cls.time

    def population(self, n_inputs: int, n_outputs: int, hidden: int, seeds, **options) -> Population:
        """A freshly initialised population, one network per seed."""
        return self.cls(n_inputs, n_outputs, hidden, seeds, **{**self.options, **options})


def _registry() -> dict[str, Architecture]:
    archs = [
        Architecture("vanilla-tanh", Vanilla, "tanh", options={"activation": "tanh"}),
        Architecture("vanilla-relu", Vanilla, "relu", options={"activation": "relu"}),
        Architecture("gru", GRU, "tanh"),
        Architecture("lstm", LSTM, "tanh"),
        Architecture("ugrnn", UGRNN, "tanh"),
    ]
    for activation in ("relu", "sigmoid", "tanh"):
        for dale in (True, False):
            name = f"ctrnn-{activation}-{'dale' if dale else 'free'}"
            archs.append(Architecture(name, CTRNN, activation, dale, {"activation": activation, "dale": dale}))
    return {arch.name: arch for arch in archs}


ARCHITECTURES: dict[str, Architecture] = _registry()


def get_architecture(name: str) -> Architecture:
    """The architecture called ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown architecture {name!r}; valid architectures: {', '.join(ARCHITECTURES)}"
        ) from None


__all__ = ["ARCHITECTURES", "Architecture", "Network", "Population", "get_architecture"]
