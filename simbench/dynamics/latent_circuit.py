"""Latent-circuit distillation (Langdon & Engel, Nat. Neurosci. 2025): a small RNN whose
orthonormal embedding reproduces a network's states and whose readout solves the task.

The latent circuit has ``n`` rate units (n = 8 for CDDM: one per input channel plus two
free units, as Tolmachev & Engel, Nat. Mach. Intell. 7:1742, 2025, fit to their CDDM
networks):

    x_{t+1} = (1 − α) x_t + α ReLU(W_rec x_t + W_in u_t),   x_0 = 0,   ŷ_t = W_out x_t,

column-vector convention (``W_rec[i, j]`` is the weight from unit j to unit i), α = 0.1
(dt/τ of the zoo's CTRNNs and of the papers' fits). ``W_in`` follows the papers' input
mask: input channel k drives latent unit k only, with a gain ≥ 0; ``W_rec`` and
``W_out`` are free. The embedding ``Q [S, n]`` has orthonormal columns (QᵀQ = I; a QR
parametrisation), so Q x lives in the network's state space. The fit minimises, jointly
over the circuit and Q,

    (1 − R²_states) + (1 − R²_outputs) + λ · mean(W_rec²),
    R²_states  = 1 − Σ ‖Q x̃ − ỹ‖² / Σ ‖ỹ‖²        (x̃, ỹ: centred over samples),
    R²_outputs = 1 − Σ m (ŷ − z)² / Σ m (z − z̄)²   (task targets z, loss mask m),

on the task's noise-free probe set. Implementation choices (ours): at most
``max_conditions = 100`` probe conditions, evenly spaced in the probe's order (CDDM has
450; the cost is proportional), and the losses sample every ``stride = 5``-th step (the
dynamics run every step); the network's centred states are projected on their top
``n_pcs = 30`` principal axes (Tolmachev & Engel's ``N_PCs``) and scaled to unit mean
squared norm, for conditioning only; R²_states counts the discarded variance as error,
so it is the R² in the full state space. The embedding starts at the states' coding
directions of the inputs and targets (Langdon & Engel's initialisation); no noise is
injected; Adam with a cosine learning rate; λ = 10⁻³.

Batched over networks *and* restarts: every (network, restart) pair is one member of a
population of latent circuits advanced by one batched product per step, and each network
keeps its best restart (lowest loss). Each step's input is taken with ``unbind`` (no
indexing inside the recorded time loop). Float32, like the zoo's training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from simbench.dynamics.simulate import group_system, network_label, stack_groups, task_of, torch_threads

#: the fraction of the fit during which silent latent units are revived
REVIVE = 0.5
#: most networks fitted as one population (bounds the memory of the recorded time loop)
POPULATION = 64


@dataclass(frozen=True)
class LatentCircuitOptions:
    """Options of :func:`fit_latent_circuits` (see the module docstring)."""

    n_latent: int = 8
    alpha: float = 0.1
    n_pcs: int = 30
    iterations: int = 500
    lr: float = 0.05
    weight_penalty: float = 1e-3
    restarts: int = 3
    stride: int = 5
    max_conditions: int = 100
    seed: int = 0

    def __post_init__(self):
        for name in ("n_latent", "n_pcs", "iterations", "restarts", "stride", "max_conditions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"latent circuit: {name} must be a positive integer, got {value!r}")
        if not 0 < self.alpha <= 1 or not self.lr > 0 or not self.weight_penalty >= 0:
            raise ValueError(f"latent circuit: need 0 < alpha <= 1, lr > 0, weight_penalty >= 0; got {self}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LatentCircuit:
    """One network's fitted latent circuit (arrays float64).

    ``w_rec [n, n]``, ``w_in [n, I]``, ``w_out [O, n]``; ``embedding [S, n]`` (orthonormal
    columns): states ≈ ``mean + scale · embedding (x − x̄)``; ``activity [B, T', n]`` is the
    latent activity x on the fitted conditions at the sampled steps.
    """

    w_rec: np.ndarray
    w_in: np.ndarray
    w_out: np.ndarray
    embedding: np.ndarray
    mean: np.ndarray
    scale: float
    activity: np.ndarray
    states_r2: float
    outputs_r2: float
    loss: float
    alpha: float
    network: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class _Data:
    """The fit's data for N networks sharing one input set (losses at the sampled steps)."""

    inputs: torch.Tensor     # [T, B, n] input channels padded to n (all steps)
    y: torch.Tensor          # [N, M, P] centred, scaled, projected states (M = B · T')
    discarded: torch.Tensor  # [N] variance outside the P axes (scaled units; total = M)
    basis: list              # per network: (U [S, P_i], mean [S], scale)
    rows: torch.Tensor       # [N, P, 1] 1 on each network's own axes, 0 on padding
    z: torch.Tensor          # [N, M, O] targets
    m: torch.Tensor          # [N, M, O] loss mask
    z_var: torch.Tensor      # [N] Σ m (z − z̄)²
    keep: np.ndarray         # the sampled steps
    coding: torch.Tensor     # [N, P, n] initial embeddings (:func:`_coding_directions`)


def _project(states: np.ndarray, keep: np.ndarray, options) -> tuple[np.ndarray, tuple, float]:
    """``(y [M, P], (U, mean, scale), discarded)``: centred sampled states on their top axes."""
    y = states[:, keep].reshape(-1, states.shape[-1])
    mean = y.mean(0)
    y = y - mean
    scale = math.sqrt(max((y * y).sum() / len(y), 1e-30))
    _, _, vt = np.linalg.svd(y / scale, full_matrices=False)
    u = vt[: min(options.n_pcs, len(vt))].T
    if u.shape[1] < options.n_latent:
        raise ValueError(f"latent circuit: a network with {u.shape[1]} state dimensions cannot hold "
                         f"{options.n_latent} orthonormal latent directions")
    p = (y / scale) @ u
    return p, (u, mean, scale), len(y) - (p * p).sum()


def _coding_directions(y: np.ndarray, u: np.ndarray, z: np.ndarray, n: int, rng) -> np.ndarray:
    """Orthonormal ``[P, n]``: the state directions that best code each input channel, then
    each target (least squares of the centred channels on the states, then the nearest
    orthonormal matrix), so latent unit k starts on input k's axis as the input mask wants
    (Langdon & Engel's initialisation); random directions fill any remaining columns."""
    channels = np.concatenate([u, z], 1)[:, :n]
    coding = np.linalg.lstsq(y, channels - channels.mean(0), rcond=None)[0]
    if coding.shape[1] < n:
        coding = np.concatenate([coding, rng.standard_normal((len(coding), n - coding.shape[1]))], 1)
    left, _, right = np.linalg.svd(coding, full_matrices=False)
    return left @ right


def _prepare_data(states: Sequence[np.ndarray], inputs, targets, mask, options) -> _Data:
    """Project each network's states, sample the steps, pad the inputs to n channels."""
    inputs = np.asarray(inputs, dtype=np.float64)
    batch, steps, n_in = inputs.shape
    if n_in > options.n_latent:
        raise ValueError(f"latent circuit: {n_in} input channels need n_latent >= {n_in} (one latent unit "
                         f"per input), got n_latent={options.n_latent}")
    for s in states:
        if np.shape(s)[:2] != (batch, steps) or np.ndim(s) != 3 or not np.isfinite(s).all():
            raise ValueError(f"latent circuit: states must be finite [{batch}, {steps}, S], got {np.shape(s)}")
    keep = np.arange(options.stride - 1, steps, options.stride)
    projected, basis, discarded = zip(*(_project(np.asarray(s, dtype=np.float64), keep, options)
                                        for s in states))
    width = max(p.shape[1] for p in projected)
    y = np.stack([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in projected])
    rows = np.stack([(np.arange(width) < p.shape[1]).astype(float) for p in projected])[:, :, None]
    z = np.asarray(targets, dtype=np.float64)[:, :, keep].reshape(len(states), -1, np.shape(targets)[-1])
    m = np.asarray(mask, dtype=np.float64)[:, :, keep].reshape(z.shape)
    z_mean = (m * z).sum(1, keepdims=True) / np.maximum(m.sum(1, keepdims=True), 1e-12)
    z_var = np.maximum((m * (z - z_mean) ** 2).sum((1, 2)), 1e-12)
    u = inputs[:, keep].reshape(-1, n_in)  # one seeded generator per network: independent of the others
    coding = [np.pad(_coding_directions(p, u, z[i], options.n_latent, np.random.default_rng(options.seed)),
                     ((0, width - p.shape[1]), (0, 0))) for i, p in enumerate(projected)]
    padded = np.pad(inputs, ((0, 0), (0, 0), (0, options.n_latent - n_in))).transpose(1, 0, 2)
    f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    return _Data(f32(padded), f32(y), f32(discarded), list(basis), f32(rows), f32(z), f32(m), f32(z_var),
                 keep, f32(np.stack(coding)))


def _init(n_nets: int, data: _Data, n_in: int, n_out: int, options) -> dict:
    """Initial parameters of ``restarts × n_nets`` latent circuits (member k: restart
    k // n_nets of network k % n_nets).

    Each restart draws from its own generator, seeded by ``(seed, restart)``, the same for
    every network, so a network's fit does not depend on the networks fitted with it.
    ``W_rec ≥ 0`` and small (activity reaches the free units: a silent ReLU unit gets no
    gradient), input gains ≈ 0.3, ``W_out`` small; the embedding starts at each network's
    coding directions, perturbed in every restart but the first.
    """
    n, width = options.n_latent, data.coding.shape[1]
    drawn = {"w_rec": [], "gains": [], "w_out": [], "a": []}
    for restart in range(options.restarts):
        seed = np.random.SeedSequence([int(options.seed), restart]).generate_state(1)[0]
        g = torch.Generator().manual_seed(int(seed))
        drawn["w_rec"].append((0.1 / math.sqrt(n)) * torch.randn(n, n, generator=g).abs())
        drawn["gains"].append((0.3 + 0.1 * torch.rand(n, generator=g)) * (torch.arange(n) < n_in))
        drawn["w_out"].append(0.1 * torch.randn(n_out, n, generator=g))
        drawn["a"].append((0.3 if restart else 0.0) * torch.randn(options.n_pcs, n, generator=g)[:width])
    params = {k: torch.stack(v).repeat_interleave(n_nets, 0) for k, v in drawn.items()}
    params["a"] = params["a"] + data.coding.repeat(options.restarts, 1, 1)
    return {k: v.contiguous().requires_grad_(True) for k, v in params.items()}


def _embedding(a: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Orthonormal columns spanning ``a`` restricted to each network's own axes (QR, sign-fixed)."""
    q, r = torch.linalg.qr(a * rows)
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1) + 1e-30)[:, None, :]


def _forward(params: dict, data: _Data, alpha: float) -> torch.Tensor:
    """Latent activity at the sampled steps ``[K, B, T', n]``."""
    w_t, gains = params["w_rec"].transpose(1, 2), params["gains"][:, None, :]
    x = data.inputs.new_zeros(w_t.shape[0], data.inputs.shape[1], w_t.shape[-1])
    sampled, keep = [], set(data.keep.tolist())
    for t, u in enumerate(data.inputs.unbind(0)):
        x = torch.lerp(x, torch.relu(torch.baddbmm(u * gains, x, w_t)), alpha)
        if t in keep:
            sampled.append(x)
    return torch.stack(sampled, 2)


def _losses(params: dict, data: _Data, owner: torch.Tensor, options):
    """Per-member ``(loss, R²_states, R²_outputs, activity)``; ``owner[k]`` is member k's network."""
    x = _forward(params, data, options.alpha)
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    q = _embedding(params["a"], data.rows[owner])
    residual = torch.baddbmm(-data.y[owner], flat - flat.mean(1, keepdim=True), q.transpose(1, 2))
    states_r2 = 1 - ((residual * residual).sum((1, 2)) + data.discarded[owner]) / data.y.shape[1]
    out = torch.bmm(flat, params["w_out"].transpose(1, 2))
    outputs_r2 = 1 - (data.m[owner] * (out - data.z[owner]) ** 2).sum((1, 2)) / data.z_var[owner]
    penalty = options.weight_penalty * (params["w_rec"] ** 2).mean((1, 2))
    return (1 - states_r2) + (1 - outputs_r2) + penalty, states_r2, outputs_r2, x


def _optimise(params: dict, data: _Data, owner: torch.Tensor, options) -> None:
    """Adam (warm-up, then a cosine learning rate); input gains projected back to ≥ 0 after
    each step; during the first ``REVIVE`` of the fit, a unit silent on every sample
    (which gets no gradient through its ReLU) gets its initial incoming weights back."""
    optimiser = torch.optim.Adam(list(params.values()), lr=options.lr)
    warm = max(1, options.iterations // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (
        1 + math.cos(math.pi * min(i, options.iterations) / options.iterations)))
    initial = params["w_rec"].detach().clone()
    for i in range(options.iterations):
        optimiser.zero_grad(set_to_none=True)
        loss, _, _, x = _losses(params, data, owner, options)
        loss.sum().backward()
        optimiser.step()
        schedule.step()
        with torch.no_grad():
            params["gains"].clamp_(min=0)
            silent = x.detach().amax((1, 2)) <= 0  # [K, n]
            if i < REVIVE * options.iterations and silent.any():
                params["w_rec"].copy_(torch.where(silent[..., None], initial, params["w_rec"]))


def fit_latent_arrays(states: Sequence[np.ndarray], inputs, targets, mask,
                      options: LatentCircuitOptions = LatentCircuitOptions(), labels=None,
                      threads: int = 1) -> list[LatentCircuit]:
    """Latent circuits of networks given their states on one shared input set.

    ``states``: per network ``[B, T, S_i]``; ``inputs [B, T, I]``; ``targets`` and ``mask``
    ``[N, B, T, O]``. All conditions given are fitted (no ``max_conditions`` subset here).
    Returns one :class:`LatentCircuit` per network (its best restart).
    """
    data = _prepare_data(states, inputs, targets, mask, options)
    n_nets, n_in = len(states), np.shape(inputs)[-1]
    owner = torch.arange(n_nets).repeat(options.restarts)
    start = time.perf_counter()
    with torch_threads(threads):
        params = _init(n_nets, data, n_in, np.shape(targets)[-1], options)
        _optimise(params, data, owner, options)
        with torch.no_grad():
            loss, states_r2, outputs_r2, x = _losses(params, data, owner, options)
            q = _embedding(params["a"], data.rows[owner])
    share = (time.perf_counter() - start) / n_nets
    best = loss.reshape(options.restarts, n_nets).argmin(0) * n_nets + torch.arange(n_nets)
    numpy = {k: v.detach().double().numpy() for k, v in params.items()}
    circuits = []
    for i, k in enumerate(best.tolist()):
        u, mean, scale = data.basis[i]
        w_in = np.zeros((options.n_latent, n_in))
        w_in[np.arange(n_in), np.arange(n_in)] = numpy["gains"][k, :n_in]
        circuits.append(LatentCircuit(
            numpy["w_rec"][k], w_in, numpy["w_out"][k], u @ q[k, : u.shape[1]].double().numpy(), mean, scale,
            x[k].double().numpy(), float(states_r2[k]), float(outputs_r2[k]), float(loss[k]), options.alpha,
            labels[i] if labels else f"network {i}", share))
    return circuits


def run_circuit(w_rec: np.ndarray, w_in: np.ndarray, inputs: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """Activity ``[B, T, n]`` of the latent circuit model (module docstring) on ``inputs [B, T, I]``
    from x_0 = 0, in float64; ``states[:, t]`` follows input step t."""
    x = np.zeros((np.shape(inputs)[0], len(w_rec)))
    out = np.empty((*np.shape(inputs)[:2], len(w_rec)))
    for t in range(np.shape(inputs)[1]):
        x = (1 - alpha) * x + alpha * np.maximum(x @ np.asarray(w_rec).T + inputs[:, t] @ np.asarray(w_in).T, 0)
        out[:, t] = x
    return out


def probe_states(networks: Sequence, inputs: np.ndarray) -> list[np.ndarray]:
    """States ``[B, T, S]`` of each network on ``inputs [B, T, I]`` (noise-free, float32)."""
    out: list = [None] * len(networks)
    for group in stack_groups(networks):
        system = group_system([networks[i] for i in group])
        batch = np.repeat(np.asarray(inputs)[None], len(group), axis=0)
        states = system.run(batch).numpy()
        for k, i in enumerate(group):
            out[i] = states[k]
    return out


def fitted_conditions(n_conditions: int, max_conditions: int) -> np.ndarray:
    """Indices of the probe conditions a fit uses: all, or ``max_conditions`` evenly spaced."""
    if n_conditions <= max_conditions:
        return np.arange(n_conditions)
    return np.unique(np.linspace(0, n_conditions - 1, max_conditions).round().astype(int))


def fit_latent_circuits(networks: Sequence, options: LatentCircuitOptions = LatentCircuitOptions(),
                        threads: int = 1) -> list[LatentCircuit]:
    """Latent circuits of networks (zoo or Network-like with ``metadata["task"]``), each
    fitted to its own states and task targets on its task's probe set
    (:func:`fitted_conditions`); the networks of one suite are fitted together as one
    population (at most :data:`POPULATION` networks at a time; see the module docstring)."""
    networks = list(networks)
    labels = [network_label(net, f"network {i}") for i, net in enumerate(networks)]
    tasks = [task_of(net, "latent circuit", labels[i]) for i, net in enumerate(networks)]
    circuits: list = [None] * len(networks)
    for suite in dict.fromkeys(t.suite.name for t in tasks):
        in_suite = [i for i, t in enumerate(tasks) if t.suite.name == suite]
        for members in (in_suite[k:k + POPULATION] for k in range(0, len(in_suite), POPULATION)):
            probes = [tasks[i].probe() for i in members]
            chosen = fitted_conditions(len(probes[0].inputs), options.max_conditions)
            inputs = probes[0].inputs[chosen]
            with torch_threads(threads):
                states = probe_states([networks[i] for i in members], inputs)
            fits = fit_latent_arrays(states, inputs, np.stack([p.targets[chosen] for p in probes]),
                                     np.stack([p.mask[chosen] for p in probes]), options,
                                     [labels[i] for i in members], threads)
            for i, fit in zip(members, fits):
                circuits[i] = fit
    return circuits
