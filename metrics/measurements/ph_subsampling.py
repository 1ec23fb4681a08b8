"""Measure ph's landmark subsampling error and gudhi vs persim diagram-distance speed.

    python metrics/measurements/ph_subsampling.py            # ~ a few minutes on 2 cores

For each cloud: full Rips diagrams (ripser, no subsampling) vs the default n_perm=300
greedy landmarks, after simbench's normalisation (centre, RMS radius 1); prints the
bottleneck error per homology dimension, the stability bound 2·r_cover and the times.
Then times gudhi's and persim's bottleneck / Wasserstein on the subsampled diagrams.
The figures are quoted in simbench/metrics/ph.py's docstring.
"""

from __future__ import annotations

import time

import numpy as np

from simbench.metrics.ph import diagram_distance, diagrams, normalise_cloud


def subsampling_error(Xn: np.ndarray, n_perm: int = 300):
    """Full vs ``n_perm``-landmark Rips diagrams (H0, H1) of a normalised cloud:
    ``(full, sub, bottleneck errors [H0, H1], r_cover, seconds full, seconds subsampled)``."""
    t0 = time.perf_counter()
    full, _, _ = diagrams(Xn, 1, None)
    t1 = time.perf_counter()
    sub, r_cover, _ = diagrams(Xn, 1, n_perm)
    t2 = time.perf_counter()
    errors = [diagram_distance(full[k], sub[k], "bottleneck") for k in range(2)]
    return full, sub, errors, r_cover, t1 - t0, t2 - t1


def embed(rng, P, d=32, noise=0.02):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Z = np.zeros((len(P), d))
    Z[:, :P.shape[1]] = P
    return Z @ Q + noise * rng.standard_normal((len(P), d))


def clouds(rng):
    t = rng.uniform(0, 2 * np.pi, 2000)
    circ = np.column_stack([np.cos(t), np.sin(t)])
    yield "noisy circle, R^32", embed(rng, circ[:1000])
    yield "noisy circle, R^32", embed(rng, circ)
    two = np.concatenate([circ[:1000] + [-1.6, 0], circ[1000:] + [1.6, 0]])
    yield "two circles, R^32", embed(rng, two)
    s = np.arange(1500) * 0.05
    torus = np.column_stack([np.cos(s), np.sin(s), np.cos(np.sqrt(2) * s), np.sin(np.sqrt(2) * s)])
    yield "torus trajectory (quasi-periodic), R^32", embed(rng, torus)
    walk = np.cumsum(rng.standard_normal((1500, 3)), axis=0)
    k = np.exp(-0.5 * (np.arange(-30, 31) / 10.0) ** 2)
    walk = np.column_stack([np.convolve(walk[:, i], k / k.sum(), mode="same") for i in range(3)])
    yield "smoothed random walk (3-D), R^32", embed(rng, walk)
    # a random tanh RNN (32 units, gain 1.3) driven by slow random input
    W = 1.3 * rng.standard_normal((32, 32)) / np.sqrt(32)
    U = rng.standard_normal((32, 2))
    u = np.cumsum(rng.standard_normal((1500, 2)), axis=0) * 0.05
    h, H = np.zeros(32), []
    for i in range(1500):
        h = np.tanh(W @ h + U @ np.sin(u[i]))
        H.append(h)
    yield "random tanh RNN states (32 units)", np.array(H)


def main() -> None:
    rng = np.random.default_rng(0)
    rows, sub_dgms = [], []
    print(f"{'cloud':42s} {'n':>5s} {'H0 err':>8s} {'H1 err':>8s} {'2r_cov':>8s} "
          f"{'t full':>7s} {'t 300':>6s}")
    for name, X in clouds(rng):
        full, sub, errs, r_cover, t_full, t_sub = subsampling_error(normalise_cloud(X))
        top = np.sort(full[1][:, 1] - full[1][:, 0])[::-1][:2] if len(full[1]) else []
        print(f"{name:42s} {len(X):5d} {errs[0]:8.3f} {errs[1]:8.3f} {2 * r_cover:8.3f} "
              f"{t_full:7.1f} {t_sub:6.2f}   top H1 bars (full): {np.round(top, 3)}",
              flush=True)
        rows.append((name, len(X), *errs, 2 * r_cover))
        sub_dgms.append(sub)

    print("\ndiagram distances on the n_perm=300 diagrams (all pairs of clouds), ms per call")
    try:
        import persim
    except ImportError:  # pragma: no cover
        persim = None
    pairs = [(a, b) for i, a in enumerate(sub_dgms) for b in sub_dgms[i + 1:]]
    for k in (0, 1):
        sizes = sorted({len(d[k]) for d in sub_dgms})
        line = f"H{k} (diagram sizes {sizes[0]}-{sizes[-1]}):"
        for label, fn in [
            ("gudhi bottleneck", lambda a, b: diagram_distance(a, b, "bottleneck")),
            ("gudhi W1 (L2 ground)", lambda a, b: diagram_distance(a, b, "wasserstein", 1.0, 2.0)),
            ("gudhi W2 (Linf ground)", lambda a, b: diagram_distance(a, b, "wasserstein", 2.0)),
        ] + ([("persim bottleneck", persim.bottleneck),
              ("persim W1 (L2 ground)", persim.wasserstein)] if persim else []):
            t0 = time.perf_counter()
            vals = [fn(a[k], b[k]) for a, b in pairs]
            dt = (time.perf_counter() - t0) / len(pairs) * 1e3
            line += f"\n    {label:24s} {dt:8.2f} ms   (mean value {np.mean(vals):.4f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
