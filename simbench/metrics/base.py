"""The metric contract: parameters, per-network ``prepare`` and the per-pair ``distance``.

A metric compares two networks through matched recordings ``X`` and ``Y``: 2-D arrays
``[samples, units]`` whose rows are the *same* conditions and time points in both
networks (columns, the units, need not match and may differ in number). Work that
depends on one network only (centring, whitening, SVD, PCA, ...) happens once in
:meth:`Metric.prepare`; the per-pair step :meth:`Metric.distance` is kept as small as
the mathematics allows, so that all-pairs work over a population costs one ``prepare``
per network plus a cheap step per pair. :meth:`Metric.pairwise` (all pairs of one list)
and :meth:`Metric.cross` (every network of one list against every network of another)
may be overridden with vectorised versions (the CCA / shape family does).

Every result is checked by the base class, for built-ins and plugins alike:
:meth:`Metric.distance` and every ``pairwise`` and ``cross`` (overrides are wrapped when
the subclass is defined) raise a ValueError naming the metric and the pair for NaN, ±inf
or a value below 0 by more than rounding (:data:`NEGATIVE_TOLERANCE`); rounding residue
below 0 becomes 0. Recordings with NaN or inf are refused in ``prepare``, naming the
recording.

Writing a metric (built-in or plugin)::

    class MyMetric(Metric):
        id = "mine"
        kind = "geometry"
        description = "One line saying what it measures."
        triangle_inequality = False
        parameters = {"k": Param(10, low=1, doc="number of components")}

        def _prepare(self, X):            # X: validated float64 [samples, units]
            return {"Z": X - X.mean(0)}
        def _distance(self, a, b):        # a, b: State objects from _prepare
            return float(...)

and register the class in the entry-point group ``simbench.metrics``.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

KINDS = ("geometry", "dynamics", "topology")

_MISSING = object()


@dataclass(frozen=True)
class Param:
    """Declaration of one metric parameter.

    ``default`` also fixes the type (``int``, ``float``, ``bool`` or ``str``) unless
    ``type`` is given; ``choices`` restricts the value to a set; ``low`` / ``high`` are
    inclusive numeric bounds unless ``low_open`` / ``high_open``; ``allow_none`` admits
    ``None`` (then ``type`` must be given when the default is ``None``); ``named=False``
    leaves the parameter out of :attr:`Metric.name` while it has its default value (for a
    parameter added after names were published, so that existing names, leaderboard
    keys and cache keys still denote the same computation).
    """

    default: Any
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_none: bool = False
    type: type | None = None
    doc: str = ""
    named: bool = True

    @property
    def value_type(self) -> type:
        if self.type is not None:
            return self.type
        if self.default is None:
            raise TypeError("Param with default None needs an explicit type")
        return type(self.default)

    def describe(self) -> str:
        """Human-readable description of the valid values."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            tname = self.value_type.__name__
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            if self.low is not None or self.high is not None:
                lo_v = "-inf" if self.low is None else repr(self.low)
                hi_v = "inf" if self.high is None else repr(self.high)
                text = f"{'an' if tname == 'int' else 'a'} {tname} in {lo}{lo_v}, {hi_v}{hi}"
            else:
                text = f"{'an' if tname == 'int' else 'a'} {tname}"
        if self.allow_none:
            text += " or None"
        return text

    def validate(self, metric_id: str, name: str, value: Any) -> Any:
        """Return the value converted to the declared type, or raise ValueError."""
        def bad() -> ValueError:
            return ValueError(f"{metric_id}: parameter {name!r} must be {self.describe()}; "
                              f"got {value!r}")

        if value is None:
            if self.allow_none:
                return None
            raise bad()
        vtype = self.value_type
        if vtype is bool:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise bad()
        if vtype is int:
            if isinstance(value, (bool, np.bool_)):
                raise bad()
            if isinstance(value, (int, np.integer)):
                value = int(value)
            elif isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            else:
                raise bad()
        elif vtype is float:
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                    value, (int, float, np.integer, np.floating)):
                raise bad()
            value = float(value)
            if not math.isfinite(value):
                raise bad()
        elif vtype is str:
            if not isinstance(value, str):
                raise bad()
        if self.choices is not None and value not in self.choices:
            raise bad()
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise bad()
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise bad()
        return value


@dataclass(frozen=True, eq=False)
class State:
    """What :meth:`Metric.prepare` returns for one network.

    ``metric`` is the canonical name of the metric configuration that made it (a state
    is only valid for that configuration), ``n_samples`` the number of rows of the
    recording, ``arrays`` the prepared numpy arrays and ``info`` small scalars. States
    hold only arrays and plain values, so they can be cached by content hash.
    """

    metric: str
    n_samples: int
    arrays: Mapping[str, np.ndarray]
    info: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key in self.arrays:
            return self.arrays[key]
        return self.info[key]


def format_value(value: Any) -> str:
    """Format a parameter value the way :func:`simbench.metrics.registry.parse_value` reads it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def as_matrix(X: Any, label: str = "X", metric_id: str = "metric") -> np.ndarray:
    """Validate a recording and return it as a C-contiguous float64 ``[samples, units]`` array."""
    if hasattr(X, "detach"):  # torch tensor
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ValueError(f"{metric_id}: {label} could not be converted to an array: {exc}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{metric_id}: {label} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{metric_id}: {label} must be real, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{metric_id}: {label} must be a 2-D array [samples, units], "
                         f"got shape {arr.shape}")
    n, d = arr.shape
    if d < 1:
        raise ValueError(f"{metric_id}: {label} has no units (shape {arr.shape})")
    if n < 2:
        raise ValueError(f"{metric_id}: {label} has {n} sample(s); at least 2 are needed")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{metric_id}: {label} contains NaN or inf ({bad} of {arr.size} entries)")
    return arr


#: Rounding tolerance for negative distances. A distance d < 0 with
#: |d| ≤ NEGATIVE_TOLERANCE · max(1, scale), where scale is the largest |distance| of the
#: matrix being checked (so 1e-9 in absolute terms for distances of order one: angles,
#: 1 − correlations), is rounding residue (e.g. 1 − r with r = 1 + 2⁻⁵²) and becomes 0;
#: anything more negative is a defect of the metric and raises ValueError.
NEGATIVE_TOLERANCE = 1e-9


def check_distances(D: np.ndarray, metric: str, pair: Callable[[int, int], str]) -> np.ndarray:
    """Return the distance matrix ``D`` with rounding residue below 0 set to 0.

    Raises ValueError naming ``metric`` and the first offending pair (``pair(i, j)``
    describes it) if an entry is NaN or ±inf, or below 0 by more than the rounding
    tolerance :data:`NEGATIVE_TOLERANCE`.
    """
    D = np.array(D, dtype=float)
    bad = ~np.isfinite(D)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        count = f" ({int(bad.sum())} of {D.size} entries are not finite)" if D.size > 1 else ""
        raise ValueError(f"{metric}: the distance between {pair(i, j)} is {float(D[i, j])}{count}")
    scale = max(1.0, float(np.abs(D).max(initial=0.0)))
    tol = NEGATIVE_TOLERANCE * scale
    if (D < -tol).any():
        i, j = np.argwhere(D < -tol)[0]
        raise ValueError(f"{metric}: the distance between {pair(i, j)} is {float(D[i, j]):.6g} < 0, "
                         f"beyond rounding (tolerance {tol:.1e}); a distance must be >= 0")
    D[D < 0] = 0.0
    return D


def _network_label(i: int, side: str = "") -> str:
    """``network i``, or ``network i of a`` for the list ``side`` of :meth:`Metric.cross`."""
    return f"network {i} of {side}" if side else f"network {i}"


def _item_label(items: Sequence, i: int, side: str = "") -> str:
    """``network i`` (``of side``), with the network's id when its state records one."""
    name = items[i].info.get("network") if isinstance(items[i], State) else None
    label = _network_label(i, side)
    return f"{label} ({name})" if name else label


def _checked_pairwise(method: Callable) -> Callable:
    """Decorate a ``pairwise`` method: its result goes through :func:`check_distances`."""
    @functools.wraps(method)
    def pairwise(self: Metric, items, *args, **kwargs) -> np.ndarray:
        D = method(self, items, *args, **kwargs)
        n = len(items)
        if np.shape(D) != (n, n):
            raise ValueError(f"{self.name}: pairwise returned shape {np.shape(D)} for {n} "
                             f"networks; expected ({n}, {n})")
        return check_distances(D, self.name, lambda i, j: f"{_item_label(items, i)} and "
                                                          f"{_item_label(items, j)}")
    pairwise.checks_distances = True
    return pairwise


def loop_pairs(distance: Callable, states: Sequence) -> np.ndarray:
    """``[n, n]`` matrix of ``distance(states[i], states[j])`` over the pairs i < j, by a
    Python loop (symmetric, zero diagonal; identical inputs score 0 without a call)."""
    n = len(states)
    D = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            if not _same_input(states[i], states[j]):
                D[i, j] = D[j, i] = float(distance(states[i], states[j]))
    return D


def loop_cross(distance: Callable, states_a: Sequence, states_b: Sequence) -> np.ndarray:
    """``[len(a), len(b)]`` matrix of ``distance(a_i, b_j)`` by a Python loop (identical
    inputs score 0 without a call)."""
    D = np.zeros((len(states_a), len(states_b)))
    for i, a in enumerate(states_a):
        for j, b in enumerate(states_b):
            if not _same_input(a, b):
                D[i, j] = float(distance(a, b))
    return D


def _checked_cross(method: Callable) -> Callable:
    """Decorate a ``cross`` method: its result goes through :func:`check_distances`."""
    @functools.wraps(method)
    def cross(self: Metric, items_a, items_b, *args, **kwargs) -> np.ndarray:
        D = method(self, items_a, items_b, *args, **kwargs)
        n, m = len(items_a), len(items_b)
        if np.shape(D) != (n, m):
            raise ValueError(f"{self.name}: cross returned shape {np.shape(D)} for {n} and {m} "
                             f"networks; expected ({n}, {m})")
        return check_distances(D, self.name, lambda i, j: f"{_item_label(items_a, i, 'a')} and "
                                                          f"{_item_label(items_b, j, 'b')}")
    cross.checks_distances = True
    return cross


#: the methods whose results :meth:`Metric.__init_subclass__` has checked, and how
_CHECKED = {"pairwise": _checked_pairwise, "cross": _checked_cross}


class Metric:
    """Base class of all similarity metrics (a distance between two networks).

    Class attributes
    ----------------
    id : str
        Short identifier used by the registry (``"cca"``, ``"shape"``, ...).
    kind : str
        One of ``"geometry"``, ``"dynamics"``, ``"topology"``.
    description : str
        One line.
    triangle_inequality : bool
        Whether the distance satisfies the triangle inequality (for the default
        parameters; an instance whose parameters change this sets its own attribute).
    parameters : dict[str, Param]
        The keyword parameters the constructor accepts, with defaults and valid values.
    invariances : tuple[str, ...]
        Transformations of the units that leave the distance unchanged (for the default
        parameters), from ``"translation"``, ``"rotation"``, ``"permutation"``,
        ``"scale"``, ``"linear"``; checked by :mod:`simbench.metrics.conformance`. An
        instance whose parameters change them sets its own attribute in ``_configure``.
    version : int
        Version of the computation behind ``prepare``; bump it whenever a change to the
        code would change a prepared state, so cached states made by older code are
        never reused (the cache key holds the metric's name and this version).

    Contract: ``distance`` is ≥ 0, 0 for identical inputs and symmetric (finiteness and
    sign are checked here, see :func:`check_distances`).
    """

    id: ClassVar[str] = ""
    kind: ClassVar[str] = "geometry"
    description: ClassVar[str] = ""
    triangle_inequality: bool = False
    parameters: ClassVar[dict[str, Param]] = {}
    invariances: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            valid = ", ".join(sorted(self.parameters)) or "(none)"
            raise ValueError(f"{self.id}: unknown parameter {unknown[0]!r}; "
                             f"valid parameters: {valid}")
        values = {}
        for name, spec in self.parameters.items():
            value = params.get(name, spec.default)
            values[name] = spec.validate(self.id, name, value)
        self._params = values
        self._configure()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap a subclass's own ``pairwise`` and ``cross`` so that their matrices are
        checked like a :meth:`distance` (finite, ≥ 0 up to rounding; see
        :func:`check_distances`): vectorised overrides and plugins get the contract
        without calling anything."""
        super().__init_subclass__(**kwargs)
        for name, checked in _CHECKED.items():
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "checks_distances", False):
                setattr(cls, name, checked(method))

    # -- parameters -------------------------------------------------------------------
    def _configure(self) -> None:
        """Hook: cross-parameter checks and derived attributes (after validation)."""

    @property
    def params(self) -> dict[str, Any]:
        """The parameter values of this instance (a copy)."""
        return dict(self._params)

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    @property
    def name(self) -> str:
        """Canonical label ``id:key=value,...`` with all parameters, sorted by key
        (except those declared ``named=False`` while at their default)."""
        shown = {k: v for k, v in self._params.items()
                 if self.parameters[k].named or v != self.parameters[k].default}
        if not shown:
            return self.id
        body = ",".join(f"{k}={format_value(v)}" for k, v in sorted(shown.items()))
        return f"{self.id}:{body}"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self._params.items()))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Metric) and type(other) is type(self) and other.name == self.name

    def __hash__(self) -> int:
        return hash((type(self), self.name))

    # -- the contract -----------------------------------------------------------------
    def prepare(self, X: Any, *, label: str = "X") -> State:
        """Validate one recording ``[samples, units]`` and do the per-network work once.

        ``label`` names the recording in error messages. The state records a cheap
        fingerprint of the input; two states with equal fingerprints and equal arrays
        are at distance exactly 0 (no rounding residue from arccos or sqrt).
        """
        arr = as_matrix(X, label=label, metric_id=self.id)
        self._check_matrix(arr, label)
        out = self._prepare(arr)
        self._check_prepared(out, arr.shape[0], label)
        arrays = {k: v for k, v in out.items() if isinstance(v, np.ndarray)}
        info = {k: v for k, v in out.items() if not isinstance(v, np.ndarray)}
        info["fingerprint"] = _fingerprint(arr)
        return State(metric=self.name, n_samples=arr.shape[0], arrays=arrays, info=info)

    def distance(self, state_a: State | Any, state_b: State | Any, *,
                 labels: tuple[str, str] = ("X", "Y")) -> float:
        """Distance between two prepared networks (arrays are prepared on the fly).

        ``labels`` name the two networks in error messages. A non-finite value, or one
        below 0 by more than rounding (:data:`NEGATIVE_TOLERANCE`), raises ValueError
        naming the metric and the pair; rounding residue below 0 is returned as 0.
        """
        la, lb = labels
        a = self._ensure_state(state_a, la)
        b = self._ensure_state(state_b, lb)
        self._check_pair(a, b, la, lb)
        if _same_input(a, b):
            return 0.0
        d = np.array([[float(self._distance(a, b))]])
        return float(check_distances(d, self.name, lambda i, j: f"{la} and {lb}")[0, 0])

    @_checked_pairwise
    def pairwise(self, items: Sequence[State | Any]) -> np.ndarray:
        """All-pairs distance matrix ``[n, n]`` (symmetric, zero diagonal).

        ``items`` are recordings or states prepared by this metric; recordings are
        prepared once each. The default implementation loops over pairs. Every
        ``pairwise`` (this one and any subclass override, see :meth:`__init_subclass__`)
        has its result checked as :meth:`distance` checks one value.
        """
        return loop_pairs(self._distance, self._states(items))

    @_checked_cross
    def cross(self, items_a: Sequence[State | Any], items_b: Sequence[State | Any]) -> np.ndarray:
        """Distances ``[len(items_a), len(items_b)]`` of every network of ``items_a`` to
        every network of ``items_b``: the off-diagonal block of ``pairwise(items_a +
        items_b)`` without its two diagonal blocks.

        ``items_*`` are recordings or states prepared by this metric, as for
        :meth:`pairwise`; errors name ``network i of a`` and ``network j of b``. The
        default loops over pairs; every ``cross`` (this one and any subclass override)
        has its result checked as :meth:`distance` checks one value.
        """
        states_a, states_b = self._states_of_both(items_a, items_b)
        return loop_cross(self._distance, states_a, states_b)

    def __call__(self, X: Any, Y: Any) -> float:
        return self.distance(self.prepare(X, label="X"), self.prepare(Y, label="Y"))

    # -- for subclasses ----------------------------------------------------------------
    def _check_matrix(self, X: np.ndarray, label: str) -> None:
        """Hook: metric-specific input checks (e.g. samples > units)."""

    def _prepare(self, X: np.ndarray) -> Mapping[str, Any]:
        """Per-network work on a validated float64 ``[samples, units]`` array.

        Returns a dict: numpy arrays become ``State.arrays``, other values ``State.info``.
        """
        raise NotImplementedError

    def _distance(self, a: State, b: State) -> float:
        raise NotImplementedError

    def _check_prepared(self, out: Mapping[str, Any], n_samples: int, label: str) -> None:
        """Hook: checks that need the prepared values (e.g. a rank against the samples)."""

    def _require_samples(self, n_samples: int, count: int, label: str, what: str, why: str,
                         ratio: int = 1) -> None:
        """Refuse ``label`` unless ``n_samples > ratio · count`` (count of ``what``)."""
        if n_samples <= ratio * count:
            need = f"more than {ratio} × {count}" if ratio != 1 else f"more than {count}"
            raise ValueError(f"{self.id}: {label} has {n_samples} samples and {count} {what}; "
                             f"{self.id} needs {need} samples ({why})")

    # -- helpers -----------------------------------------------------------------------
    def _ensure_state(self, item: State | Any, label: str) -> State:
        if isinstance(item, State):
            if item.metric != self.name:
                raise ValueError(f"{label} was prepared by metric {item.metric!r}, "
                                 f"not by {self.name!r}")
            return item
        return self.prepare(item, label=label)

    @staticmethod
    def _zero_identical(D: np.ndarray, states: Sequence[State]) -> np.ndarray:
        """Set exactly 0 the entries of pairs whose states are identical."""
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(states):
            groups.setdefault(s.info.get("fingerprint", f"#{i}"), []).append(i)
        for idx in groups.values():
            for p, i in enumerate(idx):
                for j in idx[p + 1:]:
                    if _same_input(states[i], states[j]):
                        D[i, j] = D[j, i] = 0.0
        np.fill_diagonal(D, 0.0)
        return D

    @staticmethod
    def _zero_identical_cross(D: np.ndarray, states_a: Sequence[State],
                              states_b: Sequence[State]) -> np.ndarray:
        """Set exactly 0 the entries ``D[i, j]`` whose states ``a[i]``, ``b[j]`` are identical."""
        groups: dict[Any, list[int]] = {}
        for j, s in enumerate(states_b):
            groups.setdefault(s.info.get("fingerprint") or id(s), []).append(j)
        for i, s in enumerate(states_a):
            for j in groups.get(s.info.get("fingerprint") or id(s), ()):
                if _same_input(s, states_b[j]):
                    D[i, j] = 0.0
        return D

    @staticmethod
    def _check_pair(a: State, b: State, la: str, lb: str) -> None:
        if a.n_samples != b.n_samples:
            raise ValueError(f"{la} has {a.n_samples} samples, {lb} has {b.n_samples}: "
                             "rows must be matched samples")

    def _prepare_items(self, items: list, labels: list[str]) -> list[State]:
        """States of ``items`` (recordings prepared one by one; states checked)."""
        return [self._ensure_state(x, label) for x, label in zip(items, labels)]

    def _states(self, items: Sequence[State | Any], side: str = "") -> list[State]:
        """Prepared states of ``items``, all with matched samples (see :meth:`_check_pair`)."""
        if isinstance(items, np.ndarray) and items.ndim == 3:
            items = list(items)
        labels = [_network_label(i, side) for i in range(len(items))]
        states = self._prepare_items(list(items), labels)
        self._check_all(states, labels)
        return states

    def _states_of_both(self, items_a: Sequence[State | Any],
                        items_b: Sequence[State | Any]) -> tuple[list[State], list[State]]:
        """The states of both lists of :meth:`cross`, prepared in one call (so a metric
        that analyses networks together does so once) and all matched to the first."""
        items_a, items_b = (list(x) for x in (items_a, items_b))
        labels = [_network_label(i, "a") for i in range(len(items_a))] + \
                 [_network_label(j, "b") for j in range(len(items_b))]
        states = self._prepare_items(items_a + items_b, labels)
        self._check_all(states, labels)
        return states[:len(items_a)], states[len(items_a):]

    def _check_all(self, states: Sequence[State], labels: Sequence[str]) -> None:
        for i in range(1, len(states)):
            self._check_pair(states[0], states[i], labels[0], labels[i])


def _fingerprint(arr: np.ndarray) -> str:
    """Cheap summary of a recording: shape, sum, sum of squares, hash of the first row.

    Far cheaper than hashing the whole array; only used to find candidate identical
    pairs, which are then confirmed by comparing the prepared arrays.
    """
    row = hashlib.sha1(arr[0].tobytes()).hexdigest()[:16]
    return f"{arr.shape[0]}x{arr.shape[1]}:{float(arr.sum())!r}:" \
           f"{float(np.einsum('ij,ij->', arr, arr))!r}:{row}"


def _same_input(a: State, b: State) -> bool:
    """True for the same state, or equal fingerprints and identical prepared arrays.

    Equal states are at distance 0 for any metric (a distance of a state to itself),
    so this is exact, never a guess.
    """
    if a is b:
        return True
    fa, fb = a.info.get("fingerprint"), b.info.get("fingerprint")
    if fa is None or fa != fb or a.arrays.keys() != b.arrays.keys():
        return False
    return all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
