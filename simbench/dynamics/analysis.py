"""The full dynamics analysis of networks: fixed points, slow manifolds, cycles, topology.

Entry points:

- :func:`analyse` (one network) and :func:`analyse_many` (a list; networks of one
  architecture, size and options are stacked and analysed as one batched population,
  ``batch`` networks at a time) → :class:`~simbench.dynamics.result.DynamicsResult`.
- :func:`analyse_system` does the work on a :class:`~simbench.dynamics.system.System`.

Steps, for N networks × K constant inputs at once:

1. **Trajectories**: every network runs the suite's probe inputs (``inputs [C,T,I]``;
   by default ``get_task(metadata["task"]).probe()``); ``spread`` = RMS distance of its
   states from their centroid (the scale all relative tolerances use).
2. **Initial states**: ``n_initial`` per constant input, drawn from the network's probe
   states plus noise (FixedPointFinder adds isotropic noise; ours is ``noise`` × the
   difference of two random probe states / √2: the same RMS size, noise × spread, but
   shaped like the trajectories and built from states only, so the initial states of a
   network seen in other coordinates, h ↦ M h, are exactly M times the original ones); a
   fraction ``mix_fraction`` of them is moved to a uniform point of the segment towards
   another probe state. The draw (indices and mixing weights) depends only on ``seed``
   and the condition index, so a network gets the same initial states whichever batch it
   is analysed in. Optionally ``n_box`` more states per constant input are drawn uniformly in
   the axis-aligned bounding box of the network's probe states: saddles off the visited
   region (between attractors the probe never connects) are then found too. The box is
   not coordinate-free (the box of M h is not M times the box), so it widens the search
   rather than being part of a coordinate-free definition.
3. **Search** (:mod:`simbench.dynamics.fixed_points`): Adam on q for all N × K ×
   ``n_initial`` states in one batch; per network and condition: slow points only,
   outliers dropped (``outlier_distance_scale``), unique points (``tol_unique``), the
   ``newton_candidates`` slowest polished by Newton, again unique; points with
   q ≤ ``tol_q`` are fixed points.
4. **Linearisation**: the step map's Jacobian at each fixed point (batched), its
   eigenvalues (continuous time: of (J − I)/α), stability and unstable dimensions;
   readout.
5. **Slow manifolds** and **limit cycles**: :mod:`simbench.dynamics.attractors`.
6. **Topology edges**: :mod:`simbench.dynamics.topology`.

Constant inputs default to :func:`simbench.dynamics.inputs.constant_inputs` of the
network's suite.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from simbench.dynamics.attractors import (
    pca_dimension,
    periodic_orbit,
    largest_component,
    resample_period,
    simulate,
    slow_modes,
)
from simbench.dynamics.fixed_points import (
    FinderOptions,
    jacobian,
    minimise_speed,
    newton_polish,
    outlier_mask,
    unique_points,
)
from simbench.dynamics.inputs import constant_inputs
from simbench.dynamics.result import DynamicsResult
from simbench.dynamics.system import System, as_system, stackable

#: version of the analysis's results: part of every cache key (:mod:`simbench.dynamics.cache`).
#: Bump it whenever a change would alter any result for the same options. 2: Jacobians and
#: slow points are no longer stored by default (``keep_jacobians``, ``keep_slow_points``),
#: ``n_box`` added (default 0: the search is unchanged).
ANALYSIS_VERSION = 2


@dataclass(frozen=True)
class AnalysisOptions:
    """Parameters of :func:`analyse` (relative tolerances are × the trajectory spread).

    n_initial: initial states per constant input (256).
    noise: scale of the noise added to initial states: noise × (x_a − x_b)/√2 for two
        random probe states, i.e. RMS noise × spread, shaped like the trajectories (0.1).
    mix_fraction: this fraction of the initial states lies on the segment between two
        trajectory states (uniform position): it fills in the regions between the states
        trajectories settle in (a lattice of held values for an integrator; cube edges
        between flip-flop corners, where saddles sit) (0.25).
    n_box: further initial states per constant input, drawn uniformly in the bounding
        box of the network's probe states (per coordinate, min to max over all probe
        states) (0). Raise it when saddles may lie off the visited region: the probe
        trajectories seed only the regions they pass through, and a saddle between
        attractors that no trajectory connects is missed at any ``n_initial``.
    seed: seeds the choice of initial states and their noise (0).
    finder: :class:`FinderOptions` of the fixed-point search.
    slow_speed: a slow point moves less than this × spread per step (3e-3).
    newton_candidates: per condition, the Newton polish starts from at most this many
        distinct slow points, lowest q first (128); points faster than slow never become
        fixed points.
    slow_cap, slow_gap: slow modes (:func:`~simbench.dynamics.attractors.slow_modes`) have
        rates |λ − 1|/α below slow_cap (0.5) and a gap ≥ slow_gap (3) to the next rate.
    manifold_link: slow points closer than this are one connected piece (0.3).
    manifold_extent: a slow-point piece is a manifold only if its RMS radius is ≥ this (0.1).
    min_slow_points: … and it holds at least this many distinct slow points (8).
    max_manifold_points: Jacobians are evaluated at most at this many slow points (48).
    max_slow_points: slow points per condition the manifold measures use (256).
    keep_slow_points: of those, how many per condition the result stores (0; up to
        ``max_slow_points``): the manifold measures are computed either way, the points
        themselves are for inspection and dominate the size of a stored result.
    pca_variance: variance fraction defining the PCA dimension of the slow cloud (0.9).
    cycle_starts: trajectories simulated per condition to find limit cycles (4).
    cycle_transient, cycle_window: steps discarded, then analysed (1500, 600).
    cycle_recurrence: relative return error below which a trajectory is periodic (0.1).
    cycle_phases: samples stored per period of an orbit (32).
    edge_eps: step off a saddle along an unstable direction (0.01).
    edge_steps: maximal steps of a trajectory leaving a saddle (3000).
    tol_rest: a trajectory rests when its per-step displacement is below this (1e-6).
    tol_match: an end state belongs to a fixed point / cycle within this distance (0.05).
    sign_threshold: readout values within ± this count as sign '0' in node labels (0.3).
    keep_jacobians: store each fixed point's step-map Jacobian in the result (False: its
        eigenvalues are always stored; :func:`fixed_point_jacobians` recomputes the
        Jacobians from the network in one batched call).
    """

    n_initial: int = 256
    noise: float = 0.1
    mix_fraction: float = 0.25
    n_box: int = 0
    seed: int = 0
    finder: FinderOptions = field(default_factory=FinderOptions)
    slow_speed: float = 3e-3
    newton_candidates: int = 128
    slow_cap: float = 0.5
    slow_gap: float = 3.0
    manifold_link: float = 0.3
    manifold_extent: float = 0.1
    min_slow_points: int = 8
    max_manifold_points: int = 48
    max_slow_points: int = 256
    keep_slow_points: int = 0
    pca_variance: float = 0.9
    cycle_starts: int = 4
    cycle_transient: int = 1500
    cycle_window: int = 600
    cycle_recurrence: float = 0.1
    cycle_phases: int = 32
    edge_eps: float = 0.01
    edge_steps: int = 3000
    tol_rest: float = 1e-6
    tol_match: float = 0.05
    sign_threshold: float = 0.3
    keep_jacobians: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> AnalysisOptions:
        values = dict(values)
        finder = FinderOptions(**values.pop("finder", {}))
        return cls(finder=finder, **values)

    def with_(self, **changes) -> AnalysisOptions:
        """A copy with changes; finder fields may be given directly (``max_iters=…``)."""
        finder_keys = set(FinderOptions.__dataclass_fields__)
        finder = {k: changes.pop(k) for k in list(changes) if k in finder_keys}
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown analysis option(s): {', '.join(sorted(unknown))}")
        out = replace(self, **changes)
        return replace(out, finder=replace(out.finder, **finder)) if finder else out


# --- helpers -------------------------------------------------------------------------

def _pad(groups: list[np.ndarray], width: int, fill: np.ndarray) -> np.ndarray:
    """Stack ragged ``[P_n, …]`` arrays into ``[N, width, …]`` padded with ``fill``."""
    out = np.broadcast_to(fill, (len(groups), width) + fill.shape).copy()
    for n, g in enumerate(groups):
        out[n, : len(g)] = g
    return out


def _task_inputs(system: System, inputs, constants, labels):
    """Probe inputs and constant inputs from the networks' task unless given."""
    tasks = {(getattr(m, "metadata", None) or {}).get("task") for m in system.members}
    task = tasks.pop() if len(tasks) == 1 else None
    if inputs is None or constants is None:
        if task is None:
            raise ValueError("give inputs= (probe inputs [C,T,I]) and constants= (constant inputs [K,I]) "
                             "for networks without a single metadata['task']")
    if inputs is None:
        from simbench.zoo.tasks import get_task

        inputs = get_task(task).probe().inputs
    if constants is None:
        constants, labels = constant_inputs(task)
    constants = np.asarray(constants, dtype=np.float64).reshape(-1, system.n_inputs)
    if labels is None:
        labels = [f"u{k}" for k in range(len(constants))]
    if len(labels) != len(constants):
        raise ValueError(f"{len(labels)} labels for {len(constants)} constant inputs")
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim != 3 or inputs.shape[-1] != system.n_inputs:
        raise ValueError(f"inputs must be [conditions, time, {system.n_inputs}], got {inputs.shape}")
    return inputs, constants, list(labels)


def _network_info(member) -> dict:
    meta = getattr(member, "metadata", None) or {}
    keys = ("id", "task", "suite", "architecture", "seed", "hidden", "content_hash", "activation", "dale")
    return {k: meta[k] for k in keys if k in meta}


# --- the analysis ----------------------------------------------------------------------

def analyse_system(system: System, inputs=None, constants=None, labels=None,
                   options: AnalysisOptions | None = None) -> list[DynamicsResult]:
    """Analyse every network of ``system``; one result per network (see module doc)."""
    o = options or AnalysisOptions()
    inputs, constants, labels = _task_inputs(system, inputs, constants, labels)
    u_const = system.tensor(constants)                                           # [K,I]
    states, spread = _trajectories(system, inputs)                               # 1.
    h0 = _initial_states(system, states, len(constants), o)                      # 2.
    search = _search(system, u_const, h0, spread, o)                             # 3.
    fp_sets = _fixed_points(system, u_const, search, o)
    lin = _linearise(system, u_const, fp_sets, o)                                # 4.
    slow = _slow_points(system, u_const, search, o)                              # 5a.
    window, window_ro = _cycle_windows(system, u_const, states, o)               # 5b.
    edges = _edge_trajectories(system, u_const, fp_sets, lin, spread, o)         # 6.
    info = dict(labels=labels, constants=np.asarray(constants, dtype=np.float64), system=system, options=o)
    return [_network_result(n, float(spread[n]), fp_sets[n], lin, slow, window[n], window_ro[n], edges, info)
            for n in range(system.n)]


def _trajectories(system: System, inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Probe states ``[N, C·T, S]`` of every network and their spread ``[N]`` (RMS distance
    from the centroid)."""
    N, S = system.n, system.state_size
    probe = system.tensor(inputs)[None].expand(N, -1, -1, -1)
    states = system.run(probe).reshape(N, -1, S)
    if not torch.isfinite(states).all():
        raise ValueError("a network's trajectories on the probe inputs contain NaN or inf")
    centroid = states.mean(1, keepdim=True)
    spread = (states - centroid).pow(2).sum(-1).mean(1).sqrt().clamp(min=1e-12)   # [N]
    return states, spread


def _initial_states(system: System, states: torch.Tensor, K: int, o: AnalysisOptions) -> torch.Tensor:
    """Initial states ``[N, K, n_initial + n_box, S]`` (module doc, step 2).

    The random draws depend only on ``seed`` and the condition, so every network gets the
    same indices, noise and mixing weights; ``n_box`` uniform states in the bounding box
    of the network's probe states follow the ``n_initial`` trajectory-based ones.
    """
    N, S, M, dtype = system.n, system.state_size, o.n_initial, system.dtype
    n_states = states.shape[1]
    h0 = torch.empty(N, K, M + o.n_box, S, dtype=dtype)
    low, high = states.min(1).values[:, None], states.max(1).values[:, None]    # [N,1,S]
    for k in range(K):
        rng = np.random.default_rng([o.seed, k])
        pick = rng.integers(0, n_states, size=M)
        a, b = torch.as_tensor(rng.integers(0, n_states, size=(2, M)))
        h0[:, k, :M] = states[:, pick] + o.noise / np.sqrt(2) * (states[:, a] - states[:, b])
        mixed = int(round(o.mix_fraction * M))
        if mixed:
            other = torch.as_tensor(rng.integers(0, n_states, size=mixed))
            t = torch.as_tensor(rng.uniform(size=(mixed, 1)), dtype=dtype)
            h0[:, k, :mixed] = (1 - t) * h0[:, k, :mixed] + t * states[:, other]
        if o.n_box:
            unit = torch.as_tensor(np.random.default_rng([o.seed, k, 3]).uniform(size=(o.n_box, S)), dtype=dtype)
            h0[:, k, M:] = low + unit * (high - low)
    return h0


@dataclass
class _Search:
    """The Adam search's end points, per network × condition × initial state (numpy)."""

    h0: np.ndarray          # [N,K,M,S] initial states
    x: np.ndarray           # [N,K,M,S] best state reached
    q: np.ndarray           # [N,K,M]
    slow_x: np.ndarray      # [N,K,M,S] first slow state
    slow: np.ndarray        # [N,K,M] bool: a slow snapshot exists
    q_slow: torch.Tensor    # [N] the slow-point threshold in units of q


def _search(system: System, u_const: torch.Tensor, h0: torch.Tensor, spread: torch.Tensor,
            o: AnalysisOptions) -> _Search:
    """Minimise the speed from every initial state (module doc, step 3)."""
    N, K, M, S = h0.shape
    I = system.n_inputs
    u = u_const[None, :, None, :].expand(N, K, M, I)
    # slow: per-step displacement ‖F(h) − h‖ < slow_speed × spread, in the units of q
    q_slow = 0.5 * (o.slow_speed * spread / system.alpha) ** 2
    found = minimise_speed(system, u.reshape(N, K * M, I), h0.reshape(N, K * M, S), o.finder, q_slow)
    return _Search(h0=h0.numpy(), x=found.h.reshape(N, K, M, S).numpy(), q=found.q.reshape(N, K, M).numpy(),
                   slow_x=found.slow_h.reshape(N, K, M, S).numpy(), slow=found.slow.reshape(N, K, M).numpy(),
                   q_slow=q_slow)


def _newton_candidates(search: _Search, o: AnalysisOptions) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per network: the distinct slow end points (not outliers), at most ``newton_candidates``
    per condition, lowest q first, and their conditions."""
    f = o.finder
    N, K = search.q.shape[:2]
    cand_x, cand_c = [], []
    for n in range(N):
        xs, cs = [], []
        for k in range(K):
            x, q = search.x[n, k], search.q[n, k]
            inside = outlier_mask(x, search.h0[n, k], f.outlier_distance_scale) & np.isfinite(q)
            idx = np.flatnonzero(inside & (q <= float(search.q_slow[n])))
            keep = idx[unique_points(x[idx], q[idx], f.tol_unique)]
            keep = keep[np.argsort(q[keep], kind="stable")[: o.newton_candidates]]
            xs.append(x[keep])
            cs.append(np.full(len(keep), k))
        cand_x.append(np.concatenate(xs))
        cand_c.append(np.concatenate(cs))
    return cand_x, cand_c


def _fixed_points(system: System, u_const: torch.Tensor, search: _Search, o: AnalysisOptions) -> list[tuple]:
    """Per network ``(x [P,S], q [P], condition [P])``: the Newton-polished candidates with
    q ≤ ``tol_q``, unique per condition, ordered by condition."""
    f = o.finder
    K = search.q.shape[1]
    cand_x, cand_c = _newton_candidates(search, o)
    width = max(1, max(len(c) for c in cand_x))
    px = torch.as_tensor(_pad(cand_x, width, np.zeros(system.state_size)), dtype=system.dtype)
    pc = _pad(cand_c, width, np.array(0))
    pu = u_const[torch.as_tensor(pc)]
    px, pq = newton_polish(system, pu, px, f.newton_iters, f.jacobian_chunk, f.newton_q)
    px_np, pq_np = px.numpy(), pq.numpy()
    fp_sets = []
    for n in range(system.n):
        count = len(cand_x[n])
        x, q, c = px_np[n, :count], pq_np[n, :count], pc[n, :count]
        good = np.isfinite(q) & (q <= f.tol_q)
        chosen = []
        for k in range(K):
            idx = np.flatnonzero(good & (c == k))
            chosen.extend(idx[unique_points(x[idx], q[idx], f.tol_unique)].tolist())
        chosen = np.array(sorted(chosen, key=lambda i: (c[i], i)), dtype=np.int64)
        fp_sets.append((x[chosen], q[chosen], c[chosen]))
    return fp_sets


@dataclass
class _Linear:
    """Linearisation at the fixed points, padded ``[N, P_max, …]`` (numpy)."""

    eig: np.ndarray         # native eigenvalues [N,P,S] (complex)
    vec: np.ndarray         # their eigenvectors [N,P,S,S]
    jacobian: np.ndarray    # step-map Jacobians [N,P,S,S]
    readout: np.ndarray     # [N,P,O]


def _linearise(system: System, u_const: torch.Tensor, fp_sets: list[tuple], o: AnalysisOptions) -> _Linear:
    """Step-map Jacobians at the fixed points and the eigen-decomposition of the native
    linearisation: J (discrete time) or (J − I)/α (continuous time)."""
    S, dtype = system.state_size, system.dtype
    width = max(1, max(len(s[0]) for s in fp_sets))
    fx = torch.as_tensor(_pad([s[0] for s in fp_sets], width, np.zeros(S)), dtype=dtype)
    fc = _pad([s[2] for s in fp_sets], width, np.array(0))
    fu = u_const[torch.as_tensor(fc)]
    J = jacobian(system, fx, fu, o.finder.jacobian_chunk)
    with torch.no_grad():
        native = J if system.time == "discrete" else (J - torch.eye(S, dtype=dtype)) / system.alpha
        eig, vec = torch.linalg.eig(native)
        readout = system.readout(fx)
    return _Linear(eig.numpy(), vec.numpy(), J.numpy(), readout.numpy())


def _unstable_mask(system: System):
    """``ev ↦ bool mask`` of unstable eigenvalues: |λ| > 1 (discrete) or Re μ > 0 (continuous)."""
    def unstable(ev):
        return (np.abs(ev) > 1) if system.time == "discrete" else (ev.real > 0)
    return unstable


@dataclass
class _Slow:
    """Slow points per network (``sets``: ``(x [Q,S], condition [Q])``), their speeds
    ``q [N,Q_max]``, and the step-map spectra at a subsample of them (``sub_condition``,
    ``sub_index`` into the network's points, ``step_eig [N, subsample, S]``)."""

    sets: list[tuple]
    q: np.ndarray
    sub_condition: list[np.ndarray]
    sub_index: list[np.ndarray]
    step_eig: np.ndarray


def _slow_point_sets(search: _Search, o: AnalysisOptions) -> list[tuple]:
    """Per network ``(x, condition)``: distinct slow snapshots (not outliers), at most
    ``max_slow_points`` per condition (a seeded subsample)."""
    f = o.finder
    N, K = search.q.shape[:2]
    sets = []
    for n in range(N):
        xs, cs = [], []
        for k in range(K):
            idx = np.flatnonzero(search.slow[n, k])
            idx = idx[outlier_mask(search.slow_x[n, k, idx], search.h0[n, k], f.outlier_distance_scale)]
            pts = search.slow_x[n, k, idx]
            keep = unique_points(pts, np.zeros(len(pts)), f.tol_unique)
            pts = pts[keep]
            if len(pts) > o.max_slow_points:
                pts = pts[np.random.default_rng([o.seed, k, 2]).choice(len(pts), o.max_slow_points, replace=False)]
            xs.append(pts)
            cs.append(np.full(len(pts), k))
        sets.append((np.concatenate(xs), np.concatenate(cs)))
    return sets


def _slow_points(system: System, u_const: torch.Tensor, search: _Search, o: AnalysisOptions) -> _Slow:
    """Slow points, their speeds, and step-map eigenvalues at up to ``max_manifold_points``
    of them per condition (module doc, step 5)."""
    S, dtype, K = system.state_size, system.dtype, len(u_const)
    sets = _slow_point_sets(search, o)
    width = max(1, max(len(s[0]) for s in sets))
    with torch.no_grad():
        all_x = torch.as_tensor(_pad([s[0] for s in sets], width, np.zeros(S)), dtype=dtype)
        all_u = u_const[torch.as_tensor(_pad([s[1] for s in sets], width, np.array(0)))]
        slow_q = (0.5 * system.rhs(all_x, all_u).pow(2).sum(-1)).numpy()
    sub_x, sub_c, sub_i = [], [], []
    for x, c in sets:
        idx = np.concatenate([np.flatnonzero(c == k)[: o.max_manifold_points] for k in range(K)])
        sub_x.append(x[idx])
        sub_c.append(c[idx])
        sub_i.append(idx)
    width = max(1, max(len(s) for s in sub_x))
    sx = torch.as_tensor(_pad(sub_x, width, np.zeros(S)), dtype=dtype)
    su = u_const[torch.as_tensor(_pad(sub_c, width, np.array(0)))]
    SJ = jacobian(system, sx, su, o.finder.jacobian_chunk)
    with torch.no_grad():
        step_eig = torch.linalg.eigvals(SJ).numpy()
    return _Slow(sets, slow_q, sub_c, sub_i, step_eig)


def _cycle_windows(system: System, u_const: torch.Tensor, states: torch.Tensor,
                   o: AnalysisOptions) -> tuple[np.ndarray, np.ndarray]:
    """States ``[N,K,R,W,S]`` and readouts ``[N,K,R,W,O]`` of the last ``cycle_window`` steps
    of ``R = cycle_starts`` long runs per condition, started from probe states."""
    N, S, I, dtype, K, R = system.n, system.state_size, system.n_inputs, system.dtype, len(u_const), o.cycle_starts
    starts = torch.empty(N, K, R, S, dtype=dtype)
    for k in range(K):
        pick = np.random.default_rng([o.seed, k, 1]).integers(0, states.shape[1], size=R)
        starts[:, k] = states[:, pick]
    cu = u_const[None, :, None, :].expand(N, K, R, I).reshape(N, K * R, I)
    _, window = simulate(system, starts.reshape(N, K * R, S), cu, o.cycle_transient + o.cycle_window, o.cycle_window)
    with torch.no_grad():
        window_ro = system.readout(window.to(dtype)).reshape(N, K, R, o.cycle_window, -1).numpy()
    window = window.reshape(N, K, R, o.cycle_window, S).numpy().astype(np.float64)
    return window, window_ro


@dataclass
class _EdgeRuns:
    """Trajectories leaving the saddles: per network a list of ``(condition, fixed point)``
    and the padded end states ``[N,E,S]`` and their readouts ``[N,E,O]``."""

    meta: list[list[tuple[int, int]]]
    end: np.ndarray
    readout: np.ndarray


def _edge_trajectories(system: System, u_const: torch.Tensor, fp_sets: list[tuple], lin: _Linear,
                       spread: torch.Tensor, o: AnalysisOptions) -> _EdgeRuns:
    """Run trajectories from every saddle along its unstable directions until they rest.

    The readout's linear part W [N,S,O] picks coordinate-free directions in the planes of
    complex eigenvalue pairs (see :func:`_unstable_directions`).
    """
    N, S, dtype = system.n, system.state_size, system.dtype
    unstable = _unstable_mask(system)
    with torch.no_grad():
        basis = torch.cat([torch.zeros(1, S, dtype=dtype), torch.eye(S, dtype=dtype)])[None].expand(N, -1, -1)
        ro_basis = system.readout(basis.contiguous())
        W_lin = (ro_basis[:, 1:] - ro_basis[:, :1]).numpy()
    e_starts, e_meta = [], []
    for n in range(N):
        x, _, c = fp_sets[n]
        starts_n, meta_n = [], []
        for i in range(len(x)):
            for v in _unstable_directions(lin.eig[n, i], lin.vec[n, i], unstable, W_lin[n]):
                for sign in (1.0, -1.0):
                    starts_n.append(x[i] + sign * o.edge_eps * float(spread[n]) * v)
                    meta_n.append((int(c[i]), i))
        e_starts.append(np.array(starts_n).reshape(-1, S))
        e_meta.append(meta_n)
    width = max(1, max(len(s) for s in e_starts))
    ex = torch.as_tensor(_pad(e_starts, width, np.zeros(S)), dtype=dtype)
    ec = _pad([np.array([m[0] for m in meta], dtype=np.int64) for meta in e_meta], width, np.array(0))
    eu = u_const[torch.as_tensor(ec)]
    if any(len(m) for m in e_meta):
        ex = _relax(system, ex, eu, o.edge_steps, o.tol_rest * spread)
    with torch.no_grad():
        e_readout = system.readout(ex).numpy()
    return _EdgeRuns(e_meta, ex.numpy(), e_readout)


# --- one network's result ----------------------------------------------------------------

def _manifolds(slow: _Slow, n: int, sp: float, K: int, S: int, alpha: float, o: AnalysisOptions) -> dict:
    """Per condition: manifold dimension, PCA dimension, extent, size and marginal modes
    of the slow-point cloud (:mod:`~simbench.dynamics.attractors`), and the step-map
    spectrum at the slowest slow point."""
    sx_n, sc_n = slow.sets[n]
    sub_c, sub_i = slow.sub_condition[n], slow.sub_index[n]
    m_dim, m_pca, m_ext, m_n, m_marg = (np.zeros(K, np.int64), np.zeros(K, np.int64), np.zeros(K),
                                        np.zeros(K, np.int64), np.zeros(K))
    s_spec = np.zeros((K, S), complex)
    for k in range(K):
        members = np.flatnonzero(sc_n == k)
        piece = members[largest_component(sx_n[members], o.manifold_link * sp)]
        m_n[k] = len(piece)
        m_pca[k] = pca_dimension(sx_n[members], o.pca_variance)[0]
        m_ext[k] = pca_dimension(sx_n[piece], o.pca_variance)[1] / sp
        sel = np.flatnonzero(sub_c == k)
        if len(sel):
            slowest = sel[np.argmin(slow.q[n, sub_i[sel]])]
            s_spec[k] = slow.step_eig[n, slowest]
        sel = sel[np.isin(sub_i[sel], piece)]
        marg = slow_modes(slow.step_eig[n, sel], alpha, o.slow_cap, o.slow_gap)
        m_marg[k] = float(np.median(marg)) if len(marg) else 0.0
        if m_n[k] >= o.min_slow_points and m_ext[k] >= o.manifold_extent:
            m_dim[k] = min(int(np.round(m_marg[k])), int(m_pca[k]))
    return dict(manifold_dim=m_dim, manifold_pca_dim=m_pca, manifold_extent=m_ext, manifold_n=m_n,
                manifold_marginal=m_marg, slow_spectrum_re=s_spec.real.copy(), slow_spectrum_im=s_spec.imag.copy())


def _cycles(window: np.ndarray, window_ro: np.ndarray, sp: float, o: AnalysisOptions) -> tuple[dict, list]:
    """Distinct limit cycles among one network's long runs ``[K,R,W,S]`` (module doc of
    :mod:`~simbench.dynamics.attractors`); also the raw ``(condition, window, step)`` of
    each, against which edge end states are matched."""
    cyc = {k: [] for k in ("condition", "period", "omega", "amplitude", "readout_amplitude", "orbit",
                           "readout_mean")}
    orbits_raw = []
    for k in range(window.shape[0]):
        kept = []
        for r in range(window.shape[1]):
            w = window[k, r]
            found_cycle = periodic_orbit(w, o.tol_rest * sp, o.cycle_recurrence)
            if found_cycle is None:
                continue
            tol = max(o.tol_match * sp, found_cycle["step"])
            if any(np.min(np.linalg.norm(w_prev - w[-1], axis=1)) < max(tol, step_prev)
                   for w_prev, step_prev in kept):
                continue
            kept.append((w, found_cycle["step"]))
            period = found_cycle["period"]
            ro = window_ro[k, r]
            start = len(w) - int(np.ceil(period)) - 2
            start += int(np.argmax(ro[start:, 0]))
            start = min(start, len(w) - int(np.ceil(period)) - 2)
            cyc["condition"].append(k)
            cyc["period"].append(period)
            cyc["omega"].append(2 * np.pi / period)
            cyc["amplitude"].append(found_cycle["amplitude"])
            cyc["readout_amplitude"].append(float(((ro.max(0) - ro.min(0)) / 2).max()))
            cyc["readout_mean"].append(ro.mean(0))
            cyc["orbit"].append(resample_period(w, period, o.cycle_phases, start))
            orbits_raw.append((k, w, found_cycle["step"]))
    return cyc, orbits_raw


def _edges(runs: _EdgeRuns, n: int, x: np.ndarray, c: np.ndarray, orbits_raw: list, sp: float, K: int,
           o: AnalysisOptions) -> tuple[list, list, list, list]:
    """Where each trajectory leaving a saddle of network ``n`` rests: ``edges`` rows
    ``(condition, saddle, kind, target)`` (kind 0 fixed point, 1 cycle, 2 other rest
    region) and the rest regions' states, conditions and readouts, merged by sign label."""
    fp_by_c = {k: np.flatnonzero(c == k) for k in range(K)}
    edges, rest_x, rest_c, rest_ro, rest_key = [], [], [], [], {}
    signs_of = _signs(o.sign_threshold)
    tol = o.tol_match * sp
    for e, (k, i) in enumerate(runs.meta[n]):
        end = runs.end[n, e]
        cands = fp_by_c[k]
        if len(cands):
            d = np.linalg.norm(x[cands] - end, axis=1)
            if d.min() < tol:
                edges.append((k, i, 0, int(cands[np.argmin(d)])))
                continue
        hit = next((j for j, (kc, w, step) in enumerate(orbits_raw)
                    if kc == k and np.min(np.linalg.norm(w - end, axis=1)) < max(tol, step)), None)
        if hit is not None:
            edges.append((k, i, 1, hit))
            continue
        key = (k, signs_of(runs.readout[n, e]))
        if key not in rest_key:
            rest_key[key] = len(rest_x)
            rest_x.append(end)
            rest_c.append(k)
            rest_ro.append(runs.readout[n, e])
        edges.append((k, i, 2, rest_key[key]))
    return edges, rest_x, rest_c, rest_ro


def _kept_slow_points(slow: _Slow, n: int, K: int, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``keep`` slow points of each condition: ``(x, condition, q)``."""
    x, c = slow.sets[n]
    idx = np.concatenate([np.flatnonzero(c == k)[:keep] for k in range(K)]).astype(np.int64)
    return x[idx], c[idx].astype(np.int64), slow.q[n, idx]


def _network_result(n: int, sp: float, fp_set: tuple, lin: _Linear, slow: _Slow, window: np.ndarray,
                    window_ro: np.ndarray, runs: _EdgeRuns, info: dict) -> DynamicsResult:
    """Assemble the :class:`DynamicsResult` of network ``n`` from the batched steps."""
    system, o, K = info["system"], info["options"], len(info["labels"])
    S, O = system.state_size, system.n_outputs
    x, q, c = fp_set
    P = len(x)
    ev = lin.eig[n, :P]
    cyc, orbits_raw = _cycles(window, window_ro, sp, o)
    edges, rest_x, rest_c, rest_ro = _edges(runs, n, x, c, orbits_raw, sp, K, o)
    slow_x, slow_c, slow_q = _kept_slow_points(slow, n, K, o.keep_slow_points)
    L = len(cyc["period"])
    return DynamicsResult(
        conditions=list(info["labels"]), time=system.time, alpha=system.alpha, spread=sp, inputs=info["constants"],
        fp_x=x, fp_condition=c.astype(np.int64), fp_q=q, fp_eig_re=ev.real.copy(), fp_eig_im=ev.imag.copy(),
        fp_unstable=_unstable_mask(system)(ev).sum(-1).astype(np.int64), fp_readout=lin.readout[n, :P],
        fp_jacobian=lin.jacobian[n, :P] if o.keep_jacobians else np.zeros((0, S, S)),
        slow_x=slow_x, slow_condition=slow_c, slow_q=slow_q,
        **_manifolds(slow, n, sp, K, S, system.alpha, o),
        cycle_condition=np.array(cyc["condition"], np.int64), cycle_period=np.array(cyc["period"]),
        cycle_omega=np.array(cyc["omega"]), cycle_amplitude=np.array(cyc["amplitude"]),
        cycle_readout_amplitude=np.array(cyc["readout_amplitude"]),
        cycle_orbit=np.array(cyc["orbit"]).reshape(L, o.cycle_phases, S),
        cycle_readout_mean=np.array(cyc["readout_mean"]).reshape(L, O),
        edges=np.array(edges, np.int64).reshape(-1, 4),
        rest_x=np.array(rest_x).reshape(-1, S), rest_condition=np.array(rest_c, np.int64),
        rest_readout=np.array(rest_ro).reshape(-1, O),
        sign_threshold=o.sign_threshold, network=_network_info(system.members[n]), options=o.as_dict(),
    )


def _unstable_directions(ev, vec, unstable, W):
    """Unit directions to leave a fixed point along: one per unstable real eigenvalue, two
    per unstable complex pair.

    A complex eigenvector v is defined only up to a complex phase, so Re v is not a
    coordinate-free choice. In the pair's invariant plane {Re(v e^{iθ})} we take the
    direction whose readout changes most (θ* maximising ‖W Re(v e^{iθ})‖, invariant
    under invertible changes of state coordinates, because the readout is) and the
    direction a quarter period later; when the readout is blind to the plane, Re v / Im v.
    """
    out = []
    for j in np.flatnonzero(unstable(ev)):
        if ev[j].imag < 0:
            continue
        v = vec[:, j]
        if abs(ev[j].imag) <= 1e-12 * max(1.0, abs(ev[j])):
            d = v.real if np.linalg.norm(v.real) > 1e-12 else v.imag
            out.append(d / np.linalg.norm(d))
            continue
        a, b = W.T @ v.real, W.T @ v.imag
        if np.linalg.norm(a) + np.linalg.norm(b) > 1e-9 * (np.linalg.norm(W) + 1e-300):
            theta = 0.5 * np.arctan2(-2 * a @ b, a @ a - b @ b)
        else:
            theta = 0.0
        for t in (theta, theta + np.pi / 2):
            d = v.real * np.cos(t) - v.imag * np.sin(t)
            out.append(d / np.linalg.norm(d))
    return out


def _signs(threshold):
    def signs(row):
        return "".join("+" if v > threshold else "-" if v < -threshold else "0" for v in row)
    return signs


@torch.no_grad()
def _relax(system, h, u, steps, tol, check_every: int = 50):
    """Run until every trajectory's per-step displacement is below ``tol [N]`` (or ``steps``)."""
    for t in range(steps):
        nxt = system.step(h, u)
        if (t + 1) % check_every == 0:
            moving = (nxt - h).norm(dim=-1) >= tol[:, None]
            if not bool(moving.any()):
                return nxt
        h = nxt
    return h


def analyse(network, inputs=None, constants=None, labels=None, options: AnalysisOptions | None = None,
            **overrides) -> DynamicsResult:
    """Fixed points, slow manifolds, limit cycles and topology of one network.

    ``network``: a zoo Network or any Network-like object. ``inputs``: probe inputs
    ``[C,T,I]`` whose trajectories seed the search (default: the task's probe);
    ``constants``: constant inputs ``[K,I]`` (default: :func:`constant_inputs` of the
    suite) named by ``labels``. ``overrides`` change single options (``n_initial=64``,
    ``max_iters=2000``, …).
    """
    options = (options or AnalysisOptions()).with_(**overrides) if overrides else (options or AnalysisOptions())
    return analyse_system(as_system(network), inputs, constants, labels, options)[0]


def fixed_point_jacobians(network, result: DynamicsResult) -> np.ndarray:
    """Step-map Jacobians ∂F/∂h ``[P, S, S]`` at ``result``'s fixed points, each under its
    condition's constant input (what ``keep_jacobians=True`` stores; float64)."""
    system = as_system(network)
    h = system.tensor(result.fp_x).reshape(1, -1, system.state_size)
    u = system.tensor(result.inputs[result.fp_condition]).reshape(1, -1, system.n_inputs)
    return jacobian(system, h, u).numpy()[0]


def analyse_many(networks, inputs=None, constants=None, labels=None, options: AnalysisOptions | None = None,
                 batch: int = 32, progress: bool = False, **overrides) -> list[DynamicsResult]:
    """Analyse a list of networks; same-architecture networks run as one batched population.

    Networks are grouped by :func:`~simbench.dynamics.system.stackable` (same population
    class, size and options, and same task unless ``inputs``/``constants`` are given), and
    each group is analysed ``batch`` networks at a time. Results come back in input order.
    """
    options = (options or AnalysisOptions()).with_(**overrides) if overrides else (options or AnalysisOptions())
    networks = list(networks)
    groups: dict = {}
    for i, net in enumerate(networks):
        pop = getattr(net, "population", None)
        task = (getattr(net, "metadata", None) or {}).get("task")
        key = (type(pop).__name__, repr(sorted((pop.options or {}).items())), pop.hidden, task) if pop is not None \
            else ("object", i)
        groups.setdefault(key, []).append(i)
    results: list = [None] * len(networks)
    chunks = [idx[s:s + batch] for idx in groups.values() for s in range(0, len(idx), batch)]
    iterator = chunks
    if progress:
        from rich.progress import track

        iterator = track(chunks, description="fixed points")
    for chunk in iterator:
        members = [networks[i] for i in chunk]
        if stackable(members):
            out = analyse_system(as_system(members), inputs, constants, labels, options)
        else:
            out = [analyse_system(as_system(m), inputs, constants, labels, options)[0] for m in members]
        for i, r in zip(chunk, out):
            results[i] = r
    return results
