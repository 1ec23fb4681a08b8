"""Batched fixed-point finding (after Golub & Sussillo's FixedPointFinder, JOSS 2018).

A fixed point of a network under a constant input u is a state h with F(h, u) = h
(discrete time) or f(·) − h = 0 (continuous time; :meth:`System.rhs`). Following
Sussillo & Barak (2013) we minimise the *speed*

    q(h) = ½ ‖rhs(h, u)‖²,   rhs = F(h,u) − h  (discrete)  or  (F(h,u) − h)/α  (continuous)

from many initial states at once. All networks of a :class:`~simbench.dynamics.system.System`
and all initial states (of all constant inputs) form one batch ``[N, B, S]``: each
iteration is one call of :meth:`System.speed_grad` on the stacked networks (q and ∂q/∂h;
closed form for leaky rate networks, a forward and backward pass otherwise).

Optimiser (per state, fully vectorised):

- Adam (β₁ = 0.9, β₂ = 0.999, ε = ``adam_eps``) on q with a per-state adaptive learning
  rate: a step that lowers q is accepted and the rate grows by ``lr_grow``; a step that
  raises q is rejected (the state returns to its best point), the rate shrinks by
  ``lr_shrink`` and the momentum restarts at the best point's gradient (so the next,
  shorter step is a descent direction). Moments are updated only at accepted points.
- A state stops when q < ``tol_q``, when an accepted step lowers q by less than
  ``tol_dq``, when its rate falls below ``lr_min`` (no descent possible at that scale),
  when q fell by less than ``stall_drop`` over the last ``stall_window`` iterations, or
  after ``max_iters`` iterations. Every ``compact_every`` iterations stopped states
  leave the batch, so the cost follows the states still moving.
- The first point where each state's q drops below ``tol_slow`` is kept as a *slow
  point* snapshot: on a continuous attractor these snapshots spread along the slow
  manifold where the trajectories reached it (later iterations let them drift along
  it), which is what :mod:`simbench.dynamics.attractors` measures.
- Newton polish (:func:`newton_polish`): up to ``newton_iters`` steps of
  (J − I) δ = −(F(h) − h) solved per point with ``torch.linalg.solve_ex``; a step is
  kept only where it lowers q; where it does not (J − I near singular, as on a line of
  fixed points), the minimum-norm least-squares step (pseudo-inverse, relative cut-off
  1e-8) is tried instead where q > ``newton_q`` (1e-24: not yet at float64 precision).
  A point is done once no step lowers q; points on approximate slow manifolds keep
  their Adam value.

Post-processing (:func:`unique_points`, :func:`outlier_mask`): points closer than
``tol_unique`` (Euclidean) to a point of lower q are duplicates; points farther than
``outlier_distance_scale`` × (mean distance of the initial states to their centroid)
from that centroid are outliers (FixedPointFinder's rule).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from simbench.dynamics.system import System


@dataclass(frozen=True)
class FinderOptions:
    """Parameters of the fixed-point search (defaults follow FixedPointFinder where it has one).

    tol_q: a state stops once q < tol_q; a point is a *fixed point* if q ≤ tol_q after
        the Newton polish (FixedPointFinder: 1e-12).
    tol_dq: a state stops when an accepted step lowers q by less than this (1e-20).
    max_iters: iteration limit of the Adam phase (5000).
    lr_init, lr_grow, lr_shrink, lr_min, lr_max: per-state adaptive learning rate
        (start, ×grow on an accepted step, ×shrink on a rejected one, stop below
        lr_min, never above lr_max).
    adam_eps: Adam's ε (FixedPointFinder uses 0.01: steps become plain gradient steps
        once gradients are small, which is what converges on quadratic minima).
    newton_iters: Newton polish iterations (0 disables it).
    newton_q: the Newton polish tries pseudo-inverse steps only at points with q above
        this (1e-24, ‖rhs‖ ≈ 1.4e-12; below it a failed step means float64 precision).
    tol_unique: points closer than this are one point (1e-3).
    outlier_distance_scale: outliers lie beyond this × the mean distance of the initial
        states from their centroid (10).
    tol_slow: q threshold of a slow point (snapshot taken when a state first gets below
        it); :func:`simbench.dynamics.analyse` sets it per network from a relative speed.
    stall_window, stall_drop: a state also stops when its q fell by less than the
        fraction stall_drop over the last stall_window iterations (a slow point creeping
        along a slow manifold, or a local minimum of q; 0 disables the rule).
    compact_every: iterations between removals of stopped states from the batch.
    jacobian_chunk: maximal points × S per Jacobian evaluation (memory bound).
    """

    tol_q: float = 1e-12
    tol_dq: float = 1e-20
    max_iters: int = 5000
    lr_init: float = 0.1
    lr_grow: float = 1.2
    lr_shrink: float = 0.5
    lr_min: float = 1e-12
    lr_max: float = 10.0
    adam_eps: float = 1e-2
    newton_iters: int = 6
    newton_q: float = 1e-24
    tol_unique: float = 1e-3
    outlier_distance_scale: float = 10.0
    tol_slow: float = 1e-6
    stall_window: int = 250
    stall_drop: float = 0.05
    compact_every: int = 25
    jacobian_chunk: int = 1 << 18

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Minimised:
    """Result of :func:`minimise_speed` for a batch ``[N, B]``."""

    h: torch.Tensor          # [N,B,S] best state reached
    q: torch.Tensor          # [N,B]
    iters: torch.Tensor      # [N,B] iterations run
    slow_h: torch.Tensor     # [N,B,S] first state with q < tol_slow (undefined where not slow)
    slow: torch.Tensor       # [N,B] bool: a slow snapshot exists
    iterations: int          # iterations of the whole batch


def speed(system: System, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """q = ½‖rhs(h, u)‖² for ``h [N,B,S]``, ``u [N,B,I]`` → ``[N,B]`` (no graph)."""
    with torch.no_grad():
        r = system.rhs(h, u)
        return 0.5 * (r * r).sum(-1)


def minimise_speed(system: System, u: torch.Tensor, h0: torch.Tensor, options: FinderOptions | None = None,
                   q_slow=None) -> Minimised:
    """Minimise q from every initial state of ``h0 [N,B,S]`` under inputs ``u [N,B,I]``.

    ``q_slow``: slow-point threshold, a number or one per network ``[N]`` (default
    ``options.tol_slow``). The iteration (module doc) runs on an active set of states,
    :class:`_ActiveSet`, which stopped states leave at every compaction.
    """
    o = options or FinderOptions()
    h0 = system.tensor(h0)
    u = system.tensor(u)
    N, B, S = h0.shape
    q_slow = torch.as_tensor(o.tol_slow if q_slow is None else q_slow, dtype=h0.dtype).reshape(-1)
    q_slow = q_slow.expand(N).clone()[:, None] if q_slow.numel() in (1, N) else None
    if q_slow is None:
        raise ValueError(f"q_slow must be a number or one value per network ({N})")
    out = Minimised(h=h0.clone(), q=torch.full((N, B), float("inf"), dtype=h0.dtype),
                    iters=torch.zeros(N, B, dtype=torch.long), slow_h=h0.clone(),
                    slow=torch.zeros(N, B, dtype=torch.bool), iterations=0)
    active = _ActiveSet.start(h0, u, o)
    iteration = 0
    for iteration in range(1, o.max_iters + 1):
        q, g = system.speed_grad(active.x, active.u)
        active.accept(q, g, q_slow, o)
        if o.stall_window and iteration % o.stall_window == 0:
            active.check_stall(o)
        if bool(active.done.all()):
            break
        active.propose(o)
        if iteration % o.compact_every == 0:
            active = active.compacted(out)
    active.write_back(out)
    out.iterations = iteration
    return out


_B1, _B2 = 0.9, 0.999  # Adam's β₁, β₂


@dataclass
class _ActiveSet:
    """The states still iterated by :func:`minimise_speed`, ``[N, W]`` with W ≤ B.

    ``idx`` maps each slot to its position in the full batch, ``valid`` marks real states
    (a network with fewer active states than the widest is padded). Per state: current
    point ``x`` and input ``u``; best point ``xb``, its ``qb`` and gradient ``gb``;
    learning rate ``lr``; Adam moments ``m``, ``v`` and step count ``t``; ``done``;
    iterations ``n_it``; the slow snapshot ``sh`` (taken where ``sl``); ``q_ref``, q at the
    last stall check.
    """

    idx: torch.Tensor
    valid: torch.Tensor
    x: torch.Tensor
    u: torch.Tensor
    xb: torch.Tensor
    qb: torch.Tensor
    lr: torch.Tensor
    m: torch.Tensor
    v: torch.Tensor
    gb: torch.Tensor
    t: torch.Tensor
    done: torch.Tensor
    n_it: torch.Tensor
    sh: torch.Tensor
    sl: torch.Tensor
    q_ref: torch.Tensor

    @classmethod
    def start(cls, h0: torch.Tensor, u: torch.Tensor, o: FinderOptions) -> _ActiveSet:
        N, B, _ = h0.shape
        x = h0.clone()
        return cls(idx=torch.arange(B, device=h0.device).expand(N, B).clone(),
                   valid=torch.ones(N, B, dtype=torch.bool), x=x, u=u.clone(), xb=x.clone(),
                   qb=torch.full((N, B), float("inf"), dtype=h0.dtype),
                   lr=torch.full((N, B), o.lr_init, dtype=h0.dtype), m=torch.zeros_like(x),
                   v=torch.zeros_like(x), gb=torch.zeros_like(x), t=torch.zeros(N, B, dtype=h0.dtype),
                   done=torch.zeros(N, B, dtype=torch.bool), n_it=torch.zeros(N, B, dtype=torch.long),
                   sh=x.clone(), sl=torch.zeros(N, B, dtype=torch.bool),
                   q_ref=torch.full((N, B), float("inf"), dtype=h0.dtype))

    def accept(self, q: torch.Tensor, g: torch.Tensor, q_slow: torch.Tensor, o: FinderOptions) -> None:
        """Take ``(q, g)`` at ``x``: keep improvements, adapt the rates, update the moments,
        take slow snapshots and mark stopped states (module doc)."""
        running = ~self.done
        self.n_it += running
        q = torch.where(torch.isfinite(q), q, torch.full_like(q, float("inf")))
        better = (q <= self.qb) & running
        gain = self.qb - q
        bm = better[..., None]
        torch.where(bm, self.x, self.xb, out=self.xb)
        torch.where(bm, g, self.gb, out=self.gb)
        self.qb = torch.where(better, q, self.qb)
        fresh = better & (q < q_slow) & ~self.sl
        if bool(fresh.any()):
            self.sh = torch.where(fresh[..., None], self.x, self.sh)
            self.sl |= fresh
        self.lr = torch.where(better, (self.lr * o.lr_grow).clamp(max=o.lr_max),
                              torch.where(running, self.lr * o.lr_shrink, self.lr))
        self.t += better
        # accepted: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²; rejected: the momentum restarts at
        # the best point's gradient, m ← (1−β₁ᵗ) g_best (m̂ = g_best, so the next, shorter
        # step is a preconditioned descent direction) and v is kept. Per-state coefficients
        # make each update two passes over [N,B,S].
        c1 = 1 - _B1 ** self.t.clamp(min=1)
        accepted = better.to(self.x.dtype)[..., None]
        self.m.mul_(_B1 * accepted).addcmul_(self.gb, torch.where(better, 1 - _B1, c1)[..., None])
        self.v.lerp_(self.gb * self.gb, (1 - _B2) * accepted)
        self.done |= (self.qb < o.tol_q) | (better & (gain < o.tol_dq) & (self.t > 1)) | (self.lr < o.lr_min)
        self.done |= ~self.valid

    def check_stall(self, o: FinderOptions) -> None:
        """Stop states whose q fell by less than ``stall_drop`` since the last check."""
        self.done |= torch.isfinite(self.q_ref) & (self.qb > (1 - o.stall_drop) * self.q_ref)
        self.q_ref = self.qb.clone()

    def propose(self, o: FinderOptions) -> None:
        """The next point, from the best one: x = x_best − lr · m̂ / (√v̂ + ε)."""
        # m̂ = m/c1, v̂ = v/c2, c2 = 1 − β₂ᵗ, written as x_best − (lr √c2 / c1) · m / (√v + ε √c2)
        # with per-state scalars (stopped states: 0)
        c1 = 1 - _B1 ** self.t.clamp(min=1)
        root_c2 = (1 - _B2 ** self.t.clamp(min=1)).sqrt()
        scale = torch.where(self.done, 0.0, -self.lr * root_c2 / c1)[..., None]
        step = self.v.sqrt().add_((o.adam_eps * root_c2)[..., None])
        self.x = torch.addcmul(self.xb, torch.div(self.m, step, out=step), scale)

    def compacted(self, out: Minimised) -> _ActiveSet:
        """Itself without its stopped states (written to ``out`` first) once they fill a
        quarter of the width; else itself."""
        active = ~self.done
        width = int(active.sum(1).max())
        if width > 0.75 * self.idx.shape[1]:
            return self
        self.write_back(out)
        order = torch.argsort((~active).to(torch.int8), dim=1, stable=True)[:, :max(width, 1)]

        def pick(a):
            return torch.gather(a, 1, order if a.ndim == 2 else order[..., None].expand(-1, -1, a.shape[-1]))

        kept = {name: pick(getattr(self, name)) for name in self.__dataclass_fields__ if name != "done"}
        kept["valid"] = pick(active)
        return _ActiveSet(done=~kept["valid"], **kept)

    def write_back(self, out: Minimised) -> None:
        """Copy the valid states' best points, iterations and slow snapshots into ``out``."""
        rows = torch.arange(self.idx.shape[0])[:, None].expand_as(self.idx)[self.valid]
        cols = self.idx[self.valid]
        out.h[rows, cols] = self.xb[self.valid]
        out.q[rows, cols] = self.qb[self.valid]
        out.iters[rows, cols] = self.n_it[self.valid]
        out.slow_h[rows, cols] = self.sh[self.valid]
        out.slow[rows, cols] = self.sl[self.valid]


def jacobian(system: System, h: torch.Tensor, u: torch.Tensor, chunk: int = 1 << 18) -> torch.Tensor:
    """Jacobian of the step map, ∂F(h,u)/∂h, at ``h [N,B,S]`` → ``[N,B,S,S]``.

    The system's closed form where it has one (:attr:`System.closed_jacobian`); else one
    backward pass per chunk: each point is replicated S times and replica i contributes
    only output i, so the gradient of Σ F_i(replica i) is row i of J (valid because
    batch rows of a network's step are independent).
    """
    h, u = system.tensor(h), system.tensor(u)
    if system.closed_jacobian is not None:
        with torch.no_grad():
            return system.closed_jacobian(h, u)
    N, B, S = h.shape
    I = u.shape[-1]
    per = max(1, chunk // max(1, N * S))
    blocks = []
    for start in range(0, B, per):
        hc, uc = h[:, start:start + per], u[:, start:start + per]
        c = hc.shape[1]
        hr = hc[:, :, None, :].expand(N, c, S, S).reshape(N, c * S, S).clone().requires_grad_(True)
        ur = uc[:, :, None, :].expand(N, c, S, I).reshape(N, c * S, I)
        with torch.enable_grad():
            out = system.step(hr, ur).reshape(N, c, S, S)
            diag = torch.diagonal(out, dim1=2, dim2=3)
            (grad,) = torch.autograd.grad(diag.sum(), hr)
        blocks.append(grad.reshape(N, c, S, S))
    if not blocks:
        return h.new_zeros(N, 0, S, S)
    return torch.cat(blocks, 1)


def newton_polish(system: System, u: torch.Tensor, h: torch.Tensor, iters: int = 6,
                  chunk: int = 1 << 18, q_precise: float = 1e-24) -> tuple[torch.Tensor, torch.Tensor]:
    """Newton steps (J − I) δ = −(F(h) − h), kept per point only where q decreases.

    Where the solve's step does not lower q, the pseudo-inverse step is tried, but only at
    points with q > ``q_precise`` (at float64 precision a failed step means convergence,
    not a singular J − I). A point leaves the polish once no step lowers its q; each
    iteration works only on the points still polished (packed to the front of each
    network's row).
    """
    h, u = system.tensor(h).clone(), system.tensor(u)
    q = speed(system, h, u)
    S = h.shape[-1]
    eye = torch.eye(S, dtype=h.dtype)
    active = torch.isfinite(q) & (q > 0)
    for _ in range(iters):
        width = int(active.sum(1).max()) if active.numel() else 0
        if width == 0:
            break
        order = torch.argsort((~active).to(torch.int8), dim=1, stable=True)[:, :width]
        rows = order[..., None].expand(-1, -1, S)
        sel = torch.gather(active, 1, order)
        hs, us = torch.gather(h, 1, rows), torch.gather(u, 1, order[..., None].expand(-1, -1, u.shape[-1]))
        qs = torch.gather(q, 1, order)
        J = jacobian(system, hs, us, chunk)
        with torch.no_grad():
            residual = system.step(hs, us) - hs
            delta, info = torch.linalg.solve_ex(J - eye, -residual[..., None])
            candidate = hs + delta[..., 0]
            ok = (info == 0) & torch.isfinite(candidate).all(-1)
            candidate = torch.where(ok[..., None], candidate, hs)
            q_new = speed(system, candidate, us)
            keep = sel & ok & torch.isfinite(q_new) & (q_new < qs)
            redo = sel & ~keep & (qs > q_precise)
            if bool(redo.any()):
                # (near-)singular J − I, e.g. on a line of fixed points: the minimum-norm
                # least-squares step, small singular values cut off
                alt = hs.clone()
                alt[redo] = hs[redo] - (torch.linalg.pinv(J[redo] - eye, rtol=1e-8) @ residual[redo][..., None])[..., 0]
                q_alt = speed(system, alt, us)
                use = redo & torch.isfinite(q_alt) & (q_alt < qs)
                candidate = torch.where(use[..., None], alt, candidate)
                q_new = torch.where(use, q_alt, q_new)
                keep = keep | use
            h.scatter_(1, rows, torch.where(keep[..., None], candidate, hs))
            q.scatter_(1, order, torch.where(keep, q_new, qs))
            active.scatter_(1, order, keep & (q_new > 0))
    return h, q


def unique_points(x: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray:
    """Indices of representatives: greedy in order of increasing q, dropping points within ``tol``."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(q, kind="stable")
    x = x[order]
    covered = np.zeros(len(x), dtype=bool)
    keep = []
    sq = (x * x).sum(1)
    for i in range(len(x)):
        if covered[i]:
            continue
        keep.append(i)
        d2 = sq - 2 * x @ x[i] + sq[i]
        covered |= d2 <= tol * tol
    return np.sort(order[np.array(keep, dtype=np.int64)])


def outlier_mask(x: np.ndarray, reference: np.ndarray, scale: float) -> np.ndarray:
    """True for points of ``x`` within ``scale`` × mean spread of ``reference`` from its centroid."""
    centre = reference.mean(0)
    spread = np.linalg.norm(reference - centre, axis=1).mean()
    if not np.isfinite(spread) or spread == 0:
        spread = 1.0
    return np.linalg.norm(x - centre, axis=1) <= scale * spread
