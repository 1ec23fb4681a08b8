"""``Metric.cross``: every network of one list against every network of another.

For every built-in metric, ``cross(a, b)`` is the off-diagonal block of
``pairwise(a + b)`` (the vectorised CCA / shape family, the analysed metrics' stacked
or ``cdist`` blocks and the default loop alike), identical inputs across the two lists
score exactly 0, and its result is checked like ``distance`` and ``pairwise``: NaN, inf
and negative distances are refused naming the metric and the pair, overrides included.
The dynamics metrics (``input = "network"``) are checked on analysed systems in
``tests/dynamics/test_dynamics_metrics.py``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from simbench.metrics import Metric, State, available_metrics, get_metric
from simbench.metrics.analysed_base import fingerprint
from simbench.metrics.conformance import conformance_data, transform
from metric_helpers import SMALL

#: DSA's optimiser solves pairs in canonical order and in batches (of other pairs in
#: pairwise and in cross): equal to rounding
ATOL = {"dsa": 1e-9}

_RECORDS = {r.id: r for r in available_metrics() if r.error is None and r.source.startswith("simbench.metrics.")}
BUILTIN = sorted(_RECORDS)


def _recordings():
    """``a`` and ``b``: three recordings each of 4 conditions × 40 steps; b[1] equals a[1]."""
    X, Y, Z = conformance_data(0)
    rng = np.random.default_rng(1)
    W = conformance_data(3)[2]
    return [X, Y, Z], [transform("rotation", X, rng), Y.copy(), np.concatenate([W, W[:, :3]], axis=1)]


def _model_states(metric: Metric):
    """Prepared states of a model metric built from random analysis arrays (no network
    is run; 50 samples: 2 × 5 × 5 map cells, or 50 latent time points): ``a`` and ``b``
    of three each, b[1] an equal copy of a[1]."""
    rng = np.random.default_rng(2)
    if metric.id == "ood":
        make = lambda: {"choice": rng.random((2, 5, 5)), "levels": np.linspace(-4, 4, 5)}  # noqa: E731
    else:
        make = lambda: {"w_rec": rng.normal(size=(4, 4)), "activity": rng.normal(size=(50, 4))}  # noqa: E731
    arrays = [make() for _ in range(5)]

    def state(k, copy=False):
        a = {key: v.copy() for key, v in arrays[k].items()} if copy else arrays[k]
        return State(metric.name, 50, a, {"fingerprint": fingerprint(b"50", a), "network": f"net-{k}"})

    return [state(0), state(1), state(2)], [state(3), state(1, copy=True), state(4)]


@pytest.mark.parametrize("mid", BUILTIN)
def test_cross_is_the_off_diagonal_block_of_pairwise(mid):
    kind = getattr(_RECORDS[mid].cls, "input", "recording")
    metric = get_metric(SMALL.get(mid, mid))
    if kind == "network":
        pytest.skip("dynamics metrics: tests/dynamics/test_dynamics_metrics.py::test_cross_is_the_block_of_pairwise")
    a, b = _model_states(metric) if kind == "model" else _recordings()
    C = metric.cross(a, b)
    assert C.shape == (3, 3)
    np.testing.assert_allclose(C, metric.pairwise(a + b)[:3, 3:], rtol=0, atol=ATOL.get(mid, 1e-10))
    assert C[1, 1] == 0.0 and (C >= 0).all()
    # the other way round: the transpose (to the rounding of arccos near 1 for angular
    # distances of a rotated copy, ~1e-8, where the products are summed in another order)
    np.testing.assert_allclose(metric.cross(b, a), C.T, rtol=0, atol=1e-6)


def test_the_tested_metrics_cover_the_brief():
    assert {"cca", "shape", "procrustes", "cka", "rsa", "ood", "latent-circuit", "dsa"} <= set(BUILTIN)


def test_cross_accepts_states_and_recordings_mixed_and_empty_lists():
    metric = get_metric("procrustes")
    a, b = _recordings()
    states = [metric.prepare(x) for x in a]
    np.testing.assert_allclose(metric.cross(states, b), metric.cross(a, b), rtol=0, atol=1e-12)
    assert metric.cross([], b).shape == (0, 3) and metric.cross(a, []).shape == (3, 0)
    assert get_metric("cka").cross(a[:1], []).shape == (1, 0)


def test_the_analysed_metrics_prepare_both_lists_in_one_call(monkeypatch):
    metric = get_metric(SMALL["ood"])
    a, b = _model_states(metric)
    calls = []
    original = type(metric).prepare_many
    monkeypatch.setattr(type(metric), "prepare_many",
                        lambda self, items, labels=None: calls.append(list(labels)) or original(self, items, labels))
    metric.cross(a, b)
    assert calls == [["network 0 of a", "network 1 of a", "network 2 of a",
                      "network 0 of b", "network 1 of b", "network 2 of b"]]


def test_unmatched_samples_across_the_lists_are_named():
    a, b = _recordings()
    with pytest.raises(ValueError, match="network 0 of a has 160 samples, network 1 of b has 80"):
        get_metric("cca").cross(a, [b[0], b[1][:80]])


class Fixed(Metric):
    """A metric whose every distance is ``value``."""

    id = "fixed"
    value: ClassVar[float] = 0.5

    def _prepare(self, X):
        return {"m": float(X.mean())}

    def _distance(self, a, b):
        return self.value


class FixedCross(Fixed):
    """The same with a vectorised ``cross`` override (wrapped when the class is made)."""

    id = "fixed-cross"

    def cross(self, items_a, items_b):
        return np.full((len(items_a), len(items_b)), self.value)


@pytest.mark.parametrize("cls", [Fixed, FixedCross])
@pytest.mark.parametrize("bad, message", [(np.nan, "is nan"), (np.inf, "is inf"), (-0.25, "is -0.25 < 0")])
def test_cross_refuses_non_finite_and_negative_distances_naming_metric_and_pair(monkeypatch, cls, bad, message):
    a, b = _recordings()
    named = [Fixed().prepare(x) for x in b]
    named = [State(s.metric, s.n_samples, s.arrays, {**s.info, "network": f"ctrl-{k}"}) for k, s in enumerate(named)]
    monkeypatch.setattr(Fixed, "value", bad)
    with pytest.raises(ValueError, match=rf"^{cls.id}: the distance between network 0 of a and "
                                         rf"network 0 of b \(ctrl-0\) {message}"):
        cls().cross(a, named)


def test_cross_rounding_residue_becomes_zero_and_a_wrong_shape_is_named(monkeypatch):
    a, b = _recordings()
    monkeypatch.setattr(Fixed, "value", -1e-12)
    assert (FixedCross().cross(a, b) == 0.0).all()

    class Short(Fixed):
        id = "short"

        def cross(self, items_a, items_b):
            return np.zeros((2, 2))

    with pytest.raises(ValueError, match=r"short: cross returned shape \(2, 2\) for 3 and 3 networks; "
                                         r"expected \(3, 3\)"):
        Short().cross(a, b)
