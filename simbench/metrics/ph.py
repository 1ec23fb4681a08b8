"""Persistent homology of the hidden-state point cloud (Vietoris–Rips diagrams).

``prepare`` treats a recording ``[samples, units]`` as a point cloud in unit space and
computes its Vietoris–Rips persistence diagrams in homology dimensions 0…``max_dim``
with ``ripser`` (Bauer, *J. Appl. Comput. Topol.* 2021; scikit-tda's Python binding),
coefficients in Z/2. Before that the cloud is normalised::

    X ← X − mean(X)                     (translation)
    X ← X / sqrt(mean_i ‖x_i‖²)         (isotropic scale: RMS radius 1)

Euclidean distances are unchanged by rotations/reflections and permutations of the
units, so the diagrams — and the distance — are invariant to translation,
rotation/reflection, permutation and isotropic scaling of the units (not to general
linear maps, which distort distances). Unequal numbers of units are fine (only
distances between samples are used); the rows need not be matched, but the contract
of :class:`~simbench.metrics.base.Metric` still asks for equal sample counts.

Subsampling (``n_perm``, default 300): ripser's greedy (farthest-point) permutation
keeps ``n_perm`` landmarks and computes the diagrams of the landmark cloud; the
Hausdorff distance from the cloud to the landmarks (``r_cover``, stored in the state as
``cover_radius``) bounds the bottleneck error of the *Rips diagrams* by 2·r_cover
(stability theorem, Chazal et al. 2009). ``n_perm=0`` or ``none``, or a cloud with at
most ``n_perm`` points, gives the full diagrams. Full Rips H1 on 2000 points costs
seconds to minutes and memory growing with n², hence the default. The greedy
permutation starts at the first sample, so it depends on the sample order only through
that choice (all networks share the sample order, so matched recordings are treated
alike).

Measured subsampling error — bottleneck distance between the n_perm=300 diagrams and
the full diagrams of the normalised cloud (RMS radius 1), with the stability bound
2·r_cover; clouds embedded in R^32 with isotropic noise σ = 0.02 per unit
(``metrics/measurements/ph_subsampling.py``, ripser 0.6.15, 2-core machine shared
with other jobs)::

    cloud                                  n     H0 err  H1 err  2·r_cover  full    300
    noisy circle                           1000  0.068   0.032   0.313      15 s    0.4 s
    noisy circle                           2000  0.067   0.061   0.331      216 s   0.5 s
    two circles                            2000  0.038   0.050   0.185      98 s    0.6 s
    torus trajectory (quasi-periodic)      1500  0.135   0.108   0.432      530 s   1.1 s
    smoothed 3-D random walk               1500  0.040   0.050   0.078      40 s    0.2 s
    random tanh RNN states (32 units)      1500  0.059   0.032   0.265      6 s     0.1 s

Every error is below its bound and small next to the features: the circle's loop has
persistence 1.52 (error ≤ 0.06, 4%), the two circles' loops 0.79 each, the torus's two
loops 1.02 and 0.96 (error 0.11, ~10%: 300 landmarks cover a 2-D surface coarsely).

On trained networks of the reference zoo (oscillation suite, 11 probe conditions × 120
steps, ``metrics/measurements/ph_zoo_networks.py``; "top H1" is the longest H1 bar of
the full diagram)::

    network                        n     H0 err  H1 err  2·r_cover  top H1  full   300
    sine-gru-h32-s0                1320  0.062   0.081   0.211      1.206   9.2 s  0.21 s
    sine-vanilla-tanh-h32-s0       1320  0.082   0.150   0.296      0.969   4.9 s  0.13 s
    sine-ctrnn-tanh-free-h32-s0    1320  0.182   0.179   0.434      0.465   5.3 s  0.19 s
    hold-lstm-h32-s0               1320  0.007   0.003   0.023      0.061   9.2 s  0.23 s
    hold-ctrnn-relu-dale-h32-s0    1320  0.012   0.006   0.047      0.078  15.4 s  0.19 s

The errors stay below the bound. They are small next to the limit cycles' loops, 7–15 %
for the GRU and vanilla sine networks. The CTRNN's loop is 0.47 and its error 0.18,
because its orbit is traced by few, widely spaced states. The hold networks' clouds
have no loop, and there the error is 0.003–0.006.

Diagrams are compared per homology dimension k with ``gudhi``
(``gudhi.bottleneck_distance``, ``gudhi.wasserstein.wasserstein_distance`` with
ground metric L∞ and order ``order``) and combined by a weighted sum, equal weights
except for H0, whose weight is ``h0_weight`` (default 1, i.e. equal weights)::

    d = h0_weight · d_0 + Σ_{k=1..max_dim} d_k,     d_k = d(Dgm_k(X), Dgm_k(Y))

``distance="bottleneck"`` (default): the ∞-Wasserstein distance, the largest
mismatch between matched bars. It is stable — d_k ≤ 2·d_H(X, Y) for clouds at
Hausdorff distance d_H (Chazal et al. 2009) — and does not grow with the number of
points. ``distance="wasserstein"`` (order ``order``, default 2) sums over *all* bars,
and a Rips filtration of n points has n − 1 finite H0 bars whose deaths are the
nearest-neighbour scales of the sampling: with order 1 a slightly noisier copy of a
circle is farther from it than two circles are (measured: circle σ=0.05 vs σ=0.1,
300 points in R^6: W1 H0 21.3, H1 2.1; circle vs two circles: H0 12.1, H1 1.7; bottleneck:
H0 0.16, H1 0.18 vs H0 0.29, H1 0.69; W2: H0 1.28, H1 0.25 vs H0 0.78, H1 0.77). So use
Wasserstein with order 2 and ``h0_weight=0`` (or small) to compare the shape of the
loops and voids rather than the sampling density.

Why gudhi rather than persim: on the n_perm=300 diagrams of the clouds above (H0: 299
bars, H1: 28–156 bars; mean ms per call; the two agree — the tests check bottleneck to 1e-9, Wasserstein to 1e-6 relative) gudhi's
bottleneck took 10.4 ms (H0) / 1.1 ms (H1) vs persim 0.4.1's 71 / 6.5 ms, gudhi's
Wasserstein (order 1, Euclidean ground metric, POT) 28 / 2.9 ms vs persim's 48 /
2.1 ms; gudhi also offers order p and the L∞ ground metric; persim only order 1.

Infinite bars: every Rips filtration of a cloud has exactly one infinite H0 bar (one
connected component never dies) and, with no threshold, no other infinite bar. It
carries no information, so infinite bars are **dropped** before comparison.

Triangle inequality: **holds** — bottleneck and p-Wasserstein are metrics on diagrams,
a sum of metrics is a metric, and the map cloud → diagram is per network
(deterministic landmark choice), so d is a pseudometric on recordings.

``max_dim=2`` adds H2 (voids, e.g. a sphere); Rips H2 grows like n⁴ in the worst case
and is only sensible for ≤ 300 points, i.e. with ``n_perm ≤ 300``.

Cost. ``prepare`` was ≈ 98 % ripser's greedy permutation, whose every step recomputed
the squared norms of all n points and checked the cloud for finite values; the
landmarks are now chosen by :func:`greedy_permutation` (ripser's arithmetic, the same
diagrams bit for bit, compared in the tests with ``_diagrams_ripser``) and ripser gets
their distance matrix. CPU per network, old/new (``tests/benchmarks/bench_loop_metrics.py``,
3 reference networks per suite, 2 cores at load ≈ 10): cddm (135 000 × 32) 2.9–3.5×,
memory3 (4800 × 32) 4.0–4.7×, oscillation (1320 × 32) 3.9×. What remains on cddm is
≈ 80 % one ``[n, units] @ [units]`` product per landmark, which streams the cloud from
memory each step. A pair is ≈ 90 % ``gudhi.bottleneck_distance``, ≈ 80 % of that on the
H0 diagrams (299 bars born at 0); gudhi's exact mode (``e=0``) and Hera's exact
bottleneck (``gudhi.hera``) were 6× and 8× slower there, and no cheaper call gives
gudhi's numbers, so the pair step is unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np

from simbench.metrics.base import Metric, Param, State

_MAX_FULL_H2 = 300


def normalise_cloud(X: np.ndarray) -> np.ndarray:
    """Centre the cloud and scale it to RMS radius 1 (raises on a single repeated point)."""
    Xc = X - X.mean(axis=0, keepdims=True)
    rms = float(np.sqrt(np.einsum("ij,ij->", Xc, Xc) / Xc.shape[0]))
    if not rms > 0.0:
        raise ValueError("ph: the point cloud has zero spread (all samples identical)")
    return Xc / rms


def greedy_permutation(X: np.ndarray, n_perm: int) -> tuple[np.ndarray, float, np.ndarray]:
    """ripser's greedy (farthest-point) permutation of a float64 cloud, bit for bit.

    The same landmarks, cover radius and landmark distance matrix as
    ``ripser.ripser(X, n_perm=n_perm)`` computes (``ripser.ripser.get_greedy_perm``, whose
    distances are scikit-learn's ``euclidean_distances``: ``sqrt(max(‖x‖² − 2 x·y + ‖y‖², 0))``,
    the same expressions in the same order here), without what that pays on every one
    of the ``n_perm`` steps: the squared norms of all n points recomputed, the input
    checked for finite values twice and converted. What remains per step is one
    ``[n, units] @ [units]`` product and a few passes over n distances. The rows are
    kept as float32, the precision ripser reads its distances at (``DRFDM`` takes
    float32), so the ``n_perm × n`` rows take half the memory of ripser's float64 ones.
    Returns ``(landmarks, cover_radius, dm)``, ``dm[i, j]`` the distance from landmark i
    to landmark j as computed in step i (ripser reads the triangle j > i).
    """
    n = X.shape[0]
    XX = np.einsum("ij,ij->i", X, X)[:, None]
    rows = np.empty((n_perm, n), dtype=np.float32)
    landmarks = np.zeros(n_perm, dtype=np.int64)

    def distances_from(i: int) -> np.ndarray:
        Y = X[i, :][None, :]
        d = -2 * (X @ Y.T)
        d += XX
        d += np.einsum("ij,ij->i", Y, Y)[None, :]
        np.maximum(d, 0, out=d)
        np.sqrt(d, out=d)
        d = d.ravel()
        d[i] = 0
        return d

    ds = distances_from(0)
    rows[0] = ds
    for k in range(1, n_perm):
        landmarks[k] = i = int(np.argmax(ds))
        row = distances_from(i)
        rows[k] = row
        np.minimum(ds, row, out=ds)
    return landmarks, float(np.max(ds)), rows[:, landmarks]


def diagrams(X: np.ndarray, max_dim: int = 1, n_perm: int | None = 300,
             seed_first: bool = True) -> tuple[list[np.ndarray], float, int]:
    """Finite persistence diagrams H0..H``max_dim`` of a normalised cloud with ripser.

    Returns ``(dgms, cover_radius, n_points_used)``. Infinite bars are dropped. With
    landmarks (``n_perm < n``) of a float64 cloud they are chosen by
    :func:`greedy_permutation` and ripser gets their distance matrix: the same result
    as :func:`_diagrams_ripser`, ripser choosing them (the tests compare both bit for
    bit), at a third to a quarter of the cost.
    """
    from ripser import ripser

    n = X.shape[0]
    if not (n_perm and n_perm < n and X.dtype == np.float64):
        return _diagrams_ripser(X, max_dim, n_perm)
    _, r_cover, dm = greedy_permutation(X, int(n_perm))
    return _finite(ripser(dm, maxdim=max_dim, distance_matrix=True)["dgms"]), r_cover, int(n_perm)


def _diagrams_ripser(X: np.ndarray, max_dim: int = 1, n_perm: int | None = 300
                     ) -> tuple[list[np.ndarray], float, int]:
    """:func:`diagrams` with ripser choosing the landmarks itself (``n_perm``): how
    :func:`diagrams` computed them before :func:`greedy_permutation`, and still does for
    a full cloud or one that is not float64."""
    from ripser import ripser

    n = X.shape[0]
    kwargs = {}
    if n_perm and n_perm < n:
        kwargs["n_perm"] = int(n_perm)
    with warnings.catch_warnings():  # X is always a point cloud, even when it happens to be square
        warnings.filterwarnings("ignore", message="The input matrix is square", category=UserWarning)
        res = ripser(X, maxdim=max_dim, **kwargs)
    used = int(kwargs.get("n_perm", n))
    return _finite(res["dgms"]), float(res.get("r_cover", 0.0)), used


def _finite(dgms) -> list[np.ndarray]:
    """ripser's diagrams as float64 ``[bars, 2]`` arrays without their infinite bars."""
    out = []
    for D in dgms:
        D = np.asarray(D, dtype=np.float64).reshape(-1, 2)
        out.append(np.ascontiguousarray(D[np.isfinite(D[:, 1])]))
    return out


def diagram_distance(D1: np.ndarray, D2: np.ndarray, distance: str = "bottleneck",
                     order: float = 2.0, internal_p: float = np.inf) -> float:
    """Bottleneck or order-p Wasserstein distance between two diagrams.

    The ground metric between points is L∞ (``internal_p``; bottleneck is always L∞),
    the standard choice in TDA, so a bar (b, d) is (d − b)/2 from the diagonal.
    """
    if len(D1) == 0 and len(D2) == 0:
        return 0.0
    if distance == "bottleneck":
        import gudhi

        return float(gudhi.bottleneck_distance(D1, D2))
    from gudhi.wasserstein import wasserstein_distance

    return float(wasserstein_distance(D1, D2, order=order, internal_p=internal_p))


def dimension_distances(A, B, distance: str = "bottleneck", order: float = 2.0) -> np.ndarray:
    """``[d(A_0, B_0), d(A_1, B_1), …]`` between two lists of diagrams ``[Dgm_0, Dgm_1, …]``
    (:func:`diagram_distance` per homology dimension)."""
    return np.array([diagram_distance(a, b, distance, order) for a, b in zip(A, B, strict=True)])


def diagrams_distance(A, B, distance: str = "bottleneck", order: float = 2.0, h0_weight: float = 1.0) -> float:
    """``h0_weight · d(A_0, B_0) + Σ_{k ≥ 1} d(A_k, B_k)`` (:func:`dimension_distances`)."""
    d = dimension_distances(A, B, distance, order)
    d[0] *= h0_weight
    return float(d.sum())


class PersistentHomology(Metric):
    """Vietoris–Rips persistence diagrams of the state cloud, compared per dimension."""

    id = "ph"
    kind = "topology"
    description = ("Persistent homology (Rips H0..Hk, ripser) of the normalised state cloud; "
                   "bottleneck/Wasserstein between diagrams (gudhi).")
    triangle_inequality = True
    invariances = ("translation", "rotation", "permutation", "scale")
    parameters = {
        "max_dim": Param(1, low=0, high=2,
                         doc="highest homology dimension (2 only for <= 300 points)"),
        "n_perm": Param(300, type=int, low=0, allow_none=True,
                        doc="greedy landmarks kept by ripser; 0 or none = full cloud"),
        "distance": Param("bottleneck", choices=("bottleneck", "wasserstein"),
                          doc="diagram distance per homology dimension"),
        "order": Param(2.0, low=1.0, doc="order p of the Wasserstein distance"),
        "h0_weight": Param(1.0, low=0.0, doc="weight of the H0 term (H1, H2 have weight 1)"),
    }

    def _configure(self) -> None:
        n_perm = self._params["n_perm"]
        if self._params["max_dim"] == 2 and n_perm not in (None, 0) and n_perm > _MAX_FULL_H2:
            raise ValueError(f"ph: max_dim=2 needs n_perm <= {_MAX_FULL_H2} (Rips H2 on more "
                             f"points is unaffordable); got n_perm={n_perm}")

    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        n_perm = self._params["n_perm"]
        if self._params["max_dim"] == 2 and not n_perm and X.shape[0] > _MAX_FULL_H2:
            raise ValueError(f"ph: {label} has {X.shape[0]} samples; max_dim=2 with the full "
                             f"cloud is only affordable for <= {_MAX_FULL_H2} points "
                             f"(set n_perm <= {_MAX_FULL_H2})")

    def _prepare(self, X: np.ndarray) -> dict:
        Xn = normalise_cloud(X)
        dgms, r_cover, used = diagrams(Xn, self._params["max_dim"], self._params["n_perm"])
        out: dict = {f"dgm{k}": D for k, D in enumerate(dgms)}
        out["cover_radius"] = r_cover
        out["n_points"] = used
        return out

    def _diagrams(self, state: State) -> list[np.ndarray]:
        return [state[f"dgm{k}"] for k in range(self._params["max_dim"] + 1)]

    def dimension_distances(self, a: State, b: State) -> np.ndarray:
        """The per-dimension distances d_0..d_max_dim (unweighted)."""
        return dimension_distances(self._diagrams(a), self._diagrams(b), self._params["distance"],
                                   self._params["order"])

    def _distance(self, a: State, b: State) -> float:
        return diagrams_distance(self._diagrams(a), self._diagrams(b), self._params["distance"],
                                 self._params["order"], self._params["h0_weight"])
