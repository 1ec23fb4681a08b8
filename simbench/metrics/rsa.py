"""Representational similarity analysis (Kriegeskorte, Mur & Bandettini, 2008).

``prepare`` turns a recording ``[samples, units]`` into items and their
representational dissimilarity matrix (RDM):

* ``n_conditions=C`` (an int): the rows are read as C consecutive blocks of equal
  length (condition-major order ``[condition, time]``, as simbench's probes record
  them) and each block is averaged over time: C items. The number of samples must be
  divisible by C.
* ``n_conditions=None`` (default): every sample is an item, but at most ``max_items``
  rows are kept, evenly spaced (``round(linspace(0, n−1, max_items))``; the same rows
  for every network, since samples are matched).

RDM entries between items p and q (patterns over units):

* ``rdm="correlation"``: 1 − Pearson correlation of the two patterns. A pattern with
  zero variance over units (e.g. the all-zero initial state) has no defined
  correlation; simbench sets its correlation with every other pattern to 0 (distance 1).
* ``rdm="euclidean"``: Euclidean distance of the patterns.

The upper triangles (without diagonal) of the two RDMs are compared with
``compare="spearman"`` (default; ranks, ties averaged) or ``"pearson"`` correlation r::

    d = 1 − r        ∈ [0, 2]

Invariances: permutation of units and isotropic scaling (both RDMs); the euclidean RDM
also translation and rotation of the units; the correlation RDM is not rotation- or
translation-invariant (it centres each pattern across units). Spearman comparison adds
invariance to monotone transforms of the RDM. Triangle inequality: does **not** hold
(1 − r is not a metric). The per-pair step is one dot product of length
items·(items−1)/2.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import rankdata

from simbench.metrics.base import Metric, Param, State


def evenly_spaced(n: int, m: int) -> np.ndarray:
    """At most m distinct, evenly spaced indices in [0, n)."""
    if n <= m:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, m)).astype(int))


def correlation_rdm(items: np.ndarray) -> np.ndarray:
    """Condensed 1 − Pearson correlation between rows; zero-variance rows get distance 1."""
    Z = items - items.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Z, axis=1)
    scale = np.max(norms) if norms.size else 0.0
    ok = norms > scale * 1e-12
    Z[ok] /= norms[ok, None]
    Z[~ok] = 0.0
    R = np.clip(Z @ Z.T, -1.0, 1.0)
    iu = np.triu_indices(items.shape[0], k=1)
    return 1.0 - R[iu]


class RSA(Metric):
    """1 − correlation between representational dissimilarity matrices."""

    id = "rsa"
    kind = "geometry"
    description = "Representational similarity analysis: 1 - correlation of RDM upper triangles (Kriegeskorte et al. 2008)."
    triangle_inequality = False
    invariances = ("permutation", "scale")
    parameters = {
        "n_conditions": Param(None, type=int, low=1, allow_none=True,
                              doc="average each of this many condition blocks over time"),
        "max_items": Param(500, low=3, doc="at most this many evenly spaced items"),
        "rdm": Param("correlation", choices=("correlation", "euclidean"),
                     doc="dissimilarity between item patterns"),
        "compare": Param("spearman", choices=("spearman", "pearson"),
                         doc="correlation used to compare the two RDMs"),
    }

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        n = X.shape[0]
        c = self._params["n_conditions"]
        if c is not None and n % c != 0:
            raise ValueError(f"{self.id}: {label} has {n} samples, not divisible by "
                             f"n_conditions={c}")
        items = c if c is not None else n
        if min(items, self._params["max_items"]) < 3:
            raise ValueError(f"{self.id}: {label} gives {items} items; RSA needs at least 3")

    def _prepare(self, X: np.ndarray) -> dict:
        n = X.shape[0]
        c = self._params["n_conditions"]
        items = X.reshape(c, n // c, X.shape[1]).mean(axis=1) if c is not None else X
        items = items[evenly_spaced(items.shape[0], self._params["max_items"])]
        if self._params["rdm"] == "correlation":
            v = correlation_rdm(items)
        else:
            v = pdist(items, metric="euclidean")
        if self._params["compare"] == "spearman":
            v = rankdata(v)
        raw_scale = float(np.abs(v).max(initial=0.0))
        v = v - v.mean()
        norm = np.linalg.norm(v)
        if norm == 0.0 or norm <= 1e-12 * raw_scale * np.sqrt(v.size):
            raise ValueError(f"{self.id}: the RDM is constant (all items equally dissimilar); "
                             "RDM correlation is undefined")
        return {"rdm": v / norm}

    def _distance(self, a: State, b: State) -> float:
        if a["rdm"].shape != b["rdm"].shape:  # pragma: no cover - same n gives same items
            raise ValueError(f"{self.id}: RDMs of different sizes")
        return float(1.0 - np.clip(a["rdm"] @ b["rdm"], -1.0, 1.0))
