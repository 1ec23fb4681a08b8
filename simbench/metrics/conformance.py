"""Conformance suite for simbench metrics: the checks every metric (built-in or plugin) passes.

Call it from a plugin's own tests::

    from simbench.metrics.conformance import check_metric

    def test_my_metric_conforms():
        check_metric(MyMetric(), rng_seed=0)       # raises ConformanceError on failure

or run single checks (``check_self_distance``, ``check_symmetry``,
``check_non_negative``, ``check_separates``, ``check_pairwise``, ``check_invariances``,
``check_bad_input``) on recordings of your own. :func:`conformance_data` makes the
default recordings: trajectories of small random nonlinear recurrent systems
(``n_conditions`` conditions × ``n_time`` steps, condition-major, so metrics that need
trajectories — DSA — get them), two different networks X, Y (widths 6 and 7) and a
third Z, all with more samples than units.

What is checked (``check_metric`` runs all and reports every failure at once):

* **self-distance**: ``distance(X, X) == 0`` and, bypassing the base class's shortcut
  for identical inputs, ``_distance(prepare(X), prepare(X)) ≈ 0`` (|d| ≤ ``zero_atol``);
* **symmetry**: ``|d(X, Y) − d(Y, X)| ≤ atol``;
* **non-negativity** and finiteness of d(X, Y), d(X, Z), d(Y, Z);
* **separation**: d(X, Y) > ``atol`` (a constant metric is useless);
* **pairwise**: ``pairwise([X, Y, Z])`` is finite, ≥ 0, symmetric with zero diagonal and matches
  ``distance`` (≤ ``atol``);
* **declared invariances**: for each name in ``metric.invariances`` (a class attribute,
  see :data:`INVARIANCES`), a transformed copy X' of X gives d(X, X') ≤ ``zero_atol``
  and |d(X', Y) − d(X, Y)| ≤ ``inv_atol``;
* **bad input**: a recording with NaN, one with inf, and a pair with unequal sample
  counts each raise ``ValueError``.

Tolerances: ``atol`` (default 1e-8) for symmetry, separation and pairwise;
``zero_atol`` (default 1e-6) for values that should be 0 — angular distances
arccos(1 − ε) lose half the digits, ≈ 2e-8 at ε = machine epsilon; ``inv_atol``
(default: ``zero_atol``) for |d(X', Y) − d(X, Y)|. Metrics solved by a non-convex
optimiser (DSA's angular score) pass looser ones (its optimiser tolerance) and should
say so in their docstring.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simbench.metrics.base import Metric

#: The invariance names a metric may declare in its ``invariances`` class attribute, and
#: the transformation of the units each one stands for.
INVARIANCES = {
    "translation": "X + b (the same offset b added to every sample)",
    "rotation": "X Q with Q a random orthogonal matrix (rotations and reflections)",
    "permutation": "X[:, π] for a random permutation π of the units",
    "scale": "c·X for a scalar c > 0 (isotropic scaling)",
    "linear": "X M for a random invertible M (condition number 10)",
}


class ConformanceError(AssertionError):
    """Raised by :func:`check_metric` with the list of failed checks."""

    def __init__(self, metric: str, failures: list[str]):
        self.failures = failures
        super().__init__(f"{metric} fails {len(failures)} conformance check(s):\n  - "
                         + "\n  - ".join(failures))


@dataclass
class ConformanceReport:
    """What :func:`check_metric` measured (returned when every check passes)."""

    metric: str
    distances: dict[str, float] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- data ---
def _orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    return Q * np.sign(np.diag(R))[None, :]


def trajectories(rng: np.random.Generator, n_units: int, n_conditions: int = 4,
                 n_time: int = 40, latent: int = 3, noise: float = 0.02) -> np.ndarray:
    """Trajectories ``[n_conditions · n_time, n_units]`` of a random nonlinear system.

    A ``latent``-dimensional tanh recurrence with rotational and decaying modes, driven
    from a different initial state per condition, read out through a random
    ``latent → n_units`` map, plus noise, plus an offset.
    """
    W = 1.1 * _orthogonal(rng, latent) @ np.diag(np.linspace(0.9, 1.0, latent))
    read = rng.standard_normal((latent, n_units))
    out = []
    for _ in range(n_conditions):
        z = rng.standard_normal(latent)
        steps = []
        for _ in range(n_time):
            steps.append(z)
            z = np.tanh(W @ z)
        out.append(np.array(steps))
    Z = np.concatenate(out)
    return Z @ read + noise * rng.standard_normal((len(Z), n_units)) + 0.5


def conformance_data(rng_seed: int = 0, n_conditions: int = 4, n_time: int = 40
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The default recordings X (6 units), Y (7 units), Z (6 units), matched samples."""
    rng = np.random.default_rng(rng_seed)
    X = trajectories(rng, 6, n_conditions, n_time)
    Y = trajectories(rng, 7, n_conditions, n_time)
    Z = trajectories(rng, 6, n_conditions, n_time, latent=2)
    return X, Y, Z


def transform(name: str, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply the invariance ``name`` (see :data:`INVARIANCES`) to a recording."""
    d = X.shape[1]
    if name == "translation":
        return X + 3.0 * rng.standard_normal(d)[None, :]
    if name == "rotation":
        return X @ _orthogonal(rng, d)
    if name == "permutation":
        perm = rng.permutation(d)
        while d > 1 and np.array_equal(perm, np.arange(d)):
            perm = rng.permutation(d)
        return X[:, perm]
    if name == "scale":
        return 3.7 * X
    if name == "linear":
        U, V = _orthogonal(rng, d), _orthogonal(rng, d)
        return X @ (U @ np.diag(np.geomspace(1.0, 10.0, d)) @ V.T)
    raise ValueError(f"unknown invariance {name!r}; known: {', '.join(INVARIANCES)}")


# ------------------------------------------------------------------------- checks ---
def check_self_distance(metric: Metric, X: Any, atol: float = 1e-6) -> None:
    d = metric(X, X)
    assert d == 0.0, f"self-distance: d(X, X) = {d!r}, expected exactly 0"
    Xc = X.copy() if isinstance(X, np.ndarray) else copy.deepcopy(X)
    d = metric(X, Xc)
    assert d == 0.0, f"self-distance: d(X, copy of X) = {d!r}, expected exactly 0"
    a, b = metric.prepare(X), metric.prepare(Xc)
    raw = float(metric._distance(a, b))
    assert np.isfinite(raw) and abs(raw) <= atol, (
        f"self-distance: _distance of two states of the same recording = {raw!r} "
        f"(> atol={atol}); the base class hides this for identical inputs, but the "
        "metric's own formula should give 0")


def check_symmetry(metric: Metric, X: np.ndarray, Y: np.ndarray, atol: float = 1e-8) -> None:
    dxy, dyx = metric(X, Y), metric(Y, X)
    assert abs(dxy - dyx) <= atol, f"symmetry: d(X, Y) = {dxy!r} but d(Y, X) = {dyx!r} (atol={atol})"


def check_non_negative(metric: Metric, *recordings: np.ndarray) -> dict[str, float]:
    out = {}
    names = "XYZW"
    for i in range(len(recordings)):
        for j in range(i + 1, len(recordings)):
            d = metric(recordings[i], recordings[j])
            key = f"d({names[i]},{names[j]})"
            assert isinstance(d, float), f"non-negativity: {key} is a {type(d).__name__}, not a float"
            assert np.isfinite(d) and d >= 0.0, f"non-negativity: {key} = {d!r}"
            out[key] = d
    return out


def check_separates(metric: Metric, X: np.ndarray, Y: np.ndarray, atol: float = 1e-8) -> None:
    d = metric(X, Y)
    assert d > atol, f"separation: d(X, Y) = {d!r} for two different networks (<= atol={atol})"


def check_pairwise(metric: Metric, X: np.ndarray, Y: np.ndarray, Z: np.ndarray,
                   atol: float = 1e-8) -> None:
    D = np.asarray(metric.pairwise([X, Y, Z]))
    assert D.shape == (3, 3), f"pairwise: shape {D.shape}, expected (3, 3)"
    assert np.all(np.diag(D) == 0.0), f"pairwise: nonzero diagonal {np.diag(D)}"
    assert np.all(np.isfinite(D)) and np.all(D >= 0.0), f"pairwise: negative or non-finite entries\n{D}"
    assert np.allclose(D, D.T, rtol=0, atol=atol), "pairwise: not symmetric"
    states = [metric.prepare(A) for A in (X, Y, Z)]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        d = metric.distance(states[i], states[j])
        assert abs(D[i, j] - d) <= atol, (
            f"pairwise: D[{i},{j}] = {D[i, j]!r} but distance() = {d!r} (atol={atol})")


def check_invariances(metric: Metric, X: np.ndarray, Y: np.ndarray,
                      invariances: Iterable[str] | None = None, zero_atol: float = 1e-6,
                      inv_atol: float | None = None, rng_seed: int = 0) -> dict[str, float]:
    """Check each declared invariance; returns d(X, X') per invariance."""
    names = tuple(getattr(metric, "invariances", ()) if invariances is None else invariances)
    unknown = [n for n in names if n not in INVARIANCES]
    assert not unknown, f"invariances: unknown name(s) {unknown}; known: {', '.join(INVARIANCES)}"
    inv_atol = zero_atol if inv_atol is None else inv_atol
    rng = np.random.default_rng(rng_seed + 101)
    dxy = metric(X, Y)
    failures, out = [], {}
    for name in names:
        Xt = transform(name, X, rng)
        d0 = metric(X, Xt)
        d1 = metric(Xt, Y)
        out[name] = d0
        if not abs(d0) <= zero_atol:
            failures.append(f"invariance {name!r}: d(X, T(X)) = {d0!r} > {zero_atol}")
        if not abs(d1 - dxy) <= inv_atol:
            failures.append(f"invariance {name!r}: d(T(X), Y) = {d1!r} but d(X, Y) = {dxy!r}")
    assert not failures, "; ".join(failures)
    return out


def check_bad_input(metric: Metric, X: np.ndarray, Y: np.ndarray) -> None:
    def raises(fn: Callable[[], Any], what: str) -> None:
        try:
            fn()
        except ValueError:
            return
        except Exception as exc:  # noqa: BLE001 - report the wrong type
            raise AssertionError(f"bad input: {what} raised {type(exc).__name__}: {exc}, "
                                 "expected ValueError") from exc
        raise AssertionError(f"bad input: {what} raised no error")

    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[len(X) // 2, 0] = bad
        raises(lambda Xb=Xb: metric(Xb, Y), f"a recording containing {bad}")
        raises(lambda Xb=Xb: metric.prepare(Xb), f"prepare of a recording containing {bad}")
    raises(lambda: metric(X, Y[:-1]), "recordings with unequal sample counts")


# -------------------------------------------------------------------------- suite ---
def check_metric(metric: Metric, rng_seed: int = 0, *, data: tuple | None = None,
                 invariances: Iterable[str] | None = None, atol: float = 1e-8,
                 zero_atol: float = 1e-6, inv_atol: float | None = None) -> ConformanceReport:
    """Run every conformance check; raise :class:`ConformanceError` listing all failures.

    ``data``: recordings ``(X, Y, Z)`` to use instead of :func:`conformance_data`
    (matched samples; X and Y different networks). A metric that declares
    ``input = "network"`` (the fixed-point metrics) needs ``data`` with three such
    inputs; with non-array inputs the invariance and bad-input checks are skipped
    (listed in ``report.skipped``). ``invariances``: overrides the
    metric's declared ``invariances`` (e.g. for a non-default parameter setting).
    Returns a :class:`ConformanceReport` with the distances measured.
    """
    if data is None and getattr(metric, "input", "recording") != "recording":
        raise ValueError(f"{getattr(metric, 'name', metric)} takes input={metric.input!r}, not "
                         "recordings: pass data=(X, Y, Z) with three such inputs")
    X, Y, Z = conformance_data(rng_seed) if data is None else data
    arrays = all(isinstance(A, np.ndarray) for A in (X, Y, Z))
    report = ConformanceReport(metric=getattr(metric, "name", repr(metric)))
    failures: list[str] = []

    def run(label: str, fn: Callable[[], Any]) -> None:
        try:
            res = fn()
        except AssertionError as exc:
            failures.append(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a crash is a failure too
            failures.append(f"{label}: crashed with {type(exc).__name__}: {exc}")
            return
        report.checks.append(label)
        if isinstance(res, dict):
            report.distances.update({f"{label}:{k}": v for k, v in res.items()})

    run("self-distance", lambda: check_self_distance(metric, X, zero_atol))
    run("symmetry", lambda: check_symmetry(metric, X, Y, atol))
    run("non-negativity", lambda: check_non_negative(metric, X, Y, Z))
    run("separation", lambda: check_separates(metric, X, Y, atol))
    run("pairwise", lambda: check_pairwise(metric, X, Y, Z, atol))
    if arrays:
        run("invariances", lambda: check_invariances(metric, X, Y, invariances, zero_atol,
                                                     inv_atol, rng_seed))
        run("bad-input", lambda: check_bad_input(metric, X, Y))
    else:  # networks or other objects: the unit transforms and NaN checks need arrays
        report.skipped += ["invariances", "bad-input"]
    if failures:
        raise ConformanceError(report.metric, failures)
    return report
