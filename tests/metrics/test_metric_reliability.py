"""Reliability of the metric layer (issue 17): every failure named, no meaningless number.

* non-finite or negative distances from any metric (``distance``, the default
  ``pairwise``, a vectorised override, the dynamics metrics' base) raise a ValueError
  naming the metric and the pair; rounding residue below 0 becomes 0;
* metrics whose mathematics needs more samples than units (or a documented ratio)
  refuse thinner data with the numbers; the others work on wide recordings;
* CKA is scale invariant from 1e-150 to 1e150;
* ``shape:convention=netrep`` reproduces netrep's LinearMetric, checked against netrep's
  formulas computed here independently (and against netrep itself when installed).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from metric_helpers import ALL_IDS, random_orthogonal, related, structured
from scipy.linalg import orthogonal_procrustes

from simbench.metrics import Metric, State, get_metric
from simbench.metrics.base import NEGATIVE_TOLERANCE
from simbench.metrics.cca import CCA
from simbench.metrics.dynamics_base import DynamicsMetric
from simbench.metrics.ot_units import MAX_UNITS
from simbench.metrics.svcca import SVCCA
from simbench.metrics.traj_lsq import TrajLSQ


# ------------------------------------------------------------ finite, >= 0, named --
class Fixed(Metric):
    """A metric whose every distance is ``value`` (a stand-in for a broken plugin)."""

    id = "fixed"
    value: ClassVar[float] = 0.0

    def _prepare(self, X):
        return {"m": float(X.mean())}

    def _distance(self, a, b):
        return self.value


class FixedVectorised(Fixed):
    """The same, with a vectorised ``pairwise`` override that fills the matrix itself."""

    id = "fixed-vec"

    def pairwise(self, items):
        n = len(self._states(items))
        D = np.full((n, n), 0.5)
        D[1, 2] = D[2, 1] = self.value
        np.fill_diagonal(D, 0.0)
        return D


def _recordings(k=3):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((20, 3)) + i for i in range(k)]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_distances_raise_naming_metric_and_pair(bad, monkeypatch):
    X, Y, Z = _recordings()
    monkeypatch.setattr(Fixed, "value", bad)
    m = Fixed()
    with pytest.raises(ValueError, match=r"^fixed: the distance between X and Y is (nan|inf|-inf)"):
        m.distance(X, Y)
    with pytest.raises(ValueError, match=r"^fixed: the distance between net-a and net-b is"):
        m.distance(X, Y, labels=("net-a", "net-b"))
    with pytest.raises(ValueError, match=r"^fixed: the distance between network 0 and network 1 is"):
        m.pairwise([X, Y, Z])
    with pytest.raises(ValueError, match=r"^fixed-vec: the distance between network 1 and network 2 is"):
        FixedVectorised().pairwise([X, Y, Z])


def test_negative_distances_beyond_rounding_raise_and_rounding_residue_is_zero(monkeypatch):
    X, Y, Z = _recordings()
    monkeypatch.setattr(Fixed, "value", -1e-3)
    for m in (Fixed(), FixedVectorised()):
        with pytest.raises(ValueError,
                           match=rf"^{m.id}: the distance between .* is -0.001 < 0, beyond rounding"):
            m.pairwise([X, Y, Z])
    with pytest.raises(ValueError, match="is -0.001 < 0"):
        Fixed().distance(X, Y)
    monkeypatch.setattr(Fixed, "value", -0.5 * NEGATIVE_TOLERANCE)  # rounding: clipped to 0
    assert Fixed().distance(X, Y) == 0.0
    assert np.all(Fixed().pairwise([X, Y, Z]) == 0.0)
    D = FixedVectorised().pairwise([X, Y, Z])
    assert D[1, 2] == D[2, 1] == 0.0 and D[0, 1] == 0.5


def test_a_pairwise_of_the_wrong_shape_is_named():
    class Short(Fixed):
        id = "short"

        def pairwise(self, items):
            return np.zeros((2, 2))

    with pytest.raises(ValueError, match=r"short: pairwise returned shape \(2, 2\) for 3 networks"):
        Short().pairwise(_recordings())


class FixedDynamics(DynamicsMetric):
    """A dynamics metric (network input) whose distances are ``value``."""

    id = "fixed-dyn"
    value: ClassVar[float] = np.nan

    def _signature(self, result):  # pragma: no cover - states are given directly
        return {}

    def _distance(self, a, b):
        return self.value


def test_the_dynamics_metrics_base_is_checked_too(monkeypatch):
    m = FixedDynamics()
    states = [State(m.name, 4, {"v": np.full(2, float(i))}, {"fingerprint": f"f{i}", "network": f"net-{i}"})
              for i in range(3)]
    with pytest.raises(ValueError, match=r"^fixed-dyn.*: the distance between network 0 \(net-0\) "
                                         r"and network 1 \(net-1\) is nan"):
        m.pairwise(states)
    monkeypatch.setattr(FixedDynamics, "value", -0.25)
    with pytest.raises(ValueError, match="is -0.25 < 0"):
        m.distance(states[0], states[1])
    with pytest.raises(ValueError, match=r"network 0 \(net-0\) and network 1 \(net-1\) is -0.25 < 0"):
        m.pairwise(states)


RECORDING_METRICS = ALL_IDS + ["ph", "dsa"]  # the built-ins that compare recordings


@pytest.mark.parametrize("mid", RECORDING_METRICS)
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_distance_names_a_recording_with_inf_like_one_with_nan(mid, bad):
    X = _recordings(1)[0]
    Xb = X.copy()
    Xb[4, 1] = bad
    m = get_metric(mid)
    with pytest.raises(ValueError, match=rf"^{m.id}: Y contains NaN or inf \(1 of 60 entries\)"):
        m.distance(X, Xb)
    with pytest.raises(ValueError, match=rf"^{m.id}: net-b contains NaN or inf"):
        m.distance(X, Xb, labels=("net-a", "net-b"))


# --------------------------------------------------------------- samples vs units --
def unchecked(cls):
    """The metric with its samples-versus-units refusals switched off (to show why)."""
    return type(f"Unchecked{cls.__name__}", (cls,), {
        "_check_matrix": lambda self, X, label: None,
        "_check_prepared": lambda self, out, n, label: None})


def test_why_cca_needs_twice_as_many_samples_as_units():
    rng = np.random.default_rng(1)
    # n = 6 passed the old rule (n > units), but centred 6 x 5 data span the whole sample
    # space: independent networks get canonical correlations 1 and distance 0.
    X, Y = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    cca = unchecked(CCA)()
    np.testing.assert_allclose(cca.canonical_correlations(X, Y), 1.0, atol=1e-8)
    assert cca(X, Y) == pytest.approx(0.0, abs=1e-6)
    # n = 8 <= 2 x 5: 5 + 5 - 8 + 1 = 3 canonical correlations are 1 whatever the data.
    X, Y = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    rho = cca.canonical_correlations(X, Y)
    np.testing.assert_allclose(rho[:3], 1.0, atol=1e-8)
    assert rho[3] < 0.999
    with pytest.raises(ValueError, match=r"cca: X has 8 samples and 5 units; cca needs more than 2 × 5"):
        get_metric("cca").prepare(X)


def test_svcca_refuses_wide_random_data_and_accepts_wide_low_rank_data():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((20, 50)), rng.standard_normal((20, 50))
    assert unchecked(SVCCA)()(X, Y) == pytest.approx(0.0, abs=1e-9)  # the defect: 0.0
    with pytest.raises(ValueError, match=r"^svcca: X has 20 samples and 1\d kept directions; "
                                         r"svcca needs more than 2 × 1\d samples"):
        get_metric("svcca").prepare(X)
    # 40 samples of 100 units driven by 3 latent signals: k = 3 kept directions.
    A = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 100))
    B = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 100))
    m = get_metric("svcca")
    assert m.prepare(A)["rank"] == 3
    assert m(A, A @ random_orthogonal(rng, 100)) == pytest.approx(0.0, abs=1e-9)
    assert m(A, B) > 0.1


def test_traj_lsq_refuses_fewer_than_twice_the_components_in_samples():
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((11, 50)), rng.standard_normal((11, 50))
    assert unchecked(TrajLSQ)()(X, Y) == pytest.approx(0.0, abs=1e-9)  # the defect: 0.0
    for n in (11, 20):
        with pytest.raises(ValueError, match=rf"^traj-lsq: X has {n} samples and 10 principal "
                                             r"components; traj-lsq needs more than 2 × 10 samples"):
            get_metric("traj-lsq").prepare(rng.standard_normal((n, 50)))
    m = get_metric("traj-lsq:n_components=3")
    assert m(rng.standard_normal((40, 100)), rng.standard_normal((40, 100))) > 0.3


def _explicit_shape(X, Y, alpha):
    """The default shape metric from its definition on the full d x d covariance."""
    def whiten(A):
        A = A - A.mean(0)
        lam, V = np.linalg.eigh(A.T @ A / len(A))
        lam_hat = np.maximum(lam / lam.mean(), 1e-6)
        Aw = A @ V @ np.diag(alpha + (1 - alpha) / np.sqrt(lam_hat)) @ V.T
        return Aw * np.linalg.norm(A) / np.linalg.norm(Aw)

    A, B = whiten(X), whiten(Y)
    nuc = np.linalg.svd(A.T @ B, compute_uv=False).sum()
    return np.arccos(nuc / (np.linalg.norm(A) * np.linalg.norm(B)))


def test_procrustes_and_partial_shape_on_wide_recordings_are_exact_and_reduced():
    rng = np.random.default_rng(4)
    X = structured(rng, n=30, d=400, latent=5)
    Y = related(rng, X, d=300)
    Xc, Yc = X - X.mean(0), np.pad(Y - Y.mean(0), ((0, 0), (0, 100)))
    R, _ = orthogonal_procrustes(Yc, Xc)
    eu = get_metric("procrustes:score=euclidean")
    assert eu.prepare(X)["Xw"].shape == (30, 30)  # principal coordinates, not 400 columns
    assert eu(X, Y) == pytest.approx(np.linalg.norm(Xc - Yc @ R), rel=1e-10)
    for alpha in (1.0, 0.5, 0.1):
        m = get_metric("shape", alpha=alpha)
        assert m(X, Y) == pytest.approx(_explicit_shape(X, Y, alpha), abs=1e-8)
        assert m.pairwise([X, Y])[0, 1] == pytest.approx(m(X, Y), abs=1e-10)


@pytest.mark.parametrize("spec", ["cka", "cka:estimator=unbiased", "rsa", "procrustes",
                                  "shape:alpha=0.5", "permutation", "ot-units", "gw:n_samples=10"])
def test_metrics_for_which_wide_recordings_are_fine_keep_working(spec):
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((10, 60)), rng.standard_normal((10, 60))
    m = get_metric(spec)
    d = m(X, Y)
    assert np.isfinite(d) and d > 1e-3
    assert m(X, X[:, rng.permutation(60)]) == pytest.approx(0.0, abs=1e-6)


def test_ot_units_refuses_recordings_beyond_its_memory_bound():
    m = get_metric("ot-units")
    with pytest.raises(ValueError, match=rf"^ot-units: X has {MAX_UNITS + 1} units; the exact "
                                         r"transport problem .* needs about 0\.2 GiB .* at most 2048"):
        m.prepare(np.random.default_rng(0).standard_normal((3, MAX_UNITS + 1)))


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_cka_is_scale_invariant_from_1e_minus_150_to_1e150(estimator):
    rng = np.random.default_rng(6)
    X = structured(rng, n=50, d=5)
    Y = related(rng, X, d=4)
    m = get_metric("cka", estimator=estimator)
    d0 = m(X, Y)
    assert 0.05 < d0 < 1.5
    for s in np.geomspace(1e-150, 1e150, 13):  # 1e77 and beyond overflowed the fourth powers
        assert m(s * X, Y) == pytest.approx(d0, abs=1e-12), s
        assert m(s * X, s * Y) == pytest.approx(d0, abs=1e-12), s
        assert m.pairwise([s * X, Y, X / s])[0, 1] == pytest.approx(d0, abs=1e-12), s


# ------------------------------------------------------------------------ netrep --
def netrep_formula(X, Y, alpha, score, tol=1e-7):
    """netrep's LinearMetric (Williams et al. 2021) computed from its formulas: zero-pad
    to the larger width, centre, whiten with Z = V diag(α + (1−α) λ^{-1/2}) Vᵀ from the
    raw ``XᵀX`` (λ floored at tol; no whitening for α > 1 − tol), rescale Z by
    sqrt(Σλ / Σ(α√λ + 1 − α)²), rotate both onto the SVD of X̃ᵀỸ, score the result."""
    width = max(X.shape[1], Y.shape[1])

    def whiten(A):
        A = np.pad(A, ((0, 0), (0, width - A.shape[1])))
        A = A - A.mean(axis=0)
        if alpha > 1 - tol:
            return A
        lam, V = np.linalg.eigh(A.T @ A)
        lam = np.maximum(lam, tol)
        d = (alpha + (1 - alpha) / np.sqrt(lam)) * np.sqrt(
            lam.sum() / np.sum((alpha * np.sqrt(lam) + 1 - alpha) ** 2))
        return A @ (V * d) @ V.T

    A, B = whiten(X), whiten(Y)
    U, _, Vt = np.linalg.svd(A.T @ B)
    tA, tB = A @ U, B @ Vt.T
    if score == "euclidean":
        return np.linalg.norm(tA - tB)
    return np.arccos(np.clip(np.sum(tA * tB) / (np.linalg.norm(tA) * np.linalg.norm(tB)), -1, 1))


def _netrep_inputs():
    rng = np.random.default_rng(7)
    X = structured(rng, n=60, d=4) * 30.0     # raw-XᵀX mixing depends on the scale
    Y = related(rng, X, d=7)
    Z = structured(rng, n=60, d=5) * 1e-3
    return X, Y, Z


NETREP_CASES = [(a, s) for a in (0.0, 0.3, 0.7, 1.0) for s in ("angular", "euclidean")]


@pytest.mark.parametrize("alpha,score", NETREP_CASES)
def test_netrep_convention_matches_netreps_formulas_including_unequal_widths(alpha, score):
    X, Y, Z = _netrep_inputs()
    m = get_metric("shape", alpha=alpha, score=score, convention="netrep")
    nets = [X, Y, Z, Y[:, :4]]
    D = m.pairwise(nets)
    for i in range(4):
        for j in range(i + 1, 4):
            ref = netrep_formula(nets[i], nets[j], alpha, score)
            assert D[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-9), (i, j)
            assert m(nets[i], nets[j]) == pytest.approx(ref, rel=1e-9, abs=1e-9), (i, j)


def test_default_convention_deviates_from_netrep_exactly_where_documented():
    X, Y, _ = _netrep_inputs()                  # widths 4 and 7, X scaled by 30
    for alpha, score in NETREP_CASES:
        ours = get_metric("shape", alpha=alpha, score=score)(X, Y)
        ref = netrep_formula(X, Y, alpha, score)
        agree = alpha == 1.0 or (alpha == 0.0 and score == "angular")
        assert (abs(ours - ref) <= 1e-9 * max(1.0, ref)) == agree, (alpha, score, ours, ref)
    X4, Y4 = X, Y[:, :4]                        # equal widths: α = 0 euclidean agrees too
    assert get_metric("shape:alpha=0,score=euclidean")(X4, Y4) == pytest.approx(
        netrep_formula(X4, Y4, 0.0, "euclidean"), rel=1e-9)
    # cca's angular score is netrep's alpha = 0, procrustes is netrep's alpha = 1.
    assert get_metric("cca")(X, Y) == pytest.approx(netrep_formula(X, Y, 0.0, "angular"), abs=1e-9)
    for score in ("angular", "euclidean"):
        assert get_metric("procrustes", score=score)(X, Y) == pytest.approx(
            netrep_formula(X, Y, 1.0, score), rel=1e-9)


def test_netrep_convention_parameter_and_name():
    m = get_metric("shape:alpha=0.5,convention=netrep")
    assert m.name == "shape:alpha=0.5,convention=netrep,score=angular"
    assert get_metric(m.name) == m
    # the default stays out of the name: published names and cache keys are unchanged
    assert get_metric("shape:alpha=0.5").name == "shape:alpha=0.5,score=angular"
    assert "scale" not in m.invariances and "scale" in get_metric("shape:alpha=0.5").invariances
    assert not get_metric("shape:convention=netrep,score=euclidean,alpha=0.5").triangle_inequality
    with pytest.raises(ValueError, match=r"parameter 'convention' must be one of 'simbench', 'netrep'"):
        get_metric("shape:convention=other")


@pytest.mark.parametrize("alpha,score", NETREP_CASES)
def test_netrep_convention_matches_netrep_itself(alpha, score):
    netrep = pytest.importorskip("netrep.metrics")  # an oracle when installed (not in CI)
    X, Y, Z = _netrep_inputs()
    m = get_metric("shape", alpha=alpha, score=score, convention="netrep")
    for A, B in ((X, Y), (Y, Z), (X, Z), (X, Y[:, :4])):
        ref = netrep.LinearMetric(alpha=alpha, score_method=score).fit_score(A, B)
        assert m(A, B) == pytest.approx(ref, rel=1e-6, abs=1e-6)
