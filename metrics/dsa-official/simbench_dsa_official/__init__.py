"""simbench plugin ``dsa-official``: the authors' DSA code behind simbench's Metric contract.

Wraps ``dsa-metric`` (Ostrow et al., MIT licence; ``import DSA``) so that simbench's own
``dsa`` metric can be compared with the reference implementation on the same inputs.

``prepare``: centre the recording (``centre=true``, default; the authors' code does not
centre — set ``centre=false`` for their exact behaviour), reshape it to
``[n_conditions, time, units]`` and fit ``DSA.DMD(n_delays, delay_interval, rank,
lamb=ridge)`` (HAVOK DMD, float32 torch); the state is the operator ``A_v``.

``distance``: ``DSA.SimilarityTransformDist(iters, score_method=score, lr).fit_score``
on the two operators — for ``angular`` the authors' Adam over a Cayley map of a learned
skew matrix, started twice (C and a row-swapped start), in float32; for
``wasserstein`` POT ``emd2`` between the eigenvalue sets with *squared* Euclidean
cost, i.e. W₂² (simbench's ``dsa:score=wasserstein`` reports W₂). Two things are added
to make it a simbench metric: torch's global RNG is seeded with ``seed`` inside a
``torch.random.fork_rng`` block (the authors' parametrisation initialises ``nn.Linear``
layers randomly, so results would otherwise vary between calls and the caller's RNG
would be disturbed), and each pair is solved in a canonical order (by a digest of the
two operators) so that d(X, Y) == d(Y, X) exactly. Both operators always have the same
size here (rank ``rank``), so the authors' silent fallback to Wasserstein for unequal
sizes never happens.

Parameters and defaults: ``n_conditions`` (1), ``n_delays`` (15), ``delay_interval`` (1),
``rank`` (15), ``ridge`` (1e-8, the authors' DMD default ``lamb``), ``score``
("angular"; the package's own default is "wasserstein"), ``iters`` (1500), ``lr``
(5e-3) — the package's SimilarityTransformDist defaults —, ``seed`` (0), ``centre``
(true).

Invariances, declared per score so that the plugin passes simbench's conformance suite
(``metrics/dsa-official/tests``, run in CI):

* ``wasserstein``: translation (with ``centre``), rotation, permutation, scale, exactly:
  the eigenvalues of the fitted operator do not change.
* ``angular``: translation (with ``centre``) and scale only. In theory the score is
  invariant to every orthogonal map of the units. The authors' optimiser, though, searches
  C = Cayley(S) for skew S. That covers only rotations without an eigenvalue −1, so
  det C = +1. The sign of each SVD component of the Hankel matrix is arbitrary, so the
  operators of X and of a rotated or permuted X differ by a conjugation that includes a
  diagonal ±1 matrix, which is often out of the optimiser's reach. Measured with the conformance
  recordings (n_delays 5, rank 6): d(X, rotated X) = 0.045 and d(X, permuted X) = 0.078
  at the default 1500 steps, 0.13 and 0.33 at 300 steps. simbench's ``dsa`` gives 0,
  because it aligns over the full orthogonal group. The self-distance of two states of
  one recording is ≈ 1e-3 (float32 Adam from a random start), so the conformance test
  passes the optimiser's tolerance (0.02). It is a reference, not a replacement.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import torch

from simbench.metrics.base import Metric, Param, State

__all__ = ["DSAOfficial"]


def _digest(s: State) -> str:
    return hashlib.sha1(np.ascontiguousarray(s.arrays["A"]).tobytes()).hexdigest()


class DSAOfficial(Metric):
    """The authors' DSA (dsa-metric package) as a simbench metric."""

    id = "dsa-official"
    kind = "dynamics"
    description = "Dynamical similarity analysis with the authors' dsa-metric package (reference)."
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {
        "n_conditions": Param(1, low=1, doc="trajectories in the recording (samples = conditions x time)"),
        "n_delays": Param(15, low=1, doc="number of delays in the Hankel embedding"),
        "delay_interval": Param(1, low=1, doc="time steps between delays"),
        "rank": Param(15, low=1, doc="SVD components of the Hankel matrix kept"),
        "ridge": Param(1e-8, low=0.0, doc="ridge penalty (dsa-metric's lamb)"),
        "score": Param("angular", choices=("angular", "wasserstein"),
                       doc="SimilarityTransformDist score_method"),
        "iters": Param(1500, low=1, doc="optimisation steps (angular)"),
        "lr": Param(5e-3, low=0.0, low_open=True, doc="learning rate (angular)"),
        "seed": Param(0, low=0, doc="torch seed for the authors' random initialisation"),
        "centre": Param(True, doc="centre the units before fitting (the authors' code does not)"),
    }

    def _configure(self) -> None:
        exact = ("rotation", "permutation") if self._params["score"] == "wasserstein" else ()
        shift = ("translation",) if self._params["centre"] else ()
        self.invariances = shift + exact + ("scale",)

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        n, C = X.shape[0], self._params["n_conditions"]
        if n % C:
            raise ValueError(f"dsa-official: {label} has {n} samples, not divisible by "
                             f"n_conditions={C}")
        T = n // C
        span = (self._params["n_delays"] - 1) * self._params["delay_interval"]
        if T - span < 2:
            raise ValueError(f"dsa-official: {label} has {T} time points per condition; "
                             f"the delay embedding needs at least {span + 2}")

    def _prepare(self, X: np.ndarray) -> dict:
        from DSA import DMD

        if self._params["centre"]:
            X = X - X.mean(axis=0, keepdims=True)
        C = self._params["n_conditions"]
        traj = torch.from_numpy(X.reshape(C, X.shape[0] // C, X.shape[1]).astype(np.float32))
        if C == 1:
            traj = traj[0]
        dmd = DMD(traj, n_delays=self._params["n_delays"],
                  delay_interval=self._params["delay_interval"], rank=self._params["rank"],
                  lamb=self._params["ridge"], device="cpu")
        dmd.fit()
        A = dmd.A_v.detach().cpu().numpy().astype(np.float64)
        if not np.all(np.isfinite(A)):
            raise ValueError("dsa-official: the fitted operator is not finite (rank too high "
                             "for the data?)")
        return {"A": A}

    def _distance(self, a: State, b: State) -> float:
        from DSA import SimilarityTransformDist

        if _digest(a) > _digest(b):
            a, b = b, a
        sim = SimilarityTransformDist(iters=self._params["iters"],
                                      score_method=self._params["score"],
                                      lr=self._params["lr"], device="cpu")
        A = torch.from_numpy(a["A"].astype(np.float32))
        B = torch.from_numpy(b["A"].astype(np.float32))
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(self._params["seed"])
            score = sim.fit_score(A.clone(), B.clone())
        return float(np.asarray(score))
