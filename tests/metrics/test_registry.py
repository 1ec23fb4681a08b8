"""Registry: entry-point discovery, spec parsing, errors, broken plugins, compare()."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest
from metric_helpers import ALL_IDS, ToyMetric

import simbench.metrics.registry as registry
from simbench.metrics import Metric, available_metrics, compare, get_metric
from simbench.metrics.cca import CCA
from simbench.metrics.registry import GROUP, parse_spec, parse_value
from simbench.metrics.shape import Shape


def test_builtins_are_discovered_through_entry_points():
    records = {r.id: r for r in available_metrics()}
    assert set(ALL_IDS) <= set(records)
    for mid in ALL_IDS:
        rec = records[mid]
        assert rec.error is None and rec.loaded
        assert rec.kind == "geometry"
        assert rec.description
        assert issubclass(rec.cls, Metric) and rec.cls.id == mid
    assert records["shape"].parameters == {"alpha": 1.0, "score": "angular", "convention": "simbench"}
    assert records["rsa"].parameters["n_conditions"] is None
    assert records["cca"].as_dict()["source"] == "simbench.metrics.cca:CCA"
    assert [r.id for r in available_metrics()] == sorted(r.id for r in available_metrics())


def test_parse_values_and_specs():
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("0.5") == 0.5
    assert parse_value("1e-06") == 1e-06
    assert parse_value("True") is True and parse_value("false") is False
    assert parse_value("none") is None
    assert parse_value(" angular ") == "angular"
    assert parse_spec("shape:alpha=0.5,score=euclidean") == ("shape", {"alpha": 0.5, "score": "euclidean"})
    assert parse_spec(" cca ") == ("cca", {})
    assert parse_spec("shape: alpha = 0 , score=angular") == ("shape", {"alpha": 0, "score": "angular"})
    with pytest.raises(ValueError, match="expected key=value"):
        parse_spec("shape:alpha")
    with pytest.raises(ValueError, match="given twice"):
        parse_spec("shape:alpha=0,alpha=1")
    with pytest.raises(ValueError, match="non-empty"):
        parse_spec("")


def test_get_metric_builds_instances():
    m = get_metric("shape:alpha=0.5,score=euclidean")
    assert isinstance(m, Shape) and m.params == {"alpha": 0.5, "score": "euclidean",
                                                 "convention": "simbench"}
    assert m.alpha == 0.5 and m.score == "euclidean"
    assert get_metric("shape:alpha=0", score="euclidean").params == {
        "alpha": 0.0, "score": "euclidean", "convention": "simbench"}
    assert isinstance(get_metric("cca"), CCA)
    same = get_metric("cca")
    assert get_metric(same) is same
    assert get_metric(same, score="one_minus_mean").params["score"] == "one_minus_mean"
    with pytest.raises(ValueError, match="both in the spec"):
        get_metric("shape:alpha=0", alpha=1)


def test_unknown_id_suggests_closest_and_lists_all():
    with pytest.raises(ValueError) as err:
        get_metric("ckaa")
    msg = str(err.value)
    assert "unknown metric id 'ckaa'" in msg
    assert "Did you mean 'cka'" in msg
    for mid in ALL_IDS:
        assert mid in msg
    with pytest.raises(ValueError, match="Did you mean 'procrustes'"):
        get_metric("procrustez:score=angular")
    with pytest.raises(ValueError, match="Available metrics"):
        get_metric("zzzzzzzz")


def test_unknown_parameter_is_named_with_valid_ones():
    with pytest.raises(ValueError, match=r"cca: unknown parameter 'alpha'; valid parameters: reg, score"):
        get_metric("cca:alpha=0.5")


def _patched(monkeypatch, extra):
    real = registry.entry_points

    def fake(group):
        assert group == GROUP
        return list(real(group=group)) + list(extra)

    monkeypatch.setattr(registry, "entry_points", fake)


def test_broken_plugin_is_reported_and_skipped(monkeypatch):
    _patched(monkeypatch, [
        EntryPoint("broken", "simbench_no_such_module_xyz:Thing", GROUP),
        EntryPoint("notametric", "math:pi", GROUP),
        EntryPoint("mislabelled", "metric_helpers:ToyMetric", GROUP),
    ])
    records = {r.id: r for r in available_metrics()}
    assert "import failed: ModuleNotFoundError" in records["broken"].error
    assert records["broken"].kind is None and not records["broken"].loaded
    assert "not a simbench Metric" in records["notametric"].error
    assert "id 'toy'" in records["mislabelled"].error
    for mid in ALL_IDS:
        assert records[mid].error is None
    with pytest.raises(ValueError, match="'broken' is registered but failed to load: import failed"):
        get_metric("broken")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    assert get_metric("cca")(X, X) == 0.0  # the others keep working
    msg = ""
    try:
        get_metric("brokn")
    except ValueError as exc:
        msg = str(exc)
    assert "Did you mean 'broken'" in msg and "broken," not in msg.split("Available metrics:")[1]


def test_third_party_plugin_loads_like_a_builtin(monkeypatch):
    _patched(monkeypatch, [EntryPoint("toy", "metric_helpers:ToyMetric", GROUP)])
    m = get_metric("toy:power=2")
    assert isinstance(m, ToyMetric) and m.name == "toy:power=2"
    X = np.zeros((5, 2))
    assert m(X, X + 3.0) == 9.0
    assert compare(X, X + 1.0, "toy") == 1.0


def test_duplicate_ids_are_reported(monkeypatch):
    _patched(monkeypatch, [EntryPoint("cca", "metric_helpers:ToyMetric", GROUP)])
    rec = {r.id: r for r in available_metrics()}["cca"]
    assert "registered twice" in rec.error
    with pytest.raises(ValueError, match="registered twice"):
        get_metric("cca")


def test_compare_convenience():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 4))
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    A = rng.standard_normal((4, 4))
    assert compare(X, X @ Q, "procrustes") == pytest.approx(0.0, abs=1e-6)
    assert compare(X, X @ A) == pytest.approx(0.0, abs=1e-6)  # default: cca
    assert compare(X, 2 * X @ Q, "shape", alpha=0.5) == pytest.approx(0.0, abs=1e-6)
    assert compare(X, X + 1, "shape:score=euclidean") == pytest.approx(0.0, abs=1e-6)
    assert compare(X, rng.standard_normal((50, 4)), "cka") > 0.1
