"""Batched dynamical systems: N networks advanced together, ``h [N,B,S]``, ``u [N,B,I]``.

Every analysis in :mod:`simbench.dynamics` runs on a :class:`System`: one stack of
``N`` networks whose ``step`` maps states ``[N,B,S]`` and inputs ``[N,B,I]`` to next
states ``[N,B,S]`` (differentiable torch). :func:`as_system` builds one from

- a zoo :class:`~simbench.zoo.architectures.Network` or a
  :class:`~simbench.zoo.architectures.Population` (a float64 copy of its stacked
  parameters, so all networks step in one batched matrix product);
- a list of zoo networks of one architecture, size and options (stacked into one
  population the same way: the fast path);
- any *Network-like* object (``step(h [B,S], u [B,I])``, ``readout(h)``,
  ``initial_state(batch)``, ``time``, ``alpha``; ``n_inputs``/``state_size`` optional)
  or a list of them (a loop over members: correct, not vectorised).

Continuous-time networks step x ← x + α (f(·) − x); their right-hand side is
``(step(x, u) − x) / α`` (time in units of τ). :meth:`System.rhs` returns that for
continuous time and ``step(x, u) − x`` for discrete time: the quantity whose zeros are
the fixed points. :meth:`System.speed_grad` returns q = ½‖rhs‖² and ∂q/∂h (the
fixed-point search calls it once per iteration) by autograd in general and in closed form
for leaky rate networks (vanilla RNNs and CTRNNs, :func:`_leaky_closed_forms`), which also
give the step's Jacobian in closed form (``closed_jacobian``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch


class System:
    """N networks with a batched step; see the module docstring.

    Attributes: ``n`` networks, ``state_size`` S, ``n_inputs`` I, ``n_outputs`` O,
    ``time`` ("discrete"/"continuous"), ``alpha`` (dt/τ, 1 for discrete time),
    ``dtype``, ``members`` (the original objects, for metadata).
    """

    def __init__(self, step, readout, *, n, state_size, n_inputs, n_outputs, time, alpha, dtype,
                 members=None, initial_state=None, speed_grad=None, jacobian=None):
        if time not in ("discrete", "continuous"):
            raise ValueError(f"time must be 'discrete' or 'continuous', got {time!r}")
        if time == "continuous" and not (alpha and 0 < float(alpha) <= 1):
            raise ValueError(f"a continuous-time network needs alpha = dt/tau in (0, 1], got {alpha!r}")
        self._step, self._readout, self._initial = step, readout, initial_state
        #: closed forms of speed_grad(h, u) and the step's Jacobian (h, u) → [N,B,S,S], or None
        self._speed_grad, self.closed_jacobian = speed_grad, jacobian
        self.n, self.state_size, self.n_inputs, self.n_outputs = int(n), int(state_size), int(n_inputs), int(n_outputs)
        self.time = time
        self.alpha = float(alpha) if time == "continuous" else 1.0
        self.dtype = dtype
        self.members = list(members) if members is not None else [None] * self.n

    def step(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self._step(h, u)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        return self._readout(h)

    def rhs(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Zero exactly at fixed points: ``F(h,u) − h`` (discrete) or ``(F(h,u) − h)/α``."""
        delta = self._step(h, u) - h
        return delta if self.time == "discrete" else delta / self.alpha

    def speed_grad(self, h: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q = ½‖rhs(h, u)‖² ``[N,B]`` and ∂q/∂h = (∂rhs/∂h)ᵀ rhs ``[N,B,S]`` (no graph)."""
        if self._speed_grad is not None:
            return self._speed_grad(h, u)
        h = h.detach().requires_grad_(True)
        with torch.enable_grad():
            r = self.rhs(h, u)
            q = 0.5 * (r * r).sum(-1)
            (g,) = torch.autograd.grad(q.sum(), h)
        return q.detach(), g

    def initial_state(self, batch: int) -> torch.Tensor:
        if self._initial is not None:
            return self._initial(batch)
        return torch.zeros(self.n, batch, self.state_size, dtype=self.dtype)

    def tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x, dtype=self.dtype)

    @torch.no_grad()
    def run(self, inputs: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """States ``[N,B,T,S]`` for inputs ``[N,B,T,I]`` (noise-free, no graph)."""
        inputs = self.tensor(inputs)
        h = self.initial_state(inputs.shape[1]) if h0 is None else self.tensor(h0)
        states = []
        for t in range(inputs.shape[2]):
            h = self._step(h, inputs[:, :, t])
            states.append(h)
        return torch.stack(states, 2)


def _population_classes():
    from simbench.zoo.architectures.network import Network
    from simbench.zoo.architectures.population import Population
    return Network, Population


def _leaky_closed_forms(pop):
    """Closed-form :meth:`System.speed_grad` and :meth:`System.jacobian` of a leaky rate
    population, x ← x + α (f(z) − x), z = x W_rec + u W_in + b (vanilla RNNs: α = 1).

    Discrete time with α = 1 and continuous time (rhs = (F − x)/α) share
    rhs = r = f(z) − x, so q = ½‖r‖² and ∂q/∂x = (r ⊙ f'(z)) W_recᵀ − r (one forward and
    one transposed product, no autograd graph); the step's Jacobian is
    ∂F/∂x = (1 − α) I + α diag(f'(z)) W_recᵀ. f'(z) is written through the rate f(z)
    (the population's ``slope``).
    """
    w_rec_t = pop.w_rec.transpose(1, 2)

    def rate(h, u):
        return pop.f(torch.baddbmm(torch.baddbmm(pop.b_in, u, pop.w_in), h, pop.w_rec))

    def speed_grad(h, u):
        f = rate(h, u)
        r = f - h
        weighted = pop.slope(f).mul_(r)
        return 0.5 * torch.linalg.vecdot(r, r), torch.baddbmm(r, weighted, w_rec_t, beta=-1.0)

    def jacobian(h, u):
        J = pop.alpha * pop.slope(rate(h, u))[..., :, None] * w_rec_t[:, None]
        J.diagonal(dim1=-2, dim2=-1).add_(1 - pop.alpha)
        return J

    return speed_grad, jacobian


def _from_population(population, members, dtype) -> System:
    from simbench.zoo.architectures.leaky import LeakyRecurrence

    pop = copy.deepcopy(population).to(dtype)
    for p in pop.parameters():
        p.requires_grad_(False)
    time = pop.time
    alpha = getattr(pop, "alpha", None)
    speed_grad, jacobian = _leaky_closed_forms(pop) if isinstance(pop, LeakyRecurrence) else (None, None)
    return System(pop.step, pop.readout, n=pop.size, state_size=pop.state_size, n_inputs=pop.n_inputs,
                  n_outputs=pop.n_outputs, time=time, alpha=alpha, dtype=dtype, members=members,
                  initial_state=pop.initial_state, speed_grad=speed_grad, jacobian=jacobian)


def stackable(networks: Sequence) -> bool:
    """True when all items are zoo networks of one population class, size and options."""
    Network, Population = _population_classes()
    if not networks or not all(isinstance(n, Network) for n in networks):
        return False
    first = networks[0].population
    return all(
        type(n.population) is type(first)
        and n.population.options == first.options
        and (n.population.n_inputs, n.population.n_outputs, n.population.hidden)
        == (first.n_inputs, first.n_outputs, first.hidden)
        for n in networks
    )


def stack_networks(networks: Sequence, dtype=torch.float64) -> System:
    """One batched system from zoo networks of one architecture (see :func:`stackable`)."""
    if not stackable(networks):
        raise ValueError("stack_networks needs zoo networks of one architecture, size and options")
    first = networks[0].population
    members = [n.population.member_parameters(0) for n in networks]
    population = type(first).from_members(first.n_inputs, first.n_outputs, first.hidden,
                                          [n.population.seeds[0] for n in networks], members, **first.options)
    return _from_population(population, list(networks), dtype)


def _sizes(obj):
    """``(state size, input size)`` of a Network-like object."""
    s = getattr(obj, "state_size", None)
    if s is None:
        s = torch.as_tensor(obj.initial_state(1)).shape[-1]
    i = getattr(obj, "n_inputs", None)
    if i is None:
        raise ValueError(f"{type(obj).__name__} needs an n_inputs attribute to be analysed")
    return int(s), int(i)


def _probe(obj, dtype):
    """The dtype a Network-like object computes in (``dtype`` if it accepts it, else
    float32) and its number of outputs."""
    s, i = _sizes(obj)
    for candidate in (dtype, torch.float32):
        try:
            with torch.no_grad():
                h = torch.zeros(1, s, dtype=candidate)
                out = obj.step(h, torch.zeros(1, i, dtype=candidate))
                o = obj.readout(h).shape[-1]
            return (out.dtype if out.dtype.is_floating_point else candidate), int(o)
        except (RuntimeError, TypeError):
            continue
    raise ValueError(f"{type(obj).__name__}: step(h [1,{s}], u [1,{i}]) failed in float64 and float32")


def _from_objects(objects: Sequence, dtype) -> System:
    """A system looping over Network-like objects (each ``step(h [B,S], u [B,I])``)."""
    sizes = [_sizes(o) for o in objects]
    if len(set(sizes)) != 1:
        raise ValueError(f"networks analysed together need one state and input size, got {sorted(set(sizes))}")
    times = {(getattr(o, "time", "discrete"), getattr(o, "alpha", None)) for o in objects}
    if len(times) != 1:
        raise ValueError(f"networks analysed together need one time type and alpha, got {times}")
    time, alpha = times.pop()
    dtype, o = _probe(objects[0], dtype)
    s, i = sizes[0]

    def step(h, u):
        return torch.stack([obj.step(h[k].to(dtype), u[k].to(dtype)) for k, obj in enumerate(objects)]).to(h.dtype)

    def readout(h):
        flat = h.reshape(h.shape[0], -1, h.shape[-1])
        out = torch.stack([obj.readout(flat[k].to(dtype)) for k, obj in enumerate(objects)]).to(h.dtype)
        return out.reshape(*h.shape[:-1], out.shape[-1])

    def initial_state(batch):
        return torch.stack([torch.as_tensor(obj.initial_state(batch)) for obj in objects]).to(dtype)

    return System(step, readout, n=len(objects), state_size=s, n_inputs=i, n_outputs=o, time=time,
                  alpha=alpha, dtype=dtype, members=list(objects), initial_state=initial_state)


def as_system(obj, dtype=torch.float64) -> System:
    """A :class:`System` for a network, a population, or a list of networks (see module doc)."""
    if isinstance(obj, System):
        return obj
    Network, Population = _population_classes()
    if isinstance(obj, Population):
        return _from_population(obj, [None] * obj.size, dtype)
    if isinstance(obj, Network):
        return _from_population(obj.population, [obj], dtype)
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise ValueError("no networks to analyse")
        if stackable(obj):
            return stack_networks(obj, dtype)
        return _from_objects(list(obj), dtype)
    if hasattr(obj, "step") and hasattr(obj, "readout"):
        return _from_objects([obj], dtype)
    raise TypeError(f"cannot analyse {type(obj).__name__}: need a Network, a Population, a list of "
                    "networks, or an object with step(h, u), readout(h) and initial_state(batch)")
