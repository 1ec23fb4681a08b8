"""Continuous attractors (slow manifolds) and limit cycles.

**Slow manifolds.** A continuous attractor (a line for context-dependent integration, a
3-D set for ``integrate3``) shows up as a *dense set of slow points* at which the
linearised dynamics have eigenvalues at (near) the marginal value along the manifold:
λ = 1 for the one-step map F, i.e. μ = 0 for the continuous-time right-hand side. We measure
it on the slow-point cloud of one network and condition (the snapshots taken when
optimisation first got slower than ``tol_slow``):

- the cloud's *largest connected piece*: points closer than ``manifold_link`` × spread
  (or 3 × the median nearest-neighbour distance, whichever is larger, so that a sparsely
  sampled 3-D set stays connected) are linked (single linkage), and only the largest
  connected set is measured, so a
  set of isolated attractors (the flip-flop's corners, each surrounded by its own small
  cloud of slow points) is not mistaken for one extended manifold;
- ``extent``: RMS distance of that piece's points from its centroid, relative to the
  spread of the network's trajectories;
- ``pca_dim``: number of principal components that explain ``pca_variance`` (90 %) of
  the whole cloud's variance (pieces of a sparsely sampled 3-D set may each be flatter);
- ``marginal``: median over (up to ``max_manifold_points``) slow points of the piece of the number
  of *slow modes* of the linearisation (:func:`slow_modes`: eigenvalues of the step map
  whose rates |λ − 1|/α sit below a clear gap in the spectrum, so the criterion is
  relative to each network's own time scales: one step for discrete cells, τ for
  continuous-time ones);
- ``dim`` = min(round(marginal), ``pca_dim``) if the cloud is extended (extent ≥
  ``manifold_extent``) and holds at least ``min_slow_points`` points, else 0. The cap
  by the PCA dimension keeps only slow directions the slow points actually spread along
  (a gated unit stuck near gate = 1 is a slow mode but no attractor). An isolated fixed
  point has no slow modes, or a small piece, and gives 0.

**Limit cycles.** Found by simulation: from ``cycle_starts`` states of the network's
trajectories, run ``cycle_transient`` steps under the constant input, then record a
window of ``cycle_window`` steps. A trajectory is periodic when its normalised
autocorrelation (all state dimensions, centred) has a peak above 0.5 after the first
decay, and one period later the state returns to within ``cycle_recurrence`` × its RMS
amplitude (the period interpolated linearly between steps). The period is refined on
the last peak multiple of the first one that fits in half the window (parabolic
interpolation), so its error is well below a step. Cycles of one condition reached
from different starts are merged when one's end state lies on the other's orbit.
"""

from __future__ import annotations

import numpy as np
import torch


def pca_dimension(x: np.ndarray, variance: float = 0.9) -> tuple[int, float]:
    """``(components explaining ``variance`` of x's variance, RMS radius of x)``."""
    if len(x) < 2:
        return 0, 0.0
    centred = x - x.mean(0)
    s = np.linalg.svd(centred, compute_uv=False) ** 2
    total = s.sum()
    if total <= 0:
        return 0, 0.0
    dim = int(np.searchsorted(np.cumsum(s) / total, variance - 1e-12) + 1)
    return dim, float(np.sqrt(total / len(x)))


def largest_component(x: np.ndarray, link: float, density: float = 3.0) -> np.ndarray:
    """Mask of the largest connected set of points when points closer than
    max(``link``, ``density`` × median nearest-neighbour distance) are linked."""
    if len(x) < 2:
        return np.ones(len(x), dtype=bool)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    tree = cKDTree(x)
    nearest = tree.query(x, k=2)[0][:, 1]
    pairs = tree.query_pairs(max(link, density * float(np.median(nearest))), output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(x), len(x)))
    _, labels = connected_components(graph, directed=False)
    return labels == np.bincount(labels).argmax()


def slow_modes(step_eigenvalues: np.ndarray, alpha: float = 1.0, cap: float = 0.5, gap: float = 3.0) -> np.ndarray:
    """Number of slow modes per row of step-map eigenvalues ``[P, S]`` → ``[P]``.

    Rates r = |λ − 1| / α (per step in discrete time; per τ in continuous time, where
    λ = 1 + αμ) are sorted; the count is the k at which the spectrum has its largest gap
    r_{k+1} / r_k among rates below ``cap``, if that gap is at least ``gap``, else 0. A
    line attractor has one rate near 0 well separated from the rest, a 3-D one three; an
    attractor whose modes all decay at comparable rates has none.
    """
    ev = np.atleast_2d(step_eigenvalues)
    if ev.shape[-1] < 2 or ev.shape[0] == 0:
        return np.zeros(ev.shape[0], dtype=np.int64)
    # λ = 0 exactly (a silent ReLU unit, a saturated gate) is no time scale of the
    # dynamics: such modes would open an artificial gap above every real rate
    r = np.sort(np.where(np.abs(ev) < 1e-6, np.inf, np.abs(ev - 1) / alpha), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = r[:, 1:] / np.maximum(r[:, :-1], 1e-12)
    ratios = np.where(np.isfinite(r[:, 1:]) & np.isfinite(ratios), ratios, 0.0)
    ratios = np.where(r[:, :-1] < cap, ratios, 0.0)
    k = ratios.argmax(-1)
    best = ratios[np.arange(len(r)), k]
    return np.where(best >= gap, k + 1, 0).astype(np.int64)


# --- limit cycles --------------------------------------------------------------------

def _first_peak(ac: np.ndarray, threshold: float = 0.5) -> int | None:
    """First local maximum above ``threshold`` after the autocorrelation first fell below it."""
    below = np.flatnonzero(ac < threshold)
    if len(below) == 0:
        return None
    start = max(int(below[0]), 2)
    seg = ac[start:-1]
    peaks = np.flatnonzero((seg >= ac[start - 1:-2]) & (seg >= ac[start + 1:]) & (seg > threshold))
    return int(peaks[0] + start) if len(peaks) else None


def _refine(ac: np.ndarray, guess: float, half_width: float) -> float:
    """Parabolic interpolation of the autocorrelation maximum within ``guess ± half_width``."""
    lo, hi = max(int(np.floor(guess - half_width)), 1), min(int(np.ceil(guess + half_width)), len(ac) - 2)
    if hi <= lo:
        return float(guess)
    i = lo + int(np.argmax(ac[lo:hi + 1]))
    i = min(max(i, 1), len(ac) - 2)
    a, b, c = ac[i - 1], ac[i], ac[i + 1]
    denom = a - 2 * b + c
    return float(i + (0.5 * (a - c) / denom if denom < 0 else 0.0))


def _shift(x: np.ndarray, period: float) -> np.ndarray:
    """x(t + period) by linear interpolation, for t in [0, len − ceil(period) − 1)."""
    k = int(np.floor(period))
    f = period - k
    n = len(x) - k - 1
    return (1 - f) * x[k:k + n] + f * x[k + 1:k + 1 + n], n


def periodic_orbit(x: np.ndarray, tol_rest: float, recurrence: float = 0.1) -> dict | None:
    """Period and amplitude of a late trajectory ``x [W, S]``, or None if it is not periodic."""
    centred = x - x.mean(0)
    power = float((centred * centred).sum(1).mean())
    steps = np.diff(x, axis=0)
    if power <= 0 or np.sqrt((steps * steps).sum(1).mean()) < tol_rest:
        return None
    W = len(x)
    spec = np.fft.rfft(centred, n=2 * W, axis=0)
    ac = np.fft.irfft((spec * spec.conj()).real.sum(1), n=2 * W)[:W]
    ac = ac / (W - np.arange(W)) / (ac[0] / W)
    first = _first_peak(ac[: W // 2])
    if first is None:
        return None
    multiple = max(1, int((W // 2) // first))
    period = _refine(ac, first * multiple, first / 2) / multiple
    later, n = _shift(x, period)
    if n < period:
        return None
    error = np.sqrt(((later - x[:n]) ** 2).sum(1).mean() / power)
    if not np.isfinite(error) or error > recurrence:
        return None
    return {"period": period, "amplitude": float(np.sqrt(power)),
            "step": float(np.sqrt((steps * steps).sum(1)).max())}


def resample_period(x: np.ndarray, period: float, phases: int, start: int) -> np.ndarray:
    """One period of ``x [W, S]`` from index ``start`` at ``phases`` evenly spaced phases."""
    t = start + np.arange(phases) * period / phases
    k = np.floor(t).astype(int)
    f = (t - k)[:, None]
    k = np.minimum(k, len(x) - 2)
    return (1 - f) * x[k] + f * x[k + 1]


@torch.no_grad()
def simulate(system, h: torch.Tensor, u: torch.Tensor, steps: int, record: int = 0):
    """Run ``steps`` steps from ``h [N,B,S]`` under ``u [N,B,I]``; returns (h, last ``record`` states)."""
    kept = []
    for t in range(steps):
        h = system.step(h, u)
        if t >= steps - record:
            kept.append(h.to(torch.float32))
    return h, (torch.stack(kept, 2) if kept else None)
