"""The conformance suite: every built-in metric passes it, broken toy metrics fail it."""

from __future__ import annotations

import numpy as np
import pytest

from simbench.metrics import Metric, Param, available_metrics, get_metric
from metric_helpers import SMALL
from simbench.metrics.conformance import (
    INVARIANCES,
    ConformanceError,
    check_metric,
    conformance_data,
    transform,
)

# SMALL: configurations that keep the suite fast; dsa reads the default recordings'
# trajectory structure (4 conditions x 40 steps).
# Optimiser tolerance of metrics solved by a non-convex optimiser (for |d(T(X),Y) - d(X,Y)|).
INV_ATOL = {"dsa": 0.02}

_RECORDS = {r.id: r for r in available_metrics()
            if r.error is None and r.source.startswith("simbench.metrics.")}
BUILTIN = sorted(_RECORDS)


def _takes_recordings(mid: str) -> bool:
    return getattr(_RECORDS[mid].cls, "input", "recording") == "recording"


def test_the_builtins_are_all_found():
    assert {"cca", "cka", "shape", "ph", "dsa"} <= set(BUILTIN)


@pytest.mark.parametrize("mid", BUILTIN)
def test_builtin_metric_passes_the_conformance_suite(mid):
    if not _takes_recordings(mid):
        pytest.skip(f"{mid} compares networks (input='network'); the default data are recordings; call "
                    "check_metric(metric, data=(net_x, net_y, net_z)) with networks")
    m = get_metric(SMALL.get(mid, mid))
    report = check_metric(m, rng_seed=0, inv_atol=INV_ATOL.get(mid))
    assert len(report.checks) == 7
    assert set(type(m).invariances) <= set(INVARIANCES)


@pytest.mark.parametrize("mid", ["cka", "dsa"])
def test_conformance_holds_for_another_seed(mid):
    check_metric(get_metric(SMALL.get(mid, mid)), rng_seed=7, inv_atol=INV_ATOL.get(mid))


def test_non_default_parameters_can_declare_more_invariances():
    # shape with alpha=0 is CCA: invariant to every invertible linear map
    check_metric(get_metric("shape:alpha=0"), invariances=("translation", "rotation", "linear"))


def test_transforms_are_what_they_claim():
    rng = np.random.default_rng(0)
    X = conformance_data(0)[0]
    Xr = transform("rotation", X, rng)
    Q = np.linalg.lstsq(X - X.mean(0), Xr - Xr.mean(0), rcond=None)[0]
    np.testing.assert_allclose(Q.T @ Q, np.eye(X.shape[1]), atol=1e-8)
    assert sorted(transform("permutation", X, rng).sum(0).round(8)) == sorted(X.sum(0).round(8))
    with pytest.raises(ValueError, match="unknown invariance"):
        transform("shear", X, rng)


# ------------------------------------------------------------- broken toy metrics ---
class _Toy(Metric):
    kind = "geometry"
    description = "test toy"
    parameters = {"k": Param(1, low=1)}

    def _prepare(self, X):
        Xc = X - X.mean(0)
        return {"m": float(np.sqrt((Xc ** 2).sum() / len(X))), "first": float(abs(X[:, 0]).mean())}


class Asymmetric(_Toy):
    id = "asym"
    invariances = ("translation",)

    def _distance(self, a, b):
        return 2 * a["m"] - b["m"] if a["m"] > b["m"] else b["m"] - a["m"]


class OffsetSelf(_Toy):
    id = "offset"

    def _distance(self, a, b):
        return abs(a["m"] - b["m"]) + 0.1


class FalseInvariance(_Toy):
    id = "falseinv"
    invariances = ("rotation", "scale")   # it depends on unit 0 and on the scale

    def _distance(self, a, b):
        return abs(a["first"] - b["first"])


class Negative(_Toy):
    id = "negative"

    def pairwise(self, items):
        D = super().pairwise(items)
        return -D


    def _distance(self, a, b):
        return abs(a["m"] - b["m"])


class UnknownInvariance(_Toy):
    id = "unknowninv"
    invariances = ("affine-ish",)

    def _distance(self, a, b):
        return abs(a["m"] - b["m"])


@pytest.mark.parametrize("cls, fragment", [
    (Asymmetric, "symmetry"),
    (OffsetSelf, "self-distance"),
    (FalseInvariance, "invariance 'rotation'"),
    (FalseInvariance, "invariance 'scale'"),
    (Negative, "pairwise"),
    (UnknownInvariance, "unknown name"),
])
def test_broken_toy_metric_fails_the_suite(cls, fragment):
    with pytest.raises(ConformanceError, match=fragment) as info:
        check_metric(cls())
    assert isinstance(info.value, AssertionError)


def test_a_sound_toy_metric_passes():
    class Sound(_Toy):
        id = "sound"
        invariances = ("translation", "rotation", "permutation")

        def _distance(self, a, b):
            return abs(a["m"] - b["m"])

    check_metric(Sound())


def test_network_input_metrics_need_explicit_data():
    class NetworkInput(_Toy):
        id = "netin"
        input = "network"

        def _distance(self, a, b):
            return abs(a["m"] - b["m"])

    with pytest.raises(ValueError, match="pass data="):
        check_metric(NetworkInput())
    # with explicit (array) data it runs
    check_metric(NetworkInput(), data=conformance_data(1))
