"""Populations: many same-shaped recurrent networks as one stack of tensors.

Every parameter carries a leading population axis ``N``; one time step of all networks
is one batched matrix product (``torch.baddbmm``). A network's parameters are drawn
from its own seeded generator, so a member is the same whichever population holds it.

Shapes: inputs ``[N, B, T, I]``, states ``[N, B, T, S]`` (``S`` is the state size,
``2H`` for an LSTM whose state stacks ``[h, c]``), outputs ``[N, B, T, O]``.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

# Training allocates tens of MB per step (drives, states, gradients). With 4 KiB pages
# each fresh buffer costs thousands of page faults; PyTorch's documented switch below
# backs large CPU tensors with transparent huge pages (512× fewer faults, same results).
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def member_generator(seed: int, stream: int) -> torch.Generator:
    """A torch generator for one network's ``stream`` (0: weights, 1: noise)."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


#: thread pools by (process id, size): a pool inherited through fork has no threads
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def in_parallel(fn, count: int) -> list:
    """``[fn(0), …, fn(count − 1)]`` without autograd, on ``count`` threads of one torch
    thread each.

    A batched product over a population is too small for torch's intra-op threads to
    pay off on a few cores (both threads wait on each other at every step), so a
    parallel pass gives each thread its own share of the networks instead. torch's
    thread count is restored afterwards.
    """
    if count == 1:
        with torch.no_grad():
            return [fn(0)]
    key = (os.getpid(), count)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(count, thread_name_prefix="simbench-population")
    threads = torch.get_num_threads()

    def run(k):
        torch.set_num_threads(1)
        with torch.no_grad():  # grad mode is thread-local
            return fn(k)

    try:
        return list(_POOLS[key].map(run, range(count)))
    finally:
        torch.set_num_threads(threads)


class Workspace:
    """Large scratch buffers of the training pass, reused from one step to the next.

    A fresh 50–250 MB CPU buffer costs a page fault per 4 KiB page on first touch, and
    a training step of an LSTM population saves about 260 MB of gates for its backward
    pass. Buffers that never leave the recurrence's autograd node are handed back after
    its backward pass and handed out again by the next forward pass; a buffer still held
    (e.g. two forward passes before one backward) is simply not in the free list, so a
    fresh one is allocated. Reuse changes no value: every buffer taken is fully
    overwritten.
    """

    def __init__(self, keep: int = 8):
        self.keep, self.free = keep, []

    def take(self, like: torch.Tensor, *shape: int) -> torch.Tensor:
        """An uninitialised buffer of ``shape`` with ``like``'s dtype and device."""
        for k, buffer in enumerate(self.free):
            if buffer.shape == shape and buffer.dtype == like.dtype and buffer.device == like.device:
                return self.free.pop(k)
        return like.new_empty(shape)

    def give(self, *buffers: torch.Tensor) -> None:
        self.free.extend(buffers)
        del self.free[: max(0, len(self.free) - self.keep)]


class Population(nn.Module):
    """A stack of ``N`` recurrent networks of one architecture and size.

    Subclasses define ``_init_member`` (one network's parameters from its generator),
    ``_recur`` (one step given the precomputed input drive) and the layout of the drive.
    """

    #: "discrete" (h ← F(h, u)) or "continuous" (x ← x + α (f(·) − x))
    time: str = "discrete"
    #: std of the private noise added to the drive while training, unless configured
    default_noise: float = 0.0
    #: names of weight matrices (L2-penalised); the rest are biases
    weight_names: tuple[str, ...] = ()

    def __init__(self, n_inputs: int, n_outputs: int, hidden: int, seeds, **options):
        super().__init__()
        for label, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs), ("hidden", hidden)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{label} must be a positive integer, got {value!r}")
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("a population needs at least one seed")
        self.n_inputs, self.n_outputs, self.hidden = int(n_inputs), int(n_outputs), int(hidden)
        self.seeds = seeds
        self.workspace = Workspace()
        self.options = options
        members = [self._init_member(member_generator(seed, 0)) for seed in seeds]
        for name in members[0]:
            tensor = torch.stack([m[name] for m in members]).to(torch.float32)
            self.register_parameter(name, nn.Parameter(tensor))
        self.project()

    # --- construction -------------------------------------------------------------
    @abstractmethod
    def _init_member(self, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """One network's initial parameters (no population axis)."""

    @classmethod
    def from_members(cls, n_inputs, n_outputs, hidden, seeds, members, **options):
        """A population holding given per-network parameters (e.g. loaded from disk)."""
        population = cls(n_inputs, n_outputs, hidden, seeds, **options)
        with torch.no_grad():
            for name, parameter in population.named_parameters():
                parameter.copy_(torch.stack([torch.as_tensor(m[name]) for m in members]))
        return population

    def members(self, start: int, stop: int) -> Population:
        """Networks ``start … stop − 1`` as a population sharing this one's parameter
        storage (detached views, so an optimiser step shows through; no autograd)."""
        part = object.__new__(type(self))
        nn.Module.__init__(part)
        for name, value in vars(self).items():
            if not name.startswith("_"):
                object.__setattr__(part, name, value)
        for name, parameter in self.named_parameters(recurse=False):
            object.__setattr__(part, name, parameter.detach()[start:stop])
        part.seeds, part.workspace = self.seeds[start:stop], Workspace()
        return part

    def parts(self) -> list[Population]:
        """One share of the networks per torch thread (:func:`in_parallel`), cached while
        the parameters keep their storage."""
        count = max(1, min(torch.get_num_threads(), self.size))
        key = (count, *(p.data_ptr() for p in self.parameters()))
        if getattr(self, "_parts_key", None) != key:
            edges = np.linspace(0, self.size, count + 1).round().astype(int)
            self._parts = [self.members(a, b) for a, b in zip(edges[:-1], edges[1:])]
            self._parts_key = key
        return self._parts

    def __getstate__(self) -> dict:
        """Copies (e.g. :func:`simbench.dynamics.as_system`'s float64 copy) and pickles
        carry the parameters, not the training scratch buffers or the per-thread shares."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_parts", "_parts_key")}
        state["workspace"] = Workspace()
        return state

    def member_parameters(self, index: int) -> dict[str, torch.Tensor]:
        """Detached copies of network ``index``'s parameters."""
        return {name: p[index].detach().clone() for name, p in self.named_parameters()}

    def select(self, indices) -> Population:
        """A new population made of the listed members (copies)."""
        indices = list(indices)
        return type(self).from_members(
            self.n_inputs,
            self.n_outputs,
            self.hidden,
            [self.seeds[i] for i in indices],
            [self.member_parameters(i) for i in indices],
            **self.options,
        )

    def project(self) -> None:
        """Restore parameter constraints after an optimiser step (no-op by default)."""

    # --- dynamics -----------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.seeds)

    @property
    def state_size(self) -> int:
        return self.hidden

    @property
    def drive_size(self) -> int:
        """Width of the input drive: hidden size times the number of gates."""
        return self.w_in.shape[-1]

    def initial_state(self, batch: int) -> torch.Tensor:
        """Zero initial state ``[N, B, S]``."""
        return self.w_in.new_zeros(self.size, batch, self.state_size)

    def drive(self, inputs: torch.Tensor) -> torch.Tensor:
        """Input drive ``W_in u + b`` for all steps at once: ``[N, B, T, G]``."""
        return torch.einsum("nbti,nig->nbtg", inputs, self.w_in) + self.b_in[:, None]

    @abstractmethod
    def _recur(self, h: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        """Next state ``[N, B, S]`` from state ``h`` and this step's drive ``[N, B, G]``."""

    def step(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """One differentiable step: ``h [N,B,S]``, ``u [N,B,I]`` → ``h' [N,B,S]``."""
        return self._recur(h, self.drive(u.unsqueeze(2)).squeeze(2))

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Linear readout of the hidden units: ``[N, ..., S]`` → ``[N, ..., O]``."""
        units = h[..., : self.hidden]
        bias = self.b_out.reshape(self.size, *([1] * (h.ndim - 2)), self.n_outputs)
        return torch.einsum("n...h,nho->n...o", units, self.w_out) + bias

    def forward(self, inputs: torch.Tensor, noise: torch.Tensor | None = None, h0=None):
        """Run all networks: returns ``(states [N,B,T,S], outputs [N,B,T,O])``.

        ``noise`` (same shape as the drive) is added to the drive of every step.
        """
        if inputs.ndim != 4 or inputs.shape[0] != self.size or inputs.shape[-1] != self.n_inputs:
            raise ValueError(
                f"inputs must be [{self.size}, batch, time, {self.n_inputs}], got {tuple(inputs.shape)}"
            )
        # time-major [T, N, B, ·] throughout, so each step's slice is contiguous
        inputs = inputs.permute(2, 0, 1, 3).contiguous()
        noise = None if noise is None else noise.permute(2, 0, 1, 3)
        h0 = self.initial_state(inputs.shape[2]) if h0 is None else h0
        if torch.is_grad_enabled():
            states, outputs = _Scan.apply(self, inputs, noise, h0, self.w_in, self.b_in, self.w_out,
                                          *self.recurrent_parameters())
        else:
            states, outputs = self.run_time_major(inputs, noise, h0, save=False)[:2]
        # outputs are [T, N, O, B] (see time_major_readout)
        return states.permute(1, 2, 0, 3), outputs.permute(1, 3, 0, 2) + self.b_out[:, :, None]

    def run_time_major(self, inputs, noise, h0, save=True):
        """Scan and readout without autograd on ``inputs [T, N, B, I]``: ``(states, outputs, saved)``."""
        states, saved = self.scan(DriveSteps(self, inputs, noise), h0, save)
        return states, self.time_major_readout(states), saved

    def time_major_readout(self, states: torch.Tensor) -> torch.Tensor:
        """Readout without bias, transposed per step, ``W_outᵀ h_tᵀ``: ``[T, N, O, B]``.

        With O ≪ H the transposed product is the fast one (about 4× on CPU).
        """
        outputs = states.new_empty(*states.shape[:2], self.n_outputs, states.shape[2])
        w_t = self.w_out.transpose(1, 2)
        for h, out in zip(states, outputs):
            torch.bmm(w_t, h[..., : self.hidden].transpose(1, 2), out=out)
        return outputs

    def recurrent_parameters(self) -> tuple[torch.Tensor, ...]:
        """Parameters used inside the time loop, in the order ``scan_backward`` returns grads."""
        return (self.w_rec,)

    @abstractmethod
    def scan(self, drive: DriveSteps, h0: torch.Tensor, save: bool = True):
        """All steps without autograd; ``drive[t]`` is step ``t``'s input drive ``[N, B, G]``.

        Returns ``(states [T, N, B, S], saved)``; ``saved`` holds what ``scan_backward``
        needs (``None`` when ``save`` is false).
        """

    @abstractmethod
    def scan_backward(self, boundary: BoundaryGradients, h0: torch.Tensor, states: torch.Tensor, saved):
        """Hand-written BPTT, time-major: ``(d_h0, grads of recurrent_parameters)``.

        Walking back from the last step, step ``t`` adds the loss's direct gradient on
        ``h_t`` with ``boundary.add_state(t, …)`` and hands the drive's gradient ``δ_t`` to
        ``boundary.drive(t, δ_t)``. Each step costs one batched product with ``W_recᵀ``
        and one more that adds this step's share ``h_{t−1}ᵀ δ_t`` to the weight gradient
        ``Σ_t h_{t−1}ᵀ δ_t``, both on contiguous per-step slices.
        """


class DriveSteps:
    """The input drive ``a_t = ξ_t + b_in + u_t W_in`` of ``inputs [T, N, B, I]``, step
    by step: ``drive[t]`` computes step ``t`` into one reused buffer, which the scan
    reads before it asks for the next step (no ``[T, N, B, G]`` tensor is written).
    """

    def __init__(self, population: Population, inputs: torch.Tensor, noise: torch.Tensor | None):
        self.inputs, self.noise = inputs, noise
        self.w_in, self.b_in = population.w_in, population.b_in
        self.buffer = inputs.new_empty(*inputs.shape[1:-1], population.drive_size)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, t: int) -> torch.Tensor:
        if self.noise is None:
            return torch.baddbmm(self.b_in, self.inputs[t], self.w_in, out=self.buffer)
        return torch.add(self.noise[t], self.b_in, out=self.buffer).baddbmm_(self.inputs[t], self.w_in)


class BoundaryGradients:
    """Gradients where the recurrence meets the rest of the network, one step at a time
    inside the backward loop (nothing of shape ``[T, N, B, ·]`` is written):

    - into the states: ``∂L/∂h_t = ∂L/∂states_t + d_o_t W_outᵀ`` (hidden units only),
      added in place to the loop's running gradient, while ``∂L/∂W_out = Σ_t h_tᵀ d_o_t``
      accumulates;
    - out of the drive: ``∂L/∂W_in = Σ_t u_tᵀ δ_t`` and ``∂L/∂b_in = Σ_t 1ᵀ δ_t``, one
      product per step with ``[u_t, 1]``.

    ``d_outputs`` is ``[T, N, O, B]`` like :meth:`Population.time_major_readout`;
    either incoming gradient may be None.
    """

    def __init__(self, population: Population, inputs, states, d_states, d_outputs):
        self.states, self.d_states, self.d_outputs = states, d_states, d_outputs
        self.hidden = population.hidden
        self.w_out_t = population.w_out.transpose(1, 2)
        # [u_t, 1] per step, so one product per step accumulates [∂/∂W_in; ∂/∂b_in]
        self.inputs_and_one = torch.cat([inputs, inputs.new_ones(*inputs.shape[:-1], 1)], -1).transpose(2, 3)
        self.d_drive_weights = inputs.new_zeros(population.size, population.n_inputs + 1, population.drive_size)
        self.d_w_out_t = population.w_out.new_zeros(population.size, population.n_outputs, self.hidden)

    def add_state(self, t: int, d_h: torch.Tensor, d_c: torch.Tensor | None = None, alpha: float = 1.0) -> None:
        """Add ``alpha · ∂L/∂h_t`` from outside the recurrence to ``d_h [N, B, H]``, and the
        part on a wider state's remaining units (an LSTM's cell state) to ``d_c``."""
        if self.d_states is not None:
            d_state = self.d_states[t]
            d_h.add_(d_state[..., : self.hidden], alpha=alpha)
            if d_c is not None:
                d_c.add_(d_state[..., self.hidden :], alpha=alpha)
        if self.d_outputs is not None:
            d_o = self.d_outputs[t]
            d_h.baddbmm_(d_o.transpose(1, 2), self.w_out_t, alpha=alpha)
            self.d_w_out_t.baddbmm_(d_o, self.states[t][..., : self.hidden])

    def drive(self, t: int, delta: torch.Tensor) -> None:
        """Take step ``t``'s drive gradient ``δ_t [N, B, G]``."""
        self.d_drive_weights.baddbmm_(self.inputs_and_one[t], delta)

    def gradients(self):
        """``(∂/∂W_in, ∂/∂b_in, ∂/∂W_out)``; the last is None without ``d_outputs``."""
        d_w_out = None if self.d_outputs is None else self.d_w_out_t.transpose(1, 2).contiguous()
        d_w_in, d_b_in = self.d_drive_weights.split([self.d_drive_weights.shape[1] - 1, 1], 1)
        return d_w_in.contiguous(), d_b_in.contiguous(), d_w_out


class _Scan(torch.autograd.Function):
    """The whole recurrence as one autograd node with a hand-written backward pass.

    Autograd through a Python time loop spends most of its time on per-step overhead and
    on T small weight-gradient products; this node runs the input drive, the loop and
    the readout without a graph and computes the gradients itself, step by step on
    contiguous time-major slices. The drive and the gradients at the boundary (readout,
    drive) are computed inside the loops (:class:`DriveSteps`, :class:`BoundaryGradients`),
    so beyond the states and the saved activations no ``[T, N, B, ·]`` tensor is
    written, and none is ever permuted. With several torch threads, each thread runs
    both passes for its own share of the networks (:meth:`Population.parts`). Tests
    check it against autograd through ``_recur``.
    """

    @staticmethod
    def forward(ctx, population, inputs, noise, h0, *parameters):
        parts = population.parts()
        edges = np.cumsum([0] + [part.size for part in parts])

        def run(k):
            n = slice(edges[k], edges[k + 1])
            return parts[k].run_time_major(inputs[:, n], None if noise is None else noise[:, n], h0[n])

        runs = in_parallel(run, len(parts))
        ctx.set_materialize_grads(False)
        ctx.parts, ctx.edges, ctx.runs = parts, edges, runs
        ctx.save_for_backward(inputs, h0)
        if len(runs) == 1:
            return runs[0][0], runs[0][1]
        return torch.cat([r[0] for r in runs], 1), torch.cat([r[1] for r in runs], 1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_states, d_outputs):
        inputs, h0 = ctx.saved_tensors
        parts, edges, runs = ctx.parts, ctx.edges, ctx.runs

        def run(k):
            part, n = parts[k], slice(edges[k], edges[k + 1])
            states, _, saved = runs[k]
            boundary = BoundaryGradients(part, inputs[:, n], states, None if d_states is None else d_states[:, n],
                                         None if d_outputs is None else d_outputs[:, n])
            d_h0, grads = part.scan_backward(boundary, h0[n], states, saved)
            d_w_in, d_b_in, d_w_out = boundary.gradients()
            # hand back the saved buffers, never the states (forward returned them)
            saved = saved if isinstance(saved, tuple) else (saved,)
            part.workspace.give(*(s for s in saved if s is not None and s.data_ptr() != states.data_ptr()))
            return d_h0, d_w_in, d_b_in, d_w_out, *grads

        results = in_parallel(run, len(parts))
        ctx.runs = None
        gradients = [None if g[0] is None else torch.cat(g) if len(g) > 1 else g[0] for g in zip(*results)]
        return (None, None, None, *gradients)


def spectral_radius(matrix: torch.Tensor) -> float:
    return float(torch.linalg.eigvals(matrix.double()).abs().max())


def uniform(generator, shape, bound) -> torch.Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound
