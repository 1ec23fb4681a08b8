"""Population training: many networks of one architecture and size trained at once.

Every member has its own seed, task, data stream, noise stream, Adam state and early
stopping; the loss is the *sum* of per-network masked MSEs, so each network receives
exactly the gradient it would receive alone (see :mod:`simbench.zoo.optim`).

Seed streams of a member with seed ``s`` (:func:`numpy.random.SeedSequence` ``[s, k]``):
0 initial weights, 1 training noise, 2 training batches, 3 validation batch, 4 test batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simbench.zoo.architectures import Network, Population, get_architecture
from simbench.zoo.architectures.population import member_generator
from simbench.zoo.optim import PopulationAdam
from simbench.zoo.task import Batch, Task
from simbench.zoo.tasks import get_task

TRAIN_STREAM, VALIDATION_STREAM, TEST_STREAM = 2, 3, 4


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters shared by a population.

    max_steps: optimiser steps at most; batch_size: trials per step and network;
    lr: Adam learning rate; weight_decay: L2 coefficient on weight matrices;
    max_grad_norm: per-network gradient clipping; noise_std: std of the private noise
    added to the drive in training (None: the architecture's default, 0.05 for
    continuous-time networks, 0 for discrete cells); eval_every: steps between
    validation checks; eval_batch: validation/test trials per network;
    stop_performance: a network stops once its validation performance reaches this;
    patience: validation checks without a ``min_improvement`` relative loss gain make a
    plateau; on a plateau a network's learning rate is multiplied by ``lr_drop_factor``
    (at most ``lr_drops`` times, as torch's ReduceLROnPlateau) and then it stops;
    threads: torch threads (None leaves torch's setting).

    Defaults come from ``scripts/sweep.py`` over every architecture × suite at 32 units
    (3 seeds each): lr 3e-3 beat 1e-3 for Dale ReLU networks on flipflop3 and sine, and
    patience 20 (1000 steps) stopped no network that was still learning. Two drops of
    the learning rate (× 0.3) took vanilla tanh networks on integrate3 from plateaus
    just below R² 0.9 to 0.90–0.96 (zoo/reference/README.md).
    """

    max_steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-5
    max_grad_norm: float = 1.0
    noise_std: float | None = None
    eval_every: int = 50
    eval_batch: int = 128
    stop_performance: float = 0.99
    patience: int = 20
    min_improvement: float = 0.01
    lr_drops: int = 2
    lr_drop_factor: float = 0.3
    threads: int | None = None

    def __post_init__(self):
        positive = ("max_steps", "batch_size", "eval_every", "eval_batch", "patience")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        for name in ("lr", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainConfig.{name} must be positive, got {getattr(self, name)!r}")
        if not isinstance(self.lr_drops, (int, np.integer)) or self.lr_drops < 0:
            raise ValueError(f"TrainConfig.lr_drops must be a non-negative integer, got {self.lr_drops!r}")
        if not 0 < self.lr_drop_factor < 1:
            raise ValueError(f"TrainConfig.lr_drop_factor must lie in (0, 1), got {self.lr_drop_factor!r}")

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Member:
    """One network to train: its task and seed."""

    task: str
    seed: int


@dataclass
class TrainResult:
    """A trained population and one row of results per member."""

    architecture: str
    hidden: int
    population: Population
    members: list[Member]
    config: TrainConfig
    table: pd.DataFrame
    history: pd.DataFrame

    def network(self, index: int) -> Network:
        row = self.table.iloc[index].to_dict()
        return Network.from_population(self.population, index, row)

    def networks(self) -> list[Network]:
        return [self.network(i) for i in range(len(self.members))]


def train_population(architecture: str, hidden: int, members, config: TrainConfig | None = None,
                     progress: bool = True, **options) -> TrainResult:
    """Train one network per member, all at once. ``options`` go to the architecture."""
    config = config or TrainConfig()
    arch = get_architecture(architecture)
    members = [m if isinstance(m, Member) else Member(*m) for m in members]
    if not members:
        raise ValueError("train_population needs at least one member")
    tasks = [get_task(m.task) for m in members]
    suites = {t.suite.name for t in tasks}
    if len(suites) > 1:
        raise ValueError(
            f"inconsistent batch: a population shares one input/output interface, but its "
            f"tasks come from suites {sorted(suites)}"
        )
    if config.threads:
        torch.set_num_threads(config.threads)
    population = arch.population(tasks[0].n_inputs, tasks[0].n_outputs, hidden, [m.seed for m in members], **options)
    noise_std = population.default_noise if config.noise_std is None else config.noise_std
    optimiser = PopulationAdam(
        list(population.parameters()),
        [name in population.weight_names for name, _ in population.named_parameters()],
        lr=config.lr,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
    )
    trainer = _Trainer(population, tasks, members, config, noise_std)
    started = time.perf_counter()
    trainer.run(optimiser, progress, f"{architecture} ×{len(members)}")
    table = trainer.summary(architecture, hidden, time.perf_counter() - started)
    return TrainResult(architecture, hidden, trainer.population, members, config, table, trainer.history())


class _Trainer:
    """The training loop's state: data streams, validation sets, stop flags.

    Stopped networks leave the population (their final weights are set aside), so the
    remaining steps cost only what the active networks need. Every operation acts on
    each network separately, so this changes no result.
    """

    def __init__(self, population, tasks: list[Task], members: list[Member], config, noise_std):
        self.population, self.tasks, self.members, self.config = population, tasks, members, config
        self.noise_std = noise_std
        self.data_rngs = [np.random.default_rng([m.seed, TRAIN_STREAM]) for m in members]
        self.noise_generators = [member_generator(m.seed, 1) for m in members]
        self.validation = self._fixed_batches(VALIDATION_STREAM)
        n = len(members)
        self.rows = list(range(n))  # member index of each row of the current population
        self.finished: dict[int, dict[str, torch.Tensor]] = {}
        self.best_loss = np.full(n, np.inf)
        self.stale = np.zeros(n, dtype=int)
        self.drops = np.zeros(n, dtype=int)
        self.stopped_at = np.full(n, config.max_steps)
        self.reason = ["max_steps"] * n
        self.records: list[dict] = []

    def _fixed_batches(self, stream: int) -> Batch:
        batches = [
            task.sample(np.random.default_rng([m.seed, stream]), self.config.eval_batch)
            for task, m in zip(self.tasks, self.members)
        ]
        return _stack(batches)

    def _noise(self, batch: int) -> torch.Tensor | None:
        if not self.noise_std:
            return None
        shape = (batch, self.tasks[0].n_steps, self.population.drive_size)
        noise = torch.empty((len(self.rows), *shape))
        for buffer, i in zip(noise, self.rows):
            torch.randn(shape, generator=self.noise_generators[i], out=buffer)
        return noise.mul_(self.noise_std)

    def run(self, optimiser: PopulationAdam, progress: bool, label: str) -> None:
        config = self.config
        bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), disable=not progress,
        )
        with bar:
            job = bar.add_task(label, total=config.max_steps, status="")
            for step in range(1, config.max_steps + 1):
                batch = _stack([self.tasks[i].sample(self.data_rngs[i], config.batch_size) for i in self.rows])
                _, outputs = self.population(batch.inputs, self._noise(config.batch_size))
                losses = masked_mse(outputs, batch.targets, batch.mask)
                optimiser.zero_grad()
                torch.nan_to_num(losses, nan=0.0, posinf=0.0).sum().backward()
                optimiser.step(torch.isfinite(losses))
                self.population.project()
                if step % config.eval_every == 0 or step == config.max_steps:
                    optimiser = self._validate(step, optimiser)
                    bar.update(job, status=f"{len(self.rows)} active")
                bar.update(job, completed=step)
                if not self.rows:
                    break
        for row, i in enumerate(self.rows):
            self.finished[i] = self.population.member_parameters(row)
        self.population = type(self.population).from_members(
            self.population.n_inputs, self.population.n_outputs, self.population.hidden,
            [m.seed for m in self.members], [self.finished[i] for i in range(len(self.members))],
            **self.population.options,
        )

    @torch.no_grad()
    def _validate(self, step: int, optimiser: PopulationAdam) -> PopulationAdam:
        """Score the active networks; set stopped ones aside and shrink the population."""
        subset = Batch(*(t[self.rows] for t in (self.validation.inputs, self.validation.targets,
                                                 self.validation.mask)))
        losses, scores = evaluate(self.population, [self.tasks[i] for i in self.rows], subset)
        keep = []
        for row, (i, loss, score) in enumerate(zip(self.rows, losses, scores)):
            self.records.append({"step": step, "member": i, "val_loss": loss, "val_performance": score,
                                 "lr": float(optimiser.lr[row])})
            if not np.isfinite(loss):
                self._stop(i, step, "diverged")
            elif score >= self.config.stop_performance:
                self._stop(i, step, "performance")
            else:
                if loss < self.best_loss[i] * (1 - self.config.min_improvement):
                    self.best_loss[i], self.stale[i] = loss, 0
                else:
                    self.stale[i] += 1
                if self.stale[i] >= self.config.patience:
                    if self.drops[i] < self.config.lr_drops:
                        optimiser.lr[row] *= self.config.lr_drop_factor
                        self.drops[i], self.stale[i] = self.drops[i] + 1, 0
                    else:
                        self._stop(i, step, "plateau")
            self.best_loss[i] = min(self.best_loss[i], loss)
            if self.stopped_at[i] == step and self.reason[i] != "max_steps":
                self.finished[i] = self.population.member_parameters(row)
            else:
                keep.append(row)
        if len(keep) < len(self.rows) and keep:
            self.population = self.population.select(keep)
            optimiser = optimiser.select(keep, list(self.population.parameters()))
        self.rows = [self.rows[row] for row in keep]
        return optimiser

    def _stop(self, i: int, step: int, reason: str) -> None:
        self.stopped_at[i], self.reason[i] = step, reason

    def summary(self, architecture: str, hidden: int, seconds: float) -> pd.DataFrame:
        losses, scores = evaluate(self.population, self.tasks, self._fixed_batches(TEST_STREAM))
        arch = get_architecture(architecture)
        rows = []
        for i, (task, member) in enumerate(zip(self.tasks, self.members)):
            rows.append({
                "suite": task.suite.name, "task": task.name, "architecture": architecture,
                "family": arch.family, "activation": arch.activation, "dale": arch.dale,
                "hidden": hidden, "seed": member.seed, "steps": int(self.stopped_at[i]),
                "stop_reason": self.reason[i], "final_loss": losses[i], "performance": scores[i],
                "threshold": task.threshold, "passed": bool(scores[i] >= task.threshold),
                "train_seconds": seconds,
            })
        return pd.DataFrame(rows)

    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=["step", "member", "val_loss", "val_performance", "lr"])


def _stack(batches: list[Batch]) -> Batch:
    return Batch(*(torch.from_numpy(np.stack(arrays)) for arrays in zip(*(
        (b.inputs, b.targets, b.mask) for b in batches))))


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-network masked mean squared error ``[N]``."""
    dims = tuple(range(1, outputs.ndim))
    return ((outputs - targets) ** 2 * mask).sum(dims) / mask.sum(dims).clamp(min=1.0)


@torch.no_grad()
def evaluate(population: Population, tasks: list[Task], batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free loss and task performance of every member on a stacked batch."""
    _, outputs = population(batch.inputs)
    losses = masked_mse(outputs, batch.targets, batch.mask).double().numpy()
    scores = np.array([
        task.performance(o.numpy(), t.numpy(), m.numpy()) if np.isfinite(loss) else 0.0
        for task, o, t, m, loss in zip(tasks, outputs, batch.targets, batch.mask, losses)
    ])
    return losses, scores
