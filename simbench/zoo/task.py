"""Tasks and suites: the contract every zoo task fulfils.

A :class:`Suite` owns the input statistics of a family of tasks (their shared
interface and their shared probe set); a :class:`Task` turns a suite's trials into
targets, a loss mask and a performance score. Networks trained on different tasks of
one suite can therefore be recorded on identical inputs and compared directly.

Arrays are ``float32`` numpy arrays laid out ``[batch, time, channel]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Trials:
    """Inputs of a batch of trials plus the latent variables that generated them."""

    inputs: np.ndarray
    latent: dict[str, np.ndarray] = field(default_factory=dict)
    conditions: pd.DataFrame | None = None


@dataclass(frozen=True)
class Batch:
    """A supervised batch: ``inputs [B,T,I]``, ``targets [B,T,O]``, ``mask [B,T,O]``."""

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class Probe(Batch):
    """The fixed condition set of a suite, with a table describing each condition."""

    conditions: pd.DataFrame = field(default_factory=pd.DataFrame)


class Suite(ABC):
    """Tasks sharing one input/output interface, one trial length and one probe set."""

    name: str
    n_inputs: int
    n_outputs: int
    n_steps: int

    @abstractmethod
    def trials(self, rng: np.random.Generator, batch: int) -> Trials:
        """Draw ``batch`` random training trials."""

    @abstractmethod
    def probe_trials(self) -> Trials:
        """The deterministic, noise-free condition set used for every recording."""

    def check_batch(self, batch: int) -> None:
        if not isinstance(batch, (int, np.integer)) or batch <= 0:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")


class Task(ABC):
    """One task of a suite: targets, loss mask and a performance score in [0, 1]."""

    name: str
    suite: Suite
    #: performance a trained network must reach to enter benchmarks
    threshold: float = 0.9
    #: how :meth:`performance` scores outputs: ``"r2"`` or ``"accuracy"``
    score: str = "r2"

    @property
    def n_inputs(self) -> int:
        return self.suite.n_inputs

    @property
    def n_outputs(self) -> int:
        return self.suite.n_outputs

    @property
    def n_steps(self) -> int:
        return self.suite.n_steps

    @abstractmethod
    def targets(self, trials: Trials) -> tuple[np.ndarray, np.ndarray]:
        """Targets ``[B,T,O]`` and loss mask ``[B,T,O]`` for the given trials."""

    def sample(self, rng: np.random.Generator, batch: int) -> Batch:
        """Random training batch drawn with ``rng``."""
        self.suite.check_batch(batch)
        trials = self.suite.trials(rng, batch)
        targets, mask = self.targets(trials)
        return Batch(trials.inputs, targets.astype(np.float32), mask.astype(np.float32))

    def probe(self) -> Probe:
        """The suite's probe set with this task's targets."""
        trials = self.suite.probe_trials()
        targets, mask = self.targets(trials)
        return Probe(
            trials.inputs,
            targets.astype(np.float32),
            mask.astype(np.float32),
            conditions=trials.conditions,
        )

    def performance(self, outputs, targets, mask) -> float:
        """Score of ``outputs`` against ``targets`` on the masked entries, in [0, 1]."""
        return r_squared(*self.validated(outputs, targets, mask))

    def validated(self, outputs, targets, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three arrays as float64, after checking they are ``[B,T,O]`` of one shape."""
        outputs, targets, mask = (np.asarray(a, dtype=np.float64) for a in (outputs, targets, mask))
        if not (outputs.shape == targets.shape == mask.shape) or outputs.ndim != 3:
            raise ValueError(
                f"{self.name}: outputs {outputs.shape}, targets {targets.shape} and mask "
                f"{mask.shape} must share one [batch, time, {self.n_outputs}] shape"
            )
        return outputs, targets, mask

    def __repr__(self) -> str:
        return f"<Task {self.name} (suite {self.suite.name})>"


def r_squared(outputs: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> float:
    """Masked coefficient of determination, clipped to [0, 1].

    R² = 1 − Σ m (y − ŷ)² / Σ m (y − ȳ_o)², with ȳ_o the masked mean of output channel o.
    """
    weight = mask.reshape(-1, mask.shape[-1])
    y = targets.reshape(weight.shape)
    yhat = outputs.reshape(weight.shape)
    mean = (weight * y).sum(0) / np.maximum(weight.sum(0), 1e-12)
    residual = (weight * (y - yhat) ** 2).sum()
    total = (weight * (y - mean) ** 2).sum()
    if total <= 0:
        return float(residual <= 1e-12)
    return float(np.clip(1.0 - residual / total, 0.0, 1.0))
