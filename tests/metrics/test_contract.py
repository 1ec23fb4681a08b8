"""The Metric contract, for every built-in metric: validation, axioms, pairwise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_helpers import ALL_IDS, related, small_spec, structured

from simbench.metrics import Metric, State, get_metric
from simbench.metrics.base import Param

RNG_SEED = 1234


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(RNG_SEED)
    X = structured(rng, n=60, d=5)
    Y = related(rng, X, d=6)
    Z = structured(rng, n=60, d=4)
    return X, Y, Z


@pytest.mark.parametrize("mid", ALL_IDS)
def test_self_distance_is_zero_and_distance_symmetric(mid, data):
    m = get_metric(small_spec(mid))
    X, Y, _ = data
    assert m(X, X) == 0.0
    assert m(X, X.copy()) == 0.0
    dxy, dyx = m(X, Y), m(Y, X)
    assert dxy > 0.0
    assert dxy == pytest.approx(dyx, abs=1e-12)


@pytest.mark.parametrize("mid", ALL_IDS)
def test_pairwise_symmetric_zero_diagonal_matches_distance(mid, data):
    m = get_metric(small_spec(mid))
    X, Y, Z = data
    D = m.pairwise([X, Y, Z, X])
    assert D.shape == (4, 4)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert D[0, 3] == 0.0  # identical recordings
    assert np.all(D >= 0)
    states = [m.prepare(A) for A in (X, Y, Z)]
    np.testing.assert_allclose(D[:3, :3], m.pairwise(states), atol=1e-12)
    assert D[0, 1] == pytest.approx(m.distance(states[0], states[1]), abs=1e-10)
    assert D[1, 2] == pytest.approx(m(Y, Z), abs=1e-10)


@pytest.mark.parametrize("mid", ALL_IDS)
def test_bad_input_errors(mid, data):
    m = get_metric(small_spec(mid))
    X, Y, _ = data
    with pytest.raises(ValueError, match=r"X has 60 samples, Y has 59: rows must be matched samples"):
        m(X, Y[:59])
    for bad in (np.nan, np.inf, -np.inf):
        Xb = X.copy()
        Xb[3, 1] = bad
        with pytest.raises(ValueError, match="contains NaN or inf"):
            m.prepare(Xb)
        with pytest.raises(ValueError, match="Y contains NaN or inf"):
            m(X, Xb)
    with pytest.raises(ValueError, match="at least 2"):
        m.prepare(X[:1])
    with pytest.raises(ValueError, match="2-D"):
        m.prepare(X[:, 0])
    with pytest.raises(ValueError, match="2-D"):
        m.prepare(X[None])
    with pytest.raises(ValueError, match="zero variance|constant"):
        m.prepare(np.ones((60, 3)))
    with pytest.raises(ValueError, match=r"network 0 has 60 samples, network 2 has 59"):
        m.pairwise([X, Y, Y[:59]])


@pytest.mark.parametrize("mid", ALL_IDS)
def test_float32_and_torch_inputs_are_accepted_as_float64(mid, data):
    m = get_metric(small_spec(mid))
    X, Y, _ = data
    X32 = X.astype(np.float32)
    st = m.prepare(X32)
    assert all(a.dtype == np.float64 for a in st.arrays.values())
    d32 = m(X32, Y)
    d64 = m(X32.astype(np.float64), Y)
    assert d32 == d64
    assert m(torch.from_numpy(X32), torch.from_numpy(Y)) == pytest.approx(d64, abs=1e-12)


@pytest.mark.parametrize("spec", ["cca", "pwcca", "shape:alpha=0.0",
                                  "shape:alpha=0.0,convention=netrep"])
def test_metrics_that_need_twice_as_many_samples_as_units_say_so(spec):
    rng = np.random.default_rng(0)
    m = get_metric(spec)
    # n = 6 passed the old rule (n > units); why it must not: test_reliability.py
    for n in (5, 6, 10):
        with pytest.raises(ValueError, match=rf"{m.id}: X has {n} samples and 5 units; "
                                             rf"{m.id} needs more than 2 × 5 samples"):
            m.prepare(rng.standard_normal((n, 5)))
    m.prepare(rng.standard_normal((11, 5)))


def test_state_from_another_metric_is_rejected(data):
    X, Y, _ = data
    a = get_metric("cca").prepare(X)
    with pytest.raises(ValueError, match="prepared by metric 'cca:reg=1e-06,score=angular'"):
        get_metric("procrustes").distance(a, Y)
    with pytest.raises(ValueError, match="prepared by"):
        get_metric("cca:score=one_minus_mean").distance(a, a)


def test_distance_accepts_raw_arrays_and_states(data):
    X, Y, _ = data
    m = get_metric("procrustes")
    assert m.distance(X, Y) == m.distance(m.prepare(X), Y) == m(X, Y)
    assert isinstance(m.prepare(X), State)
    assert m.prepare(X).n_samples == 60


def test_name_lists_all_parameters_sorted():
    assert get_metric("shape:alpha=0.5").name == "shape:alpha=0.5,score=angular"
    assert get_metric("shape", score="euclidean", alpha=1).name == "shape:alpha=1.0,score=euclidean"
    assert get_metric("ot-units").name == "ot-units"
    assert get_metric("rsa").name == "rsa:compare=spearman,max_items=500,n_conditions=none,rdm=correlation"


@pytest.mark.parametrize("mid", ALL_IDS)
def test_name_round_trips_through_get_metric(mid):
    m = get_metric(mid)
    again = get_metric(m.name)
    assert again == m and again.params == m.params and again.name == m.name
    assert isinstance(m.description, str) and m.description and "\n" not in m.description
    assert m.kind in ("geometry", "dynamics", "topology")
    assert isinstance(m.triangle_inequality, bool)
    assert type(m).__doc__ and type(m).__module__.startswith("simbench.metrics.")
    module_doc = __import__(type(m).__module__, fromlist=["x"]).__doc__
    assert "riangle inequality" in module_doc


def test_parameter_validation_messages():
    with pytest.raises(ValueError, match=r"shape: parameter 'alpha' must be a float in \[0.0, 1.0\]; got 1.5"):
        get_metric("shape", alpha=1.5)
    with pytest.raises(ValueError, match=r"parameter 'score' must be one of 'angular', 'euclidean'; got 'cosine'"):
        get_metric("shape:score=cosine")
    with pytest.raises(ValueError, match=r"parameter 'n_components' must be an int"):
        get_metric("traj-lsq", n_components=2.5)
    with pytest.raises(ValueError, match=r"parameter 'n_components' must be an int in \[1, inf\]"):
        get_metric("traj-lsq", n_components=0)
    with pytest.raises(ValueError, match=r"parameter 'reg' must be a float in \(0.0, 1.0\)"):
        get_metric("cca", reg=0)
    with pytest.raises(ValueError, match="'keep_variance'"):
        get_metric("svcca", keep_variance=True)
    with pytest.raises(ValueError, match=r"unknown parameter 'beta'; valid parameters: alpha, convention, score"):
        get_metric("shape", beta=1)
    assert get_metric("traj-lsq", n_components=4.0).params == {"n_components": 4}
    assert get_metric("rsa", n_conditions=None).params["n_conditions"] is None


def test_triangle_flag_follows_score():
    assert get_metric("cca").triangle_inequality
    assert not get_metric("cca:score=one_minus_mean").triangle_inequality
    assert not get_metric("svcca").triangle_inequality
    assert get_metric("svcca:score=angular").triangle_inequality


def test_param_describe_and_base_class_defaults():
    assert Param(3, low=1).describe() == "an int in [1, inf]"
    assert Param(None, type=int, allow_none=True).describe() == "an int or None"

    class Minimal(Metric):
        id = "minimal"

    with pytest.raises(NotImplementedError):
        Minimal().prepare(np.zeros((3, 2)))


@pytest.mark.parametrize("mid", ALL_IDS)
def test_states_hold_only_arrays_and_plain_values(mid, data):
    import json

    st = get_metric(small_spec(mid)).prepare(data[0])
    json.dumps(dict(st.info))  # cacheable: scalars and strings only
    assert all(isinstance(v, np.ndarray) for v in st.arrays.values())
