"""Compare simbench's ``dsa`` with the authors' package (plugin ``dsa-official``) and time it.

    pip install -e metrics/dsa-official -c constraints.txt
    python metrics/measurements/dsa_agreement.py

Recordings: 8 systems (4 conditions x 60 steps, 6 units, small noise) — rotations at
several frequencies, line attractors, and mixtures. Prints, for the angular and the
Wasserstein scores, the pairwise distances of both implementations, their Spearman
correlation and absolute differences, and the per-pair times (single ``distance`` calls
and the batched ``pairwise``).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy.stats import spearmanr

from simbench.metrics import get_metric


def rollout(M, starts, T):
    out = []
    for x in starts:
        traj = []
        for _ in range(T):
            traj.append(x)
            x = M @ x
        out.append(np.array(traj))
    return np.concatenate(out)


def system(rng, kind, theta, n_units=6, C=4, T=60, noise=0.02):
    c, s = np.cos(theta), np.sin(theta)
    rot = 0.99 * np.array([[c, -s], [s, c]])
    line = np.diag([1.0, 0.7])
    M = {"rotation": rot, "line": line}[kind] if kind != "mixed" else None
    if M is None:
        M = np.zeros((4, 4))
        M[:2, :2], M[2:, 2:] = rot, line
    Z = rollout(M, rng.standard_normal((C, M.shape[0])), T)
    X = Z @ rng.standard_normal((M.shape[0], n_units))
    return X + noise * rng.standard_normal(X.shape)


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    recs = [system(rng, "rotation", 0.2), system(rng, "rotation", 0.25),
            system(rng, "rotation", 0.6), system(rng, "line", 0),
            system(rng, "line", 0), system(rng, "mixed", 0.2), system(rng, "mixed", 0.6),
            system(rng, "rotation", 1.0)]
    iu = np.triu_indices(len(recs), 1)
    common = "n_conditions=4,n_delays=5,rank=8"
    for score, extra_off in [("wasserstein", ""), ("angular", "")]:
        ours = get_metric(f"dsa:{common},score={score}")
        off = get_metric(f"dsa-official:{common},score={score}{extra_off}")
        so = [ours.prepare(r) for r in recs]
        sf = [off.prepare(r) for r in recs]
        t0 = time.perf_counter()
        Do = ours.pairwise(so)
        t1 = time.perf_counter()
        Df = off.pairwise(sf)
        t2 = time.perf_counter()
        t3 = time.perf_counter()
        ours.distance(so[0], so[5])
        t4 = time.perf_counter()
        a, b = Do[iu], Df[iu]
        if score == "wasserstein":
            a = a ** 2  # dsa-metric reports W2 squared
        rho = spearmanr(a, b).statistic
        print(f"{score}: {len(a)} pairs; Spearman rho = {rho:.4f}; |diff| max {np.abs(a - b).max():.4f}, "
              f"mean {np.abs(a - b).mean():.4f}; simbench below official in "
              f"{np.mean(a <= b + 1e-6) * 100:.0f}% of pairs")
        print(f"   simbench pairwise {1e3 * (t1 - t0) / len(a):.1f} ms/pair, single distance "
              f"{1e3 * (t4 - t3):.1f} ms; dsa-official {1e3 * (t2 - t1) / len(a):.1f} ms/pair")
        print("   simbench:", np.round(a, 4))
        print("   official:", np.round(b, 4), flush=True)

    # defaults (n_delays=15, rank=15) on longer recordings: time per pair
    recs = [system(rng, "mixed", th, n_units=32, C=8, T=100) for th in np.linspace(0.2, 1.0, 12)]
    m = get_metric("dsa:n_conditions=8")
    t0 = time.perf_counter()
    states = [m.prepare(r) for r in recs]
    t1 = time.perf_counter()
    D = m.pairwise(states)
    t2 = time.perf_counter()
    m.distance(states[0], states[1])
    t3 = time.perf_counter()
    n_pairs = len(recs) * (len(recs) - 1) // 2
    print(f"defaults (rank 15, 800 x 32 recordings): prepare {1e3 * (t1 - t0) / len(recs):.1f} ms/network, "
          f"pairwise {1e3 * (t2 - t1) / n_pairs:.1f} ms/pair ({n_pairs} pairs, one batch), "
          f"single distance {1e3 * (t3 - t2):.0f} ms; torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
