"""Shared data generators for the metric tests (small, seeded, well-conditioned)."""

from __future__ import annotations

import numpy as np

from simbench.metrics.base import Metric, Param

ALL_IDS = ["cca", "svcca", "pwcca", "shape", "procrustes", "permutation", "cka", "rsa",
           "ot-units", "gw", "traj-lsq"]

#: Small configurations so that every test runs in milliseconds (one table for every metric
#: test: conformance, cross, contract).
SMALL = {
    "gw": "gw:n_samples=30",
    "rsa": "rsa:max_items=40",
    "traj-lsq": "traj-lsq:n_components=3",
    "ph": "ph:n_perm=60",
    "dsa": "dsa:n_conditions=4,n_delays=5,rank=6,iters=300",
    "endpoints": "endpoints:n_conditions=4",
    "selectivity": "selectivity:restarts=20",
    "ood": "ood:n_levels=5,repeats=2",
    "latent-circuit": "latent-circuit:n_latent=4",
}


def small_spec(mid: str) -> str:
    return SMALL.get(mid, mid)


def random_orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))[None, :]


def random_invertible(rng: np.random.Generator, d: int, cond: float = 10.0) -> np.ndarray:
    """A random matrix with singular values spread over [1, cond]."""
    U = random_orthogonal(rng, d)
    V = random_orthogonal(rng, d)
    s = np.geomspace(1.0, cond, d)
    return U @ np.diag(s) @ V.T


def structured(rng: np.random.Generator, n: int = 60, d: int = 5, latent: int = 3,
               noise: float = 0.3) -> np.ndarray:
    """Low-dimensional latent structure plus isotropic noise, offset from zero."""
    Z = rng.standard_normal((n, latent))
    return Z @ rng.standard_normal((latent, d)) + noise * rng.standard_normal((n, d)) + 0.5


def related(rng: np.random.Generator, X: np.ndarray, d: int | None = None,
            noise: float = 0.5) -> np.ndarray:
    """A second 'network' sharing X's structure through a random linear map plus noise."""
    d = X.shape[1] if d is None else d
    return np.tanh(X @ rng.standard_normal((X.shape[1], d)) * 0.5) + noise * rng.standard_normal((X.shape[0], d))


class ToyMetric(Metric):
    """A third-party style plugin used by the registry tests: |mean difference|."""

    id = "toy"
    kind = "geometry"
    description = "Absolute difference of grand means (test plugin)."
    triangle_inequality = True
    parameters = {"power": Param(1, low=1, doc="exponent")}

    def _prepare(self, X):
        return {"m": float(X.mean())}

    def _distance(self, a, b):
        return abs(a["m"] - b["m"]) ** self.power
